#include <criterion/criterion.h>
#include <string.h>

#include "encoding/proto/etcdserverpb.pb-c.h"
#include "encoding/proto/mvccpb.pb-c.h"
#include "encoding/pbwire.h"
#include "wal/raft.h"

Test(pbwire, reads_varints_up_to_ten_bytes)
{
	uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	uint64_t v;
	cr_assert_eq(kvf_pb_varint(max, max + sizeof(max), &v), 10);
	cr_assert_eq(v, UINT64_MAX);
	uint8_t too_long[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	cr_assert_eq(kvf_pb_varint(too_long, too_long + sizeof(too_long), &v), 0);
	uint8_t cut[] = { 0x80, 0x80 };
	cr_assert_eq(kvf_pb_varint(cut, cut + sizeof(cut), &v), 0);
}

Test(pbwire, rejects_length_past_the_end)
{
	uint8_t msg[] = { 0x0a, 0x05, 'a', 'b' };   /* field 1, 5 bytes, only 2 */
	kvf_pb_reader r = kvf_pb_init(msg, sizeof(msg));
	kvf_pb_field f;
	cr_assert_eq(kvf_pb_next(&r, &f), -1);
}

Test(pbwire, rejects_groups_and_field_zero)
{
	uint8_t group[] = { 0x0b };   /* field 1, start group */
	kvf_pb_reader r = kvf_pb_init(group, 1);
	kvf_pb_field f;
	cr_assert_eq(kvf_pb_next(&r, &f), -1);
	uint8_t zero[] = { 0x00, 0x01 };
	r = kvf_pb_init(zero, 2);
	cr_assert_eq(kvf_pb_next(&r, &f), -1);
}

Test(pbwire, entry_header_agrees_with_protobuf_c)
{
	Raftpb__Entry e = RAFTPB__ENTRY__INIT;
	e.has_term = e.has_index = e.has_type = e.has_data = 1;
	e.term = 7;
	e.index = 123456789012ull;
	e.type = RAFTPB__ENTRY_TYPE__EntryConfChange;
	e.data.data = (uint8_t *)"payload";
	e.data.len = 7;
	uint8_t buf[64];
	size_t n = raftpb__entry__pack(&e, buf);
	kvf_raft_entry got;
	cr_assert(kvf_raft_entry_parse(buf, n, &got));
	cr_assert_eq(got.term, 7);
	cr_assert_eq(got.index, 123456789012ull);
	cr_assert_eq(got.type, KVF_ENTRY_CONF_CHANGE);
	cr_assert_eq(got.len, 7);
	cr_assert(memcmp(got.data, "payload", 7) == 0);
}

Test(pbwire, depth_check_refuses_deeply_nested_txn)
{
	/* txn{success: [op{request_txn: txn{success: [...]}}]}, 100 levels */
	enum { DEPTH = 100 };
	static Etcdserverpb__TxnRequest txn[DEPTH];
	static Etcdserverpb__RequestOp op[DEPTH];
	static Etcdserverpb__RequestOp *ops[DEPTH];
	for (int i = 0; i < DEPTH; i++) {
		etcdserverpb__txn_request__init(&txn[i]);
		etcdserverpb__request_op__init(&op[i]);
	}
	for (int i = 0; i + 1 < DEPTH; i++) {
		op[i].request_case = ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN;
		op[i].request_txn = &txn[i + 1];
		ops[i] = &op[i];
		txn[i].n_success = 1;
		txn[i].success = &ops[i];
	}
	size_t n = etcdserverpb__txn_request__get_packed_size(&txn[0]);
	uint8_t *buf = malloc(n);
	etcdserverpb__txn_request__pack(&txn[0], buf);
	/* each level is two messages deep (TxnRequest, RequestOp) */
	cr_assert(kvf_pb_depth_ok(&etcdserverpb__txn_request__descriptor, buf, n, 2 * DEPTH));
	cr_assert_not(kvf_pb_depth_ok(&etcdserverpb__txn_request__descriptor, buf, n, 64));
	free(buf);
}

Test(pbwire, arena_allocates_and_resets)
{
	kvf_arena a;
	kvf_arena_init(&a);
	void *p = kvf_arena_alloc(&a, 100);
	void *q = kvf_arena_alloc(&a, 1 << 20);   /* bigger than a chunk */
	cr_assert(p && q && p != q);
	memset(q, 1, 1 << 20);
	kvf_arena_reset(&a);
	void *r = kvf_arena_alloc(&a, 16);
	cr_assert(r != NULL);
	kvf_arena_free(&a);
}

/* Found by fuzz_raft: an absent field is (NULL, 0), and kvf_pb_init used to
 * compute NULL + 0 (undefined behaviour). The empty reader must be empty
 * without pointing anywhere. */
Test(pbwire, reader_over_an_absent_field_is_empty)
{
	kvf_pb_reader r = kvf_pb_init(NULL, 0);
	cr_assert_null(r.p);
	cr_assert_eq(r.p, r.end);
	kvf_pb_field f;
	cr_assert_eq(kvf_pb_next(&r, &f), 0);
}
