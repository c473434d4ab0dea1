/* One member against its own WAL: are the effects of every entry its
 * consistent_index covers in its db, once, and none of those it does not?
 *
 * etcd assigns MVCC revisions in apply order, one main revision per entry
 * that writes (a put, a delete that deletes something, a txn whose taken
 * branch writes, a lease revoke with keys attached), its operations as
 * sub-revisions in order (mvcc/kvstore_txn.go). So the member's own log and
 * its bucket `key` are two streams that must pair up: entry after entry,
 * revision after revision. Both are walked once, in step; each entry's
 * expected effect is computed against the member's state as its db shows it
 * just before (so a txn's compares pick the branch they picked there, a
 * delete range deletes the keys live there), and compared, as a 64-bit
 * signature of (key, tombstone, value, lease) per sub-revision, with the
 * next revision of the db:
 *   - equal: applied;
 *   - the revision repeats an entry applied just before: applied twice
 *     (a replay from an older consistent_index, etcd 14733/13933);
 *   - otherwise the entry left no revision: refused, when etcd refuses
 *     it on that state (its header auth_revision is below the member's
 *     authRevision at that point, auth/store.go ErrAuthOldRevision; a txn
 *     whose taken branch reads at a revision below the compaction, ErrCompacted
 *     on the member that served it, 18667; a lease revoke with no user
 *     while auth is on and keys are attached, ErrUserEmpty, 11689), or
 *     missing (13766).
 * A log from index 1 over a db that already holds older revisions (a
 * member restored with etcdctl snapshot restore) is paired from the
 * revision where its first write is found.
 * Revisions at or below the compaction are gone (except each key's newest):
 * entries that wrote there are assumed applied, not checked.
 * Memory: one record per distinct key (pointing into the mapped db) and one
 * small record per entry that left no revision; never a whole WAL or db. */
#ifndef KVF_VERIFY_H
#define KVF_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/refusal.h"
#include "analysis/verdict.h"
#include "db/backend.h"
#include "db/schema.h"

/* One entry worth naming: missing, refused, applied twice, or an effect of
 * an entry past consistent_index. */
typedef struct kvf_verify_item {
	uint64_t index, term;
	const char *kind;          /* static: put, txn, delete_range, lease_revoke */
	char key[96];              /* first key it writes, displayable (cut) */
	uint64_t header_auth_revision;
	int64_t revision;          /* the db revision concerned (0: none) */
	int64_t first_revision;    /* applied twice: the revision of its first application */
	uint32_t segment;          /* in kvf_verify.wal_files */
	uint64_t offset;
	const char *why;           /* refused: etcd's reason (static) */
} kvf_verify_item;

#define KVF_VERIFY_SHOWN 8

