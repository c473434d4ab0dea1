#include "analysis/diff.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/proto/authpb.pb-c.h"
#include "io/buf.h"
#include "encoding/proto/etcdserverpb.pb-c.h"
#include "encoding/proto/leasepb.pb-c.h"
#include "wal/raftlog.h"
#include "analysis/detectors.h"
#include "io/source.h"
#include "io/text.h"
#include "db/version.h"

/* Touches kept per divergent key for the report; the simulation sees all. */
#define MAX_SHOWN_TOUCHES 16

const char *kvf_cause_name(kvf_cause c)
{
	switch (c) {
	case KVF_CAUSE_NONE: return "none";
	case KVF_CAUSE_AUTH_SKEW: return "auth_revision_skew";
	case KVF_CAUSE_BEHIND: return "member_behind";
	case KVF_CAUSE_UNEXPLAINED: return "unexplained";
	}
	return "unknown";
}

static void appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

/* ---- members ---- */

/* "node1" for .../node1, .../node1/member/snap/db, .../node1/member. */
static char *default_label(const char *path)
{
	char *p = strdup(path);
	if (!p)
		return NULL;
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	static const char *const tails[] = { "/member/snap/db", "/member" };
	for (size_t i = 0; i < 2; i++) {
		size_t t = strlen(tails[i]);
		if (n > t && strcmp(p + n - t, tails[i]) == 0) {
			n -= t;
			p[n] = '\0';
			break;
		}
	}
	const char *slash = strrchr(p, '/');
	char *label = strdup(slash ? slash + 1 : p);
	free(p);
	return label;
}

kvf_status kvf_diff_add_node(kvf_diff *d, const char *label, const char *path, const char *wal_dir, kvf_err *err)
{
	if (d->n >= KVF_DIFF_MAX_NODES)
		return kvf_err_set(err, KVF_E_USAGE, path, KVF_NO_OFFSET,
		                   "at most %d members can be compared", KVF_DIFF_MAX_NODES);
	if (!kvf_grow_array((void **)&d->nodes, &d->cap, d->n, sizeof(*d->nodes)))
		return nomem(err);
	kvf_diff_node *nd = &d->nodes[d->n];
	memset(nd, 0, sizeof(*nd));
	nd->label = label ? strdup(label) : default_label(path);
	nd->path = strdup(path);
	if (!nd->label || !nd->path)
		return nomem(err);
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->nodes[i].label, nd->label) == 0) {
			/* two members with the same directory name: number them */
			char *l;
			if (asprintf(&l, "%s#%zu", nd->label, d->n + 1) < 0)
				return nomem(err);
			free(nd->label);
			nd->label = l;
		}
	d->n++;
	kvf_status s = kvf_etcd_db_path(path, &nd->db_path, err);
	if (s)
		return s;
	if (wal_dir) {
		nd->wal_dir = strdup(wal_dir);
	} else {
		kvf_path_kind kind;
		kvf_datadir dd;
		if (kvf_path_classify(path, &kind, &dd, err) == KVF_OK && kind == KVF_PATH_DATADIR && dd.wal_dir) {
			nd->wal_dir = dd.wal_dir;
			dd.wal_dir = NULL;
		}
		kvf_datadir_free(&dd);
		kvf_err_clear(err);
	}
	return KVF_OK;
}

kvf_status kvf_diff_set_wal(kvf_diff *d, const char *label, const char *wal_dir, kvf_err *err)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->nodes[i].label, label) == 0) {
			free(d->nodes[i].wal_dir);
			d->nodes[i].wal_dir = strdup(wal_dir);
			return d->nodes[i].wal_dir ? KVF_OK : nomem(err);
		}
	return kvf_err_set(err, KVF_E_USAGE, NULL, KVF_NO_OFFSET, "--wal names '%s', which is no member", label);
}

/* ---- the key buckets, in step ---- */

typedef struct stream {
	kvf_cursor *c;
	kvf_pair p;
	bool has;
	kvf_revision rev;
	bool tomb;
	kvf_kv kv;
} stream;

/* Next well-formed pair; malformed ones go to the key index (which counts them). */
static kvf_status advance(stream *s, kvf_keyindex *ki, kvf_err *err)
{
	s->has = false;
	if (!s->c)
		return KVF_OK;
	for (;;) {
		bool got;
		kvf_status st = kvf_cursor_next(s->c, &s->p, &got, err);
		if (st || !got)
			return st;
		if (!s->p.is_bucket && kvf_revkey_parse(s->p.key, &s->rev, &s->tomb) && kvf_kv_parse(s->p.value, &s->kv)) {
			s->has = true;
			return KVF_OK;
		}
		if ((st = kvf_keyindex_add(ki, &s->p, err)))
			return st;
	}
}

enum { DIV_NONE, DIV_MISMATCH, DIV_ENDED_I, DIV_ENDED_J };

typedef struct pair_div {
	int64_t rev;
	int kind;
} pair_div;

static bool same_pair(const stream *a, const stream *b)
{
	return a->tomb == b->tomb && a->p.value.len == b->p.value.len &&
	       memcmp(a->p.value.p, b->p.value.p, a->p.value.len) == 0;
}

static kvf_status walk_histories(kvf_diff *d, pair_div *div, kvf_diff_progress_fn progress, void *pctx,
                                 kvf_err *err)
{
	size_t n = d->n;
	stream *s = calloc(n, sizeof(*s));
	if (!s)
		return nomem(err);
	kvf_status st = KVF_OK;
	for (size_t i = 0; i < n && !st; i++) {
		kvf_keyindex_opts o = { 0 };
		if ((st = kvf_keyindex_begin(d->nodes[i].be, &o, &d->nodes[i].ki, err)))
			break;
		st = kvf_cursor_open(d->nodes[i].be, KVF_BUCKET_KEY, 3, &s[i].c, err);
		if (st == KVF_E_NOTFOUND) {
			kvf_err_clear(err);
			s[i].c = NULL;
			st = KVF_OK;
		}
		if (!st)
			st = advance(&s[i], &d->nodes[i].ki, err);
	}
	uint64_t steps = 0;
	while (!st) {
		bool any = false;
		kvf_revision r = { INT64_MAX, INT64_MAX };
		for (size_t i = 0; i < n; i++)
			if (s[i].has && (!any || kvf_rev_cmp(s[i].rev, r) < 0)) {
				r = s[i].rev;
				any = true;
			}
		if (!any)
			break;
		if (progress && (++steps & 0xffff) == 0)
			progress(pctx, "comparing histories", steps);
		bool compare = r.main > d->compared_from;
		for (size_t i = 0; compare && i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				pair_div *pd = &div[i * n + j];
				if (pd->kind != DIV_NONE)
					continue;
				bool hi = s[i].has && kvf_rev_cmp(s[i].rev, r) == 0;
				bool hj = s[j].has && kvf_rev_cmp(s[j].rev, r) == 0;
				if (hi && hj && same_pair(&s[i], &s[j]))
					continue;
				/* neither holds r (only a third member does): nothing
				 * about this pair, which meets again further on */
				if (!hi && !hj)
					continue;
				if (hi == hj) {
					pd->kind = DIV_MISMATCH;
				} else if (!hi && !s[i].has) {
					pd->kind = DIV_ENDED_I;   /* i's history ends before r */
				} else if (!hj && !s[j].has) {
					pd->kind = DIV_ENDED_J;
				} else {
					pd->kind = DIV_MISMATCH;  /* one skips a revision the other has */
				}
				pd->rev = r.main;
			}
		for (size_t i = 0; i < n && !st; i++)
			if (s[i].has && kvf_rev_cmp(s[i].rev, r) == 0) {
				if (!(st = kvf_keyindex_add(&d->nodes[i].ki, &s[i].p, err)))
					st = advance(&s[i], &d->nodes[i].ki, err);
			}
	}
	for (size_t i = 0; i < n; i++) {
		kvf_cursor_close(s[i].c);
		if (!st)
			st = kvf_keyindex_finish(&d->nodes[i].ki, err);
	}
	free(s);
	return st;
}

/* ---- keys ---- */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void node_value(const kvf_key_entry *e, kvf_node_value *v)
{
	memset(v, 0, sizeof(*v));
	v->predicted = -1;
	if (!e || !e->revisions)
		return;
	v->seen = true;
	kvf_kv kv;
	if (!kvf_kv_parse(e->last_kv, &kv))
		return;
	v->mod_revision = e->last.main;
	if (e->last_tombstone)
		return;
	v->present = true;
	v->create_revision = kv.create_revision;
	v->version = kv.version;
	v->lease = kv.lease;
	v->value_len = kv.value.len;
	v->digest = fnv1a(kv.value.p, kv.value.len);
}

static bool same_value(const kvf_key_entry *a, const kvf_key_entry *b)
{
	kvf_kv x, y;
	if (!kvf_kv_parse(a->last_kv, &x) || !kvf_kv_parse(b->last_kv, &y))
		return false;
	return x.version == y.version && x.lease == y.lease && x.value.len == y.value.len &&
	       memcmp(x.value.p, y.value.p, x.value.len) == 0;
}

static bool live(const kvf_key_entry *e)
{
	return e && e->revisions && !e->last_tombstone;
}

/* The entry of e's key in ki, where e is entry k of another member's
 * index. Indexes list keys in the order bucket `key` first shows them, so
 * replicas that share their history list them in the same order: the entry
 * at the same position is tried first. A hash lookup per key and member
 * was a random read of the slot table, of an entry and of a key in another
 * mapping, a third of diff-db's time on three copies of the bench db. */
static const kvf_key_entry *find_like(const kvf_keyindex *ki, size_t k, const kvf_key_entry *e)
{
	if (k < ki->n) {
		const kvf_key_entry *same = &ki->entries[k];
		if (same->key.len == e->key.len && memcmp(same->key.p, e->key.p, e->key.len) == 0)
			return same;
	}
	return kvf_keyindex_find(ki, e->key.p, e->key.len);
}

static kvf_status compare_keys(kvf_diff *d, kvf_err *err)
{
	size_t n = d->n;
	const kvf_key_entry *row[KVF_DIFF_MAX_NODES];
	for (size_t i = 0; i < n; i++) {
		const kvf_keyindex *ki = &d->nodes[i].ki;
		for (size_t k = 0; k < ki->n; k++) {
			const kvf_key_entry *e = &ki->entries[k];
			/* each key once: on the first member that has it */
			bool earlier = false;
			for (size_t j = 0; j < i && !earlier; j++)
				earlier = find_like(&d->nodes[j].ki, k, e) != NULL;
			if (earlier)
				continue;
			bool any_live = false, differs = false;
			for (size_t j = 0; j < n; j++) {
				row[j] = j == i ? e : find_like(&d->nodes[j].ki, k, e);
				any_live |= live(row[j]);
			}
			if (!any_live)
				continue;   /* deleted (or never there) everywhere */
			for (size_t j = 1; j < n && !differs; j++) {
				bool a = live(row[0]), b = live(row[j]);
				differs = a != b || (a && b && !same_value(row[0], row[j]));
			}
			if (!differs)
				continue;
			if (!kvf_grow_array((void **)&d->keys, &d->cap_keys, d->n_keys, sizeof(*d->keys)))
				return nomem(err);
			kvf_divergent_key *dk = &d->keys[d->n_keys];
			memset(dk, 0, sizeof(*dk));
			dk->key = e->key;
			if (!(dk->v = calloc(n, sizeof(*dk->v))))
				return nomem(err);
			d->n_keys++;
			for (size_t j = 0; j < n; j++)
				node_value(row[j], &dk->v[j]);
			dk->cause = KVF_KEY_NO_WAL;
		}
	}
	return KVF_OK;
}

