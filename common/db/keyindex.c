#include "db/keyindex.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "io/buf.h"
#include "io/crc32c.h"

/* Generation states, as etcd's keyIndex would see the key so far. */
enum {
	GEN_NONE,    /* not in etcd's index: only tombstones seen (restoreIntoIndex skips them) */
	GEN_OPEN,    /* the last generation has revisions */
	GEN_EMPTY,   /* a tombstone closed the last generation */
};

/* The table is open addressing with linear probing. A slot holds the
 * entry's index and 32 bits of its key's hash, so a probe past another key
 * is settled by comparing tags in the slot array: comparing keys instead
 * meant reading the entry and then the key in the mapped file, two cache
 * misses per probe, and that was most of the time of `status` on a db with
 * a million revisions. The tag also places the entry, so growing the table
 * never reads the keys again. */
#define SLOT_INDEX(s) ((uint32_t)(s))
#define SLOT_TAG(s) ((uint32_t)((s) >> 32))

static uint32_t key_hash(const uint8_t *p, size_t n)
{
	/* FNV-1a, 64-bit, then murmur3's finalizer: FNV's low bits change
	 * little between keys that differ only in their last bytes
	 * (pod-0000001, pod-0000002), and the low bits pick the slot. Keys
	 * are not an attack surface that matters here: a collision costs a
	 * probe, not correctness. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* The slot table and the entries are read at random, one key per pair of
 * bucket `key`: with tens of megabytes of them, 4 KiB pages cost a TLB miss
 * on almost every lookup and a page fault per 4 KiB on first touch. Large
 * tables are aligned to 2 MiB and offered to the kernel as transparent huge
 * pages (only advice: where THP is off, nothing changes). On the 1M-revision
 * bench db this took `status` from 1.1 s to 0.8 s. */
#define HUGE_PAGE ((size_t)2 << 20)

static void *table_alloc(size_t bytes)
{
	if (bytes < HUGE_PAGE)
		return malloc(bytes ? bytes : 1);
	size_t rounded = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	if (rounded < bytes)
		return NULL;
	void *p = aligned_alloc(HUGE_PAGE, rounded);
	if (p)
		(void)madvise(p, rounded, MADV_HUGEPAGE);
	return p;
}

static bool rehash(kvf_keyindex *ki)
{
	/* the tag has 32 bits to place an entry with: no more slots than that
	 * (2^31 keys, far beyond any memory this runs in) */
	size_t nslots = ki->nslots ? ki->nslots * 2 : 1024, bytes;
	if (nslots < ki->nslots || (uint64_t)nslots > ((uint64_t)1 << 32) ||
	    !kvf_mul_ok(nslots, sizeof(uint64_t), &bytes))
		return false;
	uint64_t *slots = table_alloc(bytes);
	if (!slots)
		return false;
	memset(slots, 0, bytes);
	for (size_t i = 0; i < ki->nslots; i++) {
		uint64_t v = ki->slots[i];
		if (!v)
			continue;
		size_t s = SLOT_TAG(v) & (nslots - 1);
		while (slots[s])
			s = (s + 1) & (nslots - 1);
		slots[s] = v;
	}
	free(ki->slots);
	ki->slots = slots;
	ki->nslots = nslots;
	return true;
}

static size_t find_slot(const kvf_keyindex *ki, const uint8_t *key, size_t len, uint32_t tag)
{
	size_t s = tag & (ki->nslots - 1);
	for (;;) {
		uint64_t v = ki->slots[s];
		if (!v)
			return s;
		if (SLOT_TAG(v) == tag) {
			const kvf_key_entry *e = &ki->entries[SLOT_INDEX(v) - 1];
			if (e->key.len == len && memcmp(e->key.p, key, len) == 0)
				return s;
		}
		s = (s + 1) & (ki->nslots - 1);
	}
}

const kvf_key_entry *kvf_keyindex_find(const kvf_keyindex *ki, const uint8_t *key, size_t len)
{
	if (!ki->nslots)
		return NULL;
	uint32_t i = SLOT_INDEX(ki->slots[find_slot(ki, key, len, key_hash(key, len))]);
	return i ? &ki->entries[i - 1] : NULL;
}

/* The entries live in an anonymous mapping that mremap grows by moving
 * its page tables: the entries already there are neither copied nor
 * cleared again. Growing a malloc'd array copied them into fresh pages,
 * which the kernel clears on first touch: on the 1M-revision bench db
 * that copy and its clearing were a fifth of `status` (perf: memmove ->
 * do_huge_pmd_anonymous_page -> clear_page_erms), more on a new VM, whose
 * host backs guest memory only as it is first touched. The capacity
 * beyond ki->n costs address space, not memory. */
static bool grow_entries(kvf_keyindex *ki)
{
	size_t cap = ki->cap ? ki->cap : 1024 * 1024 / sizeof(*ki->entries), bytes;
	if (ki->cap && !kvf_mul_ok(ki->cap, 4, &cap))
		return false;
	if (!kvf_mul_ok(cap, sizeof(*ki->entries), &bytes) || bytes > SIZE_MAX - HUGE_PAGE)
		return false;
	bytes = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	void *p = ki->entries
		? mremap(ki->entries, ki->entries_bytes, bytes, MREMAP_MAYMOVE)
		: mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	ki->entries = p;
	ki->entries_bytes = bytes;
	ki->cap = bytes / sizeof(*ki->entries);
	return true;
}

static kvf_key_entry *lookup_or_insert(kvf_keyindex *ki, kvf_span key, uint32_t tag)
{
	/* keep the table at most half full */
	if ((ki->n + 1) * 2 > ki->nslots && !rehash(ki))
		return NULL;
	size_t s = find_slot(ki, key.p, key.len, tag);
	if (ki->slots[s])
		return &ki->entries[SLOT_INDEX(ki->slots[s]) - 1];
	if (ki->n >= UINT32_MAX - 1)
		return NULL;
	if (ki->n == ki->cap && !grow_entries(ki))
		return NULL;
	kvf_key_entry *e = &ki->entries[ki->n];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->gen = GEN_NONE;
	ki->slots[s] = (uint64_t)tag << 32 | (uint32_t)(++ki->n);
	return e;
}

/* One revision of a key, in revision order, at or below at_rev: what
 * restoreIntoIndex and keep() would make of it. */
static void apply(kvf_key_entry *e, kvf_revision rev, bool tomb, kvf_span kv)
{
	e->revisions++;
	e->last = rev;
	e->last_tombstone = tomb;
	e->last_kv = kv;
	switch (e->gen) {
	case GEN_NONE:
		/* a tombstone of a key the index does not know is dropped */
		if (!tomb) {
			e->gen = GEN_OPEN;
			e->keep = rev;
			e->has_keep = true;
		}
		break;
	case GEN_OPEN:
		if (tomb) {
			/* ki.tombstone: the generation ends here, at or below at_rev,
			 * so doCompact moves past it and keeps nothing from it */
			e->gen = GEN_EMPTY;
			e->has_keep = false;
		} else {
			e->keep = rev;
			e->has_keep = true;
		}
		break;
	case GEN_EMPTY:
		/* a second tombstone is ErrRevisionNotFound in etcd: ignored */
		if (!tomb) {
			e->gen = GEN_OPEN;
			e->keep = rev;
			e->has_keep = true;
		}
		break;
	}
}

static int cmp_keep(const void *a, const void *b)
{
	return kvf_rev_cmp(((const struct kvf_keyindex_keep *)a)->rev, ((const struct kvf_keyindex_keep *)b)->rev);
}

static kvf_status read_compaction(kvf_backend *b, kvf_keyindex *ki, kvf_err *err)
{
	kvf_etcd_state st;
	kvf_status s = kvf_etcd_read_state(b, &st, err);
	if (s)
		return s;
	ki->compact_rev = st.has_finished_compact ? st.finished_compact : 0;
	ki->scheduled_compact_rev = st.has_scheduled_compact ? st.scheduled_compact : 0;
	return KVF_OK;
}

kvf_status kvf_keyindex_begin(kvf_backend *b, const kvf_keyindex_opts *o, kvf_keyindex *ki, kvf_err *err)
{
	memset(ki, 0, sizeof(*ki));
	ki->opts = *o;
	ki->partial = o->prefix != NULL;
	return read_compaction(b, ki, err);
}

/* The pipeline. Revisions of bucket `key` come in revision order, so each
 * one looks up a key at random: its slot, then its entry, then (when the
 * key is there already) the key's bytes in a page read long before; each a
 * cache miss, and together most of the time of an index of a million
 * revisions. So a revision waits in a ring of 16 while the ones before it
 * are indexed: when it arrives its slot is prefetched, 6 adds later the
 * entry its tag points to, 11 adds later that entry's key, and 16 adds
 * later it is indexed, with its memory at hand. The prefetches are only
 * hints: indexing looks everything up again, so a table that grew or an
 * entry added meanwhile changes nothing but the speed. */
enum { PIPE = 16, PIPE_ENTRY = 6, PIPE_KEY = 11 };

typedef struct kvf_keyindex_pending pending;

static pending *pending_at(kvf_keyindex *ki, size_t age)
{
	return &ki->pending[(ki->pending_head + PIPE - 1 - age) % PIPE];
}

static void prefetch_entry(const kvf_keyindex *ki, pending *q)
{
	if (!ki->nslots)
		return;
	for (size_t s = q->tag & (ki->nslots - 1);; s = (s + 1) & (ki->nslots - 1)) {
		uint64_t v = ki->slots[s];
		if (!v)
			return;   /* a new key: nothing of it to fetch */
		if (SLOT_TAG(v) == q->tag && SLOT_INDEX(v) <= ki->n) {
			q->hint = SLOT_INDEX(v);
			__builtin_prefetch(&ki->entries[q->hint - 1]);
			return;
		}
	}
}

static kvf_status index_oldest(kvf_keyindex *ki, kvf_err *err)
{
	pending *q = &ki->pending[(ki->pending_head + PIPE - ki->pending_n) % PIPE];
	ki->pending_n--;
	kvf_key_entry *e = lookup_or_insert(ki, q->key, q->tag);
	if (!e)
		return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET,
		                   "out of memory indexing %zu keys", ki->n);
	apply(e, q->rev, q->tomb, q->kv);
	return KVF_OK;
}

