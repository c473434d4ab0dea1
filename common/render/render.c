#include "render/render.h"

#include <inttypes.h>
#include <string.h>

#include "io/escape.h"

#define JSON_SAFE_INT (UINT64_C(1) << 53)
#define MAX_MESSAGE_DEPTH 64

/* ASCII for JSON: printable as is, printable once escaped, or not printable
 * at all (what kvf_utf8_printable refuses). */
enum { A_PLAIN, A_ESCAPE, A_CONTROL };

static inline int ascii_class(uint8_t c)
{
	if (c == '"' || c == '\\' || c == '\t' || c == '\n' || c == '\r')
		return A_ESCAPE;
	if (c < 0x20 || c == 0x7f)
		return A_CONTROL;
	return A_PLAIN;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of p at w, which has room for 4 * ceil(n / 3) bytes; returns the end. */
static char *base64_at(char *w, const uint8_t *p, size_t n)
{
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
	return w;
}

/* "00" to "99": two digits per division (revisions have six or more). */
static const char two_digits[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits of v at the end of a 24-byte buffer; returns the start. */
static char *digits(char *end, uint64_t v)
{
	char *s = end;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		s -= 2;
		memcpy(s, two_digits + 2 * r, 2);
	}
	if (v >= 10) {
		s -= 2;
		memcpy(s, two_digits + 2 * v, 2);
	} else {
		*--s = (char)('0' + v);
	}
	return s;
}

json_t *kvf_json_bytes(const uint8_t *p, size_t n)
{
	if (kvf_utf8_printable(p, n))
		return json_stringn_nocheck(n ? (const char *)p : "", n);
	kvf_buf b = KVF_BUF_INIT;
	size_t out;
	if (!kvf_mul_ok((n + 2) / 3, 4, &out) || !kvf_buf_reserve(&b, out))
		return NULL;
	char *w = base64_at(b.p, p, n);
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

/* Ids (members, clusters, leases) as etcdctl prints them: 16 hex digits,
 * so that one id never appears with and without its leading zeros. */
json_t *kvf_json_hex(uint64_t v)
{
	char s[20];
	snprintf(s, sizeof(s), "%016" PRIx64, v);
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

/* Whether a singular field of the message at base is set (v points at its
 * member): oneof by its case, proto2 optionals by their has_ flag, proto3
 * fields and pointers by a non-default value, as protobuf-c packs them. */
static bool field_present(const ProtobufCFieldDescriptor *f, const char *base, const void *v)
{
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
			return false;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	           f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
		if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
			return false;
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
		return present || f->label == PROTOBUF_C_LABEL_REQUIRED;
	}
	return true;
}

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
		if (!field_present(f, base, v))
			continue;
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

static int dump_to_buf(const char *buffer, size_t size, void *data)
{
	return kvf_buf_append(data, buffer, size) ? 0 : -1;
}

bool kvf_json_append(kvf_buf *b, json_t *v, size_t flags)
{
	size_t was = b->len;
	if (json_dump_callback(v, dump_to_buf, b, flags) == 0)
		return true;
	b->len = was;
	if (b->p)
		b->p[was] = '\0';
	return false;
}

/* jansson hands its output over in pieces as small as one character: one
 * stdio call per piece cost more than the dump itself, so a value is
 * dumped into a buffer and written at once. */
static bool write_json(FILE *out, json_t *v, size_t flags)
{
	kvf_buf b = KVF_BUF_INIT;
	bool ok = kvf_json_append(&b, v, flags) && kvf_buf_putc(&b, '\n') &&
	          fwrite(b.p, 1, b.len, out) == b.len;
	kvf_buf_free(&b);
	return ok;
}

bool kvf_json_write_line(FILE *out, json_t *v)
{
	return write_json(out, v, JSON_COMPACT | JSON_ENCODE_ANY);
}

bool kvf_json_write_doc(FILE *out, json_t *v)
{
	return write_json(out, v, JSON_INDENT(2) | JSON_ENCODE_ANY);
}

/* s (n bytes) in a field of `width`, blanks before it or after it */
static bool text_field(kvf_buf *b, const char *s, size_t n, int width, bool right)
{
	size_t pad = width > 0 && (size_t)width > n ? (size_t)width - n : 0;
	if (!kvf_buf_reserve(b, n + pad))
		return false;
	char *w = b->p + b->len;
	if (right) {
		memset(w, ' ', pad);
		memcpy(w + pad, s, n);
	} else {
		memcpy(w, s, n);
		memset(w + n, ' ', pad);
	}
	b->len += n + pad;
	b->p[b->len] = '\0';
	return true;
}

bool kvf_text_uint(kvf_buf *b, uint64_t v, int width)
{
	char buf[24], *end = buf + sizeof(buf);
	char *s = digits(end, v);
	return text_field(b, s, (size_t)(end - s), width, true);
}

bool kvf_text_int(kvf_buf *b, int64_t v)
{
	char buf[24], *end = buf + sizeof(buf);
	char *s = digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--s = '-';
	return kvf_buf_append(b, s, (size_t)(end - s));
}

bool kvf_text_padded(kvf_buf *b, const char *s, int width)
{
	return text_field(b, s, strlen(s), width, false);
}

bool kvf_text_size(kvf_buf *b, uint64_t n)
{
	if (n < 1024)
		return kvf_text_uint(b, n, 0) && kvf_buf_putc(b, 'B');
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

/* ---- streaming JSON ---- */

/* Room for n more bytes and the NUL kvf_buf keeps after them. */
static inline bool jw_room(kvf_buf *b, size_t n)
{
	return b->cap - b->len > n || kvf_buf_reserve(b, n);
}

static inline void jw_put(kvf_buf *b, const char *s, size_t n)
{
	if (!jw_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void kvf_jw_raw(kvf_buf *b, const char *s)
{
	jw_put(b, s, strlen(s));
}

/* Compact JSON needs a comma before a member or an element unless it opens
 * its container; a line of its own starts after a newline. */
static inline void jw_sep(kvf_buf *b)
{
	if (b->len) {
		char c = b->p[b->len - 1];
		if (c != '{' && c != '[' && c != ':' && c != '\n')
			jw_put(b, ",", 1);
	}
}

void kvf_jw_elem(kvf_buf *b)
{
	jw_sep(b);
}

void kvf_jw_string(kvf_buf *b, const char *s)
{
	/* jansson's dump_string: \\ \" \b \f \n \r \t, other controls as
	 * \u00XX (upper-case hex), everything else as it is (the string is
	 * valid UTF-8, as json_string demands). */
	size_t n = strlen(s), need;
	if (!kvf_mul_ok(n, 6, &need) || !kvf_add_ok(need, 2, &need) || !jw_room(b, need))
		return;
	char *w = b->p + b->len;
	*w++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*w++ = (char)c;
			continue;
		}
		*w++ = '\\';
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		default:
			*w++ = 'u';
			*w++ = '0';
			*w++ = '0';
			*w++ = "0123456789ABCDEF"[c >> 4];
			*w++ = "0123456789ABCDEF"[c & 15];
			break;
		}
	}
	*w++ = '"';
	b->len = (size_t)(w - b->p);
	b->p[b->len] = '\0';
}

void kvf_jw_key(kvf_buf *b, const char *key)
{
	jw_sep(b);
	/* Member names are field names (ASCII, nothing to escape) a dozen
	 * times per record: one copy, "name": at once, unless they need
	 * jansson's escapes. */
	size_t n = 0;
	while (key[n] && (uint8_t)key[n] >= 0x20 && key[n] != '"' && key[n] != '\\')
		n++;
	if (key[n] || !jw_room(b, n + 3)) {
		kvf_jw_string(b, key);
		jw_put(b, ":", 1);
		return;
	}
	char *w = b->p + b->len;
	w[0] = '"';
	memcpy(w + 1, key, n);
	w[n + 1] = '"';
	w[n + 2] = ':';
	b->len += n + 3;
	b->p[b->len] = '\0';
}

static void jw_base64(kvf_buf *b, const uint8_t *p, size_t n)
{
	size_t out;
	if (!kvf_mul_ok((n + 2) / 3, 4, &out) || !kvf_add_ok(out, 14, &out) || !jw_room(b, out))
		return;
	char *w = b->p + b->len;
	memcpy(w, "{\"base64\":\"", 11);
	w = base64_at(w + 11, p, n);
	*w++ = '"';
	*w++ = '}';
	b->len = (size_t)(w - b->p);
	b->p[b->len] = '\0';
}

void kvf_jw_bytes(kvf_buf *b, const uint8_t *p, size_t n)
{
	/* kvf_json_bytes in one pass: copy and escape while checking that the
	 * bytes are printable; when they are not, take the copy back and
	 * write base64 instead. */
	size_t need;
	if (!kvf_mul_ok(n, 2, &need) || !kvf_add_ok(need, 18, &need) || !jw_room(b, need))
		return;
	char *w = b->p + b->len;
	*w++ = '"';
	size_t i = 0;
	while (i < n) {
		/* Quotes are dense in the JSON that Kubernetes stores (one byte
		 * in five on the bench WAL): whole blocks of printable ASCII in
		 * kvf_escape_run. Room: w is at most 2i + 1 bytes in, 2n + 18
		 * are reserved, and it needs 2(n - i) + 16 of them. */
		i += kvf_escape_run(&w, p + i, n - i, false);
		/* the block it stopped at (UTF-8, or bytes that are not text),
		 * or the tail: byte by byte */
		size_t stop = n - i > 16 ? i + 16 : n;
		while (i < stop) {
			uint8_t c = p[i];
			if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
				*w++ = (char)c;
				i++;
				continue;
			}
			if (c < 0x80) {
				if (ascii_class(c) == A_CONTROL)
					goto not_text;
				*w++ = '\\';
				*w++ = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char)c;
				i++;
				continue;
			}
			size_t len = kvf_utf8_printable_seq(p + i, n - i);
			if (!len)
				goto not_text;
			memcpy(w, p + i, len);
			w += len;
			i += len;
		}
	}
	*w++ = '"';
	b->len = (size_t)(w - b->p);
	b->p[b->len] = '\0';
	return;
not_text:
	b->p[b->len] = '\0';
	jw_base64(b, p, n);
}

