#include "render/render_k8s.h"

#include <inttypes.h>
#include <string.h>

/* labels and owners shown on a text line, at most */
#define TEXT_LABELS 8
#define TEXT_OWNERS 4

/* The bytes of s: in place when it has no escapes, else decoded into tmp. */
static const uint8_t *str_bytes(kvf_k8s_str s, kvf_buf *tmp, size_t *n)
{
	if (!s.escaped) {
		*n = s.len;
		return s.p ? s.p : (const uint8_t *)"";
	}
	kvf_buf_reset(tmp);
	kvf_k8s_str_decode(s, tmp);
	*n = tmp->len;
	return tmp->p ? (const uint8_t *)tmp->p : (const uint8_t *)"";
}

void kvf_text_k8s_str(kvf_buf *b, kvf_k8s_str s)
{
	kvf_buf tmp = KVF_BUF_INIT;
	size_t n;
	const uint8_t *p = str_bytes(s, &tmp, &n);
	kvf_text_bytes(b, p, n);
	kvf_buf_free(&tmp);
}

json_t *kvf_json_k8s_str(kvf_k8s_str s)
{
	kvf_buf tmp = KVF_BUF_INIT;
	size_t n;
	const uint8_t *p = str_bytes(s, &tmp, &n);
	json_t *j = kvf_json_bytes(p, n);
	kvf_buf_free(&tmp);
	return j;
}

static void jw_str(kvf_buf *b, kvf_k8s_str s)
{
	kvf_buf tmp = KVF_BUF_INIT;
	size_t n;
	const uint8_t *p = str_bytes(s, &tmp, &n);
	kvf_jw_bytes(b, p, n);
	kvf_buf_free(&tmp);
}

static void text_time(kvf_buf *b, const char *label, const kvf_k8s_time *t)
{
	if (!t->present)
		return;
	kvf_buf_printf(b, " %s=", label);
	if (t->valid) {
		char s[KVF_K8S_TIME_LEN];
		kvf_k8s_time_format(t, s);
		kvf_buf_puts(b, s);
	} else {
		kvf_text_k8s_str(b, t->text);
	}
}

static bool has_meta(const kvf_k8s_object *o)
{
	return o->encoding == KVF_K8S_JSON || o->encoding == KVF_K8S_PROTOBUF;
}

void kvf_text_k8s_ref(kvf_buf *b, const kvf_k8s_object *o)
{
	if (o->encoding == KVF_K8S_ENCRYPTED) {
		kvf_buf_puts(b, "encrypted (");
		kvf_text_k8s_str(b, o->provider);
		if (o->key_name.len) {
			kvf_buf_putc(b, ' ');
			kvf_text_k8s_str(b, o->key_name);
		}
		kvf_buf_putc(b, ')');
		return;
	}
	if (!has_meta(o)) {
		kvf_buf_puts(b, kvf_k8s_encoding_name(o->encoding));
		return;
	}
	if (o->kind.len)
		kvf_text_k8s_str(b, o->kind);
	else
		kvf_buf_puts(b, "(no kind)");
	if (o->name.len) {
		kvf_buf_putc(b, ' ');
		if (o->namespace_.len) {
			kvf_text_k8s_str(b, o->namespace_);
			kvf_buf_putc(b, '/');
		}
		kvf_text_k8s_str(b, o->name);
	}
}

