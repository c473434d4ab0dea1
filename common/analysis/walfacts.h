/* What the membership cross-check and the known-bug detectors need from one
 * member's WAL, gathered in one streaming pass: the conf changes, the
 * snapshot records, the compactions, and the few requests a known etcd bug
 * leaves a signature in (a txn reading at a revision below the compaction,
 * 18667; a lease revoke with no user while auth is on, 11689).
 *
 * Only EntryConfChange(V2) entries and the few request kinds named here are
 * decoded in full; every other entry costs the kind scan (request.h). When a
 * new leader overwrites the log from index I on, everything recorded at I
 * or above is dropped, as etcd's reader keeps only the newer entries. */
#ifndef KVF_WALFACTS_H
#define KVF_WALFACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/err.h"

/* Where a record is: the segment (an index into kvf_wal_facts.files) and the
 * byte offset of its frame. */
typedef struct kvf_wal_where {
	uint32_t file;
	uint64_t offset;
} kvf_wal_where;

typedef struct kvf_wal_conf {
	uint64_t index, term;
	int type;                  /* raftpb ConfChangeType: 0 add, 1 remove, 2 update, 3 add learner */
	uint64_t node_id;
	bool promote;              /* the context says isPromote (etcd 3.4+ MemberPromote) */
	bool v2;                   /* a ConfChangeV2 (etcd never writes them: shown as such) */
	kvf_wal_where at;
} kvf_wal_conf;

/* A txn whose range operations read at an explicit revision. */
typedef struct kvf_wal_txn_range {
	uint64_t index, term, id;  /* id: the request id (its top 16 bits: the member that took it) */
	int64_t revision;          /* the lowest explicit revision read */
	int64_t compacted;         /* the newest compaction revision proposed before it (0: none seen) */
	uint64_t compaction_index; /* that compaction's entry */
	kvf_wal_where at;
} kvf_wal_txn_range;

typedef struct kvf_wal_revoke {
	uint64_t index, term, id;
	int64_t lease;
	bool auth_enabled_known, auth_enabled;   /* auth state at the entry, from the WAL's toggles */
	kvf_wal_where at;
} kvf_wal_revoke;

typedef struct kvf_wal_facts {
	bool present;              /* a WAL was read */
	char **files;              /* segment paths */
	size_t n_files;
	uint64_t node_id, cluster_id;
	bool have_hardstate;
	uint64_t commit, term;
	uint64_t first_index, last_index;
	bool have_entries;
	/* the newest snapshot record (walpb.Snapshot), and its ConfState (3.5+) */
	bool have_snap;
	uint64_t snap_index, snap_term;
	bool snap_has_conf;
	uint64_t *snap_voters, *snap_learners;
	size_t n_snap_voters, n_snap_learners;
	kvf_wal_where snap_at;
	kvf_wal_conf *conf;
	size_t n_conf, cap_conf;
	kvf_wal_txn_range *txn_ranges;
	size_t n_txn_ranges, cap_txn_ranges;
	kvf_wal_revoke *revokes;   /* only those without a user */
	size_t n_revokes, cap_revokes;
	uint64_t revokes_total;    /* every lease_revoke, with or without a user */
	uint64_t txn_ranges_total; /* txns with an explicit range revision */
	int64_t last_compaction;   /* the newest compaction revision seen (0: none) */
	uint64_t last_compaction_index;
	/* first auth_enable / auth_disable seen: the auth state before it is the opposite */
	int first_auth_toggle;     /* 0 none, 1 enable, -1 disable */
	bool auth_state_known, auth_state;   /* after the last toggle seen so far */
	uint64_t damage;           /* WAL damage findings met */
	/* MVCC writes (put, delete_range, txn, compaction, lease grant/revoke)
	 * above the consistent_index passed to kvf_wal_facts_read */
	uint64_t ci;
	uint64_t writes_above_ci, first_write_above_ci;
	kvf_wal_where first_write_above_ci_at;
} kvf_wal_facts;

/* Read the WAL directory's segments. A damaged WAL is read as far as it
 * goes (damage counts the findings); an unreadable directory is an error. */
kvf_status kvf_wal_facts_read(const char *wal_dir, uint64_t consistent_index, kvf_wal_facts *f, kvf_err *err);
const char *kvf_wal_facts_file(const kvf_wal_facts *f, kvf_wal_where at);
void kvf_wal_facts_free(kvf_wal_facts *f);

#endif