void kvf_jw_int(kvf_buf *b, long long v)
{
	char buf[24], *end = buf + sizeof(buf);
	char *s = digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--s = '-';
	jw_put(b, s, (size_t)(end - s));
}

void kvf_jw_dec_string(kvf_buf *b, uint64_t v)
{
	char buf[24], *end = buf + sizeof(buf) - 1;
	*end = '"';
	char *s = digits(end, v);
	*--s = '"';
	jw_put(b, s, (size_t)(end + 1 - s));
}

void kvf_jw_u64(kvf_buf *b, uint64_t v)
{
	if (v <= JSON_SAFE_INT)
		kvf_jw_int(b, (long long)v);
	else
		kvf_jw_dec_string(b, v);
}

void kvf_jw_i64(kvf_buf *b, int64_t v)
{
	if (v <= (int64_t)JSON_SAFE_INT && v >= -(int64_t)JSON_SAFE_INT) {
		kvf_jw_int(b, v);
		return;
	}
	char buf[24], *end = buf + sizeof(buf) - 1;
	*end = '"';
	char *s = digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--s = '-';
	*--s = '"';
	jw_put(b, s, (size_t)(end + 1 - s));
}

void kvf_jw_hex(kvf_buf *b, uint64_t v)
{
	char buf[24], *end = buf + sizeof(buf) - 1, *s = end;
	*end = '"';
	for (int i = 0; i < 16; i++) {   /* 16 digits, as kvf_json_hex */
		*--s = "0123456789abcdef"[v & 15];
		v >>= 4;
	}
	*--s = '"';
	jw_put(b, s, (size_t)(end + 1 - s));
}