void kvf_text_k8s(kvf_buf *b, const kvf_k8s_object *o)
{
	kvf_buf_putc(b, '[');
	if (!has_meta(o)) {
		if (o->encoding == KVF_K8S_ENCRYPTED) {
			kvf_buf_puts(b, "encrypted ");
			kvf_text_k8s_str(b, o->provider);
			if (o->key_name.len) {
				kvf_buf_putc(b, ' ');
				kvf_text_k8s_str(b, o->key_name);
			}
		} else {
			kvf_buf_puts(b, kvf_k8s_encoding_name(o->encoding));
		}
		kvf_buf_putc(b, ']');
		return;
	}
	kvf_text_k8s_ref(b, o);
	if (o->api_version.len) {
		kvf_buf_putc(b, ' ');
		kvf_text_k8s_str(b, o->api_version);
	}
	if (!o->metadata_ok && o->encoding == KVF_K8S_PROTOBUF)
		kvf_buf_puts(b, " (metadata undecodable)");
	if (o->uid.len) {
		kvf_buf_puts(b, " uid=");
		kvf_text_k8s_str(b, o->uid);
	}
	if (o->has_generation)
		kvf_buf_printf(b, " gen=%" PRId64, o->generation);
	text_time(b, "created", &o->creation);
	text_time(b, "deletion", &o->deletion);
	kvf_k8s_iter it;
	kvf_k8s_owner ow;
	uint32_t i = 0;
	for (kvf_k8s_owners(o, &it); i < TEXT_OWNERS && kvf_k8s_owner_next(&it, &ow); i++) {
		kvf_buf_puts(b, i ? "," : " owner=");
		kvf_text_k8s_str(b, ow.kind);
		kvf_buf_putc(b, '/');
		kvf_text_k8s_str(b, ow.name);
	}
	if (o->n_owners > TEXT_OWNERS)
		kvf_buf_printf(b, ",+%" PRIu32, o->n_owners - TEXT_OWNERS);
	kvf_k8s_str k, v;
	i = 0;
	for (kvf_k8s_labels(o, &it); i < TEXT_LABELS && kvf_k8s_label_next(&it, &k, &v); i++) {
		kvf_buf_puts(b, i ? "," : " labels=");
		kvf_text_k8s_str(b, k);
		kvf_buf_putc(b, '=');
		kvf_text_k8s_str(b, v);
	}
	if (o->n_labels > TEXT_LABELS)
		kvf_buf_printf(b, ",+%" PRIu32, o->n_labels - TEXT_LABELS);
	if (o->n_finalizers)
		kvf_buf_printf(b, " finalizers=%" PRIu32, o->n_finalizers);
	kvf_buf_putc(b, ']');
}

static json_t *json_time(const kvf_k8s_time *t)
{
	if (!t->valid)
		return kvf_json_k8s_str(t->text);
	char s[KVF_K8S_TIME_LEN];
	kvf_k8s_time_format(t, s);
	return json_string(s);
}

/* Labels as an object, built with jansson in both renderings so that both
 * agree on repeated keys (the last value wins, at the first key's place, as
 * protobuf maps and JSON decoders take them) and on keys that are not UTF-8
 * (jansson refuses those as names: they appear in their escaped text form). */
static json_t *json_labels(const kvf_k8s_object *o)
{
	json_t *obj = json_object();
	kvf_buf kb = KVF_BUF_INIT, tmp = KVF_BUF_INIT;
	kvf_k8s_iter it;
	kvf_k8s_str k, v;
	for (kvf_k8s_labels(o, &it); kvf_k8s_label_next(&it, &k, &v);) {
		size_t n;
		const uint8_t *p = str_bytes(k, &tmp, &n);
		kvf_buf_reset(&kb);
		kvf_buf_append(&kb, p, n);
		kvf_buf_putc(&kb, '\0');
		json_t *val = kvf_json_k8s_str(v);
		if (memchr(p, 0, n) || json_object_setn_new(obj, kb.p, n, json_incref(val)) != 0) {
			kvf_buf_reset(&kb);
			kvf_text_bytes(&kb, p, n);
			json_object_set(obj, kb.p, val);
		}
		json_decref(val);
	}
	kvf_buf_free(&kb);
	kvf_buf_free(&tmp);
	return obj;
}

static json_t *json_owner(const kvf_k8s_owner *w)
{
	json_t *j = json_object();
	kvf_json_set(j, "api_version", kvf_json_k8s_str(w->api_version));
	kvf_json_set(j, "kind", kvf_json_k8s_str(w->kind));
	kvf_json_set(j, "name", kvf_json_k8s_str(w->name));
	kvf_json_set(j, "uid", kvf_json_k8s_str(w->uid));
	kvf_json_set(j, "controller", json_boolean(w->controller));
	kvf_json_set(j, "block_owner_deletion", json_boolean(w->block_owner_deletion));
	return j;
}

