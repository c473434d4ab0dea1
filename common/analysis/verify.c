/* One member against its own WAL (see verify.h). */
#include "analysis/verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/etcddb.h"
#include "db/version.h"
#include "encoding/proto/etcdserverpb.pb-c.h"
#include "io/buf.h"
#include "io/text.h"
#include "wal/raft.h"
#include "wal/raftlog.h"

/* db revisions remembered to recognise one applied again */
#define RECENT 64
/* sub-revisions of one main revision we compare (a larger txn is compared
 * by its first ones) */
#define MAX_SUBS 4096

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

/* ---- the member's key state, as its db shows it so far ---- */

typedef struct kstate {
	const uint8_t *key;        /* into the mapped db, or the WAL (then copied) */
	uint32_t klen;
	bool live;
	bool value_known;          /* false: written where the db keeps no revision */
	kvf_span value;            /* into the mapped db */
	int64_t create, mod, version, lease;
	uint64_t hash;
} kstate;

typedef struct lcount {
	int64_t id;                /* 0: empty */
	int64_t live;              /* live keys attached */
} lcount;

typedef struct kmap {
	kstate *v;                 /* open addressing; key NULL = empty */
	size_t cap, n;
	kvf_arena copies;          /* keys that only the WAL had */
	/* live keys per lease: a revoke deletes them, and a scan of every key
	 * per revoke would be quadratic on a Kubernetes db (a lease per event) */
	lcount *l;
	size_t lcap, ln;
} kmap;

static lcount *lease_slot(kmap *m, int64_t id, bool add)
{
	if (add && (m->ln + 1) * 10 >= m->lcap * 7) {
		size_t ncap = m->lcap ? m->lcap * 2 : 256;
		lcount *nl = calloc(ncap, sizeof(*nl));
		if (!nl)
			return NULL;
		for (size_t i = 0; i < m->lcap; i++) {
			if (!m->l[i].id)
				continue;
			size_t j = ((uint64_t)m->l[i].id * 0x9e3779b97f4a7c15ull) & (ncap - 1);
			while (nl[j].id)
				j = (j + 1) & (ncap - 1);
			nl[j] = m->l[i];
		}
		free(m->l);
		m->l = nl;
		m->lcap = ncap;
	}
	if (!m->lcap)
		return NULL;
	for (size_t j = ((uint64_t)id * 0x9e3779b97f4a7c15ull) & (m->lcap - 1);; j = (j + 1) & (m->lcap - 1)) {
		if (m->l[j].id == id)
			return &m->l[j];
		if (!m->l[j].id) {
			if (!add)
				return NULL;
			m->l[j].id = id;
			m->ln++;
			return &m->l[j];
		}
	}
}

/* A key's (live, lease) changes: keep the counts. */
static bool lease_adj(kmap *m, const kstate *k, int delta)
{
	if (!k->live || !k->lease)
		return true;
	lcount *c = lease_slot(m, k->lease, true);
	if (!c)
		return false;
	c->live += delta;
	return true;
}

static int64_t lease_live(kmap *m, int64_t id)
{
	lcount *c = lease_slot(m, id, false);
	return c ? c->live : 0;
}

/* 64-bit mixing hash, eight bytes a step: every value of the log and of
 * bucket `key` goes through it (a byte-wise FNV-1a was half of verify's
 * time on the bench data). Accidental equality is what it must avoid; it
 * is no defence against crafted input, and needs none here. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	const uint64_t m = 0x9e3779b97f4a7c15ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * m;
		h ^= h >> 29;
	}
	if (i < n) {
		uint64_t w = 0;
		memcpy(&w, p + i, n - i);
		h = (h ^ w ^ ((uint64_t)(n - i) << 56)) * m;
		h ^= h >> 29;
	}
	return h;
}

static uint64_t key_hash(const uint8_t *k, size_t n)
{
	return hash_bytes(0xcbf29ce484222325ull, k, n);
}

static bool kmap_grow(kmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	kstate *nv = calloc(ncap, sizeof(*nv));
	if (!nv)
		return false;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->v[i].key)
			continue;
		size_t j = m->v[i].hash & (ncap - 1);
		while (nv[j].key)
			j = (j + 1) & (ncap - 1);
		nv[j] = m->v[i];
	}
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	return true;
}

static kstate *kmap_find(const kmap *m, const uint8_t *k, size_t n)
{
	if (!m->cap)
		return NULL;
	uint64_t h = key_hash(k, n);
	for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		kstate *s = &m->v[j];
		if (!s->key)
			return NULL;
		if (s->hash == h && s->klen == n && memcmp(s->key, k, n) == 0)
			return s;
	}
}

/* The record for key k, created (not live) when absent; copy: k does not
 * outlive the call (a WAL buffer). */
static kstate *kmap_get(kmap *m, const uint8_t *k, size_t n, bool copy)
{
	kstate *s = kmap_find(m, k, n);
	if (s)
		return s;
	if ((m->n + 1) * 10 >= m->cap * 7 && !kmap_grow(m))
		return NULL;
	uint64_t h = key_hash(k, n);
	size_t j = h & (m->cap - 1);
	while (m->v[j].key)
		j = (j + 1) & (m->cap - 1);
	s = &m->v[j];
	memset(s, 0, sizeof(*s));
	if (copy) {
		uint8_t *c = kvf_arena_alloc(&m->copies, n ? n : 1);
		if (!c)
			return NULL;
		memcpy(c, k, n);
		s->key = c;
	} else {
		s->key = n ? k : (const uint8_t *)"";
	}
	s->klen = (uint32_t)n;
	s->hash = h;
	m->n++;
	return s;
}

/* ---- one main revision of the db ---- */

typedef struct sub {
	kvf_kv kv;
	bool tomb;
} sub;

typedef struct dbstream {
	kvf_cursor *c;
	kvf_pair p;
	bool has_pair;
	kvf_revision prev;         /* of the pending pair */
	bool prev_tomb;
	/* the current group */
	bool has;
	int64_t main;
	sub *subs;
	size_t n, cap;
	uint64_t sig;
	uint64_t malformed;
} dbstream;

static kvf_status pair_next(dbstream *d, kvf_err *err)
{
	for (;;) {
		bool got;
		kvf_status st = kvf_cursor_next(d->c, &d->p, &got, err);
		if (st)
			return st;
		if (!got) {
			d->has_pair = false;
			return KVF_OK;
		}
		if (!d->p.is_bucket && kvf_revkey_parse(d->p.key, &d->prev, &d->prev_tomb)) {
			d->has_pair = true;
			return KVF_OK;
		}
		d->malformed++;
	}
}

static uint64_t op_sig(uint64_t h, const uint8_t *k, size_t kn, bool tomb, const uint8_t *v, size_t vn,
                       int64_t lease)
{
	uint8_t t = tomb ? 't' : 'p';
	uint64_t kl = kn;
	h = hash_bytes(h, (const uint8_t *)&kl, sizeof(kl));
	h = hash_bytes(h, k, kn);
	h = hash_bytes(h, &t, 1);
	if (!tomb) {
		/* of a value, its length and both ends: a filter; a match is
		 * confirmed by comparing the bytes (group_equals) */
		uint64_t vl = vn;
		h = hash_bytes(h, (const uint8_t *)&vl, sizeof(vl));
		size_t e = vn < 32 ? vn : 32;
		h = hash_bytes(h, v, e);
		if (vn > 32)
			h = hash_bytes(h, v + vn - e, e);
		h = hash_bytes(h, (const uint8_t *)&lease, sizeof(lease));
	}
	return h;
}

/* Read the next main revision into d (d->has false at the end). */
static kvf_status group_next(dbstream *d, kvf_err *err)
{
	d->has = false;
	d->n = 0;
	d->sig = 0xcbf29ce484222325ull;
	while (d->has_pair) {
		if (d->has && d->prev.main != d->main)
			break;
		kvf_kv kv;
		if (!kvf_kv_parse(d->p.value, &kv)) {
			d->malformed++;
		} else {
			if (!d->has) {
				d->has = true;
				d->main = d->prev.main;
			}
			if (d->n < MAX_SUBS) {
				if (!kvf_grow_array((void **)&d->subs, &d->cap, d->n, sizeof(*d->subs)))
					return nomem(err);
				d->subs[d->n++] = (sub){ kv, d->prev_tomb };
				d->sig = op_sig(d->sig, kv.key.p, kv.key.len, d->prev_tomb, kv.value.p, kv.value.len,
				                kv.lease);
			}
		}
		kvf_status st = pair_next(d, err);
		if (st)
			return st;
	}
	return KVF_OK;
}