static int cmp_key(const void *a, const void *b)
{
	const kvf_divergent_key *x = a, *y = b;
	size_t m = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = memcmp(x->key.p, y->key.p, m);
	return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* ---- small buckets, compared decoded ---- */

static char *dup_text(const uint8_t *p, size_t n)
{
	kvf_buf b = KVF_BUF_INIT;
	kvf_text_bytes(&b, p, n);
	if (!b.p)
		return strdup("");
	return kvf_buf_detach(&b, NULL);
}

/* What must agree between members, as text. Password hashes are left out:
 * etcd 3.4 bcrypts a new password on every member with its own salt. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void canonical_conf_state(kvf_buf *b, kvf_conf_state *cs)
{
	struct { const char *name; uint64_t *v; size_t n; } lists[] = {
		{ "voters", cs->voters, cs->n_voters }, { "learners", cs->learners, cs->n_learners },
		{ "voters_outgoing", cs->voters_outgoing, cs->n_voters_outgoing },
		{ "learners_next", cs->learners_next, cs->n_learners_next },
	};
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		if (lists[l].n > 1)
			qsort(lists[l].v, lists[l].n, sizeof(uint64_t), cmp_u64);
		kvf_buf_printf(b, "%s%s=", l ? " " : "", lists[l].name);
		for (size_t i = 0; i < lists[l].n; i++)
			kvf_buf_printf(b, "%s%016" PRIx64, i ? "," : "", lists[l].v[i]);
	}
	kvf_buf_printf(b, "%s", cs->auto_leave ? " auto_leave" : "");
}

static char *canonical(kvf_bucket_kind kind, const kvf_pair *p, kvf_arena *arena)
{
	kvf_buf b = KVF_BUF_INIT;
	kvf_revision rev;
	bool tomb;
	kvf_conf_state cs;
	switch (kind) {
	case KVF_BUCKET_META:
	case KVF_BUCKET_AUTH:
		if (p->key.len == 9 && memcmp(p->key.p, "confState", 9) == 0 &&
		    kvf_conf_state_parse(p->value, &cs)) {
			/* a set of members: each member writes the ids in its own order */
			canonical_conf_state(&b, &cs);
			break;
		}
		if (p->value.len == 8 && (p->key.len == 16 || p->key.len == 12 || p->key.len == 4))
			kvf_buf_printf(&b, "%" PRIu64, kvf_be64(p->value.p));
		else if (kvf_revkey_parse(p->value, &rev, &tomb))
			kvf_buf_printf(&b, "%" PRId64, rev.main);
		else if (p->value.len == 1 && p->value.p[0] <= 1)
			kvf_buf_puts(&b, p->value.p[0] ? "true" : "false");
		else
			kvf_text_bytes(&b, p->value.p, p->value.len);
		break;
	case KVF_BUCKET_AUTH_USERS: {
		Authpb__User *u = authpb__user__unpack(&arena->pc, p->value.len, p->value.p);
		if (!u)
			goto raw;
		kvf_buf_puts(&b, "roles=");
		for (size_t i = 0; i < u->n_roles; i++) {
			if (i)
				kvf_buf_putc(&b, ',');
			kvf_text_bytes(&b, u->roles[i].data, u->roles[i].len);
		}
		if (u->options && u->options->no_password)
			kvf_buf_puts(&b, " no_password");
		break;
	}
	case KVF_BUCKET_AUTH_ROLES: {
		Authpb__Role *r = authpb__role__unpack(&arena->pc, p->value.len, p->value.p);
		if (!r)
			goto raw;
		for (size_t i = 0; i < r->n_keypermission; i++) {
			const Authpb__Permission *perm = r->keypermission[i];
			const ProtobufCEnumValue *ev =
				protobuf_c_enum_descriptor_get_value(&authpb__permission__type__descriptor, perm->permtype);
			kvf_buf_printf(&b, "%s%s ", i ? "; " : "", ev ? ev->name : "?");
			kvf_text_bytes(&b, perm->key.data, perm->key.len);
			if (perm->range_end.len) {
				kvf_buf_puts(&b, "..");
				kvf_text_bytes(&b, perm->range_end.data, perm->range_end.len);
			}
		}
		break;
	}
	case KVF_BUCKET_LEASE: {
		Leasepb__Lease *l = leasepb__lease__unpack(&arena->pc, p->value.len, p->value.p);
		if (!l)
			goto raw;
		kvf_buf_printf(&b, "ttl=%" PRId64, l->ttl);
		break;
	}
	case KVF_BUCKET_MEMBERS: {
		/* the id as the 16 hex digits etcdctl prints, for every id: a
		 * number past 2^63 is more than jansson's integers hold */
		char *s = kvf_member_canonical(p->value.p, p->value.len);
		if (!s)
			goto raw;
		kvf_buf_puts(&b, s);
		free(s);
		break;
	}
	default:
	raw:
		kvf_text_bytes(&b, p->value.p, p->value.len);
		break;
	}
	if (!b.p)
		return strdup("");
	return kvf_buf_detach(&b, NULL);
}

/* A members bucket key is types.ID.String(): hex without leading zeros.
 * Shown as 16 digits, as etcdctl and the rest of the output show ids. */
static char *member_key_text(kvf_bucket_kind kind, kvf_span k)
{
	if ((kind == KVF_BUCKET_MEMBERS || kind == KVF_BUCKET_MEMBERS_REMOVED) && k.len && k.len < 16) {
		bool hex = true;
		for (size_t i = 0; i < k.len && hex; i++)
			hex = (k.p[i] >= '0' && k.p[i] <= '9') || (k.p[i] >= 'a' && k.p[i] <= 'f');
		char *s = hex ? malloc(17) : NULL;
		if (s) {
			memset(s, '0', 16 - k.len);
			memcpy(s + 16 - k.len, k.p, k.len);
			s[16] = '\0';
			return s;
		}
	}
	return dup_text(k.p, k.len);
}

typedef struct bucket_row {
	char *key;
	kvf_span raw_key;
	char *values[KVF_DIFF_MAX_NODES];
} bucket_row;

/* meta/term, confState and storageVersion are written by some etcd
 * versions only (db/version.h): members of a cluster in a rolling upgrade
 * differ on whether they have them, and that is no divergence. The values
 * the members that have them hold must still agree; storageVersion only
 * follows the cluster version, each member at its own pace. */
static bool version_difference(kvf_span key, char *const *values, size_t n)
{
	if (key.len == 14 && memcmp(key.p, "storageVersion", 14) == 0)
		return true;
	const char *first = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!values[i])
			continue;
		if (first && strcmp(first, values[i]) != 0)
			return false;
		first = values[i];
	}
	return true;
}

static bool span_is(kvf_span s, const char *name)
{
	return s.len == strlen(name) && memcmp(s.p, name, s.len) == 0;
}

/* Members that save consistent_index from the applied index (3.5+) and
 * members that save it only with a write (3.4): a rolling upgrade's mix. */
static bool mixed_index_saving(const kvf_diff *d)
{
	bool applied = false, writes = false;
	for (size_t i = 0; i < d->n; i++) {
		if (kvf_schema_saves_applied_index(&d->nodes[i].st.schema))
			applied = true;
		else
			writes = true;
	}
	return applied && writes;
}

