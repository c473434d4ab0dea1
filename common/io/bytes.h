/* Bounds-checked reads from a byte range of evidence.
 *
 * A kvf_span is a window onto the input (usually the mmap) that remembers
 * where it starts in the file, so any failed check can name the absolute
 * byte offset. Every fixed-width read of on-disk data goes through these
 * helpers; none of them reads past span.len. */
#ifndef KVF_BYTES_H
#define KVF_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct kvf_span {
	const uint8_t *p;
	size_t len;
	uint64_t file_offset;   /* offset of p[0] in the file */
} kvf_span;

/* The sub-range [off, off+len) of s, or false when it does not fit. */
static inline bool kvf_span_sub(kvf_span s, uint64_t off, uint64_t len, kvf_span *out)
{
	if (off > s.len || len > s.len - off)
		return false;
	out->p = s.p + off;
	out->len = (size_t)len;
	out->file_offset = s.file_offset + off;
	return true;
}

static inline bool kvf_span_has(kvf_span s, uint64_t off, uint64_t len)
{
	return off <= s.len && len <= s.len - off;
}

/* Unaligned little- and big-endian loads; callers check bounds first (or use
 * the checked variants below). memcpy compiles to a single load. */
static inline uint16_t kvf_le16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t kvf_le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t kvf_le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t kvf_be64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return __builtin_bswap64(v); }
static inline void kvf_put_be64(uint8_t *p, uint64_t v) { v = __builtin_bswap64(v); memcpy(p, &v, 8); }

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kvforensics reads little-endian on-disk formats with native loads; port kvf_le* first"
#endif

static inline bool kvf_span_le64(kvf_span s, uint64_t off, uint64_t *v)
{
	if (!kvf_span_has(s, off, 8))
		return false;
	*v = kvf_le64(s.p + off);
	return true;
}

static inline bool kvf_span_le32(kvf_span s, uint64_t off, uint32_t *v)
{
	if (!kvf_span_has(s, off, 4))
		return false;
	*v = kvf_le32(s.p + off);
	return true;
}

static inline bool kvf_span_le16(kvf_span s, uint64_t off, uint16_t *v)
{
	if (!kvf_span_has(s, off, 2))
		return false;
	*v = kvf_le16(s.p + off);
	return true;
}

static inline bool kvf_is_zero(const uint8_t *p, size_t n)
{
	/* word-at-a-time: zero tails of WAL segments are tens of megabytes */
	while (n && ((uintptr_t)p & 7)) {
		if (*p)
			return false;
		p++, n--;
	}
	for (; n >= 32; p += 32, n -= 32) {
		uint64_t a, b, c, d;
		memcpy(&a, p, 8); memcpy(&b, p + 8, 8); memcpy(&c, p + 16, 8); memcpy(&d, p + 24, 8);
		if (a | b | c | d)
			return false;
	}
	while (n--)
		if (*p++)
			return false;
	return true;
}

#endif
