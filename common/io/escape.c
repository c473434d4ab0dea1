#include "io/escape.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
#include <immintrin.h>
#include <tmmintrin.h>
#define KVF_ESCAPE_X86 1
#endif

/* Whether the 16 bytes of v are all printed as they are or after a
 * backslash; *esc gets the bits of the quotes and backslashes. */
#if KVF_ESCAPE_X86
static inline bool block_ok(__m128i v, bool high_ok, unsigned *esc)
{
	/* signed compares: 0x80..0xff are negative, so below 0x20 */
	__m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)),
	                                  _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
	unsigned as_is = (unsigned)_mm_movemask_epi8(printable);
	if (high_ok)
		as_is |= (unsigned)_mm_movemask_epi8(v);
	if (as_is != 0xffffu)
		return false;
	__m128i quote = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
	*esc = (unsigned)_mm_movemask_epi8(quote);
	return true;
}

/* SSE2: the pieces between the escapes, each stored as a whole block (a
 * loop that jumped to the next special byte and copied less was slower
 * than byte by byte: the loads here do not wait on the bytes found).
 * Stores at most 48 bytes past the w it is given. */
static inline char *escape16_sse2(char *w, const uint8_t *src, __m128i v, unsigned esc)
{
	if (!esc) {
		_mm_storeu_si128((__m128i *)w, v);
		return w + 16;
	}
	uint8_t blk[32];
	_mm_storeu_si128((__m128i *)blk, v);
	memset(blk + 16, 0, 16);   /* the last piece's load reads past the block */
	unsigned last = 0;
	while (esc) {
		unsigned k = (unsigned)__builtin_ctz(esc);
		esc &= esc - 1;
		_mm_storeu_si128((__m128i *)w, _mm_loadu_si128((const __m128i *)(blk + last)));
		w += k - last;
		w[0] = '\\';
		w[1] = (char)src[k];
		w += 2;
		last = k + 1;
	}
	_mm_storeu_si128((__m128i *)w, _mm_loadu_si128((const __m128i *)(blk + last)));
	return w + (16 - last);
}

static size_t run_sse2(char **wp, const uint8_t *p, size_t n, bool high_ok)
{
	char *w = *wp;
	size_t i = 0;
	unsigned esc;
	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		if (!block_ok(v, high_ok, &esc))
			break;
		w = escape16_sse2(w, p + i, v, esc);
	}
	*wp = w;
	return i;
}

/* SSSE3: eight bytes at a time by one shuffle, whatever the number of
 * quotes: for each of the 256 patterns of quotes in eight bytes, where
 * each byte goes in the sixteen of the output (shuf; 0x80 makes a zero)
 * and where the backslashes go (bsl). 8 KiB, built on first use. */
static uint8_t shuf[256][16] __attribute__((aligned(16)));
static uint8_t bsl[256][16] __attribute__((aligned(16)));
/* 8 + the quotes among the eight: a table, as without -mpopcnt
 * __builtin_popcount is a call into libgcc (a tenth of a JSON dump) */
static uint8_t outlen[256];

static void build_tables(void)
{
	for (unsigned m = 0; m < 256; m++) {
		unsigned k = 0;
		memset(shuf[m], 0x80, 16);
		memset(bsl[m], 0, 16);
		for (unsigned j = 0; j < 8; j++) {
			if (m & (1u << j))
				bsl[m][k++] = '\\';
			shuf[m][k++] = (uint8_t)j;
		}
		outlen[m] = (uint8_t)k;
	}
}

__attribute__((target("ssse3")))
static inline char *escape8_ssse3(char *w, __m128i v, unsigned m)
{
	__m128i o = _mm_or_si128(_mm_shuffle_epi8(v, _mm_load_si128((const __m128i *)shuf[m])),
	                         _mm_load_si128((const __m128i *)bsl[m]));
	_mm_storeu_si128((__m128i *)w, o);
	return w + outlen[m];
}

__attribute__((target("ssse3")))
static size_t run_ssse3(char **wp, const uint8_t *p, size_t n, bool high_ok)
{
	char *w = *wp;
	size_t i = 0;
	unsigned esc;
	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		if (!block_ok(v, high_ok, &esc))
			break;
		if (!esc) {
			_mm_storeu_si128((__m128i *)w, v);
			w += 16;
			continue;
		}
		w = escape8_ssse3(w, v, esc & 0xff);
		w = escape8_ssse3(w, _mm_srli_si128(v, 8), esc >> 8);
	}
	*wp = w;
	return i;
}

/* AVX2: the test on 32 bytes at once, the escapes by the same eight-byte
 * shuffles; where a 32-byte block has a byte that is not printed as is,
 * the 16-byte loop takes over, so the run ends where run_ssse3's does.
 * Stores at most 64 bytes past w for the 32 it reads (the callers' room
 * for 2 bytes out per byte in plus 16 covers it). */
__attribute__((target("avx2")))
static size_t run_avx2(char **wp, const uint8_t *p, size_t n, bool high_ok)
{
	char *w = *wp;
	size_t i = 0;
	for (; n - i >= 32; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
		__m256i printable = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(0x1f)),
		                                     _mm256_cmpgt_epi8(_mm256_set1_epi8(0x7f), v));
		uint32_t as_is = (uint32_t)_mm256_movemask_epi8(printable);
		if (high_ok)
			as_is |= (uint32_t)_mm256_movemask_epi8(v);
		if (as_is != 0xffffffffu)
			break;
		__m256i quote = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
		                                _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')));
		uint32_t esc = (uint32_t)_mm256_movemask_epi8(quote);
		if (!esc) {
			_mm256_storeu_si256((__m256i *)w, v);
			w += 32;
			continue;
		}
		__m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
		w = escape8_ssse3(w, lo, esc & 0xff);
		w = escape8_ssse3(w, _mm_srli_si128(lo, 8), esc >> 8 & 0xff);
		w = escape8_ssse3(w, hi, esc >> 16 & 0xff);
		w = escape8_ssse3(w, _mm_srli_si128(hi, 8), esc >> 24);
	}
	*wp = w;
	return i + run_ssse3(wp, p + i, n - i, high_ok);
}

static size_t (*run_impl)(char **, const uint8_t *, size_t, bool);

size_t kvf_escape_run(char **w, const uint8_t *p, size_t n, bool high_ok)
{
	/* single-threaded tools: the first call picks, once */
	if (!run_impl) {
		if (__builtin_cpu_supports("avx2")) {
			build_tables();
			run_impl = run_avx2;
		} else if (__builtin_cpu_supports("ssse3")) {
			build_tables();
			run_impl = run_ssse3;
		} else {
			run_impl = run_sse2;
		}
	}
	return run_impl(w, p, n, high_ok);
}
#else
size_t kvf_escape_run(char **w, const uint8_t *p, size_t n, bool high_ok)
{
	(void)w, (void)p, (void)n, (void)high_ok;
	return 0;   /* the callers' byte loops do it all */
}
#endif