static kvf_status db_open(dbstream *d, kvf_backend *be, kvf_err *err)
{
	kvf_status st = kvf_cursor_open(be, KVF_BUCKET_KEY, 3, &d->c, err);
	if (st == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		d->c = NULL;
		d->has = d->has_pair = false;
		return KVF_OK;
	}
	if (st || (st = pair_next(d, err)))
		return st;
	return group_next(d, err);
}

static void db_close(dbstream *d)
{
	kvf_cursor_close(d->c);
	d->c = NULL;
}

/* The member's state after the current group. */
static kvf_status group_apply(kmap *m, const dbstream *d, kvf_err *err)
{
	for (size_t i = 0; i < d->n; i++) {
		const sub *s = &d->subs[i];
		kstate *k = kmap_get(m, s->kv.key.p, s->kv.key.len, false);
		if (!k || !lease_adj(m, k, -1))
			return nomem(err);
		k->live = !s->tomb;
		k->value_known = true;
		k->value = s->kv.value;
		k->create = s->kv.create_revision;
		k->mod = s->kv.mod_revision;
		k->version = s->kv.version;
		k->lease = s->kv.lease;
		if (!lease_adj(m, k, 1))
			return nomem(err);
	}
	return KVF_OK;
}

/* ---- what an entry should write ---- */

typedef struct eop {
	const uint8_t *key;
	size_t klen;
	bool tomb;
	const uint8_t *value;
	size_t vlen;
	bool value_known;
	int64_t lease;
} eop;

typedef struct expect {
	eop *ops;
	size_t n, cap;
	bool unknown;              /* cannot tell what it writes (a value not in the db) */
} expect;

static bool push(expect *e, eop o)
{
	if (e->n >= MAX_SUBS)
		return true;
	if (!kvf_grow_array((void **)&e->ops, &e->cap, e->n, sizeof(*e->ops)))
		return false;
	e->ops[e->n++] = o;
	return true;
}

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static int cmp_kptr(const void *x, const void *y)
{
	const kstate *a = *(kstate *const *)x, *b = *(kstate *const *)y;
	return cmp_bytes(a->key, a->klen, b->key, b->klen);
}

/* Live keys in [key, end) (end "\0": to the end), in key order: etcd
 * deletes them in that order, one sub-revision each. */
static bool expect_delete(expect *e, const kmap *m, ProtobufCBinaryData key, ProtobufCBinaryData end,
                          int64_t lease_only, bool by_lease)
{
	if (!by_lease && !end.len) {
		kstate *s = kmap_find(m, key.data, key.len);
		if (s && s->live)
			return push(e, (eop){ s->key, s->klen, true, NULL, 0, true, 0 });
		return true;
	}
	kstate **hits = NULL;
	size_t n = 0, cap = 0;
	bool open_end = end.len == 1 && end.data[0] == 0;
	for (size_t i = 0; i < m->cap; i++) {
		kstate *s = &m->v[i];
		if (!s->key || !s->live)
			continue;
		if (by_lease) {
			if (s->lease != lease_only)
				continue;
		} else if (cmp_bytes(s->key, s->klen, key.data, key.len) < 0 ||
		           (!open_end && cmp_bytes(s->key, s->klen, end.data, end.len) >= 0)) {
			continue;
		}
		if (!kvf_grow_array((void **)&hits, &cap, n, sizeof(*hits))) {
			free(hits);
			return false;
		}
		hits[n++] = s;
	}
	if (n > 1)
		qsort(hits, n, sizeof(*hits), cmp_kptr);
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++)
		ok = push(e, (eop){ hits[i]->key, hits[i]->klen, true, NULL, 0, true, 0 });
	free(hits);
	return ok;
}

static bool expect_put(expect *e, const kmap *m, const Etcdserverpb__PutRequest *p)
{
	eop o = { p->key.data, p->key.len, false, p->value.data, p->value.len, true, p->lease };
	if (p->ignore_value || p->ignore_lease) {
		kstate *s = kmap_find(m, p->key.data, p->key.len);
		if (!s || !s->live)
			return true;   /* etcd refuses it (ErrKeyNotFound): no revision */
		if (p->ignore_value) {
			o.value = s->value.p;
			o.vlen = s->value.len;
			o.value_known = s->value_known;
			if (!s->value_known)
				e->unknown = true;
		}
		if (p->ignore_lease)
			o.lease = s->lease;
	}
	return push(e, o);
}

/* A compare on the member's state: 1 true, 0 false, -1 cannot tell. */
static int compare(const kmap *m, const Etcdserverpb__Compare *c)
{
	if (c->range_end.len)
		return -1;   /* over a range: not worth the scan */
	kstate *s = kmap_find(m, c->key.data, c->key.len);
	bool live = s && s->live;
	int r;
	if (c->target == ETCDSERVERPB__COMPARE__COMPARE_TARGET__VALUE) {
		if (!live)
			return 0;   /* etcd applyCompare: a value compare on a missing key always fails */
		if (!s->value_known)
			return -1;
		if (c->target_union_case != ETCDSERVERPB__COMPARE__TARGET_UNION_VALUE)
			r = cmp_bytes(s->value.p, s->value.len, (const uint8_t *)"", 0);
		else
			r = cmp_bytes(s->value.p, s->value.len, c->value.data, c->value.len);
	} else {
		int64_t have = 0, want = 0;
		switch (c->target) {
		case ETCDSERVERPB__COMPARE__COMPARE_TARGET__VERSION: have = live ? s->version : 0; want = c->version; break;
		case ETCDSERVERPB__COMPARE__COMPARE_TARGET__CREATE: have = live ? s->create : 0; want = c->create_revision; break;
		case ETCDSERVERPB__COMPARE__COMPARE_TARGET__MOD: have = live ? s->mod : 0; want = c->mod_revision; break;
		case ETCDSERVERPB__COMPARE__COMPARE_TARGET__LEASE: have = live ? s->lease : 0; want = c->lease; break;
		default: return -1;
		}
		/* an absent key compares as zero (mvcc: rev 0, version 0) */
		r = (have > want) - (have < want);
	}
	switch (c->result) {
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__EQUAL: return r == 0;
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__GREATER: return r > 0;
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__LESS: return r < 0;
	case ETCDSERVERPB__COMPARE__COMPARE_RESULT__NOT_EQUAL: return r != 0;
	default: return -1;
	}
}

static bool expect_ops(expect *e, const kmap *m, Etcdserverpb__RequestOp **ops, size_t n, int depth);

/* A txn's writes on this state; *branch: 1 success, 0 failure, -1 the
 * compares cannot be decided (then alt holds the failure branch's). */
static bool expect_txn(expect *e, expect *alt, const kmap *m, const Etcdserverpb__TxnRequest *t, int depth,
                       int *branch)
{
	int ok = 1;
	for (size_t i = 0; i < t->n_compare; i++) {
		int c = compare(m, t->compare[i]);
		if (c == 0) {
			ok = 0;   /* one false compare decides, whatever the others */
			break;
		}
		if (c < 0)
			ok = -1;
	}
	*branch = ok;
	if (ok == 1)
		return expect_ops(e, m, t->success, t->n_success, depth);
	if (ok == 0)
		return expect_ops(e, m, t->failure, t->n_failure, depth);
	if (!expect_ops(e, m, t->success, t->n_success, depth))
		return false;
	return !alt || expect_ops(alt, m, t->failure, t->n_failure, depth);
}

static bool expect_ops(expect *e, const kmap *m, Etcdserverpb__RequestOp **ops, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		const Etcdserverpb__RequestOp *op = ops[i];
		bool ok = true;
		switch (op->request_case) {
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_PUT:
			ok = expect_put(e, m, op->request_put);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_DELETE_RANGE:
			ok = expect_delete(e, m, op->request_delete_range->key, op->request_delete_range->range_end, 0, false);
			break;
		case ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN: {
			int b;
			if (depth > 8) {
				e->unknown = true;
				break;
			}
			ok = expect_txn(e, NULL, m, op->request_txn, depth + 1, &b);
			if (b < 0)
				e->unknown = true;
			break;
		}
		default:
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* The db's group is exactly what e writes (the signatures already agree). */
static bool group_equals(const dbstream *d, const expect *e)
{
	if (d->n != e->n)
		return false;
	for (size_t i = 0; i < e->n; i++) {
		const sub *s = &d->subs[i];
		const eop *o = &e->ops[i];
		if (s->tomb != o->tomb || s->kv.key.len != o->klen || memcmp(s->kv.key.p, o->key, o->klen) != 0)
			return false;
		if (!o->tomb && (s->kv.lease != o->lease || s->kv.value.len != o->vlen ||
		                 (o->vlen && memcmp(s->kv.value.p, o->value, o->vlen) != 0)))
			return false;
	}
	return true;
}

static uint64_t expect_sig(const expect *e)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < e->n; i++)
		h = op_sig(h, e->ops[i].key, e->ops[i].klen, e->ops[i].tomb, e->ops[i].value, e->ops[i].vlen,
		           e->ops[i].lease);
	return h;
}

