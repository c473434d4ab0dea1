#include "wal/request.h"

#include "encoding/proto/etcd_versions.h"

#include <ctype.h>
#include <limits.h>
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

/* The v2 requests etcd 3.5 still writes, named as etcd's own v2 applier
 * tells them apart (3.5 server/etcdserver/apply_v2.go Put and Sync; 3.6's
 * v2ToV3Request converts exactly the first two and refuses the rest):
 *   PUT /0/members/<hex id>/attributes  a member publishing its name and
 *                                       client URLs (etcdserver.publish;
 *                                       StoreMemberAttributeRegexp, which
 *                                       is not anchored)
 *   PUT /0/version                      the cluster version (monitorVersions,
 *                                       updateClusterVersionV2)
 *   SYNC                                the leader expiring v2 TTL keys */
static bool member_attributes_path(const ProtobufCBinaryData *path, uint64_t *id)
{
	static const char pre[] = "/0/members/", post[] = "/attributes";
	/* An empty path is (NULL, 0) from protobuf-c: no arithmetic on it. */
	if (path->len == 0 || path->data == NULL)
		return false;
	const uint8_t *p = path->data, *end = path->data + path->len;
	for (; p < end; p++) {
		size_t left = (size_t)(end - p);
		if (left < sizeof(pre) - 1 + 1 + sizeof(post) - 1 || memcmp(p, pre, sizeof(pre) - 1) != 0)
			continue;
		const uint8_t *h = p + sizeof(pre) - 1;
		size_t digits = 0;
		while (h + digits < end && digits < 16 && isxdigit(h[digits]))
			digits++;
		if (digits && (size_t)(end - (h + digits)) >= sizeof(post) - 1 &&
		    memcmp(h + digits, post, sizeof(post) - 1) == 0) {
			uint64_t v = 0;
			for (size_t i = 0; i < digits; i++)
				v = v << 4 | (uint64_t)(isdigit(h[i]) ? h[i] - '0' : (tolower(h[i]) - 'a' + 10));
			*id = v;
			return true;
		}
	}
	return false;
}

static bool bytes_are(const ProtobufCBinaryData *b, const char *s)
{
	size_t n = strlen(s);
	return b->len == n && memcmp(b->data, s, n) == 0;
}

bool kvf_v2_member_attributes_id(const Etcdserverpb__Request *v2, uint64_t *id)
{
	return bytes_are(&v2->method, "PUT") && member_attributes_path(&v2->path, id);
}

const char *kvf_v2_kind(const Etcdserverpb__Request *v2)
{
	uint64_t id;
	if (kvf_v2_member_attributes_id(v2, &id))
		return "v2_member_attributes";
	if (bytes_are(&v2->method, "PUT") && bytes_are(&v2->path, "/0/version"))
		return "v2_cluster_version";
	if (bytes_are(&v2->method, "SYNC"))
		return "v2_sync";
	return "v2";
}

static bool v2_request(const uint8_t *p, size_t n, kvf_arena *arena, kvf_request *out)
{
	if (!kvf_pb_depth_ok(&etcdserverpb__request__descriptor, p, n, MAX_DEPTH))
		return false;
	Etcdserverpb__Request *v2 = etcdserverpb__request__unpack(&arena->pc, n, p);
	if (!v2 || !v2->has_method)
		return false;
	out->cls = KVF_REQ_V2;
	out->kind = kvf_v2_kind(v2);
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
		if (irr->v2) {
			out->v2 = irr->v2;
			if (out->field && strcmp(out->field->name, "v2") == 0)
				out->kind = kvf_v2_kind(irr->v2);
		}
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
		kinds[k++] = "v2_member_attributes";
		kinds[k++] = "v2_cluster_version";
		kinds[k++] = "v2_sync";
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

/* Every operation of a txn, both branches, nested txns included (their
 * ops, not themselves), to MAX_DEPTH. */
typedef void (*op_fn)(const Etcdserverpb__RequestOp *op, void *ctx);

static void txn_ops(const Etcdserverpb__TxnRequest *t, op_fn fn, void *ctx, int depth)
{
	if (depth > MAX_DEPTH)
		return;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = pass ? t->n_failure : t->n_success;
		Etcdserverpb__RequestOp **ops = pass ? t->failure : t->success;
		for (size_t i = 0; i < n; i++) {
			if (ops[i]->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN)
				txn_ops(ops[i]->request_txn, fn, ctx, depth + 1);
			else
				fn(ops[i], ctx);
		}
	}
}

