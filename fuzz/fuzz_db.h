/* A backend db file (bbolt or LMDB, told apart by magic as dump-db does)
 * put through everything dump-db does with one: status (the key index and
 * the etcd schema), every bucket listed with its stats, walked with a
 * cursor and each pair decoded and rendered by the bucket's schema, seeks,
 * gets, the structural check, page statistics, live keys and HashKV.
 *
 * Two depths (fuzz_db's render): the fast harnesses (fuzz_bolt, fuzz_lmdb:
 * what CI runs for a minute each) decode only, parsing each `key` pair as
 * the renderers would and rendering nothing but the small non-key buckets
 * once, and leave out the seeks, gets and the second key index (more walks
 * of the same pages); the *_render harnesses do all of it and render every
 * pair, the status, the findings and the live keys in text and JSON, as
 * the slower coverage of the renderers (several times slower: the
 * renderers and jansson dominate). */
#ifndef KVF_FUZZ_DB_H
#define KVF_FUZZ_DB_H

#include "fuzz_common.h"

#include "db/backend.h"
#include "db/etcddb.h"
#include "db/keyindex.h"
#include "render/render_db.h"

/* Bounds so that one input stays quick; the walks themselves are bounded by
 * the file (that is what is being tested), these only bound our own work. */
#define FUZZ_MAX_BUCKETS 64
#define FUZZ_MAX_PAIRS 20000

typedef struct fuzz_buckets {
	kvf_span v[FUZZ_MAX_BUCKETS];
	size_t n;
} fuzz_buckets;

static bool fuzz_add_bucket(void *ctx, kvf_span name)
{
	fuzz_buckets *bs = ctx;
	bs->v[bs->n++] = name;
	return bs->n < FUZZ_MAX_BUCKETS;
}

static void fuzz_on_finding(void *ctx, const kvf_db_finding *f)
{
	(void)ctx, (void)f;
}

static void fuzz_on_finding_render(void *ctx, const kvf_db_finding *f)
{
	kvf_buf *b = ctx;
	kvf_buf_reset(b);
	kvf_text_db_finding(b, f);
	fuzz_dump(kvf_json_db_finding(f));
}

static void fuzz_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx, (void)done, (void)total;
}

static void fuzz_walk_bucket(kvf_backend *b, kvf_span name, kvf_buf *line, kvf_arena *arena,
                             bool render)
{
	kvf_err err;
	kvf_err_clear(&err);
	kvf_bucket_stats bst;
	kvf_backend_bucket_stats(b, name.p, name.len, &bst, &err);
	kvf_cursor *c;
	if (kvf_cursor_open(b, name.p, name.len, &c, &err) != KVF_OK)
		return;
	kvf_bucket_kind kind = kvf_bucket_kind_of(name);
	kvf_render_opts ro[2] = { { .values = true, .color = true }, { .show_secrets = false } };
	kvf_pair p;
	bool got;
	size_t n = 0;
	kvf_span first = { 0 }, last = { 0 };
	while (n < FUZZ_MAX_PAIRS && kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got) {
		if (n == 0)
			first = p.key;
		last = p.key;
		n++;
		if (!render && kind == KVF_BUCKET_KEYS && !p.is_bucket) {
			/* what both renderers decode of a revision */
			kvf_revision rev;
			bool tomb;
			kvf_kv kv;
			if (kvf_revkey_parse(p.key, &rev, &tomb))
				kvf_kv_parse(p.value, &kv);
			continue;
		}
		kvf_arena_reset(arena);
		kvf_buf_reset(line);
		kvf_text_db_pair(line, kind, &p, arena, &ro[n & 1]);
		if (!render)
			continue;
		kvf_arena_reset(arena);
		fuzz_dump(kvf_json_db_pair(kind, &p, arena, &ro[n & 1]));
	}
	if (!render) {
		/* the seeks and gets below go through the same page decoding as
		 * the walk: the fast harness leaves them to the slow one */
		kvf_cursor_close(c);
		return;
	}
	/* seeks: before everything, onto a key that exists, past the end */
	const kvf_span seeks[3] = { { (const uint8_t *)"", 0, 0 }, last, first };
	for (int i = 0; i < 3; i++) {
		if (kvf_cursor_seek(c, seeks[i].p, seeks[i].len, &err) == KVF_OK)
			for (int k = 0; k < 3 && kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got; k++)
				;
	}
	kvf_cursor_close(c);
	kvf_span v;
	if (n)
		kvf_backend_get(b, name.p, name.len, first.p, first.len, &v, &err);
	kvf_backend_get(b, name.p, name.len, "\xff", 1, &v, &err);
}

