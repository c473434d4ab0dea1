#include "render.h"

#include <inttypes.h>
#include <string.h>

#define JSON_SAFE_INT (UINT64_C(1) << 53)
#define MAX_MESSAGE_DEPTH 64

bool kvf_utf8_printable(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t len;
		uint32_t cp;
		if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
		else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
		else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
		else return false;
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond Unicode, C1 controls */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += len;
	}
	return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *kvf_json_bytes(const uint8_t *p, size_t n)
{
	if (kvf_utf8_printable(p, n))
		return json_stringn_nocheck(n ? (const char *)p : "", n);
	kvf_buf b = KVF_BUF_INIT;
	size_t out;
	if (!kvf_mul_ok((n + 2) / 3, 4, &out) || !kvf_buf_reserve(&b, out))
		return NULL;
	char *w = b.p;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*w++ = b64[v >> 18];
		*w++ = b64[(v >> 12) & 63];
		*w++ = b64[(v >> 6) & 63];
		*w++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*w++ = b64[v >> 18];
		*w++ = b64[(v >> 12) & 63];
		*w++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*w++ = '=';
	}
	json_t *s = json_stringn_nocheck(b.p, (size_t)(w - b.p));
	kvf_buf_free(&b);
	return json_pack("{s:o}", "base64", s);
}

json_t *kvf_json_u64(uint64_t v)
{
	if (v <= JSON_SAFE_INT)
		return json_integer((json_int_t)v);
	return kvf_json_dec_string(v);
}

json_t *kvf_json_i64(int64_t v)
{
	if (v <= (int64_t)JSON_SAFE_INT && v >= -(int64_t)JSON_SAFE_INT)
		return json_integer((json_int_t)v);
	char s[24];
	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

json_t *kvf_json_hex(uint64_t v)
{
	char s[20];
	snprintf(s, sizeof(s), "%" PRIx64, v);
	return json_string(s);
}

json_t *kvf_json_dec_string(uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%" PRIu64, v);
	return json_string(s);
}

/* Fields that hold credentials in etcd's raft requests and auth records. */
static bool is_secret(const char *name)
{
	return strcmp(name, "password") == 0 || strcmp(name, "simple_token") == 0 ||
	       strcmp(name, "hashedPassword") == 0;
}

static json_t *scalar(const ProtobufCFieldDescriptor *f, const void *v,
                      const kvf_render_opts *o, int depth);

static json_t *message(const ProtobufCMessage *m, const kvf_render_opts *o, int depth)
{
	if (depth > MAX_MESSAGE_DEPTH)
		return json_string("<nested too deep>");
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *obj = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const void *v = base + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			if (!n)
				continue;
			json_t *arr = json_array();
			size_t sz = f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING ? sizeof(void *)
				: f->type == PROTOBUF_C_TYPE_BYTES ? sizeof(ProtobufCBinaryData)
				: f->type == PROTOBUF_C_TYPE_INT64 || f->type == PROTOBUF_C_TYPE_UINT64 ||
				  f->type == PROTOBUF_C_TYPE_SINT64 || f->type == PROTOBUF_C_TYPE_FIXED64 ||
				  f->type == PROTOBUF_C_TYPE_SFIXED64 || f->type == PROTOBUF_C_TYPE_DOUBLE ? 8
				: f->type == PROTOBUF_C_TYPE_BOOL ? sizeof(protobuf_c_boolean) : 4;
			const char *items = *(const char *const *)v;
			bool pointers = f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING;
			for (size_t k = 0; k < n; k++) {
				const void *item = items + k * sz;
				json_array_append_new(arr, scalar(f, pointers ? *(const void *const *)item : item,
				                                  o, depth));
			}
			kvf_json_set(obj, f->name, arr);
			continue;
		}
		/* presence */
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		           f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
			if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
				continue;
		} else {
			/* proto3 (LABEL_NONE) and pointer types: absent means default */
			bool present = true;
			switch (f->type) {
			case PROTOBUF_C_TYPE_MESSAGE:
			case PROTOBUF_C_TYPE_STRING:
				present = *(const void *const *)v != NULL;
				break;
			case PROTOBUF_C_TYPE_BYTES:
				present = ((const ProtobufCBinaryData *)v)->len != 0;
				break;
			case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_UINT64:
			case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_FIXED64:
			case PROTOBUF_C_TYPE_SFIXED64:
				present = *(const uint64_t *)v != 0;
				break;
			case PROTOBUF_C_TYPE_DOUBLE:
				present = *(const double *)v != 0;
				break;
			case PROTOBUF_C_TYPE_FLOAT:
				present = *(const float *)v != 0;
				break;
			case PROTOBUF_C_TYPE_BOOL:
				present = *(const protobuf_c_boolean *)v != 0;
				break;
			default:
				present = *(const uint32_t *)v != 0;
				break;
			}
			if (!present && f->label != PROTOBUF_C_LABEL_REQUIRED)
				continue;
		}
		if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
			v = *(const void *const *)v;
		if (!o->show_secrets && is_secret(f->name) && f->type == PROTOBUF_C_TYPE_BYTES) {
			kvf_json_set(obj, f->name, json_pack("{s:I}", "redacted_bytes",
			                                     (json_int_t)((const ProtobufCBinaryData *)v)->len));
			continue;
		}
		kvf_json_set(obj, f->name, scalar(f, v, o, depth));
	}
	if (m->n_unknown_fields) {
		json_t *arr = json_array();
		for (unsigned k = 0; k < m->n_unknown_fields; k++) {
			const ProtobufCMessageUnknownField *u = &m->unknown_fields[k];
			json_array_append_new(arr, json_pack("{s:I,s:i,s:o}", "field", (json_int_t)u->tag,
			                                     "wire", (int)u->wire_type, "bytes",
			                                     kvf_json_bytes(u->data, u->len)));
		}
		kvf_json_set(obj, "unknown_fields", arr);
	}
	return obj;
}

