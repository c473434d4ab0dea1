/* Which cluster, and which member, each input is: asked before replicas are
 * compared, because members of two clusters differ in every key and a
 * comparison of them ends in "unexplained divergence" and a recovery plan
 * that wipes data dirs.
 *
 * What an input says about itself:
 *   - its WAL's metadata record (etcdserverpb.Metadata, the first record
 *     after each segment's crc): its own member id and the cluster id. etcd
 *     writes it when the WAL is created and never changes it;
 *   - its db's members bucket (membership/store.go: key = the member id in
 *     hex, value = {"id","peerURLs","name","clientURLs","isLearner"}) and
 *     members_removed (key = id, value "removed");
 *   - the db file itself (device and inode), so the same files given twice
 *     under two names are seen.
 * Two inputs are of one cluster when both WALs name the same cluster id;
 * without a WAL (a bare db, a snapshot file), when their members buckets
 * share a member id: etcd's member ids are random per cluster (sha1 of the
 * peer URLs and the cluster token, plus the time for members added later). */
#ifndef KVF_IDENTITY_H
#define KVF_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/backend.h"
#include "io/err.h"

typedef struct kvf_member_entry {
	uint64_t id;
	char *name;           /* "" for a member added but never started */
	char *peer_urls;      /* comma-joined, as stored */
	bool learner;
	bool removed;         /* listed in members_removed */
} kvf_member_entry;

typedef struct kvf_identity {
	bool has_metadata;    /* a WAL with a parsed metadata record */
	uint64_t member_id, cluster_id;
	kvf_member_entry *members;   /* members, then members_removed */
	size_t n_members, cap_members;
	bool have_file;
	uint64_t dev, ino;    /* of the db file */
	int cluster;          /* index into kvf_identity_set's clusters */
} kvf_identity;

typedef enum kvf_identity_dup_kind {
	KVF_DUP_SAME_FILES,   /* the same db file under two names: refused */
	KVF_DUP_SAME_MEMBER,  /* two copies of one member (same member id): compared */
} kvf_identity_dup_kind;

typedef struct kvf_identity_dup {
	size_t a, b;          /* input indexes, a < b */
	kvf_identity_dup_kind kind;
} kvf_identity_dup;

/* A note on one input: its own id is listed as removed by an input. */
typedef struct kvf_identity_removed {
	size_t input, by;
} kvf_identity_removed;

typedef struct kvf_identity_set {
	kvf_identity *v;      /* [n], filled by kvf_identity_read */
	size_t n;
	size_t n_clusters;
	kvf_identity_dup *dups;
	size_t n_dups;
	kvf_identity_removed *removed;
	size_t n_removed;
} kvf_identity_set;

/* Read one input's identity: be is its open db, db_path its file (for the
 * inode), wal_dir its WAL (NULL: none). A WAL that cannot be read leaves
 * has_metadata false (the comparison reads it again and reports). */
kvf_status kvf_identity_read(kvf_identity *id, kvf_backend *be, const char *db_path, const char *wal_dir,
                             kvf_err *err);
/* Group the inputs into clusters and find duplicates. */
kvf_status kvf_identity_group(kvf_identity_set *s, kvf_err *err);
/* Members of different clusters, or the same files twice: do not compare. */
bool kvf_identity_refused(const kvf_identity_set *s);
/* The member entry for id in an input's members bucket, or NULL. */
const kvf_member_entry *kvf_identity_member(const kvf_identity *id, uint64_t member_id);
void kvf_identity_set_free(kvf_identity_set *s);

/* A members-bucket value as canonical JSON text (sorted keys, compact),
 * with the id as the 16-digit hex string etcdctl and the bucket key use:
 * half of all ids are at or above 2^63, past what a JSON parser's integers
 * hold. NULL when the value is not a JSON object (or out of memory). */
char *kvf_member_canonical(const uint8_t *p, size_t n);
/* Parse a members-bucket value; false when it is not a member object. */
bool kvf_member_parse(const uint8_t *p, size_t n, kvf_member_entry *m);
void kvf_member_entry_free(kvf_member_entry *m);

#endif