static kvf_status compare_bucket(kvf_diff *d, const char *bucket, kvf_err *err)
{
	size_t n = d->n;
	kvf_span name = { (const uint8_t *)bucket, strlen(bucket), KVF_NO_OFFSET };
	kvf_bucket_kind kind = kvf_bucket_kind_of(name);
	bucket_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	kvf_arena arena;
	kvf_arena_init(&arena);
	kvf_status st = KVF_OK;
	for (size_t i = 0; i < n && !st; i++) {
		kvf_cursor *c;
		st = kvf_cursor_open(d->nodes[i].be, bucket, strlen(bucket), &c, err);
		if (st == KVF_E_NOTFOUND) {
			kvf_err_clear(err);
			st = KVF_OK;
			continue;
		}
		if (st)
			break;
		kvf_pair p;
		bool got;
		while (!st && (st = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got) {
			/* alarms live in the key; the value is empty */
			kvf_span k = p.key;
			size_t r = 0;
			while (r < nrows && !(rows[r].raw_key.len == k.len && memcmp(rows[r].raw_key.p, k.p, k.len) == 0))
				r++;
			if (r == nrows) {
				if (!kvf_grow_array((void **)&rows, &cap, nrows, sizeof(*rows))) {
					st = nomem(err);
					break;
				}
				memset(&rows[nrows], 0, sizeof(*rows));
				rows[nrows].raw_key = k;
				rows[nrows].key = member_key_text(kind, k);
				nrows++;
			}
			kvf_arena_reset(&arena);
			free(rows[r].values[i]);
			rows[r].values[i] = kind == KVF_BUCKET_ALARM ? strdup("present") : canonical(kind, &p, &arena);
		}
		kvf_cursor_close(c);
	}
	kvf_arena_free(&arena);
	for (size_t r = 0; r < nrows; r++) {
		bool same = true;
		for (size_t i = 1; i < n && same; i++) {
			const char *a = rows[r].values[0], *b = rows[r].values[i];
			same = (!a && !b) || (a && b && strcmp(a, b) == 0);
		}
		if (!same && kind == KVF_BUCKET_META && kvf_meta_key_version_dependent(rows[r].raw_key))
			same = version_difference(rows[r].raw_key, rows[r].values, n);
		if (!same && kind == KVF_BUCKET_META && mixed_index_saving(d) &&
		    (span_is(rows[r].raw_key, "consistent_index") || span_is(rows[r].raw_key, "term")))
			same = true;   /* 3.4 and 3.5+ members save it differently (db/version.h) */
		if (same || st || !kvf_grow_array((void **)&d->items, &d->cap_items, d->n_items, sizeof(*d->items))) {
			free(rows[r].key);
			for (size_t i = 0; i < n; i++)
				free(rows[r].values[i]);
			if (!same && !st)
				st = nomem(err);
			continue;
		}
		kvf_bucket_item *it = &d->items[d->n_items++];
		it->bucket = bucket;
		it->key = rows[r].key;
		it->values = calloc(n, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			if (it->values)
				it->values[i] = rows[r].values[i];
			else
				free(rows[r].values[i]);
	}
	free(rows);
	return st;
}

/* ---- the WAL ---- */

typedef struct wal_scan {
	kvf_diff *d;
	uint64_t *auth_mut;        /* indexes of auth mutations, ascending */
	size_t n_auth_mut, cap_auth_mut;
	uint64_t first_index;
	bool from_start;           /* the log starts at index 1: counts are complete */
	/* every touch, by key (kept in d->keys[k].touches; those beyond the cap
	 * only feed the simulation, done as they come) */
	kvf_err *err;
	kvf_status st;
	const kvf_log_item *it;
} wal_scan;

static size_t find_key(const kvf_diff *d, const uint8_t *k, size_t len)
{
	size_t lo = 0, hi = d->n_keys;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const kvf_span *m = &d->keys[mid].key;
		size_t n = m->len < len ? m->len : len;
		int c = memcmp(m->p, k, n);
		if (!c)
			c = (m->len > len) - (m->len < len);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool key_less(const kvf_span *a, const uint8_t *b, size_t blen)
{
	size_t n = a->len < blen ? a->len : blen;
	int c = memcmp(a->p, b, n);
	return c < 0 || (c == 0 && a->len < blen);
}

static void add_touch(wal_scan *w, size_t k, bool deletes)
{
	kvf_divergent_key *dk = &w->d->keys[k];
	const kvf_log_item *it = w->it;
	dk->total_touches++;
	/* keep the newest: they decide each member's final state */
	if (dk->n_touches == MAX_SHOWN_TOUCHES) {
		memmove(dk->touches, dk->touches + 1, (MAX_SHOWN_TOUCHES - 1) * sizeof(*dk->touches));
		dk->n_touches--;
	} else if (!kvf_grow_array((void **)&dk->touches, &dk->cap_touches, dk->n_touches, sizeof(*dk->touches))) {
		w->st = nomem(w->err);
		return;
	}
	kvf_touch *t = &dk->touches[dk->n_touches++];
	memset(t, 0, sizeof(*t));
	t->index = it->entry.index;
	t->term = it->entry.term;
	t->id = it->req.id;
	t->auth_revision = it->req.auth_revision;
	size_t ul = it->req.username.len < sizeof(t->username) - 1 ? it->req.username.len : sizeof(t->username) - 1;
	if (ul)
		memcpy(t->username, it->req.username.data, ul);
	t->kind = it->req.kind;
	t->deletes = deletes;
	t->segment = (uint32_t)it->ev.segment_no;
	t->offset = it->ev.rec.offset;
}

typedef struct touch_ctx {
	wal_scan *w;
} touch_ctx;

static void on_key(void *ctx, const char *op, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	touch_ctx *tc = ctx;
	wal_scan *w = tc->w;
	kvf_diff *d = w->d;
	if (strcmp(op, "range") == 0 || w->st)
		return;
	bool deletes = strcmp(op, "delete_range") == 0;
	if (!end.len) {
		size_t k = find_key(d, key.data, key.len);
		if (k < d->n_keys && d->keys[k].key.len == key.len && memcmp(d->keys[k].key.p, key.data, key.len) == 0)
			add_touch(w, k, deletes);
		return;
	}
	/* a range: every divergent key in [key, end); end "\0" means to the end */
	bool open_end = end.len == 1 && end.data[0] == 0;
	for (size_t k = find_key(d, key.data, key.len); k < d->n_keys && !w->st; k++) {
		if (!open_end && !key_less(&d->keys[k].key, end.data, end.len))
			break;
		add_touch(w, k, deletes);
	}
}

/* A lease revocation deletes the keys attached to the lease. */
static void on_revoke(wal_scan *w, int64_t lease)
{
	kvf_diff *d = w->d;
	for (size_t k = 0; k < d->n_keys && !w->st; k++)
		for (size_t i = 0; i < d->n; i++)
			if (d->keys[k].v[i].present && d->keys[k].v[i].lease == lease) {
				add_touch(w, k, true);
				break;
			}
}

/* One request's header: its proposer's authRevision at that point. */
static kvf_status sample_auth(kvf_diff *d, uint64_t id, uint64_t index, uint64_t auth_rev, kvf_err *err)
{
	uint16_t prefix = (uint16_t)(id >> 48);
	kvf_diff_node *nd = NULL;
	for (size_t i = 0; i < d->n; i++)
		if (d->nodes[i].has_metadata && (uint16_t)d->nodes[i].member_id == prefix) {
			if (nd)
				return KVF_OK;   /* two members share the 16 bits: not evidence */
			nd = &d->nodes[i];
		}
	if (!nd)
		return KVF_OK;
	kvf_auth_run *last = nd->n_auth_runs ? &nd->auth_runs[nd->n_auth_runs - 1] : NULL;
	if (last && last->auth_revision == auth_rev) {
		last->last_index = index;
		last->requests++;
		return KVF_OK;
	}
	kvf_auth_run *v = realloc(nd->auth_runs, (nd->n_auth_runs + 1) * sizeof(*v));
	if (!v)
		return nomem(err);
	nd->auth_runs = v;
	nd->auth_runs[nd->n_auth_runs++] = (kvf_auth_run){ index, index, auth_rev, 1 };
	return KVF_OK;
}

/* The longest log among the members' WALs: the raft log is the same on
 * every member, the longest one holds the most of it. */
static const kvf_diff_node *pick_wal(const kvf_diff *d)
{
	const kvf_diff_node *best = NULL;
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (nd->have_wal && (!best || nd->wal_last_index > best->wal_last_index))
			best = nd;
	}
	return best;
}

static kvf_status wal_summary(kvf_diff_node *nd, kvf_err *err)
{
	kvf_wal_segments segs = { 0 };
	kvf_status st = kvf_wal_segments_add(&segs, nd->wal_dir, err);
	if (st) {
		kvf_wal_segments_free(&segs);
		return st;
	}
	kvf_wal_segments_order(&segs);
	kvf_raftlog_options o = { .decode_requests = false };
	kvf_raftlog *l;
	if ((st = kvf_raftlog_open(&l, &segs, &o, err))) {
		kvf_wal_segments_free(&segs);
		return st;
	}
	kvf_log_item it;
	while ((st = kvf_raftlog_next(l, &it, err)) == KVF_OK && it.ev.kind != KVF_WAL_EV_END)
		;
	if (!st) {
		const kvf_log_summary *s = kvf_raftlog_summary(l);
		nd->have_wal = true;
		nd->wal_last_index = s->last_index;
		nd->wal_damage = s->damage;
		nd->wal_first_index = s->first_index;
		nd->wal_snap_index = s->n_snaps ? s->snaps[s->n_snaps - 1].index : 0;
		nd->has_metadata = s->have_metadata && s->metadata.parsed;
		nd->member_id = s->metadata.node_id;
		nd->cluster_id = s->metadata.cluster_id;
		nd->wal_facts = (kvf_verify_wal_facts){ s->have_entries, s->first_index, s->last_index,
		                                        s->have_hardstate ? s->hardstate.commit : 0,
		                                        s->n_snaps ? s->snaps[s->n_snaps - 1].index : 0 };
		for (size_t k = 0; k < s->n_snaps; k++)
			if (s->snaps[k].index > nd->wal_facts.snapshot_index)
				nd->wal_facts.snapshot_index = s->snaps[k].index;
	}
	kvf_raftlog_close(l);
	kvf_wal_segments_free(&segs);
	return st;
}

/* The attributes record of member id, added when new. */
static struct kvf_wal_member_attrs *wal_attrs_of(kvf_diff *d, uint64_t id, kvf_err *err)
{
	for (size_t i = 0; i < d->n_wal_attrs; i++)
		if (d->wal_attrs[i].id == id)
			return &d->wal_attrs[i];
	if (!kvf_grow_array((void **)&d->wal_attrs, &d->cap_wal_attrs, d->n_wal_attrs, sizeof(*d->wal_attrs))) {
		nomem(err);
		return NULL;
	}
	struct kvf_wal_member_attrs *a = &d->wal_attrs[d->n_wal_attrs++];
	memset(a, 0, sizeof(*a));
	a->id = id;
	return a;
}

static void attrs_add_url(struct kvf_wal_member_attrs *a, const char *u, size_t len)
{
	size_t l = strlen(a->client_urls);
	if (!len || l + 1 + len + 1 > sizeof(a->client_urls))
		return;   /* what fits: the first URL is the one a command uses */
	if (l)
		a->client_urls[l++] = ',';
	memcpy(a->client_urls + l, u, len);
	a->client_urls[l + len] = '\0';
}

/* A publish request: member id's name and client URLs (the last wins, as
 * when etcd applies them). Anything malformed is skipped: these only help
 * to write a command. */
static kvf_status note_member_attrs(kvf_diff *d, const kvf_request *r, kvf_err *err)
{
	const Etcdserverpb__Request *v2 = r->cls == KVF_REQ_V2 ? r->v2 : r->cls == KVF_REQ_INTERNAL ? r->irr->v2 : NULL;
	if (r->cls == KVF_REQ_INTERNAL && r->irr->cluster_member_attr_set) {
		const Membershippb__ClusterMemberAttrSetRequest *q = r->irr->cluster_member_attr_set;
		const Membershippb__Attributes *at = q->member_attributes;
		if (!at)
			return KVF_OK;
		struct kvf_wal_member_attrs *a = wal_attrs_of(d, q->member_id, err);
		if (!a)
			return KVF_E_NOMEM;
		snprintf(a->name, sizeof(a->name), "%.*s", at->name.len < sizeof(a->name) ? (int)at->name.len : 0,
		         at->name.len ? (const char *)at->name.data : "");
		a->client_urls[0] = '\0';
		for (size_t i = 0; i < at->n_client_urls; i++)
			attrs_add_url(a, (const char *)at->client_urls[i].data, at->client_urls[i].len);
		return KVF_OK;
	}
	/* PUT /0/members/<hex id>/attributes, {"name":..,"clientURLs":[..]} */
	uint64_t id;
	if (!v2 || !kvf_v2_member_attributes_id(v2, &id) || !v2->has_val)
		return KVF_OK;
	json_t *j = json_loadb((const char *)v2->val.data, v2->val.len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return KVF_OK;
	}
	struct kvf_wal_member_attrs *a = wal_attrs_of(d, id, err);
	if (!a) {
		json_decref(j);
		return KVF_E_NOMEM;
	}
	const char *name = json_string_value(json_object_get(j, "name"));
	snprintf(a->name, sizeof(a->name), "%s", name ? name : "");
	a->client_urls[0] = '\0';
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(j, "clientURLs"), i, u)
		if (json_is_string(u))
			attrs_add_url(a, json_string_value(u), json_string_length(u));
	json_decref(j);
	return KVF_OK;
}

static kvf_status scan_wal(kvf_diff *d, wal_scan *w, const kvf_diff_node *src, kvf_err *err)
{
	kvf_wal_segments segs = { 0 };
	kvf_status st = kvf_wal_segments_add(&segs, src->wal_dir, err);
	if (st) {
		kvf_wal_segments_free(&segs);
		return st;
	}
	kvf_wal_segments_order(&segs);
	/* evidence names the segment and offset of each entry it cites */
	if (!(d->wal_files = calloc(segs.n ? segs.n : 1, sizeof(char *)))) {
		kvf_wal_segments_free(&segs);
		return nomem(err);
	}
	for (size_t i = 0; i < segs.n; i++)
		d->wal_files[i] = strdup(segs.v[i].path);   /* NULL: cited without a file */
	d->n_wal_files = segs.n;
	kvf_raftlog_options o = { .decode_requests = true, .prepass = true };
	kvf_raftlog *l;
	if ((st = kvf_raftlog_open(&l, &segs, &o, err))) {
		kvf_wal_segments_free(&segs);
		return st;
	}
	kvf_log_item it;
	bool first = true;
	while ((st = kvf_raftlog_next(l, &it, err)) == KVF_OK && it.ev.kind != KVF_WAL_EV_END && !w->st) {
		if (d->timeline)
			kvf_timeline_item(d->timeline, &it);
		if (it.ev.kind != KVF_WAL_EV_RECORD || it.ev.rec.type != KVF_WAL_ENTRY || !it.payload_ok)
			continue;
		if (first) {
			w->first_index = it.entry.index;
			w->from_start = it.entry.index <= 1;
			first = false;
		}
		/* what never took effect on anyone */
		if (it.overwritten || it.uncommitted || it.ev.rec.crc_state == KVF_CRC_MISMATCH)
			continue;
		d->wal_entries_scanned++;
		const kvf_request *r = &it.req;
		if ((st = note_member_attrs(d, r, err)))
			break;
		if (r->cls != KVF_REQ_INTERNAL)
			continue;
		if (r->has_header && r->auth_revision && (st = sample_auth(d, r->id, it.entry.index, r->auth_revision, err)))
			break;
		if (kvf_request_kind_bumps_auth_revision(r->kind)) {
			if (!kvf_grow_array((void **)&w->auth_mut, &w->cap_auth_mut, w->n_auth_mut, sizeof(*w->auth_mut))) {
				st = nomem(err);
				break;
			}
			w->auth_mut[w->n_auth_mut++] = it.entry.index;
			continue;
		}
		w->it = &it;
		touch_ctx tc = { w };
		if (r->irr->lease_revoke)
			on_revoke(w, r->irr->lease_revoke->id);
		else
			kvf_request_keys(r, on_key, &tc);
	}
	if (!st)
		st = w->st;
	kvf_raftlog_close(l);
	kvf_wal_segments_free(&segs);
	return st;
}

/* Bounds on member i's authRevision when it applied entry `index`. It only
 * grows; its own requests sample it; at the end it is what the db holds. */
static void auth_bounds(const kvf_diff *d, size_t i, uint64_t index, uint64_t *lo, uint64_t *hi)
{
	const kvf_diff_node *nd = &d->nodes[i];
	*lo = 0;
	*hi = nd->st.state.auth_revision;
	for (size_t k = 0; k < nd->n_auth_runs; k++) {
		const kvf_auth_run *r = &nd->auth_runs[k];
		if (r->first_index <= index)
			*lo = r->auth_revision;
		if (r->last_index >= index) {
			*hi = r->auth_revision;
			break;
		}
	}
	if (*hi < *lo)   /* inconsistent samples: trust the newer bound */
		*lo = *hi;
}

static kvf_touch_fate fate_of(const kvf_diff *d, size_t i, kvf_touch *t)
{
	const kvf_diff_node *nd = &d->nodes[i];
	const kvf_etcd_state *es = &nd->st.state;
	auth_bounds(d, i, t->index, &t->auth_lo[i], &t->auth_hi[i]);
	/* auth/store.go isOpPermitted: a header revision below the member's is
	 * refused (revision 0, no user, is a write from before auth was on) */
	bool refused = es->auth_enabled && t->auth_revision && t->auth_revision < t->auth_lo[i];
	/* etcd 3.4 saves consistent_index only with a write that changes the key
	 * space (mvcc storeTxnWrite.End), so a refused write leaves it behind:
	 * an entry past it that the member's own log holds and that it would
	 * refuse was applied and refused, not left unapplied. Observed on a
	 * live cluster: refused puts at 48 and 50, consistent_index 46. */
	bool in_own_log = nd->have_wal && nd->wal_last_index >= t->index;
	if (es->has_consistent_index && t->index > es->consistent_index && !(refused && in_own_log))
		return KVF_NOT_YET;
	bool txn = strcmp(t->kind, "txn") == 0;   /* its branch depends on the compares */
	if (!es->auth_enabled || !t->auth_revision)
		return txn ? KVF_FATE_UNKNOWN : KVF_APPLIED;
	if (refused)
		return KVF_REJECTED_AUTH;
	if (t->auth_revision >= t->auth_hi[i])
		return txn ? KVF_FATE_UNKNOWN : KVF_APPLIED;
	return KVF_FATE_UNKNOWN;
}

static void explain_key(kvf_diff *d, const wal_scan *w, kvf_divergent_key *dk)
{
	size_t n = d->n;
	if (!dk->n_touches) {
		dk->cause = KVF_KEY_NO_WAL;
		snprintf(dk->reason, sizeof(dk->reason), "%s", d->wal_used
		         ? "no entry in the WAL writes this key (its writes are older than the log)"
		         : "no WAL given");
		return;
	}
	bool rejected = false, not_yet = false, unknown = false;
	for (size_t t = 0; t < dk->n_touches; t++) {
		kvf_touch *tc = &dk->touches[t];
		for (size_t i = 0; i < n; i++) {
			tc->fate[i] = (uint8_t)fate_of(d, i, tc);
			rejected |= tc->fate[i] == KVF_REJECTED_AUTH;
			not_yet |= tc->fate[i] == KVF_NOT_YET;
		}
	}
	/* A member's samples bound its authRevision at an entry to lo..hi; when
	 * lo <= header < hi the samples cannot say whether it had already risen
	 * above the header when it applied the entry: a rise with no auth change
	 * in the log (a double apply at restart, etcd issue 11651) happens
	 * between two of its requests, at no entry of its own. Seen on a live
	 * cluster: writes proposed through a normal member right after a restart,
	 * before the skewed member proposed anything. For the key's newest touch,
	 * a put or delete that some member applied, the member's own state
	 * decides: such an entry sets the key whatever it was before, so a state
	 * other than the one it sets means the member refused it, and the header
	 * revision below its hi is the refusal isOpPermitted makes. */
	if (dk->n_touches) {
		kvf_touch *tc = &dk->touches[dk->n_touches - 1];
		bool some_applied = false;
		for (size_t i = 0; i < n; i++)
			some_applied |= tc->fate[i] == KVF_APPLIED;
		for (size_t i = 0; i < n && some_applied && strcmp(tc->kind, "txn") != 0; i++) {
			if (tc->fate[i] == KVF_FATE_UNKNOWN && tc->auth_revision &&
			    tc->auth_revision < tc->auth_hi[i] && dk->v[i].present == tc->deletes) {
				tc->fate[i] = KVF_REJECTED_AUTH;
				rejected = true;
			}
		}
	}
	/* replay the kept touches on every member (they are the newest). Before
	 * the first one the key did not exist, if the log starts at index 1 and
	 * we kept every touch; otherwise its earlier state is unknown. */
	bool explained = true;
	int initial = w->from_start && dk->total_touches == dk->n_touches ? 0 : -1;
	for (size_t i = 0; i < n; i++) {
		int state = initial;
		for (size_t t = 0; t < dk->n_touches; t++) {
			const kvf_touch *tc = &dk->touches[t];
			if (tc->fate[i] == KVF_APPLIED)
				state = tc->deletes ? 0 : 1;
			else if (tc->fate[i] == KVF_FATE_UNKNOWN)
				state = -1;
		}
		dk->v[i].predicted = state;
		/* unknown is compatible with what we see, but explains nothing */
		if (state < 0)
			unknown = true;
		else if ((state == 1) != dk->v[i].present)
			explained = false;
	}
	if (explained && rejected) {
		dk->cause = KVF_KEY_AUTH_REJECTED;
	} else if (explained && not_yet) {
		dk->cause = KVF_KEY_NOT_YET_APPLIED;
	} else {
		dk->cause = KVF_KEY_UNEXPLAINED;
	}
	/* the reason names the entry that made the difference */
	for (size_t t = dk->n_touches; t-- > 0;) {
		const kvf_touch *tc = &dk->touches[t];
		bool mixed = false;
		for (size_t i = 1; i < n; i++)
			mixed |= tc->fate[i] != tc->fate[0];
		if (!mixed)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (tc->fate[i] == KVF_REJECTED_AUTH && tc->auth_lo[i] > tc->auth_revision)
				appendf(dk->reason, sizeof(dk->reason),
				        "%s%s has authRevision %" PRIu64 ", entry %" PRIu64 " carried auth_revision %"
				        PRIu64 ": rejected at apply", dk->reason[0] ? "; " : "", d->nodes[i].label,
				        tc->auth_lo[i], tc->index, tc->auth_revision);
			else if (tc->fate[i] == KVF_REJECTED_AUTH)   /* inferred from its state, above */
				appendf(dk->reason, sizeof(dk->reason),
				        "%s%s's authRevision rose from %" PRIu64 " to %" PRIu64 " around entry %" PRIu64
				        ", which carried auth_revision %" PRIu64 " and did not take effect there: rejected at apply",
				        dk->reason[0] ? "; " : "", d->nodes[i].label, tc->auth_lo[i], tc->auth_hi[i],
				        tc->index, tc->auth_revision);
			else if (tc->fate[i] == KVF_NOT_YET)
				appendf(dk->reason, sizeof(dk->reason),
				        "%s%s has consistent_index %" PRIu64 ", entry %" PRIu64 " came later: not applied",
				        dk->reason[0] ? "; " : "", d->nodes[i].label,
				        d->nodes[i].st.state.consistent_index, tc->index);
		}
		break;
	}
	if (dk->cause == KVF_KEY_UNEXPLAINED)
		appendf(dk->reason, sizeof(dk->reason), "%sthe WAL entries (%" PRIu64 ") do not account for every member's state%s",
		        dk->reason[0] ? "; " : "", dk->total_touches, unknown ? " (a txn's branch depends on its compares)" : "");
}