/* One value of field f; for MESSAGE and STRING, v is the pointer itself. */
static json_t *scalar(const ProtobufCFieldDescriptor *f, const void *v,
                      const kvf_render_opts *o, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)v);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)v);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		return kvf_json_i64(*(const int64_t *)v);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return kvf_json_u64(*(const uint64_t *)v);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)v);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)v);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)v);
	case PROTOBUF_C_TYPE_ENUM: {
		int e = *(const int *)v;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, e);
		return ev ? json_string(ev->name) : json_integer(e);
	}
	case PROTOBUF_C_TYPE_STRING:
		return v ? kvf_json_bytes(v, strlen(v)) : json_null();
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;
		return kvf_json_bytes(b->data, b->len);
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return v ? message(v, o, depth + 1) : json_null();
	}
	return json_null();
}

json_t *kvf_json_message(const ProtobufCMessage *m, const kvf_render_opts *opts)
{
	static const kvf_render_opts none = { 0 };
	return message(m, opts ? opts : &none, 0);
}

static int dump_to_file(const char *buffer, size_t size, void *data)
{
	return fwrite(buffer, 1, size, data) == size ? 0 : -1;
}

bool kvf_json_write_line(FILE *out, json_t *v)
{
	int rc = json_dump_callback(v, dump_to_file, out, JSON_COMPACT | JSON_ENCODE_ANY);
	return rc == 0 && putc('\n', out) != EOF;
}

bool kvf_json_write_doc(FILE *out, json_t *v)
{
	int rc = json_dump_callback(v, dump_to_file, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
	return rc == 0 && putc('\n', out) != EOF;
}

static bool plain_byte(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

bool kvf_text_bytes(kvf_buf *b, const uint8_t *p, size_t n)
{
	bool plain = n > 0;
	for (size_t i = 0; i < n && plain; i++)
		plain = plain_byte(p[i]);
	if (!plain && n && kvf_utf8_printable(p, n)) {
		/* non-ASCII but printable and without blanks: keep as is */
		plain = true;
		for (size_t i = 0; i < n && plain; i++)
			plain = p[i] >= 0x80 || plain_byte(p[i]);
	}
	if (plain)
		return kvf_buf_append(b, p, n);
	bool ok = kvf_buf_putc(b, '"');
	bool utf8 = kvf_utf8_printable(p, n);
	for (size_t i = 0; i < n && ok; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\')
			ok = kvf_buf_putc(b, '\\') && kvf_buf_putc(b, (char)c);
		else if (c == '\n')
			ok = kvf_buf_puts(b, "\\n");
		else if (c == '\t')
			ok = kvf_buf_puts(b, "\\t");
		else if ((c >= 0x20 && c < 0x7f) || (utf8 && c >= 0x80))
			ok = kvf_buf_putc(b, (char)c);
		else
			ok = kvf_buf_printf(b, "\\x%02x", c);
	}
	return ok && kvf_buf_putc(b, '"');
}

bool kvf_text_size(kvf_buf *b, uint64_t n)
{
	if (n < 1024)
		return kvf_buf_printf(b, "%" PRIu64 "B", n);
	static const char *unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n / 1024;
	int u = 0;
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	return kvf_buf_printf(b, "%.1f%s", v, unit[u]);
}

const char *kvf_color(const kvf_render_opts *o, const char *which)
{
	if (!o || !o->color)
		return "";
	if (strcmp(which, "damage") == 0) return "\033[1;31m";
	if (strcmp(which, "note") == 0) return "\033[33m";
	if (strcmp(which, "dim") == 0) return "\033[2m";
	if (strcmp(which, "bold") == 0) return "\033[1m";
	if (strcmp(which, "ok") == 0) return "\033[32m";
	return "\033[0m";   /* "reset" */
}
