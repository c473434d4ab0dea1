/* CRC-32C (Castagnoli), the checksum of etcd's WAL and snapshot files.
 *
 * Semantics match Go's crc32.Update with the Castagnoli table: the running
 * value is pre- and post-inverted, so kvf_crc32c(0, a||b) ==
 * kvf_crc32c(kvf_crc32c(0, a), b). etcd chains records exactly this way. */
#ifndef KVF_CRC32C_H
#define KVF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t kvf_crc32c(uint32_t crc, const void *data, size_t len);

/* kvf_crc32c(crc_a, b) from crc_b = kvf_crc32c(0, b) and b's length alone:
 * a checksum of b computed before the one of what precedes it is joined to
 * it afterwards (zlib's crc32_combine, for the Castagnoli polynomial). */
uint32_t kvf_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The table-driven implementation, always available (tests compare the two). */
uint32_t kvf_crc32c_portable(uint32_t crc, const void *data, size_t len);

/* What kvf_crc32c uses on this CPU: "sse4.2+pclmul" (three interleaved
 * streams), "sse4.2", "armv8-crc" or "table". */
const char *kvf_crc32c_impl(void);

#endif
