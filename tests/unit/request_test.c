#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "wal/raftlog.h"
#include "wal/request.h"

static kvf_arena arena;

static void setup(void) { kvf_arena_init(&arena); }
static void teardown(void) { kvf_arena_free(&arena); }

TestSuite(request, .init = setup, .fini = teardown);

static kvf_request decode(uint64_t type, const uint8_t *data, size_t len)
{
	kvf_raft_entry e = { .term = 1, .index = 1, .type = type, .data = data, .len = len };
	kvf_request r;
	kvf_request_decode(&e, &arena, &r);
	return r;
}

static uint8_t *pack_irr(const Etcdserverpb__InternalRaftRequest *irr, size_t *n)
{
	*n = etcdserverpb__internal_raft_request__get_packed_size(irr);
	uint8_t *b = malloc(*n + 1);
	etcdserverpb__internal_raft_request__pack(irr, b);
	return b;
}

Test(request, every_internal_request_kind_is_named_after_its_field)
{
	const ProtobufCMessageDescriptor *d = &etcdserverpb__internal_raft_request__descriptor;
	unsigned checked = 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE || strcmp(f->name, "header") == 0)
			continue;
		Etcdserverpb__InternalRaftRequest irr = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
		Etcdserverpb__RequestHeader hdr = ETCDSERVERPB__REQUEST_HEADER__INIT;
		hdr.id = 42;
		hdr.username.data = (uint8_t *)"alice";
		hdr.username.len = 5;
		hdr.auth_revision = 14;
		irr.header = &hdr;
		const ProtobufCMessageDescriptor *md = f->descriptor;
		void *body = calloc(1, md->sizeof_message);
		protobuf_c_message_init(md, body);
		*(void **)((char *)&irr + f->offset) = body;
		size_t n;
		uint8_t *b = pack_irr(&irr, &n);
		kvf_request r = decode(0, b, n);
		cr_assert_eq(r.cls, KVF_REQ_INTERNAL, "%s", f->name);
		cr_assert_str_eq(r.kind, f->name);
		cr_assert(r.has_header);
		cr_assert_eq(r.id, 42);
		cr_assert_eq(r.auth_revision, 14);
		cr_assert_eq(r.username.len, 5);
		cr_assert(memcmp(r.username.data, "alice", 5) == 0);
		cr_assert_geq(kvf_kind_index(r.kind), 0, "%s is a known kind", r.kind);
		free(body);
		free(b);
		kvf_arena_reset(&arena);
		checked++;
	}
	cr_assert_geq(checked, 30, "etcd 3.3-3.6 have at least 30 request kinds");
}

Test(request, put_keeps_key_value_and_lease)
{
	Etcdserverpb__InternalRaftRequest irr = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
	Etcdserverpb__PutRequest put = ETCDSERVERPB__PUT_REQUEST__INIT;
	put.key.data = (uint8_t *)"/registry/pods/a";
	put.key.len = 16;
	put.value.data = (uint8_t *)"\x00\x01k8s";
	put.value.len = 5;
	put.lease = 0x694d77aa9e38260f;
	irr.put = &put;
	size_t n;
	uint8_t *b = pack_irr(&irr, &n);
	kvf_request r = decode(0, b, n);
	cr_assert_str_eq(r.kind, "put");
	cr_assert_not(r.has_header);
	cr_assert_eq(r.irr->put->lease, 0x694d77aa9e38260f);
	cr_assert_eq(r.irr->put->value.len, 5);
	free(b);
}

typedef struct keys_seen {
	char ops[8][16];
	char keys[8][32];
	int n;
} keys_seen;

static void collect(void *ctx, const char *op, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	(void)end;
	keys_seen *k = ctx;
	if (k->n < 8) {
		snprintf(k->ops[k->n], 16, "%s", op);
		snprintf(k->keys[k->n], 32, "%.*s", (int)key.len, key.data);
		k->n++;
	}
}

