#include "render/render_wal.h"

#include "render/render_k8s.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *crc_check_name(kvf_wal_crc_state s)
{
	return s == KVF_CRC_OK ? "ok" : s == KVF_CRC_MISMATCH ? "mismatch" : "unchecked";
}

/* ---- requests ---- */

json_t *kvf_json_header(const kvf_request *r)
{
	return json_pack("{s:o,s:o,s:o}", "id", kvf_json_dec_string(r->id),
	                 "username", kvf_json_bytes(r->username.data, r->username.len),
	                 "auth_revision", kvf_json_u64(r->auth_revision));
}

typedef struct key_list {
	json_t *arr;
	kvf_buf *text;
	size_t n;
} key_list;

static void add_key_json(void *ctx, const char *op, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	(void)op;
	(void)end;
	json_array_append_new(((key_list *)ctx)->arr, kvf_json_bytes(key.data, key.len));
}

json_t *kvf_json_request_keys(const kvf_request *r)
{
	key_list kl = { json_array(), NULL, 0 };
	kvf_request_keys(r, add_key_json, &kl);
	return kl.arr;
}

/* The Kubernetes objects a request puts: {"key", then the object's fields}. */
static void add_put_k8s_json(void *ctx, const Etcdserverpb__PutRequest *p)
{
	kvf_k8s_object k;
	if (!kvf_k8s_decode_bytes(p->value.data, p->value.len, &k))
		return;
	json_t *obj = json_object(), *fields = kvf_json_k8s(&k);
	kvf_json_set(obj, "key", kvf_json_bytes(p->key.data, p->key.len));
	json_object_update(obj, fields);
	json_decref(fields);
	json_array_append_new(ctx, obj);
}

json_t *kvf_json_request_k8s(const kvf_request *r)
{
	json_t *arr = json_array();
	kvf_request_puts(r, add_put_k8s_json, arr);
	return arr;
}

json_t *kvf_json_request(const kvf_request *r, const kvf_render_opts *o)
{
	json_t *obj = json_object();
	kvf_json_set(obj, "kind", json_string(r->kind));
	kvf_json_set(obj, "id", kvf_json_dec_string(r->id));
	if (r->has_header)
		kvf_json_set(obj, "header", kvf_json_header(r));
	switch (r->cls) {
	case KVF_REQ_INTERNAL:
		if (r->body)   /* under the field's name (a wrapped v2 request's kind is its own) */
			kvf_json_set(obj, r->field->name, kvf_json_message(r->body, o));
		break;
	case KVF_REQ_V2:
		kvf_json_set(obj, "v2", kvf_json_message(&r->v2->base, o));
		break;
	case KVF_REQ_CONF_CHANGE:
		if (r->cc)
			kvf_json_set(obj, "conf_change", kvf_json_message(&r->cc->base, o));
		break;
	case KVF_REQ_CONF_CHANGE_V2:
		if (r->ccv2)
			kvf_json_set(obj, "conf_change_v2", kvf_json_message(&r->ccv2->base, o));
		break;
	case KVF_REQ_UNDECODABLE:
		kvf_json_set(obj, "error", json_string(r->why));
		break;
	case KVF_REQ_EMPTY:
		break;
	}
	return obj;
}

/* A key with its range end, as etcdctl would be asked for it. */
static void text_range(kvf_buf *b, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	kvf_text_bytes(b, key.data, key.len);
	if (end.len == 0)
		return;
	if (end.len == 1 && end.data[0] == 0) {
		kvf_buf_puts(b, " ..(all after)");
		return;
	}
	/* prefix: range_end is the key with its last byte incremented */
	if (end.len <= key.len && end.len > 0) {
		size_t i = end.len - 1;
		if (memcmp(key.data, end.data, i) == 0 && key.data[i] != 0xff &&
		    (uint8_t)(key.data[i] + 1) == end.data[i] && end.len == key.len) {
			kvf_buf_puts(b, " (prefix)");
			return;
		}
	}
	kvf_buf_puts(b, " ..");
	kvf_text_bytes(b, end.data, end.len);
}

static void text_lease(kvf_buf *b, int64_t lease)
{
	if (lease)
		kvf_buf_printf(b, " lease=%" PRIx64, (uint64_t)lease);
}

/* A put's value that is a Kubernetes object: " [Pod default/web-1 ...]". */
static void text_put_k8s(kvf_buf *b, const Etcdserverpb__PutRequest *p)
{
	kvf_k8s_object k;
	if (kvf_k8s_decode_bytes(p->value.data, p->value.len, &k)) {
		kvf_buf_putc(b, ' ');
		kvf_text_k8s(b, &k);
	}
}

static void text_put(kvf_buf *b, const Etcdserverpb__PutRequest *p, const kvf_render_opts *o)
{
	kvf_text_bytes(b, p->key.data, p->key.len);
	if (o->values) {
		kvf_buf_puts(b, " = ");
		kvf_text_bytes(b, p->value.data, p->value.len);
	} else {
		kvf_buf_puts(b, " value=");
		kvf_text_size(b, p->value.len);
		text_put_k8s(b, p);
	}
	text_lease(b, p->lease);
	if (p->prev_kv) kvf_buf_puts(b, " prev_kv");
	if (p->ignore_value) kvf_buf_puts(b, " ignore_value");
	if (p->ignore_lease) kvf_buf_puts(b, " ignore_lease");
}

static void text_ops(kvf_buf *b, size_t n, Etcdserverpb__RequestOp **ops,
                     const kvf_render_opts *o, int depth);

static void text_txn(kvf_buf *b, const Etcdserverpb__TxnRequest *t, const kvf_render_opts *o, int depth)
{
	kvf_buf_printf(b, "compare=%zu", t->n_compare);
	for (size_t i = 0; i < t->n_compare; i++) {
		const Etcdserverpb__Compare *c = t->compare[i];
		kvf_buf_puts(b, i ? ", " : " [");
		const ProtobufCEnumValue *tv = protobuf_c_enum_descriptor_get_value(
			&etcdserverpb__compare__compare_target__descriptor, c->target);
		const ProtobufCEnumValue *rv = protobuf_c_enum_descriptor_get_value(
			&etcdserverpb__compare__compare_result__descriptor, c->result);
		kvf_buf_printf(b, "%s(", tv ? tv->name : "?");
		kvf_text_bytes(b, c->key.data, c->key.len);
		kvf_buf_printf(b, ") %s", rv ? rv->name : "?");
		if (i + 1 == t->n_compare)
			kvf_buf_putc(b, ']');
	}
	kvf_buf_printf(b, " success=%zu", t->n_success);
	text_ops(b, t->n_success, t->success, o, depth);
	kvf_buf_printf(b, " failure=%zu", t->n_failure);
	text_ops(b, t->n_failure, t->failure, o, depth);
}

