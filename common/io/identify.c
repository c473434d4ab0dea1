#include "io/identify.h"

#include "io/bytes.h"

#define BOLT_MAGIC 0xED0CDAEDu
#define LMDB_MAGIC 0xBEEFC0DEu
#define PAGE_HEADER 16
#define SHA256_LEN 32

/* The meta magic at page 0, or at page 1 for a page size from 512 B to 64 KiB
 * (page 0 damaged); both formats keep it after a 16-byte page header. */
static bool has_magic(const uint8_t *h, size_t n, uint32_t magic)
{
	if (n >= PAGE_HEADER + 4 && kvf_le32(h + PAGE_HEADER) == magic)
		return true;
	for (size_t ps = 512; ps <= (64u << 10); ps *= 2)
		if (n >= ps + PAGE_HEADER + 4 && kvf_le32(h + ps + PAGE_HEADER) == magic)
			return true;
	return false;
}

static size_t varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 10 && p + i < end; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/* snappb.Snapshot as etcd writes it (snap/snapshotter.go save): field 1
 * (crc, varint), then field 2 (data), whose length ends the file. */
static bool is_snap(const uint8_t *h, size_t n, uint64_t size)
{
	const uint8_t *p = h, *end = h + n;
	uint64_t crc, len;
	size_t k;
	if (size == UINT64_MAX || n < 4 || *p++ != 0x08)
		return false;
	if (!(k = varint(p, end, &crc)) || crc > UINT32_MAX)
		return false;
	p += k;
	if (p >= end || *p++ != 0x12 || !(k = varint(p, end, &len)))
		return false;
	p += k;
	return (uint64_t)(p - h) <= size && len == size - (uint64_t)(p - h);
}

kvf_file_kind kvf_identify_sized(kvf_file_kind k, uint64_t size)
{
	if ((k == KVF_FILE_BBOLT || k == KVF_FILE_SNAPSHOT_DB) && size != UINT64_MAX)
		return size > SHA256_LEN && size % 512 == SHA256_LEN ? KVF_FILE_SNAPSHOT_DB : KVF_FILE_BBOLT;
	return k;
}

kvf_file_kind kvf_identify(const uint8_t *h, size_t n, uint64_t size)
{
	if (n == 0 && size == 0)
		return KVF_FILE_EMPTY;
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return KVF_FILE_GZIP;
	if (has_magic(h, n, LMDB_MAGIC))
		return KVF_FILE_LMDB;
	if (has_magic(h, n, BOLT_MAGIC))
		return kvf_identify_sized(KVF_FILE_BBOLT, size);
	if (is_snap(h, n, size))
		return KVF_FILE_SNAP;
	return KVF_FILE_UNKNOWN;
}

const char *kvf_file_kind_name(kvf_file_kind k)
{
	switch (k) {
	case KVF_FILE_BBOLT: return "a bbolt database";
	case KVF_FILE_SNAPSHOT_DB: return "an etcdctl snapshot file (a bbolt database and its SHA-256)";
	case KVF_FILE_LMDB: return "an LMDB database";
	case KVF_FILE_SNAP: return "an etcd raft snapshot (.snap) file";
	case KVF_FILE_GZIP: return "gzip data";
	case KVF_FILE_EMPTY: return "an empty file (0 bytes)";
	case KVF_FILE_UNKNOWN: break;
	}
	return "of an unknown kind";
}
