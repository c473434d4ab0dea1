#include "request.h"

#include <string.h>

/* Nesting deeper than this is not something etcd produces (txn inside txn is
 * the only recursion); it is refused before protobuf-c recurses into it. */
#define MAX_DEPTH 64

static void set_undecodable(kvf_request *out, const char *why)
{
	out->cls = KVF_REQ_UNDECODABLE;
	out->kind = "undecodable";
	out->why = why;
}

/* The request field of an InternalRaftRequest: the first message field that
 * is set, other than the header and the v2 wrapper. */
static void classify_internal(Etcdserverpb__InternalRaftRequest *irr, kvf_request *out)
{
	const ProtobufCMessageDescriptor *d = &etcdserverpb__internal_raft_request__descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE || strcmp(f->name, "header") == 0)
			continue;
		const ProtobufCMessage *m = *(const ProtobufCMessage *const *)((const char *)irr + f->offset);
		if (!m)
			continue;
		out->field = f;
		out->body = m;
		out->kind = f->name;
		return;
	}
}

static bool v2_request(const uint8_t *p, size_t n, kvf_arena *arena, kvf_request *out)
{
	if (!kvf_pb_depth_ok(&etcdserverpb__request__descriptor, p, n, MAX_DEPTH))
		return false;
	Etcdserverpb__Request *v2 = etcdserverpb__request__unpack(&arena->pc, n, p);
	if (!v2 || !v2->has_method)
		return false;
	out->cls = KVF_REQ_V2;
	out->kind = "v2";
	out->v2 = v2;
	out->id = v2->id;
	return true;
}

void kvf_request_decode(const kvf_raft_entry *e, kvf_arena *arena, kvf_request *out)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *p = e->data;
	size_t n = e->len;
	switch (e->type) {
	case KVF_ENTRY_NORMAL:
		break;
	case KVF_ENTRY_CONF_CHANGE:
		out->cls = KVF_REQ_CONF_CHANGE;
		out->kind = "conf_change";
		if (!(out->cc = raftpb__conf_change__unpack(&arena->pc, n, p)))
			set_undecodable(out, "not a raftpb.ConfChange");
		else
			out->id = out->cc->id;
		return;
	case KVF_ENTRY_CONF_CHANGE_V2:
		out->cls = KVF_REQ_CONF_CHANGE_V2;
		out->kind = "conf_change_v2";
		if (!kvf_pb_depth_ok(&raftpb__conf_change_v2__descriptor, p, n, MAX_DEPTH) ||
		    !(out->ccv2 = raftpb__conf_change_v2__unpack(&arena->pc, n, p)))
			set_undecodable(out, "not a raftpb.ConfChangeV2");
		return;
	default:
		set_undecodable(out, "unknown entry type");
		return;
	}
	if (n == 0) {
		out->cls = KVF_REQ_EMPTY;
		out->kind = "empty";
		return;
	}
	Etcdserverpb__InternalRaftRequest *irr = NULL;
	if (kvf_pb_depth_ok(&etcdserverpb__internal_raft_request__descriptor, p, n, MAX_DEPTH))
		irr = etcdserverpb__internal_raft_request__unpack(&arena->pc, n, p);
	if (irr) {
		classify_internal(irr, out);
		/* Parsed, but neither header nor request: a v2 Request can look
		 * like that (its ID is field 1 in both); prefer v2 if it is one. */
		if (!irr->header && !out->field && v2_request(p, n, arena, out))
			return;
		out->cls = KVF_REQ_INTERNAL;
		out->irr = irr;
		if (!out->kind)
			out->kind = "unknown";
		if (irr->v2)
			out->v2 = irr->v2;
		out->id = irr->id ? irr->id : irr->v2 ? irr->v2->id : 0;
		if (irr->header) {
			out->has_header = true;
			out->id = irr->header->id;
			out->username = irr->header->username;
			out->auth_revision = irr->header->auth_revision;
		}
		return;
	}
	if (v2_request(p, n, arena, out))
		return;
	set_undecodable(out, "neither an InternalRaftRequest nor a v2 Request");
}

const char *const *kvf_request_kinds(void)
{
	static const char *kinds[64];
	if (!kinds[0]) {
		size_t k = 0;
		const ProtobufCMessageDescriptor *d = &etcdserverpb__internal_raft_request__descriptor;
		for (unsigned i = 0; i < d->n_fields && k < 56; i++)
			if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE &&
			    strcmp(d->fields[i].name, "header") != 0)
				kinds[k++] = d->fields[i].name;
		kinds[k++] = "empty";
		kinds[k++] = "conf_change";
		kinds[k++] = "conf_change_v2";
		kinds[k++] = "undecodable";
		kinds[k++] = "unknown";
		kinds[k] = NULL;
	}
	return kinds;
}

static const ProtobufCBinaryData no_bytes = { 0, NULL };

static void txn_keys(const Etcdserverpb__TxnRequest *t, kvf_key_fn fn, void *ctx, int depth)
{
	if (depth > MAX_DEPTH)
		return;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = pass ? t->n_failure : t->n_success;
		Etcdserverpb__RequestOp **ops = pass ? t->failure : t->success;
		for (size_t i = 0; i < n; i++) {
			const Etcdserverpb__RequestOp *op = ops[i];
			switch (op->request_case) {
			case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT:
				fn(ctx, "put", op->request_put->key, no_bytes);
				break;
			case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE:
				fn(ctx, "delete_range", op->request_delete_range->key,
				   op->request_delete_range->range_end);
				break;
			case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE:
				fn(ctx, "range", op->request_range->key, op->request_range->range_end);
				break;
			case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN:
				txn_keys(op->request_txn, fn, ctx, depth + 1);
				break;
			default:
				break;
			}
		}
	}
}

void kvf_request_keys(const kvf_request *r, kvf_key_fn fn, void *ctx)
{
	const Etcdserverpb__InternalRaftRequest *irr = r->irr;
	if (r->cls != KVF_REQ_INTERNAL || !irr)
		return;
	if (irr->put)
		fn(ctx, "put", irr->put->key, no_bytes);
	else if (irr->delete_range)
		fn(ctx, "delete_range", irr->delete_range->key, irr->delete_range->range_end);
	else if (irr->range)
		fn(ctx, "range", irr->range->key, irr->range->range_end);
	else if (irr->txn)
		txn_keys(irr->txn, fn, ctx, 0);
}