/* ---- verdict ---- */

static size_t most_complete(const kvf_diff *d)
{
	size_t best = 0;
	for (size_t i = 1; i < d->n; i++) {
		const kvf_diff_node *a = &d->nodes[i], *b = &d->nodes[best];
		uint64_t ca = a->st.state.consistent_index, cb = b->st.state.consistent_index;
		if (ca != cb ? ca > cb
		    : a->st.revision != b->st.revision ? a->st.revision > b->st.revision
		    : a->st.live_keys > b->st.live_keys)
			best = i;
	}
	return best;
}

typedef struct off_pair {
	int64_t ref, off;
} off_pair;

static int cmp_off(const void *a, const void *b)
{
	const off_pair *x = a, *y = b;
	return (x->ref > y->ref) - (x->ref < y->ref);
}

/* Revision offsets of member i against the reference, from the keys both
 * hold with the same value and version (the same write, renumbered). */
static kvf_status offsets(kvf_diff *d, size_t i, int64_t from, kvf_err *err)
{
	kvf_diff_node *nd = &d->nodes[i];
	const kvf_keyindex *ref = &d->nodes[d->reference].ki;
	off_pair *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t k = 0; k < nd->ki.n; k++) {
		const kvf_key_entry *e = &nd->ki.entries[k];
		const kvf_key_entry *r = kvf_keyindex_find(ref, e->key.p, e->key.len);
		if (!live(e) || !live(r) || r->last.main < from || !same_value(e, r))
			continue;
		if (!kvf_grow_array((void **)&v, &cap, n, sizeof(*v))) {
			free(v);
			return nomem(err);
		}
		v[n++] = (off_pair){ r->last.main, e->last.main - r->last.main };
	}
	if (n > 1)   /* v may be NULL when empty; qsort must not see NULL */
		qsort(v, n, sizeof(*v), cmp_off);
	for (size_t k = 0; k < n; k++) {
		kvf_offset_seg *last = nd->n_offsets ? &nd->offsets[nd->n_offsets - 1] : NULL;
		if (last && last->offset == v[k].off) {
			last->to = v[k].ref;
			last->writes++;
			continue;
		}
		size_t cap_o = nd->n_offsets;
		kvf_offset_seg *no = realloc(nd->offsets, (cap_o + 1) * sizeof(*no));
		if (!no) {
			free(v);
			return nomem(err);
		}
		nd->offsets = no;
		nd->offsets[nd->n_offsets++] = (kvf_offset_seg){ v[k].ref, v[k].ref, v[k].off, 1 };
	}
	free(v);
	return KVF_OK;
}

static bool same_keys(const kvf_diff *d, size_t i, size_t j)
{
	for (size_t k = 0; k < d->n_keys; k++) {
		const kvf_node_value *a = &d->keys[k].v[i], *b = &d->keys[k].v[j];
		if (a->present != b->present ||
		    (a->present && (a->digest != b->digest || a->version != b->version || a->lease != b->lease)))
			return false;
	}
	return true;
}

static void evidence(kvf_diff *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void evidence(kvf_diff *d, const char *fmt, ...)
{
	if (d->n_evidence >= (int)(sizeof(d->evidence) / sizeof(d->evidence[0])))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->evidence[d->n_evidence++], sizeof(d->evidence[0]), fmt, ap);
	va_end(ap);
}

/* ---- lag (issue 14 §2) ----
 *
 * Copies of a running cluster's members are taken seconds apart: each sits
 * at its own applied index. A member lags the reference when everything
 * that differs is something the reference applied after the member's own
 * revision: it has not diverged, catching up makes it equal. The gap is
 * counted from the member's own revision, not from where the histories
 * are compared (above the highest compaction): a member at revision 193
 * against one compacted at 390 and at 410 lacks 194..410. */

/* Does member x's view of key dk differ from the reference's only by
 * writes the reference made after x's revision? */
static bool lag_key_ok(const kvf_diff *d, size_t x, const kvf_divergent_key *dk)
{
	const kvf_node_value *a = &dk->v[x], *r = &dk->v[d->reference];
	if (a->present == r->present &&
	    (!a->present || (a->digest == r->digest && a->version == r->version && a->lease == r->lease)))
		return true;   /* x agrees with the reference on this key */
	if (dk->cause == KVF_KEY_AUTH_REJECTED)
		return false;  /* a write x refused: it will never apply it */
	int64_t xrev = d->nodes[x].st.revision;
	if (r->seen)
		return r->mod_revision > xrev;   /* the reference changed it later */
	/* the reference has no trace of it: deleted, and the tombstone
	 * compacted; possible after x's revision only if it compacted above it */
	return a->seen && d->nodes[d->reference].st.compact_revision > xrev;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	if (!s || !*s)
		return false;
	char *end;
	*v = strtoull(s, &end, 10);
	return *end == '\0';
}

/* A small bucket's difference that catching up explains: a counter the
 * member has not advanced yet (meta's indexes and compaction marks, the
 * auth revision), or an item created or deleted by a request it has not
 * applied (a lease, a member, a user or role). */
static bool lag_item_ok(const kvf_diff *d, size_t x, const kvf_bucket_item *it)
{
	const char *a = it->values[x], *r = it->values[d->reference];
	if ((!a && !r) || (a && r && strcmp(a, r) == 0))
		return true;
	uint64_t va, vr;
	static const char *const counters[] = { "consistent_index", "term", "finishedCompactRev",
	                                        "scheduledCompactRev", "authRevision", NULL };
	for (size_t i = 0; counters[i]; i++)
		if (strcmp(it->key, counters[i]) == 0)
			/* absent: never written yet (a compaction the member has not applied) */
			return (strcmp(it->bucket, "meta") == 0 || strcmp(it->bucket, "auth") == 0) &&
			       (a ? parse_u64(a, &va) : (va = 0, true)) && parse_u64(r, &vr) && va <= vr;
	if (strcmp(it->bucket, "lease") == 0 || strcmp(it->bucket, "members") == 0 ||
	    strcmp(it->bucket, "members_removed") == 0 || strcmp(it->bucket, "authUsers") == 0 ||
	    strcmp(it->bucket, "authRoles") == 0)
		return !a || !r;
	if (strcmp(it->bucket, "cluster") == 0)   /* clusterVersion, raised by the leader later */
		return true;
	return false;
}

static void lag_analysis(kvf_diff *d)
{
	size_t ref = d->reference;
	const kvf_diff_node *rn = &d->nodes[ref];
	bool all = d->differ;
	size_t lagging = 0;
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		nd->lagging = false;
		if (i == ref)
			continue;
		uint64_t ci = nd->st.state.consistent_index, rci = rn->st.state.consistent_index;
		bool ok = nd->hist == KVF_HIST_SAME || nd->hist == KVF_HIST_BEHIND;
		ok = ok && ci <= rci && nd->st.revision <= rn->st.revision;
		bool differs = nd->hist != KVF_HIST_SAME;
		for (size_t k = 0; ok && k < d->n_keys; k++) {
			const kvf_node_value *a = &d->keys[k].v[i], *r = &d->keys[k].v[ref];
			differs |= a->present != r->present || (a->present && a->digest != r->digest);
			ok = lag_key_ok(d, i, &d->keys[k]);
		}
		for (size_t t = 0; ok && t < d->n_items; t++) {
			const char *a = d->items[t].values[i], *r = d->items[t].values[ref];
			differs |= !((!a && !r) || (a && r && strcmp(a, r) == 0));
			ok = lag_item_ok(d, i, &d->items[t]);
		}
		differs |= ci < rci || nd->st.revision < rn->st.revision;
		/* at the reference's consistent_index and revision it has applied
		 * everything the reference has: whatever differs, it is no lag
		 * (an authRevision lower at the same index is not one it will
		 * catch up on) */
		if (differs && ci == rci && nd->st.revision == rn->st.revision)
			ok = false;
		if (!ok) {
			all = false;
			continue;
		}
		if (!differs)
			continue;
		nd->lagging = true;
		nd->lag_entries = rci - ci;
		nd->lag_revisions = rn->st.revision - nd->st.revision;
		lagging++;
	}
	d->lag_only = all && lagging > 0;
}

/* After run k of a member's own requests, its authRevision moved to next
 * (the next run's, or its db's after the last run) by the entry upto; the
 * log holds muts auth changes in between. True when that jump is more than
 * those changes account for: the member applied auth requests again. */
static bool auth_run_jump(const kvf_diff_node *nd, size_t k, const wal_scan *w, uint64_t *next, uint64_t *upto,
                          size_t *muts)
{
	const kvf_auth_run *a = &nd->auth_runs[k];
	bool last = k + 1 == nd->n_auth_runs;
	*next = last ? nd->st.state.auth_revision : nd->auth_runs[k + 1].auth_revision;
	*upto = last ? nd->st.state.consistent_index : nd->auth_runs[k + 1].first_index;
	*muts = 0;
	for (size_t m = 0; m < w->n_auth_mut; m++)
		*muts += w->auth_mut[m] > a->last_index && w->auth_mut[m] <= *upto;
	return *next > a->auth_revision + *muts;
}