typedef struct key_visit {
	kvf_key_fn fn;
	void *ctx;
} key_visit;

static void op_keys(const Etcdserverpb__RequestOp *op, void *ctx)
{
	key_visit *v = ctx;
	switch (op->request_case) {
	case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT:
		v->fn(v->ctx, "put", op->request_put->key, no_bytes);
		break;
	case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE:
		v->fn(v->ctx, "delete_range", op->request_delete_range->key,
		      op->request_delete_range->range_end);
		break;
	case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE:
		v->fn(v->ctx, "range", op->request_range->key, op->request_range->range_end);
		break;
	default:
		break;
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
	else if (irr->txn) {
		key_visit v = { fn, ctx };
		txn_ops(irr->txn, op_keys, &v, 0);
	}
}

typedef struct put_visit {
	kvf_put_fn fn;
	void *ctx;
} put_visit;

static void op_puts(const Etcdserverpb__RequestOp *op, void *ctx)
{
	put_visit *v = ctx;
	if (op->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT && op->request_put)
		v->fn(v->ctx, op->request_put);
}

void kvf_request_puts(const kvf_request *r, kvf_put_fn fn, void *ctx)
{
	const Etcdserverpb__InternalRaftRequest *irr = r->irr;
	if (r->cls != KVF_REQ_INTERNAL || !irr)
		return;
	if (irr->put)
		fn(ctx, irr->put);
	else if (irr->txn) {
		put_visit v = { fn, ctx };
		txn_ops(irr->txn, op_puts, &v, 0);
	}
}

/* ---- the kind without the decode ---- */

/* A protobuf-c message has far fewer fields than this before unpack runs
 * out of room for them ("too many fields"); beyond it we do not guess. */
#define SCAN_MAX_FIELDS (1u << 20)

static void raise_version(kvf_etcd_version *v, kvf_etcd_version w)
{
	if (w > *v)
		*v = w;
}

static bool has_required_field(const ProtobufCMessageDescriptor *d)
{
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED)
			return true;
	return false;
}

/* The one wire type protobuf-c accepts for a field of this type (BOOL
 * accepts any; we ask for the one etcd writes). */
static int wire_of(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
		return KVF_PB_I32;
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return KVF_PB_I64;
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
		return KVF_PB_LEN;
	default:
		return KVF_PB_VARINT;
	}
}

/* True only when protobuf_c_message_unpack (1.4) is certain to accept
 * these bytes as d, and kvf_pb_depth_ok with the same depth too; false
 * means "not sure", never "invalid". The checks are theirs, made
 * stricter where that is simpler to be sure of:
 *   - every field scans as kvf_pb_next reads it (what depth_ok asks), its
 *     key in at most 5 bytes and a length prefix in at most 5 bytes and
 *     below INT_MAX (protobuf-c's parse_tag_and_wiretype and
 *     scan_length_prefixed_data);
 *   - a known field has the wire type of its type (parse_required_member);
 *     unknown fields are kept by protobuf-c, whatever they hold;
 *   - no required fields (etcd's messages are proto3; none in ours), no
 *     repeated scalars (packed arrays have failure modes of their own),
 *     no message field twice (protobuf-c merges them);
 *   - nested messages pass the same test one level deeper.
 * `seen`, when given, gets bit i for every field d->fields[i] present. */
