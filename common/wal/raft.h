/* Raft-level records inside WAL frames, and .snap files.
 *
 * Entries and hard states are decoded in place (they are on the hot path of
 * every WAL scan); the rarer records go through protobuf-c. */
#ifndef KVF_RAFT_H
#define KVF_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/err.h"
#include "encoding/pbwire.h"
#include "encoding/proto/raftpb.pb-c.h"

enum { KVF_ENTRY_NORMAL = 0, KVF_ENTRY_CONF_CHANGE = 1, KVF_ENTRY_CONF_CHANGE_V2 = 2 };

typedef struct kvf_raft_entry {
	uint64_t term, index;
	uint64_t type;               /* KVF_ENTRY_* (other values are shown as numbers) */
	const uint8_t *data;         /* in place; NULL when absent */
	size_t len;
} kvf_raft_entry;

typedef struct kvf_hardstate {
	uint64_t term, vote, commit;
} kvf_hardstate;

/* etcdserverpb.Metadata; TestNew.wal shows a WAL may hold other bytes here. */
typedef struct kvf_wal_metadata {
	bool parsed;                 /* false: not a Metadata, show raw */
	uint64_t node_id, cluster_id;
} kvf_wal_metadata;

/* A walpb.Snapshot record (etcd 3.5 adds conf_state). */
typedef struct kvf_wal_snapshot {
	uint64_t index, term;
	bool has_conf_state;
	Raftpb__ConfState *conf_state;   /* in the arena, when present */
} kvf_wal_snapshot;

bool kvf_raft_entry_parse(const uint8_t *p, size_t n, kvf_raft_entry *e);
bool kvf_hardstate_parse(const uint8_t *p, size_t n, kvf_hardstate *hs);
bool kvf_wal_metadata_parse(const uint8_t *p, size_t n, kvf_wal_metadata *md);
bool kvf_wal_snapshot_parse(const uint8_t *p, size_t n, kvf_arena *arena, kvf_wal_snapshot *s);

const char *kvf_entry_type_name(uint64_t type);
const char *kvf_conf_change_type_name(int type);

/* The v2 store a .snap file holds (v2store JSON: {"Root":{"Path":"/",
 * "Children":{...}}, ...}). Up to 3.5 it is the member's whole v2 store
 * (v2store.Clone().SaveNoCopy()); 3.6+ write only membership, built from
 * the v3 store (cluster_util.go GetMembershipInfoInV2Format): /0/members,
 * /0/removed_members, /0/version. Anything else is v2 data, which 3.6
 * refuses to start with (AssertNoV2StoreContent) and 3.7 never reads. */
typedef struct kvf_snap_v2 {
	bool parsed;                      /* false: not v2store JSON (shown raw) */
	uint32_t members, learners;       /* /0/members/<id>, and those whose raftAttributes say isLearner */
	uint32_t removed;                 /* /0/removed_members/<id> */
	char version[32];                 /* /0/version's value, "" when absent */
	uint64_t other_keys;              /* leaf nodes outside /0 */
	char first_other[96];             /* the path of the first of them */
} kvf_snap_v2;

/* A .snap file of member/snap: snappb.Snapshot{crc, data=raftpb.Snapshot}. */
typedef struct kvf_snap_file {
	bool name_ok;
	uint64_t name_term, name_index;   /* from %016x-%016x.snap */
	uint64_t file_size;
	uint32_t crc_stored, crc_computed;
	bool crc_ok;
	uint64_t index, term;             /* snapshot metadata */
	Raftpb__ConfState *conf_state;    /* in the arena; NULL if absent */
	uint64_t data_len;                /* the v2 store JSON */
	const uint8_t *data;              /* in the arena */
	kvf_snap_v2 v2;                   /* what that JSON holds */
} kvf_snap_file;

/* Summarise a v2 store's JSON (a .snap file's data). */
void kvf_snap_v2_parse(const uint8_t *data, size_t len, kvf_snap_v2 *out);

bool kvf_snap_parse_name(const char *name, uint64_t *term, uint64_t *index);
/* Reads and verifies a .snap file. Damage is an error naming the offset. */
kvf_status kvf_snap_read(const char *path, kvf_arena *arena, kvf_snap_file *out, kvf_err *err);

/* The .snap files of a directory (not .snap.db), sorted by name. */
kvf_status kvf_snap_list(const char *dir, char ***paths, size_t *n, kvf_err *err);
void kvf_snap_list_free(char **paths, size_t n);

#endif
