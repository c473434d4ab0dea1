#include "encoding/k8s.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "encoding/pbwire.h"

const char *kvf_k8s_encoding_name(kvf_k8s_encoding e)
{
	switch (e) {
	case KVF_K8S_JSON: return "json";
	case KVF_K8S_PROTOBUF: return "protobuf";
	case KVF_K8S_ENCRYPTED: return "encrypted";
	case KVF_K8S_NONE: break;
	}
	return "none";
}

static void copy_field(char *dst, size_t cap, const void *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The first field `num` of a message, as bytes. */
static bool pb_bytes(const uint8_t *p, size_t n, uint32_t num, const uint8_t **out, size_t *len)
{
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1)
		if (f.num == num && f.wire == KVF_PB_LEN) {
			*out = f.data;
			*len = f.len;
			return true;
		}
	return false;
}

static bool summarize_protobuf(kvf_span v, kvf_k8s_summary *s)
{
	const uint8_t *unknown = v.p + 4, *type_meta, *raw, *x;
	size_t ulen = v.len - 4, tlen, rlen, xlen;
	/* runtime.Unknown must parse as a whole */
	kvf_pb_reader r = kvf_pb_init(unknown, ulen);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1)
		;
	if (rc != 0)
		return false;
	s->encoding = KVF_K8S_PROTOBUF;
	if (pb_bytes(unknown, ulen, 1, &type_meta, &tlen)) {
		if (pb_bytes(type_meta, tlen, 1, &x, &xlen))
			copy_field(s->api_version, sizeof(s->api_version), x, xlen);
		if (pb_bytes(type_meta, tlen, 2, &x, &xlen))
			copy_field(s->kind, sizeof(s->kind), x, xlen);
	}
	if (pb_bytes(unknown, ulen, 2, &raw, &rlen)) {
		const uint8_t *meta;
		size_t mlen;
		if (pb_bytes(raw, rlen, 1, &meta, &mlen)) {
			if (pb_bytes(meta, mlen, 1, &x, &xlen))
				copy_field(s->name, sizeof(s->name), x, xlen);
			if (pb_bytes(meta, mlen, 3, &x, &xlen))
				copy_field(s->namespace_, sizeof(s->namespace_), x, xlen);
		}
	}
	return true;
}

static void json_field(json_t *obj, const char *key, char *dst, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		copy_field(dst, cap, json_string_value(v), json_string_length(v));
}

static bool summarize_json(kvf_span v, kvf_k8s_summary *s)
{
	json_t *root = json_loadb((const char *)v.p, v.len, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return false;
	}
	json_field(root, "apiVersion", s->api_version, sizeof(s->api_version));
	json_field(root, "kind", s->kind, sizeof(s->kind));
	json_t *meta = json_object_get(root, "metadata");
	if (json_is_object(meta)) {
		json_field(meta, "name", s->name, sizeof(s->name));
		json_field(meta, "namespace", s->namespace_, sizeof(s->namespace_));
	}
	bool any = s->api_version[0] || s->kind[0];
	json_decref(root);
	if (any)
		s->encoding = KVF_K8S_JSON;
	return any;
}

static bool summarize_encrypted(kvf_span v, kvf_k8s_summary *s)
{
	/* k8s:enc:<provider>:v1:<key name>:<ciphertext> */
	const char *p = (const char *)v.p + 8, *end = (const char *)v.p + v.len;
	const char *c1 = memchr(p, ':', (size_t)(end - p));
	if (!c1)
		return false;
	s->encoding = KVF_K8S_ENCRYPTED;
	copy_field(s->provider, sizeof(s->provider), p, (size_t)(c1 - p));
	const char *ver = c1 + 1;
	const char *c2 = ver < end ? memchr(ver, ':', (size_t)(end - ver)) : NULL;
	if (c2) {
		const char *name = c2 + 1;
		const char *c3 = name < end ? memchr(name, ':', (size_t)(end - name)) : NULL;
		if (c3)
			copy_field(s->key_name, sizeof(s->key_name), name, (size_t)(c3 - name));
	}
	return true;
}

bool kvf_k8s_summarize(kvf_span v, kvf_k8s_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (v.len >= 8 && memcmp(v.p, "k8s:enc:", 8) == 0)
		return summarize_encrypted(v, s);
	if (v.len >= 4 && memcmp(v.p, "k8s\0", 4) == 0)
		return summarize_protobuf(v, s);
	size_t i = 0;
	while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\n' || v.p[i] == '\t' || v.p[i] == '\r'))
		i++;
	if (i < v.len && v.p[i] == '{')
		return summarize_json(v, s);
	return false;
}
