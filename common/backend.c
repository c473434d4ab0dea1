#include "backend_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source.h"

#define MAX_FINDINGS 10000
#define LMDB_MAGIC 0xBEEFC0DEu

const char *kvf_backend_format_name(kvf_backend_format f)
{
	return f == KVF_FORMAT_LMDB ? "lmdb" : "bbolt";
}

/* LMDB's meta page: 16-byte page header, then mm_magic. Everything else
 * (bbolt, or a file whose page 0 is damaged) goes to the bbolt reader, which
 * knows how to look for its second meta page. */
static kvf_status is_lmdb_file(const char *path, bool *yes, kvf_err *err)
{
	int fd;
	uint64_t size;
	kvf_status st = kvf_open_evidence(path, &fd, &size, err);
	if (st)
		return st;
	uint8_t hdr[24];
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
	*yes = n == (ssize_t)sizeof(hdr) && kvf_le32(hdr + 16) == LMDB_MAGIC;
	/* Page 0 damaged: LMDB keeps a second meta on page 1, whose offset is
	 * the page size (a power of two, 512 B to 64 KiB as lmdbx.c accepts).
	 * bbolt's second meta carries its own magic there, so no confusion. */
	for (uint64_t ps = 512; !*yes && ps <= 65536 && ps + sizeof(hdr) <= size; ps *= 2) {
		n = pread(fd, hdr, sizeof(hdr), (off_t)ps);
		*yes = n == (ssize_t)sizeof(hdr) && kvf_le32(hdr + 16) == LMDB_MAGIC;
	}
	close(fd);
	return KVF_OK;
}

kvf_status kvf_backend_open(kvf_backend **b, const char *path, kvf_err *err)
{
	*b = NULL;
	if (kvf_is_dir(path)) {
		/* an LMDB environment directory: its data file is data.mdb */
		char *data = kvf_path_join(path, "data.mdb");
		bool lmdb = false;
		kvf_status st = data ? is_lmdb_file(data, &lmdb, err) : KVF_E_NOMEM;
		free(data);
		if (st)
			return st;
		if (!lmdb)
			return kvf_err_set(err, KVF_E_UNSUPPORTED, path, 0,
			                   "directory without an LMDB data.mdb (not a bbolt file either)");
		return kvf_lmdb_open(b, path, err);
	}
	bool lmdb;
	kvf_status st = is_lmdb_file(path, &lmdb, err);
	if (st)
		return st;
	return lmdb ? kvf_lmdb_open(b, path, err) : kvf_bolt_open(b, path, err);
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
