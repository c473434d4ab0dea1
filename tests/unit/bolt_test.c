#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "db/backend.h"
#include "boltgen.h"
#include "io/bytes.h"
#include "encoding/proto/mvccpb.pb-c.h"

static char *fixture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fixture(const char *fmt, ...)
{
	const char *dir = getenv("KVF_FIXTURES");
	cr_assert(dir, "KVF_FIXTURES not set (run through meson test)");
	char rel[512], *p;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	cr_assert(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

static kvf_backend *open_db(const char *path)
{
	kvf_backend *b;
	kvf_err err;
	kvf_err_clear(&err);
	cr_assert_eq(kvf_backend_open(&b, path, &err), KVF_OK, "%s: %s", path, err.msg);
	cr_assert_eq(kvf_backend_get_info(b)->format, KVF_FORMAT_BBOLT);
	return b;
}

/* ---- collecting findings ---- */

typedef struct found {
	size_t n;
	kvf_db_finding f[64];
} found;

static void collect(void *ctx, const kvf_db_finding *f)
{
	found *s = ctx;
	if (s->n < 64)
		s->f[s->n] = *f;
	s->n++;
}

static found *run_check(kvf_backend *b)
{
	found *s = calloc(1, sizeof(*s));
	bool clean = false;
	kvf_err err;
	cr_assert_eq(kvf_backend_check(b, collect, s, NULL, NULL, &clean, &err), KVF_OK);
	cr_assert_eq(clean, s->n == 0, "clean iff no findings");
	return s;
}

/* The finding at page pgid whose message contains what; NULL if none. */
static const kvf_db_finding *find_in(const kvf_db_finding *f, size_t n, uint64_t pgid, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].pgid == pgid && strstr(f[i].msg, what))
			return &f[i];
	return NULL;
}

static const kvf_db_finding *check_finding(const found *s, uint64_t pgid, const char *what)
{
	return find_in(s->f, s->n < 64 ? s->n : 64, pgid, what);
}

static const kvf_db_finding *backend_finding(kvf_backend *b, uint64_t pgid, const char *what)
{
	const kvf_db_finding *list;
	size_t n = kvf_backend_findings(b, &list);
	return find_in(list, n, pgid, what);
}

static void dump_findings(const char *what, const kvf_db_finding *f, size_t n)
{
	for (size_t i = 0; i < n && i < 10; i++)
		cr_log_info("%s: page %llu offset %llu: %s", what, (unsigned long long)f[i].pgid,
		            (unsigned long long)f[i].offset, f[i].msg);
}

/* ---- walking bucket `key` ---- */

typedef struct key_walk {
	uint64_t pairs, tombstones, max_main;
	bool increasing, shapes_ok, offsets_ok;
} key_walk;

/* Iterate bucket `key`: revision keys (17 bytes, 18 with the tombstone
 * mark `t`) strictly increasing, and every span's file_offset naming the
 * same bytes in the file (file is the file's content, read separately). */
static key_walk walk_key_bucket(kvf_backend *b, const boltfile *file)
{
	key_walk w = { 0, 0, 0, true, true, true };
	kvf_cursor *c;
	kvf_err err;
	cr_assert_eq(kvf_cursor_open(b, "key", 3, &c, &err), KVF_OK, "%s", err.msg);
	kvf_pair p;
	bool got;
	kvf_span prev = { NULL, 0, 0 };
	while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got) {
		w.pairs++;
		if (p.key.len != 17 && p.key.len != 18)
			w.shapes_ok = false;
		else if (p.key.p[8] != '_' || (p.key.len == 18 && p.key.p[17] != 't'))
			w.shapes_ok = false;
		w.tombstones += p.key.len == 18;
		if (p.key.len >= 8 && kvf_be64(p.key.p) > w.max_main)
			w.max_main = kvf_be64(p.key.p);
		if (prev.p) {
			size_t n = prev.len < p.key.len ? prev.len : p.key.len;
			int cmp = memcmp(prev.p, p.key.p, n);
			if (cmp > 0 || (cmp == 0 && prev.len >= p.key.len))
				w.increasing = false;
		}
		prev = p.key;
		if (file && (p.key.file_offset + p.key.len > file->len ||
		             p.value.file_offset + p.value.len > file->len ||
		             memcmp(file->p + p.key.file_offset, p.key.p, p.key.len) ||
		             memcmp(file->p + p.value.file_offset, p.value.p, p.value.len)))
			w.offsets_ok = false;
		if (p.is_bucket)
			w.shapes_ok = false;
	}
	kvf_cursor_close(c);
	return w;
}