/* What hash_newer asks of a pair: the checksum of the pairs
 * kvf_hashkv_compute takes as they are, whether or not their KeyValue
 * decodes; in order, they are the tail of the bucket, which it then need
 * not read. Touches only the order and newer_* fields (the walker thread
 * of kvf_keyindex_build calls it while index_pair runs on the others). */
static void note_newer(kvf_keyindex *ki, const kvf_pair *p)
{
	const kvf_keyindex_opts *o = &ki->opts;
	kvf_revision rev;
	bool tomb;
	if (p->is_bucket || !kvf_revkey_parse(p->key, &rev, &tomb))
		return;
	if (ki->seen_any && kvf_rev_cmp(rev, ki->newest_seen) <= 0)
		ki->out_of_order = true;
	ki->newest_seen = rev;
	ki->seen_any = true;
	if (rev.main > ki->compact_rev && (o->at_rev <= 0 || rev.main <= o->at_rev)) {
		ki->newer_crc = kvf_crc32c(ki->newer_crc, p->key.p, p->key.len);
		ki->newer_crc = kvf_crc32c(ki->newer_crc, p->value.p, p->value.len);
		ki->newer_bytes += p->key.len + p->value.len;
		ki->newer_pairs++;
	}
}

/* Everything else an add does; never touches what note_newer does. */
static kvf_status index_pair(kvf_keyindex *ki, const kvf_pair *p, kvf_err *err)
{
	const kvf_keyindex_opts *o = &ki->opts;
	kvf_revision rev;
	bool tomb;
	kvf_kv kv;
	bool is_rev = !p->is_bucket && kvf_revkey_parse(p->key, &rev, &tomb);
	if (!is_rev || !kvf_kv_parse(p->value, &kv)) {
		ki->malformed++;
		return KVF_OK;
	}
	ki->revisions++;
	ki->tombstones += tomb;
	if (rev.main > ki->last_main)
		ki->last_main = rev.main;
	if (o->progress && (ki->revisions & 0xffff) == 0)
		o->progress(o->progress_ctx, ki->revisions);
	if (o->at_rev > 0 && rev.main > o->at_rev)
		return KVF_OK;
	if (o->prefix && (kv.key.len < o->prefix_len || memcmp(kv.key.p, o->prefix, o->prefix_len) != 0))
		return KVF_OK;
	if (ki->pending_n == PIPE) {
		kvf_status s = index_oldest(ki, err);
		if (s)
			return s;
	}
	pending *q = &ki->pending[ki->pending_head];
	ki->pending_head = (ki->pending_head + 1) % PIPE;
	ki->pending_n++;
	*q = (pending){ .key = kv.key, .kv = p->value, .rev = rev, .tomb = tomb,
	                .tag = key_hash(kv.key.p, kv.key.len) };
	if (ki->nslots)
		__builtin_prefetch(&ki->slots[q->tag & (ki->nslots - 1)]);
	if (ki->pending_n > PIPE_ENTRY)
		prefetch_entry(ki, pending_at(ki, PIPE_ENTRY));
	if (ki->pending_n > PIPE_KEY) {
		const pending *k = pending_at(ki, PIPE_KEY);
		if (k->hint && k->hint <= ki->n)
			__builtin_prefetch(ki->entries[k->hint - 1].key.p);
	}
	return KVF_OK;
}

