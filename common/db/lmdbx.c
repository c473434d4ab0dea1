/* The backend interface over liblmdb: each named database is a bucket.
 *
 * liblmdb trusts its file. The Debian build (0.9.24) keeps its assert()s, and
 * we measured what it does on damage:
 *   - a zero-filled leaf page met by MDB_NEXT: abort() ("Assertion 'IS_LEAF(mp)'
 *     failed in mdb_cursor_next()"), because mdb_cursor_sibling() pushes the
 *     next page without looking at its type;
 *   - a branch page claiming one key: abort() in mdb_page_search_root();
 *   - data.mdb cut short of the last page the meta names: SIGBUS, since the
 *     file is mapped to (last page + 1) * page size and pages past EOF fault;
 *   - node offsets and sizes are used unchecked, so a damaged node sends it
 *     up to 64 KiB (keys) or 4 GiB (values) past its page;
 *   - an empty data.mdb makes it try to write fresh meta pages (it fails only
 *     because MDB_RDONLY opened the file O_RDONLY); one damaged meta page and
 *     it refuses the whole file (MDB_INVALID).
 * So nothing reaches liblmdb that we have not walked first. Our own walk
 * ("vet") goes over a database's tree in our read-only map of the file and
 * checks, page by page, everything liblmdb would otherwise take on trust:
 * page ids inside the file and below the high-water mark, page type against
 * the level, header bounds, key counts, every node inside its page, overflow
 * runs inside the file, no page reached twice, no deeper than liblmdb's
 * cursor stack. A database that passes is read through liblmdb (cursors,
 * get, mdb_stat, and `check` compares liblmdb's pass with mdb_stat). One
 * that does not is read by the same walk, which skips the pages it could not
 * trust and records a finding for each: the interface's "cursors skip what
 * they cannot read". Beyond these structural facts (e.g. whether the bytes
 * of a value are the ones written) nothing can be checked: LMDB pages carry
 * no checksums.
 *
 * Layout facts (liblmdb 0.9.24 mdb.c, 64-bit little-endian; verified byte by
 * byte against a file liblmdb wrote, see the tests):
 *   page header (PAGEHDRSZ 16): pgno u64 @0, pad u16 @8, flags u16 @10,
 *     lower u16 @12, upper u16 @14 (overflow pages: page count u32 @12);
 *     then the node offsets, u16 each: NUMKEYS = (lower - 16) / 2.
 *   node (NODESIZE 8): lo u16, hi u16, flags u16, ksize u16, key, data.
 *     Leaf: data size = lo | hi << 16. Branch: child = lo | hi << 16 |
 *     flags << 32. Leaf flags F_BIGDATA 1 (data is the u64 pgno of an
 *     overflow run), F_SUBDATA 2 (data is an MDB_db: a named database),
 *     F_DUPDATA 4 (MDB_DUPSORT duplicates).
 *   meta page (pages 0 and 1): header, then MDB_meta: magic u32 @16
 *     (0xBEEFC0DE), version u32 @20 (1), address @24, mapsize @32,
 *     dbs[0] (free pages) @40, dbs[1] (main) @88, last_pg u64 @136,
 *     txnid u64 @144. Page size = dbs[0].md_pad. Transaction N writes meta
 *     page N & 1; liblmdb uses the meta with the larger txnid (0 on a tie).
 *   MDB_db (48 bytes): pad u32 @0, flags u16 @4, depth u16 @6, branch @8,
 *     leaf @16, overflow @24, entries @32, root @40 (P_INVALID = ~0: empty).
 *   free database (FREE_DBI 0): key = txnid (size_t), value = list of page
 *     ids that transaction freed: count, then count ids (size_t each).
 *
 * The main (unnamed) database holds one F_SUBDATA node per named database,
 * keyed by its name. It may also hold plain pairs; those are presented as a
 * bucket with the empty name, listed first. Neither LMDB nor bbolt can store
 * an empty key or bucket name (liblmdb refuses key size 0), so that name
 * cannot clash with a real database.
 *
 * Everything is read-only: liblmdb is opened MDB_RDONLY | MDB_NOLOCK |
 * MDB_NORDAHEAD (MDB_NOSUBDIR for a file), which opens the data file
 * O_RDONLY and creates no lock file; mdb_env_open reads only the two meta
 * pages, which we validate first. One read transaction lives as long as the
 * backend, so the spans we hand out (pointers into liblmdb's map) stay valid.
 * liblmdb's own open does not use O_NOATIME, so the access time of data.mdb
 * may change (relatime); contents, size and mtime never do.
 *
 * When one meta page is damaged liblmdb refuses the file (it reads both and
 * wants both sound). We then use the other meta, set meta_fallback, and
 * read every database with our own walk; liblmdb is not used at all.
 *
 * Statistics in LMDB terms. bucket_stats: mdb_stat's entries, pages and
 * depth (our walk's counts for a database liblmdb may not read), key and
 * value bytes summed by the vetting walk. page_stats: meta = 2; branch,
 * leaf, overflow = pages reachable from the main and the named databases;
 * freelist = the free-page database's own pages; free_listed = the sum of
 * the counts in its records (as mdb_stat -f); unreachable = the pages below
 * high water that are none of these (0 in a healthy file); used/capacity =
 * node and pointer bytes over (page size - 16) of branch and leaf pages.
 * info.root_pgid and info.freelist_pgid are the main and free databases'
 * roots (UINT64_MAX when empty).
 *
 * Not supported: MDB_DUPSORT databases (several values per key; etcd never
 * makes them): listed, but reading them is KVF_E_UNSUPPORTED. */
#include "db/backend_impl.h"
#include "db/lmdbx.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/source.h"

#define LM_PAGEHDRSZ 16u
#define LM_NODESIZE 8u
#define LM_DB_SIZE 48u
#define LM_MAGIC 0xBEEFC0DEu
#define LM_DATA_VERSION 1u
#define LM_META_SIZE 152u          /* header + MDB_meta up to mm_txnid */
#define LM_P_INVALID UINT64_MAX
#define LM_NUM_METAS 2u
/* liblmdb's CURSOR_STACK: a deeper tree gives MDB_CURSOR_FULL. */
#define LM_MAX_DEPTH 32
/* Page sizes we accept: liblmdb takes the OS page size, at most 0x8000
 * (MAX_PAGESIZE without MDB_DEVEL); allow 64 KiB for files from such hosts. */
#define LM_MIN_PSIZE 512u
#define LM_MAX_PSIZE 65536u
/* Address space we are willing to map for a file whose meta says so. */
#define LM_MAX_MAP (UINT64_C(1) << 46)

#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define P_LEAF2 0x20
#define P_SUBP 0x40
#define P_TYPES (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | P_SUBP)

#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define F_DUPDATA 0x04

#define PROGRESS_STEP 4096

/* MDB_db as stored. */
typedef struct lm_rec {
	uint32_t pad;
	uint16_t flags, depth;
	uint64_t branch_pages, leaf_pages, overflow_pages, entries, root;
} lm_rec;

typedef struct lm_meta {
	bool valid;
	uint32_t version;         /* when the magic was there */
	bool magic;
	uint64_t psize;
	lm_rec free_db, main_db;
	uint64_t last_pg, txnid;
	char why[96];             /* what is wrong when !valid */
} lm_meta;

typedef enum lm_kind { KIND_FREE, KIND_MAIN, KIND_NAMED } lm_kind;

typedef enum lm_state {
	DB_UNVETTED,
	DB_CLEAN,                 /* the walk found nothing liblmdb could trip on */
	DB_DAMAGED,               /* pages skipped: read by our walk only */
	DB_UNSUPPORTED,
} lm_state;

/* What a walk found. */
typedef struct lm_totals {
	uint64_t branch, leaf, overflow, entries;
	uint64_t key_bytes, value_bytes;
	uint64_t used_bytes, capacity_bytes;
	uint64_t depth, bad_pages;
} lm_totals;

typedef struct lm_db {
	lm_kind kind;
	const uint8_t *name;      /* into our map; NULL for main and free */
	size_t name_len;
	uint64_t name_off;
	char label[96];           /* printable, for findings */
	lm_rec rec;
	lm_state state;
	lm_totals tot;            /* from the vetting walk */
	unsigned intsize;         /* MDB_INTEGERKEY: the key size the walk saw */
	bool use_lmdb;            /* read through liblmdb */
	bool lmdb_tried;
	bool dup_name;            /* another record has the same name */
	MDB_dbi dbi;
} lm_db;

