#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/proto/mvccpb.pb-c.h"
#include "db/schema.h"

static kvf_span span(const void *p, size_t n)
{
	kvf_span s = { p, n, 1000 };
	return s;
}

Test(schema, revision_keys_parse_and_round_trip)
{
	kvf_revision r = { 174, 3 }, got;
	uint8_t k[18];
	kvf_revkey_make(r, k);
	bool tomb;
	cr_assert(kvf_revkey_parse(span(k, 17), &got, &tomb));
	cr_assert_eq(got.main, 174);
	cr_assert_eq(got.sub, 3);
	cr_assert_not(tomb);
	k[17] = 't';
	cr_assert(kvf_revkey_parse(span(k, 18), &got, &tomb));
	cr_assert(tomb);
	k[17] = 'x';
	cr_assert_not(kvf_revkey_parse(span(k, 18), &got, &tomb), "18th byte must be 't'");
	k[8] = '-';
	cr_assert_not(kvf_revkey_parse(span(k, 17), &got, &tomb), "separator must be '_'");
	cr_assert_not(kvf_revkey_parse(span(k, 16), &got, &tomb));
}

Test(schema, revisions_order_by_main_then_sub)
{
	cr_assert_lt(kvf_rev_cmp((kvf_revision){ 5, 9 }, (kvf_revision){ 6, 0 }), 0);
	cr_assert_lt(kvf_rev_cmp((kvf_revision){ 6, 0 }, (kvf_revision){ 6, 1 }), 0);
	cr_assert_eq(kvf_rev_cmp((kvf_revision){ 6, 1 }, (kvf_revision){ 6, 1 }), 0);
}

Test(schema, keyvalue_in_place_agrees_with_protobuf_c)
{
	Mvccpb__KeyValue kv = MVCCPB__KEY_VALUE__INIT;
	kv.key.data = (uint8_t *)"/registry/pods/default/web-0";
	kv.key.len = 28;
	kv.value.data = (uint8_t *)"{\"kind\":\"Pod\"}";
	kv.value.len = 14;
	kv.create_revision = 23;
	kv.mod_revision = 140;
	kv.version = 3;
	kv.lease = 0x694d77aa9e38260f;
	uint8_t buf[128];
	size_t n = mvccpb__key_value__pack(&kv, buf);
	kvf_kv got;
	cr_assert(kvf_kv_parse(span(buf, n), &got));
	cr_assert_eq(got.key.len, 28);
	cr_assert(memcmp(got.key.p, kv.key.data, 28) == 0);
	cr_assert_eq(got.key.file_offset, 1000 + (uint64_t)(got.key.p - buf), "offsets point into the file");
	cr_assert_eq(got.create_revision, 23);
	cr_assert_eq(got.mod_revision, 140);
	cr_assert_eq(got.version, 3);
	cr_assert_eq(got.lease, 0x694d77aa9e38260f);
	cr_assert_eq(got.value.len, 14);
	cr_assert_not(kvf_kv_parse(span(buf, n - 1), &got), "truncated KeyValue is refused");
}

/* Found by fuzz_bolt: a KeyValue without a key left key.p NULL, and the key
 * index sorted it with memcmp(NULL, ..) (undefined). Absent fields are
 * empty and point into the value. */
Test(schema, keyvalue_without_key_or_value_has_empty_non_null_spans)
{
	Mvccpb__KeyValue kv = MVCCPB__KEY_VALUE__INIT;
	kv.mod_revision = 7;
	uint8_t buf[32];
	size_t n = mvccpb__key_value__pack(&kv, buf);
	kvf_kv got;
	cr_assert(kvf_kv_parse(span(buf, n), &got));
	cr_assert_eq(got.mod_revision, 7);
	cr_assert_eq(got.key.len, 0);
	cr_assert_eq(got.value.len, 0);
	cr_assert_not_null(got.key.p);
	cr_assert_not_null(got.value.p);
	cr_assert(kvf_kv_parse(span(NULL, 0), &got), "the empty message is a KeyValue");
	cr_assert_not_null(got.key.p);
}