static void text_ops(kvf_buf *b, size_t n, Etcdserverpb__RequestOp **ops,
                     const kvf_render_opts *o, int depth)
{
	if (!n)
		return;
	kvf_buf_puts(b, " {");
	for (size_t i = 0; i < n; i++) {
		const Etcdserverpb__RequestOp *op = ops[i];
		if (i)
			kvf_buf_puts(b, "; ");
		switch (op->request_case) {
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT:
			kvf_buf_puts(b, "put ");
			text_put(b, op->request_put, o);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE:
			kvf_buf_puts(b, "delete ");
			text_range(b, op->request_delete_range->key, op->request_delete_range->range_end);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE:
			kvf_buf_puts(b, "range ");
			text_range(b, op->request_range->key, op->request_range->range_end);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN:
			kvf_buf_puts(b, "txn ");
			if (depth < 8)
				text_txn(b, op->request_txn, o, depth + 1);
			else
				kvf_buf_puts(b, "...");
			break;
		default:
			kvf_buf_puts(b, "(empty op)");
			break;
		}
	}
	kvf_buf_putc(b, '}');
}

static void text_name(kvf_buf *b, const char *label, ProtobufCBinaryData v)
{
	kvf_buf_printf(b, "%s%s=", b->len && b->p[b->len - 1] != ' ' ? " " : "", label);
	kvf_text_bytes(b, v.data, v.len);
}

/* A credential from the log: etcd 3.4 puts the plain-text password in the
 * request (AuthUserAddRequest.password), 3.5 on a bcrypt hash of it
 * (hashedPassword, #11943). Either only with --show-secrets; otherwise
 * only that it is there, and its length. */
static void text_secret(kvf_buf *b, const char *label, ProtobufCBinaryData v, const kvf_render_opts *o)
{
	if (!v.len)
		return;
	if (o->show_secrets)
		text_name(b, label, v);
	else
		kvf_buf_printf(b, " %s=(%zu bytes, --show-secrets)", label, v.len);
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	return ev ? ev->name : "?";
}

static void text_internal(kvf_buf *b, const Etcdserverpb__InternalRaftRequest *q, const kvf_request *r,
                          const kvf_render_opts *o)
{
	if (q->put) {
		text_put(b, q->put, o);
	} else if (q->delete_range) {
		text_range(b, q->delete_range->key, q->delete_range->range_end);
	} else if (q->range) {
		text_range(b, q->range->key, q->range->range_end);
	} else if (q->txn) {
		text_txn(b, q->txn, o, 0);
	} else if (q->compaction) {
		kvf_buf_printf(b, "revision=%" PRId64 "%s", q->compaction->revision,
		               q->compaction->physical ? " physical" : "");
	} else if (q->lease_grant) {
		kvf_buf_printf(b, "lease=%" PRIx64 " ttl=%" PRId64, (uint64_t)q->lease_grant->id,
		               q->lease_grant->ttl);
	} else if (q->lease_revoke) {
		kvf_buf_printf(b, "lease=%" PRIx64, (uint64_t)q->lease_revoke->id);
	} else if (q->lease_checkpoint) {
		for (size_t i = 0; i < q->lease_checkpoint->n_checkpoints; i++) {
			const Etcdserverpb__LeaseCheckpoint *c = q->lease_checkpoint->checkpoints[i];
			kvf_buf_printf(b, "%slease=%" PRIx64 " remaining_ttl=%" PRId64, i ? ", " : "",
			               (uint64_t)c->id, c->remaining_ttl);
		}
	} else if (q->alarm) {
		kvf_buf_printf(b, "%s %s member=%016" PRIx64,
		               enum_name(&etcdserverpb__alarm_request__alarm_action__descriptor, q->alarm->action),
		               enum_name(&etcdserverpb__alarm_type__descriptor, q->alarm->alarm),
		               q->alarm->memberid);
	} else if (q->authenticate) {
		text_name(b, "user", q->authenticate->name);
		if (o->show_secrets)
			text_name(b, "token", q->authenticate->simple_token);
	} else if (q->auth_user_add) {
		text_name(b, "user", q->auth_user_add->name);
		if (q->auth_user_add->options && q->auth_user_add->options->no_password)
			kvf_buf_puts(b, " no_password");
		text_secret(b, "password", q->auth_user_add->password, o);
		text_secret(b, "hashed_password", q->auth_user_add->hashedpassword, o);
	} else if (q->auth_user_delete) {
		text_name(b, "user", q->auth_user_delete->name);
	} else if (q->auth_user_get) {
		text_name(b, "user", q->auth_user_get->name);
	} else if (q->auth_user_change_password) {
		text_name(b, "user", q->auth_user_change_password->name);
		text_secret(b, "password", q->auth_user_change_password->password, o);
		text_secret(b, "hashed_password", q->auth_user_change_password->hashedpassword, o);
	} else if (q->auth_user_grant_role) {
		text_name(b, "user", q->auth_user_grant_role->user);
		text_name(b, "role", q->auth_user_grant_role->role);
	} else if (q->auth_user_revoke_role) {
		text_name(b, "user", q->auth_user_revoke_role->name);
		text_name(b, "role", q->auth_user_revoke_role->role);
	} else if (q->auth_role_add) {
		text_name(b, "role", q->auth_role_add->name);
	} else if (q->auth_role_delete) {
		text_name(b, "role", q->auth_role_delete->role);
	} else if (q->auth_role_get) {
		text_name(b, "role", q->auth_role_get->role);
	} else if (q->auth_role_grant_permission) {
		text_name(b, "role", q->auth_role_grant_permission->name);
		const Authpb__Permission *p = q->auth_role_grant_permission->perm;
		if (p) {
			kvf_buf_printf(b, " perm=%s key=",
			               enum_name(&authpb__permission__type__descriptor, p->permtype));
			text_range(b, p->key, p->range_end);
		}
	} else if (q->auth_role_revoke_permission) {
		text_name(b, "role", q->auth_role_revoke_permission->role);
		kvf_buf_puts(b, " key=");
		text_range(b, q->auth_role_revoke_permission->key, q->auth_role_revoke_permission->range_end);
	} else if (q->cluster_version_set) {
		text_name(b, "version", q->cluster_version_set->ver);
	} else if (q->cluster_member_attr_set) {
		kvf_buf_printf(b, "member=%016" PRIx64, q->cluster_member_attr_set->member_id);
		const Membershippb__Attributes *a = q->cluster_member_attr_set->member_attributes;
		if (a) {
			text_name(b, "name", a->name);
			for (size_t i = 0; i < a->n_client_urls; i++)
				text_name(b, "client_url", a->client_urls[i]);
		}
	} else if (q->downgrade_info_set) {
		kvf_buf_printf(b, "enabled=%s", q->downgrade_info_set->enabled ? "true" : "false");
		text_name(b, "version", q->downgrade_info_set->ver);
	} else if (q->downgrade_version_test) {
		text_name(b, "version", q->downgrade_version_test->ver);
	} else if (q->v2) {
		(void)r;
	}
}