typedef struct lm_env {
	kvf_backend *b;
	char *data_path;
	kvf_map map;
	uint64_t psize, file_size, file_pages, high_water;
	uint64_t nbits;           /* pages a bitmap covers: min(file, high water) */
	lm_meta meta[LM_NUM_METAS];
	int meta_in_use;
	lm_db free_db, main_db;
	lm_db *dbs;               /* named databases, in the main database's order */
	size_t n_dbs;
	size_t *by_name;          /* indices into dbs sorted by name bytes */
	uint64_t main_plain;      /* plain pairs in the main database */
	MDB_env *env;
	MDB_txn *txn;
	const uint8_t *lmdb_base; /* liblmdb's map of page 0, NULL when unknown */
	bool accounted, checked;
	kvf_page_stats pages;
} lm_env;

/* ---- small helpers ---- */

static bool bit_test(const uint8_t *bm, uint64_t i) { return bm[i >> 3] & (1u << (i & 7)); }
static void bit_set(uint8_t *bm, uint64_t i) { bm[i >> 3] |= (uint8_t)(1u << (i & 7)); }

static void rec_parse(const uint8_t *p, lm_rec *r)
{
	r->pad = kvf_le32(p);
	r->flags = kvf_le16(p + 4);
	r->depth = kvf_le16(p + 6);
	r->branch_pages = kvf_le64(p + 8);
	r->leaf_pages = kvf_le64(p + 16);
	r->overflow_pages = kvf_le64(p + 24);
	r->entries = kvf_le64(p + 32);
	r->root = kvf_le64(p + 40);
}

static void label_bytes(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
	}
	if (o + 8 >= cap && o < cap)
		o += (size_t)snprintf(out + o, cap - o, "...");
	out[o < cap ? o : cap - 1] = '\0';
}

static void db_set_label(lm_db *db)
{
	if (db->kind == KIND_FREE) {
		snprintf(db->label, sizeof(db->label), "free-page database");
	} else if (db->kind == KIND_MAIN) {
		snprintf(db->label, sizeof(db->label), "main database");
	} else {
		char name[80];
		label_bytes(name, sizeof(name), db->name, db->name_len);
		snprintf(db->label, sizeof(db->label), "database \"%s\"", name);
	}
}

/* liblmdb's key orders (mdb_cmp_memn, mdb_cmp_memnr, mdb_cmp_cint); keys
 * of an integer-key database are all the same size, checked by the walk. */
