#include "render/render_db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/proto/authpb.pb-c.h"
#include "encoding/proto/etcdserverpb.pb-c.h"
#include "encoding/proto/leasepb.pb-c.h"
#include "render/render_wal.h"

/* ---- bucket `key` ---- */

static json_t *json_revision(kvf_revision r)
{
	return json_pack("{s:o,s:o}", "main", kvf_json_i64(r.main), "sub", kvf_json_i64(r.sub));
}

static void json_kv_fields(json_t *obj, const kvf_kv *kv, const kvf_render_opts *o)
{
	kvf_json_set(obj, "key", kvf_json_bytes(kv->key.p, kv->key.len));
	kvf_json_set(obj, "create_revision", kvf_json_i64(kv->create_revision));
	kvf_json_set(obj, "mod_revision", kvf_json_i64(kv->mod_revision));
	kvf_json_set(obj, "version", kvf_json_i64(kv->version));
	kvf_json_set(obj, "lease", kvf_json_i64(kv->lease));
	kvf_json_set(obj, "value_size", kvf_json_u64(kv->value.len));
	kvf_json_set(obj, "value", kvf_json_bytes(kv->value.p, kv->value.len));
	kvf_k8s_object k;
	if (kvf_k8s_decode(kv->value, &k))
		kvf_json_set(obj, "k8s", kvf_json_k8s(&k));
	(void)o;
}

static void text_kv_tail(kvf_buf *b, const kvf_kv *kv, const kvf_render_opts *o)
{
	kvf_buf_puts(b, " create=");
	kvf_text_int(b, kv->create_revision);
	kvf_buf_puts(b, " mod=");
	kvf_text_int(b, kv->mod_revision);
	kvf_buf_puts(b, " ver=");
	kvf_text_int(b, kv->version);
	if (kv->lease)
		kvf_buf_printf(b, " lease=%" PRIx64, (uint64_t)kv->lease);
	if (o->values) {
		kvf_buf_puts(b, " = ");
		kvf_text_bytes(b, kv->value.p, kv->value.len);
	} else {
		kvf_buf_puts(b, " value=");
		kvf_text_size(b, kv->value.len);
		kvf_k8s_object k;
		if (kvf_k8s_decode(kv->value, &k)) {
			kvf_buf_putc(b, ' ');
			kvf_text_k8s(b, &k);
		}
	}
}

/* ---- other etcd buckets ---- */

static bool name_is(kvf_span s, const char *name)
{
	size_t n = strlen(name);
	return s.len == n && memcmp(s.p, name, n) == 0;
}

/* meta/confState as the raftpb.ConfState the WAL's snapshot records carry
 * (the same JSON and text, member ids in hex). The view points into cs. */
static Raftpb__ConfState conf_state_view(const kvf_conf_state *cs)
{
	Raftpb__ConfState pc = RAFTPB__CONF_STATE__INIT;
	/* protobuf-c's struct has no const members; the renderers only read */
	pc.n_voters = cs->n_voters;
	pc.voters = (uint64_t *)cs->voters;
	pc.n_learners = cs->n_learners;
	pc.learners = (uint64_t *)cs->learners;
	pc.n_voters_outgoing = cs->n_voters_outgoing;
	pc.voters_outgoing = (uint64_t *)cs->voters_outgoing;
	pc.n_learners_next = cs->n_learners_next;
	pc.learners_next = (uint64_t *)cs->learners_next;
	pc.has_auto_leave = true;
	pc.auto_leave = cs->auto_leave;
	return pc;
}

static json_t *json_conf_state_value(kvf_span v)
{
	kvf_conf_state cs;
	if (!kvf_conf_state_parse(v, &cs))
		return NULL;
	Raftpb__ConfState pc = conf_state_view(&cs);
	return kvf_json_conf_state(&pc);
}

/* cluster/downgrade (3.5+): {"target-version":"3.5.0","enabled":true}
 * (membership DowngradeInfo); shown as `target-version=3.5.0 enabled`. */
static bool text_downgrade(kvf_buf *b, kvf_span v)
{
	json_t *j = json_loadb((const char *)v.p, v.len, 0, NULL);
	const char *target = json_string_value(json_object_get(j, "target-version"));
	json_t *en = json_object_get(j, "enabled");
	bool ok = json_is_object(j) && (!json_object_get(j, "target-version") || target) &&
	          (!en || json_is_boolean(en));
	if (ok)
		kvf_buf_printf(b, "target-version=%s %s", target && *target ? target : "(none)",
		               json_is_true(en) ? "enabled" : "not enabled");
	json_decref(j);
	return ok;
}

/* meta/auth values by key name: integers, revisions, flags, strings. */
static json_t *json_meta_value(kvf_span k, kvf_span v)
{
	kvf_revision rev;
	bool tomb;
	if ((name_is(k, "consistent_index") || name_is(k, "term") || name_is(k, "authRevision")) && v.len == 8)
		return kvf_json_u64(kvf_be64(v.p));
	if ((name_is(k, "scheduledCompactRev") || name_is(k, "finishedCompactRev")) &&
	    kvf_revkey_parse(v, &rev, &tomb))
		return json_revision(rev);
	if (name_is(k, "authEnabled") && v.len == 1 && v.p[0] <= 1)
		return json_boolean(v.p[0] == 1);
	if (name_is(k, "confState")) {
		json_t *j = json_conf_state_value(v);
		if (j)
			return j;
	}
	if (name_is(k, "downgrade")) {
		json_t *j = json_loadb((const char *)v.p, v.len, 0, NULL);
		if (j)
			return j;
	}
	return kvf_json_bytes(v.p, v.len);
}

