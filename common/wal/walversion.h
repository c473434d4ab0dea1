/* The lowest etcd that can read a WAL, and the v2 requests a newer etcd
 * could not apply.
 *
 * etcd's rule (server/storage/wal/version.go MinimalEtcdVersion, 3.6+,
 * what `etcdutl migrate` refuses a downgrade on): over the entries after
 * the newest valid snapshot record (wal.ValidSnapshotEntries: a snapshot
 * whose index is at most the last HardState's commit; etcdutl 3.7
 * getLatestWALSnap), the highest etcd_version annotation of what each
 * entry uses (kvf_etcd_message_version for an InternalRaftRequest, 3.0 for
 * an empty entry and a ConfChange, 3.4 for a ConfChangeV2, the version a
 * DowngradeVersionTestRequest names). A legacy v2 request carries no
 * annotation, but etcd 3.7 cannot apply one at all (#21263: apply.Apply
 * unmarshals every entry as an InternalRaftRequest, and its own
 * MinimalEtcdVersion panics on them) and 3.6 applies only the member
 * attributes and cluster version ones (v2ToV3Request refuses a SYNC or any
 * other): those after the snapshot are counted, since a member replays
 * them from its WAL at startup.
 *
 * Fed entry by entry in log order; memory is a run per change of version
 * between consecutive indexes, and runs a valid snapshot covers are dropped
 * on the way. */
#ifndef KVF_WALVERSION_H
#define KVF_WALVERSION_H

#include <stdbool.h>
#include <stdint.h>

#include "encoding/pbwire.h"
#include "encoding/proto/etcd_versions.h"
#include "wal/raft.h"

enum {
	KVF_VER_V2 = 1,              /* a legacy v2 request */
	KVF_VER_V2_REFUSED_36 = 2,   /* ... that 3.6's v2ToV3Request refuses */
	KVF_VER_UNREADABLE = 4,      /* etcd's MinimalEtcdVersion fails on it */
};

typedef struct kvf_wal_version {
	struct kvf_version_run {
		uint64_t first, last;    /* entry indexes */
		kvf_etcd_version v;
		uint8_t flags;           /* KVF_VER_* */
	} *runs;
	size_t n, cap;
	uint64_t *snaps;             /* snapshot record indexes, in log order */
	size_t n_snaps, cap_snaps;
	uint64_t commit;             /* the last HardState's */
	bool failed;                 /* out of memory: no answer */
} kvf_wal_version;

/* What the summary shows. */
typedef struct kvf_wal_version_result {
	bool known;                  /* false: nothing to say (no memory) */
	uint64_t after_index;        /* the newest valid snapshot's index (0: none) */
	uint64_t entries;            /* entries after it */
	kvf_etcd_version min;        /* 0: none of them has an annotation */
	uint64_t v2, v2_refused_36, unreadable;
	uint64_t first_v2;           /* index of the first v2 entry after it */
} kvf_wal_version_result;

/* The version and flags one entry needs; kind is kvf_request_kind's (the
 * arena may be used to decode a DowngradeVersionTestRequest). scanned, when
 * not NULL, is the version kvf_request_kind_scan_version found on the way
 * to that kind: the request is not walked again. */
kvf_etcd_version kvf_entry_version(const kvf_raft_entry *e, const char *kind, kvf_arena *arena,
                                   uint8_t *flags, const kvf_etcd_version *scanned);

void kvf_wal_version_entry(kvf_wal_version *w, uint64_t index, kvf_etcd_version v, uint8_t flags);
void kvf_wal_version_snapshot(kvf_wal_version *w, uint64_t index);
void kvf_wal_version_state(kvf_wal_version *w, uint64_t commit);
void kvf_wal_version_result_of(const kvf_wal_version *w, kvf_wal_version_result *r);
void kvf_wal_version_free(kvf_wal_version *w);

#endif