/* An entry written where the db keeps no revision (below the compaction):
 * assumed applied, its keys' values unknown from here. */
static kvf_status expect_apply_unknown(kmap *m, const expect *e, int64_t rev, kvf_err *err)
{
	for (size_t i = 0; i < e->n; i++) {
		kstate *k = kmap_get(m, e->ops[i].key, e->ops[i].klen, true);
		if (!k || !lease_adj(m, k, -1))
			return nomem(err);
		k->live = !e->ops[i].tomb;
		k->value_known = false;
		k->value = (kvf_span){ 0 };
		k->mod = rev;
		k->lease = e->ops[i].lease;
		if (!lease_adj(m, k, 1))
			return nomem(err);
	}
	return KVF_OK;
}

/* ---- the run ---- */

/* An entry that left no revision, classified at the end (refused or
 * missing needs the number of auth changes after it). */
typedef struct cand {
	uint64_t index;
	uint64_t header_ar;
	uint64_t muts_before;
	kvf_verify_item item;
} cand;

typedef struct lease_rec {
	int64_t id;
	bool revoked;
	uint64_t index;
} lease_rec;

typedef struct run {
	kvf_verify *v;
	kvf_backend *be;           /* for a look one revision past the stream's */
	kmap m;
	dbstream db;
	expect e, alt;
	struct { uint64_t sig, index; int64_t rev; size_t n; kvf_span key, value; bool tomb; } recent[RECENT];
	size_t n_recent;
	cand *cands;
	size_t n_cands, cap_cands;
	lease_rec *leases;
	size_t n_leases, cap_leases;
	uint64_t muts;             /* auth changes up to the current entry (<= CI) */
	bool auth_on;              /* auth enabled at the current entry */
	int64_t compact_at;        /* the newest compaction applied before it */
	/* a log from index 1 whose first write is not at revision 2: looking
	 * for it further in the db (seek), or not found there (seek_failed) */
	bool seek, seek_failed;
	int64_t next_rev;
	size_t pending_from;       /* cands since the last entry found in the db */
} run;

static void item_of(const run *r, const kvf_log_item *it, const expect *e, int64_t rev, kvf_verify_item *out)
{
	memset(out, 0, sizeof(*out));
	out->index = it->entry.index;
	out->term = it->entry.term;
	out->kind = it->req.kind;
	out->header_auth_revision = it->req.auth_revision;
	out->revision = rev;
	out->segment = (uint32_t)it->ev.segment_no;
	out->offset = it->ev.rec.offset;
	if (e && e->n) {
		kvf_buf b = KVF_BUF_INIT;
		kvf_text_bytes(&b, e->ops[0].key, e->ops[0].klen > 80 ? 80 : e->ops[0].klen);
		if (b.p)
			snprintf(out->key, sizeof(out->key), "%s", b.p);
		kvf_buf_free(&b);
	}
	(void)r;
}

static void keep_item(kvf_verify_item *arr, size_t *n, const kvf_verify_item *it)
{
	if (*n < KVF_VERIFY_SHOWN)
		arr[(*n)++] = *it;
}

static void keep_index(kvf_verify *v, uint64_t **arr, size_t *n, size_t *cap, uint64_t index)
{
	if (v->indexes_short)
		return;
	if (!kvf_grow_array((void **)arr, cap, *n, sizeof(**arr))) {
		v->indexes_short = true;
		return;
	}
	(*arr)[(*n)++] = index;
}

/* the group's first write, kept (it points into the mapped db) to confirm
 * a repeat */
static void recent_push(run *r, uint64_t sig, uint64_t index, int64_t rev)
{
	if (r->n_recent == RECENT) {
		memmove(r->recent, r->recent + 1, (RECENT - 1) * sizeof(r->recent[0]));
		r->n_recent--;
	}
	r->recent[r->n_recent].sig = sig;
	r->recent[r->n_recent].index = index;
	r->recent[r->n_recent].rev = rev;
	r->recent[r->n_recent].n = r->db.n;
	r->recent[r->n_recent].key = r->db.n ? r->db.subs[0].kv.key : (kvf_span){ 0 };
	r->recent[r->n_recent].value = r->db.n ? r->db.subs[0].kv.value : (kvf_span){ 0 };
	r->recent[r->n_recent].tomb = r->db.n && r->db.subs[0].tomb;
	r->n_recent++;
}

static kvf_status lease_note(run *r, int64_t id, bool revoked, uint64_t index, kvf_err *err)
{
	for (size_t i = r->n_leases; i-- > 0;)
		if (r->leases[i].id == id) {
			r->leases[i].revoked = revoked;
			r->leases[i].index = index;
			return KVF_OK;
		}
	if (!kvf_grow_array((void **)&r->leases, &r->cap_leases, r->n_leases, sizeof(*r->leases)))
		return nomem(err);
	r->leases[r->n_leases++] = (lease_rec){ id, revoked, index };
	return KVF_OK;
}

/* Consume the current db group as the effect of nothing in the log
 * (before the alignment, or a revision no entry explains). */
static kvf_status consume(run *r, kvf_err *err)
{
	kvf_status st = group_apply(&r->m, &r->db, err);
	if (!st)
		st = group_next(&r->db, err);
	return st;
}

/* The WAL's first plain puts (their effect needs no state): where they are
 * in the db aligns the two streams when the log does not start at 1. */
typedef struct probe {
	uint64_t sig, index;
} probe;

static kvf_status find_alignment(run *r, kvf_backend *be, const kvf_wal_segments *segs, kvf_err *err)
{
	kvf_verify *v = r->v;
	probe pr[3];
	size_t np = 0;
	kvf_raftlog_options o = { .decode_requests = true };
	kvf_raftlog *l;
	kvf_status st = kvf_raftlog_open(&l, segs, &o, err);
	if (st)
		return st;
	kvf_log_item it;
	while (np < 3 && (st = kvf_raftlog_next(l, &it, err)) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		if (it.ev.kind != KVF_WAL_EV_RECORD || it.ev.rec.type != KVF_WAL_ENTRY || !it.payload_ok)
			continue;
		const kvf_request *q = &it.req;
		if (q->cls != KVF_REQ_INTERNAL || !q->irr->put || q->irr->put->ignore_value || q->irr->put->ignore_lease)
			continue;
		const Etcdserverpb__PutRequest *p = q->irr->put;
		pr[np].sig = op_sig(0xcbf29ce484222325ull, p->key.data, p->key.len, false, p->value.data, p->value.len,
		                    p->lease);
		pr[np++].index = it.entry.index;
	}
	kvf_raftlog_close(l);
	if (st)
		return st;
	dbstream d = { 0 };
	if ((st = db_open(&d, be, err)))
		goto out;
	while (d.has && !v->aligned) {
		for (size_t i = 0; i < np && !v->aligned; i++)
			if (d.sig == pr[i].sig) {
				v->aligned = true;
				v->aligned_index = pr[i].index;
				v->aligned_rev = d.main;
			}
		if (!v->aligned && (st = group_next(&d, err)))
			break;
	}
	if (!st && !v->aligned)
		snprintf(v->why_unaligned, sizeof(v->why_unaligned),
		         "none of the WAL's first %zu puts has its revision in the db (compacted, or older than the "
		         "db's history): its entries cannot be paired with revisions", np);
out:
	db_close(&d);
	free(d.subs);
	return st;
}

static void classify(run *r)
{
	kvf_verify *v = r->v;
	uint64_t total = r->muts;
	for (size_t i = 0; i < r->n_cands; i++) {
		const cand *c = &r->cands[i];
		/* the member's authRevision at the entry was at least its final
		 * one less the auth changes applied after it */
		uint64_t after = total - c->muts_before;
		uint64_t lower = v->auth_revision > after ? v->auth_revision - after : 0;
		if (v->auth_enabled && c->header_ar && c->header_ar < lower) {
			v->refused++;
			v->refused_auth_revision++;
			kvf_verify_item x = c->item;
			x.why = "auth_revision";
			keep_item(v->refused_items, &v->n_refused_items, &x);
		} else {
			v->missing++;
			if (!v->first_missing_index || c->index < v->first_missing_index)
				v->first_missing_index = c->index;
			keep_item(v->missing_items, &v->n_missing_items, &c->item);
			keep_index(v, &v->missing_indexes, &v->n_missing_indexes, &v->cap_missing_indexes, c->index);
		}
	}
}

/* A lease revoke's writes: the tombstones of the live keys attached, in
 * key order. Counted per lease; when the db's next revision is exactly
 * those tombstones it is taken as the list (no scan), otherwise (lost, or
 * something else) the keys are looked for. */
