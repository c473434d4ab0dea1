/* A backend database seen as named buckets of sorted key/value pairs.
 *
 * Two implementations: our own bbolt reader (bolt.c) and liblmdb (lmdbx.c),
 * where each named database is a bucket. The format is detected from the
 * file's magic, never from its name. Everything is read-only: bbolt files are
 * mapped PROT_READ, LMDB is opened MDB_RDONLY | MDB_NOLOCK (no lock file).
 *
 * Damage is not an error here: a cursor that meets a damaged page records a
 * finding (page id, byte offset, what was expected), skips what it cannot
 * read, and goes on. Errors are for inputs that cannot be read at all. */
#ifndef KVF_BACKEND_H
#define KVF_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/bytes.h"
#include "io/err.h"

typedef enum kvf_backend_format {
	KVF_FORMAT_BBOLT,
	KVF_FORMAT_LMDB,
} kvf_backend_format;

const char *kvf_backend_format_name(kvf_backend_format f);

/* Something wrong in the structure of the file, found while reading it. */
typedef struct kvf_db_finding {
	uint64_t pgid;             /* KVF_NO_PGID when not about a page */
	uint64_t offset;           /* byte offset in the file, KVF_NO_OFFSET if none */
	char msg[320];             /* room for two SHA-256 digests in hex */
} kvf_db_finding;

typedef struct kvf_backend_info {
	kvf_backend_format format;
	const char *path;          /* the file read (for LMDB: data.mdb or the file) */
	uint64_t file_size;
	uint64_t page_size;
	uint64_t txid;             /* transaction id of the meta in use */
	int meta_in_use;           /* 0 or 1 */
	bool meta_fallback;        /* the newer meta is damaged; the other one is in use */
	uint64_t high_water;       /* bbolt meta.pgid / LMDB last page + 1: pages in use */
	uint64_t freelist_pgid;    /* bbolt; UINT64_MAX when etcd's NoFreelistSync wrote none */
	uint64_t root_pgid;        /* bbolt root bucket page */
	/* bbolt: the pages the meta in use names (root, freelist) that are not
	 * of the type it names them for: a freelist pgid on a leaf page, say.
	 * Found at open by reading the page headers; `check` reports the same
	 * among its findings, `status` shows these. */
	kvf_db_finding meta_refs[2];
	int n_meta_refs;
} kvf_backend_info;


typedef struct kvf_backend kvf_backend;
typedef struct kvf_cursor kvf_cursor;

/* path: a bbolt file, an LMDB data file, or an LMDB environment directory. */
kvf_status kvf_backend_open(kvf_backend **b, const char *path, kvf_err *err);
void kvf_backend_close(kvf_backend *b);
const kvf_backend_info *kvf_backend_get_info(const kvf_backend *b);

/* Findings recorded so far (meta fallback, pages skipped by cursors...). */
size_t kvf_backend_findings(const kvf_backend *b, const kvf_db_finding **list);

typedef struct kvf_pair {
	kvf_span key;              /* into the mapped file; valid while the backend is open */
	kvf_span value;
	bool is_bucket;            /* the value is a nested bucket (bbolt), not data */
} kvf_pair;

/* Top-level buckets, in key order. fn returns false to stop. */
typedef bool (*kvf_bucket_fn)(void *ctx, kvf_span name);
kvf_status kvf_backend_buckets(kvf_backend *b, kvf_bucket_fn fn, void *ctx, kvf_err *err);

/* A cursor over one top-level bucket, in key order, without materialising
 * the bucket. KVF_E_NOTFOUND when there is no such bucket. */
kvf_status kvf_cursor_open(kvf_backend *b, const void *bucket, size_t len,
                           kvf_cursor **c, kvf_err *err);
/* Position so that the next pair is the first with key >= key. */
kvf_status kvf_cursor_seek(kvf_cursor *c, const void *key, size_t len, kvf_err *err);
/* *got = false at the end. */
kvf_status kvf_cursor_next(kvf_cursor *c, kvf_pair *p, bool *got, kvf_err *err);
void kvf_cursor_close(kvf_cursor *c);

/* One value; KVF_E_NOTFOUND when the bucket or the key is absent. */
kvf_status kvf_backend_get(kvf_backend *b, const void *bucket, size_t blen,
                           const void *key, size_t klen, kvf_span *value, kvf_err *err);

/* Per-bucket statistics for `dump-db buckets`. */
typedef struct kvf_bucket_stats {
	uint64_t entries;
	uint64_t key_bytes, value_bytes;
	uint64_t branch_pages, leaf_pages, overflow_pages;
	uint64_t depth;
	bool is_inline;            /* bbolt: stored inside its parent's leaf */
} kvf_bucket_stats;

kvf_status kvf_backend_bucket_stats(kvf_backend *b, const void *bucket, size_t len,
                                    kvf_bucket_stats *st, kvf_err *err);

/* Page-level view for `dump-db pages`. */
typedef struct kvf_page_stats {
	uint64_t total_pages;      /* file size / page size */
	uint64_t high_water;
	uint64_t meta, branch, leaf, overflow, freelist;   /* reachable pages by type */
	uint64_t free_listed;      /* pages the freelist names */
	uint64_t unreachable;      /* below high water, neither reachable nor listed free */
	uint64_t used_bytes;       /* bytes of element data in reachable branch/leaf pages */
	uint64_t capacity_bytes;   /* their page capacity: fill factor = used / capacity */
} kvf_page_stats;

kvf_status kvf_backend_page_stats(kvf_backend *b, kvf_page_stats *st, kvf_err *err);

/* Structural check for `dump-db check`. Every finding goes to fn (in file
 * order where that is meaningful). *clean is true when there were none.
 * The progress callback, when not NULL, is told pages done of total. */
typedef void (*kvf_finding_fn)(void *ctx, const kvf_db_finding *f);
typedef void (*kvf_progress_fn)(void *ctx, uint64_t done, uint64_t total);
kvf_status kvf_backend_check(kvf_backend *b, kvf_finding_fn fn, void *ctx,
                             kvf_progress_fn progress, void *pctx, bool *clean, kvf_err *err);

#endif
