/* Our own reader of bbolt files (the backend.h interface).
 *
 * Layout facts (bbolt 1.3.6 page.go, db.go, bucket.go, freelist.go):
 * - every page starts with a 16-byte header: id u64, flags u16, count u16,
 *   overflow u32; a page spans 1 + overflow pages.
 * - pages 0 and 1 are metas; the meta sits after the page header: magic,
 *   version, page size, flags, root bucket {root, sequence}, freelist pgid,
 *   high-water pgid, txid, checksum (FNV-1a 64 of the 56 bytes before it).
 * - branch elements {pos u32, ksize u32, pgid u64} and leaf elements
 *   {flags u32, pos u32, ksize u32, vsize u32} follow the header; pos counts
 *   from the element's own address; a leaf value follows its key.
 * - a leaf element with flag 0x01 holds a bucket header {root, sequence};
 *   root 0 means the bucket's single leaf page follows the header inline.
 *
 * The file is mapped read-only and never written. Nothing read from it is
 * trusted: page ids are checked against the high water and the file size,
 * element positions against the page span, and every walk keeps a bitmap of
 * pages entered (sized from the file size) and a fixed stack, so damage can
 * make a walk shorter but never endless. Damage is reported as a finding
 * (page id, byte offset) and the damaged subtree skipped. */
#include "db/backend_impl.h"
#include "db/bolt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/source.h"

#define PAGE_HEADER 16
#define ELEM_SIZE 16
#define META_SUM_LEN 56        /* meta bytes covered by the checksum */
#define META_LEN 64
#define BOLT_MAGIC 0xED0CDAEDu
#define BOLT_VERSION 2
#define FLAG_BRANCH 0x01
#define FLAG_LEAF 0x02
#define FLAG_META 0x04
#define FLAG_FREELIST 0x10
#define ELEM_BUCKET 0x01       /* leaf element flag: the value is a bucket header */
#define BUCKET_HEADER 16
#define NO_FREELIST UINT64_MAX /* etcd's NoFreelistSync: no freelist page on disk */
#define MAX_DEPTH 64           /* pages on one path, nested buckets included */
#define PROGRESS_STEP 4096     /* pages between progress calls */
#define HEX_MAX 16             /* key bytes shown in a finding */
#define MAX_REPORTED 20000     /* distinct cursor findings remembered (backend.c keeps 10,000) */

typedef struct bolt_meta {
	bool present;              /* the page holding it is inside the file */
	uint64_t hdr_id;
	uint16_t hdr_flags;
	uint32_t magic, version, page_size, flags;
	uint64_t root, sequence, freelist, pgid, txid, checksum;
	uint64_t computed;         /* FNV-1a 64 of the first 56 bytes */
} bolt_meta;

typedef struct bolt {
	kvf_map map;
	const uint8_t *data;
	uint64_t size;             /* content bytes (inflated, for .gz input) */
	uint64_t page_size;
	uint64_t npages;           /* whole pages inside the file */
	uint64_t high_water;
	bolt_meta meta[2];
	int in_use;
	uint64_t *reported;        /* hashes of findings already recorded by cursors */
	size_t n_reported, cap_reported;
} bolt;

/* One page (or an inline bucket's page) after its header was checked. */
typedef struct bolt_page {
	const uint8_t *p;          /* the page header */
	size_t len;                /* bytes spanned: (1 + overflow) pages, or the inline value */
	uint64_t pgid;             /* KVF_NO_PGID for an inline page */
	uint64_t at;               /* page named in findings: pgid, or the page holding the inline bucket */
	uint16_t flags, count;
	uint32_t overflow;
	bool damaged;              /* some elements lie outside the span: search linearly, skip them */
} bolt_page;

typedef struct bolt_elem {
	const uint8_t *key, *val;
	uint32_t ksize, vsize;
	uint32_t flags;            /* leaf */
	uint64_t child;            /* branch */
} bolt_elem;

/* Where findings go: to the caller of check, onto the backend (deduplicated,
 * for cursors), or nowhere (page_stats only counts). */
typedef struct reporter {
	kvf_backend *b;
	kvf_finding_fn fn;
	void *ctx;
	uint64_t count;
} reporter;

static inline uint64_t off_of(const bolt *db, const uint8_t *p)
{
	return (uint64_t)(p - db->data);
}

static inline bool bit_get(const uint8_t *bm, uint64_t i)
{
	return bm[i >> 3] & (1u << (i & 7));
}