static void fuzz_keys(kvf_backend *b, kvf_buf *line, kvf_arena *arena, bool render)
{
	kvf_err err;
	kvf_err_clear(&err);
	kvf_keyindex ki;
	if (kvf_keyindex_build(b, &(kvf_keyindex_opts){ 0 }, &ki, &err) != KVF_OK)
		return;
	kvf_db_status st;
	if (kvf_db_status_read(b, &ki, &st, &err) == KVF_OK) {
		if (render) {
			kvf_arena_reset(arena);
			fuzz_dump(kvf_json_db_status(&st, arena));
			kvf_arena_reset(arena);
			kvf_buf_reset(line);
			kvf_text_db_status(line, &st, arena, &(kvf_render_opts){ .color = true });
		}
		kvf_db_status_free(&st);
	}
	const kvf_key_entry **v;
	size_t n;
	if (kvf_keyindex_sorted(&ki, true, &v, &n, &err) == KVF_OK) {
		for (size_t i = 0; render && i < n && i < FUZZ_MAX_PAIRS; i++) {
			fuzz_dump(kvf_json_live_key(v[i], &(kvf_render_opts){ 0 }));
			kvf_buf_reset(line);
			kvf_text_live_key(line, v[i], &(kvf_render_opts){ .values = true });
		}
		free(v);
	}
	kvf_hashkv h;
	if (kvf_hashkv_compute(b, &ki, &h, &err) == KVF_OK && render)
		fuzz_dump(kvf_json_hashkv(&h));
	int64_t mid = ki.compact_rev + (ki.current_rev - ki.compact_rev) / 2;
	kvf_keyindex_free(&ki);
	if (!render)
		return;   /* the second index: for the slow harness */
	/* an older revision, above the compaction, with a prefix: the other
	 * paths of the index */
	if (mid > 0 && kvf_keyindex_build(b, &(kvf_keyindex_opts){ .at_rev = mid,
	                                      .prefix = (const uint8_t *)"/", .prefix_len = 1 },
	                                  &ki, &err) == KVF_OK)
		kvf_keyindex_free(&ki);
}

static int fuzz_db(const uint8_t *data, size_t size, bool render)
{
	kvf_backend *b;
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_backend_open(&b, fuzz_file(data, size), &err) != KVF_OK)
		return 0;
	kvf_buf line = KVF_BUF_INIT;
	kvf_arena arena;
	kvf_arena_init(&arena);
	kvf_backend_get_info(b);
	fuzz_keys(b, &line, &arena, render);
	fuzz_buckets bs = { .n = 0 };
	kvf_backend_buckets(b, fuzz_add_bucket, &bs, &err);
	for (size_t i = 0; i < bs.n; i++)
		fuzz_walk_bucket(b, bs.v[i], &line, &arena, render);
	kvf_span missing;
	kvf_backend_get(b, "no such bucket", 14, "k", 1, &missing, &err);
	kvf_page_stats ps;
	kvf_backend_page_stats(b, &ps, &err);
	bool clean;
	kvf_backend_check(b, render ? fuzz_on_finding_render : fuzz_on_finding, &line, fuzz_progress,
	                  NULL, &clean, &err);
	const kvf_db_finding *f;
	size_t nf = kvf_backend_findings(b, &f);
	for (size_t i = 0; render && i < nf; i++) {
		kvf_buf_reset(&line);
		kvf_text_db_finding(&line, &f[i]);
	}
	kvf_arena_free(&arena);
	kvf_buf_free(&line);
	kvf_backend_close(b);
	return 0;
}

#endif