static void text_v2_generic(kvf_buf *b, const Etcdserverpb__Request *v, const kvf_render_opts *o)
{
	kvf_text_bytes(b, v->method.data, v->method.len);
	kvf_buf_putc(b, ' ');
	kvf_text_bytes(b, v->path.data, v->path.len);
	if (v->has_val) {
		if (o->values) {
			kvf_buf_puts(b, " = ");
			kvf_text_bytes(b, v->val.data, v->val.len);
		} else {
			kvf_buf_puts(b, " value=");
			kvf_text_size(b, v->val.len);
		}
	}
	if (v->has_dir && v->dir)
		kvf_buf_puts(b, " dir");
	if (v->has_recursive && v->recursive)
		kvf_buf_puts(b, " recursive");
}

/* PUT /0/members/<id>/attributes with membership.Attributes JSON
 * ({"name":..,"clientURLs":[..]}), shown as cluster_member_attr_set is. */
static bool text_v2_member_attributes(kvf_buf *b, const Etcdserverpb__Request *v)
{
	static const char pre[] = "/0/members/";
	const char *path = (const char *)v->path.data;
	const char *at = v->path.len < 4096 ? memmem(path, v->path.len, pre, sizeof(pre) - 1) : NULL;
	json_t *j = json_loadb((const char *)v->val.data, v->val.len, 0, NULL);
	if (!at || !json_is_object(j)) {
		json_decref(j);
		return false;
	}
	const char *id = at + sizeof(pre) - 1, *end = path + v->path.len, *slash = id;
	while (slash < end && *slash != '/')
		slash++;
	kvf_buf_puts(b, "member=");
	kvf_text_bytes(b, (const uint8_t *)id, (size_t)(slash - id));
	const char *name = json_string_value(json_object_get(j, "name"));
	kvf_buf_puts(b, " name=");
	kvf_text_bytes(b, (const uint8_t *)(name ? name : ""), name ? strlen(name) : 0);
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(j, "clientURLs"), i, u) {
		const char *s = json_string_value(u);
		kvf_buf_puts(b, i ? "," : " clients=");
		kvf_text_bytes(b, (const uint8_t *)(s ? s : "?"), s ? strlen(s) : 1);
	}
	json_decref(j);
	return true;
}

static void text_v2(kvf_buf *b, const Etcdserverpb__Request *v, const kvf_render_opts *o)
{
	const char *kind = kvf_v2_kind(v);
	if (strcmp(kind, "v2_member_attributes") == 0 && text_v2_member_attributes(b, v))
		return;
	if (strcmp(kind, "v2_cluster_version") == 0) {
		text_name(b, "version", v->val);
		return;
	}
	if (strcmp(kind, "v2_sync") == 0 && v->has_time) {
		/* the leader's clock in Unix nanoseconds: v2 TTL keys older than it expire */
		time_t secs = (time_t)(v->time / 1000000000);
		struct tm tm;
		char when[32];
		if (gmtime_r(&secs, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
			kvf_buf_printf(b, "time=%s", when);
			return;
		}
	}
	text_v2_generic(b, v, o);
}

void kvf_text_request(kvf_buf *b, const kvf_request *r, const kvf_render_opts *o)
{
	switch (r->cls) {
	case KVF_REQ_INTERNAL:
		if (r->v2 && !r->field)
			text_v2(b, r->v2, o);
		else if (r->irr->v2)
			text_v2(b, r->irr->v2, o);
		else
			text_internal(b, r->irr, r, o);
		break;
	case KVF_REQ_V2:
		text_v2(b, r->v2, o);
		break;
	case KVF_REQ_CONF_CHANGE:
		if (r->cc) {
			kvf_buf_printf(b, "%s node=%016" PRIx64, kvf_conf_change_type_name(r->cc->type),
			               r->cc->node_id);
			if (r->cc->has_context)
				kvf_buf_printf(b, " context=%zuB", r->cc->context.len);
		}
		break;
	case KVF_REQ_CONF_CHANGE_V2:
		if (r->ccv2) {
			for (size_t i = 0; i < r->ccv2->n_changes; i++)
				kvf_buf_printf(b, "%s%s node=%016" PRIx64, i ? ", " : "",
				               kvf_conf_change_type_name(r->ccv2->changes[i]->type),
				               r->ccv2->changes[i]->node_id);
		}
		break;
	case KVF_REQ_UNDECODABLE:
		kvf_buf_puts(b, r->why);
		break;
	case KVF_REQ_EMPTY:
		kvf_buf_puts(b, "(leader no-op)");
		break;
	}
	if (r->has_header) {
		if (r->username.len) {
			kvf_buf_puts(b, b->len && b->p[b->len - 1] != ' ' ? "  user=" : "user=");
			kvf_text_bytes(b, r->username.data, r->username.len);
		}
		if (r->auth_revision)
			kvf_buf_printf(b, "%sauth_rev=%" PRIu64,
			               b->len && b->p[b->len - 1] != ' ' ? (r->username.len ? " " : "  ") : "",
			               r->auth_revision);
	}
}

/* ---- WAL items ---- */

static json_t *conf_state_json(const Raftpb__ConfState *cs)
{
	json_t *obj = json_object();
	struct { const char *name; size_t n; const uint64_t *v; } lists[] = {
		{ "voters", cs->n_voters, cs->voters },
		{ "learners", cs->n_learners, cs->learners },
		{ "voters_outgoing", cs->n_voters_outgoing, cs->voters_outgoing },
		{ "learners_next", cs->n_learners_next, cs->learners_next },
	};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		json_t *arr = json_array();
		for (size_t k = 0; k < lists[i].n; k++)
			json_array_append_new(arr, kvf_json_hex(lists[i].v[k]));
		kvf_json_set(obj, lists[i].name, arr);
	}
	kvf_json_set(obj, "auto_leave", json_boolean(cs->has_auto_leave && cs->auto_leave));
	return obj;
}

