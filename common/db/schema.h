/* etcd's buckets in the backend db (etcd 3.4; 3.5 and 3.6 additions noted).
 *
 *   key              revision -> mvccpb.KeyValue; the revision key is 8-byte
 *                    big-endian main, '_', 8-byte big-endian sub (17 bytes),
 *                    and an 18th byte 't' marks a tombstone (mvcc/revision.go)
 *   meta             consistent_index, scheduledCompactRev, finishedCompactRev
 *                    [3.5: term, confState; 3.6: storageVersion]
 *   auth             authEnabled (1 byte), authRevision (8-byte big-endian)
 *   authUsers/Roles  authpb.User / authpb.Role by name
 *   lease            8-byte big-endian id -> leasepb.Lease
 *   members          hex id -> member JSON; members_removed: hex id -> "removed"
 *   cluster          clusterVersion [3.5: downgrade JSON]
 *   alarm            marshalled etcdserverpb.AlarmMember -> empty
 */
#ifndef KVF_SCHEMA_H
#define KVF_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "db/backend.h"
#include "io/bytes.h"
#include "io/err.h"
#include "encoding/pbwire.h"

typedef struct kvf_revision {
	int64_t main, sub;
} kvf_revision;

static inline int kvf_rev_cmp(kvf_revision a, kvf_revision b)
{
	if (a.main != b.main)
		return a.main < b.main ? -1 : 1;
	return a.sub < b.sub ? -1 : a.sub > b.sub;
}

/* A key of bucket `key`; false when it is not 17 bytes with '_' at 8, or
 * 18 bytes ending in 't'. */
bool kvf_revkey_parse(kvf_span k, kvf_revision *rev, bool *tombstone);
/* The 17-byte form of rev (for seeks). */
void kvf_revkey_make(kvf_revision rev, uint8_t out[17]);

/* mvccpb.KeyValue, decoded in place. */
typedef struct kvf_kv {
	kvf_span key, value;
	int64_t create_revision, mod_revision, version, lease;
} kvf_kv;

bool kvf_kv_parse(kvf_span v, kvf_kv *kv);
/* The same by the general field loop alone: kvf_kv_parse reads the form Go
 * writes straight and falls back on this (tests hold the two to each other). */
bool kvf_kv_parse_general(kvf_span v, kvf_kv *kv);

/* The member's own bookkeeping, from buckets meta, auth and cluster. Each
 * field says whether it was found; `bad` notes a value of the wrong shape. */
typedef struct kvf_etcd_state {
	bool has_consistent_index;
	uint64_t consistent_index;
	bool has_term;                 /* 3.5 */
	uint64_t term;
	bool has_scheduled_compact, has_finished_compact;
	int64_t scheduled_compact, finished_compact;
	kvf_span conf_state;           /* 3.5: JSON, empty when absent */
	kvf_span storage_version;      /* 3.6 */
	bool has_auth_enabled;
	bool auth_enabled;
	bool has_auth_revision;
	uint64_t auth_revision;
	kvf_span auth_revision_value;  /* where it is in the file (offset) */
	kvf_span cluster_version;
	kvf_span downgrade;            /* 3.5: JSON */
	char bad[240];                 /* first malformed value seen, or "" */
} kvf_etcd_state;

kvf_status kvf_etcd_read_state(kvf_backend *b, kvf_etcd_state *st, kvf_err *err);

/* meta/confState (3.5+): raftpb.ConfState as Go's encoding/json writes it
 * (membership.MustUnsafeSaveConfStateToBackend, schema/confstate.go in
 * 3.6+): {"voters":[..],"learners":[..],"voters_outgoing":[..],
 * "learners_next":[..],"auto_leave":false}, empty lists left out, member
 * ids as decimal uint64 (half of them above INT64_MAX, which jansson
 * refuses). Keys are matched as encoding/json does, ignoring case; other
 * keys are skipped. false when the value is not such an object or holds
 * more ids than fit (the ids read so far are kept). */
#define KVF_CONF_STATE_MAX 64
typedef struct kvf_conf_state {
	uint64_t voters[KVF_CONF_STATE_MAX], learners[KVF_CONF_STATE_MAX];
	uint64_t voters_outgoing[KVF_CONF_STATE_MAX], learners_next[KVF_CONF_STATE_MAX];
	size_t n_voters, n_learners, n_voters_outgoing, n_learners_next;
	bool auto_leave;
} kvf_conf_state;

bool kvf_conf_state_parse(kvf_span v, kvf_conf_state *cs);

/* etcd bucket names. */
#define KVF_BUCKET_KEY "key"

typedef enum kvf_bucket_kind {
	KVF_BUCKET_OTHER,
	KVF_BUCKET_KEYS,               /* "key" */
	KVF_BUCKET_META,
	KVF_BUCKET_AUTH,
	KVF_BUCKET_AUTH_USERS,
	KVF_BUCKET_AUTH_ROLES,
	KVF_BUCKET_LEASE,
	KVF_BUCKET_MEMBERS,
	KVF_BUCKET_MEMBERS_REMOVED,
	KVF_BUCKET_CLUSTER,
	KVF_BUCKET_ALARM,
} kvf_bucket_kind;

kvf_bucket_kind kvf_bucket_kind_of(kvf_span name);
/* The etcd buckets in etcd's own order (3.6 schema ids), NULL-terminated. */
const char *const *kvf_etcd_buckets(void);

#endif