static void verdict(kvf_diff *d, const wal_scan *w)
{
	size_t n = d->n;
	/* groups of members with the same key state */
	for (size_t i = 0; i < n; i++)
		d->nodes[i].group = -1;
	d->n_groups = 0;
	for (size_t i = 0; i < n; i++) {
		if (d->nodes[i].group >= 0)
			continue;
		d->nodes[i].group = d->n_groups;
		for (size_t j = i + 1; j < n; j++)
			if (d->nodes[j].group < 0 && same_keys(d, i, j))
				d->nodes[j].group = d->n_groups;
		d->n_groups++;
	}
	d->differ = d->n_keys || d->n_items || d->histories_differ;
	uint64_t min_ar = UINT64_MAX, max_ar = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t ar = d->nodes[i].st.state.auth_revision;
		min_ar = ar < min_ar ? ar : min_ar;
		max_ar = ar > max_ar ? ar : max_ar;
	}
	d->auth_revisions_differ = min_ar != max_ar;
	size_t by_cause[4] = { 0 };
	for (size_t k = 0; k < d->n_keys; k++)
		by_cause[d->keys[k].cause]++;
	lag_analysis(d);
	bool behind_only = d->lag_only;
	char *t = d->cause_text;
	size_t tc = sizeof(d->cause_text);
	if (!d->differ) {
		d->cause = KVF_CAUSE_NONE;
		snprintf(t, tc, "the replicas agree");
	} else if (d->auth_revisions_differ && (by_cause[KVF_KEY_AUTH_REJECTED] || !d->wal_used) &&
	           !behind_only) {
		d->cause = KVF_CAUSE_AUTH_SKEW;
		snprintf(t, tc, "authRevision skew:");
		for (size_t i = 0; i < n; i++)
			appendf(t, tc, " %s=%" PRIu64, d->nodes[i].label, d->nodes[i].st.state.auth_revision);
		appendf(t, tc, ". Each member rejects at apply time the writes whose header auth_revision is "
		        "below its own (etcd issue 11651)");
		if (d->wal_used)
			evidence(d, "%zu of %zu divergent keys are explained by writes some members rejected that way",
			         by_cause[KVF_KEY_AUTH_REJECTED], d->n_keys);
		else
			evidence(d, "no WAL given: pass data directories or --wal to trace each key");
		/* where a member's authRevision jumped with no auth change in the log */
		for (size_t i = 0; w && i < n; i++) {
			const kvf_diff_node *nd = &d->nodes[i];
			for (size_t k = 0; k < nd->n_auth_runs; k++) {
				const kvf_auth_run *a = &nd->auth_runs[k];
				bool last = k + 1 == nd->n_auth_runs;
				uint64_t next, upto;
				size_t muts;
				if (!auth_run_jump(nd, k, w, &next, &upto, &muts))
					continue;
				if (last)
					evidence(d, "%s's requests carried authRevision %" PRIu64 " up to index %" PRIu64
					         ", its db holds %" PRIu64 ", and the log has %zu auth changes after that",
					         nd->label, a->auth_revision, a->last_index, next, muts);
				else
					evidence(d, "%s's authRevision went from %" PRIu64 " (its requests up to index %" PRIu64
					         ") to %" PRIu64 " (from index %" PRIu64 ") with %zu auth changes in the log "
					         "between: it applied auth requests again, as etcd before the fix did after a "
					         "restart", nd->label, a->auth_revision, a->last_index, next, upto, muts);
			}
		}
		if (w && w->from_start) {
			uint64_t expect = 1 + w->n_auth_mut;
			for (size_t i = 0; i < n; i++)
				if (d->nodes[i].st.state.auth_revision > expect)
					evidence(d, "%s's authRevision %" PRIu64 " exceeds the %" PRIu64 " that the log's %zu "
					         "auth changes can produce: auth requests were applied more than once",
					         d->nodes[i].label, d->nodes[i].st.state.auth_revision, expect, w->n_auth_mut);
		}
	} else if (behind_only) {
		d->cause = KVF_CAUSE_BEHIND;
		snprintf(t, tc, "member behind: its history is a prefix of the others' (not corruption)");
		for (size_t i = 0; i < n; i++)
			if (d->nodes[i].lagging)
				evidence(d, "%s has consistent_index %" PRIu64 " and revision %" PRId64 "; it lacks revisions %"
				         PRId64 "..%" PRId64 " that %s holds", d->nodes[i].label,
				         d->nodes[i].st.state.consistent_index, d->nodes[i].st.revision,
				         d->nodes[i].st.revision + 1, d->nodes[d->reference].st.revision,
				         d->nodes[d->reference].label);
		if (by_cause[KVF_KEY_NOT_YET_APPLIED])
			evidence(d, "%zu of %zu divergent keys were written by entries past the lagging member's "
			         "consistent_index", by_cause[KVF_KEY_NOT_YET_APPLIED], d->n_keys);
	} else {
		d->cause = KVF_CAUSE_UNEXPLAINED;
		snprintf(t, tc, "unexplained divergence");
		evidence(d, "%zu divergent keys, %zu of them not accounted for by the WAL; %zu other bucket differences",
		         d->n_keys, by_cause[KVF_KEY_UNEXPLAINED] + by_cause[KVF_KEY_NO_WAL], d->n_items);
		for (size_t i = 0; i < n; i++)
			if (d->nodes[i].hist == KVF_HIST_DIVERGED)
				evidence(d, "%s's history stops matching %s's at revision %" PRId64, d->nodes[i].label,
				         d->nodes[d->reference].label, d->nodes[i].first_divergent_rev);
	}
	/* recovery */
	const kvf_diff_node *ref = &d->nodes[d->reference];
	char *r = d->recovery;
	size_t rc = sizeof(d->recovery);
	r[0] = '\0';
	if (d->cause == KVF_CAUSE_NONE)
		return;
	if (d->cause == KVF_CAUSE_BEHIND) {
		appendf(r, rc, "Let the lagging member catch up (start it and wait until its raft index matches), "
		        "then check again; if it cannot, remove it, wipe its data directory and add it back.");
		return;
	}
	/* the member id, as etcdctl member list prints it, from the WAL metadata */
	char id[40];
	if (ref->has_metadata)
		snprintf(id, sizeof(id), "%016" PRIx64, ref->member_id);
	else
		snprintf(id, sizeof(id), "<member id of %.20s>", ref->label);
	appendf(r, rc, "%s holds the most complete data. Make it the leader (etcdctl move-leader %s), then, one "
	        "member at a time, remove each of the others (etcdctl member remove ID), wipe its data directory, "
	        "add it back (etcdctl member add NAME --peer-urls=...) and start it with "
	        "--initial-cluster-state existing so it copies a snapshot from the leader; check with "
	        "etcdctl endpoint hashkv before the next one.", ref->label, id);
	if (d->cause == KVF_CAUSE_AUTH_SKEW)
		appendf(r, rc, " Upgrade etcd to a release with the fix for issue 11651 first, or the skew returns.");
}

/* ---- verdicts (analysis/verdict.h): one per cause and member ---- */

static const char *const VERSIONS_AUTH_SKEW =
	"etcd 3.3.x and 3.4.0-3.4.7: auth entries applied again after a restart (issue 11651, fixed in 3.4.8 by "
	"PR 11652; 3.5.0 carries the fix); the same refusals after a snapshot recovery in 3.5.0-3.5.5 and "
	"3.4.0-3.4.21 (issues 14648/14571, fixed in 3.5.6 and 3.4.22)";
static const char *const VERSIONS_LAG = "any version: a member that has not applied the newest entries yet (no bug)";

static const char *touch_file(const kvf_diff *d, const kvf_touch *t)
{
	return t->segment < d->n_wal_files ? d->wal_files[t->segment] : NULL;
}

/* Where a bookkeeping value lies in a member's db file (the evidence a
 * reader checks with a hex editor or dump-db dump). */
static uint64_t value_offset(const kvf_diff_node *nd, const char *bucket, const char *key)
{
	kvf_span v;
	kvf_err e;
	kvf_err_clear(&e);
	if (kvf_backend_get(nd->be, bucket, strlen(bucket), key, strlen(key), &v, &e))
		return KVF_NO_OFFSET;
	return v.file_offset;
}

static void member_id_text(const kvf_diff_node *nd, char *buf, size_t cap)
{
	if (nd->has_metadata)
		snprintf(buf, cap, "%" PRIx64, nd->member_id);
	else
		snprintf(buf, cap, "<member id of %.20s>", nd->label);
}

/* Replace member `bad` from the reference: the recovery etcd's maintainers
 * give for a member whose db lost or doubled writes (13766 postmortem,
 * 11651): the member is wiped and copies a snapshot from a leader that
 * holds the complete data. */
/* The member to copy from: the reference, unless its own WAL check found
 * a cause against it (a member that applied writes twice has the highest
 * revision); then the most complete member whose own check is clean. */
static size_t source_member(const kvf_diff *d)
{
	const kvf_diff_node *ref = &d->nodes[d->reference];
	if (!ref->verify || !kvf_verify_failed(ref->verify))
		return d->reference;
	size_t best = d->reference;
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (!nd->verify || !nd->verify->aligned || kvf_verify_failed(nd->verify))
			continue;
		if (best == d->reference ||
		    nd->st.state.consistent_index > d->nodes[best].st.state.consistent_index)
			best = i;
	}
	return best;
}

static void recovery_replace(const kvf_diff *d, size_t bad, char *r, size_t rc)
{
	const kvf_diff_node *ref = &d->nodes[source_member(d)], *nd = &d->nodes[bad];
	char rid[40], bid[40];
	member_id_text(ref, rid, sizeof(rid));
	member_id_text(nd, bid, sizeof(bid));
	appendf(r, rc, "%s holds the writes %s lacks. Make %s the leader (etcdctl move-leader %s), remove %s "
	        "(etcdctl member remove %s), wipe its data directory, add it back (etcdctl member add %s "
	        "--peer-urls=...) and start it with --initial-cluster-state existing so that it copies a snapshot "
	        "from the leader; check with etcdctl endpoint hashkv before touching another member.",
	        ref->label, nd->label, ref->label, rid, nd->label, bid, nd->label);
}

/* Each member's first WAL entry whose fate there differs from the
 * reference's, from the traced keys. */
static void first_divergent_indexes(kvf_diff *d)
{
	size_t ref = d->reference;
	for (size_t k = 0; k < d->n_keys; k++)
		for (size_t t = 0; t < d->keys[k].n_touches; t++) {
			const kvf_touch *tc = &d->keys[k].touches[t];
			for (size_t i = 0; i < d->n; i++) {
				kvf_diff_node *nd = &d->nodes[i];
				if (i == ref || tc->fate[i] == tc->fate[ref] || tc->fate[i] == KVF_FATE_UNKNOWN ||
				    tc->fate[ref] == KVF_FATE_UNKNOWN)
					continue;
				if (!nd->first_divergent_index || tc->index < nd->first_divergent_index)
					nd->first_divergent_index = tc->index;
			}
		}
}

/* The entries member i refused that the reference applied, as evidence
 * (the first few, in log order). */
static void evidence_refused(const kvf_diff *d, kvf_verdict *v, size_t i, size_t max)
{
	/* keys are in key order, touches in log order per key: pick the lowest
	 * indexes over all keys, a few at a time */
	uint64_t after = 0;
	size_t ref = d->reference;
	for (size_t shown = 0; shown < max; shown++) {
		const kvf_touch *best = NULL;
		const kvf_divergent_key *bk = NULL;
		for (size_t k = 0; k < d->n_keys; k++)
			for (size_t t = 0; t < d->keys[k].n_touches; t++) {
				const kvf_touch *tc = &d->keys[k].touches[t];
				if (tc->fate[i] == KVF_REJECTED_AUTH && tc->fate[ref] == KVF_APPLIED && tc->index > after &&
				    (!best || tc->index < best->index)) {
					best = tc;
					bk = &d->keys[k];
				}
			}
		if (!best)
			return;
		after = best->index;
		kvf_buf key = KVF_BUF_INIT;
		kvf_text_bytes(&key, bk->key.p, bk->key.len > 120 ? 120 : bk->key.len);
		kvf_verdict_evidence(v, (int)i, touch_file(d, best), best->offset, best->index,
		                     "entry %" PRIu64 " (%s %s, user %s) carries auth_revision %" PRIu64 ", below %s's "
		                     "%" PRIu64 ": refused there (ErrAuthOldRevision), applied on %s", best->index,
		                     best->kind, key.p ? key.p : "", best->username[0] ? best->username : "-",
		                     best->auth_revision, d->nodes[i].label, best->auth_lo[i], d->nodes[ref].label);
		kvf_buf_free(&key);
	}
}

/* authRevision jumps on member i that the log's auth changes do not
 * account for (the mechanism of 11651). */
static void evidence_auth_runs(const kvf_diff *d, kvf_verdict *v, size_t i, const wal_scan *w)
{
	const kvf_diff_node *nd = &d->nodes[i];
	for (size_t k = 0; w && k < nd->n_auth_runs; k++) {
		const kvf_auth_run *a = &nd->auth_runs[k];
		bool last = k + 1 == nd->n_auth_runs;
		uint64_t next, upto;
		size_t muts;
		if (!auth_run_jump(nd, k, w, &next, &upto, &muts))
			continue;
		if (last)
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, a->last_index,
			                     "%s's own requests carried authRevision %" PRIu64 " up to entry %" PRIu64
			                     ", its db holds %" PRIu64 ", and the log has %zu auth changes after that",
			                     nd->label, a->auth_revision, a->last_index, next, muts);
		else
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, upto,
			                     "%s's authRevision went from %" PRIu64 " (its requests up to entry %" PRIu64
			                     ") to %" PRIu64 " (from entry %" PRIu64 ") with %zu auth changes in the log "
			                     "between: it applied auth requests again, as etcd before the fix did after a restart",
			                     nd->label, a->auth_revision, a->last_index, next, upto, muts);
	}
	if (w && w->from_start && nd->st.state.auth_revision > 1 + w->n_auth_mut)
		kvf_verdict_evidence(v, (int)i, nd->db_path, nd->st.state.auth_revision_value.file_offset, 0,
		                     "%s's authRevision %" PRIu64 " exceeds the %zu that the log's %zu auth changes can "
		                     "produce: auth requests were applied more than once", nd->label,
		                     nd->st.state.auth_revision, 1 + w->n_auth_mut, w->n_auth_mut);
}