static bool expect_revoke(run *r, int64_t id)
{
	int64_t want = lease_live(&r->m, id);
	if (want <= 0)
		return true;
	const dbstream *d = &r->db;
	bool fits = d->has && (int64_t)d->n == want;
	for (size_t i = 0; fits && i < d->n; i++) {
		const kstate *k = kmap_find(&r->m, d->subs[i].kv.key.p, d->subs[i].kv.key.len);
		fits = d->subs[i].tomb && k && k->live && k->lease == id &&
		       (i == 0 || cmp_bytes(d->subs[i - 1].kv.key.p, d->subs[i - 1].kv.key.len, d->subs[i].kv.key.p,
		                            d->subs[i].kv.key.len) < 0);
	}
	if (fits) {
		for (size_t i = 0; i < d->n; i++)
			if (!push(&r->e, (eop){ d->subs[i].kv.key.p, d->subs[i].kv.key.len, true, NULL, 0, true, 0 }))
				return false;
		return true;
	}
	ProtobufCBinaryData none = { 0, NULL };
	return expect_delete(&r->e, &r->m, none, none, id, true);
}

/* The db's group at main revision rev, on a cursor of its own: a look one
 * revision past the stream's current group. */
static kvf_status peek_group(kvf_backend *be, int64_t rev, dbstream *out, kvf_err *err)
{
	kvf_status st = kvf_cursor_open(be, KVF_BUCKET_KEY, 3, &out->c, err);
	if (st == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		out->c = NULL;
		return KVF_OK;
	}
	if (st)
		return st;
	uint8_t rk[17];
	kvf_revkey_make((kvf_revision){ rev, 0 }, rk);
	if ((st = kvf_cursor_seek(out->c, rk, sizeof(rk), err)))
		return st;
	if ((st = pair_next(out, err)))
		return st;
	return group_next(out, err);
}

static bool group_is(const dbstream *d, const expect *e, int branch, const expect *alt)
{
	return d->has && ((e->n && d->sig == expect_sig(e) && group_equals(d, e)) ||
	                  (branch < 0 && alt->n && d->sig == expect_sig(alt) && group_equals(d, alt)));
}

/* A range of these ops reading at an explicit revision below `compact`
 * (nested txns: either branch): etcd's checkRange fails the txn with
 * ErrCompacted before it writes anything. */
static bool ops_read_compacted(Etcdserverpb__RequestOp **ops, size_t n, int64_t compact, int depth)
{
	for (size_t i = 0; i < n; i++) {
		const Etcdserverpb__RequestOp *op = ops[i];
		if (op->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE && op->request_range &&
		    op->request_range->revision > 0 && op->request_range->revision < compact)
			return true;
		if (op->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN && op->request_txn && depth < 8) {
			const Etcdserverpb__TxnRequest *t = op->request_txn;
			if (ops_read_compacted(t->success, t->n_success, compact, depth + 1) ||
			    ops_read_compacted(t->failure, t->n_failure, compact, depth + 1))
				return true;
		}
	}
	return false;
}

/* What the entry writes on the member's current state, into r->e (and
 * r->alt when the txn's compares cannot be decided: *branch -1). *writer:
 * a kind that writes keys at all. */
static bool expect_entry(run *r, const Etcdserverpb__InternalRaftRequest *irr, int *branch, bool *writer)
{
	r->e.n = r->alt.n = 0;
	r->e.unknown = r->alt.unknown = false;
	*branch = 1;
	*writer = true;
	if (irr->put)
		return expect_put(&r->e, &r->m, irr->put);
	if (irr->delete_range)
		return expect_delete(&r->e, &r->m, irr->delete_range->key, irr->delete_range->range_end, 0, false);
	if (irr->txn)
		return expect_txn(&r->e, &r->alt, &r->m, irr->txn, 0, branch);
	if (irr->lease_revoke)
		return expect_revoke(r, irr->lease_revoke->id);
	*writer = false;
	return true;
}

/* Why etcd refuses this entry on this member's state, or NULL: the
 * refusals that leave no revision on a healthy member. */
static const char *refusal(const run *r, const kvf_request *q, int branch)
{
	const Etcdserverpb__InternalRaftRequest *irr = q->irr;
	if (irr->txn && r->compact_at) {
		const Etcdserverpb__TxnRequest *t = irr->txn;
		if ((branch != 0 && ops_read_compacted(t->success, t->n_success, r->compact_at, 0)) ||
		    (branch != 1 && ops_read_compacted(t->failure, t->n_failure, r->compact_at, 0)))
			return "compacted_range";
	}
	/* auth's LeaseRevoke checks a put permission on every key attached
	 * (apply_auth.go checkLeasePuts): with no user, ErrUserEmpty */
	if (irr->lease_revoke && r->auth_on && (!q->has_header || !q->username.len))
		return "no_user";
	return NULL;
}

