/* Known-bug detectors: the signatures etcd's known inconsistency bugs leave
 * in a member's files (../shared ETCD-VERSIONS.md §3), each verdict naming
 * the releases that produce it and the fix.
 *
 * What counts as divergence (exit 1) is what etcd's maintainers would call
 * data that no catching up repairs: a db older than the member's own raft
 * snapshot (20271, 13933), a txn that one member refused and the others
 * applied (18667) when the replicas do differ. A leftover file, an
 * interrupted compaction or defragmentation (which etcd resumes or ignores
 * on start), a false CORRUPT alarm, or a request signature the members
 * applied alike are warnings: worth knowing, not divergence by themselves. */
#ifndef KVF_DETECTORS_H
#define KVF_DETECTORS_H

#include <stdbool.h>

#include "analysis/membership.h"
#include "analysis/verdict.h"

typedef struct kvf_bug_context {
	bool compared;             /* several members were compared (diff-db) */
	bool replicas_agree;       /* ... and their key histories agree */
} kvf_bug_context;

/* Run every detector over n members; verdicts into vs. Damaged or missing
 * inputs are noted in vs->ruled_out; only running out of memory is an
 * error. */
kvf_status kvf_known_bugs_check(const kvf_member_view *m, size_t n, const kvf_bug_context *ctx, kvf_verdicts *vs,
                                kvf_err *err);

struct kvf_diff;
/* diff-db's call (end of kvf_diff_run): into d->verdicts. */
kvf_status kvf_detect_known_bugs(struct kvf_diff *d, kvf_err *err);

/* One member alone (dump-db status / verify): the membership cross-check
 * and every detector, into vs (sorted). */
kvf_status kvf_detect_member(const kvf_member_view *m, kvf_verdicts *vs, kvf_err *err);

/* The same from a path (a data dir, member dir or db file): opens the db,
 * reads its status, finds the WAL and member/snap. */
kvf_status kvf_detect_path(const char *path, kvf_verdicts *vs, kvf_err *err);

#endif