void kvf_jw_bool(kvf_buf *b, bool v)
{
	if (v)
		jw_put(b, "true", 4);
	else
		jw_put(b, "false", 5);
}

/* A value only jansson knows how to print the same way (reals). */
static void jw_json(kvf_buf *b, json_t *v)
{
	if (v)
		kvf_json_append(b, v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
}

static void jw_scalar(kvf_buf *b, const ProtobufCFieldDescriptor *f, const void *v,
                      const kvf_render_opts *o, int depth);

/* message() above, written out instead of built: the same fields, in the
 * same order, under the same conditions. */
static void jw_message(kvf_buf *b, const ProtobufCMessage *m, const kvf_render_opts *o, int depth)
{
	if (depth > MAX_MESSAGE_DEPTH) {
		kvf_jw_string(b, "<nested too deep>");
		return;
	}
	const ProtobufCMessageDescriptor *d = m->descriptor;
	jw_put(b, "{", 1);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const void *v = base + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			if (!n)
				continue;
			size_t sz = f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING ? sizeof(void *)
				: f->type == PROTOBUF_C_TYPE_BYTES ? sizeof(ProtobufCBinaryData)
				: f->type == PROTOBUF_C_TYPE_INT64 || f->type == PROTOBUF_C_TYPE_UINT64 ||
				  f->type == PROTOBUF_C_TYPE_SINT64 || f->type == PROTOBUF_C_TYPE_FIXED64 ||
				  f->type == PROTOBUF_C_TYPE_SFIXED64 || f->type == PROTOBUF_C_TYPE_DOUBLE ? 8
				: f->type == PROTOBUF_C_TYPE_BOOL ? sizeof(protobuf_c_boolean) : 4;
			const char *items = *(const char *const *)v;
			bool pointers = f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING;
			kvf_jw_key(b, f->name);
			jw_put(b, "[", 1);
			for (size_t k = 0; k < n; k++) {
				const void *item = items + k * sz;
				jw_sep(b);
				jw_scalar(b, f, pointers ? *(const void *const *)item : item, o, depth);
			}
			jw_put(b, "]", 1);
			continue;
		}
		if (!field_present(f, base, v))
			continue;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
			v = *(const void *const *)v;
		kvf_jw_key(b, f->name);
		if (!o->show_secrets && is_secret(f->name) && f->type == PROTOBUF_C_TYPE_BYTES) {
			jw_put(b, "{\"redacted_bytes\":", 18);
			kvf_jw_int(b, (long long)((const ProtobufCBinaryData *)v)->len);
			jw_put(b, "}", 1);
			continue;
		}
		jw_scalar(b, f, v, o, depth);
	}
	if (m->n_unknown_fields) {
		kvf_jw_key(b, "unknown_fields");
		jw_put(b, "[", 1);
		for (unsigned k = 0; k < m->n_unknown_fields; k++) {
			const ProtobufCMessageUnknownField *u = &m->unknown_fields[k];
			jw_sep(b);
			jw_put(b, "{\"field\":", 9);
			kvf_jw_int(b, u->tag);
			jw_put(b, ",\"wire\":", 8);
			kvf_jw_int(b, (int)u->wire_type);
			jw_put(b, ",\"bytes\":", 9);
			kvf_jw_bytes(b, u->data, u->len);
			jw_put(b, "}", 1);
		}
		jw_put(b, "]", 1);
	}
	jw_put(b, "}", 1);
}

