#include "io/err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void kvf_err_clear(kvf_err *e)
{
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	e->offset = KVF_NO_OFFSET;
	e->pgid = KVF_NO_PGID;
}

static void set_common(kvf_err *e, kvf_status code, const char *file, uint64_t offset)
{
	e->code = code;
	e->sys_errno = 0;
	e->file = NULL;
	if (file) {
		snprintf(e->path, sizeof(e->path), "%s", file);
		e->file = e->path;
	}
	e->offset = offset;
	e->pgid = KVF_NO_PGID;
}

kvf_status kvf_err_set(kvf_err *e, kvf_status code, const char *file,
                       uint64_t offset, const char *fmt, ...)
{
	if (!e)
		return code;
	set_common(e, code, file, offset);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

kvf_status kvf_err_sys(kvf_err *e, int errnum, const char *file, const char *fmt, ...)
{
	if (!e)
		return KVF_E_IO;
	set_common(e, KVF_E_IO, file, KVF_NO_OFFSET);
	e->sys_errno = errnum;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, "%s%s",
		         n ? ": " : "", strerror(errnum));
	return KVF_E_IO;
}

size_t kvf_err_format(const kvf_err *e, char *out, size_t outlen)
{
	int n = 0;
	if (!outlen)
		return 0;
	out[0] = '\0';
#define PUT(...) do { \
		if ((size_t)n < outlen) { \
			int w = snprintf(out + n, outlen - (size_t)n, __VA_ARGS__); \
			if (w > 0) n += w; \
		} \
	} while (0)
	if (e->file)
		PUT("%s: ", e->file);
	if (e->offset != KVF_NO_OFFSET)
		PUT("offset %" PRIu64 ": ", e->offset);
	if (e->pgid != KVF_NO_PGID)
		PUT("page %" PRIu64 ": ", e->pgid);
	PUT("%s", e->msg[0] ? e->msg : kvf_status_name(e->code));
#undef PUT
	return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

const char *kvf_status_name(kvf_status code)
{
	switch (code) {
	case KVF_OK: return "ok";
	case KVF_E_IO: return "i/o error";
	case KVF_E_CORRUPT: return "corrupt";
	case KVF_E_TRUNCATED: return "truncated";
	case KVF_E_UNSUPPORTED: return "unsupported";
	case KVF_E_NOMEM: return "out of memory";
	case KVF_E_USAGE: return "usage";
	case KVF_E_NOTFOUND: return "not found";
	}
	return "unknown error";
}