json_t *kvf_json_conf_state(const Raftpb__ConfState *cs)
{
	return conf_state_json(cs);
}

json_t *kvf_json_wal_finding(const kvf_wal_event *ev)
{
	const kvf_wal_finding *f = &ev->finding;
	return json_pack("{s:s,s:b,s:s,s:o,s:o,s:s}", "finding", kvf_wal_finding_name(f->kind),
	                 "damage", f->damage, "segment", ev->segment ? ev->segment->name : "",
	                 "offset", kvf_json_u64(f->offset), "end", kvf_json_u64(f->end),
	                 "message", f->msg);
}

json_t *kvf_json_wal_finding_of(const char *member, const kvf_wal_event *ev)
{
	json_t *obj = kvf_json_wal_finding(ev);
	kvf_json_set(obj, "member", json_string(member));
	kvf_json_set(obj, "path", json_string(ev->segment ? ev->segment->path : ""));
	return obj;
}

void kvf_jw_prepend_member(kvf_buf *b, size_t at, const char *member)
{
	if (b->len <= at || b->p[at] != '{')
		return;
	kvf_buf tag = KVF_BUF_INIT;
	KVF_JW_LIT(&tag, "\"member\":");
	kvf_jw_bytes(&tag, (const uint8_t *)member, strlen(member));
	kvf_jw_raw(&tag, b->len > at + 2 ? "," : "");
	size_t tail = b->len - at - 1;
	if (tag.len && kvf_buf_append(b, tag.p, tag.len)) {   /* room, then move the tail */
		memmove(b->p + at + 1 + tag.len, b->p + at + 1, tail);
		memcpy(b->p + at + 1, tag.p, tag.len);
	}
	kvf_buf_free(&tag);
}

json_t *kvf_json_wal_item(const kvf_log_item *it, const kvf_render_opts *o)
{
	const kvf_wal_event *ev = &it->ev;
	if (ev->kind == KVF_WAL_EV_FINDING)
		return kvf_json_wal_finding(ev);
	if (ev->kind != KVF_WAL_EV_RECORD)
		return NULL;
	const kvf_wal_record *rec = &ev->rec;
	json_t *obj = json_object();
	kvf_json_set(obj, "record", json_string(kvf_wal_rec_type_name(rec->type)));
	kvf_json_set(obj, "segment", json_string(ev->segment->name));
	kvf_json_set(obj, "offset", kvf_json_u64(rec->offset));
	kvf_json_set(obj, "crc", json_integer(rec->crc));
	kvf_json_set(obj, "crc_check", json_string(crc_check_name(rec->crc_state)));
	if (!it->payload_ok && rec->type != KVF_WAL_CRC) {
		kvf_json_set(obj, "raw", kvf_json_bytes(rec->data, rec->len));
		if (rec->type < 1 || rec->type > 5)
			kvf_json_set(obj, "type_number", json_integer(rec->type));
		return obj;
	}
	switch (rec->type) {
	case KVF_WAL_ENTRY: {
		const kvf_raft_entry *e = &it->entry;
		kvf_json_set(obj, "index", kvf_json_u64(e->index));
		kvf_json_set(obj, "term", kvf_json_u64(e->term));
		kvf_json_set(obj, "type", json_string(kvf_entry_type_name(e->type)));
		if (it->req.kind) {
			kvf_json_set(obj, "request", kvf_json_request(&it->req, o));
			json_t *keys = kvf_json_request_keys(&it->req);
			if (json_array_size(keys))
				kvf_json_set(obj, "keys", keys);
			else
				json_decref(keys);
			json_t *objects = kvf_json_request_k8s(&it->req);
			if (json_array_size(objects))
				kvf_json_set(obj, "k8s", objects);
			else
				json_decref(objects);
		}
		kvf_json_set(obj, "uncommitted", json_boolean(it->uncommitted));
		kvf_json_set(obj, "overwritten", json_boolean(it->overwritten));
		break;
	}
	case KVF_WAL_STATE:
		kvf_json_set(obj, "term", kvf_json_u64(it->hs.term));
		kvf_json_set(obj, "vote", kvf_json_hex(it->hs.vote));
		kvf_json_set(obj, "commit", kvf_json_u64(it->hs.commit));
		break;
	case KVF_WAL_METADATA:
		kvf_json_set(obj, "node_id", kvf_json_hex(it->md.node_id));
		kvf_json_set(obj, "cluster_id", kvf_json_hex(it->md.cluster_id));
		break;
	case KVF_WAL_SNAPSHOT:
		kvf_json_set(obj, "index", kvf_json_u64(it->snap.index));
		kvf_json_set(obj, "term", kvf_json_u64(it->snap.term));
		if (it->snap.conf_state)
			kvf_json_set(obj, "conf_state", conf_state_json(it->snap.conf_state));
		break;
	default:
		break;
	}
	return obj;
}

json_t *kvf_json_snap_v2(const kvf_snap_v2 *v)
{
	if (!v->parsed)
		return json_null();
	return json_pack("{s:I,s:I,s:I,s:o,s:o,s:o}", "members", (json_int_t)v->members,
	                 "learners", (json_int_t)v->learners, "removed_members", (json_int_t)v->removed,
	                 "version", v->version[0] ? json_string(v->version) : json_null(),
	                 "other_keys", kvf_json_u64(v->other_keys),
	                 "first_other_key", v->other_keys ? kvf_json_bytes((const uint8_t *)v->first_other,
	                                                                   strlen(v->first_other)) : json_null());
}

void kvf_text_snap_v2(kvf_buf *b, const kvf_snap_v2 *v)
{
	if (!v->parsed)
		return;
	kvf_buf_printf(b, " v2store: members=%u", v->members);
	if (v->learners)
		kvf_buf_printf(b, " learners=%u", v->learners);
	if (v->removed)
		kvf_buf_printf(b, " removed=%u", v->removed);
	if (v->version[0])
		kvf_buf_printf(b, " version=%s", v->version);
	if (!v->other_keys) {
		kvf_buf_puts(b, " membership only");
		return;
	}
	kvf_buf_printf(b, " other_keys=%" PRIu64 " (", v->other_keys);
	kvf_text_bytes(b, (const uint8_t *)v->first_other, strlen(v->first_other));
	kvf_buf_puts(b, v->other_keys > 1 ? ", ...)" : ")");
}