static int key_cmp(uint16_t dbflags, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (dbflags & MDB_INTEGERKEY) {
		if (alen != blen)
			return alen < blen ? -1 : 1;
		for (size_t i = alen; i-- > 0;)
			if (a[i] != b[i])
				return a[i] < b[i] ? -1 : 1;
		return 0;
	}
	if (dbflags & MDB_REVERSEKEY) {
		size_t i = alen, j = blen;
		while (i > 0 && j > 0) {
			i--, j--;
			if (a[i] != b[j])
				return a[i] < b[j] ? -1 : 1;
		}
		return alen < blen ? -1 : alen > blen;
	}
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* ---- the walk ---- */

typedef struct lm_frame {
	const uint8_t *page;
	uint64_t pgno;
	uint32_t idx, nkeys;
	bool branch;
} lm_frame;

typedef struct lm_walk {
	lm_env *e;
	lm_db *db;
	bool record;              /* findings about the tree go to the backend */
	uint8_t *visited;         /* pages this walk reached */
	uint8_t *global;          /* optional: pages any walk reached (accounting) */
	lm_frame st[LM_MAX_DEPTH];
	int n;
	unsigned leaf_level;      /* 0 until the first good leaf */
	unsigned intsize;         /* integer-key databases: the key size */
	bool started;
	lm_totals tot;
	kvf_progress_fn progress;
	void *pctx;
	uint64_t *pages_done, pages_total;
} lm_walk;

typedef struct lm_entry {
	kvf_span key, value;
	uint16_t flags;
} lm_entry;

static void walk_finding(lm_walk *w, uint64_t pgno, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void walk_finding(lm_walk *w, uint64_t pgno, uint64_t off, const char *fmt, ...)
{
	if (!w->record)
		return;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pgno == KVF_NO_PGID)
		kvf_backend_add_finding(w->e->b, pgno, off, "%s: %s", w->db->label, msg);
	else
		kvf_backend_add_finding(w->e->b, pgno, off, "%s: page %llu: %s", w->db->label,
		                        (unsigned long long)pgno, msg);
}

/* A page claimed by two trees: known only in the accounting pass. */
static void shared_finding(lm_walk *w, uint64_t pgno, const char *what)
{
	kvf_backend_add_finding(w->e->b, pgno, pgno * w->e->psize, "%s: page %llu: %s",
	                        w->db->label, (unsigned long long)pgno, what);
}

static kvf_status walk_init(lm_walk *w, lm_env *e, lm_db *db, bool record, uint8_t *global, kvf_err *err)
{
	memset(w, 0, sizeof(*w));
	w->e = e;
	w->db = db;
	w->record = record;
	w->global = global;
	w->visited = calloc(e->nbits / 8 + 1, 1);
	if (!w->visited)
		return kvf_err_set(err, KVF_E_NOMEM, e->data_path, KVF_NO_OFFSET, "out of memory");
	return KVF_OK;
}

static void walk_reset(lm_walk *w)
{
	memset(w->visited, 0, w->e->nbits / 8 + 1);
	w->n = 0;
	w->leaf_level = 0;
	w->intsize = 0;
	w->started = false;
	memset(&w->tot, 0, sizeof(w->tot));
}

static void walk_free(lm_walk *w)
{
	free(w->visited);
	w->visited = NULL;
}

static void walk_progress(lm_walk *w, uint64_t pages)
{
	if (!w->pages_done)
		return;
	uint64_t before = *w->pages_done;
	*w->pages_done += pages;
	if (w->progress && before / PROGRESS_STEP != *w->pages_done / PROGRESS_STEP)
		w->progress(w->pctx, *w->pages_done, w->pages_total);
}

/* Can page pgno be looked at at all? */
static bool page_in_range(lm_walk *w, uint64_t pgno, uint64_t from_off, const char *what)
{
	lm_env *e = w->e;
	if (pgno < LM_NUM_METAS || pgno >= e->high_water) {
		walk_finding(w, KVF_NO_PGID, from_off, "%s names page %llu, outside the pages in use (2..%llu)",
		             what, (unsigned long long)pgno, (unsigned long long)e->high_water - 1);
		return false;
	}
	if (pgno >= e->file_pages) {
		walk_finding(w, pgno, from_off, "%s lies past the end of the file (%llu pages): truncated",
		             what, (unsigned long long)e->file_pages);
		return false;
	}
	return true;
}

/* An overflow run holding a value of dsize bytes. */
static bool overflow_ok(lm_walk *w, uint64_t pgno, uint64_t dsize, uint64_t node_off)
{
	lm_env *e = w->e;
	if (!page_in_range(w, pgno, node_off, "overflow value"))
		return false;
	const uint8_t *p = e->map.data + pgno * e->psize;
	uint16_t flags = kvf_le16(p + 10);
	uint32_t npages = kvf_le32(p + 12);
	uint64_t limit = e->high_water < e->file_pages ? e->high_water : e->file_pages;
	if ((flags & P_TYPES) != P_OVERFLOW) {
		walk_finding(w, pgno, pgno * e->psize, "value's overflow page has flags 0x%x, not an overflow page%s",
		             flags, kvf_is_zero(p, e->psize) ? " (all zero)" : "");
		return false;
	}
	if (npages == 0 || npages > limit - pgno) {
		walk_finding(w, pgno, pgno * e->psize + 12, "overflow run of %u pages does not fit below page %llu",
		             npages, (unsigned long long)limit);
		return false;
	}
	if (dsize > (uint64_t)npages * e->psize - LM_PAGEHDRSZ) {
		walk_finding(w, pgno, pgno * e->psize, "value of %llu bytes is longer than its overflow run of %u pages",
		             (unsigned long long)dsize, npages);
		return false;
	}
	return true;
}

/* Check a tree page completely before anything reads its nodes. */
static bool page_ok(lm_walk *w, uint64_t pgno, unsigned level, uint64_t from_off, lm_frame *f)
{
	lm_env *e = w->e;
	uint64_t ps = e->psize;
	if (!page_in_range(w, pgno, from_off, level == 1 ? "root page" : "child page"))
		return false;
	uint64_t off = pgno * ps;
	if (bit_test(w->visited, pgno)) {
		walk_finding(w, pgno, off, "reached twice (a cycle or a shared subtree)");
		return false;
	}
	bit_set(w->visited, pgno);
	const uint8_t *p = e->map.data + off;
	uint64_t hdr_pgno = kvf_le64(p);
	uint16_t flags = kvf_le16(p + 10), lower = kvf_le16(p + 12), upper = kvf_le16(p + 14);
	uint16_t type = flags & P_TYPES;
	if (type != P_BRANCH && type != P_LEAF) {
		walk_finding(w, pgno, off + 10, "not a branch or leaf page (flags 0x%x)%s", flags,
		             kvf_is_zero(p, ps) ? ", all zero" : "");
		return false;
	}
	bool branch = type == P_BRANCH;
	if (w->leaf_level && branch != (level < w->leaf_level)) {
		walk_finding(w, pgno, off + 10, "%s page at level %u, but the leaves are at level %u",
		             branch ? "branch" : "leaf", level, w->leaf_level);
		return false;
	}
	if (lower < LM_PAGEHDRSZ || (lower & 1) || lower > upper || upper > ps) {
		walk_finding(w, pgno, off + 12, "bounds lower %u upper %u do not fit a %llu-byte page",
		             lower, upper, (unsigned long long)ps);
		return false;
	}
	uint32_t nkeys = (lower - LM_PAGEHDRSZ) / 2u;
	/* mdb_page_search_root asserts NUMKEYS > 1 on branch pages except in the
	 * free database (ITS#8336); an empty leaf is never written (mdb_rebalance
	 * frees it). */
	uint32_t min = branch ? (w->db->kind == KIND_FREE ? 1 : 2) : 1;
	if (nkeys < min) {
		walk_finding(w, pgno, off + 12, "%s page with %u keys (liblmdb needs at least %u)",
		             branch ? "branch" : "leaf", nkeys, min);
		return false;
	}
	bool integer = (w->db->rec.flags & MDB_INTEGERKEY) != 0;
	for (uint32_t i = 0; i < nkeys; i++) {
		uint16_t no = kvf_le16(p + LM_PAGEHDRSZ + 2 * i);
		if (no < upper || no > ps - LM_NODESIZE) {
			walk_finding(w, pgno, off + LM_PAGEHDRSZ + 2 * i,
			             "node %u at %u is outside the node area %u..%llu", i, no, upper,
			             (unsigned long long)ps);
			return false;
		}
		const uint8_t *nd = p + no;
		uint32_t dsize = kvf_le16(nd) | (uint32_t)kvf_le16(nd + 2) << 16;
		uint16_t nflags = kvf_le16(nd + 4), ksize = kvf_le16(nd + 6);
		uint64_t room = ps - no - LM_NODESIZE;
		if (ksize > room) {
			walk_finding(w, pgno, off + no, "node %u: key of %u bytes runs past the page", i, ksize);
			return false;
		}
		/* branch key 0 is never compared (it stands for "everything below") */
		if (integer && (!branch || i > 0)) {
			if (!w->intsize && (ksize == 4 || ksize == 8))
				w->intsize = ksize;
			if (ksize != w->intsize) {
				walk_finding(w, pgno, off + no, "node %u: %u-byte key in an integer-key database", i, ksize);
				return false;
			}
		}
		if (branch)
			continue;   /* the child is checked when it is reached */
		room -= ksize;
		if (nflags == 0) {
			if (dsize > room) {
				walk_finding(w, pgno, off + no, "node %u: value of %u bytes runs past the page", i, dsize);
				return false;
			}
		} else if (nflags == F_BIGDATA) {
			if (room < 8) {
				walk_finding(w, pgno, off + no, "node %u: overflow page id runs past the page", i);
				return false;
			}
			if (!overflow_ok(w, kvf_le64(nd + LM_NODESIZE + ksize), dsize, off + no))
				return false;
		} else if (nflags == F_SUBDATA && w->db->kind == KIND_MAIN) {
			if (dsize != LM_DB_SIZE || room < LM_DB_SIZE) {
				walk_finding(w, pgno, off + no, "node %u: named-database record of %u bytes, not %u",
				             i, dsize, LM_DB_SIZE);
				return false;
			}
		} else {
			/* F_DUPDATA outside an MDB_DUPSORT database: liblmdb would use a
			 * duplicate cursor it never allocated. */
			walk_finding(w, pgno, off + no, "node %u: flags 0x%x unexpected in this database", i, nflags);
			return false;
		}
	}
	/* The page is sound: account for it and claim its overflow runs. */
	if (w->global) {
		if (bit_test(w->global, pgno))
			shared_finding(w, pgno, "also belongs to another database");
		bit_set(w->global, pgno);
	}
	uint64_t pages = 1;
	if (!branch) {
		for (uint32_t i = 0; i < nkeys; i++) {
			const uint8_t *nd = p + kvf_le16(p + LM_PAGEHDRSZ + 2 * i);
			uint32_t dsize = kvf_le16(nd) | (uint32_t)kvf_le16(nd + 2) << 16;
			uint16_t ksize = kvf_le16(nd + 6);
			w->tot.key_bytes += ksize;
			w->tot.value_bytes += dsize;
			if (kvf_le16(nd + 4) != F_BIGDATA)
				continue;
			uint64_t ov = kvf_le64(nd + LM_NODESIZE + ksize);
			uint32_t np = kvf_le32(e->map.data + ov * ps + 12);
			for (uint64_t k = ov; k < ov + np; k++) {
				if (bit_test(w->visited, k))
					walk_finding(w, k, k * ps, "overflow page reached twice");
				bit_set(w->visited, k);
				if (w->global) {
					if (bit_test(w->global, k))
						shared_finding(w, k, "overflow page also belongs to another database");
					bit_set(w->global, k);
				}
			}
			w->tot.overflow += np;
			pages += np;
		}
		w->tot.leaf++;
		w->tot.entries += nkeys;
		if (!w->leaf_level)
			w->leaf_level = level;
	} else {
		w->tot.branch++;
	}
	if (hdr_pgno != pgno)
		walk_finding(w, pgno, off, "header names page %llu", (unsigned long long)hdr_pgno);
	if (level > w->tot.depth)
		w->tot.depth = level;
	w->tot.used_bytes += (uint64_t)(lower - LM_PAGEHDRSZ) + (ps - upper);
	w->tot.capacity_bytes += ps - LM_PAGEHDRSZ;
	walk_progress(w, pages);
	f->page = p;
	f->pgno = pgno;
	f->idx = 0;
	f->nkeys = nkeys;
	f->branch = branch;
	return true;
}

static void walk_push(lm_walk *w, uint64_t pgno, uint64_t from_off)
{
	unsigned level = (unsigned)w->n + 1;
	lm_frame f;
	if (level > LM_MAX_DEPTH) {
		walk_finding(w, pgno, KVF_NO_OFFSET, "tree deeper than %d levels (liblmdb's cursor stack)",
		             LM_MAX_DEPTH);
	} else if (page_ok(w, pgno, level, from_off, &f)) {
		w->st[w->n++] = f;
		return;
	}
	w->tot.bad_pages++;
	walk_progress(w, 1);
}

/* The next leaf entry in tree order, skipping pages that failed. */
static bool walk_next(lm_walk *w, lm_entry *en)
{
	lm_env *e = w->e;
	if (!w->started) {
		w->started = true;
		if (w->db->rec.root != LM_P_INVALID)
			walk_push(w, w->db->rec.root, KVF_NO_OFFSET);
	}
	while (w->n > 0) {
		lm_frame *f = &w->st[w->n - 1];
		if (f->idx >= f->nkeys) {
			w->n--;
			continue;
		}
		uint32_t i = f->idx++;
		uint16_t no = kvf_le16(f->page + LM_PAGEHDRSZ + 2 * i);
		const uint8_t *nd = f->page + no;
		uint64_t noff = f->pgno * e->psize + no;
		if (f->branch) {
			uint64_t child = kvf_le16(nd) | (uint64_t)kvf_le16(nd + 2) << 16 |
			                 (uint64_t)kvf_le16(nd + 4) << 32;
			walk_push(w, child, noff);
			continue;
		}
		uint32_t dsize = kvf_le16(nd) | (uint32_t)kvf_le16(nd + 2) << 16;
		uint16_t ksize = kvf_le16(nd + 6);
		en->flags = kvf_le16(nd + 4);
		en->key.p = nd + LM_NODESIZE;
		en->key.len = ksize;
		en->key.file_offset = noff + LM_NODESIZE;
		if (en->flags == F_BIGDATA) {
			uint64_t ov = kvf_le64(nd + LM_NODESIZE + ksize);
			en->value.file_offset = ov * e->psize + LM_PAGEHDRSZ;
			en->value.p = e->map.data + en->value.file_offset;
		} else {
			en->value.file_offset = noff + LM_NODESIZE + ksize;
			en->value.p = nd + LM_NODESIZE + ksize;
		}
		en->value.len = dsize;
		return true;
	}
	return false;
}

/* Compare what the walk found with what the database record says; only
 * meaningful when no page was skipped. */
static void compare_record(lm_walk *w)
{
	const lm_rec *r = &w->db->rec;
	const lm_totals *t = &w->tot;
	if (t->bad_pages)
		return;
	uint64_t off = KVF_NO_OFFSET;
	if (t->entries != r->entries)
		walk_finding(w, KVF_NO_PGID, off, "record says %llu entries, the tree holds %llu",
		             (unsigned long long)r->entries, (unsigned long long)t->entries);
	if (t->branch != r->branch_pages || t->leaf != r->leaf_pages || t->overflow != r->overflow_pages)
		walk_finding(w, KVF_NO_PGID, off,
		             "record says %llu branch, %llu leaf, %llu overflow pages; the tree has %llu, %llu, %llu",
		             (unsigned long long)r->branch_pages, (unsigned long long)r->leaf_pages,
		             (unsigned long long)r->overflow_pages, (unsigned long long)t->branch,
		             (unsigned long long)t->leaf, (unsigned long long)t->overflow);
	if (t->depth != r->depth)
		walk_finding(w, KVF_NO_PGID, off, "record says depth %u, the tree is %llu deep",
		             r->depth, (unsigned long long)t->depth);
}

/* ---- vetting and liblmdb handles ---- */

static bool db_supported(lm_env *e, lm_db *db)
{
	if (db->kind == KIND_FREE || !(db->rec.flags & MDB_DUPSORT))
		return true;
	if (db->state != DB_UNSUPPORTED) {
		db->state = DB_UNSUPPORTED;
		kvf_backend_add_finding(e->b, KVF_NO_PGID, db->name_off,
		                        "%s: flags 0x%x (MDB_DUPSORT): duplicate-key databases are not read",
		                        db->label, db->rec.flags);
	}
	return false;
}

/* The first complete walk of a tree settles whether liblmdb may read it. */
static void finish_vet(lm_walk *w)
{
	lm_db *db = w->db;
	compare_record(w);
	db->tot = w->tot;
	db->intsize = w->intsize;
	db->state = w->tot.bad_pages ? DB_DAMAGED : DB_CLEAN;
}

/* Vet db (recording findings), giving each entry to `each` on the way. */
static kvf_status db_walk_all(lm_env *e, lm_db *db, bool (*each)(void *ctx, const lm_entry *en),
                              void *ctx, kvf_err *err)
{
	lm_walk w;
	kvf_status st = walk_init(&w, e, db, true, NULL, err);
	if (st)
		return st;
	lm_entry en;
	while (walk_next(&w, &en))
		if (each && !each(ctx, &en))
			break;
	finish_vet(&w);
	walk_free(&w);
	return KVF_OK;
}

static kvf_status db_vet(lm_env *e, lm_db *db, kvf_err *err)
{
	if (!db_supported(e, db))
		return KVF_OK;
	if (db->state != DB_UNVETTED)
		return KVF_OK;
	return db_walk_all(e, db, NULL, NULL, err);
}

/* Decide, once, whether liblmdb may read db. */
static void db_lmdb_handle(lm_env *e, lm_db *db)
{
	if (db->lmdb_tried)
		return;
	db->lmdb_tried = true;
	if (!e->txn || db->state != DB_CLEAN)
		return;
	if (db->kind == KIND_FREE) {
		db->dbi = 0;   /* FREE_DBI */
		db->use_lmdb = true;
		return;
	}
	if (db->kind == KIND_MAIN) {
		int rc = mdb_dbi_open(e->txn, NULL, 0, &db->dbi);
		db->use_lmdb = rc == MDB_SUCCESS;
		return;
	}
	/* mdb_dbi_open searches the main database: only once that is sound. And
	 * it takes a C string, so a name with a NUL byte is read by our walk. */
	if (e->main_db.state != DB_CLEAN || !e->main_db.use_lmdb || memchr(db->name, 0, db->name_len) ||
	    db->dup_name)
		return;
	char *name = malloc(db->name_len + 1);
	if (!name)
		return;
	memcpy(name, db->name, db->name_len);
	name[db->name_len] = '\0';
	int rc = mdb_dbi_open(e->txn, name, 0, &db->dbi);
	free(name);
	if (rc != MDB_SUCCESS) {
		kvf_backend_add_finding(e->b, KVF_NO_PGID, db->name_off, "%s: liblmdb cannot open it: %s",
		                        db->label, mdb_strerror(rc));
		return;
	}
	MDB_stat ms;
	if (mdb_stat(e->txn, db->dbi, &ms) != MDB_SUCCESS || ms.ms_entries != db->rec.entries ||
	    ms.ms_depth != db->rec.depth || ms.ms_leaf_pages != db->rec.leaf_pages) {
		/* liblmdb copied a different record from the one we walked */
		kvf_backend_add_finding(e->b, KVF_NO_PGID, db->name_off,
		                        "%s: liblmdb's record differs from the file's", db->label);
		return;
	}
	db->use_lmdb = true;
}

static kvf_status db_prepare(lm_env *e, lm_db *db, kvf_err *err)
{
	kvf_status st = db_vet(e, db, err);
	if (st)
		return st;
	if (db->state == DB_UNSUPPORTED) {
		kvf_err_set(err, KVF_E_UNSUPPORTED, e->data_path, db->name_off,
		            "%s: flags 0x%x (MDB_DUPSORT): duplicate-key databases are not read", db->label,
		            db->rec.flags);
		return KVF_E_UNSUPPORTED;
	}
	db_lmdb_handle(e, db);
	return KVF_OK;
}

/* A span for bytes liblmdb handed us. */
static kvf_status lmdb_span(lm_env *e, const MDB_val *v, kvf_span *s, kvf_err *err)
{
	s->p = v->mv_data;
	s->len = v->mv_size;
	s->file_offset = KVF_NO_OFFSET;
	if (!e->lmdb_base)
		return KVF_OK;
	uintptr_t p = (uintptr_t)v->mv_data, base = (uintptr_t)e->lmdb_base;
	if (p < base || p - base > e->file_size || v->mv_size > e->file_size - (p - base))
		return kvf_err_set(err, KVF_E_CORRUPT, e->data_path, KVF_NO_OFFSET,
		                   "liblmdb returned %zu bytes outside the file", v->mv_size);
	s->file_offset = p - base;
	return KVF_OK;
}

/* mdb_env_info's me_mapaddr is the meta's mm_address, the fixed-map address
 * a writer asked for (0 unless MDB_FIXEDMAP), not where this process mapped
 * the file. So the base comes from the first key of the main database:
 * liblmdb's pointer minus that key's offset in the file, as our walk knows
 * it, confirmed by comparing both meta pages with the file. */
static void find_lmdb_base(lm_env *e)
{
	lm_db *m = &e->main_db;
	if (!m->use_lmdb || m->rec.root == LM_P_INVALID)
		return;
	lm_walk w;
	if (walk_init(&w, e, m, false, NULL, NULL))
		return;
	lm_entry en;
	bool have = walk_next(&w, &en);
	walk_free(&w);
	MDB_cursor *c;
	if (!have || mdb_cursor_open(e->txn, m->dbi, &c) != MDB_SUCCESS)
		return;
	MDB_val k, v;
	int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	mdb_cursor_close(c);
	if (rc != MDB_SUCCESS || k.mv_size != en.key.len)
		return;
	uintptr_t p = (uintptr_t)k.mv_data;
	if (p < en.key.file_offset)
		return;
	uintptr_t base = p - en.key.file_offset;
	long os = sysconf(_SC_PAGESIZE);
	size_t span = 2 * e->psize;
	unsigned char vec[LM_MAX_PSIZE * 2 / 512];
	if (os <= 0 || base % (uintptr_t)os || span / (size_t)os + 1 > sizeof(vec) ||
	    mincore((void *)base, span, vec) != 0 || memcmp((void *)base, e->map.data, span) != 0)
		return;
	e->lmdb_base = (const uint8_t *)base;
}

/* ---- opening ---- */

static void meta_parse(const uint8_t *p, lm_meta *m, uint64_t want_psize)
{
	memset(m, 0, sizeof(*m));
	uint16_t flags = kvf_le16(p + 10);
	m->magic = kvf_le32(p + 16) == LM_MAGIC;
	m->version = kvf_le32(p + 20);
	rec_parse(p + 40, &m->free_db);
	rec_parse(p + 88, &m->main_db);
	m->psize = m->free_db.pad;
	m->last_pg = kvf_le64(p + 136);
	m->txnid = kvf_le64(p + 144);
	if (!(flags & P_META))
		snprintf(m->why, sizeof(m->why), "page flags 0x%x lack P_META", flags);
	else if (!m->magic)
		snprintf(m->why, sizeof(m->why), "no LMDB magic 0xBEEFC0DE");
	else if (m->version != LM_DATA_VERSION)
		snprintf(m->why, sizeof(m->why), "data version %u, liblmdb %d.%d.%d reads version %u",
		         m->version, MDB_VERSION_MAJOR, MDB_VERSION_MINOR, MDB_VERSION_PATCH, LM_DATA_VERSION);
	else if (m->psize < LM_MIN_PSIZE || m->psize > LM_MAX_PSIZE || (m->psize & (m->psize - 1)))
		snprintf(m->why, sizeof(m->why), "page size %llu is not a power of two in %u..%u",
		         (unsigned long long)m->psize, LM_MIN_PSIZE, LM_MAX_PSIZE);
	else if (want_psize && m->psize != want_psize)
		snprintf(m->why, sizeof(m->why), "page size %llu, the other meta says %llu",
		         (unsigned long long)m->psize, (unsigned long long)want_psize);
	else if (m->last_pg < 1 || m->last_pg >= LM_MAX_MAP / m->psize)
		snprintf(m->why, sizeof(m->why), "last page %llu is impossible", (unsigned long long)m->last_pg);
	else
		m->valid = true;
}

static kvf_status read_metas(lm_env *e, kvf_err *err)
{
	const char *path = e->data_path;
	const uint8_t *d = e->map.data;
	if (e->file_size < LM_META_SIZE)
		return kvf_err_set(err, KVF_E_TRUNCATED, path, 0,
		                   "%llu bytes: too short for an LMDB meta page", (unsigned long long)e->file_size);
	meta_parse(d, &e->meta[0], 0);
	uint64_t ps = e->meta[0].valid ? e->meta[0].psize : 0;
	if (ps) {
		if (e->file_size >= ps + LM_META_SIZE)
			meta_parse(d + ps, &e->meta[1], ps);
		else
			snprintf(e->meta[1].why, sizeof(e->meta[1].why), "past the end of the file");
	} else {
		/* page 0 is unusable: look for page 1 at every page size it could have */
		for (uint64_t c = LM_MIN_PSIZE; c <= LM_MAX_PSIZE && c + LM_META_SIZE <= e->file_size; c *= 2) {
			lm_meta m;
			meta_parse(d + c, &m, c);
			if (m.valid) {
				e->meta[1] = m;
				ps = c;
				break;
			}
		}
		if (!ps)
			snprintf(e->meta[1].why, sizeof(e->meta[1].why), "not found at any page size");
	}
	bool v0 = e->meta[0].valid, v1 = e->meta[1].valid;
	if (!v0 && !v1) {
		if (e->meta[0].magic && e->meta[0].version != LM_DATA_VERSION)
			return kvf_err_set(err, KVF_E_UNSUPPORTED, path, 20, "LMDB version mismatch: %s", e->meta[0].why);
		if (!e->meta[0].magic)
			return kvf_err_set(err, KVF_E_UNSUPPORTED, path, 16,
			                   "not an LMDB file: no meta page with the LMDB magic");
		return kvf_err_set(err, KVF_E_CORRUPT, path, 0, "both LMDB meta pages are damaged: page 0: %s",
		                   e->meta[0].why);
	}
	/* liblmdb: metas[metas[0]->mm_txnid < metas[1]->mm_txnid] */
	e->meta_in_use = v0 && v1 ? e->meta[0].txnid < e->meta[1].txnid : v1;
	e->psize = ps;
	if (!(v0 && v1)) {
		int bad = !e->meta_in_use;
		e->b->info.meta_fallback = true;
		kvf_backend_add_finding(e->b, (uint64_t)bad, bad ? ps : 0,
		                        "meta page %d is damaged (%s); liblmdb refuses such a file, so it is read "
		                        "by our own walk from meta page %d (txnid %llu), which may be the older one",
		                        bad, e->meta[bad].why, !bad,
		                        (unsigned long long)e->meta[!bad].txnid);
	}
	const lm_meta *m = &e->meta[e->meta_in_use];
	e->high_water = m->last_pg + 1;
	e->file_pages = e->file_size / ps;
	e->nbits = e->high_water < e->file_pages ? e->high_water : e->file_pages;
	if (e->high_water > e->file_pages)
		kvf_backend_add_finding(e->b, KVF_NO_PGID, e->file_size,
		                        "the file ends at page %llu but meta page %d says pages up to %llu are in use: truncated",
		                        (unsigned long long)e->file_pages, e->meta_in_use,
		                        (unsigned long long)m->last_pg);
	e->free_db.rec = m->free_db;
	e->main_db.rec = m->main_db;
	if (m->main_db.flags & (MDB_DUPSORT | MDB_INTEGERKEY))
		return kvf_err_set(err, KVF_E_UNSUPPORTED, path, (uint64_t)e->meta_in_use * ps + 92,
		                   "main database has flags 0x%x: it cannot hold named databases",
		                   m->main_db.flags);
	return KVF_OK;
}

static int name_order(const void *a, const void *b, void *ctx)
{
	const lm_db *dbs = ctx;
	const lm_db *x = &dbs[*(const size_t *)a], *y = &dbs[*(const size_t *)b];
	return key_cmp(0, x->name, x->name_len, y->name, y->name_len);
}

typedef struct collect_ctx {
	lm_env *e;
	size_t cap;
	bool nomem;
} collect_ctx;

static bool collect_db(void *ctx, const lm_entry *en)
{
	collect_ctx *c = ctx;
	lm_env *e = c->e;
	if (en->flags != F_SUBDATA) {
		e->main_plain++;
		return true;
	}
	if (e->n_dbs == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		lm_db *v = realloc(e->dbs, cap * sizeof(*v));
		if (!v) {
			c->nomem = true;
			return false;
		}
		e->dbs = v;
		c->cap = cap;
	}
	lm_db *db = &e->dbs[e->n_dbs++];
	memset(db, 0, sizeof(*db));
	db->kind = KIND_NAMED;
	db->name = en->key.p;
	db->name_len = en->key.len;
	db->name_off = en->key.file_offset;
	rec_parse(en->value.p, &db->rec);
	db_set_label(db);
	return true;
}

static kvf_status list_databases(lm_env *e, kvf_err *err)
{
	collect_ctx c = { .e = e };
	kvf_status st = db_walk_all(e, &e->main_db, collect_db, &c, err);
	if (st)
		return st;
	if (c.nomem || !(e->by_name = malloc((e->n_dbs + 1) * sizeof(size_t))))
		return kvf_err_set(err, KVF_E_NOMEM, e->data_path, KVF_NO_OFFSET, "out of memory");
	for (size_t i = 0; i < e->n_dbs; i++)
		e->by_name[i] = i;
	qsort_r(e->by_name, e->n_dbs, sizeof(size_t), name_order, e->dbs);
	/* A name twice (only damage does that): liblmdb's binary search may
	 * find the record we did not walk, so neither goes to liblmdb. */
	for (size_t i = 1; i < e->n_dbs; i++) {
		lm_db *a = &e->dbs[e->by_name[i - 1]], *d = &e->dbs[e->by_name[i]];
		if (name_order(&e->by_name[i - 1], &e->by_name[i], e->dbs) == 0) {
			if (!a->dup_name)
				kvf_backend_add_finding(e->b, KVF_NO_PGID, d->name_off,
				                        "main database: %s is named twice", d->label);
			a->dup_name = d->dup_name = true;
		}
	}
	return KVF_OK;
}

static kvf_status open_lmdb(lm_env *e, const char *path, bool is_dir, kvf_err *err)
{
	int rc = mdb_env_create(&e->env);
	if (rc)
		return kvf_err_set(err, KVF_E_NOMEM, e->data_path, KVF_NO_OFFSET, "mdb_env_create: %s", mdb_strerror(rc));
	/* named databases: what the main database holds, counted by our walk */
	unsigned maxdbs = e->n_dbs < 1u << 20 ? (unsigned)e->n_dbs + 1 : 1u << 20;
	/* map the file (or the pages the meta names, if more), not the writer's
	 * mm_mapsize, which may be huge */
	uint64_t pages = e->high_water > e->file_pages ? e->high_water : e->file_pages;
	if ((rc = mdb_env_set_maxdbs(e->env, maxdbs)) ||
	    (rc = mdb_env_set_mapsize(e->env, (size_t)(pages * e->psize))) ||
	    (rc = mdb_env_open(e->env, path, MDB_RDONLY | MDB_NOLOCK | MDB_NORDAHEAD |
	                                     (is_dir ? 0 : MDB_NOSUBDIR), 0)))
		return kvf_err_set(err, rc > 0 ? KVF_E_IO : KVF_E_CORRUPT, e->data_path, KVF_NO_OFFSET,
		                   "liblmdb cannot open it: %s", mdb_strerror(rc));
	MDB_envinfo ei;
	MDB_stat es;
	const lm_meta *m = &e->meta[e->meta_in_use];
	if (mdb_env_info(e->env, &ei) || mdb_env_stat(e->env, &es) || ei.me_last_txnid != m->txnid ||
	    ei.me_last_pgno != m->last_pg || es.ms_psize != e->psize)
		return kvf_err_set(err, KVF_E_CORRUPT, e->data_path, KVF_NO_OFFSET,
		                   "liblmdb reads a different meta (txnid %zu, last page %zu) from ours (%llu, %llu)",
		                   ei.me_last_txnid, ei.me_last_pgno, (unsigned long long)m->txnid,
		                   (unsigned long long)m->last_pg);
	if ((rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &e->txn)))
		return kvf_err_set(err, KVF_E_IO, e->data_path, KVF_NO_OFFSET, "mdb_txn_begin: %s", mdb_strerror(rc));
	return KVF_OK;
}