json_t *kvf_json_k8s(const kvf_k8s_object *o)
{
	json_t *j = json_object();
	kvf_json_set(j, "encoding", json_string(kvf_k8s_encoding_name(o->encoding)));
	if (o->encoding == KVF_K8S_ENCRYPTED) {
		kvf_json_set(j, "provider", kvf_json_k8s_str(o->provider));
		kvf_json_set(j, "key_name", kvf_json_k8s_str(o->key_name));
		return j;
	}
	if (!has_meta(o))
		return j;
	const struct { const char *k; kvf_k8s_str v; } f[] = {
		{ "api_version", o->api_version }, { "kind", o->kind }, { "namespace", o->namespace_ },
		{ "name", o->name }, { "generate_name", o->generate_name }, { "uid", o->uid },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].v.len)
			kvf_json_set(j, f[i].k, kvf_json_k8s_str(f[i].v));
	if (o->has_generation)
		kvf_json_set(j, "generation", kvf_json_i64(o->generation));
	if (o->creation.present)
		kvf_json_set(j, "creation_timestamp", json_time(&o->creation));
	if (o->deletion.present)
		kvf_json_set(j, "deletion_timestamp", json_time(&o->deletion));
	if (o->n_labels)
		kvf_json_set(j, "labels", json_labels(o));
	kvf_k8s_iter it;
	if (o->n_owners) {
		json_t *a = json_array();
		kvf_k8s_owner w;
		for (kvf_k8s_owners(o, &it); kvf_k8s_owner_next(&it, &w);)
			json_array_append_new(a, json_owner(&w));
		kvf_json_set(j, "owner_references", a);
	}
	if (o->n_finalizers) {
		json_t *a = json_array();
		kvf_k8s_str s;
		for (kvf_k8s_finalizers(o, &it); kvf_k8s_finalizer_next(&it, &s);)
			json_array_append_new(a, kvf_json_k8s_str(s));
		kvf_json_set(j, "finalizers", a);
	}
	if (!o->metadata_ok)
		kvf_json_set(j, "no_metadata", json_true());
	return j;
}

static void jw_time(kvf_buf *b, const char *key, const kvf_k8s_time *t)
{
	if (!t->present)
		return;
	kvf_jw_key(b, key);
	if (t->valid) {
		char s[KVF_K8S_TIME_LEN];
		kvf_k8s_time_format(t, s);
		kvf_jw_string(b, s);
	} else {
		jw_str(b, t->text);
	}
}

void kvf_jw_k8s(kvf_buf *b, const kvf_k8s_object *o)
{
	KVF_JW_LIT(b, "{");
	kvf_jw_key(b, "encoding");
	kvf_jw_string(b, kvf_k8s_encoding_name(o->encoding));
	if (o->encoding == KVF_K8S_ENCRYPTED) {
		kvf_jw_key(b, "provider");
		jw_str(b, o->provider);
		kvf_jw_key(b, "key_name");
		jw_str(b, o->key_name);
		KVF_JW_LIT(b, "}");
		return;
	}
	if (!has_meta(o)) {
		KVF_JW_LIT(b, "}");
		return;
	}
	const struct { const char *k; kvf_k8s_str v; } f[] = {
		{ "api_version", o->api_version }, { "kind", o->kind }, { "namespace", o->namespace_ },
		{ "name", o->name }, { "generate_name", o->generate_name }, { "uid", o->uid },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].v.len) {
			kvf_jw_key(b, f[i].k);
			jw_str(b, f[i].v);
		}
	if (o->has_generation) {
		kvf_jw_key(b, "generation");
		kvf_jw_i64(b, o->generation);
	}
	jw_time(b, "creation_timestamp", &o->creation);
	jw_time(b, "deletion_timestamp", &o->deletion);
	if (o->n_labels) {
		json_t *l = json_labels(o);
		kvf_jw_key(b, "labels");
		kvf_json_append(b, l, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(l);
	}
	kvf_k8s_iter it;
	if (o->n_owners) {
		kvf_jw_key(b, "owner_references");
		KVF_JW_LIT(b, "[");
		kvf_k8s_owner w;
		for (kvf_k8s_owners(o, &it); kvf_k8s_owner_next(&it, &w);) {
			kvf_jw_elem(b);
			KVF_JW_LIT(b, "{");
			kvf_jw_key(b, "api_version");
			jw_str(b, w.api_version);
			kvf_jw_key(b, "kind");
			jw_str(b, w.kind);
			kvf_jw_key(b, "name");
			jw_str(b, w.name);
			kvf_jw_key(b, "uid");
			jw_str(b, w.uid);
			kvf_jw_key(b, "controller");
			kvf_jw_bool(b, w.controller);
			kvf_jw_key(b, "block_owner_deletion");
			kvf_jw_bool(b, w.block_owner_deletion);
			KVF_JW_LIT(b, "}");
		}
		KVF_JW_LIT(b, "]");
	}
	if (o->n_finalizers) {
		kvf_jw_key(b, "finalizers");
		KVF_JW_LIT(b, "[");
		kvf_k8s_str s;
		for (kvf_k8s_finalizers(o, &it); kvf_k8s_finalizer_next(&it, &s);) {
			kvf_jw_elem(b);
			jw_str(b, s);
		}
		KVF_JW_LIT(b, "]");
	}
	if (!o->metadata_ok) {
		kvf_jw_key(b, "no_metadata");
		kvf_jw_bool(b, true);
	}
	KVF_JW_LIT(b, "}");
}
