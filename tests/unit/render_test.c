#include <criterion/criterion.h>
#include <string.h>

#include "render/render.h"
#include "encoding/proto/etcdserverpb.pb-c.h"

static char *dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	return s;
}

Test(render, printable_utf8_stays_a_string)
{
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"/registry/pods/é", 17)),
	                 "\"/registry/pods/\xc3\xa9\"");
}

Test(render, other_bytes_become_base64_losslessly)
{
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"k8s\0\x0a", 5)), "{\"base64\":\"azhzAAo=\"}");
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"\xff", 1)), "{\"base64\":\"/w==\"}");
	/* overlong encoding of '/' is not valid UTF-8 */
	cr_assert_str_eq(dump(kvf_json_bytes((const uint8_t *)"\xc0\xaf", 2)), "{\"base64\":\"wK8=\"}");
}

Test(render, large_integers_become_strings)
{
	cr_assert_str_eq(dump(kvf_json_u64(1ull << 53)), "9007199254740992");
	cr_assert_str_eq(dump(kvf_json_u64((1ull << 53) + 1)), "\"9007199254740993\"");
	cr_assert_str_eq(dump(kvf_json_i64(-5)), "-5");
	cr_assert_str_eq(dump(kvf_json_hex(0x67a7e86946704e5aull)), "\"67a7e86946704e5a\"");
}

Test(render, text_quotes_only_when_needed)
{
	kvf_buf b = KVF_BUF_INIT;
	kvf_text_bytes(&b, (const uint8_t *)"/a/b", 4);
	cr_assert_str_eq(b.p, "/a/b");
	kvf_buf_reset(&b);
	kvf_text_bytes(&b, (const uint8_t *)"a b\x01\"", 5);
	cr_assert_str_eq(b.p, "\"a b\\x01\\\"\"");
	kvf_buf_reset(&b);
	kvf_text_bytes(&b, (const uint8_t *)"", 0);
	cr_assert_str_eq(b.p, "\"\"");
	kvf_buf_free(&b);
}

Test(render, messages_render_every_set_field_and_hide_secrets)
{
	Etcdserverpb__AuthUserAddRequest u = ETCDSERVERPB__AUTH_USER_ADD_REQUEST__INIT;
	u.name.data = (uint8_t *)"bob";
	u.name.len = 3;
	u.password.data = (uint8_t *)"hunter2";
	u.password.len = 7;
	kvf_render_opts o = { 0 };
	char *s = dump(kvf_json_message(&u.base, &o));
	cr_assert_str_eq(s, "{\"name\":\"bob\",\"password\":{\"redacted_bytes\":7}}");
	o.show_secrets = true;
	s = dump(kvf_json_message(&u.base, &o));
	cr_assert_str_eq(s, "{\"name\":\"bob\",\"password\":\"hunter2\"}");
}

Test(render, enums_render_by_name)
{
	Etcdserverpb__AlarmRequest a = ETCDSERVERPB__ALARM_REQUEST__INIT;
	a.action = ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE;
	a.alarm = ETCDSERVERPB__ALARM_TYPE__NOSPACE;
	a.memberid = 5;
	cr_assert_str_eq(dump(kvf_json_message(&a.base, NULL)),
	                 "{\"action\":\"ACTIVATE\",\"memberID\":5,\"alarm\":\"NOSPACE\"}");
}

/* ---- the streamed JSON is the tree's JSON, byte for byte ---- */

#include <glob.h>
#include <stdlib.h>

#include "wal/raftlog.h"
#include "render/render_wal.h"

/* What jansson prints for v (dropped), next to what the stream wrote. */
static void same_json(json_t *v, const kvf_buf *streamed, const char *what)
{
	char *want = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(v);
	cr_assert(want, "%s: jansson built nothing", what);
	cr_assert(streamed->len == strlen(want) && memcmp(streamed->p, want, streamed->len) == 0,
	          "%s:\n tree:   %s\n stream: %.*s", what, want, (int)streamed->len, streamed->p);
	free(want);
}

