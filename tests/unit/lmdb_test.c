/* The LMDB backend, against environments liblmdb itself writes here, laid
 * out like etcd's buckets. Expected contents come from the model the
 * environment was written from; expected statistics come from liblmdb
 * (mdb_stat, mdb_env_info), opened read-only and lock-free by the test. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/backend.h"
#include "db/backend_impl.h"
#include "db/lmdbx.h"

/* ---- the model: what we write, hence what must be read back ---- */

typedef struct mpair {
	uint8_t *k, *v;
	size_t kl, vl;
} mpair;

typedef struct mbucket {
	const char *name;
	mpair *p;
	size_t n, cap;
} mbucket;

enum { N_REV = 3000, BIG_EVERY = 97, BIG_LEN = 9000 };

static const char *const bucket_names[] = {
	"key", "meta", "auth", "authUsers", "authRoles", "lease",
	"members", "members_removed", "cluster", "alarm",
};
#define N_BUCKETS (sizeof(bucket_names) / sizeof(bucket_names[0]))

static mbucket model[N_BUCKETS];

static mbucket *mb(const char *name)
{
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (!strcmp(model[i].name, name))
			return &model[i];
	cr_assert_fail("no bucket %s in the model", name);
	return NULL;
}

static void madd(mbucket *b, const void *k, size_t kl, const void *v, size_t vl)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->p = realloc(b->p, b->cap * sizeof(*b->p));
	}
	mpair *p = &b->p[b->n++];
	p->k = malloc(kl);
	p->v = malloc(vl ? vl : 1);
	memcpy(p->k, k, kl);
	memcpy(p->v, v, vl);
	p->kl = kl;
	p->vl = vl;
}