static uint64_t key_pairs(kvf_backend *b)
{
	return walk_key_bucket(b, NULL).pairs;
}

/* ---- real databases written by etcd ---- */

typedef struct names {
	size_t n;
	char name[32][32];
	bool ordered;
} names;

static bool add_name(void *ctx, kvf_span name)
{
	names *s = ctx;
	cr_assert_lt(name.len, 32);
	cr_assert_lt(s->n, 32);
	if (s->n) {
		char cur[32] = { 0 };
		memcpy(cur, name.p, name.len);
		if (strcmp(s->name[s->n - 1], cur) >= 0)
			s->ordered = false;
	}
	memcpy(s->name[s->n], name.p, name.len);
	s->name[s->n][name.len] = 0;
	s->n++;
	return true;
}

static uint64_t get_be64(kvf_backend *b, const char *bucket, const char *key)
{
	kvf_span v;
	kvf_err err;
	cr_assert_eq(kvf_backend_get(b, bucket, strlen(bucket), key, strlen(key), &v, &err), KVF_OK,
	             "%s/%s: %s", bucket, key, err.msg);
	cr_assert_eq(v.len, 8, "%s/%s is 8 bytes", bucket, key);
	return kvf_be64(v.p);
}

static void member_matches_etcd(const char *scenario, int node)
{
	char *path = fixture("%s/node%d/member/snap/db", scenario, node);
	char *truth = fixture("%s/truth/node%d.refdb.json", scenario, node);
	json_error_t jerr;
	json_t *ref = json_load_file(truth, 0, &jerr);
	cr_assert(ref, "%s: %s", truth, jerr.text);
	kvf_backend *b = open_db(path);

	found *s = run_check(b);
	dump_findings(path, s->f, s->n);
	cr_assert_eq(s->n, 0, "%s: check is clean", path);

	/* every bucket etcd counted, in key order, with etcd's entry count */
	names ns = { .ordered = true };
	kvf_err err;
	cr_assert_eq(kvf_backend_buckets(b, add_name, &ns, &err), KVF_OK);
	cr_assert(ns.ordered, "buckets listed in key order");
	json_t *buckets = json_object_get(ref, "buckets");
	cr_assert_eq(ns.n, json_object_size(buckets), "%s: bucket count", path);
	for (size_t i = 0; i < ns.n; i++) {
		json_t *want = json_object_get(buckets, ns.name[i]);
		cr_assert(want, "%s: bucket %s known to etcd", path, ns.name[i]);
		kvf_bucket_stats st;
		cr_assert_eq(kvf_backend_bucket_stats(b, ns.name[i], strlen(ns.name[i]), &st, &err), KVF_OK);
		cr_assert_eq(st.entries, (uint64_t)json_integer_value(want), "%s: bucket %s entries",
		             path, ns.name[i]);
	}

	boltfile file = bg_load(path);
	key_walk w = walk_key_bucket(b, &file);
	cr_assert_eq(w.pairs, (uint64_t)json_integer_value(json_object_get(ref, "revisions")));
	cr_assert_eq(w.tombstones, (uint64_t)json_integer_value(json_object_get(ref, "tombstones")));
	cr_assert_eq(w.max_main, (uint64_t)json_integer_value(json_object_get(ref, "max_main_revision")));
	cr_assert(w.increasing, "%s: revision keys strictly increasing", path);
	cr_assert(w.shapes_ok, "%s: 17/18-byte revision keys", path);
	cr_assert(w.offsets_ok, "%s: file_offset names the bytes of every key and value", path);

	cr_assert_eq(get_be64(b, "meta", "consistent_index"),
	             (uint64_t)json_integer_value(json_object_get(ref, "consistent_index")));
	cr_assert_eq(get_be64(b, "auth", "authRevision"),
	             (uint64_t)json_integer_value(json_object_get(ref, "auth_revision")));

	const kvf_db_finding *list;
	cr_assert_eq(kvf_backend_findings(b, &list), 0, "%s: reading found no damage", path);
	kvf_backend_close(b);
	free(file.p);
	free(s);
	json_decref(ref);
}

Test(bolt, healthy_members_match_what_etcd_read, .timeout = 60)
{
	for (int n = 1; n <= 3; n++)
		member_matches_etcd("healthy", n);
}

Test(bolt, incident_members_match_what_etcd_read, .timeout = 60)
{
	for (int n = 1; n <= 3; n++)
		member_matches_etcd("incident-authskew", n);
}