static void verdicts_auth_skew(kvf_diff *d, const wal_scan *w)
{
	size_t ref = d->reference;
	const kvf_diff_node *rn = &d->nodes[ref];
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		if (i == ref)
			continue;
		/* with the WAL: the members that refused writes the reference
		 * applied; without: those whose authRevision is not the reference's */
		if (d->wal_used ? !nd->rejected_writes : nd->st.state.auth_revision == rn->st.state.auth_revision)
			continue;
		kvf_verdict *v = kvf_verdict_add(&d->verdicts, KVF_VERDICT_AUTH_SKEW, true, (int)i,
		                                 "authRevision skew: %s has authRevision %" PRIu64 ", %s %" PRIu64
		                                 "; %s refused at apply the writes whose header auth_revision is below its "
		                                 "own (etcd issue 11651)", nd->label, nd->st.state.auth_revision,
		                                 rn->label, rn->st.state.auth_revision, nd->label);
		if (!v)
			return;
		v->first_divergent_index = nd->first_divergent_index;
		v->versions = VERSIONS_AUTH_SKEW;
		kvf_verdict_evidence(v, (int)i, nd->db_path, nd->st.state.auth_revision_value.file_offset, 0,
		                     "%s: bucket auth, authRevision = %" PRIu64, nd->label, nd->st.state.auth_revision);
		kvf_verdict_evidence(v, (int)ref, rn->db_path, rn->st.state.auth_revision_value.file_offset, 0,
		                     "%s: bucket auth, authRevision = %" PRIu64, rn->label, rn->st.state.auth_revision);
		if (d->wal_used) {
			size_t keys = 0;
			for (size_t k = 0; k < d->n_keys; k++)
				keys += d->keys[k].cause == KVF_KEY_AUTH_REJECTED && d->keys[k].v[i].present != d->keys[k].v[ref].present;
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, 0,
			                     "%" PRIu64 " WAL writes refused on %s; %zu of %zu divergent keys differ from %s "
			                     "by such a refusal", nd->rejected_writes, nd->label, keys, d->n_keys, rn->label);
			evidence_refused(d, v, i, 5);
			evidence_auth_runs(d, v, i, w);
		} else {
			kvf_verdict_evidence(v, -1, NULL, KVF_NO_OFFSET, 0,
			                     "no WAL given: suspected from the authRevisions alone; pass data directories "
			                     "or --wal to trace each key");
		}
		recovery_replace(d, i, v->recovery, sizeof(v->recovery));
		appendf(v->recovery, sizeof(v->recovery), " Upgrade etcd to 3.4.8 or later (3.5.6 or later for the "
		        "snapshot-recovery variant) first, or the skew returns.");
	}
}

/* A member whose history is a prefix of the reference's. lagid owns what
 * lag means for the exit status (issue 14): until then it counts as the
 * divergence it always did (exit 1). */
static void verdicts_lag(kvf_diff *d)
{
	size_t ref = d->reference;
	const kvf_diff_node *rn = &d->nodes[ref];
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		if (!nd->lagging)
			continue;
		const kvf_identity_removed *gone = NULL;
		for (size_t k = 0; k < d->identity.n_removed; k++)
			if (d->identity.removed[k].input == i)
				gone = &d->identity.removed[k];
		/* not divergence: catching up makes it equal (exit 0) */
		kvf_verdict *v = kvf_verdict_add(&d->verdicts, KVF_VERDICT_LAG, false, (int)i,
		                                 "%s is %" PRIu64 " entries and %" PRId64 " revisions behind %s: it has not "
		                                 "applied yet what %s has (%s)", nd->label, nd->lag_entries,
		                                 nd->lag_revisions, rn->label, rn->label,
		                                 gone ? "not divergence: it was removed from the cluster before that"
		                                      : "not divergence: catching up fixes it");
		if (!v)
			return;
		v->versions = VERSIONS_LAG;
		v->first_divergent_index = 0;   /* nothing diverged: the first missing entry is evidence */
		kvf_verdict_evidence(v, (int)i, nd->db_path, value_offset(nd, "meta", "consistent_index"), 0,
		                     "%s: meta consistent_index = %" PRIu64 ", revision %" PRId64 "; %s: consistent_index %"
		                     PRIu64 ", revision %" PRId64, nd->label, nd->st.state.consistent_index,
		                     nd->st.revision, rn->label, rn->st.state.consistent_index, rn->st.revision);
		if (nd->lag_entries)
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, nd->st.state.consistent_index + 1,
			                     "%s lacks entries %" PRIu64 "..%" PRIu64 " (%" PRIu64 " entries) that %s applied",
			                     nd->label, nd->st.state.consistent_index + 1, rn->st.state.consistent_index,
			                     nd->lag_entries, rn->label);
		if (nd->lag_revisions)
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, 0, "%s lacks revisions %" PRId64 "..%" PRId64
			                     " (%" PRId64 " revisions) that %s holds, and holds none that it lacks", nd->label,
			                     nd->st.revision + 1, rn->st.revision, nd->lag_revisions, rn->label);
		if (nd->have_wal && nd->wal_last_index > nd->st.state.consistent_index)
			kvf_verdict_evidence(v, (int)i, nd->wal_dir, KVF_NO_OFFSET, nd->wal_last_index,
			                     "%s's own WAL reaches index %" PRIu64 ": it had received entries it had not "
			                     "applied yet", nd->label, nd->wal_last_index);
		if (nd->unapplied_writes)
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, nd->st.state.consistent_index + 1,
			                     "%" PRIu64 " WAL writes to the keys that differ lie past %s's consistent_index",
			                     nd->unapplied_writes, nd->label);
		if (gone) {
			/* a removed member stops where it was removed: it never catches up */
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, 0, "%s's own member id %016" PRIx64 " is in %s's "
			                     "members_removed: it was removed from the cluster and will not catch up",
			                     nd->label, nd->member_id, d->nodes[gone->by].label);
			appendf(v->recovery, sizeof(v->recovery), "None for the cluster: %s was removed from it (its data "
			        "directory is what it held then); do not start it again with this data directory.", nd->label);
			continue;
		}
		/* the same files as a copy taken earlier: a data dir replaced by an
		 * older copy looks exactly like this, and etcd refuses to start it
		 * ("tocommit(N) is out of range [lastIndex(M)]": the leader knows
		 * it had more), which the files cannot show */
		appendf(v->recovery, sizeof(v->recovery), "None needed for the data: let %s catch up (start it and "
		        "wait until its raft index matches %s's), then compare again. If etcd refuses to start it "
		        "(\"tocommit(N) is out of range\": its data directory was replaced by an older copy), remove "
		        "it (etcdctl member remove ID), wipe its data directory and add it back.", nd->label, rn->label);
	}
}

static void verdicts_unexplained(kvf_diff *d, const size_t *by_cause, const wal_scan *w)
{
	kvf_verdict *v = kvf_verdict_add(&d->verdicts, KVF_VERDICT_UNEXPLAINED, true, -1,
	                                 "unexplained divergence: %zu divergent keys, %zu of them not accounted for "
	                                 "by the WAL; %zu other bucket differences", d->n_keys,
	                                 by_cause[KVF_KEY_UNEXPLAINED] + by_cause[KVF_KEY_NO_WAL], d->n_items);
	if (!v)
		return;
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (nd->hist == KVF_HIST_DIVERGED)
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, nd->first_divergent_index,
			                     "%s's history stops matching %s's at revision %" PRId64, nd->label,
			                     d->nodes[d->reference].label, nd->first_divergent_rev);
	}
	/* an authRevision no refused write explains yet, named on its member
	 * when the log cannot produce it */
	for (size_t i = 0; w && w->from_start && i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (nd->st.state.auth_revision > 1 + w->n_auth_mut)
			kvf_verdict_evidence(v, (int)i, nd->db_path, nd->st.state.auth_revision_value.file_offset, 0,
			                     "%s's authRevision %" PRIu64 " exceeds the %zu that the log's %zu auth changes "
			                     "can produce: auth requests were applied more than once", nd->label,
			                     nd->st.state.auth_revision, 1 + w->n_auth_mut, w->n_auth_mut);
	}
	for (size_t k = 0; k < d->n_items && v->n_evidence < 12; k++)
		kvf_verdict_evidence(v, -1, NULL, KVF_NO_OFFSET, 0, "bucket %s, key %s differs", d->items[k].bucket,
		                     d->items[k].key);
	appendf(v->recovery, sizeof(v->recovery), "No known cause fits: keep every member's data directory as "
	        "it is. %s holds the most complete data; before replacing any member from it, compare the "
	        "divergent keys above with what the applications wrote.", d->nodes[d->reference].label);
}

/* What was considered and did not fit, for the record (and for
 * "unexplained", the reader's checklist). */
static void rule_out(kvf_diff *d, const size_t *by_cause)
{
	kvf_verdicts *vs = &d->verdicts;
	bool have[KVF_VERDICT_KINDS] = { false };
	for (size_t i = 0; i < vs->n; i++)
		have[vs->v[i].kind] = true;
	if (!have[KVF_VERDICT_AUTH_SKEW]) {
		if (!d->auth_revisions_differ)
			kvf_verdicts_rule_out(vs, "auth_skew: every member has authRevision %" PRIu64,
			                      d->nodes[0].st.state.auth_revision);
		else
			kvf_verdicts_rule_out(vs, "auth_skew: authRevisions differ, but no divergent key is explained by "
			                      "a write refused for its header auth_revision (%zu are)",
			                      by_cause[KVF_KEY_AUTH_REJECTED]);
	}
	if (!have[KVF_VERDICT_LOST_WRITES] || !have[KVF_VERDICT_APPLIED_TWICE]) {
		char checked[400] = "", skipped[400] = "";
		char covered[400] = "";
		for (size_t i = 0; i < d->n; i++) {
			const kvf_verify *v = d->nodes[i].verify;
			bool full = v && v->aligned;
			char *into = full ? checked : d->nodes[i].verify_covered ? covered : skipped;
			appendf(into, 400, "%s%s", into[0] ? ", " : "", d->nodes[i].label);
		}
		if (covered[0])
			kvf_verdicts_rule_out(vs, "lost_writes, applied_twice on %s: the same history and consistent_index "
			                      "as %s, whose own WAL check covers them", covered, d->nodes[d->reference].label);
		if (checked[0])
			kvf_verdicts_rule_out(vs, "%s%s%s: the own WAL check of %s found none", !have[KVF_VERDICT_LOST_WRITES]
			                      ? "lost_writes" : "", !have[KVF_VERDICT_LOST_WRITES] &&
			                      !have[KVF_VERDICT_APPLIED_TWICE] ? ", " : "",
			                      !have[KVF_VERDICT_APPLIED_TWICE] ? "applied_twice" : "", checked);
		if (skipped[0])
			kvf_verdicts_rule_out(vs, "lost_writes, applied_twice: not checked on %s (%s)", skipped,
			                      d->differ || d->verify_all ? "no WAL of its own, or its writes could not be "
			                      "paired with its revisions" : "the members agree; --verify checks them anyway");
	}
	if (!have[KVF_VERDICT_LAG] && d->histories_differ)
		kvf_verdicts_rule_out(vs, "lag: no member's history is a prefix of the reference's");
}

/* The causes each member's own check found (lost writes, applied twice,
 * a db older than its .snap), as the diff's verdicts of that member, with
 * where its revisions stand against the reference's. */
static bool verdicts_from_verify(kvf_diff *d)
{
	bool any = false;
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		if (!nd->verify)
			continue;
		const kvf_verdicts *vs = &nd->verify->verdicts;
		for (size_t k = 0; k < vs->n; k++) {
			const kvf_verdict *src = &vs->v[k];
			/* 18667: the detectors name it across members, with the
			 * member that served the txn and the compaction before it */
			if (!src->divergence || src->kind == KVF_VERDICT_TXN_COMPACTED_RANGE)
				continue;
			kvf_verdict *v = kvf_verdict_add(&d->verdicts, src->kind, true, (int)i, "%s", src->headline);
			if (!v)
				return any;
			any = true;
			v->first_divergent_index = src->first_divergent_index;
			v->versions = src->versions;
			if (src->kind == KVF_VERDICT_STALE_DB || i == d->reference) {
				snprintf(v->recovery, sizeof(v->recovery), "%s", src->recovery);
			} else {
				/* a member to replace it from, said clean by its own check or not */
				const kvf_diff_node *rn = &d->nodes[source_member(d)];
				bool clean = rn->verify && rn->verify->aligned && !kvf_verify_failed(rn->verify);
				recovery_replace(d, i, v->recovery, sizeof(v->recovery));
				appendf(v->recovery, sizeof(v->recovery), " %s", clean
				        ? "Its own WAL check is clean: every write its consistent_index covers is in its db."
				        : "Check it first with dump-db verify: its own WAL check did not run or was not clean.");
				appendf(v->recovery, sizeof(v->recovery), " Upgrade etcd to a release with the fix first.");
			}
			for (size_t e = 0; e < src->n_evidence; e++) {
				const kvf_evidence *x = &src->evidence[e];
				kvf_verdict_evidence(v, x->member < 0 ? -1 : (int)i, x->file[0] ? x->file : NULL, x->offset,
				                     x->wal_index, "%s", x->text);
			}
			for (size_t s = 0; s < nd->n_offsets; s++)
				kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, 0, "against %s: the same writes sit %+"
				                     PRId64 " revisions off from %s's revision %" PRId64 " (to %" PRId64 ", %"
				                     PRIu64 " writes)", d->nodes[d->reference].label, nd->offsets[s].offset,
				                     d->nodes[d->reference].label, nd->offsets[s].from, nd->offsets[s].to,
				                     nd->offsets[s].writes);
			if (src->first_divergent_index &&
			    (!nd->first_divergent_index || src->first_divergent_index < nd->first_divergent_index))
				nd->first_divergent_index = src->first_divergent_index;
		}
	}
	return any;
}

/* A constant revision offset against the reference that nothing else
 * explains: its direction says which kind of apply went wrong. */