void kvf_text_conf_state(kvf_buf *b, const Raftpb__ConfState *cs)
{
	const struct { const char *name; size_t n; const uint64_t *v; } lists[] = {
		{ "voters", cs->n_voters, cs->voters },
		{ "learners", cs->n_learners, cs->learners },
		{ "voters_outgoing", cs->n_voters_outgoing, cs->voters_outgoing },
		{ "learners_next", cs->n_learners_next, cs->learners_next },
	};
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		if (l && !lists[l].n)
			continue;   /* voters always, the others when there are some */
		kvf_buf_printf(b, " %s=", lists[l].name);
		for (size_t i = 0; i < lists[l].n; i++)
			kvf_buf_printf(b, "%s%016" PRIx64, i ? "," : "", lists[l].v[i]);
	}
	if (cs->has_auto_leave && cs->auto_leave)
		kvf_buf_puts(b, " auto_leave");
}

void kvf_text_wal_finding(kvf_buf *b, const kvf_wal_event *ev, const kvf_render_opts *o)
{
	const kvf_wal_finding *f = &ev->finding;
	kvf_buf_printf(b, "%s%s %s: offset %" PRIu64 ": %s: %s%s",
	               kvf_color(o, f->damage ? "damage" : "note"), f->damage ? "!!" : "--",
	               ev->segment ? ev->segment->name : "?", f->offset,
	               kvf_wal_finding_name(f->kind), f->msg, kvf_color(o, "reset"));
}

void kvf_text_wal_finding_of(kvf_buf *b, const char *member, const kvf_wal_event *ev,
                             const kvf_render_opts *o)
{
	const kvf_wal_finding *f = &ev->finding;
	kvf_buf_printf(b, "%s%s %s: %s: offset %" PRIu64 ": %s: %s%s",
	               kvf_color(o, f->damage ? "damage" : "note"), f->damage ? "!!" : "--", member,
	               ev->segment ? ev->segment->path : "?", f->offset,
	               kvf_wal_finding_name(f->kind), f->msg, kvf_color(o, "reset"));
}

/* column widths of the listing: index, term, kind */
#define INDEX_W 9
#define TERM_W 5
#define KIND_W 27

bool kvf_text_wal_item(kvf_buf *b, const kvf_log_item *it, const kvf_render_opts *o, bool all_records)
{
	const kvf_wal_event *ev = &it->ev;
	if (ev->kind == KVF_WAL_EV_FINDING) {
		kvf_text_wal_finding(b, ev, o);
		return true;
	}
	if (ev->kind != KVF_WAL_EV_RECORD)
		return false;
	const kvf_wal_record *rec = &ev->rec;
	if (rec->type == KVF_WAL_ENTRY && it->payload_ok) {
		const kvf_raft_entry *e = &it->entry;
		/* "%9" PRIu64 " %5" PRIu64 "  %-27s " */
		kvf_text_uint(b, e->index, INDEX_W);
		kvf_buf_putc(b, ' ');
		kvf_text_uint(b, e->term, TERM_W);
		kvf_buf_puts(b, "  ");
		kvf_text_padded(b, it->req.kind ? it->req.kind : kvf_entry_type_name(e->type), KIND_W);
		kvf_buf_putc(b, ' ');
		if (it->req.kind)
			kvf_text_request(b, &it->req, o);
		if (it->uncommitted)
			kvf_buf_printf(b, "  %s[uncommitted]%s", kvf_color(o, "note"), kvf_color(o, "reset"));
		if (it->overwritten)
			kvf_buf_printf(b, "  %s[overwritten]%s", kvf_color(o, "note"), kvf_color(o, "reset"));
		if (rec->crc_state == KVF_CRC_MISMATCH)
			kvf_buf_printf(b, "  %s[crc mismatch]%s", kvf_color(o, "damage"), kvf_color(o, "reset"));
		return true;
	}
	/* other records: metadata and snapshot markers always, the rest on request */
	bool marker = rec->type == KVF_WAL_METADATA || rec->type == KVF_WAL_SNAPSHOT;
	if (!all_records && !marker && it->payload_ok)
		return false;
	kvf_buf_printf(b, "%s%*s %*s  %-*s", kvf_color(o, "dim"), INDEX_W, "-", TERM_W, "-",
	               KIND_W, kvf_wal_rec_type_name(rec->type));
	if (!it->payload_ok && rec->type != KVF_WAL_CRC) {
		kvf_buf_printf(b, " raw=");
		kvf_text_bytes(b, rec->data, rec->len);
	} else {
		switch (rec->type) {
		case KVF_WAL_METADATA:
			kvf_buf_printf(b, " node=%016" PRIx64 " cluster=%016" PRIx64, it->md.node_id, it->md.cluster_id);
			break;
		case KVF_WAL_STATE:
			kvf_buf_printf(b, " term=%" PRIu64 " vote=%016" PRIx64 " commit=%" PRIu64,
			               it->hs.term, it->hs.vote, it->hs.commit);
			break;
		case KVF_WAL_SNAPSHOT:
			kvf_buf_printf(b, " index=%" PRIu64 " term=%" PRIu64, it->snap.index, it->snap.term);
			if (it->snap.conf_state)
				kvf_text_conf_state(b, it->snap.conf_state);
			break;
		case KVF_WAL_CRC:
			kvf_buf_printf(b, " %08x", rec->crc);
			break;
		default:
			break;
		}
	}
	kvf_buf_printf(b, "  @%" PRIu64 "%s", rec->offset, kvf_color(o, "reset"));
	if (rec->crc_state == KVF_CRC_MISMATCH)
		kvf_buf_printf(b, "  %s[crc mismatch]%s", kvf_color(o, "damage"), kvf_color(o, "reset"));
	return true;
}

/* ---- summary ---- */

/* The lowest etcd that can read the entries after the newest valid
 * snapshot (walversion.h) and the v2 requests among them. */
