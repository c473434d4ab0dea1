#include "db/schema.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool kvf_revkey_parse(kvf_span k, kvf_revision *rev, bool *tombstone)
{
	if ((k.len != 17 && k.len != 18) || k.p[8] != '_')
		return false;
	if (k.len == 18 && k.p[17] != 't')
		return false;
	rev->main = (int64_t)kvf_be64(k.p);
	rev->sub = (int64_t)kvf_be64(k.p + 9);
	*tombstone = k.len == 18;
	return true;
}

void kvf_revkey_make(kvf_revision rev, uint8_t out[17])
{
	kvf_put_be64(out, (uint64_t)rev.main);
	out[8] = '_';
	kvf_put_be64(out + 9, (uint64_t)rev.sub);
}

/* A KeyValue as Go's protobuf writes it: its fields in number order, key
 * (1), create_revision (2), mod_revision (3), version (4), value (5) and
 * lease (6), each at most once and left out when zero or empty, each tag
 * one byte. Every pair of bucket `key` is one, a million of them in a
 * large db; this reads that form straight and gives up (false) on
 * anything else: another field, order or tag encoding, a bad varint or
 * length. Where it succeeds, the general loop below would set the same
 * fields to the same values (tests/unit/schema_test.c holds the two to
 * each other). */
static bool kv_parse_go_order(kvf_span v, kvf_kv *kv)
{
	const uint8_t *p = v.p, *end = v.p + v.len;
	unsigned next = 1;
	while (p < end) {
		unsigned tag = *p, num = tag >> 3, wire = tag & 7;
		if (tag & 0x80 || num < next || num > 6)
			return false;
		p++;
		uint64_t x;
		size_t n = kvf_pb_varint(p, end, &x);
		if (!n)
			return false;
		p += n;
		if (num == 1 || num == 5) {
			if (wire != KVF_PB_LEN || x > (uint64_t)(end - p))
				return false;
			kvf_span *s = num == 1 ? &kv->key : &kv->value;
			s->p = p;
			s->len = (size_t)x;
			s->file_offset = v.file_offset == KVF_NO_OFFSET ? KVF_NO_OFFSET : v.file_offset + (uint64_t)(p - v.p);
			p += x;
		} else {
			if (wire != KVF_PB_VARINT)
				return false;
			if (num == 2) kv->create_revision = (int64_t)x;
			else if (num == 3) kv->mod_revision = (int64_t)x;
			else if (num == 4) kv->version = (int64_t)x;
			else kv->lease = (int64_t)x;
		}
		next = num + 1;
	}
	return true;
}

/* An absent key or value is the empty string (proto3). Point it at the
 * value, never at NULL: keys are sorted and compared with memcmp, which may
 * not be passed NULL even for 0 bytes (a KeyValue without a key reached
 * memcmp(NULL, ..) in the key index: UB, found by fuzz_bolt). */
static void kv_init(kvf_span v, kvf_kv *kv)
{
	static const uint8_t empty[1];
	const kvf_span none = { v.p ? v.p : empty, 0, v.file_offset };
	*kv = (kvf_kv){ .key = none, .value = none };
}

bool kvf_kv_parse(kvf_span v, kvf_kv *kv)
{
	kv_init(v, kv);
	if (v.len && kv_parse_go_order(v, kv))
		return true;
	return kvf_kv_parse_general(v, kv);
}

bool kvf_kv_parse_general(kvf_span v, kvf_kv *kv)
{
	kv_init(v, kv);
	kvf_pb_reader r = kvf_pb_init(v.p, v.len);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		switch (f.num) {
		case 1:
		case 5:
			if (f.wire != KVF_PB_LEN)
				return false;
			kvf_span *s = f.num == 1 ? &kv->key : &kv->value;
			s->p = f.data;
			s->len = f.len;
			s->file_offset = v.file_offset == KVF_NO_OFFSET ? KVF_NO_OFFSET
			                 : v.file_offset + (uint64_t)(f.data - v.p);
			break;
		case 2: case 3: case 4: case 6:
			if (f.wire != KVF_PB_VARINT)
				return false;
			int64_t x = (int64_t)f.u64;
			if (f.num == 2) kv->create_revision = x;
			else if (f.num == 3) kv->mod_revision = x;
			else if (f.num == 4) kv->version = x;
			else kv->lease = x;
			break;
		default:
			break;
		}
	}
	return rc == 0;
}

static bool name_is(kvf_span s, const char *name)
{
	size_t n = strlen(name);
	return s.len == n && memcmp(s.p, name, n) == 0;
}

static const char *const etcd_buckets[] = {
	"key", "meta", "lease", "alarm", "cluster", "members", "members_removed",
	"auth", "authUsers", "authRoles", NULL,
};

