#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/sha256.h"

static const char *hex(const uint8_t d[KVF_SHA256_LEN])
{
	static char s[2 * KVF_SHA256_LEN + 1];
	for (int i = 0; i < KVF_SHA256_LEN; i++)
		snprintf(s + 2 * i, 3, "%02x", d[i]);
	return s;
}

/* FIPS 180-4 / NIST CSHA examples (one block, two blocks, a million 'a') and
 * the empty message. */
Test(sha256, matches_the_nist_examples)
{
	static const struct { const char *msg; const char *want; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	uint8_t d[KVF_SHA256_LEN];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		kvf_sha256(v[i].msg, strlen(v[i].msg), d);
		cr_assert_str_eq(hex(d), v[i].want, "%s (%s)", v[i].msg, kvf_sha256_impl());
		kvf_sha256_portable(v[i].msg, strlen(v[i].msg), d);
		cr_assert_str_eq(hex(d), v[i].want, "%s (portable)", v[i].msg);
	}
	char *a = malloc(1000000);
	memset(a, 'a', 1000000);
	kvf_sha256(a, 1000000, d);
	cr_assert_str_eq(hex(d), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* Every length around the block and padding boundaries, whole and split in
 * two updates at every point: the hardware and portable blocks agree. */
Test(sha256, hardware_portable_and_split_updates_agree)
{
	uint8_t buf[300], d1[KVF_SHA256_LEN], d2[KVF_SHA256_LEN], d3[KVF_SHA256_LEN];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 167 + 13);
	for (size_t n = 0; n <= sizeof(buf); n++) {
		kvf_sha256(buf, n, d1);
		kvf_sha256_portable(buf, n, d2);
		cr_assert_eq(memcmp(d1, d2, sizeof(d1)), 0, "length %zu", n);
		for (size_t cut = 0; cut <= n; cut += 7) {
			kvf_sha256_ctx c;
			kvf_sha256_init(&c);
			kvf_sha256_update(&c, buf, cut);
			kvf_sha256_update(&c, NULL, 0);
			kvf_sha256_update(&c, buf + cut, n - cut);
			kvf_sha256_final(&c, d3);
			cr_assert_eq(memcmp(d1, d3, sizeof(d1)), 0, "length %zu cut at %zu", n, cut);
		}
	}
}

/* Two messages hashed side by side (kvf_sha256_update2): each digest is the
 * one it has alone, at every length and with one side already holding a
 * partial block (which forces the one-at-a-time path). */
Test(sha256, two_messages_side_by_side_agree_with_each_alone)
{
	static uint8_t a[5000], b[5000];
	for (size_t i = 0; i < sizeof(a); i++) {
		a[i] = (uint8_t)(i * 167 + 13);
		b[i] = (uint8_t)(i * 31 + 7 + (i >> 8));
	}
	for (size_t n = 0; n <= sizeof(a); n += (n < 300 ? 1 : 97)) {
		for (size_t lead = 0; lead < 3; lead++) {   /* bytes fed to a alone first */
			uint8_t wa[KVF_SHA256_LEN], wb[KVF_SHA256_LEN], ga[KVF_SHA256_LEN], gb[KVF_SHA256_LEN];
			kvf_sha256(a, n + lead, wa);
			kvf_sha256(b, n, wb);
			kvf_sha256_ctx ca, cb;
			kvf_sha256_init(&ca);
			kvf_sha256_init(&cb);
			kvf_sha256_update(&ca, a, lead);
			kvf_sha256_update2(&ca, a + lead, &cb, b, n);
			kvf_sha256_final(&ca, ga);
			kvf_sha256_final(&cb, gb);
			cr_assert_eq(memcmp(wa, ga, sizeof(wa)), 0, "a: length %zu after %zu alone (%s)", n, lead,
			             kvf_sha256_impl());
			cr_assert_eq(memcmp(wb, gb, sizeof(wb)), 0, "b: length %zu (%s)", n, kvf_sha256_impl());
		}
	}
}
