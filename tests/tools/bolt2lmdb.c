/* bolt2lmdb DB_FILE OUT_DIR: write the LMDB twin of a database.
 *
 * Test-only. Reads any database the backend interface opens (a bbolt file,
 * an LMDB file or environment) and writes an LMDB environment in OUT_DIR
 * with one named database per top-level bucket, holding the same pairs, so
 * the LMDB reader can be checked against the same data as the bbolt one.
 * Nested buckets (etcd has none), empty keys and keys over liblmdb's limit
 * cannot be stored; they are counted and reported, and the exit status is
 * then 1. */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db/backend.h"

/* Commit every so many pairs: keeps liblmdb's dirty-page list short. */
#define PAIRS_PER_TXN 50000

typedef struct bucket_list {
	kvf_span *v;
	size_t n, cap;
	int failed;
} bucket_list;

static bool add_bucket(void *ctx, kvf_span name)
{
	bucket_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		kvf_span *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->failed = 1;
			return false;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = name;
	return true;
}

static int fail_kvf(const char *what, const kvf_err *err)
{
	char msg[512];
	kvf_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "bolt2lmdb: %s: %s\n", what, msg);
	return 2;
}

static int fail_mdb(const char *what, int rc)
{
	fprintf(stderr, "bolt2lmdb: %s: %s\n", what, mdb_strerror(rc));
	return 2;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bolt2lmdb DB_FILE OUT_DIR\n");
		return 2;
	}
	kvf_backend *b;
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_backend_open(&b, argv[1], &err))
		return fail_kvf("cannot open input", &err);
	bucket_list bl = { 0 };
	if (kvf_backend_buckets(b, add_bucket, &bl, &err) || bl.failed)
		return fail_kvf("cannot list buckets", &err);
	if (mkdir(argv[2], 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "bolt2lmdb: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	/* LMDB pages fill differently from bbolt's: leave room */
	uint64_t in_size = kvf_backend_get_info(b)->file_size;
	size_t mapsize = (size_t)(in_size * 2 + (64u << 20));
	MDB_env *env;
	int rc;
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, (MDB_dbi)bl.n + 1)) ||
	    (rc = mdb_env_set_mapsize(env, mapsize)) || (rc = mdb_env_open(env, argv[2], 0, 0644)))
		return fail_mdb(argv[2], rc);
	size_t max_key = (size_t)mdb_env_get_maxkeysize(env);
	uint64_t pairs = 0, skipped = 0;
	int status = 0;
	for (size_t i = 0; i < bl.n && !status; i++) {
		kvf_span name = bl.v[i];
		char *cname = malloc(name.len + 1);
		if (!cname)
			return fail_mdb("bucket name", ENOMEM);
		memcpy(cname, name.p, name.len);
		cname[name.len] = '\0';
		if (name.len == 0 || memchr(name.p, 0, name.len)) {
			fprintf(stderr, "bolt2lmdb: bucket %zu: a name liblmdb cannot take (empty or with NUL), skipped\n", i);
			skipped++;
			free(cname);
			continue;
		}
		MDB_txn *t;
		MDB_dbi dbi;
		if ((rc = mdb_txn_begin(env, NULL, 0, &t)) || (rc = mdb_dbi_open(t, cname, MDB_CREATE, &dbi)))
			return fail_mdb(cname, rc);
		kvf_cursor *c;
		if (kvf_cursor_open(b, name.p, name.len, &c, &err)) {
			mdb_txn_abort(t);
			return fail_kvf(cname, &err);
		}
		kvf_pair p;
		bool got;
		uint64_t in_txn = 0;
		while (!(rc = 0) && kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got) {
			if (p.is_bucket || p.key.len == 0 || p.key.len > max_key) {
				skipped++;
				continue;
			}
			MDB_val k = { p.key.len, (void *)p.key.p }, v = { p.value.len, (void *)p.value.p };
			/* keys arrive sorted: append, unless damage broke the order */
			rc = mdb_put(t, dbi, &k, &v, MDB_APPEND);
			if (rc == MDB_KEYEXIST)
				rc = mdb_put(t, dbi, &k, &v, 0);
			if (rc) {
				status = fail_mdb(cname, rc);
				break;
			}
			pairs++;
			if (++in_txn == PAIRS_PER_TXN) {
				if ((rc = mdb_txn_commit(t)) || (rc = mdb_txn_begin(env, NULL, 0, &t))) {
					t = NULL;
					status = fail_mdb(cname, rc);
					break;
				}
				in_txn = 0;
			}
		}
		if (err.code != KVF_OK && !status)
			status = fail_kvf(cname, &err);
		kvf_cursor_close(c);
		if (t && (rc = status ? (mdb_txn_abort(t), 0) : mdb_txn_commit(t)))
			status = fail_mdb(cname, rc);
		free(cname);
	}
	mdb_env_close(env);
	const kvf_db_finding *f;
	size_t nf = kvf_backend_findings(b, &f);
	kvf_backend_close(b);
	free(bl.v);
	if (status)
		return status;
	fprintf(stderr, "bolt2lmdb: %zu buckets, %llu pairs written, %llu skipped, %zu findings in the input\n",
	        bl.n, (unsigned long long)pairs, (unsigned long long)skipped, nf);
	return skipped || nf ? 1 : 0;
}
