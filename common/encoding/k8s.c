#include "encoding/k8s.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "encoding/pbwire.h"

const char *kvf_k8s_encoding_name(kvf_k8s_encoding e)
{
	switch (e) {
	case KVF_K8S_JSON: return "json";
	case KVF_K8S_PROTOBUF: return "protobuf";
	case KVF_K8S_ENCRYPTED: return "encrypted";
	case KVF_K8S_CBOR: return "cbor";
	case KVF_K8S_NONE: break;
	}
	return "none";
}

static kvf_k8s_str str_of(const uint8_t *p, size_t n, bool escaped)
{
	kvf_k8s_str s = { p, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, escaped };
	return s;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const uint8_t *p, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return true;
}

/* RFC 3339 as metav1.Time marshals it ("2006-01-02T15:04:05Z07:00"), with
 * an optional fraction. Escaped strings are not times. */
static bool parse_rfc3339(kvf_k8s_str s, int64_t *sec, int32_t *nanos)
{
	const uint8_t *p = s.p;
	size_t n = s.len;
	unsigned y, mo, d, h, mi, se;
	if (s.escaped || n < 20 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) ||
	    p[7] != '-' || !digits(p + 8, 2, &d) || (p[10] != 'T' && p[10] != 't') ||
	    !digits(p + 11, 2, &h) || p[13] != ':' || !digits(p + 14, 2, &mi) || p[16] != ':' ||
	    !digits(p + 17, 2, &se))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	size_t i = 19;
	uint32_t ns = 0;
	if (i < n && p[i] == '.') {
		int k = 0;
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, k++)
			if (k < 9)
				ns = ns * 10 + (uint32_t)(p[i] - '0');
		if (k == 0)
			return false;
		for (; k < 9; k++)
			ns *= 10;
	}
	int64_t off = 0;
	if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
		i++;
	} else if (i + 6 == n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
		unsigned oh, om;
		if (!digits(p + i + 1, 2, &oh) || !digits(p + i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		off = (int64_t)(oh * 3600 + om * 60) * (p[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		return false;
	}
	if (i != n)
		return false;
	*sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	*nanos = (int32_t)ns;
	return true;
}

void kvf_k8s_time_format(const kvf_k8s_time *t, char *out)
{
	int64_t days = t->seconds / 86400, rem = t->seconds % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	int n = snprintf(out, KVF_K8S_TIME_LEN, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, m, d,
	                 (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
	if (n < 0 || n >= KVF_K8S_TIME_LEN - 2)
		return;
	snprintf(out + n, (size_t)(KVF_K8S_TIME_LEN - n), "Z");
}

/* ---- protobuf ---- */

/* Every field of a message parses, to its end: 1; malformed: 0. */
static bool pb_whole(const uint8_t *p, size_t n)
{
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1)
		;
	return rc == 0;
}

/* The last field `num` of a message as bytes (protobuf: the last one wins). */
static bool pb_bytes(const uint8_t *p, size_t n, uint32_t num, const uint8_t **out, size_t *len)
{
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	bool found = false;
	while (kvf_pb_next(&r, &f) == 1)
		if (f.num == num && f.wire == KVF_PB_LEN) {
			*out = f.data;
			*len = f.len;
			found = true;
		}
	return found;
}

static kvf_k8s_str pb_str(const uint8_t *p, size_t n, uint32_t num)
{
	const uint8_t *x;
	size_t len;
	kvf_k8s_str s = { 0 };
	if (pb_bytes(p, n, num, &x, &len))
		s = str_of(x ? x : p, len, false);   /* an empty field: a span of 0 inside the message */
	return s;
}

static void pb_time(const uint8_t *p, size_t n, kvf_k8s_time *t)
{
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	int rc;
	memset(t, 0, sizeof(*t));
	t->present = true;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		if (f.num == 1 && f.wire == KVF_PB_VARINT)
			t->seconds = (int64_t)f.u64;
		else if (f.num == 2 && f.wire == KVF_PB_VARINT)
			t->nanos = (int32_t)(uint32_t)f.u64;
	}
	/* metav1.Time: from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z */
	t->valid = rc == 0 && t->nanos >= 0 && t->nanos < 1000000000 &&
	           t->seconds >= -62135596800LL && t->seconds <= 253402300799LL;
}

/* ObjectMeta: every field must parse; strings, the times, counts of the lists. */
static bool pb_meta(const uint8_t *p, size_t n, kvf_k8s_object *o)
{
	if (!pb_whole(p, n))
		return false;
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	while (kvf_pb_next(&r, &f) == 1) {
		if (f.wire == KVF_PB_VARINT && f.num == 7) {
			/* gogo-protobuf writes every field, zero included: 0 is unset,
			 * as the JSON form (omitempty) has it */
			o->has_generation = f.u64 != 0;
			o->generation = (int64_t)f.u64;
			continue;
		}
		if (f.wire != KVF_PB_LEN)
			continue;
		const uint8_t *d = f.data ? f.data : p;
		switch (f.num) {
		case 1: o->name = str_of(d, f.len, false); break;
		case 2: o->generate_name = str_of(d, f.len, false); break;
		case 3: o->namespace_ = str_of(d, f.len, false); break;
		case 5: o->uid = str_of(d, f.len, false); break;
		case 8: pb_time(f.data, f.len, &o->creation); break;
		case 9: pb_time(f.data, f.len, &o->deletion); break;
		case 11: o->n_labels++; break;
		case 13: o->n_owners++; break;
		case 14: o->n_finalizers++; break;
		default: break;
		}
	}
	o->meta_p = p;
	o->meta_len = n;
	return true;
}

static bool decode_protobuf(kvf_span v, kvf_k8s_object *o)
{
	const uint8_t *unknown = v.p + 4, *type_meta = NULL, *raw = NULL;
	size_t ulen = v.len - 4, tlen = 0, rlen = 0;
	/* runtime.Unknown must parse as a whole */
	if (!pb_whole(unknown, ulen))
		return false;
	o->encoding = KVF_K8S_PROTOBUF;
	if (pb_bytes(unknown, ulen, 1, &type_meta, &tlen) && pb_whole(type_meta, tlen)) {
		o->api_version = pb_str(type_meta, tlen, 1);
		o->kind = pb_str(type_meta, tlen, 2);
	}
	/* raw is the object's message unless contentEncoding says it is
	 * compressed; ObjectMeta is its field 1 */
	kvf_k8s_str enc = pb_str(unknown, ulen, 3);
	const uint8_t *meta = NULL;
	size_t mlen = 0;
	if (enc.len == 0 && pb_bytes(unknown, ulen, 2, &raw, &rlen) && pb_whole(raw, rlen) &&
	    pb_bytes(raw, rlen, 1, &meta, &mlen))
		o->metadata_ok = pb_meta(meta, mlen, o);
	return true;
}

/* ---- JSON ---- */

static const uint8_t *ws(const uint8_t *p, const uint8_t *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

static int hexval(uint8_t c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A string at p (the opening quote): where it ends, its content in *s; NULL
 * when it is not a valid JSON string. */
static const uint8_t *jstring(const uint8_t *p, const uint8_t *end, kvf_k8s_str *s)
{
	if (p >= end || *p != '"')
		return NULL;
	const uint8_t *start = ++p;
	bool escaped = false;
	while (p < end && *p != '"') {
		if (*p < 0x20)
			return NULL;
		if (*p != '\\') {
			p++;
			continue;
		}
		escaped = true;
		if (++p >= end)
			return NULL;
		if (*p == 'u') {
			if (end - p < 5)
				return NULL;
			for (int i = 1; i <= 4; i++)
				if (hexval(p[i]) < 0)
					return NULL;
			p += 5;
		} else if (*p && strchr("\"\\/bfnrt", *p)) {
			p++;
		} else {
			return NULL;
		}
	}
	if (p >= end)
		return NULL;
	if (s)
		*s = str_of(start, (size_t)(p - start), escaped);
	return p + 1;
}

static const uint8_t *jnumber(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;
	if (q < end && *q == '-')
		q++;
	const uint8_t *int_start = q;
	while (q < end && *q >= '0' && *q <= '9')
		q++;
	if (q == int_start || (*int_start == '0' && q - int_start > 1))
		return NULL;
	if (q < end && *q == '.') {
		const uint8_t *f = ++q;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q == f)
			return NULL;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		const uint8_t *e = q;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q == e)
			return NULL;
	}
	return q;
}

static const uint8_t *jliteral(const uint8_t *p, const uint8_t *end, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* One complete JSON value at p (after any whitespace): where it ends, or
 * NULL when it is not valid or nests deeper than KVF_K8S_MAX_DEPTH. Walks
 * with an explicit stack: no recursion on the input's nesting. */
static const uint8_t *jvalue(const uint8_t *p, const uint8_t *end)
{
	uint8_t stack[KVF_K8S_MAX_DEPTH];
	int depth = 0;
	for (;;) {
		/* a value */
		p = ws(p, end);
		if (p >= end)
			return NULL;
		switch (*p) {
		case '{':
		case '[':
			if (depth == KVF_K8S_MAX_DEPTH)
				return NULL;
			stack[depth++] = *p;
			p = ws(p + 1, end);
			if (p < end && *p == (stack[depth - 1] == '{' ? '}' : ']')) {
				p++;
				depth--;
				break;
			}
			if (stack[depth - 1] == '{') {
				if (!(p = jstring(p, end, NULL)))
					return NULL;
				p = ws(p, end);
				if (p >= end || *p != ':')
					return NULL;
				p++;
			}
			continue;   /* the first member's (or element's) value */
		case '"': p = jstring(p, end, NULL); break;
		case 't': p = jliteral(p, end, "true"); break;
		case 'f': p = jliteral(p, end, "false"); break;
		case 'n': p = jliteral(p, end, "null"); break;
		default: p = jnumber(p, end); break;
		}
		if (!p)
			return NULL;
		/* after a value: the container goes on, or closes */
		for (;;) {
			if (depth == 0)
				return p;
			p = ws(p, end);
			if (p >= end)
				return NULL;
			uint8_t open = stack[depth - 1];
			if (*p == (open == '{' ? '}' : ']')) {
				p++;
				depth--;
				continue;
			}
			if (*p != ',')
				return NULL;
			p++;
			if (open == '{') {
				p = ws(p, end);
				if (!(p = jstring(p, end, NULL)))
					return NULL;
				p = ws(p, end);
				if (p >= end || *p != ':')
					return NULL;
				p++;
			}
			break;
		}
	}
}

/* Members of an object, elements of an array that jvalue accepted. */
typedef struct jiter {
	const uint8_t *p, *end;
	bool first;
} jiter;

static bool jiter_open(const uint8_t *p, const uint8_t *end, uint8_t open, jiter *it)
{
	p = ws(p, end);
	if (p >= end || *p != open)
		return false;
	it->p = p + 1;
	it->end = end;
	it->first = true;
	return true;
}

/* 1: a member (key set when object) with its value at [*v, *vend); 0: end; -1: malformed. */
static int jiter_next(jiter *it, bool object, kvf_k8s_str *key, const uint8_t **v, const uint8_t **vend)
{
	const uint8_t *p = ws(it->p, it->end);
	if (p >= it->end)
		return -1;
	if (*p == (object ? '}' : ']')) {
		it->p = p + 1;
		return 0;
	}
	if (!it->first) {
		if (*p != ',')
			return -1;
		p = ws(p + 1, it->end);
	}
	it->first = false;
	if (object) {
		if (!(p = jstring(p, it->end, key)))
			return -1;
		p = ws(p, it->end);
		if (p >= it->end || *p != ':')
			return -1;
		p++;
	}
	*v = ws(p, it->end);
	if (!(*vend = jvalue(*v, it->end)))
		return -1;
	it->p = *vend;
	return 1;
}

static bool jkey_is(kvf_k8s_str k, const char *name)
{
	size_t n = strlen(name);
	return !k.escaped && k.len == n && memcmp(k.p, name, n) == 0;
}

static kvf_k8s_str jstr_value(const uint8_t *v, const uint8_t *vend)
{
	kvf_k8s_str s = { 0 };
	if (v < vend && *v == '"')
		jstring(v, vend, &s);
	return s;
}

static void jtime(const uint8_t *v, const uint8_t *vend, kvf_k8s_time *t)
{
	memset(t, 0, sizeof(*t));
	t->text = jstr_value(v, vend);
	if (!t->text.p)
		return;   /* null, or not a string: no time */
	t->present = true;
	t->valid = parse_rfc3339(t->text, &t->seconds, &t->nanos);
}

/* members of a container value, counted (malformed cannot happen: jvalue
 * accepted it) */
static uint32_t jcount(const uint8_t *v, const uint8_t *vend, bool object)
{
	jiter it;
	kvf_k8s_str k;
	const uint8_t *a, *b;
	uint32_t n = 0;
	if (!jiter_open(v, vend, object ? '{' : '[', &it))
		return 0;
	while (jiter_next(&it, object, &k, &a, &b) == 1 && n < UINT32_MAX)
		n++;
	return n;
}

static bool jint(const uint8_t *v, const uint8_t *vend, int64_t *out)
{
	const uint8_t *p = v;
	bool neg = p < vend && *p == '-';
	p += neg;
	uint64_t x = 0;
	if (p >= vend)
		return false;
	for (; p < vend && *p >= '0' && *p <= '9'; p++) {
		if (x > (UINT64_MAX - 9) / 10)
			return false;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (p != vend || x > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

static void json_meta(const uint8_t *p, const uint8_t *end, kvf_k8s_object *o)
{
	jiter it;
	kvf_k8s_str k;
	const uint8_t *v, *ve;
	if (!jiter_open(p, end, '{', &it))
		return;
	o->metadata_ok = true;
	while (jiter_next(&it, true, &k, &v, &ve) == 1) {
		if (jkey_is(k, "name"))
			o->name = jstr_value(v, ve);
		else if (jkey_is(k, "generateName"))
			o->generate_name = jstr_value(v, ve);
		else if (jkey_is(k, "namespace"))
			o->namespace_ = jstr_value(v, ve);
		else if (jkey_is(k, "uid"))
			o->uid = jstr_value(v, ve);
		else if (jkey_is(k, "generation"))
			o->has_generation = jint(v, ve, &o->generation);
		else if (jkey_is(k, "creationTimestamp"))
			jtime(v, ve, &o->creation);
		else if (jkey_is(k, "deletionTimestamp"))
			jtime(v, ve, &o->deletion);
		else if (jkey_is(k, "labels") && *v == '{') {
			o->labels_p = v;
			o->labels_len = (size_t)(ve - v);
			o->n_labels = jcount(v, ve, true);
		} else if (jkey_is(k, "ownerReferences") && *v == '[') {
			o->owners_p = v;
			o->owners_len = (size_t)(ve - v);
			o->n_owners = jcount(v, ve, false);
		} else if (jkey_is(k, "finalizers") && *v == '[') {
			o->finalizers_p = v;
			o->finalizers_len = (size_t)(ve - v);
			o->n_finalizers = jcount(v, ve, false);
		}
	}
}

static bool decode_json(kvf_span value, kvf_k8s_object *o)
{
	const uint8_t *p = value.p, *end = value.p + value.len;
	const uint8_t *obj = ws(p, end), *obj_end = jvalue(obj, end);
	if (!obj_end || ws(obj_end, end) != end || *obj != '{')
		return false;   /* one complete object, or not ours */
	jiter it;
	kvf_k8s_str k;
	const uint8_t *v, *ve, *meta = NULL, *meta_end = NULL;
	jiter_open(obj, obj_end, '{', &it);
	while (jiter_next(&it, true, &k, &v, &ve) == 1) {
		if (jkey_is(k, "apiVersion"))
			o->api_version = jstr_value(v, ve);
		else if (jkey_is(k, "kind"))
			o->kind = jstr_value(v, ve);
		else if (jkey_is(k, "metadata") && *v == '{') {
			meta = v;
			meta_end = ve;
		}
	}
	if (!o->api_version.len && !o->kind.len)
		return false;
	o->encoding = KVF_K8S_JSON;
	if (meta)
		json_meta(meta, meta_end, o);
	return true;
}

/* ---- encrypted ---- */

static bool decode_encrypted(kvf_span v, kvf_k8s_object *o)
{
	/* k8s:enc:<provider>:v1:<key name>:<ciphertext> (kms v2: the plugin's
	 * name, then an EncryptedObject) */
	const uint8_t *p = v.p + 8, *end = v.p + v.len;
	const uint8_t *c1 = memchr(p, ':', (size_t)(end - p));
	if (!c1)
		return false;
	o->encoding = KVF_K8S_ENCRYPTED;
	o->provider = str_of(p, (size_t)(c1 - p), false);
	const uint8_t *ver = c1 + 1;
	const uint8_t *c2 = ver < end ? memchr(ver, ':', (size_t)(end - ver)) : NULL;
	if (c2) {
		const uint8_t *name = c2 + 1;
		const uint8_t *c3 = name < end ? memchr(name, ':', (size_t)(end - name)) : NULL;
		if (c3)
			o->key_name = str_of(name, (size_t)(c3 - name), false);
	}
	return true;
}

bool kvf_k8s_decode(kvf_span v, kvf_k8s_object *o)
{
	memset(o, 0, sizeof(*o));
	if (!v.len)   /* an empty value may be (NULL, 0): no pointer arithmetic on it */
		return false;
	if (v.len >= 8 && memcmp(v.p, "k8s:enc:", 8) == 0)
		return decode_encrypted(v, o);
	if (v.len >= 4 && memcmp(v.p, "k8s\0", 4) == 0)
		return decode_protobuf(v, o);
	if (v.len >= 3 && v.p[0] == 0xd9 && v.p[1] == 0xd9 && v.p[2] == 0xf7) {
		o->encoding = KVF_K8S_CBOR;   /* RFC 8949 self-described CBOR */
		return true;
	}
	const uint8_t *p = ws(v.p, v.p + v.len);
	if (p < v.p + v.len && *p == '{' && decode_json(v, o))
		return true;
	memset(o, 0, sizeof(*o));
	return false;
}

/* ---- lists ---- */

static void iter_init(kvf_k8s_iter *it, const kvf_k8s_object *o, const uint8_t *jp, size_t jlen)
{
	it->json = o->encoding == KVF_K8S_JSON;
	if (it->json) {
		it->p = jp;
		it->end = jp ? jp + jlen : jp;
	} else {
		it->p = o->meta_p;
		it->end = o->meta_p ? o->meta_p + o->meta_len : o->meta_p;
	}
	if (!o->metadata_ok)
		it->p = it->end = NULL;
}

void kvf_k8s_labels(const kvf_k8s_object *o, kvf_k8s_iter *it)
{
	iter_init(it, o, o->labels_p, o->labels_len);
}

void kvf_k8s_owners(const kvf_k8s_object *o, kvf_k8s_iter *it)
{
	iter_init(it, o, o->owners_p, o->owners_len);
}

void kvf_k8s_finalizers(const kvf_k8s_object *o, kvf_k8s_iter *it)
{
	iter_init(it, o, o->finalizers_p, o->finalizers_len);
}

/* The next field `num` (length-delimited) of the ObjectMeta an iterator walks. */
static bool pb_next_field(kvf_k8s_iter *it, uint32_t num, const uint8_t **d, size_t *len)
{
	if (!it->p)
		return false;
	kvf_pb_reader r = { it->p, it->end };
	kvf_pb_field f;
	while (kvf_pb_next(&r, &f) == 1)
		if (f.num == num && f.wire == KVF_PB_LEN) {
			it->p = r.p;
			*d = f.data ? f.data : it->p;
			*len = f.len;
			return true;
		}
	it->p = it->end;
	return false;
}

/* A JSON container iterator kept in kvf_k8s_iter: p at the opening bracket
 * the first time, then after each member. The bracket is replaced by a
 * state: json iterators are opened lazily. */
static int json_next(kvf_k8s_iter *it, bool object, kvf_k8s_str *key, const uint8_t **v,
                     const uint8_t **ve)
{
	if (!it->p || it->p >= it->end)
		return 0;
	jiter j;
	if (*it->p == (object ? '{' : '[')) {
		if (!jiter_open(it->p, it->end, object ? '{' : '[', &j))
			return 0;
	} else {
		j.p = it->p;
		j.end = it->end;
		j.first = false;
	}
	int rc = jiter_next(&j, object, key, v, ve);
	it->p = rc == 1 ? j.p : it->end;
	return rc;
}

bool kvf_k8s_label_next(kvf_k8s_iter *it, kvf_k8s_str *key, kvf_k8s_str *value)
{
	if (it->json) {
		const uint8_t *v, *ve;
		while (json_next(it, true, key, &v, &ve) == 1) {
			*value = jstr_value(v, ve);
			if (value->p)
				return true;   /* a label's value is a string; skip anything else */
		}
		return false;
	}
	const uint8_t *d;
	size_t n;
	while (pb_next_field(it, 11, &d, &n)) {
		/* a map entry {key = 1, value = 2} */
		if (!pb_whole(d, n))
			continue;
		*key = pb_str(d, n, 1);
		*value = pb_str(d, n, 2);
		/* an entry without its key or value: the empty string, at the entry */
		if (!key->p)
			*key = str_of(d, 0, false);
		if (!value->p)
			*value = str_of(d, 0, false);
		return true;
	}
	return false;
}

static bool pb_bool(const uint8_t *p, size_t n, uint32_t num)
{
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	bool v = false;
	while (kvf_pb_next(&r, &f) == 1)
		if (f.num == num && f.wire == KVF_PB_VARINT)
			v = f.u64 != 0;
	return v;
}

bool kvf_k8s_owner_next(kvf_k8s_iter *it, kvf_k8s_owner *out)
{
	memset(out, 0, sizeof(*out));
	if (it->json) {
		const uint8_t *v, *ve;
		kvf_k8s_str k;
		while (json_next(it, false, &k, &v, &ve) == 1) {
			jiter o;
			if (!jiter_open(v, ve, '{', &o))
				continue;
			const uint8_t *a, *b;
			while (jiter_next(&o, true, &k, &a, &b) == 1) {
				if (jkey_is(k, "apiVersion"))
					out->api_version = jstr_value(a, b);
				else if (jkey_is(k, "kind"))
					out->kind = jstr_value(a, b);
				else if (jkey_is(k, "name"))
					out->name = jstr_value(a, b);
				else if (jkey_is(k, "uid"))
					out->uid = jstr_value(a, b);
				else if (jkey_is(k, "controller"))
					out->controller = jliteral(a, b, "true") != NULL;
				else if (jkey_is(k, "blockOwnerDeletion"))
					out->block_owner_deletion = jliteral(a, b, "true") != NULL;
			}
			return true;
		}
		return false;
	}
	const uint8_t *d;
	size_t n;
	while (pb_next_field(it, 13, &d, &n)) {
		if (!pb_whole(d, n))
			continue;
		out->kind = pb_str(d, n, 1);
		out->name = pb_str(d, n, 3);
		out->uid = pb_str(d, n, 4);
		out->api_version = pb_str(d, n, 5);
		out->controller = pb_bool(d, n, 6);
		out->block_owner_deletion = pb_bool(d, n, 7);
		return true;
	}
	return false;
}

bool kvf_k8s_finalizer_next(kvf_k8s_iter *it, kvf_k8s_str *out)
{
	if (it->json) {
		const uint8_t *v, *ve;
		kvf_k8s_str k;
		while (json_next(it, false, &k, &v, &ve) == 1) {
			*out = jstr_value(v, ve);
			if (out->p)
				return true;
		}
		return false;
	}
	const uint8_t *d;
	size_t n;
	if (!pb_next_field(it, 14, &d, &n))
		return false;
	*out = str_of(d, n, false);
	return true;
}

/* ---- strings ---- */

static bool put_utf8(kvf_buf *b, uint32_t c)
{
	uint8_t u[4];
	size_t n;
	if (c < 0x80) {
		u[0] = (uint8_t)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (uint8_t)(0xC0 | c >> 6);
		u[1] = (uint8_t)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (uint8_t)(0xE0 | c >> 12);
		u[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
		u[2] = (uint8_t)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | c >> 18);
		u[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
		u[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
		u[3] = (uint8_t)(0x80 | (c & 0x3F));
		n = 4;
	}
	return kvf_buf_append(b, u, n);
}

static uint32_t hex4(const uint8_t *p)
{
	return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

bool kvf_k8s_str_decode(kvf_k8s_str s, kvf_buf *b)
{
	if (!s.p || !s.len)
		return kvf_buf_append(b, "", 0);
	if (!s.escaped)
		return kvf_buf_append(b, s.p, s.len);
	const uint8_t *p = s.p, *end = s.p + s.len;
	bool ok = true;
	while (ok && p < end) {
		const uint8_t *bs = memchr(p, '\\', (size_t)(end - p));
		if (!bs)
			return kvf_buf_append(b, p, (size_t)(end - p));
		ok = kvf_buf_append(b, p, (size_t)(bs - p));
		p = bs + 1;
		if (p >= end)
			break;   /* jstring never leaves a lone backslash */
		uint8_t c = *p++;
		switch (c) {
		case 'b': ok = ok && kvf_buf_putc(b, '\b'); break;
		case 'f': ok = ok && kvf_buf_putc(b, '\f'); break;
		case 'n': ok = ok && kvf_buf_putc(b, '\n'); break;
		case 'r': ok = ok && kvf_buf_putc(b, '\r'); break;
		case 't': ok = ok && kvf_buf_putc(b, '\t'); break;
		case 'u': {
			if (end - p < 4)
				return false;
			uint32_t u = hex4(p);
			p += 4;
			/* a surrogate pair makes one code point; a lone half is U+FFFD */
			if (u >= 0xD800 && u < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
				uint32_t lo = hex4(p + 2);
				if (lo >= 0xDC00 && lo < 0xE000) {
					u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				}
			}
			if (u >= 0xD800 && u < 0xE000)
				u = 0xFFFD;
			ok = ok && put_utf8(b, u);
			break;
		}
		default: ok = ok && kvf_buf_putc(b, (char)c); break;   /* " \ / */
		}
	}
	return ok;
}

bool kvf_k8s_str_eq(kvf_k8s_str s, const char *c, bool icase)
{
	size_t n = strlen(c);
	if (!s.p)
		return false;
	if (!s.escaped)
		return s.len == n && (icase ? strncasecmp((const char *)s.p, c, n) == 0 : memcmp(s.p, c, n) == 0);
	kvf_buf b = KVF_BUF_INIT;
	bool eq = kvf_k8s_str_decode(s, &b) && b.len == n &&
	          (n == 0 || (icase ? strncasecmp(b.p, c, n) == 0 : memcmp(b.p, c, n) == 0));
	kvf_buf_free(&b);
	return eq;
}

/* kind against one pattern: the kind, or its plural with -s or -es */
static bool kind_is(kvf_k8s_str kind, const char *pat, size_t n)
{
	if (!kind.p || kind.escaped || n == 0)
		return false;
	const char *k = (const char *)kind.p;
	size_t kl = kind.len;
	if (kl == n && strncasecmp(k, pat, n) == 0)
		return true;
	if (n == kl + 1 && (pat[kl] == 's' || pat[kl] == 'S') && strncasecmp(k, pat, kl) == 0)
		return true;
	return n == kl + 2 && strncasecmp(pat + kl, "es", 2) == 0 && strncasecmp(k, pat, kl) == 0;
}

bool kvf_k8s_kind_in(kvf_k8s_str kind, const char *kinds)
{
	if (!kinds)
		return true;
	for (const char *p = kinds; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (kind_is(kind, p, n))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}

/* The built-in kinds the API server stores (k8s.io/api), for telling a
 * Kubernetes kind typed in lower case ("pods") from a typo of something else. */
static const char *const builtin_kinds[] = {
	"APIService", "Binding", "CSIDriver", "CSINode", "CSIStorageCapacity", "CertificateSigningRequest",
	"ClusterRole", "ClusterRoleBinding", "ComponentStatus", "ConfigMap", "ControllerRevision",
	"CronJob", "CustomResourceDefinition", "DaemonSet", "Deployment", "EndpointSlice", "Endpoints",
	"Event", "FlowSchema", "HorizontalPodAutoscaler", "Ingress", "IngressClass", "Job", "Lease",
	"LimitRange", "MutatingWebhookConfiguration", "Namespace", "NetworkPolicy", "Node",
	"PersistentVolume", "PersistentVolumeClaim", "Pod", "PodDisruptionBudget", "PodTemplate",
	"PriorityClass", "PriorityLevelConfiguration", "RangeAllocation", "ReplicaSet",
	"ReplicationController", "ResourceQuota", "Role", "RoleBinding", "RuntimeClass", "Secret",
	"Service", "ServiceAccount", "StatefulSet", "StorageClass", "ValidatingAdmissionPolicy",
	"ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration", "VolumeAttachment", NULL,
};

bool kvf_k8s_kind_pattern(const char *pat, size_t n)
{
	if (n && pat[0] >= 'A' && pat[0] <= 'Z')
		return true;
	for (size_t i = 0; builtin_kinds[i]; i++) {
		kvf_k8s_str k = { (const uint8_t *)builtin_kinds[i], (uint32_t)strlen(builtin_kinds[i]), false };
		if (kind_is(k, pat, n))
			return true;
	}
	return false;
}

bool kvf_k8s_matches(const kvf_k8s_object *o, const char *kinds, const char *ns)
{
	if (o->encoding != KVF_K8S_JSON && o->encoding != KVF_K8S_PROTOBUF)
		return !kinds && !ns;
	if (kinds && !kvf_k8s_kind_in(o->kind, kinds))
		return false;
	if (ns && !(o->metadata_ok && (o->namespace_.p ? kvf_k8s_str_eq(o->namespace_, ns, false) : !*ns)))
		return false;
	return true;
}

/* ---- keys ---- */

/* Storage prefixes of the built-in cluster-scoped resources
 * (k8s.io/kubernetes pkg/registry/.../storage: the resource's
 * DefaultQualifiedResource, nodes stored as "minions"). */
static const char *const cluster_scoped[] = {
	"certificatesigningrequests", "clusterrolebindings", "clusterroles", "clustertrustbundles",
	"csidrivers", "csinodes", "deviceclasses", "flowschemas", "ingressclasses", "ipaddresses",
	"minions", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings",
	"mutatingwebhookconfigurations", "namespaces", "nodes", "persistentvolumes", "podsecuritypolicy",
	"priorityclasses", "prioritylevelconfigurations", "resourceslices", "runtimeclasses", "servicecidrs",
	"storageclasses", "storageversionmigrations", "storageversions", "validatingadmissionpolicies",
	"validatingadmissionpolicybindings", "validatingwebhookconfigurations", "volumeattachments", NULL,
};

/* ... and of the namespaced ones (services and endpoints have their own
 * layout, services/specs and services/endpoints). */
static const char *const namespaced[] = {
	"configmaps", "controllerrevisions", "controllers", "cronjobs", "csistoragecapacities", "daemonsets",
	"deployments", "endpointslices", "events", "horizontalpodautoscalers", "ingress", "jobs", "leases",
	"limitranges", "networkpolicies", "persistentvolumeclaims", "poddisruptionbudgets", "pods",
	"podtemplates", "replicasets", "resourceclaims", "resourceclaimtemplates", "resourcequotas",
	"rolebindings", "roles", "secrets", "serviceaccounts", "statefulsets", NULL,
};

/* built-ins stored under a group segment (all cluster-scoped) */
static const char *const grouped[] = {
	"apiextensions.k8s.io/customresourcedefinitions", "apiregistration.k8s.io/apiservices", NULL,
};

static bool in_list(const char *const *l, const uint8_t *p, size_t n)
{
	for (size_t i = 0; l[i]; i++)
		if (strlen(l[i]) == n && memcmp(l[i], p, n) == 0)
			return true;
	return false;
}

bool kvf_k8s_cluster_scoped(const uint8_t *resource, size_t n)
{
	return resource && in_list(cluster_scoped, resource, n);
}

static bool lower_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label (a namespace): [a-z0-9]([-a-z0-9]*[a-z0-9])?, 63 at most */
static bool dns_label(const uint8_t *p, size_t n)
{
	if (n == 0 || n > 63 || !lower_alnum(p[0]) || !lower_alnum(p[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(p[i]) && p[i] != '-')
			return false;
	return true;
}

/* RFC 1123 subdomain (a group): labels joined by '.', 253 at most */
static bool dns_subdomain(const uint8_t *p, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++)
		if (i == n || p[i] == '.') {
			if (!dns_label(p + start, i - start))
				return false;
			start = i + 1;
		}
	return true;
}

static kvf_k8s_str seg_str(const uint8_t *p, size_t n)
{
	return (kvf_k8s_str){ p, (uint32_t)n, false };
}

#define KEY_PREFIX "/registry/"
#define MAX_SEGS 5

bool kvf_k8s_key_parse(const uint8_t *key, size_t len, kvf_k8s_key *out)
{
	memset(out, 0, sizeof(*out));
	const size_t pl = sizeof(KEY_PREFIX) - 1;
	if (!key || len <= pl || len > UINT32_MAX || memcmp(key, KEY_PREFIX, pl) != 0)
		return false;
	/* the segments after the prefix; more than MAX_SEGS: no layout of ours */
	const uint8_t *sp[MAX_SEGS];
	size_t sn[MAX_SEGS], n = 0, start = pl;
	for (size_t i = pl; i <= len; i++) {
		if (i < len && key[i] != '/')
			continue;
		if (i == start || n == MAX_SEGS)
			return false;   /* an empty segment ("//", a trailing '/'), or too many */
		sp[n] = key + start;
		sn[n] = i - start;
		n++;
		start = i + 1;
	}
	const uint8_t *name = sp[n - 1];
	size_t name_n = sn[n - 1];
	if ((name_n == 1 && name[0] == '.') || (name_n == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	size_t first = 0;
	bool has_group = memchr(sp[0], '.', sn[0]) != NULL;
	if (has_group) {
		if (!dns_subdomain(sp[0], sn[0]))
			return false;
		out->group = seg_str(sp[0], sn[0]);
		first = 1;
	}
	size_t m = n - first;   /* resource [namespace] name */
	if (m < 2) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	const uint8_t *res = sp[first];
	size_t res_n = sn[first];
	if (!has_group && n == 4 && sn[0] == 8 && memcmp(sp[0], "services", 8) == 0 &&
	    ((sn[1] == 5 && memcmp(sp[1], "specs", 5) == 0) || (sn[1] == 9 && memcmp(sp[1], "endpoints", 9) == 0))) {
		/* services/specs/<ns>/<name>: Service; services/endpoints/<ns>/<name>: Endpoints */
		if (!dns_label(sp[2], sn[2])) {
			memset(out, 0, sizeof(*out));
			return false;
		}
		out->resource = sn[1] == 5 ? seg_str(sp[0], sn[0]) : seg_str(sp[1], sn[1]);
		out->namespace_ = seg_str(sp[2], sn[2]);
		out->name = seg_str(name, name_n);
		out->well_known = true;
		return true;
	}
	for (size_t i = 0; i < res_n; i++)
		if (!lower_alnum(res[i]) && res[i] != '-') {
			memset(out, 0, sizeof(*out));
			return false;
		}
	bool cs = !has_group && kvf_k8s_cluster_scoped(res, res_n);
	if (m == 3 && !cs) {
		if (!dns_label(sp[first + 1], sn[first + 1])) {
			memset(out, 0, sizeof(*out));
			return false;
		}
		out->namespace_ = seg_str(sp[first + 1], sn[first + 1]);
	} else if (!(m == 2 && (has_group || cs))) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	out->resource = seg_str(res, res_n);
	out->name = seg_str(name, name_n);
	if (has_group) {
		/* "<group>/<resource>" against the grouped built-ins */
		for (size_t i = 0; grouped[i]; i++) {
			size_t gl = sn[0];
			if (strlen(grouped[i]) == gl + 1 + res_n && memcmp(grouped[i], sp[0], gl) == 0 &&
			    grouped[i][gl] == '/' && memcmp(grouped[i] + gl + 1, res, res_n) == 0)
				out->well_known = true;
		}
	} else {
		out->well_known = cs || in_list(namespaced, res, res_n);
	}
	return true;
}

/* resource against one pattern: itself, or its plural */
static bool resource_is(kvf_k8s_str r, const char *pat, size_t n)
{
	if (!r.p || r.escaped || n == 0)
		return false;
	const char *s = (const char *)r.p;
	size_t rl = r.len;
	if (rl == n && strncasecmp(s, pat, n) == 0)
		return true;
	if (rl == n + 1 && (s[n] == 's' || s[n] == 'S') && strncasecmp(s, pat, n) == 0)
		return true;
	if (rl == n + 2 && strncasecmp(s + n, "es", 2) == 0 && strncasecmp(s, pat, n) == 0)
		return true;
	/* NetworkPolicy -> networkpolicies */
	return n >= 2 && rl == n + 2 && (pat[n - 1] == 'y' || pat[n - 1] == 'Y') &&
	       strncasecmp(s, pat, n - 1) == 0 && strncasecmp(s + n - 1, "ies", 3) == 0;
}

bool kvf_k8s_resource_in(kvf_k8s_str resource, const char *kinds)
{
	if (!kinds)
		return true;
	for (const char *p = kinds; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (resource_is(resource, p, n))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}
