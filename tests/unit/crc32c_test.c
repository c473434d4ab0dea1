#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "io/crc32c.h"

/* Published CRC-32C check values: the "123456789" check of the Castagnoli
 * polynomial, and the iSCSI test patterns of RFC 3720 appendix B.4. */
static void pattern(uint8_t *b, int kind)
{
	for (int i = 0; i < 32; i++)
		b[i] = kind == 0 ? 0 : kind == 1 ? 0xff : kind == 2 ? (uint8_t)i : (uint8_t)(31 - i);
}

Test(crc32c, matches_published_check_value)
{
	cr_assert_eq(kvf_crc32c(0, "123456789", 9), 0xE3069283u);
	cr_assert_eq(kvf_crc32c_portable(0, "123456789", 9), 0xE3069283u);
}

Test(crc32c, matches_rfc3720_vectors)
{
	static const uint32_t want[4] = { 0x8A9136AAu, 0x62A8AB43u, 0x46DD794Eu, 0x113FDB5Cu };
	uint8_t b[32];
	for (int k = 0; k < 4; k++) {
		pattern(b, k);
		cr_assert_eq(kvf_crc32c(0, b, 32), want[k], "pattern %d", k);
		cr_assert_eq(kvf_crc32c_portable(0, b, 32), want[k], "pattern %d (table)", k);
	}
}

Test(crc32c, chains_like_go_crc32_update)
{
	/* etcd chains records: crc(prev, data). Splitting must not matter. */
	uint8_t buf[4099];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	uint32_t whole = kvf_crc32c(0, buf, sizeof(buf));
	for (size_t cut = 0; cut <= sizeof(buf); cut += 97)
		cr_assert_eq(kvf_crc32c(kvf_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
}

Test(crc32c, hardware_and_table_agree_at_every_alignment_and_length)
{
	uint8_t buf[600];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ (i >> 3) ^ 0x5a);
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 13)
			cr_assert_eq(kvf_crc32c(0x12345678, buf + off, len),
			             kvf_crc32c_portable(0x12345678, buf + off, len),
			             "off %zu len %zu", off, len);
}

Test(crc32c, names_its_implementation)
{
	const char *impl = kvf_crc32c_impl();
#if defined(__x86_64__)
	/* every x86-64 CI machine we run on has SSE4.2; the table is the fallback */
	cr_assert(strcmp(impl, "sse4.2+pclmul") == 0 || strcmp(impl, "sse4.2") == 0 ||
	          strcmp(impl, "table") == 0, "%s", impl);
#else
	cr_assert(impl != NULL);
#endif
}

Test(crc32c, long_buffers_agree_with_the_table_across_block_sizes)
{
	/* The hardware path splits long buffers into three blocks whose length
	 * follows the buffer (up to 4 KiB each) and merges them; every split
	 * point, remainder and chained start value must give the table's CRC. */
	enum { N = 3 * 4096 * 2 + 200 };
	uint8_t *buf = malloc(N);
	cr_assert(buf);
	uint32_t x = 0x9e3779b9u;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	for (size_t len = 0; len <= 400; len++)
		cr_assert_eq(kvf_crc32c(0xdeadbeef, buf + (len & 7), len),
		             kvf_crc32c_portable(0xdeadbeef, buf + (len & 7), len), "len %zu", len);
	for (size_t len = 400; len + 8 <= N; len += 1 + (len / 7)) {
		size_t off = len % 8;
		uint32_t seed = (uint32_t)len * 2654435761u;
		cr_assert_eq(kvf_crc32c(seed, buf + off, len), kvf_crc32c_portable(seed, buf + off, len),
		             "off %zu len %zu", off, len);
	}
	cr_assert_eq(kvf_crc32c(0, buf, N), kvf_crc32c_portable(0, buf, N));
	free(buf);
}

Test(crc32c, combines_a_checksum_computed_out_of_order)
{
	/* kvf_crc32c(h, b) from kvf_crc32c(0, b): how HashKV joins the part
	 * of bucket `key` it hashed while indexing to the part before it */
	static uint8_t buf[20000];
	uint32_t seed = 7;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	static const size_t cuts[] = { 0, 1, 3, 8, 17, 1000, 4096, 12345, 20000 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t a = cuts[i], b = sizeof(buf) - a;
		uint32_t whole = kvf_crc32c(0, buf, sizeof(buf));
		uint32_t crc_a = kvf_crc32c(0, buf, a), crc_b = kvf_crc32c(0, buf + a, b);
		cr_assert_eq(kvf_crc32c_combine(crc_a, crc_b, b), whole, "cut at %zu", a);
		/* any running value, not just a checksum from 0 */
		uint32_t h = 0xdeadbeefu ^ (uint32_t)a;
		cr_assert_eq(kvf_crc32c_combine(h, crc_b, b), kvf_crc32c(h, buf + a, b), "from %08x", h);
	}
	cr_assert_eq(kvf_crc32c_combine(0x12345678u, 0, 0), 0x12345678u, "nothing appended");
}