static uint32_t seed = 12345;

static uint32_t rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

Test(render, streamed_bytes_match_the_tree_for_every_kind_of_byte)
{
	/* pieces that each take a different path: plain, escaped, UTF-8 of
	 * every length, and what is not printable (base64) */
	static const char *const pieces[] = {
		"a", "Z", "/registry/pods/", "{\"k\":1}", "\\", "\"", "\n", "\t", "\r",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\x01", "\x7f", "\x1f", "\xc0\xaf", "\xed\xa0\x80", "\xc2\x85", "\xff", "\xe2\x82",
	};
	kvf_buf b = KVF_BUF_INIT;
	uint8_t s[400];
	for (int t = 0; t < 20000; t++) {
		/* mostly printable, sometimes one odd piece late in the string,
		 * past the first blocks the stream copies before it looks back */
		size_t n = 0, want = rnd() % 300;
		bool odd = t % 3 == 0;
		while (n < want) {
			size_t k = rnd() % (odd && n > 40 ? 20 : 12);
			size_t len = strlen(pieces[k]);
			if (n + len > sizeof(s))
				break;
			memcpy(s + n, pieces[k], len);
			n += len;
		}
		size_t off = rnd() % 8;   /* alignment must not matter */
		uint8_t buf[416];
		memcpy(buf + off, s, n);
		kvf_buf_reset(&b);
		kvf_jw_bytes(&b, buf + off, n);
		same_json(kvf_json_bytes(buf + off, n), &b, "bytes");
	}
	kvf_buf_free(&b);
}

/* kvf_text_bytes as it was written first, a byte at a time: the reference
 * the block-wise one (io/text.c, io/escape.c) must match byte for byte. */
static bool ref_plain_byte(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void ref_text_bytes(kvf_buf *b, const uint8_t *p, size_t n)
{
	bool plain = n > 0;
	for (size_t i = 0; i < n && plain; i++)
		plain = ref_plain_byte(p[i]);
	if (!plain && n && kvf_utf8_printable(p, n)) {
		plain = true;
		for (size_t i = 0; i < n && plain; i++)
			plain = p[i] >= 0x80 || ref_plain_byte(p[i]);
	}
	if (plain) {
		kvf_buf_append(b, p, n);
		return;
	}
	kvf_buf_putc(b, '"');
	bool utf8 = kvf_utf8_printable(p, n);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			kvf_buf_putc(b, '\\');
			kvf_buf_putc(b, (char)c);
		} else if (c == '\n') {
			kvf_buf_puts(b, "\\n");
		} else if (c == '\t') {
			kvf_buf_puts(b, "\\t");
		} else if ((c >= 0x20 && c < 0x7f) || (utf8 && c >= 0x80)) {
			kvf_buf_putc(b, (char)c);
		} else {
			kvf_buf_printf(b, "\\x%02x", c);
		}
	}
	kvf_buf_putc(b, '"');
}

