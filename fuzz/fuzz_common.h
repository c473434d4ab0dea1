/* Shared by the harnesses: the input as a file, and the oracles.
 *
 * The library opens evidence by path only (kvf_open_evidence, kvf_map,
 * kvf_stream, mdb_env_open), which is the code we want fuzzed, so each input
 * is written to an anonymous memory file (memfd) and opened through
 * /proc/self/fd/N: a regular file for fstat, nothing on disk, no cleanup,
 * and liblmdb can open it by name like any data.mdb. One memfd serves every
 * run of a process; it is truncated and rewritten for each input. */
#ifndef KVF_FUZZ_COMMON_H
#define KVF_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "io/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: an oracle failed (libFuzzer and the replay driver
 * both report an abort as a crash). */
static inline void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz oracle failed: %s\n", what);
	abort();
}

/* Path of a memory file holding exactly data[0..size). */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("kvf-fuzz-input", MFD_CLOEXEC);
		if (fd < 0)
			fuzz_fail("memfd_create");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0)
		fuzz_fail("ftruncate");
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
		if (n <= 0)
			fuzz_fail("pwrite");
		done += (size_t)n;
	}
	return path;
}

/* The streaming JSON writer must print the bytes jansson prints for the
 * tree (render.h promises it; tests hold it over the fixtures, the fuzzer
 * over everything else). Consumes tree. */
static inline void fuzz_same_json(json_t *tree, const kvf_buf *streamed)
{
	char *want = json_dumps(tree, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(tree);
	if (!want)
		fuzz_fail("jansson could not dump a tree the renderer built");
	if (streamed->len != strlen(want) || memcmp(streamed->p, want, streamed->len) != 0) {
		fprintf(stderr, "tree:   %s\nstream: %.*s\n", want, (int)streamed->len, streamed->p);
		fuzz_fail("streamed JSON differs from the tree");
	}
	free(want);
}

/* Render a tree as the tools would (catches trees jansson cannot dump). */
static inline void fuzz_dump(json_t *v)
{
	if (!v)
		return;
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		fuzz_fail("jansson could not dump a tree the renderer built");
	free(s);
	json_decref(v);
}

#endif
