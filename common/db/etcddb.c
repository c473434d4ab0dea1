#include "db/etcddb.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/buf.h"
#include "io/source.h"

kvf_status kvf_etcd_db_path(const char *path, char **db_path, kvf_err *err)
{
	kvf_path_kind kind;
	kvf_datadir dd;
	kvf_status st = kvf_path_classify(path, &kind, &dd, err);
	if (st)
		return st;
	switch (kind) {
	case KVF_PATH_DATADIR:
		if (!dd.db_path) {
			kvf_datadir_free(&dd);
			return kvf_err_set(err, KVF_E_NOTFOUND, path, KVF_NO_OFFSET,
			                   "data directory without member/snap/db");
		}
		*db_path = dd.db_path;
		dd.db_path = NULL;
		kvf_datadir_free(&dd);
		return KVF_OK;
	case KVF_PATH_DIR: {   /* an LMDB environment directory, or nothing we read */
		kvf_datadir_free(&dd);
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
		kvf_datadir_free(&dd);
		if (!(*db_path = strdup(path)))
			return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		return KVF_OK;
	case KVF_PATH_OTHER:
	case KVF_PATH_MISSING:
		break;
	}
	kvf_datadir_free(&dd);
	return kvf_err_set(err, KVF_E_IO, path, KVF_NO_OFFSET, "not a regular file or directory");
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
	if ((st->has_conf_state = st->state.conf_state.p != NULL))
		st->conf_state_ok = kvf_conf_state_parse(st->state.conf_state, &st->conf_state);
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
	return KVF_OK;
}

void kvf_db_status_free(kvf_db_status *st)
{
	list_free(&st->users);
	list_free(&st->roles);
	list_free(&st->member_ids);
	list_free(&st->member_json);
	list_free(&st->removed_members);
	list_free(&st->alarms);
	list_free(&st->buckets);
}