Test(render, text_bytes_match_the_byte_at_a_time_reference_for_every_kind_of_byte)
{
	static const char *const pieces[] = {
		"a", "Z", "/registry/pods/", "{\"k\":1}", "\\", "\"", " ", "\n", "\t", "\r",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\x01", "\x7f", "\x00", "\xc0\xaf", "\xed\xa0\x80", "\xc2\x85", "\xff", "\xe2\x82",
	};
	kvf_buf got = KVF_BUF_INIT, want = KVF_BUF_INIT;
	uint8_t s[1200];
	for (int t = 0; t < 30000; t++) {
		/* lengths across the 16-byte blocks and the 32-byte tail rule;
		 * printable runs with quotes, and now and then one piece of
		 * another kind, early or late */
		size_t n = 0, goal = t % 10 == 0 ? 1000 + rnd() % 100 : rnd() % 120;
		int mode = t % 4;
		while (n < goal) {
			size_t k = mode == 0 ? rnd() % 7 : mode == 1 ? rnd() % 13 : rnd() % 21;
			if (mode == 3 && rnd() % 50)
				k = rnd() % 7;
			size_t len = strlen(pieces[k]);
			if (k == 15)
				len = 1;   /* the NUL byte */
			if (n + len > sizeof(s) - 16)
				break;
			memcpy(s + n, pieces[k], len);
			n += len;
		}
		size_t off = rnd() % 8;
		uint8_t buf[1216];
		memcpy(buf + off, s, n);
		kvf_buf_reset(&got);
		kvf_buf_reset(&want);
		kvf_buf_puts(&got, "x=");   /* appends after what the buffer holds */
		kvf_buf_puts(&want, "x=");
		kvf_text_bytes(&got, buf + off, n);
		ref_text_bytes(&want, buf + off, n);
		cr_assert(got.len == want.len && memcmp(got.p, want.p, got.len) == 0,
		          "text of %zu bytes (case %d):\n want: %s\n got:  %s", n, t, want.p, got.p);
		cr_assert_eq(got.p[got.len], '\0');
	}
	kvf_buf_free(&got);
	kvf_buf_free(&want);
}

Test(render, streamed_strings_and_numbers_match_the_tree)
{
	kvf_buf b = KVF_BUF_INIT;
	static const char *const strs[] = { "", "put", "a\"b\\c", "\x01\x1f\b\f\n\r\t", "\xc3\xa9t\xc3\xa9" };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		kvf_buf_reset(&b);
		kvf_jw_string(&b, strs[i]);
		same_json(json_string(strs[i]), &b, strs[i]);
	}
	static const uint64_t u[] = { 0, 1, 9, 10, 1ull << 53, (1ull << 53) + 1, UINT64_MAX };
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		kvf_buf_reset(&b);
		kvf_jw_u64(&b, u[i]);
		same_json(kvf_json_u64(u[i]), &b, "u64");
		kvf_buf_reset(&b);
		kvf_jw_hex(&b, u[i]);
		same_json(kvf_json_hex(u[i]), &b, "hex");
		kvf_buf_reset(&b);
		kvf_jw_dec_string(&b, u[i]);
		same_json(kvf_json_dec_string(u[i]), &b, "dec");
	}
	static const int64_t s[] = { 0, -1, INT64_MIN, INT64_MAX, -(1ll << 53), -(1ll << 53) - 1 };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		kvf_buf_reset(&b);
		kvf_jw_i64(&b, s[i]);
		same_json(kvf_json_i64(s[i]), &b, "i64");
		kvf_buf_reset(&b);
		kvf_jw_int(&b, s[i]);
		same_json(json_integer(s[i]), &b, "int");
	}
	kvf_buf_free(&b);
}

Test(render, streamed_messages_match_the_tree)
{
	/* a txn with nested operations, repeated fields, enums and bytes that
	 * are not text; an auth request with a secret; unknown fields */
	Etcdserverpb__PutRequest put = ETCDSERVERPB__PUT_REQUEST__INIT;
	put.key.data = (uint8_t *)"/registry/a";
	put.key.len = 11;
	put.value.data = (uint8_t *)"k8s\0\x01\x02";
	put.value.len = 6;
	put.lease = -7;
	Etcdserverpb__RequestOp op = ETCDSERVERPB__REQUEST_OP__INIT, *ops[2] = { &op, &op };
	op.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT;
	op.request_put = &put;
	Etcdserverpb__Compare cmp = ETCDSERVERPB__COMPARE__INIT, *cmps[1] = { &cmp };
	cmp.result = ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER;
	cmp.target = ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD;
	cmp.key = put.key;
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	txn.n_compare = 1;
	txn.compare = cmps;
	txn.n_success = 2;
	txn.success = ops;
	Etcdserverpb__AuthUserAddRequest u = ETCDSERVERPB__AUTH_USER_ADD_REQUEST__INIT;
	u.name.data = (uint8_t *)"bob";
	u.name.len = 3;
	u.password.data = (uint8_t *)"hunter2";
	u.password.len = 7;
	ProtobufCMessageUnknownField unk = { 77, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, 2, (uint8_t *)"\xff\x00" };
	u.base.n_unknown_fields = 1;
	u.base.unknown_fields = &unk;
	const ProtobufCMessage *msgs[] = { &txn.base, &u.base, &put.base };
	kvf_buf b = KVF_BUF_INIT;
	for (int secrets = 0; secrets < 2; secrets++) {
		kvf_render_opts o = { .show_secrets = secrets };
		for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
			kvf_buf_reset(&b);
			kvf_jw_message(&b, msgs[i], &o);
			same_json(kvf_json_message(msgs[i], &o), &b, msgs[i]->descriptor->name);
		}
	}
	kvf_buf_free(&b);
}