static inline void bit_set(uint8_t *bm, uint64_t i)
{
	bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static uint8_t *bitmap_new(uint64_t bits)
{
	return calloc((size_t)(bits / 8 + 1), 1);
}

static uint64_t fnv1a64(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
#define FNV_BASIS 0xcbf29ce484222325ull

/* Cursors meet the same damaged page every time they pass it; record it once. */
static bool first_report(bolt *db, uint64_t pgid, uint64_t off, const char *msg)
{
	uint64_t h = fnv1a64((const uint8_t *)&pgid, 8, FNV_BASIS);
	h = fnv1a64((const uint8_t *)&off, 8, h);
	h = fnv1a64((const uint8_t *)msg, strlen(msg), h);
	h |= 1;                    /* 0 marks an empty slot */
	if (db->n_reported >= MAX_REPORTED)
		return false;          /* the backend stops recording long before */
	if (db->n_reported * 2 >= db->cap_reported) {
		size_t cap = db->cap_reported ? db->cap_reported * 2 : 64;
		uint64_t *t = calloc(cap, sizeof(*t));
		if (!t)
			return true;
		for (size_t i = 0; i < db->cap_reported; i++) {
			uint64_t v = db->reported[i];
			if (!v)
				continue;
			size_t j = (size_t)(v % cap);
			while (t[j])
				j = (j + 1) % cap;
			t[j] = v;
		}
		free(db->reported);
		db->reported = t;
		db->cap_reported = cap;
	}
	size_t j = (size_t)(h % db->cap_reported);
	while (db->reported[j]) {
		if (db->reported[j] == h)
			return false;
		j = (j + 1) % db->cap_reported;
	}
	db->reported[j] = h;
	db->n_reported++;
	return true;
}

static void report(reporter *r, uint64_t pgid, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(reporter *r, uint64_t pgid, uint64_t off, const char *fmt, ...)
{
	kvf_db_finding f = { .pgid = pgid, .offset = off };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f.msg, sizeof(f.msg), fmt, ap);
	va_end(ap);
	r->count++;
	if (r->fn) {
		r->fn(r->ctx, &f);
	} else if (r->b) {
		bolt *db = r->b->impl;
		if (first_report(db, pgid, off, f.msg))
			kvf_backend_add_finding(r->b, pgid, off, "%s", f.msg);
	}
}

/* Up to HEX_MAX bytes of a key in hex, ".." when cut. */
static const char *hex(char *out, size_t outlen, const uint8_t *p, uint32_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	for (uint32_t i = 0; i < n && i < HEX_MAX && o + 3 < outlen; i++) {
		out[o++] = digits[p[i] >> 4];
		out[o++] = digits[p[i] & 15];
	}
	if (n > HEX_MAX && o + 3 < outlen) {
		out[o++] = '.';
		out[o++] = '.';
	}
	out[o] = 0;
	return out;
}

static int keycmp(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
	/* an empty key may be (NULL, 0) (a seek to the start), and memcmp with
	 * a NULL pointer is undefined even for 0 bytes */
	uint32_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* bbolt's page.typ() names. */
static const char *page_type(uint16_t flags, char *buf, size_t len)
{
	switch (flags) {
	case FLAG_BRANCH: return "branch";
	case FLAG_LEAF: return "leaf";
	case FLAG_META: return "meta";
	case FLAG_FREELIST: return "freelist";
	}
	snprintf(buf, len, "unknown<%02x>", flags);
	return buf;
}

/* ---- meta pages ---- */

static void meta_read(const bolt *db, uint64_t page_off, uint64_t page_size, bolt_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (page_off > db->size || db->size - page_off < PAGE_HEADER + META_LEN ||
	    page_size < PAGE_HEADER + META_LEN)
		return;
	const uint8_t *h = db->data + page_off, *p = h + PAGE_HEADER;
	m->present = true;
	m->hdr_id = kvf_le64(h);
	m->hdr_flags = kvf_le16(h + 8);
	m->magic = kvf_le32(p);
	m->version = kvf_le32(p + 4);
	m->page_size = kvf_le32(p + 8);
	m->flags = kvf_le32(p + 12);
	m->root = kvf_le64(p + 16);
	m->sequence = kvf_le64(p + 24);
	m->freelist = kvf_le64(p + 32);
	m->pgid = kvf_le64(p + 40);
	m->txid = kvf_le64(p + 48);
	m->checksum = kvf_le64(p + 56);
	m->computed = fnv1a64(p, META_SUM_LEN, FNV_BASIS);
}

/* What is wrong with a meta, as bbolt's meta.validate() sees it (a zero
 * checksum is accepted, as bbolt does), plus the page size it was read at.
 * Returns the byte offset (within the meta) of the offending field, or -1. */
static int meta_problem(const bolt_meta *m, uint64_t page_size, char *why, size_t len)
{
	if (!m->present) {
		snprintf(why, len, "meta page missing: the file ends before it");
		return 0;
	}
	if (m->magic != BOLT_MAGIC) {
		snprintf(why, len, "meta: invalid magic 0x%08" PRIx32, m->magic);
		return 0;
	}
	if (m->version != BOLT_VERSION) {
		snprintf(why, len, "meta: version %" PRIu32 ", expected %d", m->version, BOLT_VERSION);
		return 4;
	}
	if (m->checksum != 0 && m->checksum != m->computed) {
		snprintf(why, len, "meta: checksum mismatch: stored %016" PRIx64 ", computed %016" PRIx64,
		         m->checksum, m->computed);
		return META_SUM_LEN;
	}
	if (m->page_size != page_size) {
		snprintf(why, len, "meta: page size %" PRIu32 ", but the other meta says %" PRIu64,
		         m->page_size, page_size);
		return 8;
	}
	return -1;
}

static bool plausible_page_size(uint64_t ps)
{
	return ps >= 512 && ps <= (1u << 20) && (ps & (ps - 1)) == 0;
}

/* The page size comes from page 0's meta; when that meta is damaged it must
 * come from page 1's, whose offset depends on the page size: try the sizes
 * bbolt uses in practice (the OS page size) and keep the one whose meta is
 * valid and names that very size. */
static bool find_page_size(const bolt *db, uint64_t *ps)
{
	bolt_meta m;
	char why[160];
	meta_read(db, 0, 1u << 20, &m);
	if (m.present && plausible_page_size(m.page_size) &&
	    meta_problem(&m, m.page_size, why, sizeof(why)) < 0) {
		*ps = m.page_size;
		return true;
	}
	uint64_t tries[8] = { 0, 4096, 8192, 16384, 32768, 65536, 2048, 1024 };
	if (m.present && m.magic == BOLT_MAGIC && plausible_page_size(m.page_size))
		tries[0] = m.page_size;   /* page 0's meta is damaged but its size may be right */
	for (size_t i = 0; i < 8; i++) {
		if (!tries[i])
			continue;
		meta_read(db, tries[i], tries[i], &m);
		if (m.present && meta_problem(&m, tries[i], why, sizeof(why)) < 0) {
			*ps = tries[i];
			return true;
		}
	}
	return false;
}

/* ---- pages and elements ---- */

/* Is a reference to pgid inside what the meta and the file allow? */
static bool page_in_bounds(const bolt *db, reporter *r, uint64_t pgid, uint64_t from, uint64_t ref_off)
{
	if (pgid >= db->high_water) {
		report(r, pgid, ref_off, "page %" PRIu64 ": out of bounds: high water %" PRIu64
		       " (referenced from page %" PRIu64 ")", pgid, db->high_water, from);
		return false;
	}
	if (pgid >= db->npages) {
		report(r, pgid, ref_off, "page %" PRIu64 ": past end of file: the file holds %" PRIu64
		       " pages (referenced from page %" PRIu64 ")", pgid, db->npages, from);
		return false;
	}
	if (pgid < 2) {
		report(r, pgid, ref_off, "page %" PRIu64 ": a meta page referenced as a tree page"
		       " (from page %" PRIu64 ")", pgid, from);
		return false;
	}
	return true;
}

/* Read and check the header of a page that is in bounds: branch or leaf,
 * its overflow run inside the high water and the file, its elements inside
 * its span. */
static bool page_header(const bolt *db, reporter *r, uint64_t pgid, bolt_page *pg)
{
	uint64_t off = pgid * db->page_size;
	const uint8_t *p = db->data + off;
	char tb[24];
	memset(pg, 0, sizeof(*pg));
	pg->p = p;
	pg->pgid = pg->at = pgid;
	pg->flags = kvf_le16(p + 8);
	pg->count = kvf_le16(p + 10);
	pg->overflow = kvf_le32(p + 12);
	if (pg->flags != FLAG_BRANCH && pg->flags != FLAG_LEAF) {
		report(r, pgid, off, "page %" PRIu64 ": invalid type: %s", pgid,
		       page_type(pg->flags, tb, sizeof(tb)));
		return false;
	}
	uint64_t last = pgid + pg->overflow;
	if (last >= db->high_water || last >= db->npages) {
		report(r, pgid, off + 12, "page %" PRIu64 ": overflow of %" PRIu32 " pages runs past %s %" PRIu64,
		       pgid, pg->overflow, last >= db->high_water ? "high water" : "the end of file at page",
		       last >= db->high_water ? db->high_water : db->npages);
		return false;
	}
	pg->len = (size_t)((1 + (uint64_t)pg->overflow) * db->page_size);
	if (PAGE_HEADER + (uint64_t)pg->count * ELEM_SIZE > pg->len) {
		report(r, pgid, off + 10, "page %" PRIu64 ": %" PRIu16 " elements do not fit in %zu bytes",
		       pgid, pg->count, pg->len);
		return false;
	}
	uint64_t id = kvf_le64(p);
	if (id != pgid)   /* a misplaced or stale copy; its content may still be right */
		report(r, pgid, off, "page %" PRIu64 ": header names page %" PRIu64, pgid, id);
	return true;
}

/* An inline bucket's page: the bucket value minus its 16-byte header. */
static bool inline_page(const bolt *db, reporter *r, const uint8_t *val, uint32_t vsize,
                        uint64_t at, bolt_page *pg)
{
	char tb[24];
	memset(pg, 0, sizeof(*pg));
	if (vsize < BUCKET_HEADER + PAGE_HEADER) {
		report(r, at, off_of(db, val), "page %" PRIu64 ": inline bucket of %" PRIu32
		       " bytes is shorter than a bucket and page header", at, vsize);
		return false;
	}
	pg->p = val + BUCKET_HEADER;
	pg->len = vsize - BUCKET_HEADER;
	pg->pgid = KVF_NO_PGID;
	pg->at = at;
	pg->flags = kvf_le16(pg->p + 8);
	pg->count = kvf_le16(pg->p + 10);
	/* bbolt only inlines a bucket that is a single leaf (bucket.go inlineable) */
	if (pg->flags != FLAG_LEAF) {
		report(r, at, off_of(db, pg->p) + 8, "page %" PRIu64 ": inline bucket page: invalid type: %s",
		       at, page_type(pg->flags, tb, sizeof(tb)));
		return false;
	}
	if (PAGE_HEADER + (uint64_t)pg->count * ELEM_SIZE > pg->len) {
		report(r, at, off_of(db, pg->p) + 10, "page %" PRIu64 ": inline bucket page: %" PRIu16
		       " elements do not fit in %zu bytes", at, pg->count, pg->len);
		return false;
	}
	return true;
}

/* Element i of a checked page. Its key (and value) must lie after the
 * element array, where bbolt's node.write puts them, and inside the span. */
static bool elem_get(const bolt_page *pg, uint32_t i, bolt_elem *e)
{
	uint64_t eoff = PAGE_HEADER + (uint64_t)i * ELEM_SIZE;
	const uint8_t *ep = pg->p + eoff;
	uint64_t pos, end, data_start = PAGE_HEADER + (uint64_t)pg->count * ELEM_SIZE;
	if (pg->flags == FLAG_BRANCH) {
		pos = kvf_le32(ep);
		e->ksize = kvf_le32(ep + 4);
		e->child = kvf_le64(ep + 8);
		e->vsize = 0;
		e->flags = 0;
		end = eoff + pos + e->ksize;
	} else {
		e->flags = kvf_le32(ep);
		pos = kvf_le32(ep + 4);
		e->ksize = kvf_le32(ep + 8);
		e->vsize = kvf_le32(ep + 12);
		e->child = 0;
		end = eoff + pos + e->ksize + e->vsize;
	}
	if (eoff + pos < data_start || end > pg->len)
		return false;
	e->key = ep + pos;
	e->val = e->key + e->ksize;
	return true;
}

static void report_bad_elem(const bolt *db, reporter *r, const bolt_page *pg, uint32_t i)
{
	const uint8_t *ep = pg->p + PAGE_HEADER + (uint64_t)i * ELEM_SIZE;
	bool leaf = pg->flags == FLAG_LEAF;
	uint32_t pos = kvf_le32(ep + (leaf ? 4 : 0));
	uint32_t ks = kvf_le32(ep + (leaf ? 8 : 4));
	uint32_t vs = leaf ? kvf_le32(ep + 12) : 0;
	report(r, pg->at, off_of(db, ep),
	       "page %" PRIu64 ": %s%s element %" PRIu32 ": pos %" PRIu32 " ksize %" PRIu32
	       " vsize %" PRIu32 " lies outside the page's %zu bytes", pg->at,
	       pg->pgid == KVF_NO_PGID ? "inline bucket " : "", leaf ? "leaf" : "branch",
	       i, pos, ks, vs, pg->len);
}

/* ---- cursors ---- */

typedef struct cursor_frame {
	bolt_page pg;
	uint32_t index;            /* next element to read */
} cursor_frame;

typedef struct bolt_cursor {
	kvf_cursor base;
	bolt *db;
	reporter rep;
	bool has_root;             /* false: the bucket header is unreadable, the bucket reads empty */
	uint64_t root;             /* 0: inline */
	bolt_page inline_root;
	uint64_t root_from, root_ref;   /* where the root reference is stored, for findings */
	cursor_frame stack[MAX_DEPTH];
	int depth;
	uint8_t *entered;          /* pages entered since the last seek: a page is read once */
	bool positioned;
	const uint8_t *prev;
	uint32_t prev_len;
	bool has_prev;
	kvf_bucket_stats *stats;   /* bucket_stats counts pages as they are entered */
} bolt_cursor;

static void cursor_push(bolt_cursor *c, const bolt_page *pg)
{
	cursor_frame *f = &c->stack[c->depth++];
	f->pg = *pg;
	f->pg.damaged = false;
	f->index = 0;
	for (uint32_t i = 0; i < pg->count; i++) {
		bolt_elem e = { 0 };   /* zeroed: gcc -O3 cannot prove every path sets it (-Wmaybe-uninitialized) */
		if (!elem_get(pg, i, &e)) {
			report_bad_elem(c->db, &c->rep, pg, i);
			f->pg.damaged = true;
		}
	}
	if (c->stats) {
		if (pg->pgid != KVF_NO_PGID) {
			if (pg->flags == FLAG_BRANCH)
				c->stats->branch_pages++;
			else
				c->stats->leaf_pages++;
			c->stats->overflow_pages += pg->overflow;
		}
		if ((uint64_t)c->depth > c->stats->depth)
			c->stats->depth = (uint64_t)c->depth;
	}
}

/* Enter page pgid, referenced from page `from` at byte ref_off. */
static bool cursor_enter(bolt_cursor *c, uint64_t pgid, uint64_t from, uint64_t ref_off)
{
	bolt *db = c->db;
	if (!page_in_bounds(db, &c->rep, pgid, from, ref_off))
		return false;
	if (bit_get(c->entered, pgid)) {
		bool on_path = false;
		for (int i = 0; i < c->depth; i++)
			on_path |= c->stack[i].pg.pgid == pgid;
		if (on_path)
			report(&c->rep, pgid, ref_off, "page %" PRIu64 ": cycle: referenced again from page %"
			       PRIu64 " below it", pgid, from);
		else
			report(&c->rep, pgid, ref_off, "page %" PRIu64 ": multiple references (from page %"
			       PRIu64 ")", pgid, from);
		return false;
	}
	if (c->depth == MAX_DEPTH) {
		report(&c->rep, pgid, ref_off, "page %" PRIu64 ": more than %d levels deep (from page %"
		       PRIu64 ")", pgid, MAX_DEPTH, from);
		return false;
	}
	bit_set(c->entered, pgid);
	bolt_page pg;
	if (!page_header(db, &c->rep, pgid, &pg))
		return false;
	cursor_push(c, &pg);
	return true;
}

static bool cursor_enter_root(bolt_cursor *c)
{
	if (!c->has_root)
		return false;
	if (c->root)
		return cursor_enter(c, c->root, c->root_from, c->root_ref);
	cursor_push(c, &c->inline_root);
	return true;
}

/* Last element whose key is <= key (bbolt cursor.searchPage), or 0. */
static uint32_t branch_search(const bolt_page *pg, const uint8_t *key, uint32_t len)
{
	bolt_elem e = { 0 };
	if (pg->damaged) {
		uint32_t pick = pg->count, i;
		for (i = 0; i < pg->count; i++) {
			if (!elem_get(pg, i, &e))
				continue;
			if (pick == pg->count || keycmp(e.key, e.ksize, key, len) <= 0)
				pick = i;
			else
				break;
		}
		return pick;
	}
	uint32_t lo = 0, hi = pg->count;   /* first element with key > target */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		elem_get(pg, mid, &e);
		if (keycmp(e.key, e.ksize, key, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* First element whose key is >= key (bbolt cursor.nsearch). */
static uint32_t leaf_search(const bolt_page *pg, const uint8_t *key, uint32_t len)
{
	bolt_elem e = { 0 };
	if (pg->damaged) {
		for (uint32_t i = 0; i < pg->count; i++)
			if (elem_get(pg, i, &e) && keycmp(e.key, e.ksize, key, len) >= 0)
				return i;
		return pg->count;
	}
	uint32_t lo = 0, hi = pg->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		elem_get(pg, mid, &e);
		if (keycmp(e.key, e.ksize, key, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void cursor_reset(bolt_cursor *c)
{
	c->depth = 0;
	c->has_prev = false;
	memset(c->entered, 0, (size_t)(c->db->npages / 8 + 1));
}

static kvf_status bolt_cursor_seek(kvf_cursor *base, const void *key, size_t len, kvf_err *err)
{
	bolt_cursor *c = (bolt_cursor *)base;
	const uint8_t *k = key;
	if (len > UINT32_MAX)   /* bbolt keys are at most 32 KiB; nothing can match */
		len = UINT32_MAX;
	cursor_reset(c);
	c->positioned = true;
	if (!cursor_enter_root(c))
		return KVF_OK;
	for (;;) {
		cursor_frame *f = &c->stack[c->depth - 1];
		if (f->pg.flags == FLAG_LEAF) {
			f->index = leaf_search(&f->pg, k, (uint32_t)len);
			return KVF_OK;
		}
		uint32_t i = branch_search(&f->pg, k, (uint32_t)len);
		f->index = i + 1;
		bolt_elem e = { 0 };
		if (i >= f->pg.count || !elem_get(&f->pg, i, &e))
			return KVF_OK;
		if (!cursor_enter(c, e.child, f->pg.at, off_of(c->db, f->pg.p) + PAGE_HEADER +
		                  (uint64_t)i * ELEM_SIZE + 8))
			return KVF_OK;   /* next() goes on with the following subtree */
	}
}

static kvf_status bolt_cursor_next(kvf_cursor *base, kvf_pair *pair, bool *got, kvf_err *err)
{
	bolt_cursor *c = (bolt_cursor *)base;
	bolt *db = c->db;
	*got = false;
	if (!c->positioned)
		bolt_cursor_seek(base, "", 0, err);
	while (c->depth > 0) {
		cursor_frame *f = &c->stack[c->depth - 1];
		if (f->index >= f->pg.count) {
			c->depth--;
			continue;
		}
		uint32_t i = f->index++;
		bolt_elem e = { 0 };
		if (!elem_get(&f->pg, i, &e))
			continue;   /* reported when the page was entered */
		if (f->pg.flags == FLAG_BRANCH) {
			/* Start loading the next child while this one is read: a
			 * page's first touch (its TLB entry and its header) was a
			 * third of the time of a scan of bucket `key`, and the
			 * hardware's prefetchers stop at page boundaries. Only a
			 * hint: the child is checked when it is entered. */
			bolt_elem next;
			if (i + 1 < f->pg.count && elem_get(&f->pg, i + 1, &next) && next.child < db->npages)
				__builtin_prefetch(db->data + next.child * db->page_size);
			cursor_enter(c, e.child, f->pg.at, off_of(db, f->pg.p) + PAGE_HEADER +
			             (uint64_t)i * ELEM_SIZE + 8);
			continue;
		}
		if (c->has_prev && keycmp(e.key, e.ksize, c->prev, c->prev_len) <= 0) {
			char a[40], b[40];
			report(&c->rep, f->pg.at, off_of(db, e.key), "page %" PRIu64 ": key[%" PRIu32
			       "]=(hex)%s out of order: not above the key before it (hex)%s",
			       f->pg.at, i, hex(a, sizeof(a), e.key, e.ksize),
			       hex(b, sizeof(b), c->prev, c->prev_len));
		}
		c->prev = e.key;
		c->prev_len = e.ksize;
		c->has_prev = true;
		pair->key = (kvf_span){ e.key, e.ksize, off_of(db, e.key) };
		pair->value = (kvf_span){ e.val, e.vsize, off_of(db, e.val) };
		pair->is_bucket = e.flags & ELEM_BUCKET;
		*got = true;
		return KVF_OK;
	}
	return KVF_OK;
}

static void bolt_cursor_close(kvf_cursor *base)
{
	bolt_cursor *c = (bolt_cursor *)base;
	free(c->entered);
	free(c);
}

static kvf_status cursor_new(kvf_backend *b, bolt_cursor **out, kvf_err *err)
{
	bolt *db = b->impl;
	bolt_cursor *c = calloc(1, sizeof(*c));
	if (c)
		c->entered = bitmap_new(db->npages);
	if (!c || !c->entered) {
		free(c);
		return kvf_err_set(err, KVF_E_NOMEM, db->map.path, KVF_NO_OFFSET, "out of memory");
	}
	c->base.backend = b;
	c->db = db;
	c->rep.b = b;
	*out = c;
	return KVF_OK;
}

/* A cursor over the root bucket, whose root page the meta names. */
static kvf_status root_cursor(kvf_backend *b, bolt_cursor **out, kvf_err *err)
{
	bolt *db = b->impl;
	kvf_status st = cursor_new(b, out, err);
	if (st)
		return st;
	bolt_cursor *c = *out;
	c->root = db->meta[db->in_use].root;
	c->root_from = (uint64_t)db->in_use;
	c->root_ref = (uint64_t)db->in_use * db->page_size + PAGE_HEADER + 16;
	/* the root bucket is never inline: root 0 names meta page 0, which is damage */
	c->has_root = c->root != 0 || page_in_bounds(db, &c->rep, 0, c->root_from, c->root_ref);
	return KVF_OK;
}

/* Point a cursor at the bucket whose header is the value val (held by page at). */
static void cursor_set_bucket(bolt_cursor *c, kvf_span val, uint64_t at)
{
	bolt *db = c->db;
	if (val.len < BUCKET_HEADER) {
		report(&c->rep, at, val.file_offset, "page %" PRIu64 ": bucket value of %zu bytes is"
		       " shorter than a bucket header", at, val.len);
		return;
	}
	c->root = kvf_le64(val.p);
	c->root_from = at;
	c->root_ref = val.file_offset;
	if (c->root)
		c->has_root = true;
	else
		c->has_root = inline_page(db, &c->rep, val.p, (uint32_t)val.len, at, &c->inline_root);
}

/* The header of top-level bucket name, and the page holding it. A seek
 * first; when damage has broken the key order of the root bucket, a scan
 * still finds what the bucket listing shows. */
static kvf_status find_bucket(kvf_backend *b, const void *name, size_t len,
                              kvf_span *val, uint64_t *at, kvf_err *err)
{
	bolt *db = b->impl;
	bolt_cursor *rc = NULL;
	kvf_status st = root_cursor(b, &rc, err);
	if (st)
		return st;
	kvf_pair p;
	bool got = false, found = false;
	bolt_cursor_seek(&rc->base, name, len, err);
	bolt_cursor_next(&rc->base, &p, &got, err);
	found = got && p.is_bucket && p.key.len == len && memcmp(p.key.p, name, len) == 0;
	if (!found) {
		bolt_cursor_seek(&rc->base, "", 0, err);
		while (!found && bolt_cursor_next(&rc->base, &p, &got, err) == KVF_OK && got)
			found = p.is_bucket && p.key.len == len && memcmp(p.key.p, name, len) == 0;
	}
	if (found) {
		*val = p.value;
		*at = rc->stack[rc->depth - 1].pg.at;
	}
	bolt_cursor_close(&rc->base);
	if (!found)
		return kvf_err_set(err, KVF_E_NOTFOUND, db->map.path, KVF_NO_OFFSET,
		                   "no bucket \"%.*s\"", (int)(len > 100 ? 100 : len), (const char *)name);
	return KVF_OK;
}

static kvf_status bolt_cursor_open(kvf_backend *b, const void *bucket, size_t len,
                                   kvf_cursor **out, kvf_err *err)
{
	*out = NULL;
	kvf_span val = { 0 };
	uint64_t at = 0;
	kvf_status st = find_bucket(b, bucket, len, &val, &at, err);
	if (st)
		return st;
	bolt_cursor *c = NULL;
	if ((st = cursor_new(b, &c, err)))
		return st;
	cursor_set_bucket(c, val, at);
	*out = &c->base;
	return KVF_OK;
}

static kvf_status bolt_buckets(kvf_backend *b, kvf_bucket_fn fn, void *ctx, kvf_err *err)
{
	bolt_cursor *c = NULL;
	kvf_status st = root_cursor(b, &c, err);
	if (st)
		return st;
	kvf_pair p;
	bool got;
	while (bolt_cursor_next(&c->base, &p, &got, err) == KVF_OK && got)
		if (p.is_bucket && !fn(ctx, p.key))
			break;
	bolt_cursor_close(&c->base);
	return KVF_OK;
}

static kvf_status bolt_get(kvf_backend *b, const void *bucket, size_t blen,
                           const void *key, size_t klen, kvf_span *value, kvf_err *err)
{
	bolt *db = b->impl;
	kvf_cursor *c;
	kvf_status st = bolt_cursor_open(b, bucket, blen, &c, err);
	if (st)
		return st;
	kvf_pair p;
	bool got = false;
	bolt_cursor_seek(c, key, klen, err);
	bolt_cursor_next(c, &p, &got, err);
	bolt_cursor_close(c);
	/* like bbolt's Bucket.Get, a nested bucket is not a value */
	if (got && !p.is_bucket && p.key.len == klen && memcmp(p.key.p, key, klen) == 0) {
		*value = p.value;
		return KVF_OK;
	}
	return kvf_err_set(err, KVF_E_NOTFOUND, db->map.path, KVF_NO_OFFSET,
	                   "no key of %zu bytes in bucket \"%.*s\"", klen,
	                   (int)(blen > 100 ? 100 : blen), (const char *)bucket);
}

/* Counts the bucket's own tree: its entries (nested bucket names included,
 * their contents not) and the pages that hold them. */
static kvf_status bolt_bucket_stats(kvf_backend *b, const void *bucket, size_t len,
                                    kvf_bucket_stats *st, kvf_err *err)
{
	memset(st, 0, sizeof(*st));
	kvf_cursor *base;
	kvf_status s = bolt_cursor_open(b, bucket, len, &base, err);
	if (s)
		return s;
	bolt_cursor *c = (bolt_cursor *)base;
	c->stats = st;
	st->is_inline = c->has_root && c->root == 0;
	kvf_pair p;
	bool got;
	while (bolt_cursor_next(base, &p, &got, err) == KVF_OK && got) {
		st->entries++;
		st->key_bytes += p.key.len;
		st->value_bytes += p.value.len;
	}
	bolt_cursor_close(base);
	return KVF_OK;
}

/* ---- the whole-file walk: check and page_stats ---- */

typedef struct check_frame {
	bolt_page pg;
	uint32_t index;
	int level;                 /* bucket nesting: 0 = the root bucket */
	/* keys in this subtree must be >= lo and < hi (set by the parent branch) */
	const uint8_t *lo, *hi, *prev;
	uint32_t lo_len, hi_len, prev_len;
} check_frame;

typedef struct walker {
	bolt *db;
	reporter rep;
	bool check_keys;
	uint8_t *reached, *freed;  /* one bit per page of the file */
	bool freelist_ok;          /* a freelist page exists and could be read */
	kvf_page_stats st;
	kvf_progress_fn progress;
	void *pctx;
	uint64_t done, total;
	check_frame stack[MAX_DEPTH];
	int depth;
} walker;

static void walk_progress(walker *w, uint64_t pages)
{
	uint64_t before = w->done / PROGRESS_STEP;
	w->done += pages;
	if (w->progress && w->done / PROGRESS_STEP != before)
		w->progress(w->pctx, w->done < w->total ? w->done : w->total, w->total);
}

static void check_metas(walker *w)
{
	bolt *db = w->db;
	char why[160];
	for (int i = 0; i < 2; i++) {
		const bolt_meta *m = &db->meta[i];
		uint64_t base = (uint64_t)i * db->page_size;
		int at = meta_problem(m, db->page_size, why, sizeof(why));
		if (at >= 0)
			report(&w->rep, (uint64_t)i, m->present ? base + PAGE_HEADER + (uint64_t)at : KVF_NO_OFFSET,
			       "page %d: %s%s", i, why, i == db->in_use ? "" : " (the other meta is in use)");
		if (!m->present)
			continue;
		if (m->hdr_flags != FLAG_META) {
			char tb[24];
			report(&w->rep, (uint64_t)i, base + 8, "page %d: invalid type: %s, expected meta", i,
			       page_type(m->hdr_flags, tb, sizeof(tb)));
		}
		if (at < 0 && m->hdr_id != (uint64_t)i)
			report(&w->rep, (uint64_t)i, base, "page %d: header names page %" PRIu64, i, m->hdr_id);
		bit_set(w->reached, (uint64_t)i);
		w->st.meta++;
	}
	if (db->high_water > db->npages)
		report(&w->rep, db->npages, db->npages * db->page_size,
		       "page %" PRIu64 ": past end of file: high water %" PRIu64 " but the file holds %"
		       PRIu64 " pages (%" PRIu64 " bytes)", db->npages, db->high_water, db->npages, db->size);
}

/* The freelist page (absent with NoFreelistSync): ids, or a 0xFFFF count
 * followed by the real count in the first u64 (freelist.go read). */
static void check_freelist(walker *w)
{
	bolt *db = w->db;
	const bolt_meta *m = &db->meta[db->in_use];
	uint64_t id = m->freelist;
	uint64_t ref = (uint64_t)db->in_use * db->page_size + PAGE_HEADER + 32;
	char tb[24];
	if (id == NO_FREELIST)
		return;
	if (id < 2 || id >= db->high_water || id >= db->npages) {
		report(&w->rep, id, ref, "invalid freelist page: %" PRIu64 ", %s", id,
		       id < 2 ? "a meta page" : id >= db->high_water ? "beyond high water" : "past end of file");
		return;
	}
	const uint8_t *p = db->data + id * db->page_size;
	uint16_t flags = kvf_le16(p + 8);
	if (flags != FLAG_FREELIST) {
		report(&w->rep, id, id * db->page_size + 8, "invalid freelist page: %" PRIu64
		       ", page type is %s", id, page_type(flags, tb, sizeof(tb)));
		return;
	}
	uint32_t overflow = kvf_le32(p + 12);
	if (id + overflow >= db->high_water || id + overflow >= db->npages) {
		report(&w->rep, id, id * db->page_size + 12, "page %" PRIu64 ": freelist overflow of %"
		       PRIu32 " pages runs past %s", id, overflow,
		       id + overflow >= db->high_water ? "high water" : "the end of file");
		return;
	}
	uint64_t len = (1 + (uint64_t)overflow) * db->page_size;
	uint64_t count = kvf_le16(p + 10), first = PAGE_HEADER;
	if (count == 0xFFFF) {
		count = kvf_le64(p + PAGE_HEADER);
		first += 8;
	}
	if (count > (len - first) / 8) {
		report(&w->rep, id, id * db->page_size + 10, "page %" PRIu64 ": freelist of %" PRIu64
		       " ids does not fit in %" PRIu64 " bytes", id, count, len);
		return;
	}
	w->freelist_ok = true;
	for (uint64_t i = 0; i <= overflow; i++) {
		if (bit_get(w->reached, id + i))
			report(&w->rep, id + i, (id + i) * db->page_size, "page %" PRIu64
			       ": multiple references", id + i);
		bit_set(w->reached, id + i);
	}
	w->st.freelist += 1 + (uint64_t)overflow;
	/* bbolt's check: a page id listed twice is "already freed" */
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *ep = p + first + i * 8;
		uint64_t f = kvf_le64(ep);
		if (f >= db->high_water) {
			report(&w->rep, f, off_of(db, ep), "page %" PRIu64 ": freed page out of bounds: high water %"
			       PRIu64 " (freelist page %" PRIu64 ")", f, db->high_water, id);
			continue;
		}
		if (f >= db->npages)
			continue;   /* past the end of a truncated file, reported once already */
		if (bit_get(w->freed, f)) {
			report(&w->rep, f, off_of(db, ep), "page %" PRIu64 ": already freed", f);
			continue;
		}
		bit_set(w->freed, f);
		w->st.free_listed++;
	}
}

static bool on_path(const walker *w, uint64_t pgid)
{
	for (int i = 0; i < w->depth; i++)
		if (w->stack[i].pg.pgid == pgid)
			return true;
	return false;
}

/* Follow a reference to pgid (stored at ref_off in page from) the way bbolt's
 * tx.check does: every page reached once, none freed, only branch and leaf. */
static bool walk_reach(walker *w, uint64_t pgid, uint64_t from, uint64_t ref_off, bolt_page *pg)
{
	bolt *db = w->db;
	if (w->depth == MAX_DEPTH) {
		report(&w->rep, pgid, ref_off, "page %" PRIu64 ": more than %d levels deep (from page %"
		       PRIu64 ")", pgid, MAX_DEPTH, from);
		return false;
	}
	if (!page_in_bounds(db, &w->rep, pgid, from, ref_off))
		return false;
	if (bit_get(w->reached, pgid)) {
		if (on_path(w, pgid))
			report(&w->rep, pgid, ref_off, "page %" PRIu64 ": cycle: referenced again from page %"
			       PRIu64 " below it", pgid, from);
		else
			report(&w->rep, pgid, ref_off, "page %" PRIu64 ": multiple references (from page %"
			       PRIu64 ")", pgid, from);
		return false;
	}
	bool ok = page_header(db, &w->rep, pgid, pg);
	uint64_t run = ok ? pg->overflow : 0;
	for (uint64_t i = 0; i <= run; i++) {
		uint64_t id = pgid + i;
		if (i > 0 && bit_get(w->reached, id))
			report(&w->rep, id, id * db->page_size, "page %" PRIu64 ": multiple references", id);
		bit_set(w->reached, id);
		if (w->freelist_ok && bit_get(w->freed, id))
			report(&w->rep, id, id * db->page_size, "page %" PRIu64 ": reachable freed", id);
	}
	walk_progress(w, 1 + run);
	if (!ok)
		return false;
	if (pg->flags == FLAG_BRANCH)
		w->st.branch++;
	else
		w->st.leaf++;
	w->st.overflow += pg->overflow;
	w->st.capacity_bytes += pg->len;
	w->st.used_bytes += PAGE_HEADER + (uint64_t)pg->count * ELEM_SIZE;
	return true;
}

static void walk_push(walker *w, const bolt_page *pg, int level,
                      const uint8_t *lo, uint32_t lo_len, const uint8_t *hi, uint32_t hi_len)
{
	check_frame *f = &w->stack[w->depth++];
	f->pg = *pg;
	f->index = 0;
	f->level = level;
	f->lo = lo;
	f->lo_len = lo_len;
	f->hi = hi;
	f->hi_len = hi_len;
	f->prev = NULL;
	f->prev_len = 0;
}

/* bbolt's key order invariants (tx_check.go verifyKeyOrder): keys increase
 * within a page, the first is not below the parent's key for this child,
 * and none reaches the parent's next key. */
static void check_key_order(walker *w, check_frame *f, uint32_t i, const bolt_elem *e)
{
	const char *kind = f->pg.flags == FLAG_BRANCH ? "branch" : "leaf";
	uint64_t at = off_of(w->db, e->key);
	char a[40], b[40];
	if (i == 0 && f->lo && keycmp(e->key, e->ksize, f->lo, f->lo_len) < 0)
		report(&w->rep, f->pg.at, at, "page %" PRIu64 ": the first key[0]=(hex)%s on %s page"
		       " needs to be >= the key in the ancestor (hex)%s", f->pg.at,
		       hex(a, sizeof(a), e->key, e->ksize), kind, hex(b, sizeof(b), f->lo, f->lo_len));
	if (f->prev) {
		int c = keycmp(f->prev, f->prev_len, e->key, e->ksize);
		if (c >= 0)
			report(&w->rep, f->pg.at, at, "page %" PRIu64 ": key[%" PRIu32 "]=(hex)%s on %s page"
			       " needs to be > (found %s) than previous element (hex)%s", f->pg.at, i,
			       hex(a, sizeof(a), e->key, e->ksize), kind, c ? "<" : "=",
			       hex(b, sizeof(b), f->prev, f->prev_len));
	}
	if (f->hi && keycmp(e->key, e->ksize, f->hi, f->hi_len) >= 0)
		report(&w->rep, f->pg.at, at, "page %" PRIu64 ": key[%" PRIu32 "]=(hex)%s on %s page"
		       " needs to be < than key of the next element in ancestor (hex)%s", f->pg.at, i,
		       hex(a, sizeof(a), e->key, e->ksize), kind, hex(b, sizeof(b), f->hi, f->hi_len));
}

/* A bucket header in a leaf: follow its root page, or its inline page. */
static void walk_bucket(walker *w, check_frame *f, uint32_t i, const bolt_elem *e)
{
	bolt *db = w->db;
	bolt_page pg;
	if (e->vsize < BUCKET_HEADER) {
		report(&w->rep, f->pg.at, off_of(db, e->val), "page %" PRIu64 ": key[%" PRIu32
		       "]: bucket value of %" PRIu32 " bytes is shorter than a bucket header",
		       f->pg.at, i, e->vsize);
		return;
	}
	uint64_t root = kvf_le64(e->val);
	if (root) {
		if (walk_reach(w, root, f->pg.at, off_of(db, e->val), &pg))
			walk_push(w, &pg, f->level + 1, NULL, 0, NULL, 0);
		return;
	}
	if (w->depth == MAX_DEPTH) {
		report(&w->rep, f->pg.at, off_of(db, e->val), "page %" PRIu64 ": inline bucket more than %d"
		       " levels deep", f->pg.at, MAX_DEPTH);
		return;
	}
	if (inline_page(db, &w->rep, e->val, e->vsize, f->pg.at, &pg))
		walk_push(w, &pg, f->level + 1, NULL, 0, NULL, 0);
}

static void walk_trees(walker *w)
{
	bolt *db = w->db;
	const bolt_meta *m = &db->meta[db->in_use];
	bolt_page pg;
	uint64_t ref = (uint64_t)db->in_use * db->page_size + PAGE_HEADER + 16;
	if (!walk_reach(w, m->root, (uint64_t)db->in_use, ref, &pg))
		return;
	walk_push(w, &pg, 0, NULL, 0, NULL, 0);
	while (w->depth > 0) {
		check_frame *f = &w->stack[w->depth - 1];
		if (f->index >= f->pg.count) {
			w->depth--;
			continue;
		}
		uint32_t i = f->index++;
		bolt_elem e = { 0 };
		if (!elem_get(&f->pg, i, &e)) {
			report_bad_elem(db, &w->rep, &f->pg, i);
			continue;
		}
		if (f->pg.pgid != KVF_NO_PGID)
			w->st.used_bytes += (uint64_t)e.ksize + e.vsize;
		if (w->check_keys)
			check_key_order(w, f, i, &e);
		f->prev = e.key;
		f->prev_len = e.ksize;
		if (f->pg.flags == FLAG_BRANCH) {
			/* the child holds keys from its own key up to the next element's */
			const uint8_t *hi = f->hi;
			uint32_t hi_len = f->hi_len;
			bolt_elem next;
			if (i + 1 < f->pg.count && elem_get(&f->pg, i + 1, &next)) {
				hi = next.key;
				hi_len = next.ksize;
			}
			uint64_t ref_off = off_of(db, f->pg.p) + PAGE_HEADER + (uint64_t)i * ELEM_SIZE + 8;
			if (walk_reach(w, e.child, f->pg.at, ref_off, &pg))
				walk_push(w, &pg, f->level, e.key, e.ksize, hi, hi_len);
			continue;
		}
		if (e.flags & ELEM_BUCKET)
			walk_bucket(w, f, i, &e);
		else if (f->level == 0 && w->check_keys)
			report(&w->rep, f->pg.at, off_of(db, e.key), "page %" PRIu64 ": key[%" PRIu32
			       "] in the root bucket is not a bucket", f->pg.at, i);
	}
}

/* bbolt: every page below high water is reachable or freed. Without a
 * freelist (NoFreelistSync) unreachable pages are simply the free ones. */
static void walk_unreached(walker *w)
{
	bolt *db = w->db;
	uint64_t end = db->high_water < db->npages ? db->high_water : db->npages;
	for (uint64_t id = 2; id < end; id++) {
		if ((id & 63) == 0 && id + 64 <= end) {
			uint64_t a, b;
			memcpy(&a, w->reached + id / 8, 8);
			memcpy(&b, w->freed + id / 8, 8);
			if ((a | b) == UINT64_MAX) {
				id += 63;
				continue;
			}
		}
		if (bit_get(w->reached, id) || bit_get(w->freed, id))
			continue;
		w->st.unreachable++;
		if (w->freelist_ok)
			report(&w->rep, id, id * db->page_size, "page %" PRIu64 ": unreachable unfreed", id);
	}
}

static kvf_status walk(kvf_backend *b, walker *w, kvf_err *err)
{
	bolt *db = b->impl;
	w->db = db;
	w->reached = bitmap_new(db->npages + 64);
	w->freed = bitmap_new(db->npages + 64);
	if (!w->reached || !w->freed) {
		free(w->reached);
		free(w->freed);
		return kvf_err_set(err, KVF_E_NOMEM, db->map.path, KVF_NO_OFFSET, "out of memory");
	}
	w->total = db->high_water < db->npages ? db->high_water : db->npages;
	w->st.total_pages = db->npages;
	w->st.high_water = db->high_water;
	check_metas(w);
	check_freelist(w);
	walk_trees(w);
	walk_unreached(w);
	if (w->progress)
		w->progress(w->pctx, w->total, w->total);
	free(w->reached);
	free(w->freed);
	return KVF_OK;
}

static kvf_status bolt_page_stats(kvf_backend *b, kvf_page_stats *st, kvf_err *err)
{
	walker *w = calloc(1, sizeof(*w));
	if (!w)
		return kvf_err_set(err, KVF_E_NOMEM, b->info.path, KVF_NO_OFFSET, "out of memory");
	kvf_status s = walk(b, w, err);
	*st = w->st;
	free(w);
	return s;
}

static kvf_status bolt_check(kvf_backend *b, kvf_finding_fn fn, void *ctx,
                             kvf_progress_fn progress, void *pctx, bool *clean, kvf_err *err)
{
	walker *w = calloc(1, sizeof(*w));
	if (!w)
		return kvf_err_set(err, KVF_E_NOMEM, b->info.path, KVF_NO_OFFSET, "out of memory");
	w->check_keys = true;
	w->rep.fn = fn;
	w->rep.ctx = ctx;
	w->progress = progress;
	w->pctx = pctx;
	kvf_status s = walk(b, w, err);
	*clean = w->rep.count == 0;
	free(w);
	return s;
}

/* ---- open and close ---- */

static void bolt_close(kvf_backend *b)
{
	bolt *db = b->impl;
	if (db) {
		kvf_map_close(&db->map);
		free(db->reported);
		free(db);
	}
	free(b);
}

static const kvf_backend_ops bolt_ops = {
	.close = bolt_close,
	.buckets = bolt_buckets,
	.cursor_open = bolt_cursor_open,
	.cursor_seek = bolt_cursor_seek,
	.cursor_next = bolt_cursor_next,
	.cursor_close = bolt_cursor_close,
	.get = bolt_get,
	.bucket_stats = bolt_bucket_stats,
	.page_stats = bolt_page_stats,
	.check = bolt_check,
};

/* bbolt's db.meta(): the valid meta with the higher txid. */
static kvf_status choose_meta(kvf_backend *b, kvf_err *err)
{
	bolt *db = b->impl;
	char why[2][160];
	int bad[2];
	for (int i = 0; i < 2; i++) {
		meta_read(db, (uint64_t)i * db->page_size, db->page_size, &db->meta[i]);
		bad[i] = meta_problem(&db->meta[i], db->page_size, why[i], sizeof(why[i]));
	}
	if (bad[0] >= 0 && bad[1] >= 0)
		return kvf_err_set(err, KVF_E_CORRUPT, db->map.path, 0,
		                   "no valid bbolt meta page: page 0: %s; page 1: %s", why[0], why[1]);
	int use = bad[0] >= 0 ? 1 : bad[1] >= 0 ? 0 : db->meta[1].txid > db->meta[0].txid;
	int other = 1 - use;
	db->in_use = use;
	if (bad[other] >= 0) {
		/* The damaged meta may have been the newer one: unless its (readable)
		 * txid says it is older, what we read is a fallback. */
		const bolt_meta *o = &db->meta[other];
		bool older = o->present && o->magic == BOLT_MAGIC && o->txid < db->meta[use].txid;
		b->info.meta_fallback = !older;
		kvf_backend_add_finding(b, (uint64_t)other,
		                        o->present ? (uint64_t)other * db->page_size + PAGE_HEADER + (uint64_t)bad[other]
		                                   : KVF_NO_OFFSET,
		                        "page %d: %s; using the meta of page %d (txid %" PRIu64 ")",
		                        other, why[other], use, db->meta[use].txid);
	}
	return KVF_OK;
}

/* For `status`: the root and freelist pages the meta in use names must be
 * of that type (bbolt's tx.check finds the same). Reading the page header
 * is all it takes, and a freelist pgid on a leaf page (auger's sample db) is
 * otherwise seen only by `check`. */
static void check_meta_refs(const bolt *db, kvf_backend_info *info)
{
	const bolt_meta *m = &db->meta[db->in_use];
	struct { const char *what; uint64_t id; uint16_t want; uint64_t field; } refs[2] = {
		{ "root bucket", m->root, FLAG_BRANCH | FLAG_LEAF, 16 },
		{ "freelist", m->freelist, FLAG_FREELIST, 32 },
	};
	for (int i = 0; i < 2; i++) {
		if (refs[i].want == FLAG_FREELIST && refs[i].id == NO_FREELIST)
			continue;   /* NoFreelistSync */
		kvf_db_finding *f = &info->meta_refs[info->n_meta_refs];
		uint64_t meta_off = (uint64_t)db->in_use * db->page_size + PAGE_HEADER + refs[i].field;
		char tb[24];
		if (refs[i].id < 2 || refs[i].id >= db->npages || refs[i].id >= db->high_water) {
			f->pgid = refs[i].id;
			f->offset = meta_off;
			snprintf(f->msg, sizeof(f->msg), "meta page %d names page %" PRIu64 " as its %s: %s",
			         db->in_use, refs[i].id, refs[i].what,
			         refs[i].id < 2 ? "a meta page" : refs[i].id >= db->npages ? "past the end of the file"
			                                                                     : "beyond the high-water mark");
			info->n_meta_refs++;
			continue;
		}
		uint16_t flags = kvf_le16(db->data + refs[i].id * db->page_size + 8);
		if (refs[i].want == FLAG_FREELIST ? flags == FLAG_FREELIST
		                                  : flags == FLAG_BRANCH || flags == FLAG_LEAF)
			continue;
		f->pgid = refs[i].id;
		f->offset = refs[i].id * db->page_size + 8;
		snprintf(f->msg, sizeof(f->msg), "meta page %d names page %" PRIu64 " as its %s, but it is a %s page",
		         db->in_use, refs[i].id, refs[i].what, page_type(flags, tb, sizeof(tb)));
		info->n_meta_refs++;
	}
}

kvf_status kvf_bolt_open(kvf_backend **bp, const char *path, kvf_err *err)
{
	*bp = NULL;
	kvf_backend *b = calloc(1, sizeof(*b));
	bolt *db = calloc(1, sizeof(*db));
	if (!b || !db) {
		free(b);
		free(db);
		return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
	}
	b->ops = &bolt_ops;
	b->impl = db;
	kvf_status st = kvf_map_open(&db->map, path, err);
	if (st) {
		bolt_close(b);
		return st;
	}
	db->data = db->map.data;
	db->size = db->map.size;
	if (!find_page_size(db, &db->page_size)) {
		bolt_close(b);
		return kvf_err_set(err, KVF_E_CORRUPT, path, 0,
		                   "not a bbolt file: no valid meta page at page 0 nor at page 1 for page sizes 1 KiB to 64 KiB");
	}
	db->npages = db->size / db->page_size;
	if ((st = choose_meta(b, err))) {
		bolt_close(b);
		return st;
	}
	const bolt_meta *m = &db->meta[db->in_use];
	db->high_water = m->pgid;
	kvf_backend_info *info = &b->info;
	info->format = KVF_FORMAT_BBOLT;
	info->path = db->map.path;
	info->file_size = db->size;
	info->page_size = db->page_size;
	info->txid = m->txid;
	info->meta_in_use = db->in_use;
	info->high_water = m->pgid;
	info->freelist_pgid = m->freelist;
	info->root_pgid = m->root;
	check_meta_refs(db, info);
	if (db->high_water > db->npages)
		kvf_backend_add_finding(b, db->npages, db->npages * db->page_size,
		                        "page %" PRIu64 ": past end of file: high water %" PRIu64
		                        " but the file holds %" PRIu64 " pages", db->npages,
		                        db->high_water, db->npages);
	*bp = b;
	return KVF_OK;
}
