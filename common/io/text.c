#include "io/text.h"

#include <stdbool.h>

#include "io/escape.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

bool kvf_utf8_printable(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t len = kvf_utf8_printable_seq(p + i, n - i);
		if (!len)
			return false;
		i += len;
	}
	return true;
}

static bool plain_byte(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* What the text form of a byte string must do about it. */
struct text_scan {
	bool ascii_special;  /* a byte < 0x80 that plain_byte refuses: quotes needed */
	bool high;           /* a byte >= 0x80: printable only as valid UTF-8 */
};

static struct text_scan scan_text(const uint8_t *p, size_t n)
{
	struct text_scan s = { false, false };
	size_t i = 0;
#if defined(__SSE2__)
	/* Values run to kilobytes (Kubernetes objects, printed by --values):
	 * sixteen bytes at a time, stopping early once both are known. */
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		/* signed compare: 0x80..0xff are negative, so not in 0x21..0x7e */
		__m128i plain = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x20)),
		                              _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
		__m128i quote = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
		                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
		unsigned hi = (unsigned)_mm_movemask_epi8(v);
		unsigned ok = (unsigned)_mm_movemask_epi8(_mm_andnot_si128(quote, plain));
		if ((ok | hi) != 0xffffu)
			s.ascii_special = true;
		if (hi)
			s.high = true;
		if (s.ascii_special && s.high)
			return s;
	}
#endif
	for (; i < n; i++) {
		if (p[i] >= 0x80)
			s.high = true;
		else if (!plain_byte(p[i]))
			s.ascii_special = true;
	}
	return s;
}

bool kvf_text_bytes(kvf_buf *b, const uint8_t *p, size_t n)
{
	/* As they are when non-empty, free of blanks, quotes and controls and,
	 * with bytes >= 0x80, printable UTF-8 (the check that costs most, made
	 * only when such bytes are there). */
	struct text_scan s = scan_text(p, n);
	bool utf8 = s.high && kvf_utf8_printable(p, n);
	if (n && !s.ascii_special && (!s.high || utf8))
		return kvf_buf_append(b, p, n);

	/* Quoted. Written in place into room for the worst case (\xNN for
	 * every byte): no per-byte call, no per-byte bounds check. */
	size_t need;
	if (!kvf_mul_ok(n, 4, &need) || !kvf_add_ok(need, 2, &need) || !kvf_buf_reserve(b, need))
		return false;
	char *w = b->p + b->len;
	*w++ = '"';
	size_t i = 0;
	while (i < n) {
		/* Room: w is at most 4i + 1 bytes in, 4n + 2 are reserved, and
		 * kvf_escape_run needs 2(n - i) + 16 of them, which is less
		 * while n - i >= 16 (below that it consumes nothing). */
		i += kvf_escape_run(&w, p + i, n - i, utf8);
		/* the block it stopped at (\n, \t or \xNN in it), or the tail */
		size_t stop = n - i > 16 ? i + 16 : n;
		for (; i < stop; i++) {
			uint8_t c = p[i];
			if (c == '"' || c == '\\') {
				*w++ = '\\';
				*w++ = (char)c;
			} else if (c == '\n') {
				*w++ = '\\';
				*w++ = 'n';
			} else if (c == '\t') {
				*w++ = '\\';
				*w++ = 't';
			} else if ((c >= 0x20 && c < 0x7f) || (utf8 && c >= 0x80)) {
				*w++ = (char)c;
			} else {
				*w++ = '\\';
				*w++ = 'x';
				*w++ = "0123456789abcdef"[c >> 4];
				*w++ = "0123456789abcdef"[c & 15];
			}
		}
	}
	*w++ = '"';
	b->len = (size_t)(w - b->p);
	b->p[b->len] = '\0';
	return true;
}