Test(render, streamed_wal_records_match_the_tree_on_every_fixture)
{
	const char *fx = getenv("KVF_FIXTURES");
	cr_assert(fx, "KVF_FIXTURES is set by meson");
	static const char *const patterns[] = { "/*/node*/member/wal", "/wal-damage/*", "/peer-etcd/*.wal" };
	size_t lines = 0, entries = 0, findings = 0;
	kvf_buf b = KVF_BUF_INIT;
	for (size_t pi = 0; pi < sizeof(patterns) / sizeof(patterns[0]); pi++) {
		char pat[4096];
		snprintf(pat, sizeof(pat), "%s%s", fx, patterns[pi]);
		glob_t g;
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (size_t gi = 0; gi < g.gl_pathc; gi++) {
			kvf_wal_segments segs = { 0 };
			kvf_err err;
			if (kvf_wal_segments_add(&segs, g.gl_pathv[gi], &err) != KVF_OK) {
				kvf_wal_segments_free(&segs);
				continue;   /* truth/ holds no segments */
			}
			kvf_wal_segments_order(&segs);
			for (int secrets = 0; secrets < 2; secrets++) {
				kvf_render_opts o = { .show_secrets = secrets };
				kvf_raftlog_options lo = { .decode_requests = true, .prepass = true };
				kvf_raftlog *l;
				cr_assert_eq(kvf_raftlog_open(&l, &segs, &lo, &err), KVF_OK);
				kvf_log_item it;
				while (kvf_raftlog_next(l, &it, &err) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
					kvf_buf_reset(&b);
					bool shown = kvf_jw_wal_item(&b, &it, &o);
					json_t *v = kvf_json_wal_item(&it, &o);
					cr_assert_eq(shown, v != NULL, "%s: shown by one renderer only", g.gl_pathv[gi]);
					if (!v)
						continue;
					same_json(v, &b, g.gl_pathv[gi]);
					lines++;
					entries += it.ev.kind == KVF_WAL_EV_RECORD && it.ev.rec.type == KVF_WAL_ENTRY;
					findings += it.ev.kind == KVF_WAL_EV_FINDING;
				}
				kvf_raftlog_close(l);
			}
			kvf_wal_segments_free(&segs);
		}
		globfree(&g);
	}
	kvf_buf_free(&b);
	cr_assert_geq(entries, 2 * 10000, "every fixture entry, twice: %zu", entries);
	cr_assert_geq(findings, 10, "damage and tails of the fixtures: %zu", findings);
	cr_assert_geq(lines, entries);
}

/* ---- db pairs and live keys: the stream is the tree, on every fixture db ---- */

#include "db/backend.h"
#include "db/keyindex.h"
#include "render/render_db.h"

typedef struct bucket_names {
	char name[64][64];
	size_t n;
} bucket_names;

static bool collect_bucket(void *ctx, kvf_span name)
{
	bucket_names *bn = ctx;
	if (bn->n < 64 && name.len < 64) {
		memcpy(bn->name[bn->n], name.p, name.len);
		bn->name[bn->n][name.len] = '\0';
		bn->n++;
	}
	return true;
}

