#include "io/sha256.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
	for (; n; n--, p += 64) {
		uint32_t w[64];
		for (int t = 0; t < 16; t++)
			w[t] = be32(p + 4 * t);
		for (int t = 16; t < 64; t++) {
			uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
			uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
			w[t] = w[t - 16] + s0 + w[t - 7] + s1;
		}
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
		for (int t = 0; t < 64; t++) {
			uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
			uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
			k = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
	}
}

#if defined(__x86_64__)
/* The SHA extensions: sha256rnds2 does two rounds on the state held as
 * ABEF/CDGH halves, sha256msg1/msg2 the message schedule four words at a
 * time (Intel's "New Instructions Supporting the Secure Hash Algorithm"). */
__attribute__((target("sha,sse4.1")))
static void blocks_ni(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);   /* CDAB */
	__m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);   /* EFGH */
	__m128i st0 = _mm_alignr_epi8(tmp, st1, 8);                                         /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);                                              /* CDGH */
	for (; n; n--, p += 64) {
		__m128i save0 = st0, save1 = st1, w[4];
		_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) {
			__m128i *cur = &w[i & 3];
			if (i < 4) {
				*cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
			} else {
				/* W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]), four at a time */
				__m128i x = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				x = _mm_add_epi32(x, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				*cur = _mm_sha256msg2_epu32(x, w[(i + 3) & 3]);
			}
			__m128i m = _mm_add_epi32(*cur, _mm_loadu_si128((const __m128i *)&K[4 * i]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, m);
			st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(m, 0x0E));
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
	}
	tmp = _mm_shuffle_epi32(st0, 0x1B);                                  /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);                                  /* DCHG */
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(tmp, st1, 0xF0)); /* DCBA */
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(st1, tmp, 8));    /* HGFE */
}

/* Two messages at once. sha256rnds2 waits for the previous round's result,
 * so one message keeps the SHA unit half idle (on AMD Zen it accepts a new
 * instruction every 2 cycles and answers after 4); the rounds of a second,
 * independent message fill those cycles, which nearly doubles what one core
 * hashes a second. The same steps as blocks_ni, each done for a then b. */
__attribute__((target("sha,sse4.1")))
static void blocks_ni_x2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8], const uint8_t *pb, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i st[2][2];
	uint32_t *hs[2] = { ha, hb };
	for (int s = 0; s < 2; s++) {
		__m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&hs[s][0]), 0xB1);
		__m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&hs[s][4]), 0x1B);
		st[s][0] = _mm_alignr_epi8(tmp, s1, 8);
		st[s][1] = _mm_blend_epi16(s1, tmp, 0xF0);
	}
	for (; n; n--, pa += 64, pb += 64) {
		__m128i a0 = st[0][0], a1 = st[0][1], b0 = st[1][0], b1 = st[1][1];
		__m128i wa[4], wb[4];
		_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) {
			__m128i *ca = &wa[i & 3], *cb = &wb[i & 3];
			if (i < 4) {
				*ca = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 16 * i)), bswap);
				*cb = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 16 * i)), bswap);
			} else {
				__m128i xa = _mm_sha256msg1_epu32(wa[i & 3], wa[(i + 1) & 3]);
				__m128i xb = _mm_sha256msg1_epu32(wb[i & 3], wb[(i + 1) & 3]);
				xa = _mm_add_epi32(xa, _mm_alignr_epi8(wa[(i + 3) & 3], wa[(i + 2) & 3], 4));
				xb = _mm_add_epi32(xb, _mm_alignr_epi8(wb[(i + 3) & 3], wb[(i + 2) & 3], 4));
				*ca = _mm_sha256msg2_epu32(xa, wa[(i + 3) & 3]);
				*cb = _mm_sha256msg2_epu32(xb, wb[(i + 3) & 3]);
			}
			__m128i k = _mm_loadu_si128((const __m128i *)&K[4 * i]);
			__m128i ma = _mm_add_epi32(*ca, k), mb = _mm_add_epi32(*cb, k);
			a1 = _mm_sha256rnds2_epu32(a1, a0, ma);
			b1 = _mm_sha256rnds2_epu32(b1, b0, mb);
			a0 = _mm_sha256rnds2_epu32(a0, a1, _mm_shuffle_epi32(ma, 0x0E));
			b0 = _mm_sha256rnds2_epu32(b0, b1, _mm_shuffle_epi32(mb, 0x0E));
		}
		st[0][0] = _mm_add_epi32(st[0][0], a0);
		st[0][1] = _mm_add_epi32(st[0][1], a1);
		st[1][0] = _mm_add_epi32(st[1][0], b0);
		st[1][1] = _mm_add_epi32(st[1][1], b1);
	}
	for (int s = 0; s < 2; s++) {
		__m128i tmp = _mm_shuffle_epi32(st[s][0], 0x1B);
		__m128i s1 = _mm_shuffle_epi32(st[s][1], 0xB1);
		_mm_storeu_si128((__m128i *)&hs[s][0], _mm_blend_epi16(tmp, s1, 0xF0));
		_mm_storeu_si128((__m128i *)&hs[s][4], _mm_alignr_epi8(s1, tmp, 8));
	}
}