static kvf_status on_entry(run *r, const kvf_log_item *it, kvf_err *err)
{
	kvf_verify *v = r->v;
	const kvf_request *q = &it->req;
	uint64_t index = it->entry.index;
	bool below = !v->has_consistent_index || index <= v->consistent_index;
	if (below) {
		v->entries++;
		if (!v->checked_from)
			v->checked_from = index;
		v->checked_to = index;
	} else {
		v->above_ci_entries++;
	}
	if (q->cls != KVF_REQ_INTERNAL)
		return KVF_OK;
	if (q->kind && !strcmp(q->kind, "auth_enable"))
		r->auth_on = true;
	else if (q->kind && !strcmp(q->kind, "auth_disable"))
		r->auth_on = false;
	if (q->irr->compaction && q->irr->compaction->revision > r->compact_at)
		r->compact_at = q->irr->compaction->revision;
	if (r->seek_failed)
		return KVF_OK;
	if (kvf_request_kind_bumps_auth_revision(q->kind)) {
		if (below) {
			r->muts++;
			v->auth_changes++;
		}
		return KVF_OK;
	}
	int branch = 1;
	bool writer = false;
	const Etcdserverpb__InternalRaftRequest *irr = q->irr;
	if (!expect_entry(r, irr, &branch, &writer))
		return nomem(err);
	if ((irr->lease_grant || irr->lease_revoke) && below &&
	    lease_note(r, irr->lease_grant ? irr->lease_grant->id : irr->lease_revoke->id, !irr->lease_grant, index, err))
		return KVF_E_NOMEM;
	if (!writer)
		return KVF_OK;
	if (below)
		v->writes++;
	/* revisions this log already went past (a write below the compaction
	 * assumed applied, that the db still has as a key's newest) */
	kvf_status st0 = KVF_OK;
	while (!st0 && r->db.has && r->db.main < r->next_rev)
		st0 = consume(r, err);
	if (st0)
		return st0;
	/* a restored db: its revisions before this log's first write are the
	 * state the log starts from (each consumed group is applied to it, and
	 * the entry's writes computed again on the state so far) */
	while (r->seek && (r->e.n || (branch < 0 && r->alt.n))) {
		if (group_is(&r->db, &r->e, branch, &r->alt)) {
			r->seek = false;
			v->restored = true;
			v->restored_rev = r->db.main;
			r->next_rev = r->db.main;
			break;
		}
		if (!r->db.has) {
			r->seek = false;
			r->seek_failed = true;
			v->aligned = false;
			snprintf(v->why_unaligned, sizeof(v->why_unaligned),
			         "the db's revisions are not this log's writes: its first write (entry %" PRIu64 ", %s) is "
			         "nowhere in the db (a db from another member or cluster, or restored from a snapshot taken "
			         "after it)", index, q->kind ? q->kind : "?");
			return KVF_OK;
		}
		if ((st0 = consume(r, err)))
			return st0;
		if (!expect_entry(r, irr, &branch, &writer))
			return nomem(err);
	}
match:;
	uint64_t sig = expect_sig(&r->e), alt_sig = branch < 0 ? expect_sig(&r->alt) : 0;
	bool writes_nothing = !r->e.n && (branch >= 0 || !r->alt.n);
	kvf_status st;
	for (;;) {
		bool match = r->db.has && r->e.n && r->db.sig == sig && group_equals(&r->db, &r->e);
		bool match_alt = r->db.has && branch < 0 && r->alt.n && r->db.sig == alt_sig &&
		                 group_equals(&r->db, &r->alt);
		/* at or below the compaction the db keeps only each key's newest
		 * revision: an earlier write of the same key and value must not be
		 * taken for it, so there the revision must be the one counted */
		if ((match || match_alt) && r->next_rev <= v->compact_rev && r->db.main != r->next_rev)
			match = match_alt = false;
		if (match || match_alt) {
			/* Above the compaction etcd's revisions have no gaps: a write
			 * found past the revision counted means the count was off (a
			 * write assumed below the compaction), not that the entries in
			 * between were lost. Those are not checkable. Entries that were
			 * lost leave their revision to the next write (a shift down),
			 * so the next write is found exactly where counted. */
			if (r->db.main > r->next_rev && r->n_cands > r->pending_from) {
				v->compacted += r->n_cands - r->pending_from;
				r->n_cands = r->pending_from;
			}
			if (below) {
				v->applied++;
			} else {
				v->above_ci_effects++;
				kvf_verify_item x;
				item_of(r, it, match ? &r->e : &r->alt, r->db.main, &x);
				keep_item(v->above_items, &v->n_above_items, &x);
			}
			recent_push(r, r->db.sig, index, r->db.main);
			r->next_rev = r->db.main + 1;
			r->pending_from = r->n_cands;
			return consume(r, err);
		}
		/* a revision holding only the first sub-revisions of what the
		 * entry writes: a txn that failed midway and was committed with
		 * the consistent_index bump (etcd 18679). Only where revisions are
		 * contiguous and this one is the entry's. */
		if (below && r->db.has && r->db.main == r->next_rev && r->db.main > v->compact_rev && r->db.n &&
		    r->db.n < r->e.n && !r->e.unknown) {
			size_t full = r->e.n;
			r->e.n = r->db.n;
			bool prefix = group_equals(&r->db, &r->e);
			r->e.n = full;
			if (prefix) {
				v->partial_txns++;
				if (!v->first_partial_index)
					v->first_partial_index = index;
				kvf_verify_item x;
				item_of(r, it, &r->e, r->db.main, &x);
				keep_item(v->partial_items, &v->n_partial_items, &x);
				r->next_rev = r->db.main + 1;
				r->pending_from = r->n_cands;
				return consume(r, err);
			}
		}
		/* a revision repeating an entry applied just before */
		bool again = false;
		/* (where revisions are contiguous: above the compaction, at the
		 * revision counted) */
		bool strict = r->db.has && r->db.main == r->next_rev && r->db.main > v->compact_rev;
		for (size_t k = 0; strict && k < r->n_recent && !again; k++)
			if (r->recent[k].sig == r->db.sig && r->recent[k].rev < r->db.main && r->recent[k].n == r->db.n &&
			    r->db.n && r->recent[k].tomb == r->db.subs[0].tomb &&
			    r->recent[k].key.len == r->db.subs[0].kv.key.len &&
			    memcmp(r->recent[k].key.p, r->db.subs[0].kv.key.p, r->recent[k].key.len) == 0 &&
			    r->recent[k].value.len == r->db.subs[0].kv.value.len &&
			    (!r->recent[k].value.len ||
			     memcmp(r->recent[k].value.p, r->db.subs[0].kv.value.p, r->recent[k].value.len) == 0)) {
				again = true;
				v->applied_twice++;
				if (!v->first_twice_index || r->recent[k].index < v->first_twice_index)
					v->first_twice_index = r->recent[k].index;
				kvf_verify_item x;
				memset(&x, 0, sizeof(x));
				x.index = r->recent[k].index;
				x.kind = "again";
				x.revision = r->db.main;
				if (r->db.n) {
					kvf_buf b = KVF_BUF_INIT;
					kvf_text_bytes(&b, r->db.subs[0].kv.key.p, r->db.subs[0].kv.key.len > 80 ? 80
					               : r->db.subs[0].kv.key.len);
					if (b.p)
						snprintf(x.key, sizeof(x.key), "%s", b.p);
					kvf_buf_free(&b);
				}
				x.first_revision = r->recent[k].rev;
				keep_item(v->twice_items, &v->n_twice_items, &x);
				keep_index(v, &v->twice_indexes, &v->n_twice_indexes, &v->cap_twice_indexes, x.index);
			}
		if (!again)
			break;
		r->next_rev = r->db.main + 1;
		r->pending_from = r->n_cands;
		if ((st = consume(r, err)))
			return st;
	}
	/* The writer before this one left no revision where counted, and
	 * this one is not there either: when this one's writes are at the
	 * next revision, the revision between holds other writes than the one
	 * before's (a value changed, another branch taken), rather than both
	 * being lost; taking it so keeps one change from making every later
	 * write look missing. */
	if (below && !writes_nothing && r->n_cands > r->pending_from && r->db.has && r->db.main == r->next_rev &&
	    r->db.main > v->compact_rev && !r->e.unknown) {
		dbstream pk = { 0 };
		kvf_status ps = peek_group(r->be, r->db.main + 1, &pk, err);
		bool next_is_ours = !ps && pk.has && pk.main == r->db.main + 1 && group_is(&pk, &r->e, branch, &r->alt);
		db_close(&pk);
		free(pk.subs);
		if (ps)
			return ps;
		if (next_is_ours) {
			cand *c = &r->cands[--r->n_cands];
			v->altered++;
			if (!v->first_altered_index || c->index < v->first_altered_index)
				v->first_altered_index = c->index;
			kvf_verify_item x = c->item;
			x.revision = r->db.main;
			keep_item(v->altered_items, &v->n_altered_items, &x);
			r->next_rev = r->db.main + 1;
			r->pending_from = r->n_cands;
			if ((st = consume(r, err)))
				return st;
			/* this entry's writes again, on the state the db now shows */
			if (!expect_entry(r, irr, &branch, &writer))
				return nomem(err);
			goto match;
		}
	}
	if (writes_nothing) {
		if (below)
			v->no_op++;
		return KVF_OK;
	}
	/* below the compaction the db keeps no revision for it */
	if (r->next_rev <= v->compact_rev || r->e.unknown) {
		if (below)
			v->compacted++;
		if ((st = expect_apply_unknown(&r->m, &r->e, r->next_rev, err)))
			return st;
		r->next_rev++;
		return KVF_OK;
	}
	if (!below)
		return KVF_OK;
	/* no revision, and etcd refuses it here: not a lost write (the lease
	 * stays, its keys too) */
	const char *why = refusal(r, q, branch);
	if (why) {
		kvf_verify_item x;
		item_of(r, it, &r->e, r->next_rev, &x);
		x.why = why;
		v->refused++;
		if (!strcmp(why, "compacted_range")) {
			v->refused_compacted_range++;
			if (!v->first_compacted_range_index)
				v->first_compacted_range_index = index;
		} else {
			v->refused_no_user++;
		}
		keep_item(v->refused_items, &v->n_refused_items, &x);
		/* a refused revoke leaves the lease in bucket lease */
		if (irr->lease_revoke && lease_note(r, irr->lease_revoke->id, false, index, err))
			return KVF_E_NOMEM;
		return KVF_OK;
	}
	if (!kvf_grow_array((void **)&r->cands, &r->cap_cands, r->n_cands, sizeof(*r->cands)))
		return nomem(err);
	cand *c = &r->cands[r->n_cands++];
	c->index = index;
	c->header_ar = q->has_header ? q->auth_revision : 0;
	c->muts_before = r->muts;
	item_of(r, it, &r->e, r->next_rev, &c->item);
	return KVF_OK;
}

static kvf_status check_leases(run *r, kvf_backend *be, kvf_err *err)
{
	kvf_verify *v = r->v;
	for (size_t i = 0; i < r->n_leases; i++) {
		uint8_t k[8];
		uint64_t id = (uint64_t)r->leases[i].id;
		for (int b = 0; b < 8; b++)
			k[b] = (uint8_t)(id >> (56 - 8 * b));
		kvf_span val;
		kvf_status st = kvf_backend_get(be, "lease", 5, k, 8, &val, err);
		bool present = st == KVF_OK;
		if (st == KVF_E_NOTFOUND)
			kvf_err_clear(err);
		else if (st)
			return st;
		v->leases_checked++;
		bool wrong = r->leases[i].revoked == present;
		if (r->leases[i].revoked && present)
			v->leases_unrevoked++;
		else if (!r->leases[i].revoked && !present)
			v->leases_missing++;
		if (wrong && v->n_lease_items < KVF_VERIFY_SHOWN)
			v->lease_items[v->n_lease_items++] = (struct kvf_verify_lease){ r->leases[i].id, r->leases[i].revoked,
			                                                                r->leases[i].index };
	}
	return KVF_OK;
}

static kvf_status read_snaps(kvf_verify *v, const char *snap_dir, kvf_err *err)
{
	char **paths = NULL;
	size_t n = 0;
	kvf_status st = kvf_snap_list(snap_dir, &paths, &n, err);
	if (st) {
		kvf_err_clear(err);
		return KVF_OK;   /* no snap directory: nothing to compare */
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = strrchr(paths[i], '/');
		name = name ? name + 1 : paths[i];
		uint64_t term, index;
		if (kvf_snap_parse_name(name, &term, &index) && index >= v->snap_index) {
			v->snap_index = index;
			v->snap_term = term;
			snprintf(v->snap_path, sizeof(v->snap_path), "%s", paths[i]);
		}
	}
	kvf_snap_list_free(paths, n);
	return KVF_OK;
}