Test(render, streamed_db_pairs_and_live_keys_match_the_tree_on_every_fixture)
{
	const char *fx = getenv("KVF_FIXTURES");
	cr_assert(fx, "KVF_FIXTURES is set by meson");
	static const char *const patterns[] = {
		"/*/node*/member/snap/db", "/peer-etcd/*.db", "/peer-auger/boltdb/db",
	};
	size_t dbs = 0, revisions = 0, other_pairs = 0, live = 0, k8s = 0, base64 = 0;
	kvf_buf b = KVF_BUF_INIT;
	kvf_arena arena;
	kvf_arena_init(&arena);
	const kvf_render_opts o = { 0 };
	for (size_t pi = 0; pi < sizeof(patterns) / sizeof(patterns[0]); pi++) {
		char pat[4096];
		snprintf(pat, sizeof(pat), "%s%s", fx, patterns[pi]);
		glob_t g;
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (size_t gi = 0; gi < g.gl_pathc; gi++) {
			const char *path = g.gl_pathv[gi];
			kvf_backend *be;
			kvf_err err;
			if (kvf_backend_open(&be, path, &err) != KVF_OK)
				continue;   /* a db too damaged to open has no pairs to show */
			dbs++;
			bucket_names bn = { .n = 0 };
			kvf_backend_buckets(be, collect_bucket, &bn, &err);
			for (size_t bi = 0; bi < bn.n; bi++) {
				kvf_cursor *c;
				if (kvf_cursor_open(be, bn.name[bi], strlen(bn.name[bi]), &c, &err) != KVF_OK)
					continue;
				kvf_span name = { (const uint8_t *)bn.name[bi], strlen(bn.name[bi]), KVF_NO_OFFSET };
				kvf_bucket_kind kind = kvf_bucket_kind_of(name);
				kvf_pair p;
				bool got;
				while (kvf_cursor_next(c, &p, &got, &err) == KVF_OK && got) {
					kvf_arena_reset(&arena);
					kvf_buf_reset(&b);
					kvf_jw_db_pair(&b, kind, &p, &arena, &o);
					kvf_arena_reset(&arena);
					json_t *v = kvf_json_db_pair(kind, &p, &arena, &o);
					if (p.value.file_offset != KVF_NO_OFFSET)
						kvf_json_set(v, "value_offset", kvf_json_u64(p.value.file_offset));
					same_json(v, &b, path);
					if (kind == KVF_BUCKET_KEYS)
						revisions++;
					else
						other_pairs++;
					k8s += strstr(b.p, "\"k8s\":{") != NULL;
					base64 += strstr(b.p, "{\"base64\":") != NULL;
				}
				kvf_cursor_close(c);
			}
			kvf_keyindex_opts ko = { 0 };
			kvf_keyindex ki;
			if (kvf_keyindex_build(be, &ko, &ki, &err) == KVF_OK) {
				const kvf_key_entry **v;
				size_t n;
				cr_assert_eq(kvf_keyindex_sorted(&ki, false, &v, &n, &err), KVF_OK);
				for (size_t i = 0; i < n; i++) {
					kvf_buf_reset(&b);
					kvf_jw_live_key(&b, v[i], &o);
					same_json(kvf_json_live_key(v[i], &o), &b, path);
					live++;
				}
				free(v);
				kvf_keyindex_free(&ki);
			}
			kvf_backend_close(be);
		}
		globfree(&g);
	}
	kvf_arena_free(&arena);
	kvf_buf_free(&b);
	cr_log_info("%zu dbs, %zu revisions, %zu other pairs, %zu keys, %zu k8s, %zu base64",
	            dbs, revisions, other_pairs, live, k8s, base64);
	cr_assert_geq(dbs, 10, "the fixture dbs: %zu", dbs);
	cr_assert_geq(revisions, 10000, "the revisions of the fixtures: %zu", revisions);
	cr_assert_geq(other_pairs, 50, "meta, members, auth, leases: %zu", other_pairs);
	cr_assert_geq(live, 1000, "keys of the fixtures: %zu", live);
	cr_assert_gt(k8s, 0, "Kubernetes objects among the values");
}
