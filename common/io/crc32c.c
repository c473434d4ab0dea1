#include "io/crc32c.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <wmmintrin.h>
#elif defined(__aarch64__)
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

/* Reflected Castagnoli polynomial. */
#define POLY 0x82F63B78u

/* Slicing-by-8 tables, built on first use (8 KiB; cheaper than shipping them). */
static uint32_t table[8][256];
static bool table_ready;

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (POLY & (0u - (c & 1)));
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	table_ready = true;
}

uint32_t kvf_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	if (!table_ready)
		build_table();
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= crc;
		crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
		      table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
		      table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
		      table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
/* One crc32 instruction has a latency of three cycles but the CPU can start
 * one every cycle, so a single dependency chain runs at a third of the
 * possible rate. For long buffers we run three chains over three adjacent
 * blocks and merge them: crc(A||B||C) = shift(crc(A), 2n) ^ shift(crc(B), n)
 * ^ crc(C), where shift(c, n) is c * x^(8n) mod P. With a carry-less
 * multiply by the constant K = x^(8n-33) mod P (the product of two
 * bit-reflected values carries an extra factor x), crc32_u64(0, c * K)
 * gives c * x^(8n) mod P. WAL records are about a kilobyte, so the block
 * length follows the buffer: every length that is a multiple of 8 up to
 * BLOCK_MAX has its constants in shift_k. */
#define BLOCK_MAX 4096
/* Below this many bytes per block the merge costs more than it saves. */
#define BLOCK_MIN 32

/* shift_k[n / 8 - 1] = { x^(8n-33), x^(16n-33) } mod P for a block of n bytes */
static uint32_t shift_k[BLOCK_MAX / 8][2];

__attribute__((target("sse4.2")))
static uint32_t crc32c_words(uint64_t c, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	return ~crc32c_words(~crc, data, len);
}

__attribute__((target("sse4.2")))
static void build_shift_k(void)
{
	/* In the reflected form x^31 is the value 1, and crc32_u64(v, 0) is
	 * v * x^64 mod P: each step adds 8 bytes to the block. */
	uint64_t k1 = 1, k2 = _mm_crc32_u64(1, 0);
	for (size_t i = 0; i < BLOCK_MAX / 8; i++) {
		shift_k[i][0] = (uint32_t)k1;
		shift_k[i][1] = (uint32_t)k2;
		k1 = _mm_crc32_u64(k1, 0);
		k2 = _mm_crc32_u64(_mm_crc32_u64(k2, 0), 0);
	}
}

__attribute__((target("sse4.2,pclmul")))
static uint64_t merge3(uint64_t a, uint64_t b, uint64_t c, size_t n)
{
	const uint32_t *k = shift_k[n / 8 - 1];
	__m128i pa = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)a), _mm_cvtsi32_si128((int)k[1]), 0);
	__m128i pb = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)b), _mm_cvtsi32_si128((int)k[0]), 0);
	uint64_t t = (uint64_t)_mm_cvtsi128_si64(_mm_xor_si128(pa, pb));
	return _mm_crc32_u64(0, t) ^ c;
}

__attribute__((target("sse4.2,pclmul")))
static uint32_t crc32c_hw3(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;
	for (;;) {
		size_t n = len / 3 / 8 * 8;
		if (n > BLOCK_MAX)
			n = BLOCK_MAX;
		if (n < BLOCK_MIN)
			break;
		uint64_t a = c, b = 0, d = 0;
		for (size_t i = 0; i < n; i += 8) {
			uint64_t wa, wb, wd;
			memcpy(&wa, p + i, 8);
			memcpy(&wb, p + n + i, 8);
			memcpy(&wd, p + 2 * n + i, 8);
			a = _mm_crc32_u64(a, wa);
			b = _mm_crc32_u64(b, wb);
			d = _mm_crc32_u64(d, wd);
		}
		c = merge3(a, b, d, n);
		p += 3 * n;
		len -= 3 * n;
	}
	return ~crc32c_words(c, p, len);
}

static bool hw_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}

static bool clmul_available(void)
{
	return __builtin_cpu_supports("pclmul");
}
#define HW_NAME "sse4.2"
#define HW3_NAME "sse4.2+pclmul"
#elif defined(__aarch64__)
__attribute__((target("+crc")))
static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		c = __crc32cb(c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __crc32cd(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __crc32cb(c, *p++);
	return ~c;
}

static bool hw_available(void)
{
	return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}
#define HW_NAME "armv8-crc"
#endif

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static crc_fn impl;

static crc_fn choose(void)
{
#ifdef HW3_NAME
	if (hw_available() && clmul_available()) {
		build_shift_k();
		return crc32c_hw3;
	}
#endif
#ifdef HW_NAME
	if (hw_available())
		return crc32c_hw;
#endif
	return kvf_crc32c_portable;
}

/* Every thread that finds no implementation yet chooses the same one; the
 * release store publishes the shift table built before it. */
static crc_fn current(void)
{
	crc_fn f = __atomic_load_n(&impl, __ATOMIC_ACQUIRE);
	if (!f) {
		f = choose();
		__atomic_store_n(&impl, f, __ATOMIC_RELEASE);
	}
	return f;
}

uint32_t kvf_crc32c(uint32_t crc, const void *data, size_t len)
{
	return current()(crc, data, len);
}

const char *kvf_crc32c_impl(void)
{
	crc_fn f = current();
#ifdef HW3_NAME
	if (f == crc32c_hw3)
		return HW3_NAME;
#endif
#ifdef HW_NAME
	if (f == crc32c_hw)
		return HW_NAME;
#endif
	return "table";
}

/* ---- combining ---- */

/* Polynomials mod P in the reflected form of the register: bit 31 is x^0,
 * bit 0 is x^31. kvf_crc32c(h, b) == kvf_crc32c(0, b) ^ h * x^(8 len(b)):
 * the inversions before and after cancel out in the xor, and what is left
 * is the register's initial value carried through len(b) bytes of zeros. */
#define CASTAGNOLI_REFLECTED 0x82f63b78u

static uint32_t mul_mod_p(uint32_t a, uint32_t b)
{
	uint32_t product = 0;
	for (uint32_t m = 1u << 31; m; m >>= 1) {
		if (a & m)
			product ^= b;
		b = b & 1 ? (b >> 1) ^ CASTAGNOLI_REFLECTED : b >> 1;   /* b * x */
	}
	return product;
}

uint32_t kvf_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	/* x^(8 len_b) by squaring: power holds x^(8 * 2^k) */
	uint32_t shift = 1u << 31, power = 1u << 23;   /* x^0, x^8 */
	for (uint64_t n = len_b; n; n >>= 1) {
		if (n & 1)
			shift = mul_mod_p(shift, power);
		power = mul_mod_p(power, power);
	}
	return mul_mod_p(shift, crc_a) ^ crc_b;
}
