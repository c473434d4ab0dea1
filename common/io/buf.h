/* A growable byte buffer (git's strbuf idea): one place for the size
 * arithmetic, so no caller does `malloc(n * m)` by hand. Always keeps a NUL
 * after the last byte, so a text buffer is also a C string. */
#ifndef KVF_BUF_H
#define KVF_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kvf_buf {
	char *p;      /* NULL until the first append */
	size_t len;
	size_t cap;
} kvf_buf;

#define KVF_BUF_INIT { NULL, 0, 0 }

/* All return false only when memory is exhausted (the buffer is unchanged). */
bool kvf_buf_reserve(kvf_buf *b, size_t extra);
bool kvf_buf_append(kvf_buf *b, const void *data, size_t n);
bool kvf_buf_putc(kvf_buf *b, char c);
bool kvf_buf_puts(kvf_buf *b, const char *s);
bool kvf_buf_printf(kvf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kvf_buf_reset(kvf_buf *b);   /* len = 0, keeps the memory */
void kvf_buf_free(kvf_buf *b);
/* Hand the bytes to the caller (free() them); the buffer is left empty. */
char *kvf_buf_detach(kvf_buf *b, size_t *len);

/* Room for element n of the array *v of *cap elements of elem bytes:
 * doubles the capacity when full (from 16). False when memory is exhausted or
 * the size would overflow; *v and *cap are then unchanged. */
bool kvf_grow_array(void **v, size_t *cap, size_t n, size_t elem);

/* Overflow-checked size arithmetic for allocations derived from counts. */
static inline bool kvf_mul_ok(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}
static inline bool kvf_add_ok(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

#endif