static void jw_scalar(kvf_buf *b, const ProtobufCFieldDescriptor *f, const void *v,
                      const kvf_render_opts *o, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		kvf_jw_int(b, *(const int32_t *)v);
		return;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		kvf_jw_int(b, *(const uint32_t *)v);
		return;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		kvf_jw_i64(b, *(const int64_t *)v);
		return;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		kvf_jw_u64(b, *(const uint64_t *)v);
		return;
	case PROTOBUF_C_TYPE_FLOAT:
		jw_json(b, json_real(*(const float *)v));
		return;
	case PROTOBUF_C_TYPE_DOUBLE:
		jw_json(b, json_real(*(const double *)v));
		return;
	case PROTOBUF_C_TYPE_BOOL:
		kvf_jw_bool(b, *(const protobuf_c_boolean *)v);
		return;
	case PROTOBUF_C_TYPE_ENUM: {
		int e = *(const int *)v;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);
		if (ev)
			kvf_jw_string(b, ev->name);
		else
			kvf_jw_int(b, e);
		return;
	}
	case PROTOBUF_C_TYPE_STRING:
		if (v)
			kvf_jw_bytes(b, v, strlen(v));
		else
			jw_put(b, "null", 4);
		return;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *bd = v;
		kvf_jw_bytes(b, bd->data, bd->len);
		return;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		if (v)
			jw_message(b, v, o, depth + 1);
		else
			jw_put(b, "null", 4);
		return;
	}
	jw_put(b, "null", 4);
}

void kvf_jw_message(kvf_buf *b, const ProtobufCMessage *m, const kvf_render_opts *opts)
{
	static const kvf_render_opts none = { 0 };
	jw_message(b, m, opts ? opts : &none, 0);
}
