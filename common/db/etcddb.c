#include "db/etcddb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/buf.h"
#include "io/sha256.h"
#include "io/source.h"

kvf_status kvf_etcd_db_path(const char *path, char **db_path, kvf_err *err)
{
	kvf_db_location loc;
	kvf_status st = kvf_etcd_db_locate(path, &loc, err);
	if (st)
		return st;
	*db_path = loc.db_path;
	loc.db_path = NULL;
	kvf_db_location_free(&loc);
	return KVF_OK;
}

void kvf_db_location_free(kvf_db_location *loc)
{
	free(loc->db_path);
	kvf_datadir_free(&loc->datadir);
	memset(loc, 0, sizeof(*loc));
}

static kvf_status resolve(const char *path, char **db_path, kvf_path_kind kind, kvf_datadir *dd,
                          kvf_err *err);

kvf_status kvf_etcd_db_locate(const char *path, kvf_db_location *loc, kvf_err *err)
{
	memset(loc, 0, sizeof(*loc));
	kvf_path_kind kind;
	kvf_status st = kvf_path_classify(path, &kind, &loc->datadir, err);
	if (st == KVF_OK)
		st = resolve(path, &loc->db_path, kind, &loc->datadir, err);
	if (st) {
		kvf_db_location_free(loc);
		return st;
	}
	loc->is_datadir = kind == KVF_PATH_DATADIR;
	return KVF_OK;
}

/* The db to open for a classified path; dd is kept (the caller frees it). */
static kvf_status resolve(const char *path, char **db_path, kvf_path_kind kind, kvf_datadir *dd,
                          kvf_err *err)
{
	switch (kind) {
	case KVF_PATH_DATADIR:
		if (!dd->db_path)
			return kvf_err_set(err, KVF_E_NOTFOUND, path, KVF_NO_OFFSET,
			                   "data directory without member/snap/db%s",
			                   dd->n_leftovers ? " (give one of the leftovers in member/snap "
			                                     "as the path to read it)" : "");
		if (!(*db_path = strdup(dd->db_path)))
			return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		return KVF_OK;
	case KVF_PATH_DIR: {   /* an LMDB environment directory, or nothing we read */
		struct stat sb;
		kvf_buf mdb = KVF_BUF_INIT;
		bool has_mdb = kvf_buf_printf(&mdb, "%s/data.mdb", path) && stat(mdb.p, &sb) == 0;
		kvf_buf_free(&mdb);
		if (!has_mdb)
			return kvf_err_set(err, KVF_E_NOTFOUND, path, KVF_NO_OFFSET,
			                   "neither an etcd data dir (no member/snap/db) nor an LMDB "
			                   "environment (no data.mdb)");
		if (!(*db_path = strdup(path)))
			return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		return KVF_OK;
	}
	case KVF_PATH_FILE:
		if (!(*db_path = strdup(path)))
			return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		return KVF_OK;
	case KVF_PATH_OTHER:
	case KVF_PATH_MISSING:
		break;
	}
	return kvf_err_set(err, KVF_E_IO, path, KVF_NO_OFFSET, "not a regular file or directory");
}

/* bbolt pages are at least 512 bytes (etcdutl: hasChecksum) */
#define SNAPSHOT_ALIGN 512

kvf_status kvf_snapshot_file_verify(const char *path, kvf_snapshot_file *out, kvf_err *err)
{
	memset(out, 0, sizeof(*out));
	if (kvf_is_dir(path))
		return KVF_OK;   /* an LMDB environment */
	/* A second read-only mapping of the file the backend has open: the
	 * page cache is shared, and the backend's reader needs no hook. */
	kvf_map m;
	kvf_status st = kvf_map_open(&m, path, err);
	if (st)
		return st;
	if (m.size > KVF_SHA256_LEN && m.size % SNAPSHOT_ALIGN == KVF_SHA256_LEN) {
		out->is_snapshot = true;
		out->db_size = m.size - KVF_SHA256_LEN;
		memcpy(out->stored, m.data + out->db_size, KVF_SHA256_LEN);
		kvf_map_advise_sequential(&m);
		kvf_sha256(m.data, (size_t)out->db_size, out->computed);
		out->digest_ok = memcmp(out->stored, out->computed, KVF_SHA256_LEN) == 0;
	}
	kvf_map_close(&m);
	return KVF_OK;
}

