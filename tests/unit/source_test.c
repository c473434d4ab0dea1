/* io/source.h: the evidence mapping, and the thread that maps its pages
 * ahead of a reader (kvf_map_prefault). The fixtures are all under the
 * 64 MiB it starts at, so a file of that size is made here. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/crc32c.h"
#include "io/source.h"

enum { BIG = 80 << 20 };

static char *make_big_file(uint32_t *crc)
{
	char *path = strdup("/tmp/kvf-source-test.XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	static uint8_t block[1 << 16];
	*crc = 0;
	for (size_t off = 0; off < BIG; off += sizeof(block)) {
		for (size_t i = 0; i < sizeof(block); i++)
			block[i] = (uint8_t)((off + i) * 2654435761u >> 24);
		cr_assert_eq(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
		*crc = kvf_crc32c(*crc, block, sizeof(block));
	}
	close(fd);
	return path;
}

Test(source, a_prefaulted_mapping_reads_the_same_bytes_and_closes_at_once)
{
	uint32_t want;
	char *path = make_big_file(&want);
	unsetenv("KVF_NO_PREFAULT");
	kvf_map m;
	kvf_err err;
	kvf_err_clear(&err);
	cr_assert_eq(kvf_map_open(&m, path, &err), KVF_OK, "%s", err.msg);
	kvf_map_prefault(&m);
	cr_assert_not_null(m.prefault, "a file of %d bytes gets the thread", BIG);
	cr_assert_eq(kvf_crc32c(0, m.data, m.size), want, "the bytes read while it maps them");
	kvf_map_close(&m);

	/* closed while the thread is still at work: it stops, nothing leaks */
	cr_assert_eq(kvf_map_open(&m, path, &err), KVF_OK);
	kvf_map_prefault(&m);
	kvf_map_prefault(&m);   /* a second call adds nothing */
	kvf_map_close(&m);

	setenv("KVF_NO_PREFAULT", "1", 1);
	cr_assert_eq(kvf_map_open(&m, path, &err), KVF_OK);
	kvf_map_prefault(&m);
	cr_assert_null(m.prefault, "KVF_NO_PREFAULT=1 leaves it out");
	kvf_map_close(&m);
	unlink(path);
	free(path);
}