static bool have_ni(void)
{
	__builtin_cpu_init();
	unsigned a, b, c, d;
	/* CPUID leaf 7, EBX bit 29: SHA; SSE4.1 for the blend */
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1) &&
	       __builtin_cpu_supports("sse4.1");
}
#else
static bool have_ni(void)
{
	return false;
}
#define blocks_ni blocks_portable
#endif

typedef void (*blocks_fn)(uint32_t h[8], const uint8_t *p, size_t n);

static blocks_fn best(void)
{
	static blocks_fn fn;
	if (!fn)
		fn = have_ni() ? blocks_ni : blocks_portable;
	return fn;
}

const char *kvf_sha256_impl(void)
{
	return best() == blocks_portable ? "portable" : "sha-ni";
}

static void init_with(kvf_sha256_ctx *c, blocks_fn fn)
{
	memcpy(c->h, H0, sizeof(H0));
	c->bytes = 0;
	c->used = 0;
	c->blocks = fn;
}

void kvf_sha256_init(kvf_sha256_ctx *c)
{
	init_with(c, best());
}

void kvf_sha256_update(kvf_sha256_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	if (len == 0)   /* data may be NULL then */
		return;
	c->bytes += len;
	if (c->used) {
		size_t take = 64 - c->used < len ? 64 - c->used : len;
		memcpy(c->block + c->used, p, take);
		c->used += take;
		p += take;
		len -= take;
		if (c->used < 64)
			return;
		c->blocks(c->h, c->block, 1);
		c->used = 0;
	}
	if (len >= 64) {
		c->blocks(c->h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	if (len)
		memcpy(c->block, p, len);
	c->used = len;
}

void kvf_sha256_update2(kvf_sha256_ctx *a, const void *da, kvf_sha256_ctx *b, const void *db, size_t len)
{
	size_t whole = len / 64;
	if (whole && a->used == 0 && b->used == 0 && a->blocks == b->blocks) {
#if defined(__x86_64__)
		if (a->blocks == blocks_ni)
			blocks_ni_x2(a->h, da, b->h, db, whole);
		else
#endif
		{
			a->blocks(a->h, da, whole);
			b->blocks(b->h, db, whole);
		}
		a->bytes += whole * 64;
		b->bytes += whole * 64;
		da = (const uint8_t *)da + whole * 64;
		db = (const uint8_t *)db + whole * 64;
		len -= whole * 64;
	}
	kvf_sha256_update(a, da, len);
	kvf_sha256_update(b, db, len);
}

void kvf_sha256_final(kvf_sha256_ctx *c, uint8_t out[KVF_SHA256_LEN])
{
	uint64_t bits = c->bytes * 8;
	c->block[c->used++] = 0x80;
	if (c->used > 56) {
		memset(c->block + c->used, 0, 64 - c->used);
		c->blocks(c->h, c->block, 1);
		c->used = 0;
	}
	memset(c->block + c->used, 0, 56 - c->used);
	for (int i = 0; i < 8; i++)
		c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	c->blocks(c->h, c->block, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void kvf_sha256(const void *data, size_t len, uint8_t out[KVF_SHA256_LEN])
{
	kvf_sha256_ctx c;
	kvf_sha256_init(&c);
	kvf_sha256_update(&c, data, len);
	kvf_sha256_final(&c, out);
}

void kvf_sha256_portable(const void *data, size_t len, uint8_t out[KVF_SHA256_LEN])
{
	kvf_sha256_ctx c;
	init_with(&c, blocks_portable);
	kvf_sha256_update(&c, data, len);
	kvf_sha256_final(&c, out);
}