static bool list_add(kvf_span_list *l, kvf_span s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8, bytes;
		if (!kvf_mul_ok(cap, sizeof(*l->v), &bytes))
			return false;
		kvf_span *v = realloc(l->v, bytes);
		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return true;
}

static void list_free(kvf_span_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Keys (and optionally values) of a small bucket; absent bucket = empty. */
static kvf_status collect(kvf_backend *b, const char *bucket, kvf_span_list *keys,
                          kvf_span_list *values, uint64_t *count, kvf_err *err)
{
	kvf_cursor *c;
	kvf_status s = kvf_cursor_open(b, bucket, strlen(bucket), &c, err);
	if (s == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		return KVF_OK;
	}
	if (s)
		return s;
	kvf_pair p;
	bool got;
	while ((s = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got) {
		if (count)
			(*count)++;
		if ((keys && !list_add(keys, p.key)) || (values && !list_add(values, p.value))) {
			s = kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
			break;
		}
	}
	kvf_cursor_close(c);
	return s;
}

static bool add_bucket(void *ctx, kvf_span name)
{
	return list_add(ctx, name);
}

kvf_status kvf_db_status_read(kvf_backend *b, const kvf_keyindex *ki_in, kvf_db_status *st, kvf_err *err)
{
	memset(st, 0, sizeof(*st));
	st->info = kvf_backend_get_info(b);
	kvf_status s = kvf_etcd_read_state(b, &st->state, err);
	if (s)
		return s;
	kvf_keyindex own;
	const kvf_keyindex *ki = ki_in;
	if (!ki) {
		kvf_keyindex_opts o = { 0 };
		if ((s = kvf_keyindex_build(b, &o, &own, err)))
			return s;
		ki = &own;
	}
	st->revision = ki->current_rev;
	st->compact_revision = ki->compact_rev;
	st->scheduled_compact_revision = ki->scheduled_compact_rev;
	st->live_keys = ki->live;
	st->revisions = ki->revisions;
	st->tombstones = ki->tombstones;
	st->malformed = ki->malformed;
	if (!ki_in)
		kvf_keyindex_free(&own);
	kvf_db_schema_detect(&st->state, &st->schema);
	if ((st->has_conf_state = st->state.conf_state.p != NULL) &&
	    !(st->conf_state_ok = kvf_conf_state_parse(st->state.conf_state, &st->conf_state)) &&
	    !st->state.bad[0]) {
		kvf_span v = st->state.conf_state;
		if (v.file_offset != KVF_NO_OFFSET)
			snprintf(st->state.bad, sizeof(st->state.bad), "offset %llu: meta/confState (%zu bytes) is "
			         "not raftpb.ConfState JSON", (unsigned long long)v.file_offset, v.len);
		else
			snprintf(st->state.bad, sizeof(st->state.bad), "meta/confState (%zu bytes) is not "
			         "raftpb.ConfState JSON", v.len);
	}
	if ((s = kvf_compaction_tombstones(b, st->compact_revision, &st->compaction_tombstones, err)) ||
	    (s = collect(b, "authUsers", &st->users, NULL, NULL, err)) ||
	    (s = collect(b, "authRoles", &st->roles, NULL, NULL, err)) ||
	    (s = collect(b, "lease", NULL, NULL, &st->leases, err)) ||
	    (s = collect(b, "members", &st->member_ids, &st->member_json, NULL, err)) ||
	    (s = collect(b, "members_removed", &st->removed_members, NULL, NULL, err)) ||
	    (s = collect(b, "alarm", &st->alarms, NULL, NULL, err)) ||
	    (s = kvf_backend_buckets(b, add_bucket, &st->buckets, err))) {
		kvf_db_status_free(st);
		return s;
	}
	if (st->info->format == KVF_FORMAT_BBOLT &&
	    (s = kvf_snapshot_file_verify(st->info->path, &st->snapshot, err))) {
		kvf_db_status_free(st);
		return s;
	}
	return KVF_OK;
}

bool kvf_db_partial_page(const kvf_backend_info *in, const kvf_snapshot_file *sf, uint64_t *at, uint64_t *n)
{
	if (in->format != KVF_FORMAT_BBOLT || !in->page_size)
		return false;
	uint64_t size = sf->is_snapshot ? sf->db_size : in->file_size;
	*n = size % in->page_size;
	*at = size - *n;
	return *n != 0;
}

void kvf_snapshot_file_finding(const kvf_snapshot_file *sf, kvf_db_finding *f)
{
	char stored[65], computed[65];
	for (int i = 0; i < 32; i++) {
		snprintf(stored + 2 * i, 3, "%02x", sf->stored[i]);
		snprintf(computed + 2 * i, 3, "%02x", sf->computed[i]);
	}
	*f = (kvf_db_finding){ .pgid = KVF_NO_PGID, .offset = sf->db_size };
	snprintf(f->msg, sizeof(f->msg), "sha256: snapshot file digest %s is not the SHA-256 of its %" PRIu64
	         "-byte db (%s): etcdutl snapshot restore refuses it", stored, sf->db_size, computed);
}

kvf_status kvf_db_status_leftovers(kvf_db_status *st, const kvf_datadir *dd, kvf_err *err)
{
	if (!dd || !dd->n_leftovers)
		return KVF_OK;
	if (!(st->leftovers = calloc(dd->n_leftovers, sizeof(*st->leftovers))))
		return kvf_err_set(err, KVF_E_NOMEM, dd->snap_dir, KVF_NO_OFFSET, "out of memory");
	st->n_leftovers = dd->n_leftovers;
	for (size_t i = 0; i < dd->n_leftovers; i++) {
		kvf_leftover_db *l = &st->leftovers[i];
		l->file = &dd->leftovers[i];
		kvf_backend *lb;
		kvf_err e;
		kvf_err_clear(&e);
		if (kvf_backend_open(&lb, l->file->path, &e) != KVF_OK ||
		    kvf_etcd_read_state(lb, &l->state, &e) != KVF_OK) {
			kvf_err_format(&e, l->why, sizeof(l->why));
			if (e.code == KVF_E_NOMEM)
				return kvf_err_set(err, KVF_E_NOMEM, l->file->path, KVF_NO_OFFSET, "out of memory");
		} else {
			l->readable = true;
		}
		if (l->readable || lb) {
			const kvf_db_finding *f;
			l->damage = kvf_backend_findings(lb, &f);
		}
		/* the state's spans point into the leftover's mapping: keep the
		 * numbers, drop the spans before it is closed */
		memset(&l->state.conf_state, 0, sizeof(l->state.conf_state));
		memset(&l->state.storage_version, 0, sizeof(l->state.storage_version));
		memset(&l->state.auth_revision_value, 0, sizeof(l->state.auth_revision_value));
		memset(&l->state.cluster_version, 0, sizeof(l->state.cluster_version));
		memset(&l->state.downgrade, 0, sizeof(l->state.downgrade));
		kvf_backend_close(lb);
	}
	return KVF_OK;
}

void kvf_db_status_free(kvf_db_status *st)
{
	free(st->leftovers);
	st->leftovers = NULL;
	st->n_leftovers = 0;
	list_free(&st->users);
	list_free(&st->roles);
	list_free(&st->member_ids);
	list_free(&st->member_json);
	list_free(&st->removed_members);
	list_free(&st->alarms);
	list_free(&st->buckets);
}
