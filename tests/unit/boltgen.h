/* Test-only: plant damage in a copy of a real bbolt file.
 *
 * A test loads a fixture db into memory, finds the page it wants to damage
 * with the few format facts below (decoded here independently of bolt.c, so
 * the expected page ids and offsets do not come from the code under test),
 * edits bytes, and writes the result into a fresh temporary directory. The
 * fixture itself is never written. */
#ifndef KVF_TEST_BOLTGEN_H
#define KVF_TEST_BOLTGEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct boltfile {
	uint8_t *p;
	size_t len;
	uint64_t ps;               /* page size, from meta 0 */
} boltfile;

static inline uint64_t bg_get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t bg_get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t bg_get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void bg_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void bg_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static inline boltfile bg_load(const char *path)
{
	boltfile f = { NULL, 0, 0 };
	FILE *in = fopen(path, "rb");
	if (!in)
		return f;
	fseek(in, 0, SEEK_END);
	long n = ftell(in);
	fseek(in, 0, SEEK_SET);
	f.p = malloc((size_t)n);
	f.len = fread(f.p, 1, (size_t)n, in);
	fclose(in);
	f.ps = bg_get32(f.p + 16 + 8);       /* meta: magic, version, page size */
	return f;
}

static inline char *bg_tmpdir(void)
{
	char *t = strdup("/tmp/kvf-bolt-XXXXXX");
	return mkdtemp(t);
}

/* Write the first len bytes of f as dir/name; returns the path. */
static inline char *bg_write(const char *dir, const char *name, const boltfile *f, size_t len)
{
	char *path;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	FILE *out = fopen(path, "wb");
	fwrite(f->p, 1, len, out);
	fclose(out);
	return path;
}

static inline uint8_t *bg_page(const boltfile *f, uint64_t pgid) { return f->p + pgid * f->ps; }
static inline uint8_t *bg_meta(const boltfile *f, int i) { return bg_page(f, (uint64_t)i) + 16; }
static inline uint64_t bg_txid(const boltfile *f, int i) { return bg_get64(bg_meta(f, i) + 48); }
/* The meta bbolt uses: the higher txid (both are valid in the fixtures). */
static inline int bg_meta_in_use(const boltfile *f) { return bg_txid(f, 1) > bg_txid(f, 0); }
static inline uint64_t bg_root(const boltfile *f) { return bg_get64(bg_meta(f, bg_meta_in_use(f)) + 16); }
static inline uint16_t bg_count(const boltfile *f, uint64_t pgid) { return bg_get16(bg_page(f, pgid) + 10); }
static inline uint16_t bg_flags(const boltfile *f, uint64_t pgid) { return bg_get16(bg_page(f, pgid) + 8); }

/* File offset of element i of page pgid (16-byte header, 16-byte elements). */
static inline uint64_t bg_elem_off(const boltfile *f, uint64_t pgid, unsigned i)
{
	return pgid * f->ps + 16 + 16 * (uint64_t)i;
}

/* Branch element {pos, ksize, pgid}: the child page id and where it is stored. */
static inline uint64_t bg_child(const boltfile *f, uint64_t pgid, unsigned i)
{
	return bg_get64(f->p + bg_elem_off(f, pgid, i) + 8);
}

/* Leaf element {flags, pos, ksize, vsize}: the key's file offset. */
static inline uint64_t bg_leaf_key_off(const boltfile *f, uint64_t pgid, unsigned i)
{
	uint64_t e = bg_elem_off(f, pgid, i);
	return e + bg_get32(f->p + e + 4);
}

static inline uint32_t bg_leaf_ksize(const boltfile *f, uint64_t pgid, unsigned i)
{
	return bg_get32(f->p + bg_elem_off(f, pgid, i) + 8);
}

/* Root page of a top-level bucket, looked up in the root page (a single
 * leaf in every fixture); 0 when absent or inline. */
static inline uint64_t bg_bucket_root(const boltfile *f, const char *name)
{
	uint64_t root = bg_root(f);
	for (unsigned i = 0; i < bg_count(f, root); i++) {
		uint64_t e = bg_elem_off(f, root, i);
		uint32_t ks = bg_get32(f->p + e + 8);
		const uint8_t *k = f->p + e + bg_get32(f->p + e + 4);
		if (ks == strlen(name) && memcmp(k, name, ks) == 0)
			return bg_get64(k + ks);
	}
	return 0;
}

#endif