Test(request, txn_keys_include_nested_operations)
{
	Etcdserverpb__PutRequest p1 = ETCDSERVERPB__PUT_REQUEST__INIT, p2 = ETCDSERVERPB__PUT_REQUEST__INIT;
	p1.key.data = (uint8_t *)"a"; p1.key.len = 1;
	p2.key.data = (uint8_t *)"inner"; p2.key.len = 5;
	Etcdserverpb__DeleteRangeRequest d = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
	d.key.data = (uint8_t *)"b"; d.key.len = 1;
	Etcdserverpb__RequestOp o1 = ETCDSERVERPB__REQUEST_OP__INIT, o2 = ETCDSERVERPB__REQUEST_OP__INIT,
	                        o3 = ETCDSERVERPB__REQUEST_OP__INIT, o4 = ETCDSERVERPB__REQUEST_OP__INIT;
	o1.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT; o1.request_put = &p1;
	o2.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE; o2.request_delete_range = &d;
	Etcdserverpb__TxnRequest inner = ETCDSERVERPB__TXN_REQUEST__INIT;
	Etcdserverpb__RequestOp *inner_ops[1] = { &o4 };
	o4.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT; o4.request_put = &p2;
	inner.n_success = 1; inner.success = inner_ops;
	o3.request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN; o3.request_txn = &inner;
	Etcdserverpb__RequestOp *succ[2] = { &o1, &o3 }, *fail[1] = { &o2 };
	Etcdserverpb__TxnRequest txn = ETCDSERVERPB__TXN_REQUEST__INIT;
	txn.n_success = 2; txn.success = succ;
	txn.n_failure = 1; txn.failure = fail;
	Etcdserverpb__InternalRaftRequest irr = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
	irr.txn = &txn;
	size_t n;
	uint8_t *b = pack_irr(&irr, &n);
	kvf_request r = decode(0, b, n);
	cr_assert_str_eq(r.kind, "txn");
	keys_seen k = { 0 };
	kvf_request_keys(&r, collect, &k);
	cr_assert_eq(k.n, 3);
	cr_assert_str_eq(k.keys[0], "a");
	cr_assert_str_eq(k.keys[1], "inner");
	cr_assert_str_eq(k.ops[2], "delete_range");
	cr_assert_str_eq(k.keys[2], "b");
	free(b);
}

Test(request, empty_normal_entry_is_the_leader_noop)
{
	kvf_request r = decode(0, NULL, 0);
	cr_assert_eq(r.cls, KVF_REQ_EMPTY);
	cr_assert_str_eq(r.kind, "empty");
}

Test(request, bare_v2_request_falls_back_like_etcd)
{
	Etcdserverpb__Request v2 = ETCDSERVERPB__REQUEST__INIT;
	v2.has_id = v2.has_method = v2.has_path = v2.has_val = 1;
	v2.id = 99;
	v2.method.data = (uint8_t *)"PUT"; v2.method.len = 3;
	v2.path.data = (uint8_t *)"/0/version"; v2.path.len = 10;
	v2.val.data = (uint8_t *)"3.4.0"; v2.val.len = 5;
	uint8_t b[128];
	size_t n = etcdserverpb__request__pack(&v2, b);
	kvf_request r = decode(0, b, n);
	cr_assert_eq(r.cls, KVF_REQ_V2);
	cr_assert_str_eq(r.kind, "v2_cluster_version");
	cr_assert_eq(r.id, 99);
	cr_assert_eq(r.v2->path.len, 10);
}

static kvf_request v2_of(const char *method, const char *path, bool wrapped)
{
	static uint8_t b[512];
	Etcdserverpb__Request v2 = ETCDSERVERPB__REQUEST__INIT;
	v2.has_id = v2.has_method = v2.has_path = 1;
	v2.id = 7;
	v2.method.data = (uint8_t *)method;
	v2.method.len = strlen(method);
	v2.path.data = (uint8_t *)path;
	v2.path.len = strlen(path);
	size_t n;
	if (wrapped) {
		Etcdserverpb__InternalRaftRequest irr = ETCDSERVERPB__INTERNAL_RAFT_REQUEST__INIT;
		irr.v2 = &v2;
		irr.id = 7;
		n = etcdserverpb__internal_raft_request__pack(&irr, b);
	} else {
		n = etcdserverpb__request__pack(&v2, b);
	}
	return decode(0, b, n);
}