static bool text_conf_state_value(kvf_buf *b, kvf_span v)
{
	kvf_conf_state cs;
	if (!kvf_conf_state_parse(v, &cs))
		return false;
	Raftpb__ConfState pc = conf_state_view(&cs);
	size_t at = b->len;
	kvf_text_conf_state(b, &pc);
	/* without the separator it starts with */
	if (b->len > at && b->p[at] == ' ') {
		memmove(b->p + at, b->p + at + 1, b->len - at - 1);
		b->p[--b->len] = '\0';
	}
	return true;
}

static void text_meta_value(kvf_buf *b, kvf_span k, kvf_span v)
{
	kvf_revision rev;
	bool tomb;
	if ((name_is(k, "consistent_index") || name_is(k, "term") || name_is(k, "authRevision")) && v.len == 8)
		kvf_buf_printf(b, "%" PRIu64, kvf_be64(v.p));
	else if ((name_is(k, "scheduledCompactRev") || name_is(k, "finishedCompactRev")) &&
	         kvf_revkey_parse(v, &rev, &tomb))
		kvf_buf_printf(b, "%" PRId64 "_%" PRId64, rev.main, rev.sub);
	else if (name_is(k, "authEnabled") && v.len == 1 && v.p[0] <= 1)
		kvf_buf_puts(b, v.p[0] ? "true" : "false");
	else if (name_is(k, "confState") && text_conf_state_value(b, v))
		;
	else if (!(name_is(k, "downgrade") && text_downgrade(b, v)))
		kvf_text_bytes(b, v.p, v.len);
}

static void text_perm_range(kvf_buf *b, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	kvf_text_bytes(b, key.data, key.len);
	if (end.len == 1 && end.data[0] == 0)
		kvf_buf_puts(b, " ..(all after)");
	else if (end.len)
		kvf_buf_puts(b, " .."), kvf_text_bytes(b, end.data, end.len);
}

/* Members are JSON (membership/member.go): {"id","peerURLs","name","clientURLs","isLearner"}.
 * The id is a uint64 printed as a JSON number; half of all ids exceed
 * INT64_MAX, which jansson refuses (and jq would round). So the number is
 * rewritten as the 16-digit hex string etcdctl and the bucket key use, before
 * parsing. NULL when the value is not a JSON object. */
