/* Structured errors: what went wrong, in which file, at which byte offset.
 *
 * The library never prints and never exits (like zstd's lib/): every failure
 * is a value the caller renders. A kvf_err lives on the caller's stack; the
 * functions that can fail take a kvf_err * and return a kvf_status.
 */
#ifndef KVF_ERR_H
#define KVF_ERR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

typedef enum kvf_status {
	KVF_OK = 0,
	KVF_E_IO,          /* open/read/stat failed (errno in sys_errno) */
	KVF_E_CORRUPT,     /* bytes on disk contradict the format */
	KVF_E_TRUNCATED,   /* the format needs bytes past the end of the input */
	KVF_E_UNSUPPORTED, /* well-formed, but not something we decode */
	KVF_E_NOMEM,
	KVF_E_USAGE,       /* the caller asked for something impossible */
	KVF_E_NOTFOUND,    /* a bucket, key, or file the caller named is absent */
} kvf_status;

#define KVF_NO_OFFSET UINT64_MAX
#define KVF_NO_PGID UINT64_MAX

typedef struct kvf_err {
	kvf_status code;
	int sys_errno;          /* errno for KVF_E_IO, else 0 */
	const char *file;       /* the file it is about (points at path below), or NULL */
	uint64_t offset;        /* byte offset in the (uncompressed) file, or KVF_NO_OFFSET */
	uint64_t pgid;          /* bbolt page id, or KVF_NO_PGID */
	char msg[240];
	char path[1024];        /* a copy: the error outlives the reader that failed */
} kvf_err;

void kvf_err_clear(kvf_err *e);

/* Fill *e and return its code, so callers can write `return kvf_err_set(...)`.
 * e may be NULL (the caller does not care why). */
kvf_status kvf_err_set(kvf_err *e, kvf_status code, const char *file,
                       uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* As kvf_err_set, for a failed system call: appends strerror(errnum). */
kvf_status kvf_err_sys(kvf_err *e, int errnum, const char *file,
                       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "file: offset N: page P: message" with the parts that are known. */
size_t kvf_err_format(const kvf_err *e, char *out, size_t outlen);

const char *kvf_status_name(kvf_status code);

#endif
