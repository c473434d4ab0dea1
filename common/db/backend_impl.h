/* For implementations of backend.h only (bolt.c, lmdbx.c): the operations
 * table and the shared parts in backend.c. The readers include this and
 * nothing of the dispatch (backend_open.c), which includes them. */
#ifndef KVF_BACKEND_IMPL_H
#define KVF_BACKEND_IMPL_H

#include "db/backend.h"

typedef struct kvf_backend_ops {
	void (*close)(kvf_backend *b);
	kvf_status (*buckets)(kvf_backend *b, kvf_bucket_fn fn, void *ctx, kvf_err *err);
	kvf_status (*cursor_open)(kvf_backend *b, const void *bucket, size_t len,
	                          kvf_cursor **c, kvf_err *err);
	kvf_status (*cursor_seek)(kvf_cursor *c, const void *key, size_t len, kvf_err *err);
	kvf_status (*cursor_next)(kvf_cursor *c, kvf_pair *p, bool *got, kvf_err *err);
	void (*cursor_close)(kvf_cursor *c);
	kvf_status (*get)(kvf_backend *b, const void *bucket, size_t blen,
	                  const void *key, size_t klen, kvf_span *value, kvf_err *err);
	kvf_status (*bucket_stats)(kvf_backend *b, const void *bucket, size_t len,
	                           kvf_bucket_stats *st, kvf_err *err);
	kvf_status (*page_stats)(kvf_backend *b, kvf_page_stats *st, kvf_err *err);
	kvf_status (*check)(kvf_backend *b, kvf_finding_fn fn, void *ctx,
	                    kvf_progress_fn progress, void *pctx, bool *clean, kvf_err *err);
} kvf_backend_ops;

struct kvf_backend {
	const kvf_backend_ops *ops;
	kvf_backend_info info;
	kvf_db_finding *findings;
	size_t n_findings, cap_findings;
	void *impl;                /* the implementation's state */
};

/* Every implementation's cursor starts with this. */
struct kvf_cursor {
	kvf_backend *backend;
};

/* Record a finding on the backend (bounded: past 10,000 only counted). */
void kvf_backend_add_finding(kvf_backend *b, uint64_t pgid, uint64_t offset,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