/* kvf_kv_parse reads the KeyValue form Go writes straight and anything
 * else the general way: held here to the general way alone on messages of
 * every shape: fields in and out of order, repeated, unknown, of the wrong
 * wire type, with long tags, cut short. */
static uint64_t xs = 88172645463325252ull;
static uint64_t next_rand(void)
{
	xs ^= xs << 13, xs ^= xs >> 7, xs ^= xs << 17;
	return xs;
}

static size_t put_varint(uint8_t *w, uint64_t x, bool long_form)
{
	size_t n = 0;
	while (x >= 0x80 || (long_form && n == 0)) {
		w[n++] = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	w[n++] = (uint8_t)x;
	return n;
}

Test(schema, keyvalue_straight_path_agrees_with_the_general_parse)
{
	uint8_t buf[512];
	size_t straight = 0;
	for (int t = 0; t < 200000; t++) {
		size_t n = 0;
		int fields = (int)(next_rand() % 8);
		bool go_order = t % 2 == 0;
		int num = 0;
		for (int k = 0; k < fields && n < sizeof(buf) - 64; k++) {
			num = go_order ? num + 1 + (int)(next_rand() % 2) : 1 + (int)(next_rand() % 8);
			if (go_order && num > 6)
				break;
			uint64_t r = next_rand();
			bool len_field = num == 1 || num == 5;
			int wire = r % 17 == 0 ? (int)(r >> 8) % 8 : len_field ? KVF_PB_LEN : KVF_PB_VARINT;
			n += put_varint(buf + n, (uint64_t)num << 3 | (uint64_t)wire, r % 23 == 0);
			if (wire == KVF_PB_LEN) {
				size_t len = (r >> 16) % 40;
				if (r % 29 == 0)
					len += 200;   /* past the end */
				n += put_varint(buf + n, len, false);
				for (size_t i = 0; i < len && n < sizeof(buf); i++)
					buf[n++] = (uint8_t)(r >> (i % 7));
			} else {
				uint64_t x = r % 5 == 0 ? r : (r >> 20) % 100000;
				n += put_varint(buf + n, x, false);
			}
		}
		if (n > sizeof(buf))
			n = sizeof(buf);
		if (t % 5 == 0 && n)
			n -= next_rand() % n;   /* cut short */
		if (t % 7 == 0 && n)
			buf[next_rand() % n] ^= (uint8_t)(1u << (next_rand() % 8));
		kvf_span v = { buf, n, 1000 };
		kvf_kv got, want;
		bool ok = kvf_kv_parse(v, &got), ref = kvf_kv_parse_general(v, &want);
		cr_assert_eq(ok, ref, "case %d (%zu bytes): parse %d, general %d", t, n, ok, ref);
		if (!ok)
			continue;
		straight += go_order;
		cr_assert(got.key.p == want.key.p && got.key.len == want.key.len &&
		          got.key.file_offset == want.key.file_offset, "case %d: key", t);
		cr_assert(got.value.p == want.value.p && got.value.len == want.value.len &&
		          got.value.file_offset == want.value.file_offset, "case %d: value", t);
		cr_assert(got.create_revision == want.create_revision && got.mod_revision == want.mod_revision &&
		          got.version == want.version && got.lease == want.lease, "case %d: numbers", t);
	}
	cr_assert_gt(straight, 10000, "the cases in Go's order parsed: %zu", straight);
}

/* ---- HashKV: the pass that hashes while indexing gives the same hash ---- */

#include <glob.h>
#include <stdlib.h>

#include "db/backend.h"
#include "db/keyindex.h"

static kvf_hashkv hashkv_at(kvf_backend *b, int64_t rev, bool hash_newer)
{
	kvf_keyindex_opts o = { .at_rev = rev, .hash_newer = hash_newer };
	kvf_keyindex ki;
	kvf_err err;
	cr_assert_eq(kvf_keyindex_build(b, &o, &ki, &err), KVF_OK, "%s", err.msg);
	kvf_hashkv h;
	cr_assert_eq(kvf_hashkv_compute(b, &ki, &h, &err), KVF_OK, "%s", err.msg);
	kvf_keyindex_free(&ki);
	return h;
}

/* Every member db of the fixtures meson unpacked. */
static void glob_fixture_dbs(glob_t *g)
{
	const char *fx = getenv("KVF_FIXTURES");
	cr_assert(fx, "KVF_FIXTURES is set by meson");
	char pat[4096];
	snprintf(pat, sizeof(pat), "%s/*/node*/member/snap/db", fx);
	cr_assert_eq(glob(pat, 0, NULL, g), 0);
}

Test(keyindex, hashkv_hashed_while_indexing_equals_the_second_pass_at_every_revision)
{
	glob_t g;
	glob_fixture_dbs(&g);
	size_t compared = 0, compacted = 0;
	for (size_t gi = 0; gi < g.gl_pathc; gi++) {
		kvf_backend *b;
		kvf_err err;
		cr_assert_eq(kvf_backend_open(&b, g.gl_pathv[gi], &err), KVF_OK, "%s", err.msg);
		kvf_hashkv cur = hashkv_at(b, 0, false);
		/* the current revision, and revisions between the compaction and
		 * it, where the split between the two passes falls differently */
		for (int step = 0; step <= 4; step++) {
			int64_t rev = step == 0 ? 0
			            : cur.compact_rev + 1 + (cur.current_rev - cur.compact_rev - 1) * step / 4;
			if (rev > cur.current_rev || (rev && rev <= cur.compact_rev))
				continue;
			kvf_hashkv two = hashkv_at(b, rev, false), one = hashkv_at(b, rev, true);
			cr_assert_eq(one.hash, two.hash, "%s at %lld", g.gl_pathv[gi], (long long)rev);
			cr_assert_eq(one.hashed_pairs, two.hashed_pairs, "%s at %lld", g.gl_pathv[gi], (long long)rev);
			compared++;
		}
		compacted += cur.compact_rev > 0;
		kvf_backend_close(b);
	}
	globfree(&g);
	cr_assert_geq(compared, 20, "revisions compared: %zu", compared);
	cr_assert_geq(compacted, 3, "compacted fixture dbs: %zu", compacted);
}

/* ---- the walker thread of kvf_keyindex_build changes nothing ---- */

static void build_with(kvf_backend *b, bool serial, kvf_keyindex *ki)
{
	kvf_keyindex_opts o = { .hash_newer = true };
	kvf_err err;
	if (serial)
		setenv("KVF_SERIAL", "1", 1);
	kvf_status s = kvf_keyindex_build(b, &o, ki, &err);
	unsetenv("KVF_SERIAL");
	cr_assert_eq(s, KVF_OK, "%s", err.msg);
}

Test(keyindex, two_threads_build_the_index_one_thread_builds)
{
	glob_t g;
	glob_fixture_dbs(&g);
	uint64_t most = 0;
	for (size_t gi = 0; gi < g.gl_pathc; gi++) {
		kvf_backend *b;
		kvf_err err;
		cr_assert_eq(kvf_backend_open(&b, g.gl_pathv[gi], &err), KVF_OK, "%s", err.msg);
		kvf_keyindex one, two;
		build_with(b, true, &one);
		build_with(b, false, &two);
		const char *p = g.gl_pathv[gi];
		cr_assert(one.n == two.n && one.live == two.live && one.revisions == two.revisions &&
		          one.tombstones == two.tombstones && one.malformed == two.malformed &&
		          one.current_rev == two.current_rev && one.n_old_keep == two.n_old_keep, "%s: counts", p);
		cr_assert(one.newer_crc == two.newer_crc && one.newer_bytes == two.newer_bytes &&
		          one.newer_pairs == two.newer_pairs && one.out_of_order == two.out_of_order, "%s: newer", p);
		for (size_t i = 0; i < one.n; i++) {
			const kvf_key_entry *a = &one.entries[i], *e = &two.entries[i];
			cr_assert(a->key.p == e->key.p && a->key.len == e->key.len && kvf_rev_cmp(a->last, e->last) == 0 &&
			          a->last_tombstone == e->last_tombstone && a->last_kv.p == e->last_kv.p &&
			          a->has_keep == e->has_keep && (!a->has_keep || kvf_rev_cmp(a->keep, e->keep) == 0) &&
			          a->revisions == e->revisions, "%s: entry %zu", p, i);
		}
		kvf_hashkv h1, h2;
		cr_assert_eq(kvf_hashkv_compute(b, &one, &h1, &err), KVF_OK, "%s", err.msg);
		cr_assert_eq(kvf_hashkv_compute(b, &two, &h2, &err), KVF_OK, "%s", err.msg);
		cr_assert_eq(h1.hash, h2.hash, "%s: hashkv", p);
		if (one.revisions > most)
			most = one.revisions;
		kvf_keyindex_free(&one);
		kvf_keyindex_free(&two);
		kvf_backend_close(b);
	}
	globfree(&g);
	/* the ring holds 8 batches of 512 pairs: some db must go round it */
	cr_assert_gt(most, 8 * 512 * 4, "largest fixture has %llu revisions", (unsigned long long)most);
}

/* ---- kvf_keyindex_sorted: bytewise order, prefixes first ---- */

static int cmp_bytes(const void *a, const void *b)
{
	const kvf_key_entry *x = *(const kvf_key_entry *const *)a, *y = *(const kvf_key_entry *const *)b;
	size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = n ? memcmp(x->key.p, y->key.p, n) : 0;
	return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

Test(keyindex, sorted_is_bytewise_order_with_zero_bytes_and_shared_prefixes)
{
	/* distinct keys from the alphabet {0, 1, 0xff} of length 0..40 under
	 * a long shared prefix: runs that tie for many rounds of 8 bytes,
	 * keys that end inside a round, and keys that are other keys plus
	 * zero bytes (which the zero-padded words alone would not tell) */
	enum { N = 20000, MAXLEN = 64 };
	static uint8_t bytes[N][MAXLEN];
	static kvf_key_entry entries[N];
	const uint8_t alphabet[3] = { 0, 1, 0xff };
	uint32_t seed = 12345;
	size_t n = 0;
	for (size_t i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 16) % 41, pre = (seed >> 8) % 3 == 0 ? 20 : 0;
		memset(bytes[i], 'p', pre);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			bytes[i][pre + k] = alphabet[(seed >> 16) % 3];
		}
		kvf_key_entry e = { .key = { bytes[i], pre + len, 0 }, .revisions = 1 };
		bool dup = false;   /* the index holds each key once */
		for (size_t j = 0; j < n && !dup; j++)
			dup = entries[j].key.len == e.key.len && memcmp(entries[j].key.p, e.key.p, e.key.len) == 0;
		if (!dup)
			entries[n++] = e;
	}
	kvf_keyindex ki = { .entries = entries, .n = n };
	const kvf_key_entry **got;
	size_t m;
	kvf_err err;
	cr_assert_eq(kvf_keyindex_sorted(&ki, false, &got, &m, &err), KVF_OK);
	cr_assert_eq(m, n);
	const kvf_key_entry **want = malloc(n * sizeof(*want));
	for (size_t i = 0; i < n; i++)
		want[i] = &entries[i];
	qsort(want, n, sizeof(*want), cmp_bytes);
	for (size_t i = 0; i < n; i++)
		cr_assert(got[i] == want[i], "position %zu of %zu", i, n);
	free(want);
	free(got);
	cr_assert_gt(n, 5000, "%zu distinct keys", n);
}