static void lm_close(kvf_backend *b);
static const kvf_backend_ops lm_ops;

kvf_status kvf_lmdb_open(kvf_backend **bp, const char *path, kvf_err *err)
{
	*bp = NULL;
	kvf_backend *b = calloc(1, sizeof(*b));
	lm_env *e = calloc(1, sizeof(*e));
	if (!b || !e) {
		free(b);
		free(e);
		return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
	}
	b->ops = &lm_ops;
	b->impl = e;
	e->b = b;
	e->free_db.kind = KIND_FREE;
	e->main_db.kind = KIND_MAIN;
	db_set_label(&e->free_db);
	db_set_label(&e->main_db);
	bool is_dir = kvf_is_dir(path);
	e->data_path = is_dir ? kvf_path_join(path, "data.mdb") : strdup(path);
	kvf_status st;
	if (!e->data_path) {
		st = kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		goto fail;
	}
	if ((st = kvf_map_open(&e->map, e->data_path, err)))
		goto fail;
	if (e->map.gz) {
		st = kvf_err_set(err, KVF_E_UNSUPPORTED, e->data_path, 0,
		                 "a gzip file: LMDB is read through liblmdb, which needs the file itself");
		goto fail;
	}
	e->file_size = e->map.size;
	if ((st = read_metas(e, err)))
		goto fail;
	if ((st = list_databases(e, err)))
		goto fail;
	if (!b->info.meta_fallback) {
		if ((st = open_lmdb(e, path, is_dir, err)))
			goto fail;
		db_lmdb_handle(e, &e->main_db);
		find_lmdb_base(e);
	}
	kvf_backend_info *in = &b->info;
	const lm_meta *m = &e->meta[e->meta_in_use];
	in->format = KVF_FORMAT_LMDB;
	in->path = e->data_path;
	in->file_size = e->file_size;
	in->page_size = e->psize;
	in->txid = m->txnid;
	in->meta_in_use = e->meta_in_use;
	in->high_water = e->high_water;
	/* the bbolt fields, in LMDB terms: free-page and main database roots */
	in->freelist_pgid = m->free_db.root;
	in->root_pgid = m->main_db.root;
	*bp = b;
	return KVF_OK;
fail:
	if (err && e->data_path && err->file == e->data_path) {
		/* the error outlives e->data_path: name the caller's string */
		err->file = path;
		if (is_dir) {
			char msg[sizeof(err->msg)];
			snprintf(msg, sizeof(msg), "data.mdb: %.*s", (int)sizeof(msg) - 11, err->msg);
			memcpy(err->msg, msg, sizeof(msg));
		}
	}
	lm_close(b);
	return st;
}