static void verdicts_shift(kvf_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		if (nd->hist != KVF_HIST_DIVERGED || !nd->n_offsets)
			continue;
		bool covered = false;
		for (size_t k = 0; k < d->verdicts.n; k++)
			covered |= d->verdicts.v[k].member == (int)i && d->verdicts.v[k].divergence;
		/* its own WAL check is clean: the offset is the reference's doing
		 * (a reference that applied writes twice), said by its verdict */
		const kvf_diff_node *rn = &d->nodes[d->reference];
		if (nd->verify && nd->verify->aligned && !kvf_verify_failed(nd->verify) && rn->verify &&
		    kvf_verify_failed(rn->verify))
			covered = true;
		if (covered)
			continue;
		const kvf_offset_seg *s = &nd->offsets[0];
		kvf_verdict *v = kvf_verdict_add(&d->verdicts, KVF_VERDICT_REVISION_SHIFT, true, (int)i,
		                                 "%s's revisions shift %s by %" PRId64 " against %s's from revision %" PRId64
		                                 ": %s", nd->label, s->offset < 0 ? "down" : "up",
		                                 s->offset < 0 ? -s->offset : s->offset, d->nodes[d->reference].label,
		                                 nd->first_divergent_rev, s->offset < 0
		                                 ? "entries that the others applied left no revision here"
		                                 : "entries' effects were applied here more than once");
		if (!v)
			return;
		v->versions = s->offset < 0 ? "an entry skipped: etcd 3.5.0-3.5.2 (13766), 3.4.0-3.4.7 auth (11651), "
		              "a txn with a compacted revisioned range up to 3.6.14 (18667)"
		              : "an entry applied twice: etcd 3.5.0-3.5.5 defrag (14733), 3.5.0-3.5.2 snapshot (13933)";
		v->first_divergent_index = nd->first_divergent_index;
		for (size_t k = 0; k < nd->n_offsets; k++)
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, 0, "the same writes sit %+" PRId64 " revisions off "
			                     "from %s's revision %" PRId64 " to %" PRId64 " (%" PRIu64 " writes)",
			                     nd->offsets[k].offset, d->nodes[d->reference].label, nd->offsets[k].from,
			                     nd->offsets[k].to, nd->offsets[k].writes);
		if (nd->verify && !nd->verify->aligned)
			kvf_verdict_evidence(v, (int)i, NULL, KVF_NO_OFFSET, 0, "its own WAL could not be checked: %s",
			                     nd->verify->have_wal ? nd->verify->why_unaligned : "no WAL");
		recovery_replace(d, i, v->recovery, sizeof(v->recovery));
	}
}

static void build_verdicts(kvf_diff *d, const wal_scan *w)
{
	size_t by_cause[4] = { 0 };
	for (size_t k = 0; k < d->n_keys; k++)
		by_cause[d->keys[k].cause]++;
	first_divergent_indexes(d);
	switch (d->cause) {
	case KVF_CAUSE_NONE:
		kvf_verdict_add(&d->verdicts, KVF_VERDICT_CONSISTENT, false, -1, "the replicas agree");
		break;
	case KVF_CAUSE_AUTH_SKEW:
		verdicts_auth_skew(d, w);
		break;
	case KVF_CAUSE_BEHIND:
		verdicts_lag(d);
		break;
	case KVF_CAUSE_UNEXPLAINED:
		break;
	}
	verdicts_from_verify(d);
	if (d->differ)
		verdicts_shift(d);
	/* a member that only lags beside another that diverged: named too
	 * (its own verdict is no divergence; the other one decides the exit) */
	if (d->cause == KVF_CAUSE_AUTH_SKEW || d->cause == KVF_CAUSE_UNEXPLAINED)
		verdicts_lag(d);
	/* a cause the legacy determination chose but no member carries (auth
	 * skew with the WAL tracing no refusal to a member): say so, never
	 * leave a divergence without a verdict */
	if (d->differ && !d->lag_only && !kvf_verdicts_divergent(&d->verdicts))
		verdicts_unexplained(d, by_cause, w);
	rule_out(d, by_cause);
	kvf_verdicts_sort(&d->verdicts);
}

/* A member whose db has pages the reader had to skip: what it holds is
 * not all there is, and no comparison with it can be complete. */
static void verdicts_page_damage(kvf_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const kvf_db_finding *f;
		size_t nf = d->nodes[i].be ? kvf_backend_findings(d->nodes[i].be, &f) : 0;
		if (!nf)
			continue;
		kvf_verdict *v = kvf_verdict_add(&d->verdicts, KVF_VERDICT_PAGE_DAMAGE, true, (int)i,
		                                 "%s's db is damaged: %zu finding%s in its pages; what it holds past them "
		                                 "cannot be read", d->nodes[i].label, nf, nf == 1 ? "" : "s");
		if (!v)
			return;
		v->versions = "any version: bit rot, a bad disk or a copy damaged in transit (no etcd bug)";
		for (size_t j = 0; j < nf && j < 8; j++)
			kvf_verdict_evidence(v, (int)i, d->nodes[i].db_path, f[j].offset, 0, "%s", f[j].msg);
		snprintf(v->recovery, sizeof(v->recovery), "Do not start %s on this db, nor recover the cluster from it. "
		         "If its peers are complete, replace it (etcdctl member remove ID, wipe its data directory, add it "
		         "back: it copies the leader's snapshot); if the whole cluster is down, restore from the newest "
		         "`etcdctl snapshot save` file or from the member the ranking names.", d->nodes[i].label);
	}
}

/* A db holds at most one revision per raft entry it applied (each write is
 * one entry; conf changes and lease grants write none), so revision <=
 * consistent_index + 1 on every member that grew through raft or received
 * a leader snapshot. `etcdctl snapshot restore` (and etcdutl's) keeps the
 * snapshot's revisions but starts a new raft log: consistent_index = the
 * number of members, term 1. When every member was restored that is the
 * documented disaster recovery; one restored member among members with the
 * original log is one whose raft log is not the cluster's: etcd panics on
 * it ("tocommit(N) is out of range [lastIndex(M)]"). Members that applied
 * entries twice also hold more revisions than entries: not this. */
static bool restored_db(const kvf_diff_node *nd)
{
	const kvf_verify *v = nd->verify;
	if (v && (v->applied_twice || v->above_ci_effects))
		return false;
	return nd->st.revision > 0 && (uint64_t)nd->st.revision > nd->st.state.consistent_index + 1;
}

static void verdicts_restored(kvf_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (!restored_db(nd))
			continue;
		size_t peer = d->n;
		for (size_t j = 0; j < d->n && peer == d->n; j++)
			if (j != i && !restored_db(&d->nodes[j]) &&
			    d->nodes[j].st.state.consistent_index > nd->st.state.consistent_index)
				peer = j;
		if (peer == d->n)
			continue;   /* every member restored, or none ahead: a recovery, not a divergence */
		const kvf_diff_node *pn = &d->nodes[peer];
		kvf_verdict *v = kvf_verdict_add(&d->verdicts, KVF_VERDICT_RESTORED_SNAPSHOT, true, (int)i,
		                                 "%s's db was restored from a snapshot into the running cluster: it holds "
		                                 "revision %" PRId64 " with a raft log of its own (consistent_index %" PRIu64
		                                 ", term %" PRIu64 "), not the cluster's (%s: consistent_index %" PRIu64 ")",
		                                 nd->label, nd->st.revision, nd->st.state.consistent_index,
		                                 nd->st.state.term, pn->label, pn->st.state.consistent_index);
		if (!v)
			return;
		v->first_divergent_index = nd->st.state.consistent_index + 1;
		v->versions = "any version: `etcdctl snapshot restore` (3.4) or `etcdutl snapshot restore` (3.5+) used on "
		              "one member while the others kept running (an operator's step, no etcd bug)";
		kvf_verdict_evidence(v, (int)i, nd->db_path, nd->verify ? nd->verify->ci_offset : KVF_NO_OFFSET,
		                     nd->st.state.consistent_index, "meta consistent_index = %" PRIu64 ", term %" PRIu64
		                     ", yet the db is at revision %" PRId64 ": more revisions than raft entries applied",
		                     nd->st.state.consistent_index, nd->st.state.term, nd->st.revision);
		if (nd->verify && nd->verify->snap_index)
			kvf_verdict_evidence(v, (int)i, nd->verify->snap_path, 0, nd->verify->snap_index,
			                     "newest .snap: index %" PRIu64 ", term %" PRIu64 " (what restore writes)",
			                     nd->verify->snap_index, nd->verify->snap_term);
		kvf_verdict_evidence(v, (int)peer, pn->db_path, KVF_NO_OFFSET, pn->st.state.consistent_index,
		                     "%s: consistent_index %" PRIu64 ", revision %" PRId64 ": its log is the cluster's",
		                     pn->label, pn->st.state.consistent_index, pn->st.revision);
		snprintf(v->recovery, sizeof(v->recovery), "etcd will not run %s on this data directory (its peers' "
		         "commit index lies past its log). Replace the member: etcdctl member remove ID, wipe its data "
		         "directory, etcdctl member add, and start it with --initial-cluster-state existing so it copies "
		         "the leader's snapshot. To go back to the snapshot's data, restore every member from the same "
		         "snapshot instead.", nd->label);
	}
}

/* Does a verdict of one of the detectors' kinds name this member at this
 * index (a known bug that explains a lost write)? */
static bool explained_by_known_bug(const kvf_verdicts *vs, const kvf_verdict *lost)
{
	for (size_t j = 0; j < vs->n; j++) {
		const kvf_verdict *v = &vs->v[j];
		if (v != lost && v->divergence && v->member == lost->member &&
		    v->kind == KVF_VERDICT_TXN_COMPACTED_RANGE && v->first_divergent_index == lost->first_divergent_index)
			return true;
	}
	return false;
}

/* Once every analysis has spoken, one verdict per cause and member:
 *   - the same kind twice for one member (verify's stale_db and the
 *     detectors' one read the same .snap): the first stands;
 *   - a lost write that a known bug's signature explains at the same entry
 *     (18667's txn): the known bug stands, the lost write is its evidence;
 *   - a member with a damaged db: the damage, not a revision shift; a
 *     member that refused 18667's txns: that, not a revision shift;
 *   - "unexplained" only when no other verdict explains a divergence;
 *   - no lag verdict for a member a divergence stands against (catching
 *     up would not fix it; its lag stays in that verdict's evidence);
 *   - "consistent" only when nothing else was found.
 * Then most serious first. */
static void settle_verdicts(kvf_diff *d)
{
	verdicts_page_damage(d);
	verdicts_restored(d);
	kvf_verdicts *vs = &d->verdicts;
	bool explained = false, other = false;
	for (size_t k = 0; k < vs->n; k++) {
		explained |= vs->v[k].divergence && vs->v[k].kind != KVF_VERDICT_UNEXPLAINED;
		other |= vs->v[k].kind != KVF_VERDICT_CONSISTENT;
	}
	bool *drop = calloc(vs->n ? vs->n : 1, sizeof(*drop));
	if (!drop)
		return;
	for (size_t k = 0; k < vs->n; k++) {
		kvf_verdict *v = &vs->v[k];
		bool x = (explained && v->kind == KVF_VERDICT_UNEXPLAINED) ||
		         (other && v->kind == KVF_VERDICT_CONSISTENT);
		for (size_t j = 0; j < k && !x; j++)
			x = !drop[j] && vs->v[j].kind == v->kind && vs->v[j].member == v->member && v->member >= 0;
		if (!x && v->kind == KVF_VERDICT_LOST_WRITES && explained_by_known_bug(vs, v))
			x = true;
		for (size_t j = 0; j < vs->n && !x && v->member >= 0; j++) {
			const kvf_verdict *o = &vs->v[j];
			if (o->member != v->member || !o->divergence || j == k)
				continue;
			x = v->kind == KVF_VERDICT_LAG ||
			    ((v->kind == KVF_VERDICT_REVISION_SHIFT || v->kind == KVF_VERDICT_UNEXPLAINED) &&
			     (o->kind == KVF_VERDICT_PAGE_DAMAGE || o->kind == KVF_VERDICT_RESTORED_SNAPSHOT ||
			      /* 18667's refused txns shift the member's revisions down */
			      o->kind == KVF_VERDICT_TXN_COMPACTED_RANGE));
		}
		drop[k] = x;
	}
	/* the evidence of a dropped lost write goes to the known bug that explains it */
	for (size_t k = 0; k < vs->n; k++) {
		if (!drop[k] || vs->v[k].kind != KVF_VERDICT_LOST_WRITES)
			continue;
		for (size_t j = 0; j < vs->n; j++)
			if (!drop[j] && vs->v[j].kind == KVF_VERDICT_TXN_COMPACTED_RANGE && vs->v[j].member == vs->v[k].member) {
				kvf_verdict_evidence(&vs->v[j], vs->v[k].member, NULL, KVF_NO_OFFSET,
				                     vs->v[k].first_divergent_index, "its own WAL check: %s", vs->v[k].headline);
				break;
			}
	}
	size_t out = 0;
	for (size_t k = 0; k < vs->n; k++) {
		if (drop[k]) {
			free(vs->v[k].evidence);
			continue;
		}
		vs->v[out++] = vs->v[k];
	}
	vs->n = out;
	free(drop);
	kvf_verdicts_sort(vs);
}

/* ---- the best member to recover from (etcd issue 20217) ---- */

static int cmp_rank(const void *a, const void *b)
{
	const struct kvf_rank *x = a, *y = b;
	if (x->complete != y->complete)
		return x->complete ? -1 : 1;
	if (x->consistent_index != y->consistent_index)
		return x->consistent_index > y->consistent_index ? -1 : 1;
	if (x->term != y->term)
		return x->term > y->term ? -1 : 1;
	if (x->wal_last_index != y->wal_last_index)
		return x->wal_last_index > y->wal_last_index ? -1 : 1;
	if (x->db_damage != y->db_damage)
		return x->db_damage < y->db_damage ? -1 : 1;
	return (x->member > y->member) - (x->member < y->member);
}

/* When the whole cluster is down, --force-new-cluster starts one member's
 * data as a new cluster of one: it must hold every write. A member against
 * which a cause stands (lost or doubled writes, refused writes, a db older
 * than its snapshot), one that is behind, or one whose db has damaged pages
 * is no source; among the others the highest consistent_index and term (and
 * the longest WAL) win. */
