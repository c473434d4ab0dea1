/* Verdicts: what the analysis concludes, one per cause found.
 *
 * Several causes can hold at once (a member that lags and another that lost
 * writes), so an analysis returns a list, most serious first. Each verdict
 * carries the statements behind it, each pointing at where a reader can
 * check it: a file and byte offset, or a WAL index, or both. The renderers
 * (text, JSON, HTML) show the same list; the tools' exit status follows
 * from it (kvf_verdicts_divergent): a verdict that catching up would fix, or
 * one that is no divergence at all (a compaction, a consistent_index one
 * batch behind), does not make the replicas differ. */
#ifndef KVF_VERDICT_H
#define KVF_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/err.h"

typedef enum kvf_verdict_kind {
	KVF_VERDICT_CONSISTENT,          /* nothing differs that matters */
	KVF_VERDICT_LAG,                 /* a member has not yet applied what others have */
	KVF_VERDICT_AUTH_SKEW,           /* authRevision differs: writes refused (11651 family) */
	KVF_VERDICT_LOST_WRITES,         /* entries covered by consistent_index with no effect (13766) */
	KVF_VERDICT_APPLIED_TWICE,       /* an entry's effects twice: revisions shift up (14733, 13933) */
	KVF_VERDICT_PARTIAL_TXN,         /* a main revision with only some sub-revisions (18679) */
	KVF_VERDICT_REVISION_SHIFT,      /* a constant revision offset from a point on, cause unknown */
	KVF_VERDICT_STALE_DB,            /* db older than the member's newest raft snapshot (20271) */
	KVF_VERDICT_ZOMBIE_MEMBER,       /* a removed member still listed, or listed members disagree (13196, 20967) */
	KVF_VERDICT_PROMOTION_LOST,      /* a learner promotion not persisted (19557) */
	KVF_VERDICT_MEMBERSHIP,          /* other membership disagreement (confState, .snap, WAL conf changes) */
	KVF_VERDICT_TXN_COMPACTED_RANGE, /* txn reading a revision below the compaction (18667) */
	KVF_VERDICT_LEASE_REVOKE_AUTH,   /* lease revoke without a user under auth (11689) */
	KVF_VERDICT_COMPACTION_UNFINISHED, /* scheduled compaction not finished (17780) */
	KVF_VERDICT_LEFTOVER_SNAPSHOT,   /* a .snap.db in member/snap: received, never applied */
	KVF_VERDICT_INTERRUPTED_DEFRAG,  /* db.tmp* left by a defrag that did not finish */
	KVF_VERDICT_FALSE_CORRUPT_ALARM, /* CORRUPT alarm while the offline hashes agree (15919) */
	KVF_VERDICT_PAGE_DAMAGE,         /* a db page is damaged */
	KVF_VERDICT_RESTORED_SNAPSHOT,   /* one member's db restored from a snapshot into a running cluster */
	KVF_VERDICT_UNEXPLAINED,         /* differs, and nothing above fits */
	KVF_VERDICT_KINDS
} kvf_verdict_kind;

/* One statement behind a verdict. Any of file/offset/wal_index may be
 * absent (empty path, KVF_NO_OFFSET, 0). */
typedef struct kvf_evidence {
	char text[400];
	char file[512];
	uint64_t offset;
	uint64_t wal_index;
	int member;                      /* index into the analysis' members, -1: none */
} kvf_evidence;

typedef struct kvf_verdict {
	kvf_verdict_kind kind;
	bool divergence;                 /* catching up would not fix it: exit 1 */
	int member;                      /* the member concerned, -1: the cluster */
	uint64_t first_divergent_index;  /* 0: none or unknown */
	char headline[400];
	const char *versions;            /* static: etcd versions known to produce it, and the fix */
	char recovery[1200];             /* specific to this cause; empty: none needed */
	kvf_evidence *evidence;
	size_t n_evidence, cap_evidence;
} kvf_verdict;

typedef struct kvf_verdicts {
	kvf_verdict *v;
	size_t n, cap;
	/* what was considered and ruled out (for "unexplained", and the record) */
	char (*ruled_out)[200];
	size_t n_ruled_out, cap_ruled_out;
} kvf_verdicts;

/* Stable lower-case names (JSON, tests): "lag", "auth_skew", ... */
const char *kvf_verdict_kind_name(kvf_verdict_kind k);

/* Append a verdict (headline printf-style); returns it, or NULL when out of
 * memory (the list is unchanged). */
kvf_verdict *kvf_verdict_add(kvf_verdicts *vs, kvf_verdict_kind kind, bool divergence, int member,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Append a statement; file may be NULL, offset KVF_NO_OFFSET, wal_index 0. */
kvf_status kvf_verdict_evidence(kvf_verdict *v, int member, const char *file, uint64_t offset,
                                uint64_t wal_index, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
kvf_status kvf_verdicts_rule_out(kvf_verdicts *vs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Does any verdict say the replicas diverged (exit 1)? */
bool kvf_verdicts_divergent(const kvf_verdicts *vs);

/* Which etcd versions a known bug affects (for kvf_verdict.versions), where
 * more than one analysis names it: the detectors and the WAL check. */
extern const char KVF_VERSIONS_18667[];
extern const char KVF_VERSIONS_11689[];
/* Most serious first (divergence before lag before the rest), stable. */
void kvf_verdicts_sort(kvf_verdicts *vs);
void kvf_verdicts_free(kvf_verdicts *vs);

#endif