static bool surely_unpacks(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                           int depth_left, uint64_t *seen, kvf_etcd_version *ver)
{
	if (depth_left < 0 || has_required_field(d) || d->n_fields > 64)
		return false;
	const kvf_etcd_annotations *ann = ver ? kvf_etcd_annotations_of(d) : NULL;
	if (ann)
		raise_version(ver, ann->msg);
	kvf_pb_reader rd = kvf_pb_init(p, n);
	kvf_pb_field f;
	uint64_t messages = 0;
	unsigned count = 0;
	for (;;) {
		const uint8_t *at = rd.p;
		int rc = kvf_pb_next(&rd, &f);
		if (rc == 0)
			return true;
		if (rc < 0 || ++count > SCAN_MAX_FIELDS)
			return false;
		uint64_t key;
		size_t key_len = kvf_pb_varint(at, rd.end, &key);
		if (key_len > 5)
			return false;
		if (f.wire == KVF_PB_LEN &&
		    ((size_t)(f.data - at) - key_len > 5 || f.len > (size_t)INT_MAX))
			return false;
		const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.num);
		if (!fd)
			continue;
		if (f.wire != wire_of(fd->type))
			return false;
		unsigned idx = (unsigned)(fd - d->fields);
		if (fd->label == PROTOBUF_C_LABEL_REPEATED && fd->type != PROTOBUF_C_TYPE_MESSAGE &&
		    fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_BYTES)
			return false;
		bool list = fd->label == PROTOBUF_C_LABEL_REPEATED;
		if (ann && kvf_etcd_field_set(fd, &f)) {
			/* etcd's MinimalEtcdVersion visitor (encoding/proto/etcd_versions.h) */
			raise_version(ver, ann->field[idx]);
			if (fd->type == PROTOBUF_C_TYPE_ENUM && !list)
				raise_version(ver, kvf_etcd_enum_annotation(fd->descriptor, (int)f.u64));
		}
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (!list && (messages >> idx & 1))
				return false;
			messages |= UINT64_C(1) << idx;
			/* the visitor looks into singular messages only */
			if (!surely_unpacks(fd->descriptor, f.data, f.len, depth_left - 1, NULL, list ? NULL : ver))
				return false;
		}
		if (seen)
			*seen |= UINT64_C(1) << idx;
	}
}

const char *kvf_request_kind_scan(const kvf_raft_entry *e)
{
	return kvf_request_kind_scan_version(e, NULL);
}

const char *kvf_request_kind_scan_version(const kvf_raft_entry *e, kvf_etcd_version *ver)
{
	const ProtobufCMessageDescriptor *d = &etcdserverpb__internal_raft_request__descriptor;
	if (ver)
		*ver = 0;
	if (e->type != KVF_ENTRY_NORMAL)
		return NULL;
	if (e->len == 0) {
		if (ver)   /* an empty InternalRaftRequest to etcd's visitor */
			*ver = kvf_etcd_message_annotation(d);
		return "empty";
	}
	uint64_t seen = 0;
	if (!surely_unpacks(d, e->data, e->len, MAX_DEPTH, &seen, ver))
		return NULL;
	/* what classify_internal picks: the first message field set, in
	 * descriptor order, other than the header */
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if ((seen >> i & 1) && f->type == PROTOBUF_C_TYPE_MESSAGE && strcmp(f->name, "header") != 0)
			return strcmp(f->name, "v2") == 0 ? NULL : f->name;   /* v2: named by its path */
	}
	/* no request field: the full decode may prefer a bare v2 Request */
	return NULL;
}

const char *kvf_request_kind(const kvf_raft_entry *e, kvf_arena *arena)
{
	const char *kind = kvf_request_kind_scan(e);
	if (kind)
		return kind;
	kvf_request r;
	kvf_request_decode(e, arena, &r);
	return r.kind;
}

bool kvf_request_kind_bumps_auth_revision(const char *kind)
{
	/* every auth request that commits a new authRevision (auth/store.go
	 * commitRevision); AuthEnable does not bump it */
	static const char *const kinds[] = {
		"auth_disable", "auth_user_add", "auth_user_delete", "auth_user_change_password",
		"auth_user_grant_role", "auth_user_revoke_role", "auth_role_add", "auth_role_delete",
		"auth_role_grant_permission", "auth_role_revoke_permission", NULL,
	};
	for (int i = 0; kinds[i]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}