static kvf_status rank_members(kvf_diff *d, kvf_err *err)
{
	size_t n = d->n;
	if (!(d->ranking = calloc(n, sizeof(*d->ranking))))
		return nomem(err);
	d->n_ranking = n;
	for (size_t i = 0; i < n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		struct kvf_rank *r = &d->ranking[i];
		const kvf_db_finding *f;
		r->member = i;
		r->consistent_index = nd->st.state.consistent_index;
		r->term = nd->st.state.term;
		r->wal_last_index = nd->wal_last_index;
		r->db_damage = nd->be ? kvf_backend_findings(nd->be, &f) : 0;
		r->complete = true;
		for (size_t k = 0; k < d->verdicts.n; k++) {
			const kvf_verdict *v = &d->verdicts.v[k];
			if (v->member != (int)i || v->kind == KVF_VERDICT_CONSISTENT)
				continue;
			/* a warning, or stale membership records: its writes are
			 * all there (named, not held against it) */
			bool members_only = v->kind == KVF_VERDICT_ZOMBIE_MEMBER || v->kind == KVF_VERDICT_PROMOTION_LOST ||
			                    v->kind == KVF_VERDICT_MEMBERSHIP;
			if (v->divergence && members_only)
				d->membership_repair = true;
			else if (v->divergence)
				r->complete = false;
			appendf(r->reasons, sizeof(r->reasons), "%s%s", r->reasons[0] ? "; " : "", kvf_verdict_kind_name(v->kind));
			if (v->first_divergent_index)
				appendf(r->reasons, sizeof(r->reasons), " from WAL index %" PRIu64, v->first_divergent_index);
		}
		if (nd->hist == KVF_HIST_BEHIND && r->complete) {
			r->complete = false;
			appendf(r->reasons, sizeof(r->reasons), "%sbehind: lacks revisions %" PRId64 "..%" PRId64,
			        r->reasons[0] ? "; " : "", nd->first_divergent_rev, d->nodes[d->reference].st.revision);
		}
		if (r->db_damage) {
			r->complete = false;
			appendf(r->reasons, sizeof(r->reasons), "%s%" PRIu64 " damaged or unreadable pages in its db",
			        r->reasons[0] ? "; " : "", r->db_damage);
		}
		if (nd->wal_damage)
			appendf(r->reasons, sizeof(r->reasons), "%s%" PRIu64 " damaged WAL records", r->reasons[0] ? "; " : "",
			        nd->wal_damage);
		appendf(r->reasons, sizeof(r->reasons), "%sconsistent_index %" PRIu64 ", term %" PRIu64 ", WAL to %" PRIu64
		        "%s", r->reasons[0] ? "; " : "", r->consistent_index, r->term, r->wal_last_index,
		        nd->verify && nd->verify->aligned && !kvf_verify_failed(nd->verify) ? ", own WAL check clean" : "");
	}
	qsort(d->ranking, n, sizeof(*d->ranking), cmp_rank);
	const struct kvf_rank *best = &d->ranking[0];
	d->recovery_possible = best->complete;
	if (best->complete && d->membership_repair) {
		snprintf(d->recovery_plan, sizeof(d->recovery_plan), "%s holds every write (%s), but membership records "
		         "disagree with raft's on some members: follow those verdicts' recovery first, and only then, if "
		         "the cluster must be rebuilt, start %s alone with --force-new-cluster (keep a copy of every data "
		         "directory) and add the others back one at a time with wiped data directories",
		         d->nodes[best->member].label, best->reasons, d->nodes[best->member].label);
	} else if (best->complete) {
		snprintf(d->recovery_plan, sizeof(d->recovery_plan), "recover from %s (%s): stop every member, keep a "
		         "copy of every data directory, start %s alone with --force-new-cluster, then add the others back "
		         "one at a time with wiped data directories", d->nodes[best->member].label, best->reasons,
		         d->nodes[best->member].label);
	} else {
		snprintf(d->recovery_plan, sizeof(d->recovery_plan), "no recovery plan: no member holds every write. ");
		for (size_t k = 0; k < n; k++)
			appendf(d->recovery_plan, sizeof(d->recovery_plan), "%s%s: %s", k ? "; " : "",
			        d->nodes[d->ranking[k].member].label, d->ranking[k].reasons);
		appendf(d->recovery_plan, sizeof(d->recovery_plan), ". Keep every data directory; the writes each lacks "
		        "are listed above (divergent keys), restore them from the members that have them or from a backup.");
	}
	return KVF_OK;
}

/* ---- each member against its own WAL ---- */

/* member/snap of a db at DIR/member/snap/db (NULL otherwise). */
static char *snap_dir_of(const char *db_path)
{
	size_t n = strlen(db_path);
	if (n < 3 || strcmp(db_path + n - 3, "/db") != 0)
		return NULL;
	char *s = strndup(db_path, n - 3);
	return s;
}

/* verify.h on every member with a WAL of its own. A full check reads each
 * member's WAL and bucket `key` again, so it runs where the members differ
 * (what it finds is why); identical members get the .snap check only. */
static kvf_status verify_members(kvf_diff *d, kvf_diff_progress_fn progress, void *pctx, kvf_err *err)
{
	bool differ = d->verify_all || d->n_keys || d->n_items || d->histories_differ;
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		if (!(nd->verify = calloc(1, sizeof(*nd->verify))))
			return nomem(err);
		char *snap = snap_dir_of(nd->db_path);
		if (progress)
			progress(pctx, "checking each member against its WAL", i);
		/* a member with the reference's history and consistent_index holds
		 * what the reference holds: the reference's check covers it */
		const kvf_diff_node *rn = &d->nodes[d->reference];
		bool full = differ && nd->have_wal;
		if (full && !d->verify_all && i != d->reference && nd->hist == KVF_HIST_SAME &&
		    nd->st.state.consistent_index == rn->st.state.consistent_index && rn->have_wal) {
			full = false;
			nd->verify_covered = true;
		}
		kvf_status st = kvf_verify_run(nd->verify, nd->be, nd->label, nd->db_path, full ? nd->wal_dir : NULL,
		                               snap, &nd->wal_facts, NULL, NULL, err);
		free(snap);
		if (st)
			return st;
	}
	return KVF_OK;
}

/* ---- the run ---- */

/* Identity first (identity.h): comparing members of two clusters, or one
 * file with itself, would explain nothing. */
static kvf_status check_identity(kvf_diff *d, kvf_err *err)
{
	kvf_identity_set *s = &d->identity;
	if (!(s->v = calloc(d->n, sizeof(*s->v))))
		return nomem(err);
	s->n = d->n;
	kvf_status st;
	for (size_t i = 0; i < d->n; i++)
		if ((st = kvf_identity_read(&s->v[i], d->nodes[i].be, d->nodes[i].db_path, d->nodes[i].wal_dir, err)))
			return st;
	if ((st = kvf_identity_group(s, err)))
		return st;
	if (s->n_clusters > 1)
		return kvf_err_set(err, KVF_E_USAGE, NULL, KVF_NO_OFFSET,
		                   "the inputs are members of %zu different clusters: not compared", s->n_clusters);
	for (size_t k = 0; k < s->n_dups; k++)
		if (s->dups[k].kind == KVF_DUP_SAME_FILES)
			return kvf_err_set(err, KVF_E_USAGE, d->nodes[s->dups[k].b].db_path, KVF_NO_OFFSET,
			                   "%s and %s are the same files: give each member once",
			                   d->nodes[s->dups[k].a].label, d->nodes[s->dups[k].b].label);
	return KVF_OK;
}

kvf_status kvf_diff_run(kvf_diff *d, kvf_diff_progress_fn progress, void *pctx, kvf_err *err)
{
	size_t n = d->n;
	if (n < 2)
		return kvf_err_set(err, KVF_E_USAGE, NULL, KVF_NO_OFFSET, "compare at least two members");
	kvf_status st;
	for (size_t i = 0; i < n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		if ((st = kvf_backend_open(&nd->be, nd->db_path, err)))
			return st;
		if ((st = kvf_etcd_read_state(nd->be, &nd->st.state, err)))
			return st;
		int64_t c = nd->st.state.has_finished_compact ? nd->st.state.finished_compact : 0;
		if (c > d->compared_from)
			d->compared_from = c;
	}
	if ((st = check_identity(d, err)))
		return st;
	pair_div *div = calloc(n * n, sizeof(*div));
	if (!div)
		return nomem(err);
	st = walk_histories(d, div, progress, pctx, err);
	for (size_t i = 0; i < n && !st; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		st = kvf_db_status_read(nd->be, &nd->ki, &nd->st, err);
	}
	if (!st) {
		d->reference = most_complete(d);
		size_t ref = d->reference;
		for (size_t i = 0; i < n; i++) {
			kvf_diff_node *nd = &d->nodes[i];
			if (i == ref)
				continue;
			const pair_div *pd = i < ref ? &div[i * n + ref] : &div[ref * n + i];
			bool i_first = i < ref;
			nd->first_divergent_rev = pd->rev;
			if (pd->kind == DIV_NONE)
				nd->hist = KVF_HIST_SAME;
			else if (pd->kind == DIV_MISMATCH)
				nd->hist = KVF_HIST_DIVERGED;
			else if ((pd->kind == DIV_ENDED_I) == i_first)
				nd->hist = KVF_HIST_BEHIND;
			else
				nd->hist = KVF_HIST_AHEAD;
			if (nd->hist != KVF_HIST_SAME) {
				d->histories_differ = true;
				if (!d->first_divergent_rev || pd->rev < d->first_divergent_rev)
					d->first_divergent_rev = pd->rev;
			}
			if (nd->hist == KVF_HIST_DIVERGED && (st = offsets(d, i, pd->rev, err)))
				break;
		}
	}
	free(div);
	if (!st)
		st = compare_keys(d, err);
	if (!st && d->n_keys > 1)   /* keys is NULL when nothing diverges */
		qsort(d->keys, d->n_keys, sizeof(*d->keys), cmp_key);
	static const char *const small[] = { "meta", "auth", "authUsers", "authRoles", "lease", "members",
	                                     "members_removed", "cluster", "alarm", NULL };
	for (size_t b = 0; small[b] && !st; b++)
		st = compare_bucket(d, small[b], err);
	if (st)
		return st;
	/* the WAL */
	for (size_t i = 0; i < n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		if (!nd->wal_dir)
			continue;
		if (progress)
			progress(pctx, "reading WAL", i);
		if ((st = wal_summary(nd, err)))
			return st;
	}
	if ((st = verify_members(d, progress, pctx, err)))
		return st;
	const kvf_diff_node *src = pick_wal(d);
	wal_scan w = { .d = d, .err = err };
	if (src && d->timeline)
		d->timeline->wal_dir = src->wal_dir;
	/* authRevisions that differ with no key diverging yet: the log's auth
	 * changes say which member's is more than they can produce */
	bool ar_differ = false;
	for (size_t i = 1; i < n; i++)
		ar_differ |= d->nodes[i].st.state.auth_revision != d->nodes[0].st.state.auth_revision;
	if (src && (d->n_keys || d->timeline || ar_differ)) {
		d->wal_used = true;
		if ((st = scan_wal(d, &w, src, err))) {
			free(w.auth_mut);
			return st;
		}
	} else if (src) {
		d->wal_used = true;
	}
	for (size_t k = 0; k < d->n_keys; k++) {
		explain_key(d, &w, &d->keys[k]);
		for (size_t i = 0; i < n; i++)
			for (size_t t = 0; t < d->keys[k].n_touches; t++) {
				d->nodes[i].rejected_writes += d->keys[k].touches[t].fate[i] == KVF_REJECTED_AUTH;
				d->nodes[i].unapplied_writes += d->keys[k].touches[t].fate[i] == KVF_NOT_YET;
			}
	}
	verdict(d, src ? &w : NULL);
	build_verdicts(d, src ? &w : NULL);
	free(w.auth_mut);
	if ((st = kvf_detect_membership(d, err)))   /* analysis/membership.h */
		return st;
	if ((st = kvf_detect_known_bugs(d, err)))   /* analysis/detectors.h */
		return st;
	settle_verdicts(d);
	if ((st = rank_members(d, err)))
		return st;
	return kvf_diff_objects_find(d, err);
}

void kvf_diff_free(kvf_diff *d)
{
	kvf_verdicts_free(&d->verdicts);
	kvf_identity_set_free(&d->identity);
	kvf_diff_objects_free(&d->objects);
	for (size_t k = 0; k < d->n_keys; k++) {
		free(d->keys[k].v);
		free(d->keys[k].touches);
	}
	free(d->keys);
	for (size_t i = 0; i < d->n_items; i++) {
		free(d->items[i].key);
		for (size_t j = 0; j < d->n && d->items[i].values; j++)
			free(d->items[i].values[j]);
		free(d->items[i].values);
	}
	free(d->items);
	free(d->ranking);
	for (size_t i = 0; i < d->n_wal_files; i++)
		free(d->wal_files[i]);
	free(d->wal_files);
	free(d->wal_attrs);
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		kvf_db_status_free(&nd->st);
		kvf_keyindex_free(&nd->ki);
		kvf_backend_close(nd->be);
		free(nd->label);
		free(nd->path);
		free(nd->db_path);
		free(nd->wal_dir);
		free(nd->offsets);
		free(nd->auth_runs);
		if (nd->verify)
			kvf_verify_free(nd->verify);
		free(nd->verify);
	}
	free(d->nodes);
	memset(d, 0, sizeof(*d));
}