static int mcmp(const void *a, const void *b)
{
	const mpair *x = a, *y = b;
	size_t n = x->kl < y->kl ? x->kl : y->kl;
	int c = memcmp(x->k, y->k, n);
	return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* etcd's revision key: main revision (8 bytes BE), '_', sub revision. */
static void rev_key(uint8_t k[17], uint64_t main, uint64_t sub)
{
	be64(k, main);
	k[8] = '_';
	be64(k + 9, sub);
}

static size_t rev_value(size_t i, uint8_t *v)
{
	size_t len = i % BIG_EVERY == 0 ? BIG_LEN : 40 + (i * 7) % 200;
	for (size_t j = 0; j < len; j++)
		v[j] = (uint8_t)(i + j * 31);
	return len;
}

static bool rev_deleted(size_t i) { return i % 5 == 3; }

static void build_model(void)
{
	if (model[0].name)
		return;
	for (size_t i = 0; i < N_BUCKETS; i++)
		model[i].name = bucket_names[i];
	static uint8_t v[BIG_LEN];
	for (size_t i = 0; i < N_REV; i++) {
		if (rev_deleted(i))
			continue;
		uint8_t k[17];
		rev_key(k, i + 2, 0);
		madd(mb("key"), k, 17, v, rev_value(i, v));
	}
	uint8_t n8[8];
	be64(n8, 123456);
	madd(mb("meta"), "consistent_index", 16, n8, 8);
	uint8_t rk[17];
	rev_key(rk, 1000, 0);
	madd(mb("meta"), "finishedCompactRev", 18, rk, 17);
	madd(mb("meta"), "scheduledCompactRev", 19, rk, 17);
	madd(mb("auth"), "enabled", 7, "\x01", 1);
	be64(n8, 7);
	madd(mb("auth"), "authRevision", 12, n8, 8);
	madd(mb("authUsers"), "root", 4, "\x0a\x04root\x12\x3c$2a$10$hash", 20);
	madd(mb("authUsers"), "alice", 5, "\x0a\x05" "alice", 7);
	madd(mb("authRoles"), "root", 4, "\x0a\x04root", 6);
	for (uint64_t i = 0; i < 20; i++) {
		be64(n8, 0x694d7a1b00000000u + i * 977);
		madd(mb("lease"), n8, 8, "\x08\x01\x10\x3c", 4);
	}
	const char *mem = "{\"id\":10276657743932975437,\"peerURLs\":[\"http://127.0.0.1:2380\"]}";
	madd(mb("members"), "8e9e05c52164694d", 16, mem, strlen(mem));
	madd(mb("cluster"), "clusterVersion", 14, "3.4.0", 5);
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (model[i].n)
			qsort(model[i].p, model[i].n, sizeof(mpair), mcmp);
}

#define LMDB_OK(x) do { int rc_ = (x); cr_assert_eq(rc_, 0, "%s: %s", #x, mdb_strerror(rc_)); } while (0)

static char *tmpdir(void)
{
	char *t = strdup("/tmp/kvf-lmdb-XXXXXX");
	cr_assert(mkdtemp(t));
	return t;
}

static char *join(const char *a, const char *b)
{
	char *p;
	cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

/* Write the model as an LMDB environment in dir, in three transactions so
 * the free-page database has something to list; remove lock.mdb. */
static void write_env(const char *dir)
{
	build_model();
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi d[N_BUCKETS];
	LMDB_OK(mdb_env_create(&env));
	LMDB_OK(mdb_env_set_maxdbs(env, 16));
	LMDB_OK(mdb_env_set_mapsize(env, 64u << 20));
	LMDB_OK(mdb_env_open(env, dir, 0, 0644));
	LMDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	for (size_t b = 0; b < N_BUCKETS; b++)
		LMDB_OK(mdb_dbi_open(t, bucket_names[b], MDB_CREATE, &d[b]));
	static uint8_t v[BIG_LEN];
	for (size_t i = 0; i < N_REV; i++) {
		uint8_t k[17];
		rev_key(k, i + 2, 0);
		MDB_val kk = { 17, k }, vv = { rev_value(i, v), v };
		LMDB_OK(mdb_put(t, d[0], &kk, &vv, 0));
	}
	for (size_t b = 1; b < N_BUCKETS; b++)
		for (size_t i = 0; i < model[b].n; i++) {
			MDB_val kk = { model[b].p[i].kl, model[b].p[i].k }, vv = { model[b].p[i].vl, model[b].p[i].v };
			uint8_t old[8] = { 0 };
			MDB_val ov = { 8, old };
			/* consistent_index gets its final value in the third txn */
			bool ci = b == 1 && kk.mv_size == 16;
			LMDB_OK(mdb_put(t, d[b], &kk, ci ? &ov : &vv, 0));
		}
	LMDB_OK(mdb_txn_commit(t));
	LMDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	for (size_t i = 0; i < N_REV; i++) {
		if (!rev_deleted(i))
			continue;
		uint8_t k[17];
		rev_key(k, i + 2, 0);
		MDB_val kk = { 17, k };
		LMDB_OK(mdb_del(t, d[0], &kk, NULL));
	}
	LMDB_OK(mdb_txn_commit(t));
	LMDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	mpair *ci = &mb("meta")->p[0];
	cr_assert_eq(ci->kl, 16);
	MDB_val kk = { ci->kl, ci->k }, vv = { ci->vl, ci->v };
	LMDB_OK(mdb_put(t, d[1], &kk, &vv, 0));
	LMDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
	char *lock = join(dir, "lock.mdb");
	cr_assert_eq(unlink(lock), 0);
	free(lock);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb; (void)flag; (void)f;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	chmod(dir, 0755);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A reference view through liblmdb, read-only and lock-free. */
typedef struct ref {
	MDB_env *env;
	MDB_txn *txn;
} ref;

static void ref_open(ref *r, const char *dir)
{
	LMDB_OK(mdb_env_create(&r->env));
	LMDB_OK(mdb_env_set_maxdbs(r->env, 16));
	LMDB_OK(mdb_env_open(r->env, dir, MDB_RDONLY | MDB_NOLOCK, 0));
	LMDB_OK(mdb_txn_begin(r->env, NULL, MDB_RDONLY, &r->txn));
}

static MDB_stat ref_stat(ref *r, const char *name)
{
	MDB_dbi d;
	MDB_stat s;
	if (name)
		LMDB_OK(mdb_dbi_open(r->txn, name, 0, &d));
	else
		d = 1;   /* MAIN_DBI */
	LMDB_OK(mdb_stat(r->txn, d, &s));
	return s;
}

static void ref_close(ref *r)
{
	mdb_txn_abort(r->txn);
	mdb_env_close(r->env);
}

static kvf_backend *must_open(const char *path)
{
	kvf_backend *b;
	kvf_err err;
	kvf_err_clear(&err);
	kvf_status st = kvf_backend_open(&b, path, &err);
	cr_assert_eq(st, KVF_OK, "%s: %s", path, err.msg);
	return b;
}

typedef struct names {
	char v[32][64];
	size_t lens[32];
	size_t n;
} names;

static bool collect_name(void *ctx, kvf_span name)
{
	names *n = ctx;
	cr_assert_lt(n->n, 32);
	cr_assert_lt(name.len, 64);
	memcpy(n->v[n->n], name.p, name.len);
	n->v[n->n][name.len] = '\0';
	n->lens[n->n++] = name.len;
	return true;
}

static int strcmp_p(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every pair of a bucket, through a cursor. */
static size_t read_bucket(kvf_backend *b, const char *name, mpair *out, size_t cap)
{
	kvf_cursor *c;
	kvf_err err;
	cr_assert_eq(kvf_cursor_open(b, name, strlen(name), &c, &err), KVF_OK, "%s: %s", name, err.msg);
	size_t n = 0;
	kvf_pair p;
	bool got;
	while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got) {
		if (n < cap) {
			out[n].k = (uint8_t *)p.key.p;
			out[n].kl = p.key.len;
			out[n].v = (uint8_t *)p.value.p;
			out[n].vl = p.value.len;
		}
		n++;
	}
	kvf_cursor_close(c);
	return n;
}

static bool same_pair(const mpair *a, const mpair *b)
{
	return a->kl == b->kl && a->vl == b->vl && !memcmp(a->k, b->k, a->kl) && !memcmp(a->v, b->v, a->vl);
}

static void expect_model(kvf_backend *b)
{
	static mpair got[N_REV];
	for (size_t i = 0; i < N_BUCKETS; i++) {
		size_t n = read_bucket(b, model[i].name, got, N_REV);
		cr_assert_eq(n, model[i].n, "%s: %zu pairs, wrote %zu", model[i].name, n, model[i].n);
		for (size_t j = 0; j < n; j++)
			cr_assert(same_pair(&got[j], &model[i].p[j]), "%s: pair %zu differs", model[i].name, j);
	}
}

static char *env_dir;

static void setup_env(void)
{
	env_dir = tmpdir();
	write_env(env_dir);
}

static void teardown_env(void)
{
	rm_rf(env_dir);
	free(env_dir);
}

TestSuite(lmdb, .init = setup_env, .fini = teardown_env, .timeout = 60);

Test(lmdb, lists_named_databases_as_buckets_in_key_order)
{
	kvf_backend *b = must_open(env_dir);
	names n = { 0 };
	kvf_err err;
	cr_assert_eq(kvf_backend_buckets(b, collect_name, &n, &err), KVF_OK);
	const char *want[N_BUCKETS];
	memcpy(want, bucket_names, sizeof(want));
	qsort(want, N_BUCKETS, sizeof(char *), strcmp_p);
	cr_assert_eq(n.n, N_BUCKETS);
	for (size_t i = 0; i < N_BUCKETS; i++)
		cr_assert_str_eq(n.v[i], want[i]);
	kvf_backend_close(b);
}

Test(lmdb, cursor_yields_every_pair_in_key_order)
{
	kvf_backend *b = must_open(env_dir);
	expect_model(b);
	char *lock = join(env_dir, "lock.mdb");
	cr_assert(access(lock, F_OK) != 0, "lock.mdb was created");
	free(lock);
	kvf_backend_close(b);
}

Test(lmdb, spans_carry_their_byte_offset_in_data_mdb)
{
	kvf_backend *b = must_open(env_dir);
	char *data = join(env_dir, "data.mdb");
	int fd = open(data, O_RDONLY);
	cr_assert_geq(fd, 0);
	kvf_cursor *c;
	kvf_err err;
	cr_assert_eq(kvf_cursor_open(b, "key", 3, &c, &err), KVF_OK);
	kvf_pair p;
	bool got;
	size_t n = 0, big = 0;
	static uint8_t buf[BIG_LEN];
	while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got) {
		cr_assert_neq(p.key.file_offset, KVF_NO_OFFSET);
		cr_assert_neq(p.value.file_offset, KVF_NO_OFFSET);
		cr_assert_eq(pread(fd, buf, p.key.len, (off_t)p.key.file_offset), (ssize_t)p.key.len);
		cr_assert(!memcmp(buf, p.key.p, p.key.len), "key %zu: the file holds other bytes at its offset", n);
		cr_assert_eq(pread(fd, buf, p.value.len, (off_t)p.value.file_offset), (ssize_t)p.value.len);
		cr_assert(!memcmp(buf, p.value.p, p.value.len), "value %zu: the file holds other bytes", n);
		big += p.value.len == BIG_LEN;
		n++;
	}
	cr_assert_eq(n, mb("key")->n);
	cr_assert_gt(big, 10, "overflow values are part of the test");
	kvf_cursor_close(c);
	close(fd);
	free(data);
	kvf_backend_close(b);
}

Test(lmdb, seek_positions_at_the_first_key_not_below)
{
	kvf_backend *b = must_open(env_dir);
	mbucket *k = mb("key");
	kvf_cursor *c;
	kvf_err err;
	kvf_pair p;
	bool got;
	cr_assert_eq(kvf_cursor_open(b, "key", 3, &c, &err), KVF_OK);
	/* an existing key */
	mpair *mid = &k->p[k->n / 2];
	cr_assert_eq(kvf_cursor_seek(c, mid->k, mid->kl, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got);
	cr_assert(same_pair(&(mpair){ (uint8_t *)p.key.p, (uint8_t *)p.value.p, p.key.len, p.value.len }, mid));
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got && p.key.len == 17 && !memcmp(p.key.p, k->p[k->n / 2 + 1].k, 17));
	/* a deleted revision: the next one present */
	uint8_t key[17];
	rev_key(key, 3 + 2, 0);
	cr_assert(rev_deleted(3));
	cr_assert_eq(kvf_cursor_seek(c, key, 17, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	uint8_t want[17];
	rev_key(want, 4 + 2, 0);
	cr_assert(got && !memcmp(p.key.p, want, 17));
	/* a prefix of every key: the first */
	cr_assert_eq(kvf_cursor_seek(c, "\0", 1, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got && !memcmp(p.key.p, k->p[0].k, 17));
	/* past the last key */
	cr_assert_eq(kvf_cursor_seek(c, "\xff", 1, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(!got);
	/* a key longer than liblmdb's limit still positions */
	uint8_t longkey[600];
	memcpy(longkey, k->p[10].k, 17);
	memset(longkey + 17, 0, sizeof(longkey) - 17);
	cr_assert_eq(kvf_cursor_seek(c, longkey, sizeof(longkey), &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got && !memcmp(p.key.p, k->p[11].k, 17));
	kvf_cursor_close(c);
	kvf_backend_close(b);
}

Test(lmdb, get_finds_present_keys_and_reports_absent_ones)
{
	kvf_backend *b = must_open(env_dir);
	kvf_span v;
	kvf_err err;
	mpair *ci = &mb("meta")->p[0];
	cr_assert_eq(kvf_backend_get(b, "meta", 4, "consistent_index", 16, &v, &err), KVF_OK, "%s", err.msg);
	cr_assert_eq(v.len, 8);
	cr_assert(!memcmp(v.p, ci->v, 8), "the value of the last transaction");
	mpair *big = &mb("key")->p[0];
	cr_assert_eq(big->vl, BIG_LEN);
	cr_assert_eq(kvf_backend_get(b, "key", 3, big->k, big->kl, &v, &err), KVF_OK);
	cr_assert(v.len == BIG_LEN && !memcmp(v.p, big->v, BIG_LEN));
	uint8_t key[17];
	rev_key(key, 3 + 2, 0);
	cr_assert_eq(kvf_backend_get(b, "key", 3, key, 17, &v, &err), KVF_E_NOTFOUND);
	cr_assert_eq(kvf_backend_get(b, "meta", 4, "", 0, &v, &err), KVF_E_NOTFOUND);
	cr_assert_eq(kvf_backend_get(b, "nosuch", 6, "a", 1, &v, &err), KVF_E_NOTFOUND);
	cr_assert(strstr(err.msg, "nosuch"), "%s", err.msg);
	kvf_cursor *c;
	cr_assert_eq(kvf_cursor_open(b, "nosuch", 6, &c, &err), KVF_E_NOTFOUND);
	/* the named-database records are not pairs of a "" bucket */
	cr_assert_eq(kvf_cursor_open(b, "", 0, &c, &err), KVF_E_NOTFOUND);
	kvf_backend_close(b);
}

Test(lmdb, bucket_stats_equal_mdb_stat)
{
	kvf_backend *b = must_open(env_dir);
	ref r;
	ref_open(&r, env_dir);
	for (size_t i = 0; i < N_BUCKETS; i++) {
		kvf_bucket_stats s;
		kvf_err err;
		const char *name = model[i].name;
		cr_assert_eq(kvf_backend_bucket_stats(b, name, strlen(name), &s, &err), KVF_OK);
		MDB_stat ms = ref_stat(&r, name);
		cr_assert_eq(s.entries, ms.ms_entries, "%s", name);
		cr_assert_eq(s.entries, model[i].n, "%s", name);
		cr_assert_eq(s.branch_pages, ms.ms_branch_pages, "%s", name);
		cr_assert_eq(s.leaf_pages, ms.ms_leaf_pages, "%s", name);
		cr_assert_eq(s.overflow_pages, ms.ms_overflow_pages, "%s", name);
		cr_assert_eq(s.depth, ms.ms_depth, "%s", name);
		uint64_t kb = 0, vb = 0;
		for (size_t j = 0; j < model[i].n; j++)
			kb += model[i].p[j].kl, vb += model[i].p[j].vl;
		cr_assert_eq(s.key_bytes, kb, "%s", name);
		cr_assert_eq(s.value_bytes, vb, "%s", name);
		cr_assert(!s.is_inline);
	}
	MDB_stat ks = ref_stat(&r, "key");
	cr_assert_gt(ks.ms_depth, 1);
	cr_assert_gt(ks.ms_overflow_pages, 0);
	ref_close(&r);
	kvf_backend_close(b);
}

Test(lmdb, page_stats_account_for_every_page)
{
	kvf_backend *b = must_open(env_dir);
	kvf_page_stats ps;
	kvf_err err;
	cr_assert_eq(kvf_backend_page_stats(b, &ps, &err), KVF_OK, "%s", err.msg);
	ref r;
	ref_open(&r, env_dir);
	MDB_envinfo ei;
	MDB_stat es;
	LMDB_OK(mdb_env_info(r.env, &ei));
	LMDB_OK(mdb_env_stat(r.env, &es));
	struct stat st;
	char *data = join(env_dir, "data.mdb");
	cr_assert_eq(stat(data, &st), 0);
	free(data);
	cr_assert_eq(ps.total_pages, (uint64_t)st.st_size / es.ms_psize);
	cr_assert_eq(ps.high_water, ei.me_last_pgno + 1);
	uint64_t br = 0, lf = 0, ov = 0;
	for (size_t i = 0; i <= N_BUCKETS; i++) {
		MDB_stat s = ref_stat(&r, i < N_BUCKETS ? bucket_names[i] : NULL);
		br += s.ms_branch_pages, lf += s.ms_leaf_pages, ov += s.ms_overflow_pages;
	}
	cr_assert_eq(ps.meta, 2);
	cr_assert_eq(ps.branch, br);
	cr_assert_eq(ps.leaf, lf);
	cr_assert_eq(ps.overflow, ov);
	MDB_stat fs;
	LMDB_OK(mdb_stat(r.txn, 0, &fs));
	cr_assert_eq(ps.freelist, fs.ms_branch_pages + fs.ms_leaf_pages + fs.ms_overflow_pages);
	/* free pages as mdb_stat -f counts them */
	MDB_cursor *c;
	LMDB_OK(mdb_cursor_open(r.txn, 0, &c));
	MDB_val k, v;
	uint64_t listed = 0;
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0)
		listed += *(size_t *)v.mv_data;
	mdb_cursor_close(c);
	cr_assert_gt(listed, 0, "the deletes left free pages");
	cr_assert_eq(ps.free_listed, listed);
	cr_assert_eq(ps.unreachable, ps.high_water - 2 - br - lf - ov - ps.freelist - listed);
	/* a healthy environment leaks no page */
	cr_assert_eq(ps.unreachable, 0);
	cr_assert_gt(ps.used_bytes, 0);
	cr_assert_leq(ps.used_bytes, ps.capacity_bytes);
	cr_assert_eq(ps.capacity_bytes, (br + lf) * (es.ms_psize - 16));
	ref_close(&r);
	kvf_backend_close(b);
}

Test(lmdb, info_names_the_meta_page_in_use)
{
	kvf_backend *b = must_open(env_dir);
	const kvf_backend_info *in = kvf_backend_get_info(b);
	ref r;
	ref_open(&r, env_dir);
	MDB_envinfo ei;
	MDB_stat es;
	LMDB_OK(mdb_env_info(r.env, &ei));
	LMDB_OK(mdb_env_stat(r.env, &es));
	cr_assert_eq(in->format, KVF_FORMAT_LMDB);
	cr_assert_str_eq(kvf_backend_format_name(in->format), "lmdb");
	cr_assert(strstr(in->path, "data.mdb"));
	cr_assert_eq(in->page_size, es.ms_psize);
	cr_assert_eq(in->txid, ei.me_last_txnid);
	cr_assert_eq(in->txid, 3, "three write transactions");
	/* mdb_env_write_meta: transaction N writes meta page N & 1 */
	cr_assert_eq(in->meta_in_use, (int)(ei.me_last_txnid & 1));
	cr_assert(!in->meta_fallback);
	cr_assert_eq(in->high_water, ei.me_last_pgno + 1);
	struct stat st;
	cr_assert_eq(stat(in->path, &st), 0);
	cr_assert_eq(in->file_size, (uint64_t)st.st_size);
	ref_close(&r);
	kvf_backend_close(b);
}

static size_t n_progress;
static uint64_t last_done, last_total;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	n_progress++;
	last_done = done;
	last_total = total;
}

static size_t n_findings;
static kvf_db_finding findings[64];

static void on_finding(void *ctx, const kvf_db_finding *f)
{
	(void)ctx;
	if (n_findings < 64)
		findings[n_findings] = *f;
	n_findings++;
}

static bool run_check(kvf_backend *b)
{
	bool clean = false;
	kvf_err err;
	n_findings = 0;
	cr_assert_eq(kvf_backend_check(b, on_finding, NULL, on_progress, NULL, &clean, &err), KVF_OK, "%s", err.msg);
	return clean;
}

Test(lmdb, check_is_clean_on_a_healthy_environment)
{
	kvf_backend *b = must_open(env_dir);
	n_progress = 0;
	bool clean = run_check(b);
	cr_assert(clean, "%zu findings, first: %s", n_findings, n_findings ? findings[0].msg : "");
	cr_assert_eq(n_findings, 0);
	cr_assert_gt(n_progress, 0);
	cr_assert_eq(last_done, last_total);
	cr_assert_eq(last_total, 2 * kvf_backend_get_info(b)->high_water, "walks, then liblmdb's pass");
	kvf_backend_close(b);
}

Test(lmdb, opens_the_data_file_itself_with_nosubdir)
{
	char *data = join(env_dir, "data.mdb");
	kvf_backend *b = must_open(data);
	cr_assert_str_eq(kvf_backend_get_info(b)->path, data);
	expect_model(b);
	cr_assert(run_check(b));
	kvf_backend_close(b);
	char *lock = join(env_dir, "data.mdb-lock");
	cr_assert(access(lock, F_OK) != 0, "data.mdb-lock was created");
	free(lock);
	free(data);
}

/* ---- nothing is written: a read-only directory ---- */

typedef struct snap {
	size_t n;
	char name[8][64];
	struct stat st[8];
	uint8_t *bytes[8];
} snap;

static void take_snap(const char *dir, snap *s)
{
	memset(s, 0, sizeof(*s));
	DIR *d = opendir(dir);
	cr_assert(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		cr_assert_lt(s->n, 8);
		snprintf(s->name[s->n], 64, "%.63s", de->d_name);
		char *p = join(dir, de->d_name);
		cr_assert_eq(stat(p, &s->st[s->n]), 0);
		s->bytes[s->n] = malloc((size_t)s->st[s->n].st_size + 1);
		FILE *f = fopen(p, "rb");
		cr_assert(f);
		cr_assert_eq(fread(s->bytes[s->n], 1, (size_t)s->st[s->n].st_size, f), (size_t)s->st[s->n].st_size);
		fclose(f);
		free(p);
		s->n++;
	}
	closedir(d);
}

static void expect_same_snap(const snap *a, const snap *b)
{
	cr_assert_eq(a->n, b->n, "the directory listing changed");
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;
		while (j < b->n && strcmp(a->name[i], b->name[j]))
			j++;
		cr_assert_lt(j, b->n, "%s disappeared", a->name[i]);
		cr_assert_eq(a->st[i].st_size, b->st[j].st_size);
		cr_assert_eq(a->st[i].st_mtim.tv_sec, b->st[j].st_mtim.tv_sec);
		cr_assert_eq(a->st[i].st_mtim.tv_nsec, b->st[j].st_mtim.tv_nsec, "%s: mtime changed", a->name[i]);
		cr_assert(!memcmp(a->bytes[i], b->bytes[j], (size_t)a->st[i].st_size), "%s: bytes changed", a->name[i]);
	}
}

Test(lmdb, a_read_only_directory_is_read_without_writing_anything)
{
	char *data = join(env_dir, "data.mdb");
	cr_assert_eq(chmod(data, 0444), 0);
	cr_assert_eq(chmod(env_dir, 0555), 0);
	snap before, after;
	take_snap(env_dir, &before);
	cr_assert_eq(before.n, 1, "only data.mdb");
	struct stat dst0, dst1;
	cr_assert_eq(stat(env_dir, &dst0), 0);
	for (int pass = 0; pass < 2; pass++) {
		kvf_backend *b = must_open(pass ? data : env_dir);
		expect_model(b);
		kvf_page_stats ps;
		kvf_err err;
		cr_assert_eq(kvf_backend_page_stats(b, &ps, &err), KVF_OK);
		cr_assert(run_check(b));
		kvf_backend_close(b);
	}
	take_snap(env_dir, &after);
	expect_same_snap(&before, &after);
	cr_assert_eq(stat(env_dir, &dst1), 0);
	cr_assert_eq(dst0.st_mtim.tv_nsec, dst1.st_mtim.tv_nsec, "the directory was modified");
	free(data);
}

/* ---- damage ---- */

static char *copy_env(const char *from)
{
	char *dir = tmpdir();
	char *src = join(from, "data.mdb"), *dst = join(dir, "data.mdb");
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	cr_assert(in && out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	free(src);
	free(dst);
	return dir;
}

static void poke(const char *dir, uint64_t off, const void *bytes, size_t n)
{
	char *data = join(dir, "data.mdb");
	int fd = open(data, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
	close(fd);
	free(data);
}

static bool has_finding_on(kvf_backend *b, uint64_t pgid)
{
	const kvf_db_finding *f;
	size_t n = kvf_backend_findings(b, &f);
	for (size_t i = 0; i < n; i++)
		if (f[i].pgid == pgid)
			return true;
	return false;
}

/* Read every bucket through cursors; each pair must be the model's, in
 * order. Returns how many pairs of `key` were lost. */
static size_t read_what_survives(kvf_backend *b, size_t *first_lost)
{
	static mpair got[N_REV];
	size_t lost = 0;
	*first_lost = SIZE_MAX;
	for (size_t i = 0; i < N_BUCKETS; i++) {
		kvf_cursor *c;
		kvf_err err;
		if (kvf_cursor_open(b, model[i].name, strlen(model[i].name), &c, &err) != KVF_OK)
			continue;
		kvf_cursor_close(c);
		size_t n = read_bucket(b, model[i].name, got, N_REV);
		size_t j = 0;
		for (size_t g = 0; g < n; g++) {
			while (j < model[i].n && !same_pair(&got[g], &model[i].p[j])) {
				if (i == 0 && *first_lost == SIZE_MAX)
					*first_lost = j;
				j++;
			}
			cr_assert_lt(j, model[i].n, "%s: pair %zu is not one we wrote, or out of order", model[i].name, g);
			j++;
		}
		if (i == 0) {
			if (*first_lost == SIZE_MAX && n < model[i].n)
				*first_lost = n;
			lost = model[i].n - n;
		}
	}
	return lost;
}

Test(lmdb, a_zero_filled_leaf_page_is_skipped_and_reported)
{
	/* liblmdb 0.9.24 aborts on this file (mdb_cursor_next asserts IS_LEAF) */
	kvf_backend *b = must_open(env_dir);
	mbucket *k = mb("key");
	size_t victim = k->n / 2;
	kvf_cursor *c;
	kvf_err err;
	kvf_pair p;
	bool got;
	cr_assert_eq(kvf_cursor_open(b, "key", 3, &c, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_seek(c, k->p[victim].k, 17, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got);
	uint64_t psize = kvf_backend_get_info(b)->page_size;
	uint64_t page = p.key.file_offset / psize;
	kvf_cursor_close(c);
	kvf_backend_close(b);

	char *dir = copy_env(env_dir);
	uint8_t *zero = calloc(1, psize);
	poke(dir, page * psize, zero, psize);
	free(zero);
	b = must_open(dir);
	size_t first_lost;
	size_t lost = read_what_survives(b, &first_lost);
	cr_assert_gt(lost, 0);
	cr_assert_lt(lost, 200, "one leaf's worth");
	cr_assert_leq(first_lost, victim);
	cr_assert_gt(first_lost + lost, victim, "the lost pairs are the victim's page");
	cr_assert(has_finding_on(b, page), "a finding names page %llu", (unsigned long long)page);
	/* the other buckets are whole */
	kvf_span v;
	cr_assert_eq(kvf_backend_get(b, "meta", 4, "consistent_index", 16, &v, &err), KVF_OK);
	/* seek and get on the damaged bucket still work around the hole */
	cr_assert_eq(kvf_backend_get(b, "key", 3, k->p[0].k, 17, &v, &err), KVF_OK);
	cr_assert_eq(kvf_backend_get(b, "key", 3, k->p[victim].k, 17, &v, &err), KVF_E_NOTFOUND);
	cr_assert_eq(kvf_cursor_open(b, "key", 3, &c, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_seek(c, k->p[victim].k, 17, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got && p.key.len == 17 && memcmp(p.key.p, k->p[victim].k, 17) > 0);
	cr_assert_eq(p.key.file_offset / psize != page, true);
	kvf_cursor_close(c);
	bool clean = run_check(b);
	cr_assert(!clean);
	bool named = false;
	for (size_t i = 0; i < n_findings && i < 64; i++)
		named |= findings[i].pgid == page && strstr(findings[i].msg, "\"key\"") != NULL;
	cr_assert(named, "check names the database and the page");
	kvf_backend_close(b);
	rm_rf(dir);
	free(dir);
}

static uint64_t key_db_root(const char *dir)
{
	ref r;
	ref_open(&r, dir);
	MDB_val k = { 3, "key" }, v;
	MDB_dbi main;
	LMDB_OK(mdb_dbi_open(r.txn, NULL, 0, &main));   /* sets the comparator */
	LMDB_OK(mdb_get(r.txn, main, &k, &v));
	cr_assert_eq(v.mv_size, 48, "an MDB_db record");
	uint64_t root;
	memcpy(&root, (uint8_t *)v.mv_data + 40, 8);
	ref_close(&r);
	return root;
}

Test(lmdb, a_branch_page_liblmdb_would_assert_on_is_not_handed_to_it)
{
	/* NUMKEYS = 1 on a branch page: mdb_page_search_root asserts */
	char *dir = copy_env(env_dir);
	uint64_t root = key_db_root(dir);
	kvf_backend *b = must_open(dir);
	uint64_t psize = kvf_backend_get_info(b)->page_size;
	kvf_backend_close(b);
	uint16_t lower = 16 + 2;
	poke(dir, root * psize + 12, &lower, 2);
	b = must_open(dir);
	size_t first_lost;
	size_t lost = read_what_survives(b, &first_lost);
	cr_assert_eq(lost, mb("key")->n, "nothing below a bad root");
	cr_assert(has_finding_on(b, root));
	cr_assert(!run_check(b));
	kvf_backend_close(b);
	rm_rf(dir);
	free(dir);
}

Test(lmdb, a_truncated_data_file_gives_findings_not_a_crash)
{
	/* liblmdb 0.9.24 dies of SIGBUS on this file */
	char *dir = copy_env(env_dir);
	char *data = join(dir, "data.mdb");
	struct stat st;
	cr_assert_eq(stat(data, &st), 0);
	cr_assert_eq(truncate(data, st.st_size * 6 / 10 / 4096 * 4096), 0);
	kvf_backend *b;
	kvf_err err;
	kvf_status s = kvf_backend_open(&b, dir, &err);
	cr_assert_eq(s, KVF_OK, "%s", err.msg);
	size_t first_lost;
	read_what_survives(b, &first_lost);
	kvf_page_stats ps;
	cr_assert_eq(kvf_backend_page_stats(b, &ps, &err), KVF_OK);
	cr_assert_lt(ps.total_pages, ps.high_water);
	cr_assert(!run_check(b));
	bool says = false;
	for (size_t i = 0; i < n_findings && i < 64; i++)
		says |= strstr(findings[i].msg, "truncated") != NULL;
	cr_assert(says, "a finding says the file is truncated");
	kvf_backend_close(b);

	/* shorter than a meta page: an error naming the file */
	cr_assert_eq(truncate(data, 100), 0);
	kvf_err_clear(&err);
	cr_assert_eq(kvf_lmdb_open(&b, data, &err), KVF_E_TRUNCATED);
	cr_assert_str_eq(err.file, data);
	/* empty: liblmdb would try to write new meta pages into it */
	cr_assert_eq(truncate(data, 0), 0);
	cr_assert_neq(kvf_lmdb_open(&b, dir, &err), KVF_OK);
	/* the error names the file inside the environment that is at fault */
	cr_assert_str_eq(err.file, data);
	cr_assert_eq(stat(data, &st), 0);
	cr_assert_eq(st.st_size, 0, "nothing was written");
	rm_rf(dir);
	free(dir);
	free(data);
}

Test(lmdb, a_damaged_meta_page_falls_back_to_the_other)
{
	char *dir = copy_env(env_dir);
	kvf_backend *b = must_open(dir);
	uint64_t psize = kvf_backend_get_info(b)->page_size;
	int in_use = kvf_backend_get_info(b)->meta_in_use;
	kvf_backend_close(b);
	/* damage the meta in use: liblmdb refuses the file (MDB_INVALID) */
	uint8_t *zero = calloc(1, psize);
	poke(dir, (uint64_t)in_use * psize, zero, psize);
	free(zero);
	kvf_err err;
	cr_assert_eq(kvf_lmdb_open(&b, dir, &err), KVF_OK, "%s", err.msg);
	const kvf_backend_info *in = kvf_backend_get_info(b);
	cr_assert(in->meta_fallback);
	cr_assert_eq(in->meta_in_use, !in_use);
	cr_assert_eq(in->txid, 2, "the previous transaction");
	cr_assert(has_finding_on(b, (uint64_t)in_use));
	/* txn 2 is the state before consistent_index got its final value */
	kvf_span v;
	cr_assert_eq(kvf_backend_get(b, "meta", 4, "consistent_index", 16, &v, &err), KVF_OK, "%s", err.msg);
	cr_assert(v.len == 8 && !memcmp(v.p, "\0\0\0\0\0\0\0\0", 8));
	static mpair got[N_REV];
	cr_assert_eq(read_bucket(b, "key", got, N_REV), mb("key")->n);
	kvf_backend_close(b);
	rm_rf(dir);
	free(dir);
}

Test(lmdb, refuses_what_is_not_lmdb_with_a_clear_error)
{
	char *dir = copy_env(env_dir);
	char *data = join(dir, "data.mdb");
	kvf_backend *b;
	kvf_err err;
	/* version 2 in both metas */
	kvf_status s = kvf_lmdb_open(&b, data, &err);
	cr_assert_eq(s, KVF_OK);
	uint64_t psize = kvf_backend_get_info(b)->page_size;
	kvf_backend_close(b);
	uint32_t two = 2;
	poke(dir, 20, &two, 4);
	poke(dir, psize + 20, &two, 4);
	cr_assert_eq(kvf_lmdb_open(&b, data, &err), KVF_E_UNSUPPORTED);
	cr_assert(strstr(err.msg, "version"), "%s", err.msg);
	cr_assert_str_eq(err.file, data);
	/* no magic at all */
	uint8_t junk[4096];
	memset(junk, 0x5a, sizeof(junk));
	poke(dir, 0, junk, sizeof(junk));
	poke(dir, psize, junk, sizeof(junk));
	cr_assert_eq(kvf_lmdb_open(&b, data, &err), KVF_E_UNSUPPORTED);
	cr_assert(strstr(err.msg, "not an LMDB file"), "%s", err.msg);
	rm_rf(dir);
	free(dir);
	free(data);
}

Test(lmdb, plain_pairs_in_the_main_database_are_the_empty_bucket)
{
	char *dir = tmpdir();
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi main, named;
	LMDB_OK(mdb_env_create(&env));
	LMDB_OK(mdb_env_set_maxdbs(env, 4));
	LMDB_OK(mdb_env_open(env, dir, 0, 0644));
	LMDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	LMDB_OK(mdb_dbi_open(t, NULL, 0, &main));
	LMDB_OK(mdb_dbi_open(t, "bucket", MDB_CREATE, &named));
	MDB_val k1 = { 5, "alpha" }, v1 = { 3, "one" }, k2 = { 5, "zulu!" }, v2 = { 3, "two" };
	LMDB_OK(mdb_put(t, main, &k1, &v1, 0));
	LMDB_OK(mdb_put(t, main, &k2, &v2, 0));
	LMDB_OK(mdb_put(t, named, &k1, &v2, 0));
	LMDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
	kvf_backend *b = must_open(dir);
	names n = { 0 };
	kvf_err err;
	cr_assert_eq(kvf_backend_buckets(b, collect_name, &n, &err), KVF_OK);
	cr_assert_eq(n.n, 2);
	cr_assert_eq(n.lens[0], 0, "the main database's plain pairs come first");
	cr_assert_str_eq(n.v[1], "bucket");
	mpair got[4];
	cr_assert_eq(read_bucket(b, "", got, 4), 2, "the named database's record is not a pair");
	cr_assert(got[0].kl == 5 && !memcmp(got[0].k, "alpha", 5) && !memcmp(got[0].v, "one", 3));
	cr_assert(got[1].kl == 5 && !memcmp(got[1].k, "zulu!", 5) && !memcmp(got[1].v, "two", 3));
	kvf_span v;
	cr_assert_eq(kvf_backend_get(b, "", 0, "zulu!", 5, &v, &err), KVF_OK);
	cr_assert_eq(kvf_backend_get(b, "", 0, "bucket", 6, &v, &err), KVF_E_NOTFOUND);
	kvf_bucket_stats s;
	cr_assert_eq(kvf_backend_bucket_stats(b, "", 0, &s, &err), KVF_OK);
	cr_assert_eq(s.entries, 2);
	cr_assert_eq(s.key_bytes, 10);
	cr_assert(run_check(b));
	kvf_backend_close(b);
	rm_rf(dir);
	free(dir);
}

static bool count_name(void *ctx, kvf_span name)
{
	names *n = ctx;
	if (n->n < 32) {
		size_t l = name.len < 63 ? name.len : 63;
		memcpy(n->v[n->n], name.p, l);
		n->v[n->n][l] = '\0';
		n->lens[n->n++] = l;
	}
	return true;
}

static uint32_t rnd(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(*seed >> 33);
}

/* Everything a caller can ask, on a file that may be damaged anywhere. */
static bool exercise(kvf_backend *b)
{
	names n = { 0 };
	kvf_err err;
	cr_assert_eq(kvf_backend_buckets(b, count_name, &n, &err), KVF_OK);
	for (size_t i = 0; i < n.n; i++) {
		kvf_cursor *c;
		if (kvf_cursor_open(b, n.v[i], n.lens[i], &c, &err) != KVF_OK)
			continue;
		kvf_pair p;
		bool got;
		uint64_t sum = 0;
		while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got)
			for (size_t j = 0; j < p.key.len; j++)
				sum += p.key.p[j];   /* touch every byte handed out */
		cr_assert_eq(kvf_cursor_seek(c, "\x00\x00\x00\x00\x00\x00\x05", 7, &err), KVF_OK);
		if (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got && p.value.len)
			sum += p.value.p[p.value.len - 1];
		kvf_cursor_close(c);
		kvf_bucket_stats s;
		kvf_backend_bucket_stats(b, n.v[i], n.lens[i], &s, &err);
		kvf_span v;
		kvf_backend_get(b, n.v[i], n.lens[i], "consistent_index", 16, &v, &err);
		(void)sum;
	}
	kvf_page_stats ps;
	kvf_backend_page_stats(b, &ps, &err);
	return run_check(b);
}

Test(lmdb, random_damage_never_crashes_liblmdb_or_us, .timeout = 240)
{
	char *data = join(env_dir, "data.mdb");
	FILE *f = fopen(data, "rb");
	cr_assert(f);
	struct stat st;
	cr_assert_eq(stat(data, &st), 0);
	size_t size = (size_t)st.st_size;
	uint8_t *orig = malloc(size), *buf = malloc(size);
	cr_assert_eq(fread(orig, 1, size, f), size);
	fclose(f);
	char *dir = tmpdir();
	char *out = join(dir, "data.mdb");
	uint64_t seed = 0x9e3779b97f4a7c15u;
#define RND() rnd(&seed)
	const size_t ps = 4096, pages = size / ps;
	size_t runs = 0, opened = 0, with_findings = 0;
	for (int it = 0; it < 120; it++) {
		memcpy(buf, orig, size);
		size_t len = size;
		int kind = (int)(RND() % 5);
		for (int m = 0, n = 1 + (int)(RND() % 6); m < n; m++) {
			size_t pg = 2 + RND() % (pages - 2), at = pg * ps;
			switch (kind) {
			case 0: { /* a bit anywhere in the page */
				size_t o = at + RND() % ps;
				buf[o] ^= (uint8_t)(1u << (RND() % 8));
				break;
			}
			case 1: { /* the page header */
				size_t o = at + RND() % 16;
				buf[o] = (uint8_t)RND();
				break;
			}
			case 2:   /* a whole page */
				memset(buf + at, 0, ps);
				break;
			case 3: { /* a node offset or a node's sizes */
				size_t o = at + 16 + RND() % (ps - 24);
				buf[o] = (uint8_t)RND();
				buf[o + 1] = (uint8_t)RND();
				break;
			}
			case 4:   /* a cut */
				len = 2 * ps + RND() % (size - 2 * ps);
				m = n;
				break;
			}
		}
		FILE *o = fopen(out, "wb");
		cr_assert(o);
		cr_assert_eq(fwrite(buf, 1, len, o), len);
		fclose(o);
		kvf_backend *b;
		kvf_err err;
		runs++;
		if (kvf_lmdb_open(&b, dir, &err) != KVF_OK)
			continue;
		opened++;
		with_findings += !exercise(b);
		kvf_backend_close(b);
	}
#undef RND
	cr_assert_eq(runs, 120);
	cr_assert_gt(opened, 100, "data pages were damaged, the metas were not");
	cr_assert_gt(with_findings, 40, "the damage was noticed (%zu of %zu)", with_findings, opened);
	rm_rf(dir);
	free(dir);
	free(out);
	free(orig);
	free(buf);
	free(data);
}

Test(lmdb, duplicate_key_databases_are_listed_but_not_read)
{
	char *dir = tmpdir();
	MDB_env *env;
	MDB_txn *t;
	MDB_dbi d, plain;
	LMDB_OK(mdb_env_create(&env));
	LMDB_OK(mdb_env_set_maxdbs(env, 4));
	LMDB_OK(mdb_env_open(env, dir, 0, 0644));
	LMDB_OK(mdb_txn_begin(env, NULL, 0, &t));
	LMDB_OK(mdb_dbi_open(t, "dups", MDB_CREATE | MDB_DUPSORT, &d));
	LMDB_OK(mdb_dbi_open(t, "plain", MDB_CREATE, &plain));
	MDB_val k = { 1, "k" }, v1 = { 1, "1" }, v2 = { 1, "2" };
	LMDB_OK(mdb_put(t, d, &k, &v1, 0));
	LMDB_OK(mdb_put(t, d, &k, &v2, 0));
	LMDB_OK(mdb_put(t, plain, &k, &v1, 0));
	LMDB_OK(mdb_txn_commit(t));
	mdb_env_close(env);
	kvf_backend *b = must_open(dir);
	names n = { 0 };
	kvf_err err;
	cr_assert_eq(kvf_backend_buckets(b, collect_name, &n, &err), KVF_OK);
	cr_assert_eq(n.n, 2);
	cr_assert_str_eq(n.v[0], "dups");
	kvf_cursor *c;
	cr_assert_eq(kvf_cursor_open(b, "dups", 4, &c, &err), KVF_E_UNSUPPORTED);
	cr_assert(strstr(err.msg, "DUPSORT"), "%s", err.msg);
	kvf_span v;
	cr_assert_eq(kvf_backend_get(b, "plain", 5, "k", 1, &v, &err), KVF_OK);
	cr_assert(!run_check(b), "check says what it could not read");
	bool named = false;
	for (size_t i = 0; i < n_findings && i < 64; i++)
		named |= strstr(findings[i].msg, "\"dups\"") != NULL;
	cr_assert(named);
	kvf_backend_close(b);
	rm_rf(dir);
	free(dir);
}
