/* Test-only: build WAL segments the way etcd's encoder does (walpb.Record
 * framed by a length word, padded to 8 bytes, chained CRC-32C), so tests can
 * plant damage at exact offsets. Real segments come from testdata/. */
#ifndef KVF_TEST_WALGEN_H
#define KVF_TEST_WALGEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/buf.h"
#include "io/crc32c.h"
#include "encoding/proto/raftpb.pb-c.h"
#include "encoding/proto/walpb.pb-c.h"

typedef struct walgen {
	kvf_buf b;
	uint32_t crc;
} walgen;

static inline void wg_frame(walgen *g, int64_t type, uint32_t crc, const void *data, size_t len)
{
	Walpb__Record r = WALPB__RECORD__INIT;
	r.has_type = r.has_crc = 1;
	r.type = type;
	r.crc = crc;
	if (data) {
		r.has_data = 1;
		r.data.data = (uint8_t *)data;
		r.data.len = len;
	}
	size_t n = walpb__record__get_packed_size(&r);
	uint8_t *rec = malloc(n);
	walpb__record__pack(&r, rec);
	unsigned pad = (unsigned)((8 - n % 8) % 8);
	uint64_t lw = n | (pad ? (uint64_t)(0x80 | pad) << 56 : 0);
	kvf_buf_append(&g->b, &lw, 8);
	kvf_buf_append(&g->b, rec, n);
	static const uint8_t zeros[8];
	kvf_buf_append(&g->b, zeros, pad);
	free(rec);
}

/* A record whose crc chains from the previous one. */
static inline void wg_record(walgen *g, int64_t type, const void *data, size_t len)
{
	g->crc = kvf_crc32c(g->crc, data, len);
	wg_frame(g, type, g->crc, data, len);
}

static inline void wg_crc(walgen *g)
{
	wg_frame(g, 4, g->crc, NULL, 0);
}

static inline void wg_entry(walgen *g, uint64_t term, uint64_t index, const void *data, size_t len)
{
	Raftpb__Entry e = RAFTPB__ENTRY__INIT;
	e.has_term = e.has_index = e.has_type = 1;
	e.term = term;
	e.index = index;
	e.type = RAFTPB__ENTRY_TYPE__EntryNormal;
	if (data) {
		e.has_data = 1;
		e.data.data = (uint8_t *)data;
		e.data.len = len;
	}
	uint8_t buf[4096];
	size_t n = raftpb__entry__pack(&e, buf);
	wg_record(g, 2, buf, n);
}

static inline void wg_state(walgen *g, uint64_t term, uint64_t vote, uint64_t commit)
{
	Raftpb__HardState hs = RAFTPB__HARD_STATE__INIT;
	hs.has_term = hs.has_vote = hs.has_commit = 1;
	hs.term = term;
	hs.vote = vote;
	hs.commit = commit;
	uint8_t buf[64];
	size_t n = raftpb__hard_state__pack(&hs, buf);
	wg_record(g, 3, buf, n);
}

/* Write g (plus `zeros` bytes of preallocated tail) as dir/name. */
static inline char *wg_write(const char *dir, const char *name, const walgen *g, size_t zeros)
{
	char *path;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	FILE *f = fopen(path, "wb");
	if (g->b.len)   /* an empty generator has no buffer at all */
		fwrite(g->b.p, 1, g->b.len, f);
	for (size_t i = 0; i < zeros; i++)
		fputc(0, f);
	fclose(f);
	return path;
}

static inline char *wg_tmpdir(void)
{
	char tmpl[] = "/tmp/kvf-walgen-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

#endif