static json_t *json_wal_version(const kvf_wal_version_result *w)
{
	if (!w->known)
		return json_null();
	char min[16];
	kvf_etcd_version_format(w->min, min);
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	                 "min", w->min ? json_string(min) : json_null(),
	                 "after_snapshot_index", kvf_json_u64(w->after_index),
	                 "entries", kvf_json_u64(w->entries),
	                 "v2_requests", kvf_json_u64(w->v2),
	                 "v2_refused_by_3_6", kvf_json_u64(w->v2_refused_36),
	                 "first_v2_index", w->v2 ? kvf_json_u64(w->first_v2) : json_null(),
	                 "undecodable", kvf_json_u64(w->unreadable));
}

static void text_wal_version(kvf_buf *b, const kvf_wal_version_result *w, const kvf_render_opts *o)
{
	if (!w->known)
		return;
	char after[48] = "";
	if (w->after_index)
		snprintf(after, sizeof(after), " after snapshot %" PRIu64, w->after_index);
	kvf_buf_puts(b, "readable by   ");
	if (w->min)
		kvf_buf_printf(b, "etcd %u.%u and later", w->min >> 16, (w->min >> 8) & 0xff);
	else
		kvf_buf_puts(b, "any etcd");
	kvf_buf_printf(b, " (the %" PRIu64 " entries%s; etcd's MinimalEtcdVersion)\n", w->entries, after);
	if (w->v2) {
		kvf_buf_printf(b, "v2 requests   %s%" PRIu64 " not covered by a snapshot (from index %" PRIu64
		               "): etcd 3.7 cannot apply them", kvf_color(o, "note"), w->v2, w->first_v2);
		if (w->v2_refused_36)
			kvf_buf_printf(b, ", 3.6 refuses %" PRIu64 " (not member attributes or version)",
			               w->v2_refused_36);
		kvf_buf_printf(b, "%s\n", kvf_color(o, "reset"));
	}
	if (w->unreadable)
		kvf_buf_printf(b, "undecodable   %" PRIu64 "%s: etcd's MinimalEtcdVersion fails on them\n",
		               w->unreadable, after);
}

json_t *kvf_json_log_summary(const kvf_log_summary *s, const kvf_wal_segments *segs)
{
	json_t *obj = json_object();
	kvf_json_set(obj, "segments", json_integer((json_int_t)s->segments));
	json_t *names = json_array();
	for (size_t i = 0; segs && i < segs->n; i++)
		json_array_append_new(names, json_string(segs->v[i].name));
	kvf_json_set(obj, "segment_files", names);
	kvf_json_set(obj, "bytes", kvf_json_u64(s->bytes));
	json_t *recs = json_object();
	for (int t = 1; t <= 5; t++)
		kvf_json_set(recs, kvf_wal_rec_type_name(t), kvf_json_u64(s->records_by_type[t]));
	if (s->records_by_type[0])
		kvf_json_set(recs, "unknown", kvf_json_u64(s->records_by_type[0]));
	kvf_json_set(obj, "records", recs);
	kvf_json_set(obj, "entries", kvf_json_u64(s->entries));
	kvf_json_set(obj, "first_index", s->have_entries ? kvf_json_u64(s->first_index) : json_null());
	kvf_json_set(obj, "last_index", s->have_entries ? kvf_json_u64(s->last_index) : json_null());
	json_t *terms = json_array();
	for (size_t i = 0; i < s->n_terms; i++)
		json_array_append_new(terms, json_pack("{s:o,s:o}", "term", kvf_json_u64(s->terms[i].term),
		                                       "first_index", kvf_json_u64(s->terms[i].first_index)));
	kvf_json_set(obj, "terms", terms);
	json_t *kinds = json_object();
	const char *const *names_k = kvf_request_kinds();
	for (int k = 0; names_k[k]; k++)
		if (s->kind_count[k])
			kvf_json_set(kinds, names_k[k], kvf_json_u64(s->kind_count[k]));
	kvf_json_set(obj, "kinds", kinds);
	if (s->have_hardstate)
		kvf_json_set(obj, "hardstate", json_pack("{s:o,s:o,s:o}", "term", kvf_json_u64(s->hardstate.term),
		                                         "vote", kvf_json_hex(s->hardstate.vote),
		                                         "commit", kvf_json_u64(s->hardstate.commit)));
	else
		kvf_json_set(obj, "hardstate", json_null());
	if (s->have_metadata)
		kvf_json_set(obj, "metadata", json_pack("{s:o,s:o}", "node_id", kvf_json_hex(s->metadata.node_id),
		                                        "cluster_id", kvf_json_hex(s->metadata.cluster_id)));
	else
		kvf_json_set(obj, "metadata", json_null());
	json_t *snaps = json_array();
	for (size_t i = 0; i < s->n_snaps; i++)
		json_array_append_new(snaps, json_pack("{s:o,s:o}", "index", kvf_json_u64(s->snaps[i].index),
		                                       "term", kvf_json_u64(s->snaps[i].term)));
	kvf_json_set(obj, "snapshots", snaps);
	kvf_json_set(obj, "uncommitted", kvf_json_u64(s->uncommitted));
	kvf_json_set(obj, "overwritten", kvf_json_u64(s->overwritten));
	kvf_json_set(obj, "crc", json_pack("{s:o,s:o,s:o}", "ok", kvf_json_u64(s->crc_ok),
	                                   "mismatch", kvf_json_u64(s->crc_bad),
	                                   "unchecked", kvf_json_u64(s->crc_unchecked)));
	json_t *fc = json_object();
	for (int k = 0; k < KVF_WAL_FINDING_KINDS; k++)
		if (s->finding_count[k])
			kvf_json_set(fc, kvf_wal_finding_name(k), kvf_json_u64(s->finding_count[k]));
	kvf_json_set(obj, "findings", fc);
	kvf_json_set(obj, "damage", kvf_json_u64(s->damage));
	kvf_json_set(obj, "etcd_version", json_wal_version(&s->wal_version));
	kvf_json_log_incomplete(obj, s);
	return obj;
}

void kvf_text_log_incomplete(kvf_buf *b, const kvf_log_summary *s)
{
	if (s->later_segments_missing)
		kvf_buf_printf(b, ", incomplete: later segments are missing from the evidence (the next is "
		               "%016" PRIx64 "-%016" PRIx64 ".wal)", s->next_segment_seq, s->next_segment_index);
}