typedef struct kvf_verify {
	/* inputs */
	const char *label;
	const char *db_path;
	uint64_t consistent_index, term;
	bool has_consistent_index;
	uint64_t ci_offset;               /* of its value in the db file */
	uint64_t auth_revision;
	bool auth_enabled;
	int64_t compact_rev, current_rev;
	/* the WAL */
	bool have_wal;
	uint64_t wal_first_index, wal_last_index, hardstate_commit;
	uint64_t wal_snapshot_index;      /* newest snapshot record in the WAL */
	bool from_start;                  /* the log starts at index 1 */
	/* the newest .snap file (member/snap), the raft snapshot etcd loads */
	uint64_t snap_index, snap_term;
	char snap_path[512];
	bool stale_db;                    /* snap_index > consistent_index: etcd refuses to start */
	kvf_refusal refusal;              /* what etcd does then, from what member/snap holds */
	/* alignment */
	bool aligned;                     /* the WAL's writes were found in the db */
	/* a log from index 1 over a db with older revisions (etcdctl snapshot
	 * restore): the log's first write found at restored_rev, the
	 * revisions below it taken as the state the log started from */
	bool restored;
	int64_t restored_rev;
	uint64_t aligned_index;           /* first entry checked */
	int64_t aligned_rev;
	char why_unaligned[240];
	uint64_t checked_from, checked_to;   /* entry indexes */
	/* counts, for entries in checked_from..checked_to (<= consistent_index) */
	uint64_t entries, writes;         /* entries read; those that write keys */
	uint64_t applied;                 /* writes whose revision is in the db */
	uint64_t no_op;                   /* txns/deletes that write nothing on this state */
	uint64_t compacted;               /* wrote at or below the compaction: not checkable */
	uint64_t refused;                 /* left no revision, and etcd refuses it on this state: */
	uint64_t refused_auth_revision;   /*   header auth_revision too old (ErrAuthOldRevision) */
	uint64_t refused_compacted_range; /*   a txn reading below the compaction (ErrCompacted, 18667) */
	uint64_t refused_no_user;         /*   a lease revoke without a user under auth (ErrUserEmpty, 11689) */
	uint64_t first_compacted_range_index;
	bool written_by_37;               /* the db's schema is 3.7+: 18667 fixed */
	/* damage met while reading the db (skipped pages): what was on those
	 * pages could not be checked */
	size_t n_damage;
	kvf_db_finding damage[4];         /* the first of them */
	uint64_t missing;                 /* left no revision, no reason found */
	uint64_t applied_twice;           /* db revisions repeating an entry's effect */
	uint64_t partial_txns;            /* a revision holding only the first of a txn's writes */
	uint64_t first_partial_index;
	uint64_t unexplained_revisions;   /* db revisions past the alignment no entry explains */
	uint64_t above_ci_effects;        /* entries past consistent_index with their revision in the db */
	uint64_t above_ci_entries;
	uint64_t first_missing_index, first_twice_index;
	kvf_verify_item missing_items[KVF_VERIFY_SHOWN], refused_items[KVF_VERIFY_SHOWN],
	                twice_items[KVF_VERIFY_SHOWN], above_items[KVF_VERIFY_SHOWN],
	                partial_items[KVF_VERIFY_SHOWN];
	size_t n_missing_items, n_refused_items, n_twice_items, n_above_items, n_partial_items;
	/* the WAL index of every missing entry and of every effect applied
	 * twice, in the order found (the items above are the first of them in
	 * full): the report's timeline marks each. indexes_short: memory ran
	 * out, the lists hold only the first ones (the counts stay exact). */
	uint64_t *missing_indexes, *twice_indexes;
	size_t n_missing_indexes, cap_missing_indexes, n_twice_indexes, cap_twice_indexes;
	bool indexes_short;
	/* leases granted or revoked in the checked range vs bucket lease */
	uint64_t leases_checked, leases_missing, leases_unrevoked;
	struct kvf_verify_lease {
		int64_t id;
		bool revoked;              /* the log revoked it (and it is still there) */
		uint64_t index;            /* the grant or revoke entry */
	} lease_items[KVF_VERIFY_SHOWN];
	size_t n_lease_items;
	/* revisions at an entry's place holding other writes than the entry's
	 * (a value changed, another txn branch taken) while the next entry's
	 * writes follow at the next revision */
	uint64_t altered;
	uint64_t first_altered_index;
	kvf_verify_item altered_items[KVF_VERIFY_SHOWN];
	size_t n_altered_items;
	/* auth changes in the log (commitRevision) */
	uint64_t auth_changes;
	bool saves_applied_index;         /* 3.5+: consistent_index saved by batch (one batch may lag) */
	char **wal_files;
	size_t n_wal_files;
	/* the conclusions, with their evidence */
	kvf_verdicts verdicts;
} kvf_verify;

typedef void (*kvf_verify_progress_fn)(void *ctx, const char *stage, uint64_t done);

/* What a caller already read from the WAL (raftlog's summary), so that the
 * check does not read it once more for them. */
typedef struct kvf_verify_wal_facts {
	bool have_entries;
	uint64_t first_index, last_index, hardstate_commit, snapshot_index;
} kvf_verify_wal_facts;

/* Check one member. be: its db (open); wal_dir and snap_dir may be NULL;
 * facts may be NULL (then read). label names the member in verdicts
 * (member 0). */
kvf_status kvf_verify_run(kvf_verify *v, kvf_backend *be, const char *label, const char *db_path,
                          const char *wal_dir, const char *snap_dir, const kvf_verify_wal_facts *facts,
                          kvf_verify_progress_fn progress, void *pctx, kvf_err *err);
/* Lost writes below consistent_index, or writes applied twice (exit 1). */
bool kvf_verify_failed(const kvf_verify *v);
void kvf_verify_free(kvf_verify *v);

#endif