static void lm_close(kvf_backend *b)
{
	lm_env *e = b->impl;
	if (e->txn)
		mdb_txn_abort(e->txn);
	if (e->env)
		mdb_env_close(e->env);
	kvf_map_close(&e->map);
	free(e->dbs);
	free(e->by_name);
	free(e->data_path);
	free(e);
	free(b->findings);
	free(b);
}

/* ---- buckets ---- */

static lm_db *find_db(lm_env *e, const void *name, size_t len)
{
	size_t lo = 0, hi = e->n_dbs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const lm_db *d = &e->dbs[e->by_name[mid]];
		int c = key_cmp(0, d->name, d->name_len, name, len);
		if (c == 0)
			return &e->dbs[e->by_name[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The bucket a caller names: a named database, or "" for the main
 * database's plain pairs. */
static kvf_status bucket_db(lm_env *e, const void *name, size_t len, lm_db **db, bool *plain, kvf_err *err)
{
	*plain = false;
	if (len == 0 && e->main_plain) {
		*plain = true;
		*db = &e->main_db;
		return KVF_OK;
	}
	if (len && (*db = find_db(e, name, len)))
		return KVF_OK;
	char label[80];
	label_bytes(label, sizeof(label), name, len);
	return kvf_err_set(err, KVF_E_NOTFOUND, e->data_path, KVF_NO_OFFSET, "no database \"%s\"", label);
}

static kvf_status lm_buckets(kvf_backend *b, kvf_bucket_fn fn, void *ctx, kvf_err *err)
{
	lm_env *e = b->impl;
	if (e->main_plain) {
		kvf_span none = { (const uint8_t *)"", 0, KVF_NO_OFFSET };
		if (!fn(ctx, none))
			return KVF_OK;
	}
	for (size_t i = 0; i < e->n_dbs; i++) {
		kvf_span s = { e->dbs[i].name, e->dbs[i].name_len, e->dbs[i].name_off };
		if (!fn(ctx, s))
			return KVF_OK;
	}
	return KVF_OK;
}

/* ---- cursors ---- */

typedef struct lm_cursor {
	struct kvf_cursor base;
	lm_env *e;
	lm_db *db;
	bool plain;               /* main database: skip the named-database records */
	MDB_cursor *mc;
	bool started, pending, at_end;
	MDB_val pk, pv;           /* a pair found by seek, not yet returned */
	lm_walk w;                /* our own walk, for databases liblmdb may not read */
	bool own;
	uint8_t *seek;            /* own walk (and oversized keys): skip pairs below */
	size_t seek_len;
} lm_cursor;

static kvf_status lm_cursor_open(kvf_backend *b, const void *bucket, size_t len, kvf_cursor **cp, kvf_err *err)
{
	lm_env *e = b->impl;
	*cp = NULL;
	lm_db *db;
	bool plain;
	kvf_status st = bucket_db(e, bucket, len, &db, &plain, err);
	if (st || (st = db_prepare(e, db, err)))
		return st;
	lm_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return kvf_err_set(err, KVF_E_NOMEM, e->data_path, KVF_NO_OFFSET, "out of memory");
	c->base.backend = b;
	c->e = e;
	c->db = db;
	c->plain = plain;
	if (db->use_lmdb) {
		int rc = mdb_cursor_open(e->txn, db->dbi, &c->mc);
		if (rc) {
			free(c);
			return kvf_err_set(err, KVF_E_IO, e->data_path, KVF_NO_OFFSET, "%s: mdb_cursor_open: %s",
			                   db->label, mdb_strerror(rc));
		}
	} else {
		c->own = true;
		if ((st = walk_init(&c->w, e, db, false, NULL, err))) {
			free(c);
			return st;
		}
	}
	*cp = &c->base;
	return KVF_OK;
}

static void lm_cursor_close(kvf_cursor *cc)
{
	lm_cursor *c = (lm_cursor *)cc;
	if (c->mc)
		mdb_cursor_close(c->mc);
	if (c->own)
		walk_free(&c->w);
	free(c->seek);
	free(c);
}

static kvf_status lm_cursor_seek(kvf_cursor *cc, const void *key, size_t len, kvf_err *err)
{
	lm_cursor *c = (lm_cursor *)cc;
	lm_env *e = c->e;
	free(c->seek);
	c->seek = NULL;
	c->seek_len = 0;
	c->pending = c->at_end = false;
	if (len) {
		if (!(c->seek = malloc(len)))
			return kvf_err_set(err, KVF_E_NOMEM, e->data_path, KVF_NO_OFFSET, "out of memory");
		memcpy(c->seek, key, len);
		c->seek_len = len;
	}
	if (c->own) {
		walk_reset(&c->w);
		return KVF_OK;
	}
	c->started = true;
	uint16_t f = c->db->rec.flags;
	/* liblmdb refuses empty and oversized keys (MDB_BAD_VALSIZE), and its
	 * integer compare reads the seek key at the stored keys' size: those
	 * start from the first pair and skip, like our own walk. */
	bool direct = len > 0 && len <= (size_t)mdb_env_get_maxkeysize(e->env) &&
	              !(f & (MDB_INTEGERKEY | MDB_REVERSEKEY));
	MDB_val k = { len, (void *)key }, v;
	int rc = mdb_cursor_get(c->mc, &k, &v, direct ? MDB_SET_RANGE : MDB_FIRST);
	if (rc == MDB_NOTFOUND) {
		c->at_end = true;
		return KVF_OK;
	}
	if (rc)
		return kvf_err_set(err, KVF_E_CORRUPT, e->data_path, KVF_NO_OFFSET, "%s: liblmdb: %s",
		                   c->db->label, mdb_strerror(rc));
	c->pk = k;
	c->pv = v;
	c->pending = true;
	return KVF_OK;
}

static kvf_status lm_cursor_next(kvf_cursor *cc, kvf_pair *p, bool *got, kvf_err *err)
{
	lm_cursor *c = (lm_cursor *)cc;
	lm_env *e = c->e;
	uint16_t f = c->db->rec.flags;
	*got = false;
	memset(p, 0, sizeof(*p));
	for (;;) {
		if (c->own) {
			lm_entry en;
			if (!walk_next(&c->w, &en))
				return KVF_OK;
			if (c->db->kind == KIND_MAIN && en.flags == F_SUBDATA)
				continue;
			p->key = en.key;
			p->value = en.value;
		} else {
			if (c->at_end)
				return KVF_OK;
			MDB_val k, v;
			if (c->pending) {
				k = c->pk;
				v = c->pv;
				c->pending = false;
			} else {
				int rc = mdb_cursor_get(c->mc, &k, &v, c->started ? MDB_NEXT : MDB_FIRST);
				c->started = true;
				if (rc == MDB_NOTFOUND) {
					c->at_end = true;
					return KVF_OK;
				}
				if (rc)
					return kvf_err_set(err, KVF_E_CORRUPT, e->data_path, KVF_NO_OFFSET,
					                   "%s: liblmdb: %s", c->db->label, mdb_strerror(rc));
			}
			if (c->plain && find_db(e, k.mv_data, k.mv_size))
				continue;
			kvf_status st = lmdb_span(e, &k, &p->key, err);
			if (st || (st = lmdb_span(e, &v, &p->value, err)))
				return st;
		}
		if (c->seek && key_cmp(f, p->key.p, p->key.len, c->seek, c->seek_len) < 0)
			continue;
		free(c->seek);
		c->seek = NULL;
		*got = true;
		return KVF_OK;
	}
}

static kvf_status lm_get(kvf_backend *b, const void *bucket, size_t blen, const void *key, size_t klen,
                         kvf_span *value, kvf_err *err)
{
	lm_env *e = b->impl;
	lm_db *db;
	bool plain;
	kvf_status st = bucket_db(e, bucket, blen, &db, &plain, err);
	if (st || (st = db_prepare(e, db, err)))
		return st;
	bool possible = klen > 0 && !(plain && find_db(e, key, klen));
	if (possible && db->use_lmdb && klen <= (size_t)mdb_env_get_maxkeysize(e->env) &&
	    !((db->rec.flags & MDB_INTEGERKEY) && klen != db->intsize)) {
		MDB_val k = { klen, (void *)key }, v;
		int rc = mdb_get(e->txn, db->dbi, &k, &v);
		if (rc == MDB_SUCCESS)
			return lmdb_span(e, &v, value, err);
		if (rc != MDB_NOTFOUND)
			return kvf_err_set(err, KVF_E_CORRUPT, e->data_path, KVF_NO_OFFSET, "%s: liblmdb: %s",
			                   db->label, mdb_strerror(rc));
	} else if (possible && !db->use_lmdb) {
		/* a damaged database: look at every pair our walk can read */
		lm_walk w;
		if ((st = walk_init(&w, e, db, false, NULL, err)))
			return st;
		lm_entry en;
		bool found = false;
		while (!found && walk_next(&w, &en))
			found = !(db->kind == KIND_MAIN && en.flags == F_SUBDATA) &&
			        key_cmp(db->rec.flags, en.key.p, en.key.len, key, klen) == 0;
		walk_free(&w);
		if (found) {
			*value = en.value;
			return KVF_OK;
		}
	}
	return kvf_err_set(err, KVF_E_NOTFOUND, e->data_path, KVF_NO_OFFSET, "%s: no such key", db->label);
}

/* ---- statistics ---- */

static kvf_status lm_bucket_stats(kvf_backend *b, const void *bucket, size_t len, kvf_bucket_stats *s, kvf_err *err)
{
	lm_env *e = b->impl;
	lm_db *db;
	bool plain;
	kvf_status st = bucket_db(e, bucket, len, &db, &plain, err);
	if (st || (st = db_prepare(e, db, err)))
		return st;
	memset(s, 0, sizeof(*s));
	s->key_bytes = db->tot.key_bytes;
	s->value_bytes = db->tot.value_bytes;
	MDB_stat ms;
	if (db->use_lmdb && mdb_stat(e->txn, db->dbi, &ms) == MDB_SUCCESS) {
		s->entries = ms.ms_entries;
		s->branch_pages = ms.ms_branch_pages;
		s->leaf_pages = ms.ms_leaf_pages;
		s->overflow_pages = ms.ms_overflow_pages;
		s->depth = ms.ms_depth;
	} else {
		/* what our walk could read */
		s->entries = db->tot.entries;
		s->branch_pages = db->tot.branch;
		s->leaf_pages = db->tot.leaf;
		s->overflow_pages = db->tot.overflow;
		s->depth = db->tot.depth;
	}
	if (plain) {
		/* the main database's plain pairs only: its pages hold both kinds */
		s->entries = e->main_plain;
		s->key_bytes = s->value_bytes = 0;
		lm_walk w;
		if ((st = walk_init(&w, e, db, false, NULL, err)))
			return st;
		lm_entry en;
		while (walk_next(&w, &en))
			if (en.flags != F_SUBDATA) {
				s->key_bytes += en.key.len;
				s->value_bytes += en.value.len;
			}
		walk_free(&w);
	}
	return KVF_OK;
}

/* Iterate db's pairs: through liblmdb when it may read db, else our walk. */
typedef bool (*pair_fn)(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);

static int db_foreach(lm_env *e, lm_db *db, pair_fn fn, void *ctx, uint64_t *count)
{
	*count = 0;
	if (db->use_lmdb) {
		MDB_cursor *c;
		int rc = mdb_cursor_open(e->txn, db->dbi, &c);
		if (rc)
			return rc;
		MDB_val k, v;
		while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == MDB_SUCCESS) {
			++*count;
			if (!fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size))
				break;
		}
		mdb_cursor_close(c);
		return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
	}
	lm_walk w;
	if (walk_init(&w, e, db, false, NULL, NULL))
		return ENOMEM;
	lm_entry en;
	while (walk_next(&w, &en)) {
		++*count;
		if (!fn(ctx, en.key.p, en.key.len, en.value.p, en.value.len))
			break;
	}
	walk_free(&w);
	return MDB_SUCCESS;
}

typedef struct free_ctx {
	lm_env *e;
	uint8_t *reach, *listed;
	uint64_t sum, distinct;
	uint64_t reported;
} free_ctx;

#define MAX_FREE_FINDINGS 100

static void free_finding(free_ctx *f, uint64_t pgno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void free_finding(free_ctx *f, uint64_t pgno, const char *fmt, ...)
{
	if (f->reported++ >= MAX_FREE_FINDINGS)
		return;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kvf_backend_add_finding(f->e->b, pgno, KVF_NO_OFFSET, "free-page database: %s", msg);
}

/* One record of the free database: the pages transaction `key` freed. */
static bool free_record(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	free_ctx *f = ctx;
	lm_env *e = f->e;
	uint64_t txn = kl == 8 ? kvf_le64(k) : 0;
	uint64_t n = vl >= 8 ? kvf_le64(v) : UINT64_MAX;
	if (n == UINT64_MAX || n > (vl - 8) / 8) {
		free_finding(f, KVF_NO_PGID, "record of transaction %llu: %zu bytes cannot hold its page list",
		             (unsigned long long)txn, vl);
		return true;
	}
	f->sum += n;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pg = kvf_le64(v + 8 + 8 * i);
		if (pg < LM_NUM_METAS || pg >= e->high_water) {
			free_finding(f, pg, "transaction %llu freed page %llu, outside the pages in use",
			             (unsigned long long)txn, (unsigned long long)pg);
			continue;
		}
		if (pg >= e->nbits) {
			f->distinct++;   /* past the end of a truncated file: cannot tell */
			continue;
		}
		if (bit_test(f->listed, pg)) {
			free_finding(f, pg, "page %llu is listed free twice", (unsigned long long)pg);
			continue;
		}
		bit_set(f->listed, pg);
		f->distinct++;
		if (bit_test(f->reach, pg))
			free_finding(f, pg, "page %llu is listed free (transaction %llu) but in use",
			             (unsigned long long)pg, (unsigned long long)txn);
	}
	return true;
}

/* Walk every database once, claiming pages; then read the free lists. */
static kvf_status account(lm_env *e, kvf_progress_fn progress, void *pctx, uint64_t total, kvf_err *err)
{
	if (e->accounted)
		return KVF_OK;
	uint8_t *reach = calloc(e->nbits / 8 + 1, 1), *listed = calloc(e->nbits / 8 + 1, 1);
	kvf_status st = KVF_OK;
	if (!reach || !listed) {
		st = kvf_err_set(err, KVF_E_NOMEM, e->data_path, KVF_NO_OFFSET, "out of memory");
		goto out;
	}
	uint64_t done = LM_NUM_METAS;
	kvf_page_stats *ps = &e->pages;
	memset(ps, 0, sizeof(*ps));
	ps->total_pages = e->file_pages;
	ps->high_water = e->high_water;
	ps->meta = LM_NUM_METAS;
	for (uint64_t i = 0; i < LM_NUM_METAS && i < e->nbits; i++)
		bit_set(reach, i);
	for (size_t i = 0; i < e->n_dbs + 2; i++) {
		lm_db *db = i == 0 ? &e->free_db : i == 1 ? &e->main_db : &e->dbs[i - 2];
		if (!db_supported(e, db))
			continue;
		/* a fresh walk claims the pages; it records tree findings only for a
		 * tree not vetted before (pages shared between trees always) */
		bool first = db->state == DB_UNVETTED;
		lm_walk w;
		if ((st = walk_init(&w, e, db, first, reach, err)))
			goto out;
		w.progress = progress;
		w.pctx = pctx;
		w.pages_done = &done;
		w.pages_total = total;
		lm_entry en;
		while (walk_next(&w, &en))
			;
		if (first)
			finish_vet(&w);
		if (db->kind == KIND_FREE) {
			ps->freelist += w.tot.branch + w.tot.leaf + w.tot.overflow;
		} else {
			ps->branch += w.tot.branch;
			ps->leaf += w.tot.leaf;
			ps->overflow += w.tot.overflow;
			ps->used_bytes += w.tot.used_bytes;
			ps->capacity_bytes += w.tot.capacity_bytes;
		}
		walk_free(&w);
	}
	lm_db *fdb = &e->free_db;
	db_lmdb_handle(e, fdb);
	free_ctx fc = { .e = e, .reach = reach, .listed = listed };
	uint64_t n;
	int rc = db_foreach(e, fdb, free_record, &fc, &n);
	if (rc)
		kvf_backend_add_finding(e->b, KVF_NO_PGID, KVF_NO_OFFSET, "%s: liblmdb: %s", fdb->label, mdb_strerror(rc));
	if (fc.reported > MAX_FREE_FINDINGS)
		kvf_backend_add_finding(e->b, KVF_NO_PGID, KVF_NO_OFFSET, "free-page database: %llu more findings",
		                        (unsigned long long)(fc.reported - MAX_FREE_FINDINGS));
	/* as mdb_stat -f: the sum of the lists' counts */
	ps->free_listed = fc.sum;
	uint64_t accounted = ps->meta + ps->branch + ps->leaf + ps->overflow + ps->freelist + fc.distinct;
	ps->unreachable = e->high_water > accounted ? e->high_water - accounted : 0;
	e->accounted = true;
out:
	free(reach);
	free(listed);
	return st;
}

static kvf_status lm_page_stats(kvf_backend *b, kvf_page_stats *st, kvf_err *err)
{
	lm_env *e = b->impl;
	kvf_status s = account(e, NULL, NULL, 0, err);
	if (s)
		return s;
	*st = e->pages;
	return KVF_OK;
}

/* ---- check ---- */

typedef struct order_ctx {
	lm_env *e;
	lm_db *db;
	const uint8_t *prev;
	size_t prev_len;
	bool have_prev;
	uint64_t n, disorder;
} order_ctx;

static bool check_order(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	order_ctx *o = ctx;
	o->n++;
	if (o->have_prev) {
		int c;
		if (o->db->use_lmdb) {
			MDB_val a = { o->prev_len, (void *)o->prev }, b = { kl, (void *)k };
			c = mdb_cmp(o->e->txn, o->db->dbi, &a, &b);
		} else {
			c = key_cmp(o->db->rec.flags, o->prev, o->prev_len, k, kl);
		}
		if (c >= 0 && o->disorder++ < 10) {
			char a[60], b[60];
			label_bytes(a, sizeof(a), o->prev, o->prev_len < 24 ? o->prev_len : 24);
			label_bytes(b, sizeof(b), k, kl < 24 ? kl : 24);
			uint64_t off = KVF_NO_OFFSET;
			if (!o->db->use_lmdb)
				off = (uint64_t)(k - o->e->map.data);
			else if (o->e->lmdb_base)
				off = (uint64_t)(k - o->e->lmdb_base);
			kvf_backend_add_finding(o->e->b, off == KVF_NO_OFFSET ? KVF_NO_PGID : off / o->e->psize, off,
			                        "%s: pair %llu: key \"%s\" %s the key before it \"%s\"", o->db->label,
			                        (unsigned long long)o->n, b, c ? "sorts before" : "repeats", a);
		}
	}
	o->prev = k;
	o->prev_len = kl;
	o->have_prev = true;
	return true;
}

static void check_db(lm_env *e, lm_db *db)
{
	if (!db_supported(e, db))
		return;
	db_lmdb_handle(e, db);
	order_ctx o = { .e = e, .db = db };
	uint64_t n;
	int rc = db_foreach(e, db, check_order, &o, &n);
	if (rc) {
		kvf_backend_add_finding(e->b, KVF_NO_PGID, KVF_NO_OFFSET, "%s: liblmdb stopped after %llu pairs: %s",
		                        db->label, (unsigned long long)n, mdb_strerror(rc));
		return;
	}
	if (o.disorder > 10)
		kvf_backend_add_finding(e->b, KVF_NO_PGID, KVF_NO_OFFSET, "%s: %llu keys out of order in all",
		                        db->label, (unsigned long long)o.disorder);
	MDB_stat ms;
	if (db->use_lmdb && mdb_stat(e->txn, db->dbi, &ms) == MDB_SUCCESS && ms.ms_entries != n)
		kvf_backend_add_finding(e->b, KVF_NO_PGID, KVF_NO_OFFSET,
		                        "%s: liblmdb read %llu pairs, mdb_stat says %zu", db->label,
		                        (unsigned long long)n, ms.ms_entries);
}

static int finding_order(const void *a, const void *b)
{
	const kvf_db_finding *x = a, *y = b;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

static kvf_status lm_check(kvf_backend *b, kvf_finding_fn fn, void *ctx, kvf_progress_fn progress, void *pctx,
                           bool *clean, kvf_err *err)
{
	lm_env *e = b->impl;
	*clean = false;
	/* progress in pages: the walks count each page they reach, then each
	 * database's pass counts its pages when done */
	uint64_t total = 2 * e->high_water;
	kvf_status st = account(e, progress, pctx, total, err);
	if (st)
		return st;
	if (!e->checked) {
		uint64_t done = e->high_water;
		for (size_t i = 0; i <= e->n_dbs; i++) {
			lm_db *db = i == 0 ? &e->main_db : &e->dbs[i - 1];
			check_db(e, db);
			done += db->tot.branch + db->tot.leaf + db->tot.overflow;
			if (progress)
				progress(pctx, done < total ? done : total, total);
		}
		e->checked = true;
	}
	if (progress)
		progress(pctx, total, total);
	size_t n = b->n_findings;
	kvf_db_finding *sorted = malloc((n + 1) * sizeof(*sorted));
	if (!sorted)
		return kvf_err_set(err, KVF_E_NOMEM, e->data_path, KVF_NO_OFFSET, "out of memory");
	if (n)
		memcpy(sorted, b->findings, n * sizeof(*sorted));
	/* file order; findings without an offset (whole databases) last */
	qsort(sorted, n, sizeof(*sorted), finding_order);
	for (size_t i = 0; i < n; i++)
		if (fn)
			fn(ctx, &sorted[i]);
	free(sorted);
	*clean = n == 0;
	return KVF_OK;
}

static const kvf_backend_ops lm_ops = {
	.close = lm_close,
	.buckets = lm_buckets,
	.cursor_open = lm_cursor_open,
	.cursor_seek = lm_cursor_seek,
	.cursor_next = lm_cursor_next,
	.cursor_close = lm_cursor_close,
	.get = lm_get,
	.bucket_stats = lm_bucket_stats,
	.page_stats = lm_page_stats,
	.check = lm_check,
};