Test(bolt, stale_members_match_what_etcd_read, .timeout = 60)
{
	for (int n = 1; n <= 3; n++)
		member_matches_etcd("stale-member", n);
}

Test(bolt, multiseg_member_matches_what_etcd_read, .timeout = 120)
{
	member_matches_etcd("multiseg", 1);
}

Test(bolt, info_comes_from_the_newer_meta)
{
	char *path = fixture("healthy/node1/member/snap/db");
	boltfile f = bg_load(path);
	kvf_backend *b = open_db(path);
	const kvf_backend_info *i = kvf_backend_get_info(b);
	int use = bg_meta_in_use(&f);
	cr_assert_eq(i->meta_in_use, use);
	cr_assert_not(i->meta_fallback);
	cr_assert_eq(i->txid, bg_txid(&f, use));
	cr_assert_eq(i->page_size, 4096);
	cr_assert_eq(i->file_size, f.len);
	cr_assert_eq(i->root_pgid, bg_root(&f));
	cr_assert_eq(i->high_water, bg_get64(bg_meta(&f, use) + 40));
	cr_assert_eq(i->freelist_pgid, UINT64_MAX, "etcd writes no freelist (NoFreelistSync)");
	kvf_backend_close(b);
	free(f.p);
}

Test(bolt, seek_finds_the_first_key_not_below, .timeout = 60)
{
	/* multiseg's bucket `key` is a tree of several levels: seek goes through
	 * branch pages */
	char *path = fixture("multiseg/node1/member/snap/db");
	kvf_backend *b = open_db(path);
	kvf_bucket_stats st;
	kvf_err err;
	cr_assert_eq(kvf_backend_bucket_stats(b, "key", 3, &st, &err), KVF_OK);
	cr_assert_geq(st.depth, 2, "a tree with branch pages");
	cr_assert_gt(st.branch_pages, 0);
	cr_assert_not(st.is_inline);

	kvf_cursor *c;
	cr_assert_eq(kvf_cursor_open(b, "key", 3, &c, &err), KVF_OK);
	kvf_pair p;
	bool got;
	uint8_t want[18], next[18];
	size_t want_len = 0, next_len = 0;
	for (uint64_t i = 0; i <= 50001 && kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got; i++) {
		if (i == 50000) {
			memcpy(want, p.key.p, p.key.len);
			want_len = p.key.len;
		} else if (i == 50001) {
			memcpy(next, p.key.p, p.key.len);
			next_len = p.key.len;
		}
	}
	cr_assert(want_len && next_len);

	cr_assert_eq(kvf_cursor_seek(c, want, want_len, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got && p.key.len == want_len && memcmp(p.key.p, want, want_len) == 0, "exact key");

	uint8_t after[19];
	memcpy(after, want, want_len);
	after[want_len] = 0;   /* just above want, below next */
	cr_assert_eq(kvf_cursor_seek(c, after, want_len + 1, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got && p.key.len == next_len && memcmp(p.key.p, next, next_len) == 0, "next key");

	uint8_t past[18];
	memset(past, 0xff, sizeof(past));
	cr_assert_eq(kvf_cursor_seek(c, past, sizeof(past), &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert_not(got, "nothing after the last key");

	cr_assert_eq(kvf_cursor_seek(c, "", 0, &err), KVF_OK);
	uint64_t n = 0;
	while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got)
		n++;
	cr_assert_eq(n, st.entries, "seek to the empty key rewinds");
	/* found by fuzz_bolt: the empty key as (NULL, 0) reached memcmp(NULL, ..)
	 * in the branch search (undefined; UBSan aborts); it rewinds the same */
	cr_assert_eq(kvf_cursor_seek(c, NULL, 0, &err), KVF_OK);
	cr_assert_eq(kvf_cursor_next(c, &p, &got, &err), KVF_OK);
	cr_assert(got, "seek to (NULL, 0) rewinds to the first key");

	kvf_span v;
	cr_assert_eq(kvf_backend_get(b, "key", 3, want, want_len, &v, &err), KVF_OK);
	cr_assert_eq(kvf_backend_get(b, "key", 3, after, want_len + 1, &v, &err), KVF_E_NOTFOUND);
	cr_assert_eq(kvf_backend_get(b, "nosuchbucket", 12, want, want_len, &v, &err), KVF_E_NOTFOUND);
	kvf_cursor *none;
	cr_assert_eq(kvf_cursor_open(b, "nosuchbucket", 12, &none, &err), KVF_E_NOTFOUND);
	kvf_cursor_close(c);
	kvf_backend_close(b);
}

Test(bolt, page_stats_account_for_every_page, .timeout = 60)
{
	char *path = fixture("multiseg/node1/member/snap/db");
	kvf_backend *b = open_db(path);
	const kvf_backend_info *i = kvf_backend_get_info(b);
	kvf_page_stats ps;
	kvf_err err;
	cr_assert_eq(kvf_backend_page_stats(b, &ps, &err), KVF_OK);
	cr_assert_eq(ps.total_pages, i->file_size / i->page_size);
	cr_assert_eq(ps.high_water, i->high_water);
	cr_assert_eq(ps.meta, 2);
	cr_assert_eq(ps.freelist, 0);
	cr_assert_eq(ps.free_listed, 0);
	cr_assert_eq(ps.meta + ps.branch + ps.leaf + ps.overflow + ps.unreachable, ps.high_water,
	             "below high water every page is reachable or (NoFreelistSync) free");
	kvf_bucket_stats st;
	cr_assert_eq(kvf_backend_bucket_stats(b, "key", 3, &st, &err), KVF_OK);
	cr_assert_leq(st.branch_pages, ps.branch);
	cr_assert_leq(st.leaf_pages, ps.leaf);
	cr_assert_gt(ps.used_bytes, 0);
	cr_assert_leq(ps.used_bytes, ps.capacity_bytes);
	cr_assert_eq(ps.capacity_bytes, (ps.branch + ps.leaf + ps.overflow) * i->page_size);
	kvf_backend_close(b);
}

typedef struct progress_seen {
	uint64_t calls, last_done, total;
	bool monotonic;
} progress_seen;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	progress_seen *p = ctx;
	if (done < p->last_done || done > total)
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->total = total;
}

Test(bolt, check_reports_progress_up_to_the_high_water, .timeout = 60)
{
	kvf_backend *b = open_db(fixture("multiseg/node1/member/snap/db"));
	progress_seen p = { 0, 0, 0, true };
	found *s = calloc(1, sizeof(*s));
	bool clean;
	kvf_err err;
	cr_assert_eq(kvf_backend_check(b, collect, s, on_progress, &p, &clean, &err), KVF_OK);
	cr_assert(clean);
	cr_assert_gt(p.calls, 2, "told more than once on a file of %llu pages",
	             (unsigned long long)kvf_backend_get_info(b)->high_water);
	cr_assert(p.monotonic);
	cr_assert_eq(p.total, kvf_backend_get_info(b)->high_water);
	cr_assert_eq(p.last_done, p.total, "the last call says done");
	kvf_backend_close(b);
	free(s);
}

/* ---- peer data ---- */

Test(bolt, corrupted_backup_has_etcds_two_findings)
{
	kvf_backend *b = open_db(fixture("peer-etcd/corrupted_backup.db"));
	found *s = run_check(b);
	dump_findings("corrupted_backup", s->f, s->n);
	cr_assert_eq(s->n, 2);
	cr_assert_str_eq(s->f[0].msg, "page 3: already freed");
	cr_assert_eq(s->f[0].pgid, 3);
	cr_assert_str_eq(s->f[1].msg, "page 4: unreachable unfreed");
	cr_assert_eq(s->f[1].pgid, 4);
	cr_assert_eq(s->f[1].offset, 4 * 4096);
	/* the duplicate is the freelist's second entry: page 3, header + 8 bytes */
	cr_assert_eq(s->f[0].offset, 3 * 4096 + 16 + 8);
	kvf_backend_close(b);
	free(s);
}

/* keys.txt: one user key per line. */
static size_t read_lines(const char *path, char lines[][128], size_t max)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s", path);
	size_t n = 0;
	while (n < max && fgets(lines[n], 128, f)) {
		lines[n][strcspn(lines[n], "\n")] = 0;
		if (lines[n][0])
			n++;
	}
	fclose(f);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(bolt, reads_augers_db_despite_its_bad_freelist_pointer)
{
	kvf_backend *b = open_db(fixture("peer-auger/boltdb/db"));
	char want[16][128], got_keys[16][128];
	size_t nwant = read_lines(fixture("peer-auger/boltdb/keys.txt"), want, 16), ngot = 0;
	cr_assert_gt(nwant, 0);

	kvf_cursor *c;
	kvf_err err;
	cr_assert_eq(kvf_cursor_open(b, "key", 3, &c, &err), KVF_OK, "%s", err.msg);
	kvf_pair p;
	bool got;
	while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got) {
		Mvccpb__KeyValue *kv = mvccpb__key_value__unpack(NULL, p.value.len, p.value.p);
		cr_assert(kv, "value %zu is an mvccpb.KeyValue", ngot);
		cr_assert_lt(ngot, 16);
		cr_assert_lt(kv->key.len, 128);
		memcpy(got_keys[ngot], kv->key.data, kv->key.len);
		got_keys[ngot++][kv->key.len] = 0;
		mvccpb__key_value__free_unpacked(kv, NULL);
	}
	kvf_cursor_close(c);
	/* keys.txt lists each user key once; key holds revisions: compare as sets */
	qsort(want, nwant, sizeof(want[0]), cmp_str);
	qsort(got_keys, ngot, sizeof(got_keys[0]), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < ngot; i++)
		if (i == 0 || strcmp(got_keys[i], got_keys[i - 1]))
			memmove(got_keys[u++], got_keys[i], sizeof(got_keys[0]));
	cr_assert_eq(u, nwant);
	for (size_t i = 0; i < u; i++)
		cr_assert_str_eq(got_keys[i], want[i]);

	found *s = run_check(b);
	dump_findings("auger", s->f, s->n);
	cr_assert_gt(s->n, 0, "not clean");
	const kvf_db_finding *f = check_finding(s, 2, "invalid freelist page: 2, page type is leaf");
	cr_assert(f);
	cr_assert_eq(f->offset, 2 * 4096 + 8, "the page's flags field");
	kvf_backend_close(b);
	free(s);
}

static bool visit_bucket(void *ctx, kvf_span name);

/* ---- planted damage, in copies of healthy/node1's db ---- */

/* healthy/node1: bucket `key` is a branch page over leaf pages. */
typedef struct victim {
	boltfile f;
	char *dir;
	uint64_t branch;           /* key's root page, a branch */
	uint64_t total;            /* pairs in key */
} victim;

static victim victim_load(void)
{
	victim v;
	v.f = bg_load(fixture("healthy/node1/member/snap/db"));
	cr_assert(v.f.p);
	v.dir = bg_tmpdir();
	cr_assert(v.dir);
	v.branch = bg_bucket_root(&v.f, "key");
	cr_assert_eq(bg_flags(&v.f, v.branch), 0x01, "key's root is a branch page");
	cr_assert_geq(bg_count(&v.f, v.branch), 3);
	for (unsigned i = 0; i < bg_count(&v.f, v.branch); i++)
		cr_assert_eq(bg_flags(&v.f, bg_child(&v.f, v.branch, i)), 0x02, "children are leaves");
	json_error_t jerr;
	json_t *ref = json_load_file(fixture("healthy/truth/node1.refdb.json"), 0, &jerr);
	cr_assert(ref, "%s", jerr.text);
	v.total = (uint64_t)json_integer_value(json_object_get(ref, "revisions"));
	cr_assert_gt(v.total, 0);
	json_decref(ref);
	return v;
}

/* Remove the copies and the temporary directory. */
static void victim_done(victim *v)
{
	static const char *const made[] = { "db", "db.gz" };
	for (size_t i = 0; i < 2; i++) {
		char *p;
		cr_assert(asprintf(&p, "%s/%s", v->dir, made[i]) > 0);
		unlink(p);
		free(p);
	}
	rmdir(v->dir);
	free(v->dir);
	free(v->f.p);
}

static kvf_backend *victim_open(victim *v, size_t len)
{
	char *path = bg_write(v->dir, "db", &v->f, len ? len : v->f.len);
	kvf_backend *b = open_db(path);
	free(path);
	return b;
}

Test(bolt, zeroed_page_is_skipped_and_reported, .timeout = 10)
{
	victim v = victim_load();
	uint64_t leaf = bg_child(&v.f, v.branch, 0);
	uint16_t lost = bg_count(&v.f, leaf);
	memset(bg_page(&v.f, leaf), 0, v.f.ps);
	kvf_backend *b = victim_open(&v, 0);

	cr_assert_eq(key_pairs(b), v.total - lost, "everything but the zeroed leaf");
	const kvf_db_finding *f = backend_finding(b, leaf, "invalid type: unknown<00>");
	cr_assert(f, "reading reports the zeroed page");
	cr_assert_eq(f->offset, leaf * v.f.ps);

	found *s = run_check(b);
	f = check_finding(s, leaf, "invalid type: unknown<00>");
	cr_assert(f);
	cr_assert_eq(f->offset, leaf * v.f.ps);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, truncated_file_is_reported_where_it_ends, .timeout = 10)
{
	victim v = victim_load();
	uint64_t hw = bg_get64(bg_meta(&v.f, bg_meta_in_use(&v.f)) + 40);
	cr_assert_eq(v.f.len, hw * v.f.ps);
	/* healthy/node1's last page is a free one: cut into it */
	size_t cut = (size_t)((hw - 1) * v.f.ps + 100);
	kvf_backend *b = victim_open(&v, cut);
	cr_assert_eq(key_pairs(b), v.total, "no reachable page was lost");
	const kvf_db_finding *f = backend_finding(b, hw - 1, "past end of file");
	cr_assert(f, "open reports the missing tail");
	cr_assert_eq(f->offset, (hw - 1) * v.f.ps);
	found *s = run_check(b);
	f = check_finding(s, hw - 1, "past end of file");
	cr_assert(f);
	cr_assert_eq(f->offset, (hw - 1) * v.f.ps);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, file_cut_before_the_root_page_reads_empty, .timeout = 10)
{
	victim v = victim_load();
	uint64_t root = bg_root(&v.f);
	kvf_backend *b = victim_open(&v, (size_t)(root * v.f.ps + 7));
	names ns = { .ordered = true };
	kvf_err err;
	cr_assert_eq(kvf_backend_buckets(b, add_name, &ns, &err), KVF_OK);
	cr_assert_eq(ns.n, 0);
	/* the open reports where the file ends (page root, by construction) and
	 * the walk the reference to the root page, where the meta stores it */
	uint64_t root_field = (uint64_t)bg_meta_in_use(&v.f) * v.f.ps + 16 + 16;
	const kvf_db_finding *f = backend_finding(b, root, "past end of file: the file holds");
	cr_assert(f);
	cr_assert_eq(f->offset, root_field, "where the meta names the root page");
	found *s = run_check(b);
	f = check_finding(s, root, "past end of file: the file holds");
	cr_assert(f);
	cr_assert_eq(f->offset, root_field);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, bad_meta_checksum_falls_back_to_the_other_meta, .timeout = 10)
{
	victim v = victim_load();
	int use = bg_meta_in_use(&v.f), other = 1 - use;
	uint8_t *txid = bg_meta(&v.f, use) + 48;
	bg_put64(txid, bg_get64(txid) + 1);   /* still the newer one, but its checksum fails */
	kvf_backend *b = victim_open(&v, 0);
	const kvf_backend_info *i = kvf_backend_get_info(b);
	cr_assert_eq(i->meta_in_use, other);
	cr_assert(i->meta_fallback);
	cr_assert_eq(i->txid, bg_txid(&v.f, other));
	uint64_t sum_off = (uint64_t)use * v.f.ps + 16 + 56;
	const kvf_db_finding *f = backend_finding(b, (uint64_t)use, "checksum mismatch");
	cr_assert(f);
	cr_assert_eq(f->offset, sum_off);
	cr_assert_eq(key_pairs(b), v.total, "the older meta names the same tree here");
	found *s = run_check(b);
	f = check_finding(s, (uint64_t)use, "checksum mismatch");
	cr_assert(f);
	cr_assert_eq(f->offset, sum_off);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, page_size_is_found_from_page_one_when_page_zero_is_gone, .timeout = 10)
{
	victim v = victim_load();
	memset(bg_page(&v.f, 0), 0, v.f.ps);
	kvf_backend *b = victim_open(&v, 0);
	const kvf_backend_info *i = kvf_backend_get_info(b);
	cr_assert_eq(i->page_size, 4096);
	cr_assert_eq(i->meta_in_use, 1);
	const kvf_db_finding *f = backend_finding(b, 0, "invalid magic");
	cr_assert(f);
	cr_assert_eq(f->offset, 16);
	cr_assert_eq(key_pairs(b), v.total);
	found *s = run_check(b);
	f = check_finding(s, 0, "invalid magic");
	cr_assert(f);
	cr_assert_eq(f->offset, 16);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, page_referenced_twice_is_read_once, .timeout = 10)
{
	victim v = victim_load();
	uint64_t first = bg_child(&v.f, v.branch, 0), second = bg_child(&v.f, v.branch, 1);
	uint16_t lost = bg_count(&v.f, second);
	uint64_t ref = bg_elem_off(&v.f, v.branch, 1) + 8;
	bg_put64(v.f.p + ref, first);
	kvf_backend *b = victim_open(&v, 0);
	key_walk w = walk_key_bucket(b, NULL);
	cr_assert_eq(w.pairs, v.total - lost);
	cr_assert(w.increasing, "the second reference is not followed");
	const kvf_db_finding *f = backend_finding(b, first, "multiple references");
	cr_assert(f);
	cr_assert_eq(f->offset, ref, "where the second reference is stored");
	found *s = run_check(b);
	f = check_finding(s, first, "multiple references");
	cr_assert(f);
	cr_assert_eq(f->offset, ref);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, branch_cycle_is_cut, .timeout = 10)
{
	victim v = victim_load();
	uint64_t lost_leaf = bg_child(&v.f, v.branch, 2);
	uint16_t lost = bg_count(&v.f, lost_leaf);
	uint64_t ref = bg_elem_off(&v.f, v.branch, 2) + 8;
	bg_put64(v.f.p + ref, v.branch);   /* the branch names itself as a child */
	kvf_backend *b = victim_open(&v, 0);
	cr_assert_eq(key_pairs(b), v.total - lost);
	const kvf_db_finding *f = backend_finding(b, v.branch, "cycle");
	cr_assert(f);
	cr_assert_eq(f->offset, ref);
	found *s = run_check(b);
	f = check_finding(s, v.branch, "cycle");
	cr_assert(f);
	cr_assert_eq(f->offset, ref);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, keys_out_of_order_are_reported, .timeout = 10)
{
	victim v = victim_load();
	uint64_t leaf = bg_child(&v.f, v.branch, 1);
	cr_assert_geq(bg_count(&v.f, leaf), 4);
	cr_assert_eq(bg_leaf_ksize(&v.f, leaf, 1), bg_leaf_ksize(&v.f, leaf, 3));
	uint64_t k1 = bg_leaf_key_off(&v.f, leaf, 1), k3 = bg_leaf_key_off(&v.f, leaf, 3);
	memcpy(v.f.p + k3, v.f.p + k1, bg_leaf_ksize(&v.f, leaf, 1));   /* key[3] := key[1] < key[2] */
	kvf_backend *b = victim_open(&v, 0);
	key_walk w = walk_key_bucket(b, NULL);
	cr_assert_eq(w.pairs, v.total, "out-of-order pairs are still shown");
	cr_assert_not(w.increasing);
	const kvf_db_finding *f = backend_finding(b, leaf, "out of order");
	cr_assert(f);
	cr_assert_eq(f->offset, k3);
	found *s = run_check(b);
	f = check_finding(s, leaf, "key[3]");
	cr_assert(f);
	cr_assert(strstr(f->msg, "needs to be > (found <)"), "%s", f->msg);
	cr_assert_eq(f->offset, k3);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, element_pointing_past_its_page_is_skipped, .timeout = 10)
{
	victim v = victim_load();
	uint64_t leaf = bg_child(&v.f, v.branch, 0);
	cr_assert_geq(bg_count(&v.f, leaf), 6);
	uint64_t elem = bg_elem_off(&v.f, leaf, 5);
	bg_put32(v.f.p + elem + 4, 0x7fff0000);   /* pos */
	kvf_backend *b = victim_open(&v, 0);
	key_walk w = walk_key_bucket(b, NULL);
	cr_assert_eq(w.pairs, v.total - 1, "only the bad element is lost");
	cr_assert(w.increasing);
	const kvf_db_finding *f = backend_finding(b, leaf, "element 5");
	cr_assert(f);
	cr_assert_eq(f->offset, elem);
	found *s = run_check(b);
	f = check_finding(s, leaf, "element 5");
	cr_assert(f);
	cr_assert_eq(f->offset, elem);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

Test(bolt, reference_beyond_high_water_is_reported, .timeout = 10)
{
	victim v = victim_load();
	uint64_t hw = bg_get64(bg_meta(&v.f, bg_meta_in_use(&v.f)) + 40);
	uint64_t lost_leaf = bg_child(&v.f, v.branch, 0);
	uint64_t ref = bg_elem_off(&v.f, v.branch, 0) + 8;
	bg_put64(v.f.p + ref, hw + 1000000);
	kvf_backend *b = victim_open(&v, 0);
	cr_assert_eq(key_pairs(b), v.total - bg_count(&v.f, lost_leaf));
	found *s = run_check(b);
	const kvf_db_finding *f = check_finding(s, hw + 1000000, "out of bounds: high water");
	cr_assert(f);
	cr_assert_eq(f->offset, ref);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

/* Whatever bytes a damaged file holds, reading and checking it ends. Fixed
 * seed: the same 300 damaged files every run. */
Test(bolt, random_damage_never_crashes_or_hangs, .timeout = 120)
{
	victim v = victim_load();
	uint8_t *orig = malloc(v.f.len);
	memcpy(orig, v.f.p, v.f.len);
	srandom(20240611);
	size_t opened = 0, damaged = 0;
	for (int round = 0; round < 300; round++) {
		memcpy(v.f.p, orig, v.f.len);
		int flips = 1 + (int)(random() % 8);
		for (int k = 0; k < flips; k++) {
			/* mostly page headers and element arrays, where damage matters */
			uint64_t pg = (uint64_t)random() % (v.f.len / v.f.ps);
			uint64_t r = (uint64_t)random();
			uint64_t at = pg * v.f.ps + (r % 4 ? r / 4 % 160 : r / 4 % v.f.ps);
			v.f.p[at] = (uint8_t)random();
		}
		size_t len = round % 10 == 9 ? (size_t)random() % v.f.len : v.f.len;
		kvf_backend *b;
		kvf_err err;
		char *path = bg_write(v.dir, "db", &v.f, len);
		kvf_status st = kvf_backend_open(&b, path, &err);
		free(path);
		if (st != KVF_OK)
			continue;
		opened++;
		cr_assert_eq(kvf_backend_buckets(b, visit_bucket, b, &err), KVF_OK);
		found *s = run_check(b);
		damaged += s->n > 0;
		free(s);
		kvf_page_stats ps;
		cr_assert_eq(kvf_backend_page_stats(b, &ps, &err), KVF_OK);
		kvf_backend_close(b);
	}
	cr_assert_gt(opened, 200, "most damaged files still open");
	cr_assert_gt(damaged, 100, "and most of them are found damaged");
	free(orig);
	victim_done(&v);
}

Test(bolt, reads_a_gzipped_db)
{
	victim v = victim_load();
	char *path;
	cr_assert(asprintf(&path, "%s/db.gz", v.dir) > 0);
	gzFile gz = gzopen(path, "wb");
	cr_assert(gz);
	cr_assert_eq(gzwrite(gz, v.f.p, (unsigned)v.f.len), (int)v.f.len);
	gzclose(gz);
	kvf_backend *b = open_db(path);
	key_walk w = walk_key_bucket(b, &v.f);
	cr_assert_eq(w.pairs, v.total);
	cr_assert(w.offsets_ok, "offsets are in the inflated content");
	found *s = run_check(b);
	cr_assert_eq(s->n, 0);
	kvf_backend_close(b);
	free(s);
	victim_done(&v);
}

/* ---- read-only ---- */

static bool visit_bucket(void *ctx, kvf_span name)
{
	kvf_backend *b = ctx;
	kvf_cursor *c;
	kvf_err err;
	cr_assert_eq(kvf_cursor_open(b, name.p, name.len, &c, &err), KVF_OK);
	kvf_pair p;
	bool got;
	while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got)
		;
	kvf_cursor_close(c);
	return true;
}

Test(bolt, reading_changes_nothing_in_the_file)
{
	char *path = fixture("healthy/node2/member/snap/db");
	boltfile before = bg_load(path);
	struct stat st0, st1;
	cr_assert_eq(stat(path, &st0), 0);
	kvf_backend *b = open_db(path);
	kvf_err err;
	cr_assert_eq(kvf_backend_buckets(b, visit_bucket, b, &err), KVF_OK);
	found *s = run_check(b);
	cr_assert_eq(s->n, 0);
	kvf_page_stats ps;
	cr_assert_eq(kvf_backend_page_stats(b, &ps, &err), KVF_OK);
	kvf_backend_close(b);
	cr_assert_eq(stat(path, &st1), 0);
	boltfile after = bg_load(path);
	cr_assert_eq(after.len, before.len);
	cr_assert_eq(memcmp(after.p, before.p, before.len), 0, "same bytes");
	cr_assert_eq(st1.st_mtim.tv_sec, st0.st_mtim.tv_sec);
	cr_assert_eq(st1.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);
	cr_assert_eq(st1.st_ctim.tv_sec, st0.st_ctim.tv_sec);
	cr_assert_eq(st1.st_ctim.tv_nsec, st0.st_ctim.tv_nsec);
	cr_assert_eq(st1.st_mode, st0.st_mode);
}
