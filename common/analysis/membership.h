/* Membership cross-check: does each member's v3 store (buckets members and
 * members_removed) agree with raft's own view of the membership, and do the
 * members agree with each other?
 *
 * etcd keeps membership twice: raft's ConfState (in every .snap's metadata,
 * in the WAL's snapshot records since 3.5, and in meta/confState since
 * 3.5), moved by the ConfChange entries of the log; and the member records
 * of the v2 store (the .snap's JSON) and of the v3 store (bucket members).
 * Up to 3.4 the v2 store was the one etcd read; 3.5.0 and 3.6 switched to
 * the v3 store, and every bug that let the two drift apart then surfaced:
 *   - zombie members: ids in bucket members that raft removed long ago, or
 *     never had (3.4 `etcdctl snapshot restore` keeps the old cluster's
 *     records in the db: etcd 13196, 20967);
 *   - a learner promotion that reached the v2 store and raft but not bucket
 *     members (3.5.1-3.5.19, etcd 19557).
 * etcd's own `verify` leaves this as a TODO (server/verify/verify.go).
 *
 * The raft view at the member's consistent_index is rebuilt from the newest
 * .snap (its ConfState) or the WAL's newest snapshot record, plus the WAL's
 * conf changes up to consistent_index. A conf change above consistent_index
 * may already be in the bucket (3.4 saved consistent_index only with MVCC
 * writes), so the check never asks the bucket to lag it. */
#ifndef KVF_MEMBERSHIP_H
#define KVF_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis/verdict.h"
#include "db/etcddb.h"
#include "io/source.h"

/* One member as the checks see it. Everything but st may be NULL/0. */
typedef struct kvf_member_view {
	int index;                 /* the member's number in the analysis (verdict.member) */
	const char *label;
	const char *db_path;
	kvf_backend *be;
	const kvf_db_status *st;   /* kvf_db_status_read */
	const char *wal_dir;       /* NULL: no WAL */
	const char *snap_dir;      /* member/snap, for the .snap files; NULL: not a data dir */
	const kvf_leftover *leftovers;
	size_t n_leftovers;
	/* what a caller already read from the WAL (diff-db's summary pass), 0
	 * when unknown: lets the detectors skip WALs they need nothing else from */
	uint64_t member_id, cluster_id, wal_last_index;
} kvf_member_view;

/* The member whose WAL reaches furthest, by what the caller knows of them
 * (wal_last_index); *known is false when that is not known for every member
 * with a WAL (or there is only one): then each reads its own. */
size_t kvf_member_views_longest_wal(const kvf_member_view *m, size_t n, bool *known);

/* Check n members (n may be 1: no cross-member part) and append a verdict
 * per finding to vs. Unreadable WALs or .snap files are noted in
 * vs->ruled_out, not errors; only running out of memory is. */
kvf_status kvf_membership_check(const kvf_member_view *m, size_t n, kvf_verdicts *vs, kvf_err *err);

struct kvf_diff;
/* diff-db's call: the members of a run (kvf_diff_run) into d->verdicts. */
kvf_status kvf_detect_membership(struct kvf_diff *d, kvf_err *err);

/* The member views of a diff run: views[i] for d->nodes[i], with the data
 * directory found again from the member's path (dd[i], freed with
 * kvf_diff_views_free). */
kvf_status kvf_diff_views(struct kvf_diff *d, kvf_member_view **views, kvf_datadir **dd, kvf_err *err);
void kvf_diff_views_free(struct kvf_diff *d, kvf_member_view *views, kvf_datadir *dd);

#endif