static kvf_status walk(run *r, kvf_backend *be, const kvf_wal_segments *segs, kvf_verify_progress_fn progress,
                       void *pctx, kvf_err *err)
{
	kvf_verify *v = r->v;
	kvf_status st = db_open(&r->db, be, err);
	if (st)
		return st;
	/* the db's history before the first entry checked */
	int64_t start_rev = v->from_start ? 1 : v->aligned_rev;
	while (!st && r->db.has && r->db.main < start_rev)
		st = consume(r, err);
	r->next_rev = v->from_start ? 2 : v->aligned_rev;
	/* auth starts off in a log from index 1; elsewhere the db's final
	 * state is the best guess until the log enables or disables it */
	r->auth_on = v->from_start ? false : v->auth_enabled;
	if (st)
		return st;
	kvf_raftlog_options o = { .decode_requests = true, .prepass = true };
	kvf_raftlog *l;
	if ((st = kvf_raftlog_open(&l, segs, &o, err)))
		return st;
	kvf_log_item it;
	uint64_t n = 0;
	while ((st = kvf_raftlog_next(l, &it, err)) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		if (it.ev.kind != KVF_WAL_EV_RECORD || it.ev.rec.type != KVF_WAL_ENTRY || !it.payload_ok)
			continue;
		if (it.overwritten || it.uncommitted || it.ev.rec.crc_state == KVF_CRC_MISMATCH)
			continue;
		if (!v->from_start && it.entry.index < v->aligned_index)
			continue;
		if (progress && (++n & 0xffff) == 0)
			progress(pctx, "checking the WAL against the db", n);
		if ((st = on_entry(r, &it, err)))
			break;
	}
	kvf_raftlog_close(l);
	/* revisions past the last entry: written by nothing in this log */
	while (!st && r->db.has) {
		if (r->db.main >= r->next_rev)
			v->unexplained_revisions++;
		st = consume(r, err);
	}
	return st;
}

static kvf_status wal_facts(kvf_verify *v, const kvf_wal_segments *segs, kvf_err *err)
{
	kvf_raftlog_options o = { .decode_requests = false };
	kvf_raftlog *l;
	kvf_status st = kvf_raftlog_open(&l, segs, &o, err);
	if (st)
		return st;
	kvf_log_item it;
	bool first = true;
	while ((st = kvf_raftlog_next(l, &it, err)) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		if (it.ev.kind != KVF_WAL_EV_RECORD || !it.payload_ok)
			continue;
		if (it.ev.rec.type == KVF_WAL_ENTRY && first) {
			v->wal_first_index = it.entry.index;
			first = false;
		}
		if (it.ev.rec.type == KVF_WAL_SNAPSHOT && it.snap.index > v->wal_snapshot_index)
			v->wal_snapshot_index = it.snap.index;
	}
	if (!st) {
		const kvf_log_summary *s = kvf_raftlog_summary(l);
		v->wal_last_index = s->last_index;
		if (s->have_hardstate)
			v->hardstate_commit = s->hardstate.commit;
		v->have_wal = s->have_entries;
		v->from_start = s->have_entries && v->wal_first_index <= 1;
	}
	kvf_raftlog_close(l);
	return st;
}

static void conclude(kvf_verify *v);

/* One pass; seek: the log is from index 1 but its writes are not where a
 * fresh db would have them (see kvf_verify_run). */
static kvf_status verify_once(kvf_verify *v, kvf_backend *be, const char *label, const char *db_path,
                              const char *wal_dir, const char *snap_dir, const kvf_verify_wal_facts *facts,
                              kvf_verify_progress_fn progress, void *pctx, bool seek, kvf_err *err)
{
	memset(v, 0, sizeof(*v));
	v->label = label;
	v->db_path = db_path;
	kvf_etcd_state es;
	kvf_status st = kvf_etcd_read_state(be, &es, err);
	if (st)
		return st;
	v->has_consistent_index = es.has_consistent_index;
	v->consistent_index = es.consistent_index;
	v->term = es.term;
	v->auth_revision = es.auth_revision;
	v->auth_enabled = es.auth_enabled;
	v->compact_rev = es.has_finished_compact ? es.finished_compact : 0;
	kvf_db_schema schema;
	kvf_db_schema_detect(&es, &schema);
	v->written_by_37 = schema.version >= KVF_ETCD_VERSION(3, 7, 0);
	kvf_span civ;
	v->ci_offset = kvf_backend_get(be, "meta", 4, "consistent_index", 16, &civ, err) ? KVF_NO_OFFSET
	               : civ.file_offset;
	kvf_err_clear(err);
	if (snap_dir && (st = read_snaps(v, snap_dir, err)))
		return st;
	v->stale_db = v->snap_index && v->has_consistent_index && v->snap_index > v->consistent_index;
	if (v->stale_db)
		kvf_refusal_find(&v->refusal, snap_dir, v->snap_index);
	run r = { .v = v, .be = be, .seek = seek };
	kvf_arena_init(&r.m.copies);
	kvf_wal_segments segs = { 0 };
	if (wal_dir) {
		if ((st = kvf_wal_segments_add(&segs, wal_dir, err)))
			goto out;
		kvf_wal_segments_order(&segs);
		if ((v->wal_files = calloc(segs.n ? segs.n : 1, sizeof(char *)))) {
			for (size_t i = 0; i < segs.n; i++)
				v->wal_files[i] = strdup(segs.v[i].path);
			v->n_wal_files = segs.n;
		}
		if (progress)
			progress(pctx, "reading the WAL", 0);
		if (facts) {
			v->have_wal = facts->have_entries;
			v->wal_first_index = facts->first_index;
			v->wal_last_index = facts->last_index;
			v->hardstate_commit = facts->hardstate_commit;
			v->wal_snapshot_index = facts->snapshot_index;
			v->from_start = facts->have_entries && facts->first_index <= 1;
		} else if ((st = wal_facts(v, &segs, err))) {
			goto out;
		}
		if (v->have_wal && !v->from_start && (st = find_alignment(&r, be, &segs, err)))
			goto out;
		if (v->have_wal && v->from_start)
			v->aligned = true;
		if (v->aligned) {
			if ((st = walk(&r, be, &segs, progress, pctx, err)))
				goto out;
			const kvf_db_finding *f;
			v->n_damage = kvf_backend_findings(be, &f);
			for (size_t i = 0; i < v->n_damage && i < sizeof(v->damage) / sizeof(v->damage[0]); i++)
				v->damage[i] = f[i];
			if (v->aligned) {
				classify(&r);
				if ((st = check_leases(&r, be, err)))
					goto out;
			}
		}
	}
out:
	kvf_wal_segments_free(&segs);
	db_close(&r.db);
	free(r.db.subs);
	free(r.e.ops);
	free(r.alt.ops);
	free(r.cands);
	free(r.leases);
	free(r.m.v);
	free(r.m.l);
	kvf_arena_free(&r.m.copies);
	return st;
}

kvf_status kvf_verify_run(kvf_verify *v, kvf_backend *be, const char *label, const char *db_path,
                          const char *wal_dir, const char *snap_dir, const kvf_verify_wal_facts *facts,
                          kvf_verify_progress_fn progress, void *pctx, kvf_err *err)
{
	kvf_status st = verify_once(v, be, label, db_path, wal_dir, snap_dir, facts, progress, pctx, false, err);
	/* A log from index 1 of which no write is in the db where counted,
	 * while the db holds revisions nothing explains: the db did not start
	 * empty with this log (etcdctl snapshot restore writes the snapshot's
	 * history, then the new cluster's log starts at 1). Pair them again
	 * from where the log's first write is found; lost writes would still
	 * show, as entries missing after that point. */
	if (!st && v->from_start && v->aligned && !v->applied && v->missing && v->unexplained_revisions) {
		kvf_verify_free(v);
		st = verify_once(v, be, label, db_path, wal_dir, snap_dir, facts, progress, pctx, true, err);
	}
	if (!st)
		conclude(v);
	return st;
}

bool kvf_verify_failed(const kvf_verify *v)
{
	return kvf_verdicts_divergent(&v->verdicts);
}

void kvf_verify_free(kvf_verify *v)
{
	kvf_verdicts_free(&v->verdicts);
	for (size_t i = 0; i < v->n_wal_files; i++)
		free(v->wal_files[i]);
	free(v->wal_files);
	free(v->missing_indexes);
	free(v->twice_indexes);
	memset(v, 0, sizeof(*v));
}

/* ---- verdicts ---- */

static const char *item_file(const kvf_verify *v, const kvf_verify_item *x)
{
	return x->segment < v->n_wal_files ? v->wal_files[x->segment] : NULL;
}