kvf_status kvf_keyindex_add(kvf_keyindex *ki, const kvf_pair *p, kvf_err *err)
{
	if (ki->opts.hash_newer)
		note_newer(ki, p);
	return index_pair(ki, p, err);
}

kvf_status kvf_keyindex_finish(kvf_keyindex *ki, kvf_err *err)
{
	const kvf_keyindex_opts *o = &ki->opts;
	while (ki->pending_n) {
		kvf_status s = index_oldest(ki, err);
		if (s)
			return s;
	}
	/* etcd: "the correct revision should be set to compaction revision" when
	 * compaction removed everything above the last write */
	ki->current_rev = ki->last_main > ki->compact_rev ? ki->last_main : ki->compact_rev;
	/* an empty store is at revision 1 (kvstore.go: currentRev starts at 1,
	 * and restoreIntoIndex's currentRev too), as a new member reports it */
	if (ki->current_rev < 1)
		ki->current_rev = 1;
	if (o->at_rev > ki->current_rev)
		return kvf_err_set(err, KVF_E_USAGE, NULL, KVF_NO_OFFSET,
		                   "revision %lld is a future revision (current %lld)",
		                   (long long)o->at_rev, (long long)ki->current_rev);
	ki->at_rev = o->at_rev > 0 ? o->at_rev : ki->current_rev;
	size_t n_old = 0;
	for (size_t i = 0; i < ki->n; i++) {
		const kvf_key_entry *e = &ki->entries[i];
		ki->live += e->revisions && !e->last_tombstone;
		ki->keep_nonempty |= e->has_keep;
		n_old += e->has_keep && e->keep.main <= ki->compact_rev;
	}
	if (n_old) {
		if (!(ki->old_keep = malloc(n_old * sizeof(*ki->old_keep))))
			return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
		for (size_t i = 0; i < ki->n; i++) {
			const kvf_key_entry *e = &ki->entries[i];
			if (!e->has_keep || e->keep.main > ki->compact_rev)
				continue;
			/* a keep revision is the key's newest put (a later
			 * revision moves it or, a tombstone, clears it), so the
			 * value at it is the one the entry holds; when not,
			 * kvf_hashkv_compute reads the bucket again (kv.p NULL) */
			kvf_span kv = kvf_rev_cmp(e->keep, e->last) == 0 && !e->last_tombstone
				? e->last_kv : (kvf_span){ NULL, 0, KVF_NO_OFFSET };
			ki->old_keep[ki->n_old_keep++] = (struct kvf_keyindex_keep){ e->keep, kv };
		}
		if (ki->n_old_keep > 1)
			qsort(ki->old_keep, ki->n_old_keep, sizeof(*ki->old_keep), cmp_keep);
	}
	return KVF_OK;
}

