/* Comparing replicas: N members' backend dbs (and their WALs), bucket by
 * bucket, and why they differ.
 *
 * One pass streams every member's bucket `key` in step, revision by
 * revision: it feeds each member's key index (diff keys on the latest
 * state) and finds, for every pair of members, the first revision where
 * their histories stop matching (above the highest compaction, so a
 * compaction or a defragmentation is never divergence). The small buckets
 * are compared decoded. When WALs are at hand, every divergent key is traced
 * to the raft entries that wrote or deleted it, and each member's fate for
 * each entry is predicted from its authRevision and consistent_index:
 *
 *   - etcd rejects at apply time a request whose header auth_revision is
 *     below the member's authRevision (auth/store.go isOpPermitted,
 *     ErrAuthOldRevision). Members whose authRevision differ therefore
 *     drop different writes from the same log (etcd issue 11651);
 *   - a member whose consistent_index is below an entry never applied it.
 *
 * Memory grows with the number of distinct keys, not with the db size. */
#ifndef KVF_DIFF_H
#define KVF_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "db/etcddb.h"
#include "db/keyindex.h"
#include "wal/raft.h"
#include "analysis/verdict.h"
#include "analysis/timeline.h"
#include "analysis/verify.h"
#include "analysis/identity.h"
#include "analysis/k8sdiff.h"

#define KVF_DIFF_MAX_NODES 64

typedef enum kvf_history_state {
	KVF_HIST_SAME,        /* identical history to the reference */
	KVF_HIST_BEHIND,      /* a prefix of the reference's history */
	KVF_HIST_AHEAD,       /* the reference's history is a prefix of this one */
	KVF_HIST_DIVERGED,    /* they stop matching at first_divergent_rev */
} kvf_history_state;

/* Where one member's revision numbers stand against the reference's for the
 * same writes, from the reference revision `from` on. */
typedef struct kvf_offset_seg {
	int64_t from, to;     /* reference revisions */
	int64_t offset;       /* node revision - reference revision */
	uint64_t writes;
} kvf_offset_seg;

/* A member's authRevision as its own requests show it: etcd stamps every
 * request with the authRevision of the member that took it, and the top 16
 * bits of the request id are the low 16 bits of that member's id
 * (pkg/idutil.NewGenerator). Runs of equal values, in log order. */
typedef struct kvf_auth_run {
	uint64_t first_index, last_index;
	uint64_t auth_revision;
	uint64_t requests;
} kvf_auth_run;

typedef struct kvf_diff_node {
	char *label;
	char *path;           /* as given */
	char *db_path;
	char *wal_dir;        /* NULL: no WAL */
	kvf_backend *be;
	kvf_db_status st;
	kvf_keyindex ki;
	/* from its WAL */
	bool have_wal;
	bool has_metadata;
	uint64_t member_id, cluster_id;
	uint64_t wal_last_index;
	uint64_t wal_first_index;  /* of its own WAL */
	uint64_t wal_snap_index;   /* its newest snapshot record; 0: none */
	uint64_t wal_damage;
	/* history against the reference */
	kvf_history_state hist;
	int64_t first_divergent_rev;
	kvf_offset_seg *offsets;
	size_t n_offsets;
	kvf_auth_run *auth_runs;
	size_t n_auth_runs;
	uint64_t rejected_writes;  /* WAL writes predicted rejected by auth */
	uint64_t unapplied_writes; /* WAL writes past its consistent_index */
	uint64_t first_divergent_index; /* first WAL entry whose fate differs here (0: none known) */
	int group;                 /* members with identical key state share a group */
	/* the member against its own WAL (verify.h); NULL when not run. Run
	 * in full where the members differ; otherwise only its .snap check */
	kvf_verify *verify;
	kvf_verify_wal_facts wal_facts;   /* from its WAL's summary */
	bool verify_covered;       /* not checked: same history and index as the reference, whose check covers it */
	/* lag (issue 14): every difference from the reference is something it
	 * has applied and this member not yet */
	bool lagging;
	uint64_t lag_entries;      /* reference consistent_index - this one */
	int64_t lag_revisions;     /* reference revision - this one */
} kvf_diff_node;

/* One member's view of a divergent key. */
typedef struct kvf_node_value {
	bool present;              /* a live key at the member's current revision */
	bool seen;                 /* any revision at all (a tombstone counts) */
	int64_t create_revision, mod_revision, version, lease;
	uint64_t digest;           /* FNV-1a 64 of the value */
	uint64_t value_len;
	/* what the WAL predicts */
	int predicted;             /* -1 unknown, 0 absent, 1 present */
} kvf_node_value;

typedef enum kvf_touch_fate { KVF_APPLIED, KVF_REJECTED_AUTH, KVF_NOT_YET, KVF_FATE_UNKNOWN } kvf_touch_fate;

/* A raft entry that wrote or deleted a divergent key. */
typedef struct kvf_touch {
	uint64_t index, term, id, auth_revision;
	char username[64];
	const char *kind;          /* static: put, delete_range, txn, lease_revoke */
	bool deletes;
	uint32_t segment;          /* in kvf_diff.wal_files */
	uint64_t offset;           /* of the record's length word in that segment */
	uint8_t fate[KVF_DIFF_MAX_NODES];
	/* each member's authRevision when it applied the entry: at least lo, at
	 * most hi (equal when its own requests around the entry show it) */
	uint64_t auth_lo[KVF_DIFF_MAX_NODES], auth_hi[KVF_DIFF_MAX_NODES];
} kvf_touch;