static const char *const VERSIONS_LOST =
	"etcd 3.5.0-3.5.2 killed between a backend commit and the apply it preceded (issue 13766, fixed in 3.5.3 by "
	"PR 13908); a txn with a range at a revision below the compaction, every release up to 3.5.33 and 3.6.14 "
	"(18667, fixed in 3.7.0); auth refusals that only this member made (11651, 3.4.0-3.4.7)";
static const char *const VERSIONS_TWICE =
	"etcd 3.5.0-3.5.5 killed during an online defrag (issue 14733, fixed in 3.5.6); 3.5.0-3.5.2 after a leader "
	"snapshot (13933, fixed in 3.5.3)";
static const char *const VERSIONS_STALE =
	"etcd 3.4 before 3.4.38, 3.5 before 3.5.23, 3.6 before 3.6.5: a defrag racing the apply of a leader snapshot "
	"(issue 20271); 3.5.0-3.5.2 (13933)";

static void conclude(kvf_verify *v)
{
	kvf_verdicts *vs = &v->verdicts;
	if (v->stale_db) {
		char says[400];
		kvf_refusal_quote(says, sizeof(says), &v->refusal, v->db_path ? v->db_path : "member/snap/db", v->snap_index);
		/* a leftover .snap.db at or past the snapshot: etcd starts on it */
		bool opens = v->refusal.kind == KVF_REFUSAL_SNAP_DB_OPENS;
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_STALE_DB, !opens, 0,
		                                 "%s's db is older than its newest raft snapshot: consistent_index %" PRIu64
		                                 " < snapshot index %" PRIu64 "; %s", v->label, v->consistent_index,
		                                 v->snap_index, says);
		if (x) {
			x->versions = VERSIONS_STALE;
			x->first_divergent_index = v->consistent_index + 1;
			kvf_verdict_evidence(x, 0, v->db_path, v->ci_offset, 0, "meta consistent_index = %" PRIu64,
			                     v->consistent_index);
			kvf_verdict_evidence(x, 0, v->snap_path, 0, v->snap_index, "newest .snap: term %" PRIu64 ", index %"
			                     PRIu64, v->snap_term, v->snap_index);
			if (opens)
				snprintf(x->recovery, sizeof(x->recovery), "Nothing to repair: when %s starts, etcd replaces this "
				         "db with member/snap/%s and goes on from there. Keep a copy of the data directory first.",
				         v->label, v->refusal.snap_db);
			else
			snprintf(x->recovery, sizeof(x->recovery), "Do not start %s on this db. Replace the member: remove it "
			         "(etcdctl member remove ID), wipe its data directory, add it back and let it copy a snapshot "
			         "from the leader; a leftover member/snap/*.snap.db of index %" PRIu64 " or later, if there is "
			         "one, is the db etcd had received.", v->label, v->snap_index);
		}
	}
	if (v->missing) {
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_LOST_WRITES, true, 0,
		                                 "%s lost writes: %" PRIu64 " entries at or below its consistent_index %" PRIu64
		                                 " left no revision in its db, the first at WAL index %" PRIu64, v->label,
		                                 v->missing, v->consistent_index, v->first_missing_index);
		if (x) {
			x->versions = VERSIONS_LOST;
			x->first_divergent_index = v->first_missing_index;
			kvf_verdict_evidence(x, 0, v->db_path, v->ci_offset, v->consistent_index,
			                     "meta consistent_index = %" PRIu64 ": every entry up to it counts as applied",
			                     v->consistent_index);
			for (size_t i = 0; i < v->n_missing_items; i++) {
				const kvf_verify_item *m = &v->missing_items[i];
				kvf_verdict_evidence(x, 0, item_file(v, m), m->offset, m->index,
				                     "entry %" PRIu64 " (term %" PRIu64 ", %s %s) has no revision in the db: "
				                     "it would be revision %" PRId64, m->index, m->term, m->kind, m->key, m->revision);
			}
			snprintf(x->recovery, sizeof(x->recovery), "%s's db lacks writes its consistent_index says it applied: "
			         "etcd will never replay them. Do not recover the cluster from it. Replace it from a member "
			         "whose db is complete (dump-db verify clean, or diff-db naming it complete): remove it "
			         "(etcdctl member remove ID), wipe its data directory, add it back and start it with "
			         "--initial-cluster-state existing; upgrade to a fixed release first.", v->label);
		}
	}
	/* leases: a grant below consistent_index missing from bucket lease, or
	 * a revoke whose lease is still there, are writes lost as well */
	if (v->leases_missing || v->leases_unrevoked) {
		kvf_verdict *x = NULL;
		for (size_t k = 0; k < vs->n && !x; k++)
			if (vs->v[k].kind == KVF_VERDICT_LOST_WRITES)
				x = &vs->v[k];
		uint64_t first = 0;
		for (size_t i = 0; i < v->n_lease_items; i++)
			if (!first || v->lease_items[i].index < first)
				first = v->lease_items[i].index;
		if (!x && (x = kvf_verdict_add(vs, KVF_VERDICT_LOST_WRITES, true, 0,
		                               "%s lost lease writes: bucket lease disagrees with its WAL up to "
		                               "consistent_index %" PRIu64 " (%" PRIu64 " granted leases missing, %" PRIu64
		                               " revoked leases still there)", v->label, v->consistent_index,
		                               v->leases_missing, v->leases_unrevoked))) {
			x->versions = VERSIONS_LOST;
			x->first_divergent_index = first;
			snprintf(x->recovery, sizeof(x->recovery), "%s's bucket lease lacks what its consistent_index says it "
			         "applied: replace it from a member whose db is complete (etcdctl member remove ID, wipe its "
			         "data directory, add it back).", v->label);
		}
		if (x) {
			if (first && (!x->first_divergent_index || first < x->first_divergent_index))
				x->first_divergent_index = first;
			for (size_t i = 0; i < v->n_lease_items; i++) {
				const struct kvf_verify_lease *l = &v->lease_items[i];
				kvf_verdict_evidence(x, 0, v->db_path, KVF_NO_OFFSET, l->index, l->revoked
				                     ? "lease %016" PRIx64 " revoked at entry %" PRIu64 " is still in bucket lease"
				                     : "lease %016" PRIx64 " granted at entry %" PRIu64 " is not in bucket lease",
				                     (uint64_t)l->id, l->index);
			}
		}
	}
	if (v->altered) {
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_UNEXPLAINED, true, 0,
		                                 "%s's db holds other writes than its WAL's at %" PRIu64 " revision%s, the first "
		                                 "for WAL index %" PRIu64 " (a value changed, or another txn branch taken): no "
		                                 "known etcd bug writes this", v->label, v->altered, v->altered == 1 ? "" : "s",
		                                 v->first_altered_index);
		if (x) {
			x->first_divergent_index = v->first_altered_index;
			for (size_t i = 0; i < v->n_altered_items; i++) {
				const kvf_verify_item *m = &v->altered_items[i];
				kvf_verdict_evidence(x, 0, item_file(v, m), m->offset, m->index,
				                     "entry %" PRIu64 " (term %" PRIu64 ", %s %s): revision %" PRId64 " of the db holds "
				                     "other writes, and the next entry's writes follow it", m->index, m->term, m->kind,
				                     m->key, m->revision);
			}
			snprintf(x->recovery, sizeof(x->recovery), "Keep %s's data directory as evidence (something other than "
			         "etcd's apply wrote these revisions, or the db was edited); replace it from a member whose db "
			         "is complete.", v->label);
		}
	}
	if (v->applied_twice) {
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_APPLIED_TWICE, true, 0,
		                                 "%s applied entries twice: %" PRIu64 " revisions repeat the effect of an entry "
		                                 "applied just before, the first of entry %" PRIu64 " (its revisions shift up)",
		                                 v->label, v->applied_twice, v->first_twice_index);
		if (x) {
			x->versions = VERSIONS_TWICE;
			x->first_divergent_index = v->first_twice_index;
			for (size_t i = 0; i < v->n_twice_items; i++) {
				const kvf_verify_item *m = &v->twice_items[i];
				kvf_verdict_evidence(x, 0, v->db_path, KVF_NO_OFFSET, m->index,
				                     "revision %" PRId64 " repeats entry %" PRIu64 " (%s, first at revision %" PRId64 ")",
				                     m->revision, m->index, m->key, m->first_revision);
			}
			snprintf(x->recovery, sizeof(x->recovery), "%s's revisions run ahead of its peers' for the same writes. "
			         "Replace it from a member whose db is complete (remove it, wipe its data directory, add it "
			         "back); upgrade to 3.5.6 or later first.", v->label);
		}
	}
	/* Writes in the db of entries its consistent_index does not cover: etcd
	 * replays every entry above consistent_index when it starts, so it
	 * will apply these a second time (the state 14733's killed defrag and
	 * 13933 leave before the restart that shows them as doubled
	 * revisions). Since 3.5.6 and in 3.4 the index is committed in the
	 * same backend transaction as the writes, so no clean member has any. */
	if (v->above_ci_effects && !v->applied_twice) {
		const kvf_verify_item *f = v->n_above_items ? &v->above_items[0] : NULL;
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_APPLIED_TWICE, true, 0,
		                                 "%s will apply entries twice when it starts: %" PRIu64 " entries past its "
		                                 "consistent_index %" PRIu64 " already have their writes in its db%s",
		                                 v->label, v->above_ci_effects, v->consistent_index,
		                                 f ? "" : " (none kept to show)");
		if (x) {
			x->versions = VERSIONS_TWICE;
			x->first_divergent_index = f ? f->index : v->consistent_index + 1;
			kvf_verdict_evidence(x, 0, v->db_path, v->ci_offset, v->consistent_index,
			                     "meta consistent_index = %" PRIu64 ": etcd replays every entry above it at start",
			                     v->consistent_index);
			for (size_t i = 0; i < v->n_above_items; i++) {
				const kvf_verify_item *m = &v->above_items[i];
				kvf_verdict_evidence(x, 0, item_file(v, m), m->offset, m->index,
				                     "entry %" PRIu64 " (term %" PRIu64 ", %s %s) is past consistent_index, and "
				                     "its write is revision %" PRId64 " of the db", m->index, m->term, m->kind,
				                     m->key, m->revision);
			}
			snprintf(x->recovery, sizeof(x->recovery), "Do not start %s on this db: its revisions would run "
			         "ahead of its peers' for the same writes. Keep a copy of the data directory as evidence, then "
			         "replace the member (etcdctl member remove ID, wipe its data directory, add it back); upgrade "
			         "to 3.5.6 or later first.", v->label);
		}
	}
	if (v->partial_txns) {
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_PARTIAL_TXN, true, 0,
		                                 "%s holds part of %" PRIu64 " txn%s: a main revision with only its first "
		                                 "sub-revisions, the first at WAL index %" PRIu64, v->label, v->partial_txns,
		                                 v->partial_txns == 1 ? "" : "s", v->first_partial_index);
		if (x) {
			x->versions = "etcd up to 3.5.16: a write txn failing midway committed with its consistent_index bump "
			              "(issue 18679, fixed in 3.5.17 by PR 18799 and in 3.6.0)";
			x->first_divergent_index = v->first_partial_index;
			for (size_t i = 0; i < v->n_partial_items; i++) {
				const kvf_verify_item *m = &v->partial_items[i];
				kvf_verdict_evidence(x, 0, item_file(v, m), m->offset, m->index, "entry %" PRIu64 " (%s %s): "
				                     "revision %" PRId64 " holds only its first writes", m->index, m->kind, m->key,
				                     m->revision);
			}
			snprintf(x->recovery, sizeof(x->recovery), "%s applied part of a transaction that its peers applied "
			         "whole (or not at all): replace it from a member whose db is complete; upgrade to 3.5.17 or "
			         "later first.", v->label);
		}
	}
	if (v->n_damage) {
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_PAGE_DAMAGE, true, 0,
		                                 "%s's db has damaged pages (%zu findings): the revisions on them could not "
		                                 "be read, so its WAL check is incomplete; %" PRIu64 " writes were not found "
		                                 "where counted", v->label, v->n_damage, v->compacted);
		if (x) {
			for (size_t i = 0; i < v->n_damage && i < sizeof(v->damage) / sizeof(v->damage[0]); i++)
				kvf_verdict_evidence(x, 0, v->db_path, v->damage[i].offset, 0, "%s", v->damage[i].msg);
			snprintf(x->recovery, sizeof(x->recovery), "Do not start %s on this db, nor recover the cluster from "
			         "it: replace it from a peer whose db is intact (etcdctl member remove ID, wipe its data "
			         "directory, add it back), or restore the cluster from a snapshot file.", v->label);
		}
	}
	if (v->refused_compacted_range) {
		/* On 3.4-3.6 only the member that served such a txn evaluates its
		 * ranges (the others were handed it without them), so a member
		 * that refused one holds one revision fewer than its peers from
		 * there on; 3.7 refuses it everywhere. */
		bool div = !v->written_by_37;
		kvf_verdict *x = kvf_verdict_add(
			vs, KVF_VERDICT_TXN_COMPACTED_RANGE, div, 0,
			"%s refused %" PRIu64 " txn%s reading at a revision below the compaction (ErrCompacted), the first at "
			"WAL index %" PRIu64 ": %s", v->label, v->refused_compacted_range,
			v->refused_compacted_range == 1 ? "" : "s", v->first_compacted_range_index,
			div ? "it served them; on etcd up to 3.6 its peers applied them, so its revisions run one lower than "
			      "theirs from there on for each"
			    : "etcd 3.7 refuses such a txn on every member alike");
		if (x) {
			x->versions = KVF_VERSIONS_18667;
			if (div)
				x->first_divergent_index = v->first_compacted_range_index;
			for (size_t i = 0; i < v->n_refused_items; i++) {
				const kvf_verify_item *m = &v->refused_items[i];
				if (m->why && !strcmp(m->why, "compacted_range"))
					kvf_verdict_evidence(x, 0, item_file(v, m), m->offset, m->index,
					                     "entry %" PRIu64 " (term %" PRIu64 ", txn %s) reads below the compaction "
					                     "applied before it and left no revision", m->index, m->term, m->key);
			}
			if (div)
				snprintf(x->recovery, sizeof(x->recovery), "%s lacks the writes of the txns it refused, which its "
				         "peers applied: replace it from a peer (etcdctl member remove ID, wipe its data directory, "
				         "add it back), and stop clients from reading at an explicit revision inside a txn, or "
				         "upgrade to 3.7.0+.", v->label);
		}
	}
	if (v->refused_no_user) {
		kvf_verdict *x = kvf_verdict_add(vs, KVF_VERDICT_LEASE_REVOKE_AUTH, false, 0,
		                                 "%s refused %" PRIu64 " lease revoke%s without a user while auth was on "
		                                 "(ErrUserEmpty): the leases and their keys stay, as on every member of a "
		                                 "cluster of one release", v->label, v->refused_no_user,
		                                 v->refused_no_user == 1 ? "" : "s");
		if (x) {
			x->versions = KVF_VERSIONS_11689;
			for (size_t i = 0; i < v->n_refused_items; i++) {
				const kvf_verify_item *m = &v->refused_items[i];
				if (m->why && !strcmp(m->why, "no_user"))
					kvf_verdict_evidence(x, 0, item_file(v, m), m->offset, m->index,
					                     "entry %" PRIu64 " (term %" PRIu64 ", lease_revoke %s) has no user in its "
					                     "header", m->index, m->term, m->key);
			}
		}
	}
	if (!kvf_verdicts_divergent(vs)) {
		if (v->aligned)
			kvf_verdict_add(vs, KVF_VERDICT_CONSISTENT, false, 0, "%s's db holds the effects of every entry of "
			                "its WAL up to consistent_index %" PRIu64 ", once each", v->label, v->consistent_index);
		else
			kvf_verdict_add(vs, KVF_VERDICT_CONSISTENT, false, 0, "%s: no WAL entry could be checked against "
			                "the db", v->label);
	}
	if (!v->aligned)
		kvf_verdicts_rule_out(vs, "lost_writes, applied_twice: not checked: %s", v->have_wal ? v->why_unaligned
		                      : "no WAL");
	else {
		if (!v->missing && v->n_damage)
			kvf_verdicts_rule_out(vs, "lost_writes: not ruled out: %" PRIu64 " writes may have been on the damaged "
			                      "pages (%" PRIu64 " applied, %" PRIu64 " refused by etcd's own checks)", v->compacted,
			                      v->applied, v->refused);
		else if (!v->missing)
			kvf_verdicts_rule_out(vs, "lost_writes: every write up to consistent_index %" PRIu64 " has its revision "
			                      "(%" PRIu64 " applied, %" PRIu64 " no-ops, %" PRIu64 " refused by etcd's own "
			                      "checks, %" PRIu64 " below the compaction)%s", v->consistent_index, v->applied,
			                      v->no_op, v->refused, v->compacted,
			                      v->restored ? "; the db's revisions below the log's first write are the history "
			                      "it was restored with" : "");
		if (!v->applied_twice && !v->above_ci_effects)
			kvf_verdicts_rule_out(vs, "applied_twice: no revision repeats an entry's effect, and no entry "
			                      "past consistent_index has its write in the db");
	}
	if (!v->stale_db && v->snap_index)
		kvf_verdicts_rule_out(vs, "stale_db: consistent_index %" PRIu64 " >= newest .snap index %" PRIu64,
		                      v->consistent_index, v->snap_index);
	kvf_verdicts_sort(vs);
}
