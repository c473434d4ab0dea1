/* One etcd member's backend db, as a whole: where it is, and its status.
 * Shared by dump-db (status) and diff-db (the per-node table). */
#ifndef KVF_ETCDDB_H
#define KVF_ETCDDB_H

#include "db/backend.h"
#include "db/keyindex.h"
#include "db/schema.h"
#include "db/version.h"

/* Resolve PATH (an etcd data dir, a member dir, a db file, or an LMDB
 * environment) to the db to open. *db_path is allocated. */
kvf_status kvf_etcd_db_path(const char *path, char **db_path, kvf_err *err);

typedef struct kvf_span_list {
	kvf_span *v;
	size_t n, cap;
} kvf_span_list;

typedef struct kvf_db_status {
	const kvf_backend_info *info;
	kvf_etcd_state state;
	/* from bucket key (the key index at the current revision) */
	int64_t revision, compact_revision, scheduled_compact_revision;
	uint64_t live_keys, revisions, tombstones, malformed;
	uint64_t leases;
	kvf_span_list users, roles;             /* names, in key order */
	kvf_span_list member_ids, member_json;  /* parallel */
	kvf_span_list removed_members;
	kvf_span_list alarms;                   /* marshalled AlarmMember keys */
	kvf_span_list buckets;                  /* every top-level bucket */
	/* which etcd wrote it (version.h) */
	kvf_db_schema schema;
	uint64_t compaction_tombstones;         /* tombstones at finishedCompactRev */
	bool has_conf_state, conf_state_ok;     /* meta/confState, and whether it parsed */
	kvf_conf_state conf_state;
} kvf_db_status;

/* Everything `dump-db status` shows. ki may be NULL (it is then built and
 * freed here); pass one to reuse an index the caller needs anyway. */
kvf_status kvf_db_status_read(kvf_backend *b, const kvf_keyindex *ki, kvf_db_status *st, kvf_err *err);
void kvf_db_status_free(kvf_db_status *st);

#endif