void kvf_json_log_incomplete(json_t *obj, const kvf_log_summary *s)
{
	char name[64];
	snprintf(name, sizeof(name), "%016" PRIx64 "-%016" PRIx64 ".wal", s->next_segment_seq,
	         s->next_segment_index);
	kvf_json_set(obj, "incomplete", json_boolean(s->later_segments_missing));
	kvf_json_set(obj, "next_segment", s->later_segments_missing ? json_string(name) : json_null());
}

void kvf_text_log_summary(kvf_buf *b, const kvf_log_summary *s, const kvf_render_opts *o)
{
	kvf_buf_printf(b, "segments      %zu (", s->segments);
	kvf_text_size(b, s->bytes);
	kvf_buf_printf(b, ")\nrecords       entry %" PRIu64 ", state %" PRIu64 ", crc %" PRIu64
	               ", metadata %" PRIu64 ", snapshot %" PRIu64,
	               s->records_by_type[2], s->records_by_type[3], s->records_by_type[4],
	               s->records_by_type[1], s->records_by_type[5]);
	if (s->records_by_type[0])
		kvf_buf_printf(b, ", unknown %" PRIu64, s->records_by_type[0]);
	kvf_buf_putc(b, '\n');
	if (s->have_entries)
		kvf_buf_printf(b, "entries       %" PRIu64 " (index %" PRIu64 "..%" PRIu64 ")\n",
		               s->entries, s->first_index, s->last_index);
	else
		kvf_buf_printf(b, "entries       0\n");
	kvf_buf_puts(b, "terms         ");
	for (size_t i = 0; i < s->n_terms; i++)
		kvf_buf_printf(b, "%s%" PRIu64 " from %" PRIu64, i ? ", " : "", s->terms[i].term,
		               s->terms[i].first_index);
	kvf_buf_putc(b, '\n');
	if (s->have_hardstate)
		kvf_buf_printf(b, "hard state    term %" PRIu64 ", vote %016" PRIx64 ", commit %" PRIu64 "\n",
		               s->hardstate.term, s->hardstate.vote, s->hardstate.commit);
	if (s->have_metadata)
		kvf_buf_printf(b, "member        node %016" PRIx64 ", cluster %016" PRIx64 "\n",
		               s->metadata.node_id, s->metadata.cluster_id);
	kvf_buf_printf(b, "uncommitted   %" PRIu64 "\noverwritten   %" PRIu64 "\n", s->uncommitted,
	               s->overwritten);
	if (s->n_snaps) {
		kvf_buf_puts(b, "snapshots     ");
		for (size_t i = 0; i < s->n_snaps; i++)
			kvf_buf_printf(b, "%s%" PRIu64 "@%" PRIu64, i ? ", " : "", s->snaps[i].index,
			               s->snaps[i].term);
		kvf_buf_putc(b, '\n');
	}
	kvf_buf_puts(b, "kinds\n");
	const char *const *names = kvf_request_kinds();
	for (int k = 0; names[k]; k++)
		if (s->kind_count[k])
			kvf_buf_printf(b, "  %-30s %" PRIu64 "\n", names[k], s->kind_count[k]);
	text_wal_version(b, &s->wal_version, o);
	kvf_buf_printf(b, "crc chain     %" PRIu64 " ok, %" PRIu64 " mismatch, %" PRIu64 " unchecked\n",
	               s->crc_ok, s->crc_bad, s->crc_unchecked);
	if (!s->findings)
		kvf_buf_puts(b, "findings      none\n");
	else
		kvf_buf_puts(b, "findings\n");
	for (int k = 0; k < KVF_WAL_FINDING_KINDS; k++)
		if (s->finding_count[k])
			kvf_buf_printf(b, "  %s%-30s %" PRIu64 "%s%s\n",
			               kvf_color(o, kvf_wal_finding_is_damage(k) ? "damage" : "note"),
			               kvf_wal_finding_name(k), s->finding_count[k],
			               kvf_wal_finding_is_damage(k) ? "" : "  (normal)", kvf_color(o, "reset"));
	kvf_buf_printf(b, "verdict       %s", s->damage ? "DAMAGED" : "clean");
	kvf_text_log_incomplete(b, s);
	kvf_buf_putc(b, '\n');
}

/* ---- the same records, streamed (render.h: kvf_jw_*) ---- */

static void jw_header(kvf_buf *b, const kvf_request *r)
{
	KVF_JW_LIT(b, "{\"id\":");
	kvf_jw_dec_string(b, r->id);
	KVF_JW_LIT(b, ",\"username\":");
	kvf_jw_bytes(b, r->username.data, r->username.len);
	KVF_JW_LIT(b, ",\"auth_revision\":");
	kvf_jw_u64(b, r->auth_revision);
	KVF_JW_LIT(b, "}");
}

static void jw_request(kvf_buf *b, const kvf_request *r, const kvf_render_opts *o)
{
	KVF_JW_LIT(b, "{");
	kvf_jw_key(b, "kind");
	kvf_jw_string(b, r->kind);
	kvf_jw_key(b, "id");
	kvf_jw_dec_string(b, r->id);
	if (r->has_header) {
		kvf_jw_key(b, "header");
		jw_header(b, r);
	}
	switch (r->cls) {
	case KVF_REQ_INTERNAL:
		if (r->body) {
			kvf_jw_key(b, r->field->name);
			kvf_jw_message(b, r->body, o);
		}
		break;
	case KVF_REQ_V2:
		kvf_jw_key(b, "v2");
		kvf_jw_message(b, &r->v2->base, o);
		break;
	case KVF_REQ_CONF_CHANGE:
		if (r->cc) {
			kvf_jw_key(b, "conf_change");
			kvf_jw_message(b, &r->cc->base, o);
		}
		break;
	case KVF_REQ_CONF_CHANGE_V2:
		if (r->ccv2) {
			kvf_jw_key(b, "conf_change_v2");
			kvf_jw_message(b, &r->ccv2->base, o);
		}
		break;
	case KVF_REQ_UNDECODABLE:
		kvf_jw_key(b, "error");
		kvf_jw_string(b, r->why);
		break;
	case KVF_REQ_EMPTY:
		break;
	}
	KVF_JW_LIT(b, "}");
}

typedef struct jw_puts {
	kvf_buf *b;
	bool any;
} jw_puts;