/* etcd 3.5's v2 applier (apply_v2.go Put, Sync) and 3.6's v2ToV3Request
 * tell these apart by method and path; the attributes pattern is not
 * anchored (storeMemberAttributeRegexp.MatchString) and wants 1-16 hex
 * digits. */
Test(request, v2_requests_are_named_as_etcd_applies_them)
{
	static const struct { const char *method, *path, *kind; } cases[] = {
		{ "PUT", "/0/members/8e9e05c52164694d/attributes", "v2_member_attributes" },
		{ "PUT", "/x/0/members/a/attributes/y", "v2_member_attributes" },
		{ "PUT", "/0/members/notahexid/attributes", "v2" },
		{ "PUT", "/0/members/11112222333344445/attributes", "v2" },
		{ "POST", "/0/members/8e9e05c52164694d/attributes", "v2" },
		{ "PUT", "/0/version", "v2_cluster_version" },
		{ "PUT", "/0/version/", "v2" },
		{ "SYNC", "", "v2_sync" },
		{ "PUT", "/1/foo", "v2" },
		{ "QGET", "/1/foo", "v2" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int wrapped = 0; wrapped < 2; wrapped++) {
			kvf_request r = v2_of(cases[i].method, cases[i].path, wrapped);
			cr_assert_eq(r.cls, wrapped ? KVF_REQ_INTERNAL : KVF_REQ_V2, "%s %s", cases[i].method,
			             cases[i].path);
			cr_assert_str_eq(r.kind, cases[i].kind, "%s %s (wrapped %d)", cases[i].method,
			                 cases[i].path, wrapped);
			cr_assert_geq(kvf_kind_index(r.kind), 0);
			cr_assert(kvf_kind_matches("v2", r.kind), "--kind v2 takes %s", r.kind);
		}
	cr_assert(!kvf_kind_matches("v2", "put"));
	cr_assert(kvf_kind_matches("v2_sync", "v2_sync") && !kvf_kind_matches("v2_sync", "v2"));
}

Test(request, conf_changes_decode)
{
	Raftpb__ConfChange cc = RAFTPB__CONF_CHANGE__INIT;
	cc.has_type = cc.has_node_id = 1;
	cc.type = RAFTPB__CONF_CHANGE_TYPE__ConfChangeRemoveNode;
	cc.node_id = 0x62ee281d95a72dff;
	uint8_t b[64];
	size_t n = raftpb__conf_change__pack(&cc, b);
	kvf_request r = decode(1, b, n);
	cr_assert_eq(r.cls, KVF_REQ_CONF_CHANGE);
	cr_assert_eq(r.cc->type, RAFTPB__CONF_CHANGE_TYPE__ConfChangeRemoveNode);
	cr_assert_eq(r.cc->node_id, 0x62ee281d95a72dff);

	Raftpb__ConfChangeSingle s = RAFTPB__CONF_CHANGE_SINGLE__INIT, *ss[1] = { &s };
	s.has_type = s.has_node_id = 1;
	s.type = RAFTPB__CONF_CHANGE_TYPE__ConfChangeAddLearnerNode;
	s.node_id = 7;
	Raftpb__ConfChangeV2 v2 = RAFTPB__CONF_CHANGE_V2__INIT;
	v2.n_changes = 1;
	v2.changes = ss;
	n = raftpb__conf_change_v2__pack(&v2, b);
	r = decode(2, b, n);
	cr_assert_eq(r.cls, KVF_REQ_CONF_CHANGE_V2);
	cr_assert_eq(r.ccv2->n_changes, 1);
	cr_assert_eq(r.ccv2->changes[0]->node_id, 7);
}

Test(request, garbage_is_undecodable_not_a_crash)
{
	uint8_t junk[] = { 0xff, 0xff, 0xff, 0x0b, 0x00 };
	kvf_request r = decode(0, junk, sizeof(junk));
	cr_assert_eq(r.cls, KVF_REQ_UNDECODABLE);
	cr_assert_str_eq(r.kind, "undecodable");
	r = decode(7, junk, sizeof(junk));
	cr_assert_eq(r.cls, KVF_REQ_UNDECODABLE);
}

Test(request, kind_patterns)
{
	cr_assert(kvf_kind_matches("put,txn", "txn"));
	cr_assert(kvf_kind_matches("auth_*", "auth_user_add"));
	cr_assert(kvf_kind_matches("conf", "conf_change_v2"));
	cr_assert_not(kvf_kind_matches("lease_*", "put"));
	char bad[32];
	cr_assert(kvf_kind_list_valid("put,lease_*,conf,v2,empty", bad, sizeof(bad)));
	cr_assert_not(kvf_kind_list_valid("put,pots", bad, sizeof(bad)));
	cr_assert_str_eq(bad, "pots");
}

/* ---- the kind scan against the full decode ---- */

#include <glob.h>

#include "wal/wal.h"

/* Every WAL of the fixtures: real etcd output, damaged copies included. */
static size_t fixture_wals(size_t max, kvf_wal_segments *out)
{
	const char *fx = getenv("KVF_FIXTURES");
	cr_assert(fx, "KVF_FIXTURES is set by meson");
	static const char *const patterns[] = {
		"/*/node*/member/wal", "/wal-damage/*", "/peer-etcd/*.wal",
	};
	size_t n = 0;
	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		char pat[4096];
		snprintf(pat, sizeof(pat), "%s%s", fx, patterns[p]);
		glob_t g;
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc && n < max; i++) {
			kvf_err err;
			kvf_wal_segments s = { 0 };
			if (kvf_wal_segments_add(&s, g.gl_pathv[i], &err) != KVF_OK) {
				kvf_wal_segments_free(&s);
				continue;   /* truth/ holds no segments */
			}
			kvf_wal_segments_order(&s);
			out[n++] = s;
		}
		globfree(&g);
	}
	return n;
}

