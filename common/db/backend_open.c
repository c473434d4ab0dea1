/* Which reader opens a file: the dispatch of kvf_backend_open (backend.h).
 * It sits apart from backend.c so that the readers (bolt.c, lmdbx.c), which
 * use backend.c's shared parts through backend_impl.h, never depend on it:
 * open -> readers -> backend, with no way back. */
#include "db/backend.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "db/bolt.h"
#include "db/lmdbx.h"
#include "io/source.h"

#define LMDB_MAGIC 0xBEEFC0DEu

/* LMDB's meta page: 16-byte page header, then mm_magic. Everything else
 * (bbolt, or a file whose page 0 is damaged) goes to the bbolt reader, which
 * knows how to look for its second meta page. */
static kvf_status is_lmdb_file(const char *path, bool *yes, kvf_err *err)
{
	int fd;
	uint64_t size;
	kvf_status st = kvf_open_evidence(path, &fd, &size, err);
	if (st)
		return st;
	uint8_t hdr[24];
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
	*yes = n == (ssize_t)sizeof(hdr) && kvf_le32(hdr + 16) == LMDB_MAGIC;
	/* Page 0 damaged: LMDB keeps a second meta on page 1, whose offset is
	 * the page size (a power of two, 512 B to 64 KiB as lmdbx.c accepts).
	 * bbolt's second meta carries its own magic there, so no confusion. */
	for (uint64_t ps = 512; !*yes && ps <= 65536 && ps + sizeof(hdr) <= size; ps *= 2) {
		n = pread(fd, hdr, sizeof(hdr), (off_t)ps);
		*yes = n == (ssize_t)sizeof(hdr) && kvf_le32(hdr + 16) == LMDB_MAGIC;
	}
	close(fd);
	return KVF_OK;
}

kvf_status kvf_backend_open(kvf_backend **b, const char *path, kvf_err *err)
{
	*b = NULL;
	if (kvf_is_dir(path)) {
		/* an LMDB environment directory: its data file is data.mdb */
		char *data = kvf_path_join(path, "data.mdb");
		bool lmdb = false;
		kvf_status st = data ? is_lmdb_file(data, &lmdb, err) : KVF_E_NOMEM;
		free(data);
		if (st)
			return st;
		if (!lmdb)
			return kvf_err_set(err, KVF_E_UNSUPPORTED, path, 0,
			                   "directory without an LMDB data.mdb (not a bbolt file either)");
		return kvf_lmdb_open(b, path, err);
	}
	bool lmdb;
	kvf_status st = is_lmdb_file(path, &lmdb, err);
	if (st)
		return st;
	return lmdb ? kvf_lmdb_open(b, path, err) : kvf_bolt_open(b, path, err);
}
