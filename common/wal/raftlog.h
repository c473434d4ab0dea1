/* The raft log as a WAL records it.
 *
 * Wraps the WAL reader: decodes every record's payload (entries, hard state,
 * metadata, snapshot markers) and adds what only the whole log can tell:
 *   - an entry is *overwritten* when a later entry at the same or a lower
 *     index replaces it (a new leader truncated the log; etcd's reader keeps
 *     only the newer one, we show both);
 *   - an entry is *uncommitted* when its index is past the last HardState
 *     commit;
 *   - an index *gap* is a jump in entry indexes not explained by a snapshot.
 * Knowing whether an entry is overwritten needs the rest of the log, so a
 * listing first runs a quick pass (frames, CRCs and entry headers only) that
 * keeps just the few truncation points, then the decoding pass. Memory stays
 * independent of the log's length. */
#ifndef KVF_RAFTLOG_H
#define KVF_RAFTLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "wal/raft.h"
#include "wal/request.h"
#include "wal/wal.h"
#include "wal/walversion.h"

typedef struct kvf_log_item {
	kvf_wal_event ev;          /* what the WAL reader yielded */
	/* RECORD: what the payload is */
	bool payload_ok;
	kvf_raft_entry entry;      /* KVF_WAL_ENTRY */
	kvf_request req;           /* KVF_WAL_ENTRY, when decode_requests */
	kvf_hardstate hs;          /* KVF_WAL_STATE */
	kvf_wal_metadata md;       /* KVF_WAL_METADATA */
	kvf_wal_snapshot snap;     /* KVF_WAL_SNAPSHOT */
	bool overwritten;          /* only known after a pre-pass */
	bool uncommitted;          /* only known after a pre-pass */
} kvf_log_item;

#define KVF_MAX_KINDS 64

typedef struct kvf_log_summary {
	size_t segments;
	uint64_t bytes;
	uint64_t records_by_type[6];       /* index: walpb record type 1..5; 0: other */
	uint64_t entries;
	uint64_t first_index, last_index;  /* of the log as etcd would read it */
	bool have_entries;
	uint64_t kind_count[KVF_MAX_KINDS];/* parallel to kvf_request_kinds() */
	uint64_t overwritten;
	uint64_t uncommitted;
	bool have_hardstate;
	kvf_hardstate hardstate;           /* the last one */
	bool have_metadata;
	kvf_wal_metadata metadata;         /* the last one */
	/* terms: where each term starts */
	struct kvf_term_start { uint64_t term, first_index; } *terms;
	size_t n_terms, cap_terms;
	/* snapshot records */
	struct kvf_snap_mark { uint64_t index, term; } *snaps;
	size_t n_snaps, cap_snaps;
	uint64_t findings, damage;
	uint64_t finding_count[KVF_WAL_FINDING_KINDS];
	uint64_t gaps;
	uint64_t lost;                     /* lost_entries findings */
	uint64_t crc_ok, crc_bad, crc_unchecked;
	/* the lowest etcd that can read the entries after the newest valid
	 * snapshot, and the v2 requests among them (walversion.h); counted
	 * with count_kinds, known at the end */
	kvf_wal_version version;
	kvf_wal_version_result wal_version;
	/* the last segment is full and none follows (later_segments_missing):
	 * the segment etcd went on writing in */
	bool later_segments_missing;
	uint64_t next_segment_seq, next_segment_index;
} kvf_log_summary;

void kvf_log_summary_free(kvf_log_summary *s);

typedef struct kvf_raftlog kvf_raftlog;

typedef struct kvf_raftlog_options {
	bool decode_requests;      /* decode requests in full into it->req (listing) */
	bool count_kinds;          /* count request kinds (implied by decode_requests) */
	bool prepass;              /* run the quick pass first: overwritten/uncommitted flags */
	kvf_wal_options wal;
} kvf_raftlog_options;

kvf_status kvf_raftlog_open(kvf_raftlog **lp, const kvf_wal_segments *segs,
                            const kvf_raftlog_options *opt, kvf_err *err);
/* The next item; ev.kind == KVF_WAL_EV_END at the end. Pointers inside the
 * item are valid until the next call. */
kvf_status kvf_raftlog_next(kvf_raftlog *l, kvf_log_item *it, kvf_err *err);
/* Running totals (complete once EV_END was returned). */
const kvf_log_summary *kvf_raftlog_summary(const kvf_raftlog *l);
/* The reader underneath, for progress reports. */
const kvf_wal_reader *kvf_raftlog_reader(const kvf_raftlog *l);
void kvf_raftlog_close(kvf_raftlog *l);

/* Index of kind in kvf_request_kinds(), or -1. */
int kvf_kind_index(const char *kind);


/* Which entries a listing shows. Every criterion that is set must match. */
typedef struct kvf_entry_filter {
	bool has_index;
	uint64_t index_from, index_to;
	const char *kinds;          /* comma-separated: put,txn,lease_*,auth_*,conf,v2,empty */
	const uint8_t *key_prefix;  /* requests touching a key under this prefix */
	size_t key_prefix_len;
	bool has_key_prefix;
	const char *user;           /* header username */
	/* Kubernetes objects the entry puts (encoding/k8s.h): kinds as
	 * kvf_k8s_kind_in matches them, a namespace exactly. An entry matches
	 * `kinds` when its request kind is one of them or it puts an object of
	 * one of k8s_kinds; k8s_namespace, when it puts an object in that
	 * namespace (of one of k8s_kinds, when there are some). */
	const char *k8s_kinds;
	const char *k8s_namespace;
} kvf_entry_filter;

/* Parse "FROM", "FROM:" or "FROM:TO"; false when malformed. */
bool kvf_entry_filter_index(kvf_entry_filter *f, const char *spec);
/* false: a kind pattern names no kind we know (the message says which). */
bool kvf_kind_list_valid(const char *list, char *bad, size_t badlen);
/* --kind's list split in two: the patterns that name request kinds, and
 * those that name Kubernetes kinds (kvf_k8s_kind_pattern: Pod, MyResource,
 * pods). Each is a new comma-separated string, or NULL when empty. false:
 * a pattern is neither (bad names it, unless empty) or out of memory. */
bool kvf_kind_list_split(const char *list, char **request_kinds, char **k8s_kinds, char *bad,
                         size_t badlen);
bool kvf_kind_matches(const char *list, const char *kind);
bool kvf_entry_filter_match(const kvf_entry_filter *f, const kvf_log_item *it);
bool kvf_entry_filter_active(const kvf_entry_filter *f);

#endif