static uint32_t rng = 0x2545f491u;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* The scan may decline, but when it names a kind it is the decode's. */
static void expect_same_kind(const kvf_raft_entry *e, size_t *scanned, const char *where)
{
	kvf_request r;
	kvf_request_decode(e, &arena, &r);
	const char *scan = kvf_request_kind_scan(e);
	if (scan) {
		cr_assert_str_eq(scan, r.kind, "%s: index %lu: scan says %s, decode %s", where,
		                 (unsigned long)e->index, scan, r.kind);
		(*scanned)++;
		/* the version the scan takes on its way is the one a walk finds */
		kvf_etcd_version sv, wv = 0;
		cr_assert_str_eq(kvf_request_kind_scan_version(e, &sv), scan);
		kvf_etcd_message_version(&etcdserverpb__internal_raft_request__descriptor, e->data, e->len, &wv);
		cr_assert_eq(sv, wv, "%s: index %lu (%s): scan version %x, walk %x", where,
		             (unsigned long)e->index, scan, sv, wv);
	}
	const char *kind = kvf_request_kind(e, &arena);
	cr_assert_str_eq(kind, r.kind, "%s: index %lu", where, (unsigned long)e->index);
	kvf_arena_reset(&arena);
}

Test(request, kind_scan_agrees_with_the_full_decode_on_every_fixture_entry)
{
	kvf_wal_segments sets[64];
	size_t nsets = fixture_wals(64, sets);
	cr_assert_geq(nsets, 10, "the fixtures hold at least ten WALs");
	size_t entries = 0, scanned = 0, mutants = 0, mutants_scanned = 0;
	uint8_t *copy = NULL;
	size_t copy_cap = 0;
	for (size_t s = 0; s < nsets; s++) {
		kvf_wal_reader *rd;
		kvf_err err;
		cr_assert_eq(kvf_wal_open(&rd, &sets[s], NULL, &err), KVF_OK);
		kvf_wal_event ev;
		while (kvf_wal_next(rd, &ev, &err) == KVF_OK && ev.kind != KVF_WAL_EV_END) {
			kvf_raft_entry e;
			if (ev.kind != KVF_WAL_EV_RECORD || ev.rec.type != KVF_WAL_ENTRY ||
			    !kvf_raft_entry_parse(ev.rec.data, ev.rec.len, &e))
				continue;
			entries++;
			expect_same_kind(&e, &scanned, ev.segment->path);
			/* Damaged variants of every fifth request: a byte changed
			 * or the request cut short, as a disk would do it. */
			if (entries % 5 || e.len == 0)
				continue;
			if (copy_cap < e.len) {
				copy = realloc(copy, e.len);
				copy_cap = e.len;
			}
			for (int m = 0; m < 12; m++) {
				memcpy(copy, e.data, e.len);
				kvf_raft_entry v = e;
				v.data = copy;
				size_t at = m < 4 ? (size_t)m % e.len : next_rand() % e.len;
				if (m < 8)
					copy[at] ^= (uint8_t)(1u << (next_rand() % 8));
				else if (m < 10)
					copy[at] = m == 8 ? 0x80 : 0xff;
				else
					v.len = m == 10 ? e.len - 1 : at;
				mutants++;
				expect_same_kind(&v, &mutants_scanned, "mutant");
			}
		}
		kvf_wal_close(rd);
		kvf_wal_segments_free(&sets[s]);
	}
	free(copy);
	cr_assert_geq(entries, 10000, "the fixtures hold over ten thousand entries, got %zu", entries);
	/* The scan must carry the summary, not fall back to the decode. */
	cr_assert_geq(scanned * 100, entries * 95, "the scan named %zu of %zu kinds", scanned, entries);
	/* and it must not vouch for every damaged request */
	cr_assert_lt(mutants_scanned, mutants, "%zu of %zu damaged requests", mutants_scanned, mutants);
}

