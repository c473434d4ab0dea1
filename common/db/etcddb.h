/* One etcd member's backend db, as a whole: where it is, and its status.
 * Shared by dump-db (status) and diff-db (the per-node table). */
#ifndef KVF_ETCDDB_H
#define KVF_ETCDDB_H

#include "db/backend.h"
#include "db/keyindex.h"
#include "db/schema.h"
#include "db/version.h"
#include "io/source.h"

/* Resolve PATH (an etcd data dir, a member dir, a db file, or an LMDB
 * environment) to the db to open. *db_path is allocated. */
kvf_status kvf_etcd_db_path(const char *path, char **db_path, kvf_err *err);

/* The same, keeping what the data dir holds besides the db: when PATH is a
 * data dir (or member dir), loc->datadir has its paths and the leftovers of
 * member/snap (io/source.h: .snap.db, db.tmp.*, tmp*). */
typedef struct kvf_db_location {
	char *db_path;
	bool is_datadir;
	kvf_datadir datadir;       /* zeroed unless is_datadir */
} kvf_db_location;

kvf_status kvf_etcd_db_locate(const char *path, kvf_db_location *loc, kvf_err *err);
void kvf_db_location_free(kvf_db_location *loc);

/* `etcdctl snapshot save` writes the db as bbolt's Tx.WriteTo streams it,
 * then 32 bytes of SHA-256 over those bytes (the server sends the digest
 * last; clientv3 keeps it since etcd PR 11896). A db is a whole number of
 * pages of at least 512 bytes, so etcdutl tells such a file by its length
 * alone: hasChecksum(size) = size % 512 == 32, and `snapshot restore`
 * refuses one whose digest does not match (etcdutl/snapshot copyAndVerifyDB).
 * The db part is read like any db: the bbolt reader counts whole pages only,
 * so the digest is never read as a page. */
typedef struct kvf_snapshot_file {
	bool is_snapshot;          /* content length % 512 == 32 */
	uint64_t db_size;          /* bytes before the digest (= its offset) */
	bool digest_ok;
	uint8_t stored[32], computed[32];
} kvf_snapshot_file;

/* Recognise and verify a snapshot file (the content, inflated for .gz).
 * Not one: is_snapshot false, KVF_OK. Hashes the whole db part. */
kvf_status kvf_snapshot_file_verify(const char *path, kvf_snapshot_file *out, kvf_err *err);

/* A bbolt db is a whole number of pages, and a snapshot file 32 bytes more.
 * Bytes past the last whole page that are neither: *n of them at *at (a
 * file cut short, or a snapshot file cut inside its digest). */
bool kvf_db_partial_page(const kvf_backend_info *in, const kvf_snapshot_file *sf, uint64_t *at, uint64_t *n);

/* A snapshot file whose digest does not match, as a finding at the
 * digest's offset: both digests in full (64 hex digits each), so that a
 * difference anywhere in them shows. */
void kvf_snapshot_file_finding(const kvf_snapshot_file *sf, kvf_db_finding *f);

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
	kvf_snapshot_file snapshot;             /* bbolt files: an etcdctl snapshot file? */
	struct kvf_leftover_db *leftovers;      /* kvf_db_status_leftovers */
	size_t n_leftovers;
} kvf_db_status;

/* A leftover of the data dir (io/source.h), opened as a db. */
typedef struct kvf_leftover_db {
	const kvf_leftover *file;               /* in the kvf_datadir it came from */
	bool readable;                          /* opened as a bbolt or LMDB db */
	char why[200];                          /* not readable: the error */
	uint64_t damage;                        /* findings met opening and reading it */
	kvf_etcd_state state;                   /* readable: consistent_index, ... */
} kvf_leftover_db;

/* Everything `dump-db status` shows. ki may be NULL (it is then built and
 * freed here); pass one to reuse an index the caller needs anyway. */
kvf_status kvf_db_status_read(kvf_backend *b, const kvf_keyindex *ki, kvf_db_status *st, kvf_err *err);
/* Open each leftover of dd (as a db of its own, closed again) and record
 * what it holds in st->leftovers; dd must outlive st. A leftover that cannot
 * be opened is recorded as such, not an error. */
kvf_status kvf_db_status_leftovers(kvf_db_status *st, const kvf_datadir *dd, kvf_err *err);
void kvf_db_status_free(kvf_db_status *st);

#endif