const char *const *kvf_etcd_buckets(void)
{
	return etcd_buckets;
}

kvf_bucket_kind kvf_bucket_kind_of(kvf_span name)
{
	static const struct { const char *name; kvf_bucket_kind kind; } map[] = {
		{ "key", KVF_BUCKET_KEYS }, { "meta", KVF_BUCKET_META }, { "auth", KVF_BUCKET_AUTH },
		{ "authUsers", KVF_BUCKET_AUTH_USERS }, { "authRoles", KVF_BUCKET_AUTH_ROLES },
		{ "lease", KVF_BUCKET_LEASE }, { "members", KVF_BUCKET_MEMBERS },
		{ "members_removed", KVF_BUCKET_MEMBERS_REMOVED }, { "cluster", KVF_BUCKET_CLUSTER },
		{ "alarm", KVF_BUCKET_ALARM },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (name_is(name, map[i].name))
			return map[i].kind;
	return KVF_BUCKET_OTHER;
}

static void note_bad(kvf_etcd_state *st, const char *bucket, const char *key, kvf_span v, const char *want)
{
	if (st->bad[0])
		return;
	if (v.file_offset != KVF_NO_OFFSET)
		snprintf(st->bad, sizeof(st->bad), "offset %llu: %s/%s is %zu bytes, expected %s",
		         (unsigned long long)v.file_offset, bucket, key, v.len, want);
	else
		snprintf(st->bad, sizeof(st->bad), "%s/%s is %zu bytes, expected %s", bucket, key, v.len, want);
}

/* Look up bucket/key: found and well-formed, absent, or an error. */
static kvf_status lookup(kvf_backend *b, const char *bucket, const char *key, kvf_span *v,
                         bool *found, kvf_err *err)
{
	kvf_status s = kvf_backend_get(b, bucket, strlen(bucket), key, strlen(key), v, err);
	*found = s == KVF_OK;
	if (s == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		return KVF_OK;
	}
	return s;
}

static kvf_status u64_value(kvf_backend *b, kvf_etcd_state *st, const char *bucket, const char *key,
                            bool *has, uint64_t *out, kvf_span *where, kvf_err *err)
{
	kvf_span v;
	bool found;
	kvf_status s = lookup(b, bucket, key, &v, &found, err);
	if (s || !found)
		return s;
	if (v.len != 8) {
		note_bad(st, bucket, key, v, "8 (big-endian integer)");
		return KVF_OK;
	}
	*has = true;
	*out = kvf_be64(v.p);
	if (where)
		*where = v;
	return KVF_OK;
}

static kvf_status rev_value(kvf_backend *b, kvf_etcd_state *st, const char *key, bool *has,
                            int64_t *main, kvf_err *err)
{
	kvf_span v;
	bool found, tomb;
	kvf_revision rev;
	kvf_status s = lookup(b, "meta", key, &v, &found, err);
	if (s || !found)
		return s;
	if (!kvf_revkey_parse(v, &rev, &tomb)) {
		note_bad(st, "meta", key, v, "17 (a revision)");
		return KVF_OK;
	}
	*has = true;
	*main = rev.main;
	return KVF_OK;
}

static kvf_status span_value(kvf_backend *b, const char *bucket, const char *key, kvf_span *out, kvf_err *err)
{
	bool found;
	kvf_status s = lookup(b, bucket, key, out, &found, err);
	if (!found)
		memset(out, 0, sizeof(*out));
	return s;
}

kvf_status kvf_etcd_read_state(kvf_backend *b, kvf_etcd_state *st, kvf_err *err)
{
	memset(st, 0, sizeof(*st));
	kvf_status s;
	if ((s = u64_value(b, st, "meta", "consistent_index", &st->has_consistent_index,
	                   &st->consistent_index, NULL, err)) ||
	    (s = u64_value(b, st, "meta", "term", &st->has_term, &st->term, NULL, err)) ||
	    (s = rev_value(b, st, "scheduledCompactRev", &st->has_scheduled_compact,
	                   &st->scheduled_compact, err)) ||
	    (s = rev_value(b, st, "finishedCompactRev", &st->has_finished_compact,
	                   &st->finished_compact, err)) ||
	    (s = span_value(b, "meta", "confState", &st->conf_state, err)) ||
	    (s = span_value(b, "meta", "storageVersion", &st->storage_version, err)) ||
	    (s = u64_value(b, st, "auth", "authRevision", &st->has_auth_revision, &st->auth_revision,
	                   &st->auth_revision_value, err)) ||
	    (s = span_value(b, "cluster", "clusterVersion", &st->cluster_version, err)) ||
	    (s = span_value(b, "cluster", "downgrade", &st->downgrade, err)))
		return s;
	kvf_span v;
	bool found;
	if ((s = lookup(b, "auth", "authEnabled", &v, &found, err)))
		return s;
	if (found) {
		/* etcd writes one byte, 1 or 0 (auth/store.go authEnabled/authDisabled) */
		if (v.len == 1 && v.p[0] <= 1) {
			st->has_auth_enabled = true;
			st->auth_enabled = v.p[0] == 1;
		} else {
			note_bad(st, "auth", "authEnabled", v, "1 (0 or 1)");
		}
	}
	return KVF_OK;
}

/* ---- meta/confState ---- */

typedef struct json_in {
	const uint8_t *p, *end;
} json_in;

static void ws(json_in *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool eat(json_in *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static bool literal(json_in *j, const char *word)
{
	size_t n = strlen(word);
	ws(j);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return false;
	j->p += n;
	return true;
}

/* A JSON string; its bytes (escapes left as they are) in [*s, *s + *n). */
static bool string(json_in *j, const uint8_t **s, size_t *n)
{
	if (!eat(j, '"'))
		return false;
	*s = j->p;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\' && j->p + 1 < j->end)
			j->p++;
		j->p++;
	}
	if (j->p >= j->end)
		return false;
	*n = (size_t)(j->p - *s);
	j->p++;
	return true;
}

static bool uint64_value(json_in *j, uint64_t *v)
{
	ws(j);
	const uint8_t *start = j->p;
	uint64_t x = 0;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned d = (unsigned)(*j->p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		j->p++;
	}
	if (j->p == start || (j->p - start > 1 && *start == '0'))
		return false;
	*v = x;
	return true;
}

/* Any JSON value, not kept (a key confState does not have). */
static bool skip_value(json_in *j, int depth)
{
	const uint8_t *s;
	size_t n;
	ws(j);
	if (depth > 16 || j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"':
		return string(j, &s, &n);
	case '[':
	case '{': {
		bool obj = *j->p == '{';
		j->p++;
		if (eat(j, obj ? '}' : ']'))
			return true;
		do {
			if (obj && (!string(j, &s, &n) || !eat(j, ':')))
				return false;
			if (!skip_value(j, depth + 1))
				return false;
		} while (eat(j, ','));
		return eat(j, obj ? '}' : ']');
	}
	default:
		if (literal(j, "true") || literal(j, "false") || literal(j, "null"))
			return true;
		/* a number */
		if (j->p < j->end && *j->p == '-')
			j->p++;
		const uint8_t *start = j->p;
		while (j->p < j->end && strchr("0123456789.eE+-", *j->p))
			j->p++;
		return j->p > start;
	}
}

static bool id_list(json_in *j, uint64_t *v, size_t *n)
{
	*n = 0;
	if (literal(j, "null"))
		return true;
	if (!eat(j, '['))
		return false;
	if (eat(j, ']'))
		return true;
	do {
		if (*n == KVF_CONF_STATE_MAX || !uint64_value(j, &v[*n]))
			return false;
		(*n)++;
	} while (eat(j, ','));
	return eat(j, ']');
}

static bool key_is(const uint8_t *s, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp((const char *)s, name, n) == 0;
}

bool kvf_conf_state_parse(kvf_span v, kvf_conf_state *cs)
{
	memset(cs, 0, sizeof(*cs));
	json_in j = { v.p, v.p + v.len };
	if (!v.len || !eat(&j, '{'))
		return false;
	if (!eat(&j, '}')) {
		do {
			const uint8_t *k;
			size_t n;
			if (!string(&j, &k, &n) || !eat(&j, ':'))
				return false;
			bool ok;
			if (key_is(k, n, "voters"))
				ok = id_list(&j, cs->voters, &cs->n_voters);
			else if (key_is(k, n, "learners"))
				ok = id_list(&j, cs->learners, &cs->n_learners);
			else if (key_is(k, n, "voters_outgoing"))
				ok = id_list(&j, cs->voters_outgoing, &cs->n_voters_outgoing);
			else if (key_is(k, n, "learners_next"))
				ok = id_list(&j, cs->learners_next, &cs->n_learners_next);
			else if (key_is(k, n, "auto_leave"))
				ok = (literal(&j, "true") && (cs->auto_leave = true)) || literal(&j, "false") ||
				     literal(&j, "null");
			else
				ok = skip_value(&j, 0);
			if (!ok)
				return false;
		} while (eat(&j, ','));
		if (!eat(&j, '}'))
			return false;
	}
	ws(&j);
	return j.p == j.end;
}