/* The encodings where protobuf-c and a lenient wire reader part ways: the
 * scan must name the decode's kind or decline, never guess. */
Test(request, kind_scan_declines_what_protobuf_c_might_refuse)
{
	static const struct {
		const char *what;
		uint8_t bytes[32];
		size_t len;
		const char *decode_kind;   /* what the full decode says */
		bool scan_names_it;        /* the scan is sure of it */
	} cases[] = {
		{ "canonical put", { 0x22, 5, 0x0a, 3, 'a', 'b', 'c' }, 7, "put", true },
		{ "unknown field inside the put", { 0x22, 7, 0x0a, 3, 'a', 'b', 'c', 0x78, 1 }, 9, "put", true },
		/* protobuf-c reads length prefixes and keys of at most 5 bytes */
		{ "6-byte length prefix", { 0x22, 10, 0x0a, 0x83, 0x80, 0x80, 0x80, 0x80, 0, 'a', 'b', 'c' },
		  12, NULL, false },
		{ "6-byte key", { 0x22, 10, 0x8a, 0x80, 0x80, 0x80, 0x80, 0, 3, 'a', 'b', 'c' }, 12, NULL, false },
		/* protobuf-c merges a message given twice: the scan leaves that to it */
		{ "put twice", { 0x22, 5, 0x0a, 3, 'a', 'b', 'c', 0x22, 5, 0x0a, 3, 'x', 'y', 'z' }, 14, "put", false },
		{ "put with a varint wire type", { 0x20, 5 }, 2, NULL, false },
		/* a header and no request: the decode may still try a v2 Request */
		{ "header only", { 0xa2, 0x06, 2, 0x08, 1 }, 5, "unknown", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kvf_raft_entry e = { .term = 1, .index = 1, .type = 0, .data = cases[i].bytes, .len = cases[i].len };
		kvf_request r;
		kvf_request_decode(&e, &arena, &r);
		if (cases[i].decode_kind)
			cr_assert_str_eq(r.kind, cases[i].decode_kind, "%s", cases[i].what);
		else
			cr_assert_str_neq(r.kind, "put", "%s: protobuf-c refuses it", cases[i].what);
		const char *scan = kvf_request_kind_scan(&e);
		if (cases[i].scan_names_it)
			cr_assert(scan && strcmp(scan, r.kind) == 0, "%s: scan %s", cases[i].what, scan ? scan : "declines");
		else
			cr_assert_null(scan, "%s: the scan must decline, said %s", cases[i].what, scan);
		cr_assert_str_eq(kvf_request_kind(&e, &arena), r.kind, "%s", cases[i].what);
		kvf_arena_reset(&arena);
	}
}
