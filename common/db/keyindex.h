/* etcd's key index, rebuilt offline from bucket `key`.
 *
 * A live etcd keeps, per user key, its generations of revisions in memory
 * (mvcc/key_index.go) and rebuilds that index from bucket `key` at startup
 * (kvstore.go restore/restoreIntoIndex). We stream the bucket once, in its
 * revision order, and keep per user key only what the questions need:
 *   - its newest revision at or below a revision R (put or tombstone): the
 *     live keys at R, as `etcdctl get --rev R` would list them;
 *   - etcd's HashKV "keep" revision at R (key_index.go keep/doCompact): the
 *     newest revision at or below R in the first generation whose tombstone
 *     is above R, unless that revision ends an older generation.
 * Keys and values point into the backend's mapping; memory grows with the
 * number of distinct keys, not with the size of the db. */
#ifndef KVF_KEYINDEX_H
#define KVF_KEYINDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "db/backend.h"
#include "db/schema.h"

typedef struct kvf_key_entry {
	kvf_span key;              /* the user key */
	kvf_revision last;         /* newest revision <= at_rev */
	bool last_tombstone;
	kvf_span last_kv;          /* the mvccpb.KeyValue stored at `last` */
	kvf_revision keep;         /* HashKV keep revision at at_rev */
	bool has_keep;
	uint8_t gen;               /* internal: generation state */
	uint32_t revisions;        /* revisions of this key <= at_rev */
} kvf_key_entry;

typedef struct kvf_keyindex_opts {
	int64_t at_rev;            /* 0: the current revision */
	const uint8_t *prefix;     /* only keys under this prefix (NULL: all) */
	size_t prefix_len;
	/* hash, while indexing, the pairs kvf_hashkv_compute hashes whatever
	 * the index says (those above the compaction), so that it reads only
	 * the older ones again */
	bool hash_newer;
	/* progress: called every few thousand pairs */
	void (*progress)(void *ctx, uint64_t pairs);
	void *progress_ctx;
} kvf_keyindex_opts;

typedef struct kvf_keyindex {
	int64_t at_rev;            /* resolved (current revision when 0 was asked) */
	int64_t current_rev;       /* largest main revision in `key`, at least the compaction */
	int64_t compact_rev;       /* finishedCompactRev (0: never compacted) */
	int64_t scheduled_compact_rev;
	uint64_t revisions;        /* pairs in bucket `key` */
	uint64_t tombstones;
	uint64_t live;             /* keys whose newest revision <= at_rev is a put */
	uint64_t malformed;        /* pairs that are not a revision key + KeyValue */
	bool keep_nonempty;        /* etcd's "len(keep) > 0" */
	kvf_key_entry *entries;    /* in first-seen order */
	size_t n;
	/* internal */
	size_t cap;
	size_t entries_bytes;      /* of the mapping entries live in */
	uint64_t *slots;           /* hash tag << 32 | entry index + 1; 0 is empty */
	size_t nslots;
	/* keep revisions <= compact_rev, sorted, with the value stored at
	 * each (HashKV hashes exactly these pairs of the compacted part) */
	struct kvf_keyindex_keep {
		kvf_revision rev;
		kvf_span kv;
	} *old_keep;
	size_t n_old_keep;
	kvf_keyindex_opts opts;
	int64_t last_main;
	bool partial;              /* built with a prefix: no HashKV from it */
	/* hash_newer: CRC-32C from 0 of the pairs above compact_rev (and at
	 * most at_rev), their bytes and count; usable while the revisions
	 * came in increasing order */
	uint32_t newer_crc;
	uint64_t newer_bytes, newer_pairs;
	kvf_revision newest_seen;
	bool seen_any, out_of_order;
	/* revisions on their way into the table (keyindex.c, "pipeline") */
	struct kvf_keyindex_pending {
		kvf_span key;
		kvf_span kv;
		kvf_revision rev;
		bool tomb;
		uint32_t tag;
		uint32_t hint;     /* entry index + 1 of a slot with the same tag */
	} pending[16];
	size_t pending_head, pending_n;
} kvf_keyindex;

/* Stream bucket `key` and build the index. A revision above the current one
 * is KVF_E_USAGE ("future revision"); the compaction check is the caller's,
 * as etcd's range and hash requests differ on it. The bucket is walked on a
 * thread of its own while the calling thread indexes (KVF_SERIAL=1: one
 * thread); the backend is the walker's until the call returns, and
 * opts.progress is called on the calling thread. */
kvf_status kvf_keyindex_build(kvf_backend *b, const kvf_keyindex_opts *o,
                              kvf_keyindex *ki, kvf_err *err);

/* The same, fed by a caller that streams bucket `key` itself (diff-db walks
 * several members' buckets in step): begin, add every pair in bucket order,
 * finish. Pairs are indexed a few adds later than they are given (their
 * memory is fetched meanwhile), so the entries are complete only after
 * finish; the pairs must stay mapped until then, as they do while the
 * backend is open. */
kvf_status kvf_keyindex_begin(kvf_backend *b, const kvf_keyindex_opts *o, kvf_keyindex *ki, kvf_err *err);
kvf_status kvf_keyindex_add(kvf_keyindex *ki, const kvf_pair *p, kvf_err *err);
kvf_status kvf_keyindex_finish(kvf_keyindex *ki, kvf_err *err);
void kvf_keyindex_free(kvf_keyindex *ki);

/* The entry for a user key, or NULL. */
const kvf_key_entry *kvf_keyindex_find(const kvf_keyindex *ki, const uint8_t *key, size_t len);

/* Entries sorted by user key (bytewise, as etcd orders keys). The array is
 * allocated; free() it. Only live keys (newest revision a put) when
 * live_only. */
kvf_status kvf_keyindex_sorted(const kvf_keyindex *ki, bool live_only,
                               const kvf_key_entry ***out, size_t *n, kvf_err *err);

/* etcd's HashKV at ki->at_rev (mvcc HashByRev; the 3.6 kvHasher rule that a
 * tombstone exactly at the compaction revision is not hashed, which older
 * versions had already deleted: one rule that gives every version's own
 * answer, see db/version.h kvf_compaction_tombstones). Streams bucket `key`
 * again, unless the index was built with hash_newer from a bucket in
 * revision order: then it hashes the keep pairs the index points at and
 * reads nothing else (keyindex.c keep_pairs_known). */
typedef struct kvf_hashkv {
	uint32_t hash;
	int64_t revision;          /* the hashed revision */
	int64_t current_rev;       /* header revision etcd would report */
	int64_t compact_rev;
	uint64_t hashed_pairs;
} kvf_hashkv;

kvf_status kvf_hashkv_compute(kvf_backend *b, const kvf_keyindex *ki, kvf_hashkv *out, kvf_err *err);

#endif