typedef enum kvf_key_cause {
	KVF_KEY_AUTH_REJECTED,     /* some member dropped a write: old auth revision */
	KVF_KEY_NOT_YET_APPLIED,   /* some member has not reached the entry */
	KVF_KEY_UNEXPLAINED,       /* the WAL does not account for the difference */
	KVF_KEY_NO_WAL,            /* no WAL entry touches it (or no WAL given) */
} kvf_key_cause;

typedef struct kvf_divergent_key {
	kvf_span key;
	kvf_node_value *v;         /* [n nodes] */
	kvf_touch *touches;        /* the entries that explain it (capped), in log order */
	size_t n_touches, cap_touches;
	uint64_t total_touches;
	kvf_key_cause cause;
	char reason[480];
} kvf_divergent_key;

/* A differing item of a small bucket: every member's value, decoded. */
typedef struct kvf_bucket_item {
	const char *bucket;        /* static name */
	char *key;                 /* displayable */
	char **values;             /* [n nodes]; NULL = absent */
} kvf_bucket_item;

typedef enum kvf_cause {
	KVF_CAUSE_NONE,            /* the replicas agree */
	KVF_CAUSE_AUTH_SKEW,
	KVF_CAUSE_BEHIND,
	KVF_CAUSE_UNEXPLAINED,
} kvf_cause;

const char *kvf_cause_name(kvf_cause c);

typedef struct kvf_diff {
	kvf_diff_node *nodes;
	size_t n, cap;
	kvf_divergent_key *keys;
	size_t n_keys, cap_keys;
	kvf_bucket_item *items;
	size_t n_items, cap_items;
	size_t reference;          /* the most complete member */
	int64_t compared_from;     /* histories compared above this revision */
	int64_t first_divergent_rev;   /* 0: none */
	bool histories_differ;
	bool wal_used;
	uint64_t wal_entries_scanned;
	bool auth_revisions_differ;
	kvf_cause cause;
	char cause_text[400];      /* the headline */
	char evidence[16][400];    /* what supports it, one statement each */
	int n_evidence;
	char recovery[1200];
	int n_groups;
	bool differ;               /* anything at all differs */
	bool lag_only;             /* it does, and only as lagging members: exit 0 */
	/* every cause found, most serious first (verdict.h); the fields cause,
	 * cause_text, evidence and recovery above are the first one's, kept
	 * until every renderer reads the list */
	kvf_verdicts verdicts;
	/* optional, set by the caller before kvf_diff_run: the raft log binned
	 * along its index, filled by the WAL scan (the HTML report's timeline;
	 * it also makes the scan run when no key diverges) */
	kvf_timeline *timeline;
	/* the members ranked as the source of a --force-new-cluster recovery
	 * (best first), and whether any of them is complete */
	struct kvf_rank {
		size_t member;
		bool complete;             /* every write: no divergent cause against its data, not behind */
		uint64_t consistent_index, term, wal_last_index, db_damage;
		char reasons[600];
	} *ranking;
	size_t n_ranking;
	bool recovery_possible;
	bool membership_repair;        /* a member's membership records need repair (zombie, lost promotion) */
	char recovery_plan[1400];       /* the source and why, or what is missing where */
	/* check every member against its own WAL even when they agree
	 * (diff-db --verify); by default only where they differ */
	bool verify_all;
	/* which cluster and member each input is (identity.h), read first:
	 * kvf_diff_run refuses members of different clusters and the same
	 * files twice (KVF_E_USAGE, this set says why) */
	kvf_identity_set identity;
	/* the divergent keys that are Kubernetes objects, by kind and namespace */
	kvf_diff_objects objects;
	/* the segments of the WAL the entries were read from (touch.segment) */
	char **wal_files;
	size_t n_wal_files;
	/* each member's name and client URLs as its last publish request in
	 * the scanned WAL set them (a v3 cluster_member_attr_set, or the v2 PUT
	 * /0/members/<id>/attributes of 3.4 and 3.5): etcd 3.4, and 3.5.2 as
	 * the fixtures show, keep the client URLs only in the v2 store, not in
	 * bucket members, and a recovery command needs a member's endpoint */
	struct kvf_wal_member_attrs {
		uint64_t id;
		char name[128];
		char client_urls[512];   /* comma-separated */
	} *wal_attrs;
	size_t n_wal_attrs, cap_wal_attrs;
} kvf_diff;

/* label may be NULL (the directory name is used); wal_dir may be NULL (found
 * in a data directory automatically). */
kvf_status kvf_diff_add_node(kvf_diff *d, const char *label, const char *path,
                             const char *wal_dir, kvf_err *err);
/* Set or replace a member's WAL directory after adding it (--wal NAME=DIR). */
kvf_status kvf_diff_set_wal(kvf_diff *d, const char *label, const char *wal_dir, kvf_err *err);

typedef void (*kvf_diff_progress_fn)(void *ctx, const char *stage, uint64_t done);
kvf_status kvf_diff_run(kvf_diff *d, kvf_diff_progress_fn progress, void *pctx, kvf_err *err);
void kvf_diff_free(kvf_diff *d);

#endif
