#include "db/backend_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FINDINGS 10000

const char *kvf_backend_format_name(kvf_backend_format f)
{
	return f == KVF_FORMAT_LMDB ? "lmdb" : "bbolt";
}

void kvf_backend_close(kvf_backend *b)
{
	if (!b)
		return;
	free(b->findings);
	b->findings = NULL;
	b->ops->close(b);   /* frees b */
}

const kvf_backend_info *kvf_backend_get_info(const kvf_backend *b)
{
	return &b->info;
}

size_t kvf_backend_findings(const kvf_backend *b, const kvf_db_finding **list)
{
	*list = b->findings;
	return b->n_findings;
}

void kvf_backend_add_finding(kvf_backend *b, uint64_t pgid, uint64_t offset, const char *fmt, ...)
{
	if (b->n_findings >= MAX_FINDINGS)
		return;
	if (b->n_findings == b->cap_findings) {
		size_t cap = b->cap_findings ? b->cap_findings * 2 : 16;
		kvf_db_finding *v = realloc(b->findings, cap * sizeof(*v));
		if (!v)
			return;
		b->findings = v;
		b->cap_findings = cap;
	}
	kvf_db_finding *f = &b->findings[b->n_findings++];
	f->pgid = pgid;
	f->offset = offset;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

kvf_status kvf_backend_buckets(kvf_backend *b, kvf_bucket_fn fn, void *ctx, kvf_err *err)
{
	return b->ops->buckets(b, fn, ctx, err);
}

kvf_status kvf_cursor_open(kvf_backend *b, const void *bucket, size_t len, kvf_cursor **c, kvf_err *err)
{
	return b->ops->cursor_open(b, bucket, len, c, err);
}

kvf_status kvf_cursor_seek(kvf_cursor *c, const void *key, size_t len, kvf_err *err)
{
	return c->backend->ops->cursor_seek(c, key, len, err);
}

kvf_status kvf_cursor_next(kvf_cursor *c, kvf_pair *p, bool *got, kvf_err *err)
{
	return c->backend->ops->cursor_next(c, p, got, err);
}

void kvf_cursor_close(kvf_cursor *c)
{
	if (c)
		c->backend->ops->cursor_close(c);
}

kvf_status kvf_backend_get(kvf_backend *b, const void *bucket, size_t blen,
                           const void *key, size_t klen, kvf_span *value, kvf_err *err)
{
	return b->ops->get(b, bucket, blen, key, klen, value, err);
}

kvf_status kvf_backend_bucket_stats(kvf_backend *b, const void *bucket, size_t len,
                                    kvf_bucket_stats *st, kvf_err *err)
{
	return b->ops->bucket_stats(b, bucket, len, st, err);
}

kvf_status kvf_backend_page_stats(kvf_backend *b, kvf_page_stats *st, kvf_err *err)
{
	return b->ops->page_stats(b, st, err);
}

kvf_status kvf_backend_check(kvf_backend *b, kvf_finding_fn fn, void *ctx,
                             kvf_progress_fn progress, void *pctx, bool *clean, kvf_err *err)
{
	return b->ops->check(b, fn, ctx, progress, pctx, clean, err);
}
