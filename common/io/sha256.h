/* SHA-256 (FIPS 180-4), for the digest `etcdctl snapshot save` appends to a
 * snapshot file (etcdutl's copyAndVerifyDB checks it before a restore).
 *
 * Hardware SHA extensions (x86 SHA-NI) when the CPU has them, a portable
 * implementation otherwise; kvf_sha256_impl() says which. */
#ifndef KVF_SHA256_H
#define KVF_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define KVF_SHA256_LEN 32

typedef struct kvf_sha256_ctx {
	uint32_t h[8];
	uint64_t bytes;          /* message length so far */
	uint8_t block[64];       /* a partial block */
	size_t used;
	void (*blocks)(uint32_t h[8], const uint8_t *p, size_t n);
} kvf_sha256_ctx;

void kvf_sha256_init(kvf_sha256_ctx *c);
void kvf_sha256_update(kvf_sha256_ctx *c, const void *data, size_t len);
/* Two independent updates of the same length, hashed side by side: about
 * twice the speed of one after the other with SHA-NI (the two digests are
 * exactly those of kvf_sha256_update on each). */
void kvf_sha256_update2(kvf_sha256_ctx *a, const void *da, kvf_sha256_ctx *b, const void *db, size_t len);
void kvf_sha256_final(kvf_sha256_ctx *c, uint8_t out[KVF_SHA256_LEN]);

/* The digest of one buffer. */
void kvf_sha256(const void *data, size_t len, uint8_t out[KVF_SHA256_LEN]);
/* The same without hardware help (tests compare the two). */
void kvf_sha256_portable(const void *data, size_t len, uint8_t out[KVF_SHA256_LEN]);

/* "sha-ni" or "portable". */
const char *kvf_sha256_impl(void);

#endif
