/* What each etcd version writes into its backend db, and how its HashKV
 * treats it: the facts that tell a version difference from divergence.
 *
 *   meta/term, meta/confState   written from 3.5 on (the commit hook,
 *                               OnPreCommitUnsafe), at the first commit
 *                               after a 3.5 binary opens a 3.4 db
 *   meta/storageVersion         written by 3.6+ only once the cluster
 *                               version reaches 3.6 (version.Monitor
 *                               UpdateStorageVersionIfNeeded); removed by
 *                               `etcdutl migrate --target-version 3.5`
 *   a tombstone at exactly      kept by 3.5.16+ / 3.4.34+ (#18474, #18475),
 *   finishedCompactRev          deleted by older compactions; HashKV skips
 *                               it where it is kept (kvHasher.WriteKeyValue)
 *   lease RemainingTTL          persisted only with checkpoint persistence
 *                               or a 3.6 cluster version (lessor.go, #13508)
 *
 * During a rolling upgrade members legitimately differ on every one of
 * these; none of them is divergence. */
#ifndef KVF_DB_VERSION_H
#define KVF_DB_VERSION_H

#include <stdbool.h>
#include <stdint.h>

#include "db/backend.h"
#include "db/schema.h"
#include "encoding/proto/etcd_versions.h"

/* The schema that wrote a db, by etcd's own rule (server/storage/schema/
 * schema.go UnsafeDetectSchemaVersion, 3.6 and 3.7): meta/storageVersion
 * when it parses as a version; else "3.5" when consistent_index and a
 * non-zero term are there; else etcd's "missing term information", which
 * is a db of etcd 3.4 or older. A 3.6+ member whose cluster never reached
 * 3.6 has no storageVersion yet and reads as 3.5 too. */
typedef enum kvf_schema_source {
	KVF_SCHEMA_FROM_STORAGE_VERSION,
	KVF_SCHEMA_FROM_TERM,
	KVF_SCHEMA_NONE,               /* 3.4 or older */
} kvf_schema_source;

typedef struct kvf_db_schema {
	kvf_schema_source source;
	kvf_etcd_version version;      /* 0 for KVF_SCHEMA_NONE */
	bool storage_version_ignored;  /* present, but not a version etcd reads */
} kvf_db_schema;

void kvf_db_schema_detect(const kvf_etcd_state *st, kvf_db_schema *out);
/* "storageVersion", "term", "none" */
const char *kvf_schema_source_name(kvf_schema_source s);

/* HashKV at the compaction revision itself: etcd 3.4 and 3.5.0-3.5.9
 * answer ErrCompacted (mvcc HashByRev: rev <= compactRev); 3.5.10+
 * (#16048, the backport of #14457) and 3.6+ hash it (rev < compactRev).
 * The data tells only a 3.4 db apart: with term, the answer is the one
 * 3.5.10+ gives. */
bool kvf_hashkv_at_compaction_ok(const kvf_db_schema *s);

/* The tombstones whose main revision is exactly the finished compaction:
 * only an etcd that keeps them (3.5.16+, 3.4.34+) leaves them after a
 * compaction, so finding one shows which side of #18474 compacted the db.
 * HashKV (kvf_hashkv_compute) skips them, as those versions do; on a db of
 * an older version there is none to skip, so the one rule gives each
 * version's own answer. (A compaction that has not finished still has the
 * tombstones the older versions delete: scheduledCompactRev tells.) */
kvf_status kvf_compaction_tombstones(kvf_backend *b, int64_t compact_rev, uint64_t *count, kvf_err *err);

/* How consistent_index is saved: 3.4 only with a write that changes the
 * key space or auth (mvcc/kvstore.go saveIndex, auth since 3.4.8), so it
 * stays behind entries that change nothing (a leader's empty entry, an
 * Authenticate); 3.5+ at every backend commit, from the last applied index
 * (backendHooks.OnPreCommitUnsafe). Members of a 3.4/3.5 mixed cluster
 * that applied the same entries can therefore differ on it. True for a db
 * that saves the applied index (one with term). */
bool kvf_schema_saves_applied_index(const kvf_db_schema *s);

/* Meta keys whose presence or value depends on the etcd version and not
 * on the data (see above): term, confState, storageVersion. */
bool kvf_meta_key_version_dependent(kvf_span key);

#endif