static void jw_put_k8s(void *ctx, const Etcdserverpb__PutRequest *p)
{
	jw_puts *w = ctx;
	kvf_k8s_object k;
	if (!kvf_k8s_decode_bytes(p->value.data, p->value.len, &k))
		return;
	kvf_jw_raw(w->b, w->any ? ",{" : ",\"k8s\":[{");
	w->any = true;
	kvf_jw_key(w->b, "key");
	kvf_jw_bytes(w->b, p->key.data, p->key.len);
	/* the object's fields after "key": kvf_jw_k8s's object without its brace */
	size_t at = w->b->len;
	kvf_jw_k8s(w->b, &k);
	w->b->p[at] = ',';
}

/* kvf_json_request_k8s, streamed as ',"k8s":[...]' when there are objects */
static void jw_request_k8s(kvf_buf *b, const kvf_request *r)
{
	jw_puts w = { b, false };
	kvf_request_puts(r, jw_put_k8s, &w);
	if (w.any)
		KVF_JW_LIT(b, "]");
}

static void jw_key_elem(void *ctx, const char *op, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	(void)op;
	(void)end;
	kvf_jw_elem(ctx);
	kvf_jw_bytes(ctx, key.data, key.len);
}

static void jw_conf_state(kvf_buf *b, const Raftpb__ConfState *cs)
{
	struct { const char *name; size_t n; const uint64_t *v; } lists[] = {
		{ "voters", cs->n_voters, cs->voters },
		{ "learners", cs->n_learners, cs->learners },
		{ "voters_outgoing", cs->n_voters_outgoing, cs->voters_outgoing },
		{ "learners_next", cs->n_learners_next, cs->learners_next },
	};
	KVF_JW_LIT(b, "{");
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		kvf_jw_key(b, lists[i].name);
		KVF_JW_LIT(b, "[");
		for (size_t k = 0; k < lists[i].n; k++) {
			kvf_jw_elem(b);
			kvf_jw_hex(b, lists[i].v[k]);
		}
		KVF_JW_LIT(b, "]");
	}
	kvf_jw_key(b, "auto_leave");
	kvf_jw_bool(b, cs->has_auto_leave && cs->auto_leave);
	KVF_JW_LIT(b, "}");
}

/* A name the stream can write as it is: what json_string would accept and
 * dump unchanged. Other names go through jansson, which decides. */
static bool plain_name(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s < 0x20 || (uint8_t)*s >= 0x7f || *s == '"' || *s == '\\')
			return false;
	return true;
}

bool kvf_jw_wal_item(kvf_buf *b, const kvf_log_item *it, const kvf_render_opts *o)
{
	const kvf_wal_event *ev = &it->ev;
	if (ev->kind == KVF_WAL_EV_FINDING ||
	    (ev->kind == KVF_WAL_EV_RECORD && !plain_name(ev->segment->name))) {
		/* rare: the tree, dumped */
		json_t *v = kvf_json_wal_item(it, o);
		bool ok = v && kvf_json_append(b, v, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(v);
		return ok;
	}
	if (ev->kind != KVF_WAL_EV_RECORD)
		return false;
	const kvf_wal_record *rec = &ev->rec;
	KVF_JW_LIT(b, "{\"record\":");
	kvf_jw_string(b, kvf_wal_rec_type_name(rec->type));
	KVF_JW_LIT(b, ",\"segment\":");
	kvf_jw_string(b, ev->segment->name);
	KVF_JW_LIT(b, ",\"offset\":");
	kvf_jw_u64(b, rec->offset);
	KVF_JW_LIT(b, ",\"crc\":");
	kvf_jw_int(b, rec->crc);
	KVF_JW_LIT(b, ",\"crc_check\":");
	kvf_jw_string(b, crc_check_name(rec->crc_state));
	if (!it->payload_ok && rec->type != KVF_WAL_CRC) {
		KVF_JW_LIT(b, ",\"raw\":");
		kvf_jw_bytes(b, rec->data, rec->len);
		if (rec->type < 1 || rec->type > 5) {
			KVF_JW_LIT(b, ",\"type_number\":");
			kvf_jw_int(b, rec->type);
		}
		KVF_JW_LIT(b, "}");
		return true;
	}
	switch (rec->type) {
	case KVF_WAL_ENTRY: {
		const kvf_raft_entry *e = &it->entry;
		KVF_JW_LIT(b, ",\"index\":");
		kvf_jw_u64(b, e->index);
		KVF_JW_LIT(b, ",\"term\":");
		kvf_jw_u64(b, e->term);
		KVF_JW_LIT(b, ",\"type\":");
		kvf_jw_string(b, kvf_entry_type_name(e->type));
		if (it->req.kind) {
			KVF_JW_LIT(b, ",\"request\":");
			jw_request(b, &it->req, o);
			/* "keys" only when there are some: write the list, and take
			 * it back when it stayed empty */
			size_t at = b->len;
			KVF_JW_LIT(b, ",\"keys\":[");
			size_t open = b->len;
			kvf_request_keys(&it->req, jw_key_elem, b);
			if (b->len == open) {
				b->len = at;
				b->p[at] = '\0';
			} else {
				KVF_JW_LIT(b, "]");
			}
			jw_request_k8s(b, &it->req);
		}
		KVF_JW_LIT(b, ",\"uncommitted\":");
		kvf_jw_bool(b, it->uncommitted);
		KVF_JW_LIT(b, ",\"overwritten\":");
		kvf_jw_bool(b, it->overwritten);
		break;
	}
	case KVF_WAL_STATE:
		KVF_JW_LIT(b, ",\"term\":");
		kvf_jw_u64(b, it->hs.term);
		KVF_JW_LIT(b, ",\"vote\":");
		kvf_jw_hex(b, it->hs.vote);
		KVF_JW_LIT(b, ",\"commit\":");
		kvf_jw_u64(b, it->hs.commit);
		break;
	case KVF_WAL_METADATA:
		KVF_JW_LIT(b, ",\"node_id\":");
		kvf_jw_hex(b, it->md.node_id);
		KVF_JW_LIT(b, ",\"cluster_id\":");
		kvf_jw_hex(b, it->md.cluster_id);
		break;
	case KVF_WAL_SNAPSHOT:
		KVF_JW_LIT(b, ",\"index\":");
		kvf_jw_u64(b, it->snap.index);
		KVF_JW_LIT(b, ",\"term\":");
		kvf_jw_u64(b, it->snap.term);
		if (it->snap.conf_state) {
			KVF_JW_LIT(b, ",\"conf_state\":");
			jw_conf_state(b, it->snap.conf_state);
		}
		break;
	default:
		break;
	}
	KVF_JW_LIT(b, "}");
	return true;
}
