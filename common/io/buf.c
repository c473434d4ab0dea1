#include "io/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool kvf_buf_reserve(kvf_buf *b, size_t extra)
{
	size_t need;
	if (!kvf_add_ok(b->len, extra, &need) || !kvf_add_ok(need, 1, &need))
		return false;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

bool kvf_buf_append(kvf_buf *b, const void *data, size_t n)
{
	if (!kvf_buf_reserve(b, n))
		return false;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

bool kvf_buf_putc(kvf_buf *b, char c)
{
	return kvf_buf_append(b, &c, 1);
}

bool kvf_buf_puts(kvf_buf *b, const char *s)
{
	return kvf_buf_append(b, s, strlen(s));
}

bool kvf_buf_printf(kvf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !kvf_buf_reserve(b, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}

void kvf_buf_reset(kvf_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void kvf_buf_free(kvf_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *kvf_buf_detach(kvf_buf *b, size_t *len)
{
	char *p = b->p;
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

bool kvf_grow_array(void **v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 16, bytes;
	if (!kvf_mul_ok(ncap, elem, &bytes))
		return false;
	void *nv = realloc(*v, bytes);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}
