/* What etcd says when it is started on a db older than the member's newest
 * raft snapshot (consistent_index < snapshot index), for the stale_db
 * verdicts of verify.c and detectors.c.
 *
 * Every release from 3.4.0 to 3.7.x takes the same path (3.4 etcdserver/
 * server.go NewServer and backend.go recoverSnapshotBackend /
 * openSnapshotBackend; 3.5 server/etcdserver/server.go and backend.go; 3.6
 * and 3.7 server/etcdserver/bootstrap.go recoverSnapshot and server/storage/
 * backend.go RecoverSnapshotBackend / OpenSnapshotBackend): a snapshot
 * newer than the db's consistent_index makes etcd look for member/snap/
 * %016x.snap.db of the snapshot index to rename over db.
 *   - none there: it panics "failed to recover v3 backend from snapshot",
 *     error "failed to find database snapshot file (snap: snapshot file
 *     doesn't exist)" (seen on 3.5.35, fixture cause-db-older-than-snap);
 *   - one whose consistent_index is still below the snapshot: "database
 *     file (PATH index N) does not match with snapshot (index M)";
 *   - one at or past it: etcd starts on it, not on this db.
 * So the message follows what member/snap holds, not the version (the db's
 * storageVersion/term tell the version, and every version says the same);
 * when member/snap cannot be read, both messages are quoted. */
#ifndef KVF_ANALYSIS_REFUSAL_H
#define KVF_ANALYSIS_REFUSAL_H

#include <stddef.h>
#include <stdint.h>

typedef enum kvf_refusal_kind {
	KVF_REFUSAL_UNKNOWN,        /* member/snap not at hand or unreadable: either message */
	KVF_REFUSAL_NO_SNAP_DB,     /* "failed to find database snapshot file" */
	KVF_REFUSAL_SNAP_DB_BEHIND, /* "database file (...) does not match with snapshot (...)" */
	KVF_REFUSAL_SNAP_DB_OPENS,  /* no refusal: etcd starts on the .snap.db */
} kvf_refusal_kind;

typedef struct kvf_refusal {
	kvf_refusal_kind kind;
	char snap_db[32];           /* %016x.snap.db */
	uint64_t snap_db_ci;        /* SNAP_DB_BEHIND, SNAP_DB_OPENS: its consistent_index */
} kvf_refusal;

/* Look in snap_dir (NULL: not known) for the .snap.db of snap_index and read
 * its consistent_index. Never fails: what cannot be told is UNKNOWN. */
void kvf_refusal_find(kvf_refusal *r, const char *snap_dir, uint64_t snap_index);

/* The clause for a verdict: what etcd does, with its own words in quotes.
 * db_path: the db etcd would open (its PATH in "database file (PATH ..."). */
void kvf_refusal_quote(char *buf, size_t n, const kvf_refusal *r, const char *db_path, uint64_t snap_index);

#endif
