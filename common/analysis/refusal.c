#include "analysis/refusal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "db/backend.h"
#include "db/schema.h"

void kvf_refusal_find(kvf_refusal *r, const char *snap_dir, uint64_t snap_index)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->snap_db, sizeof(r->snap_db), "%016" PRIx64 ".snap.db", snap_index);
	struct stat sd;
	if (!snap_dir || stat(snap_dir, &sd) != 0 || !S_ISDIR(sd.st_mode))
		return;
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", snap_dir, r->snap_db) >= (int)sizeof(path))
		return;
	struct stat st;
	if (stat(path, &st) != 0) {
		r->kind = KVF_REFUSAL_NO_SNAP_DB;   /* etcd's fileutil.Exist is a stat */
		return;
	}
	kvf_backend *b = NULL;
	kvf_err e;
	kvf_err_clear(&e);
	kvf_etcd_state es;
	memset(&es, 0, sizeof(es));
	if (kvf_backend_open(&b, path, &e) == KVF_OK && kvf_etcd_read_state(b, &es, &e) == KVF_OK &&
	    es.has_consistent_index) {
		r->snap_db_ci = es.consistent_index;
		r->kind = es.consistent_index < snap_index ? KVF_REFUSAL_SNAP_DB_BEHIND : KVF_REFUSAL_SNAP_DB_OPENS;
	}
	if (b)
		kvf_backend_close(b);
}

#define NO_SNAP_DB "\"failed to recover v3 backend from snapshot\": \"failed to find database snapshot file " \
                   "(snap: snapshot file doesn't exist)\""

void kvf_refusal_quote(char *buf, size_t n, const kvf_refusal *r, const char *db_path, uint64_t snap_index)
{
	switch (r->kind) {
	case KVF_REFUSAL_NO_SNAP_DB:
		snprintf(buf, n, "etcd refuses to start it: with no %s in member/snap it panics (" NO_SNAP_DB ")",
		         r->snap_db);
		break;
	case KVF_REFUSAL_SNAP_DB_BEHIND:
		snprintf(buf, n, "etcd opens %s in place of db and, its consistent_index still below the snapshot, "
		         "refuses (\"database file (%s index %" PRIu64 ") does not match with snapshot (index %" PRIu64
		         ")\")", r->snap_db, db_path, r->snap_db_ci, snap_index);
		break;
	case KVF_REFUSAL_SNAP_DB_OPENS:
		snprintf(buf, n, "etcd starts on %s instead, which it renames over db (its consistent_index %" PRIu64
		         " covers the snapshot)", r->snap_db, r->snap_db_ci);
		break;
	case KVF_REFUSAL_UNKNOWN:
		snprintf(buf, n, "etcd refuses to start it: without %s in member/snap (" NO_SNAP_DB "), or with "
		         "one older than the snapshot (\"database file (%s index N) does not match with snapshot "
		         "(index %" PRIu64 ")\")", r->snap_db, db_path, snap_index);
		break;
	}
}