static json_t *member_json(kvf_span v)
{
	static const char tag[] = "\"id\":";
	const char *text = (const char *)v.p;
	const char *at = v.len < 65536 ? memmem(text, v.len, tag, sizeof tag - 1) : NULL;
	json_t *j = NULL;
	if (at) {
		size_t pre = (size_t)(at - text) + sizeof tag - 1, digits = 0;
		uint64_t id = 0;
		bool overflow = false;
		while (pre + digits < v.len && text[pre + digits] >= '0' && text[pre + digits] <= '9') {
			unsigned d = (unsigned)(text[pre + digits] - '0');
			overflow |= id > (UINT64_MAX - d) / 10;
			id = id * 10 + d;
			digits++;
		}
		if (digits && !overflow) {
			char *copy = malloc(v.len + 24);
			if (copy) {
				int hex = snprintf(copy + pre, 24, "\"%016" PRIx64 "\"", id);
				memcpy(copy, text, pre);
				memcpy(copy + pre + (size_t)hex, text + pre + digits, v.len - pre - digits);
				j = json_loadb(copy, v.len - digits + (size_t)hex, 0, NULL);
				free(copy);
			}
		}
	}
	if (!j)
		j = json_loadb(text, v.len, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static void text_member(kvf_buf *b, kvf_span v)
{
	json_t *j = member_json(v);
	if (!json_is_object(j)) {
		kvf_text_bytes(b, v.p, v.len);
		json_decref(j);
		return;
	}
	const char *name = json_string_value(json_object_get(j, "name"));
	kvf_buf_printf(b, "name=%s", name && *name ? name : "(unstarted)");
	const char *lists[2] = { "peerURLs", "clientURLs" };
	for (int i = 0; i < 2; i++) {
		json_t *a = json_object_get(j, lists[i]);
		size_t k;
		json_t *u;
		kvf_buf_printf(b, " %s=", i ? "clients" : "peers");
		json_array_foreach(a, k, u)
			kvf_buf_printf(b, "%s%s", k ? "," : "", json_string_value(u) ? json_string_value(u) : "?");
	}
	if (json_is_true(json_object_get(j, "isLearner")))
		kvf_buf_puts(b, " learner");
	json_decref(j);
}

json_t *kvf_json_db_pair(kvf_bucket_kind kind, const kvf_pair *p, kvf_arena *arena, const kvf_render_opts *o)
{
	json_t *obj = json_object();
	if (p->is_bucket) {
		kvf_json_set(obj, "key", kvf_json_bytes(p->key.p, p->key.len));
		kvf_json_set(obj, "nested_bucket", json_true());
		return obj;
	}
	switch (kind) {
	case KVF_BUCKET_KEYS: {
		kvf_revision rev;
		bool tomb;
		kvf_kv kv;
		if (kvf_revkey_parse(p->key, &rev, &tomb) && kvf_kv_parse(p->value, &kv)) {
			kvf_json_set(obj, "revision", json_revision(rev));
			kvf_json_set(obj, "tombstone", json_boolean(tomb));
			json_kv_fields(obj, &kv, o);
			return obj;
		}
		break;   /* malformed: raw below */
	}
	case KVF_BUCKET_META:
	case KVF_BUCKET_AUTH:
	case KVF_BUCKET_CLUSTER:
		kvf_json_set(obj, "key", kvf_json_bytes(p->key.p, p->key.len));
		kvf_json_set(obj, "value", json_meta_value(p->key, p->value));
		return obj;
	case KVF_BUCKET_AUTH_USERS: {
		Authpb__User *u = authpb__user__unpack(&arena->pc, p->value.len, p->value.p);
		if (!u)
			break;
		/* the bcrypt hash only as its length, whatever --show-secrets says */
		kvf_json_set(obj, "name", kvf_json_bytes(u->name.data, u->name.len));
		json_t *roles = json_array();
		for (size_t i = 0; i < u->n_roles; i++)
			json_array_append_new(roles, kvf_json_bytes(u->roles[i].data, u->roles[i].len));
		kvf_json_set(obj, "roles", roles);
		kvf_json_set(obj, "password_hash_bytes", kvf_json_u64(u->password.len));
		kvf_json_set(obj, "no_password", json_boolean(u->options && u->options->no_password));
		return obj;
	}
	case KVF_BUCKET_AUTH_ROLES: {
		Authpb__Role *r = authpb__role__unpack(&arena->pc, p->value.len, p->value.p);
		if (!r)
			break;
		kvf_json_set(obj, "name", kvf_json_bytes(r->name.data, r->name.len));
		json_t *perms = json_array();
		for (size_t i = 0; i < r->n_keypermission; i++)
			json_array_append_new(perms, kvf_json_message(&r->keypermission[i]->base, o));
		kvf_json_set(obj, "permissions", perms);
		return obj;
	}
	case KVF_BUCKET_LEASE: {
		Leasepb__Lease *l = leasepb__lease__unpack(&arena->pc, p->value.len, p->value.p);
		if (!l || p->key.len != 8)
			break;
		kvf_json_set(obj, "id", kvf_json_hex((uint64_t)l->id));
		kvf_json_set(obj, "ttl", kvf_json_i64(l->ttl));
		kvf_json_set(obj, "remaining_ttl", kvf_json_i64(l->remainingttl));
		kvf_json_set(obj, "key_matches_id", json_boolean(kvf_be64(p->key.p) == (uint64_t)l->id));
		return obj;
	}
	case KVF_BUCKET_MEMBERS: {
		json_t *j = member_json(p->value);
		if (!j)
			break;
		kvf_json_set(obj, "id", kvf_json_bytes(p->key.p, p->key.len));
		kvf_json_set(obj, "member", j);
		return obj;
	}
	case KVF_BUCKET_ALARM: {
		Etcdserverpb__AlarmMember *a = etcdserverpb__alarm_member__unpack(&arena->pc, p->key.len, p->key.p);
		if (!a)
			break;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(&etcdserverpb__alarm_type__descriptor, a->alarm);
		kvf_json_set(obj, "member_id", kvf_json_hex(a->memberid));
		kvf_json_set(obj, "alarm", ev ? json_string(ev->name) : json_integer(a->alarm));
		return obj;
	}
	case KVF_BUCKET_MEMBERS_REMOVED:
	case KVF_BUCKET_OTHER:
		break;
	}
	/* unknown bucket, or a value that does not decode as its bucket says */
	if (kind != KVF_BUCKET_OTHER && kind != KVF_BUCKET_MEMBERS_REMOVED)
		kvf_json_set(obj, "undecodable", json_true());
	kvf_json_set(obj, "key", kvf_json_bytes(p->key.p, p->key.len));
	kvf_json_set(obj, "value", kvf_json_bytes(p->value.p, p->value.len));
	return obj;
}

void kvf_text_db_pair(kvf_buf *b, kvf_bucket_kind kind, const kvf_pair *p, kvf_arena *arena,
                      const kvf_render_opts *o)
{
	if (p->is_bucket) {
		kvf_text_bytes(b, p->key.p, p->key.len);
		kvf_buf_puts(b, " (nested bucket)");
		return;
	}
	switch (kind) {
	case KVF_BUCKET_KEYS: {
		kvf_revision rev;
		bool tomb;
		kvf_kv kv;
		if (!kvf_revkey_parse(p->key, &rev, &tomb) || !kvf_kv_parse(p->value, &kv))
			break;
		kvf_text_int(b, rev.main);
		kvf_buf_putc(b, '_');
		kvf_text_int(b, rev.sub);
		kvf_buf_puts(b, tomb ? "t " : " ");
		kvf_text_bytes(b, kv.key.p, kv.key.len);
		if (tomb)
			kvf_buf_puts(b, " (tombstone)");
		else
			text_kv_tail(b, &kv, o);
		return;
	}
	case KVF_BUCKET_META:
	case KVF_BUCKET_AUTH:
	case KVF_BUCKET_CLUSTER:
		kvf_text_bytes(b, p->key.p, p->key.len);
		kvf_buf_puts(b, " = ");
		text_meta_value(b, p->key, p->value);
		return;
	case KVF_BUCKET_AUTH_USERS: {
		Authpb__User *u = authpb__user__unpack(&arena->pc, p->value.len, p->value.p);
		if (!u)
			break;
		kvf_text_bytes(b, u->name.data, u->name.len);
		kvf_buf_puts(b, " roles=");
		for (size_t i = 0; i < u->n_roles; i++) {
			if (i)
				kvf_buf_putc(b, ',');
			kvf_text_bytes(b, u->roles[i].data, u->roles[i].len);
		}
		kvf_buf_printf(b, " password_hash=%zuB%s", u->password.len,
		               u->options && u->options->no_password ? " no_password" : "");
		return;
	}
	case KVF_BUCKET_AUTH_ROLES: {
		Authpb__Role *r = authpb__role__unpack(&arena->pc, p->value.len, p->value.p);
		if (!r)
			break;
		kvf_text_bytes(b, r->name.data, r->name.len);
		for (size_t i = 0; i < r->n_keypermission; i++) {
			const Authpb__Permission *perm = r->keypermission[i];
			const ProtobufCEnumValue *ev =
				protobuf_c_enum_descriptor_get_value(&authpb__permission__type__descriptor, perm->permtype);
			kvf_buf_printf(b, "%s%s ", i ? "; " : " ", ev ? ev->name : "?");
			text_perm_range(b, perm->key, perm->range_end);
		}
		return;
	}
	case KVF_BUCKET_LEASE: {
		Leasepb__Lease *l = leasepb__lease__unpack(&arena->pc, p->value.len, p->value.p);
		if (!l)
			break;
		kvf_buf_printf(b, "%" PRIx64 " ttl=%" PRId64 " remaining_ttl=%" PRId64, (uint64_t)l->id,
		               l->ttl, l->remainingttl);
		return;
	}
	case KVF_BUCKET_MEMBERS:
		kvf_text_bytes(b, p->key.p, p->key.len);
		kvf_buf_putc(b, ' ');
		text_member(b, p->value);
		return;
	case KVF_BUCKET_ALARM: {
		Etcdserverpb__AlarmMember *a = etcdserverpb__alarm_member__unpack(&arena->pc, p->key.len, p->key.p);
		if (!a)
			break;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(&etcdserverpb__alarm_type__descriptor, a->alarm);
		kvf_buf_printf(b, "member=%016" PRIx64 " %s", a->memberid, ev ? ev->name : "?");
		return;
	}
	case KVF_BUCKET_MEMBERS_REMOVED:
	case KVF_BUCKET_OTHER:
		break;
	}
	kvf_text_bytes(b, p->key.p, p->key.len);
	kvf_buf_puts(b, " = ");
	kvf_text_bytes(b, p->value.p, p->value.len);
}

/* ---- live keys ---- */

json_t *kvf_json_live_key(const kvf_key_entry *e, const kvf_render_opts *o)
{
	kvf_kv kv;
	json_t *obj = json_object();
	if (!kvf_kv_parse(e->last_kv, &kv)) {
		kvf_json_set(obj, "key", kvf_json_bytes(e->key.p, e->key.len));
		kvf_json_set(obj, "undecodable", json_true());
		return obj;
	}
	json_kv_fields(obj, &kv, o);
	return obj;
}

void kvf_text_live_key(kvf_buf *b, const kvf_key_entry *e, const kvf_render_opts *o)
{
	kvf_kv kv;
	kvf_text_bytes(b, e->key.p, e->key.len);
	if (!kvf_kv_parse(e->last_kv, &kv)) {
		kvf_buf_puts(b, " (undecodable KeyValue)");
		return;
	}
	text_kv_tail(b, &kv, o);
}

/* ---- streaming JSON for the large listings ---- */

/* Bucket `key` holds a revision per write, a million on the bench db, and
 * `keys` lists a live key per line: a jansson tree per line cost five times
 * as much as decoding and escaping the bytes. These write the same bytes
 * as the trees above (tests/unit/render_test.c holds them to it on every
 * fixture db); the small buckets still go through the trees. */

/* json_kv_fields, streamed */
static void jw_kv_fields(kvf_buf *b, const kvf_kv *kv)
{
	kvf_jw_key(b, "key");   /* the first member of a live key's object */
	kvf_jw_bytes(b, kv->key.p, kv->key.len);
	KVF_JW_LIT(b, ",\"create_revision\":");
	kvf_jw_i64(b, kv->create_revision);
	KVF_JW_LIT(b, ",\"mod_revision\":");
	kvf_jw_i64(b, kv->mod_revision);
	KVF_JW_LIT(b, ",\"version\":");
	kvf_jw_i64(b, kv->version);
	KVF_JW_LIT(b, ",\"lease\":");
	kvf_jw_i64(b, kv->lease);
	KVF_JW_LIT(b, ",\"value_size\":");
	kvf_jw_u64(b, kv->value.len);
	KVF_JW_LIT(b, ",\"value\":");
	kvf_jw_bytes(b, kv->value.p, kv->value.len);
	kvf_k8s_object k;
	if (kvf_k8s_decode(kv->value, &k)) {
		KVF_JW_LIT(b, ",\"k8s\":");
		kvf_jw_k8s(b, &k);
	}
}

void kvf_jw_db_pair(kvf_buf *b, kvf_bucket_kind kind, const kvf_pair *p, kvf_arena *arena,
                    const kvf_render_opts *o)
{
	kvf_revision rev;
	bool tomb;
	kvf_kv kv;
	if (kind == KVF_BUCKET_KEYS && !p->is_bucket && kvf_revkey_parse(p->key, &rev, &tomb) &&
	    kvf_kv_parse(p->value, &kv)) {
		KVF_JW_LIT(b, "{\"revision\":{\"main\":");
		kvf_jw_i64(b, rev.main);
		KVF_JW_LIT(b, ",\"sub\":");
		kvf_jw_i64(b, rev.sub);
		KVF_JW_LIT(b, "},\"tombstone\":");
		kvf_jw_bool(b, tomb);
		jw_kv_fields(b, &kv);
		if (p->value.file_offset != KVF_NO_OFFSET) {
			KVF_JW_LIT(b, ",\"value_offset\":");
			kvf_jw_u64(b, p->value.file_offset);
		}
		KVF_JW_LIT(b, "}");
		return;
	}
	json_t *obj = kvf_json_db_pair(kind, p, arena, o);
	if (p->value.file_offset != KVF_NO_OFFSET)
		kvf_json_set(obj, "value_offset", kvf_json_u64(p->value.file_offset));
	kvf_json_append(b, obj, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(obj);
}

void kvf_jw_live_key(kvf_buf *b, const kvf_key_entry *e, const kvf_render_opts *o)
{
	kvf_kv kv;
	KVF_JW_LIT(b, "{");
	if (!kvf_kv_parse(e->last_kv, &kv)) {
		kvf_jw_key(b, "key");
		kvf_jw_bytes(b, e->key.p, e->key.len);
		kvf_jw_key(b, "undecodable");
		kvf_jw_bool(b, true);
	} else {
		jw_kv_fields(b, &kv);
	}
	KVF_JW_LIT(b, "}");
	(void)o;
}

/* ---- structural findings ---- */

json_t *kvf_json_db_finding(const kvf_db_finding *f)
{
	json_t *o = json_object();
	kvf_json_set(o, "page", f->pgid == KVF_NO_PGID ? json_null() : kvf_json_u64(f->pgid));
	kvf_json_set(o, "offset", f->offset == KVF_NO_OFFSET ? json_null() : kvf_json_u64(f->offset));
	kvf_json_set(o, "message", json_string(f->msg));
	return o;
}

void kvf_text_db_finding(kvf_buf *b, const kvf_db_finding *f)
{
	if (f->offset != KVF_NO_OFFSET)
		kvf_buf_printf(b, "offset %" PRIu64 ": ", f->offset);
	kvf_buf_puts(b, f->msg);
}

/* ---- status ---- */

static json_t *json_names(const kvf_span_list *l)
{
	json_t *a = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, kvf_json_bytes(l->v[i].p, l->v[i].len));
	return a;
}

static json_t *json_optional_u64(bool has, uint64_t v)
{
	return has ? kvf_json_u64(v) : json_null();
}

static json_t *json_optional_span(kvf_span s)
{
	return s.p ? kvf_json_bytes(s.p, s.len) : json_null();
}

static void hex_digest(char out[65], const uint8_t d[32])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

json_t *kvf_json_snapshot_file(const kvf_snapshot_file *sf)
{
	if (!sf->is_snapshot)
		return json_null();
	char a[65], c[65];
	hex_digest(a, sf->stored);
	hex_digest(c, sf->computed);
	return json_pack("{s:o,s:s,s:s,s:b}", "db_size", kvf_json_u64(sf->db_size), "sha256", a,
	                 "sha256_computed", c, "sha256_ok", sf->digest_ok);
}

/* What the file is besides its db: a snapshot file's digest, the meta's
 * references, how consistent_index is saved, the data dir's leftovers. */
static void json_status_evidence(json_t *o, const kvf_db_status *st)
{
	const kvf_backend_info *in = st->info;
	kvf_json_set(o, "snapshot_file", kvf_json_snapshot_file(&st->snapshot));
	json_t *refs = json_array();
	for (int i = 0; i < in->n_meta_refs; i++)
		json_array_append_new(refs, kvf_json_db_finding(&in->meta_refs[i]));
	kvf_json_set(o, "meta_problems", refs);
	/* 3.5+ writes term with consistent_index at every batch commit
	 * (backend hook OnPreCommitUnsafe); 3.4 has no term key and saves
	 * consistent_index only with changes to the key space or auth */
	kvf_json_set(o, "consistent_index_saved",
	             json_string(st->state.has_term ? "every_commit" : "with_changes"));
	json_t *lo = json_array();
	for (size_t i = 0; i < st->n_leftovers; i++) {
		const kvf_leftover_db *l = &st->leftovers[i];
		json_t *j = json_pack("{s:s,s:s,s:o,s:I,s:b}", "kind", kvf_leftover_kind_id(l->file->kind),
		                      "path", l->file->path, "size", kvf_json_u64(l->file->size),
		                      "mtime", (json_int_t)l->file->mtime, "readable", l->readable);
		if (l->file->kind == KVF_LEFTOVER_SNAP_DB)
			kvf_json_set(j, "snap_index", kvf_json_u64(l->file->snap_index));
		if (l->readable) {
			kvf_json_set(j, "consistent_index", json_optional_u64(l->state.has_consistent_index,
			                                                      l->state.consistent_index));
			kvf_json_set(j, "damage", kvf_json_u64(l->damage));
		} else {
			kvf_json_set(j, "error", json_string(l->why));
		}
		json_array_append_new(lo, j);
	}
	kvf_json_set(o, "leftovers", lo);
}

json_t *kvf_json_db_status(const kvf_db_status *st, kvf_arena *arena)
{
	const kvf_backend_info *in = st->info;
	const kvf_etcd_state *es = &st->state;
	json_t *o = json_object();
	kvf_json_set(o, "path", json_string(in->path));
	kvf_json_set(o, "format", json_string(kvf_backend_format_name(in->format)));
	kvf_json_set(o, "page_size", kvf_json_u64(in->page_size));
	kvf_json_set(o, "file_size", kvf_json_u64(in->file_size));
	kvf_json_set(o, "txid", kvf_json_u64(in->txid));
	kvf_json_set(o, "meta_in_use", json_integer(in->meta_in_use));
	kvf_json_set(o, "meta_fallback", json_boolean(in->meta_fallback));
	kvf_json_set(o, "consistent_index", json_optional_u64(es->has_consistent_index, es->consistent_index));
	kvf_json_set(o, "term", json_optional_u64(es->has_term, es->term));
	/* etcd reads a missing authEnabled as disabled (auth/store.go) */
	kvf_json_set(o, "auth_enabled", json_boolean(es->auth_enabled));
	kvf_json_set(o, "auth_revision", json_optional_u64(es->has_auth_revision, es->auth_revision));
	kvf_json_set(o, "revision", kvf_json_i64(st->revision));
	kvf_json_set(o, "compact_revision", kvf_json_i64(st->compact_revision));
	kvf_json_set(o, "scheduled_compact_revision", kvf_json_i64(st->scheduled_compact_revision));
	kvf_json_set(o, "keys", json_pack("{s:o,s:o,s:o}", "live", kvf_json_u64(st->live_keys),
	                                  "revisions", kvf_json_u64(st->revisions),
	                                  "tombstones", kvf_json_u64(st->tombstones)));
	if (st->malformed)
		kvf_json_set(o, "malformed_revisions", kvf_json_u64(st->malformed));
	kvf_json_set(o, "leases", kvf_json_u64(st->leases));
	kvf_json_set(o, "users", json_names(&st->users));
	kvf_json_set(o, "roles", json_names(&st->roles));
	json_t *members = json_array();
	for (size_t i = 0; i < st->member_ids.n; i++) {
		kvf_span v = st->member_json.v[i];
		json_t *m = member_json(v);
		json_array_append_new(members, m ? m : json_pack("{s:o,s:o}", "id",
		                      kvf_json_bytes(st->member_ids.v[i].p, st->member_ids.v[i].len),
		                      "raw", kvf_json_bytes(v.p, v.len)));
	}
	kvf_json_set(o, "members", members);
	kvf_json_set(o, "members_removed", json_names(&st->removed_members));
	kvf_json_set(o, "cluster_version", json_optional_span(es->cluster_version));
	json_t *alarms = json_array();
	for (size_t i = 0; i < st->alarms.n; i++) {
		kvf_pair p = { .key = st->alarms.v[i] };
		json_array_append_new(alarms, kvf_json_db_pair(KVF_BUCKET_ALARM, &p, arena, NULL));
	}
	kvf_json_set(o, "alarms", alarms);
	if (st->has_conf_state) {
		json_t *cs = NULL;
		if (st->conf_state_ok) {
			Raftpb__ConfState pc = conf_state_view(&st->conf_state);
			cs = kvf_json_conf_state(&pc);
		}
		kvf_json_set(o, "conf_state", cs ? cs : kvf_json_bytes(es->conf_state.p, es->conf_state.len));
	}
	if (es->storage_version.p)
		kvf_json_set(o, "storage_version", json_optional_span(es->storage_version));
	if (es->downgrade.p) {
		json_t *d = json_loadb((const char *)es->downgrade.p, es->downgrade.len, 0, NULL);
		kvf_json_set(o, "downgrade", d ? d : kvf_json_bytes(es->downgrade.p, es->downgrade.len));
	}
	char sv[16];
	kvf_etcd_version_format(st->schema.version, sv);
	kvf_json_set(o, "schema", json_pack("{s:o,s:s,s:b}", "version", sv[0] ? json_string(sv) : json_null(),
	                                    "from", kvf_schema_source_name(st->schema.source),
	                                    "storage_version_ignored", st->schema.storage_version_ignored));
	kvf_json_set(o, "compaction_tombstones", kvf_json_u64(st->compaction_tombstones));
	kvf_json_set(o, "buckets", json_names(&st->buckets));
	if (es->bad[0])
		kvf_json_set(o, "malformed", json_string(es->bad));
	json_status_evidence(o, st);
	return o;
}

static void text_names(kvf_buf *b, const kvf_span_list *l)
{
	kvf_buf_printf(b, "%zu", l->n);
	for (size_t i = 0; i < l->n; i++) {
		kvf_buf_puts(b, i ? ", " : " (");
		kvf_text_bytes(b, l->v[i].p, l->v[i].len);
	}
	if (l->n)
		kvf_buf_putc(b, ')');
	kvf_buf_putc(b, '\n');
}

/* Which etcd wrote the db (version.h kvf_db_schema_detect). */
static void text_schema(kvf_buf *b, const kvf_db_status *st)
{
	const kvf_db_schema *s = &st->schema;
	kvf_buf_puts(b, "schema             ");
	switch (s->source) {
	case KVF_SCHEMA_FROM_STORAGE_VERSION:
		kvf_buf_printf(b, "%u.%u (meta/storageVersion)", s->version >> 16, (s->version >> 8) & 0xff);
		break;
	case KVF_SCHEMA_FROM_TERM:
		kvf_buf_puts(b, "3.5 (meta/term, no storageVersion: etcd 3.5, or 3.6+ before the cluster "
		             "version reached 3.6)");
		break;
	case KVF_SCHEMA_NONE:
		kvf_buf_puts(b, "3.4 or older (no meta/term)");
		break;
	}
	if (s->storage_version_ignored)
		kvf_buf_puts(b, "; a storageVersion that is not a version, which etcd ignores");
	kvf_buf_putc(b, '\n');
}

void kvf_text_snapshot_file(kvf_buf *b, const kvf_snapshot_file *sf, const kvf_render_opts *o)
{
	char a[65], c[65];
	hex_digest(a, sf->stored);
	hex_digest(c, sf->computed);
	kvf_buf_printf(b, "etcdctl snapshot save file: a db of %" PRIu64 " bytes and its SHA-256 ", sf->db_size);
	if (sf->digest_ok)
		kvf_buf_printf(b, "%s (matches)", a);
	else
		kvf_buf_printf(b, "%s%s, but the db hashes to %s: MISMATCH (etcdutl snapshot restore "
		               "refuses it)%s", kvf_color(o, "damage"), a, c, kvf_color(o, "reset"));
}

/* The file as evidence: a snapshot file's digest, a meta naming the wrong
 * kind of page. One line each. */
static void text_status_file(kvf_buf *b, const kvf_db_status *st, const kvf_render_opts *o)
{
	if (st->snapshot.is_snapshot) {
		kvf_buf_puts(b, "snapshot file      ");
		kvf_text_snapshot_file(b, &st->snapshot, o);
		kvf_buf_putc(b, '\n');
	}
	for (int i = 0; i < st->info->n_meta_refs; i++) {
		kvf_buf_printf(b, "%smeta problem       ", kvf_color(o, "damage"));
		kvf_text_db_finding(b, &st->info->meta_refs[i]);
		kvf_buf_printf(b, "%s\n", kvf_color(o, "reset"));
	}
}

/* What else the data dir holds in member/snap, each with its consistent_index. */
static void text_status_leftovers(kvf_buf *b, const kvf_db_status *st, const kvf_render_opts *o)
{
	if (!st->n_leftovers)
		return;
	kvf_buf_printf(b, "leftovers          %zu in member/snap (each readable as a db: give its path)\n",
	               st->n_leftovers);
	for (size_t i = 0; i < st->n_leftovers; i++) {
		const kvf_leftover_db *l = &st->leftovers[i];
		kvf_buf_printf(b, "  %s%s ", kvf_color(o, "note"), l->file->path);
		kvf_text_size(b, l->file->size);
		if (!l->readable)
			kvf_buf_printf(b, ", unreadable (%s)", l->why);
		else if (l->state.has_consistent_index)
			kvf_buf_printf(b, ", consistent_index %" PRIu64 "%s", l->state.consistent_index,
			               !st->state.has_consistent_index ? ""
			               : l->state.consistent_index > st->state.consistent_index ? " (ahead of the db's)"
			               : l->state.consistent_index < st->state.consistent_index ? " (behind the db's)"
			               : " (the db's too)");
		else
			kvf_buf_puts(b, ", no consistent_index");
		if (l->file->kind == KVF_LEFTOVER_SNAP_DB)
			kvf_buf_printf(b, ", snapshot index %" PRIu64, l->file->snap_index);
		if (l->readable && l->damage)
			kvf_buf_printf(b, ", %" PRIu64 " finding(s) reading it", l->damage);
		kvf_buf_printf(b, ": %s%s\n", kvf_leftover_kind_name(l->file->kind), kvf_color(o, "reset"));
	}
}

void kvf_text_db_status(kvf_buf *b, const kvf_db_status *st, kvf_arena *arena, const kvf_render_opts *o)
{
	const kvf_backend_info *in = st->info;
	const kvf_etcd_state *es = &st->state;
	kvf_buf_printf(b, "file               %s\n", in->path);
	kvf_buf_printf(b, "format             %s, page size %" PRIu64 ", ", kvf_backend_format_name(in->format),
	               in->page_size);
	kvf_text_size(b, in->file_size);
	kvf_buf_printf(b, ", txid %" PRIu64 ", meta %d in use%s\n", in->txid, in->meta_in_use,
	               in->meta_fallback ? " (FALLBACK: the newer meta is damaged)" : "");
	text_status_file(b, st, o);
	if (es->has_consistent_index)
		kvf_buf_printf(b, "consistent_index   %" PRIu64 "%s\n", es->consistent_index,
		               es->has_term ? "" : " (no term key: etcd 3.4 or older, which saves it only "
		                                   "with key-space or auth changes: it may trail the applied index)");
	else
		kvf_buf_puts(b, "consistent_index   (absent)\n");
	if (es->has_term)
		kvf_buf_printf(b, "term               %" PRIu64 "\n", es->term);
	text_schema(b, st);
	if (st->has_conf_state) {
		kvf_buf_puts(b, "conf state         ");
		if (!text_conf_state_value(b, es->conf_state))
			kvf_text_bytes(b, es->conf_state.p, es->conf_state.len);
		kvf_buf_putc(b, '\n');
	}
	kvf_buf_printf(b, "auth               %s, authRevision ",
	               !es->has_auth_enabled ? "never enabled" : es->auth_enabled ? "enabled" : "disabled");
	if (es->has_auth_revision)
		kvf_buf_printf(b, "%" PRIu64 "\n", es->auth_revision);
	else
		kvf_buf_puts(b, "(absent)\n");
	kvf_buf_printf(b, "revision           %" PRId64 "\n", st->revision);
	kvf_buf_printf(b, "compaction         %" PRId64, st->compact_revision);
	if (st->scheduled_compact_revision != st->compact_revision)
		kvf_buf_printf(b, " (scheduled %" PRId64 ", not finished)", st->scheduled_compact_revision);
	if (st->compaction_tombstones)
		kvf_buf_printf(b, " (%" PRIu64 " tombstone%s kept at it: compacted by etcd 3.5.16+ or 3.4.34+, "
		               "whose HashKV skips %s)", st->compaction_tombstones,
		               st->compaction_tombstones == 1 ? "" : "s",
		               st->compaction_tombstones == 1 ? "it" : "them");
	kvf_buf_putc(b, '\n');
	kvf_buf_printf(b, "keys               %" PRIu64 " live, %" PRIu64 " revisions, %" PRIu64 " tombstones",
	               st->live_keys, st->revisions, st->tombstones);
	if (st->malformed)
		kvf_buf_printf(b, ", %s%" PRIu64 " MALFORMED%s", kvf_color(o, "damage"), st->malformed,
		               kvf_color(o, "reset"));
	kvf_buf_putc(b, '\n');
	kvf_buf_printf(b, "leases             %" PRIu64 "\n", st->leases);
	kvf_buf_puts(b, "users              ");
	text_names(b, &st->users);
	kvf_buf_puts(b, "roles              ");
	text_names(b, &st->roles);
	kvf_buf_printf(b, "members            %zu\n", st->member_ids.n);
	for (size_t i = 0; i < st->member_ids.n; i++) {
		kvf_buf_puts(b, "  ");
		kvf_text_bytes(b, st->member_ids.v[i].p, st->member_ids.v[i].len);
		kvf_buf_putc(b, ' ');
		text_member(b, st->member_json.v[i]);
		kvf_buf_putc(b, '\n');
	}
	if (st->removed_members.n) {
		kvf_buf_puts(b, "removed members    ");
		text_names(b, &st->removed_members);
	}
	kvf_buf_puts(b, "cluster version    ");
	if (es->cluster_version.p)
		kvf_text_bytes(b, es->cluster_version.p, es->cluster_version.len);
	else
		kvf_buf_puts(b, "(absent)");
	kvf_buf_putc(b, '\n');
	if (es->downgrade.p) {
		kvf_buf_puts(b, "downgrade          ");
		if (!text_downgrade(b, es->downgrade))
			kvf_text_bytes(b, es->downgrade.p, es->downgrade.len);
		kvf_buf_putc(b, '\n');
	}
	kvf_buf_printf(b, "alarms             %s", st->alarms.n ? "" : "none");
	for (size_t i = 0; i < st->alarms.n; i++) {
		kvf_pair p = { .key = st->alarms.v[i] };
		kvf_buf_puts(b, i ? ", " : "");
		kvf_text_db_pair(b, KVF_BUCKET_ALARM, &p, arena, o);
	}
	kvf_buf_putc(b, '\n');
	if (es->storage_version.p) {
		kvf_buf_puts(b, "storage version    ");
		kvf_text_bytes(b, es->storage_version.p, es->storage_version.len);
		kvf_buf_putc(b, '\n');
	}
	if (es->bad[0])
		kvf_buf_printf(b, "%smalformed          %s%s\n", kvf_color(o, "damage"), es->bad, kvf_color(o, "reset"));
	text_status_leftovers(b, st, o);
}

json_t *kvf_json_hashkv(const kvf_hashkv *h)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "hash", json_integer(h->hash),
	                 "revision", kvf_json_i64(h->revision), "compact_revision", kvf_json_i64(h->compact_rev),
	                 "current_revision", kvf_json_i64(h->current_rev),
	                 "hashed_revisions", kvf_json_u64(h->hashed_pairs));
}