/* kvf_keyindex_build on two cores: a walker thread runs the cursor (the
 * first touch of every page and key, and hash_newer's checksum of most of
 * the values) while the caller's thread indexes what it found, batches of
 * pairs apart. Both are bound by memory latency, so they overlap well
 * (perf on `status` of the bench db: the cursor's first touches about
 * half, the table's misses the other half). The pairs point into the
 * backend's mapping; the cursor and the backend's findings are the
 * walker's alone until it is joined. */
enum { WALK_BATCH = 512, WALK_RING = 8 };

typedef struct walk {
	kvf_keyindex *ki;
	kvf_cursor *c;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	kvf_pair (*pairs)[WALK_BATCH];
	size_t len[WALK_RING];
	size_t produced, consumed;   /* batches */
	bool done, stop;
	kvf_status st;               /* the cursor's */
	kvf_err err;
} walk;

static void *walk_main(void *arg)
{
	walk *w = arg;
	bool got = true;
	kvf_status s = KVF_OK;
	while (got && !s) {
		pthread_mutex_lock(&w->mu);
		while (w->produced - w->consumed == WALK_RING && !w->stop)
			pthread_cond_wait(&w->room, &w->mu);
		bool stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;
		size_t slot = w->produced % WALK_RING, n = 0;
		kvf_pair *b = w->pairs[slot];
		while (n < WALK_BATCH && (s = kvf_cursor_next(w->c, &b[n], &got, &w->err)) == KVF_OK && got) {
			if (w->ki->opts.hash_newer)
				note_newer(w->ki, &b[n]);
			n++;
		}
		pthread_mutex_lock(&w->mu);
		w->len[slot] = n;
		w->produced++;
		pthread_cond_signal(&w->more);
		pthread_mutex_unlock(&w->mu);
	}
	pthread_mutex_lock(&w->mu);
	w->st = s;
	w->done = true;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static kvf_status walk_serial(kvf_keyindex *ki, kvf_cursor *c, kvf_err *err)
{
	kvf_status s;
	kvf_pair p;
	bool got;
	while ((s = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got)
		if ((s = kvf_keyindex_add(ki, &p, err)))
			break;
	return s;
}

static kvf_status walk_parallel(kvf_keyindex *ki, kvf_cursor *c, kvf_err *err)
{
	walk w = { .ki = ki, .c = c };
	pthread_t t;
	if (!(w.pairs = malloc(WALK_RING * sizeof(*w.pairs))))
		return walk_serial(ki, c, err);
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.more, NULL);
	pthread_cond_init(&w.room, NULL);
	kvf_err_clear(&w.err);
	if (pthread_create(&t, NULL, walk_main, &w) != 0) {
		free(w.pairs);
		return walk_serial(ki, c, err);
	}
	kvf_status s = KVF_OK;
	for (;;) {
		pthread_mutex_lock(&w.mu);
		while (w.produced == w.consumed && !w.done)
			pthread_cond_wait(&w.more, &w.mu);
		bool empty = w.produced == w.consumed;
		size_t slot = w.consumed % WALK_RING, n = w.len[slot];
		pthread_mutex_unlock(&w.mu);
		if (empty)
			break;
		for (size_t i = 0; i < n && !s; i++)
			s = index_pair(ki, &w.pairs[slot][i], err);
		pthread_mutex_lock(&w.mu);
		w.consumed++;
		w.stop = s != KVF_OK;
		pthread_cond_signal(&w.room);
		pthread_mutex_unlock(&w.mu);
		if (s)
			break;
	}
	pthread_join(t, NULL);
	/* an indexing error came first in the bucket's order: the cursor
	 * stopped after it, or went on only to be stopped */
	if (!s && w.st) {
		s = w.st;
		*err = w.err;
	}
	pthread_cond_destroy(&w.room);
	pthread_cond_destroy(&w.more);
	pthread_mutex_destroy(&w.mu);
	free(w.pairs);
	return s;
}

kvf_status kvf_keyindex_build(kvf_backend *b, const kvf_keyindex_opts *o, kvf_keyindex *ki, kvf_err *err)
{
	kvf_status s = kvf_keyindex_begin(b, o, ki, err);
	if (s)
		return s;
	kvf_cursor *c;
	s = kvf_cursor_open(b, KVF_BUCKET_KEY, 3, &c, err);
	if (s == KVF_E_NOTFOUND) {
		kvf_err_clear(err);   /* no bucket `key`: an empty store */
		s = KVF_OK;
	} else if (s == KVF_OK) {
		const char *serial = getenv("KVF_SERIAL");
		s = serial && strcmp(serial, "1") == 0 ? walk_serial(ki, c, err) : walk_parallel(ki, c, err);
		kvf_cursor_close(c);
	}
	if (s == KVF_OK)
		s = kvf_keyindex_finish(ki, err);
	if (s)
		kvf_keyindex_free(ki);
	return s;
}

void kvf_keyindex_free(kvf_keyindex *ki)
{
	if (ki->entries)
		munmap(ki->entries, ki->entries_bytes);
	free(ki->slots);
	free(ki->old_keep);
	memset(ki, 0, sizeof(*ki));
}

/* Sorting by key. The keys lie at random in the mapped file, and under
 * a shared prefix (/registry/pods/NAMESPACE/...) a comparison sort reads
 * two of them per comparison, some 20 comparisons a key for a million:
 * that was most of `keys`. Instead a radix sort by 8 bytes at a time
 * (big-endian, zero-padded): each round reads 8 bytes of each key still
 * tied, once, sorts the words in memory, and goes on only with the runs
 * that tie, 8 bytes further. Within a tied run the keys that end in those
 * 8 bytes are prefixes of the others: they come first, shortest first. */
typedef struct sort_item {
	uint64_t w;
	const kvf_key_entry *e;
} sort_item;

static uint64_t key_word(const kvf_key_entry *e, size_t off)
{
	uint8_t b[8] = { 0 };
	if (off < e->key.len)
		memcpy(b, e->key.p + off, e->key.len - off < 8 ? e->key.len - off : 8);
	uint64_t w = 0;
	for (int i = 0; i < 8; i++)
		w = w << 8 | b[i];
	return w;
}

static int cmp_word(const void *a, const void *b)
{
	uint64_t x = ((const sort_item *)a)->w, y = ((const sort_item *)b)->w;
	return x < y ? -1 : x > y;
}

static int cmp_len(const void *a, const void *b)
{
	size_t x = ((const sort_item *)a)->e->key.len, y = ((const sort_item *)b)->e->key.len;
	return x < y ? -1 : x > y;
}

/* Sorts v[0..n) by key. Each run on the stack holds keys that share
 * their first `off` bytes; a stack instead of recursion, as a run may tie
 * for many thousand rounds (keys up to etcd's request size). */
static bool sort_by_key(sort_item *v, size_t n)
{
	typedef struct run { size_t at, n, off; } run;
	size_t cap = 64, top = 0;
	run *stack = malloc(cap * sizeof(*stack));
	if (!stack)
		return false;
	stack[top++] = (run){ 0, n, 0 };
	while (top) {
		run r = stack[--top];
		sort_item *x = v + r.at;
		for (size_t i = 0; i < r.n; i++)
			x[i].w = key_word(x[i].e, r.off);
		qsort(x, r.n, sizeof(*x), cmp_word);
		for (size_t i = 0, j; i < r.n; i = j) {
			for (j = i + 1; j < r.n && x[j].w == x[i].w; j++)
				;
			if (j - i < 2)
				continue;
			/* the keys that end within these 8 bytes first */
			size_t ended = i;
			for (size_t k = i; k < j; k++)
				if (x[k].e->key.len <= r.off + 8) {
					sort_item t = x[ended];
					x[ended++] = x[k];
					x[k] = t;
				}
			if (ended - i > 1)
				qsort(x + i, ended - i, sizeof(*x), cmp_len);
			if (j - ended < 2)
				continue;
			if (top == cap) {
				run *ns = cap > SIZE_MAX / 2 / sizeof(*stack) ? NULL : realloc(stack, 2 * cap * sizeof(*stack));
				if (!ns) {
					free(stack);
					return false;
				}
				stack = ns;
				cap *= 2;
			}
			stack[top++] = (run){ r.at + ended, j - ended, r.off + 8 };
		}
	}
	free(stack);
	return true;
}

kvf_status kvf_keyindex_sorted(const kvf_keyindex *ki, bool live_only,
                               const kvf_key_entry ***out, size_t *n, kvf_err *err)
{
	*out = NULL;
	*n = 0;
	const kvf_key_entry **v = malloc((ki->n ? ki->n : 1) * sizeof(*v));
	sort_item *items = malloc((ki->n ? ki->n : 1) * sizeof(*items));
	size_t k = 0;
	if (v && items) {
		for (size_t i = 0; i < ki->n; i++)
			if (ki->entries[i].revisions && (!live_only || !ki->entries[i].last_tombstone))
				items[k++].e = &ki->entries[i];
	}
	if (!v || !items || (k > 1 && !sort_by_key(items, k))) {
		free(v);
		free(items);
		return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
	}
	for (size_t i = 0; i < k; i++)
		v[i] = items[i].e;
	free(items);
	*out = v;
	*n = k;
	return KVF_OK;
}

/* Whether the pairs HashKV takes from the compacted part of bucket `key`
 * are exactly the keep pairs the index holds: every pair of the bucket
 * indexed (none malformed: a malformed pair at a keep revision would be
 * hashed too), a keep set that is not empty (else etcd hashes every pair
 * up to the compaction), a revision at or above the compaction, and each
 * keep's value known. With the bucket in strictly increasing revision
 * order (the caller's check), no two pairs share a revision. */
static bool keep_pairs_known(const kvf_keyindex *ki)
{
	if (ki->malformed || !ki->keep_nonempty || ki->at_rev < ki->compact_rev)
		return false;
	for (size_t i = 0; i < ki->n_old_keep; i++)
		if (!ki->old_keep[i].kv.p)
			return false;
	return true;
}

kvf_status kvf_hashkv_compute(kvf_backend *b, const kvf_keyindex *ki, kvf_hashkv *out, kvf_err *err)
{
	memset(out, 0, sizeof(*out));
	if (ki->partial)
		return kvf_err_set(err, KVF_E_USAGE, NULL, KVF_NO_OFFSET,
		                   "internal: HashKV needs an index of every key");
	out->revision = ki->at_rev;
	out->current_rev = ki->current_rev;
	/* a store never compacted reports -1 (kvstore.go: compactMainRev starts
	 * at -1 and restore sets it only from a finishedCompactRev) */
	out->compact_rev = ki->compact_rev > 0 ? ki->compact_rev : -1;
	uint32_t h = kvf_crc32c(0, KVF_BUCKET_KEY, 3);
	kvf_cursor *c;
	kvf_status s = kvf_cursor_open(b, KVF_BUCKET_KEY, 3, &c, err);
	if (s == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		out->hash = h;
		return KVF_OK;
	}
	if (s)
		return s;
	/* The pairs above the compaction were hashed while indexing: when the
	 * bucket is in revision order they come after all the others, and
	 * their checksum is appended to what this pass hashes before them. */
	bool newer_hashed = ki->opts.hash_newer && !ki->out_of_order;
	if (newer_hashed && keep_pairs_known(ki)) {
		/* No second pass at all: the compacted part hashes exactly the
		 * keep pairs, in revision order, and the index holds where
		 * their values are; their keys are the 17 bytes of a
		 * revision (never a tombstone's). The pass below, which
		 * reads the bucket again, stays for every other case. */
		kvf_cursor_close(c);
		for (size_t i = 0; i < ki->n_old_keep; i++) {
			uint8_t rk[17];
			kvf_revkey_make(ki->old_keep[i].rev, rk);
			h = kvf_crc32c(h, rk, sizeof(rk));
			h = kvf_crc32c(h, ki->old_keep[i].kv.p, ki->old_keep[i].kv.len);
		}
		out->hashed_pairs = ki->n_old_keep + ki->newer_pairs;
		out->hash = kvf_crc32c_combine(h, ki->newer_crc, ki->newer_bytes);
		return KVF_OK;
	}
	size_t k = 0;   /* next candidate in old_keep */
	kvf_pair p;
	bool got;
	while ((s = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got) {
		kvf_revision rev;
		bool tomb;
		if (p.is_bucket || !kvf_revkey_parse(p.key, &rev, &tomb))
			continue;   /* etcd would panic on these; they were counted as malformed */
		if (rev.main > ki->at_rev)
			continue;
		if (rev.main > ki->compact_rev && newer_hashed)
			break;
		if (rev.main <= ki->compact_rev) {
			/* revisions the compaction is deleting: only the keep set,
			 * and only when there is one (kvstore.go HashByRev) */
			if (ki->keep_nonempty) {
				while (k < ki->n_old_keep && kvf_rev_cmp(ki->old_keep[k].rev, rev) < 0)
					k++;
				if (k >= ki->n_old_keep || kvf_rev_cmp(ki->old_keep[k].rev, rev) != 0)
					continue;
			}
			if (tomb && rev.main == ki->compact_rev)
				continue;
		}
		h = kvf_crc32c(h, p.key.p, p.key.len);
		h = kvf_crc32c(h, p.value.p, p.value.len);
		out->hashed_pairs++;
	}
	kvf_cursor_close(c);
	if (s)
		return s;
	if (newer_hashed) {
		h = kvf_crc32c_combine(h, ki->newer_crc, ki->newer_bytes);
		out->hashed_pairs += ki->newer_pairs;
	}
	out->hash = h;
	return KVF_OK;
}
