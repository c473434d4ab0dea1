/* What the HTML report adds to a replica comparison (diff.h) so that it
 * stands as a record: the evidence files with their sizes and SHA-256, the
 * members as the db's members bucket lists them (ids, names, URLs for the
 * recovery commands), and, per divergent key, the Kubernetes kind and
 * namespace of its value and where each member's newest version of it lies
 * in its db file. Read from the records kvf_diff_run left (its key indexes
 * and backends), after it: no second analysis. */
#ifndef KVF_RECORD_H
#define KVF_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "analysis/diff.h"
#include "io/sha256.h"

typedef struct kvf_record_file {
	char *path;
	int member;                /* index into the diff's members */
	const char *role;          /* static: "db", "wal" */
	uint64_t size;
	bool hashed;
	uint8_t sha256[KVF_SHA256_LEN];
	char error[200];           /* why it could not be hashed */
} kvf_record_file;

typedef struct kvf_record_member {
	uint64_t id;
	char name[128];
	char peer_urls[512];       /* comma-separated */
	char client_urls[512];
	bool learner;
} kvf_record_member;

typedef struct kvf_record_key {
	char k8s_kind[96];         /* "" when the value is no Kubernetes object */
	char k8s_namespace[128];
	const char *k8s_encoding;  /* static */
	uint64_t *offset;          /* [n members]: file offset of its newest version; UINT64_MAX: none */
} kvf_record_key;

typedef struct kvf_record {
	kvf_record_file *files;
	size_t n_files, cap_files;
	uint64_t bytes_hashed;     /* the size of every file with a digest */
	uint64_t bytes_compared;   /* of those, bytes found equal to an earlier file's, not hashed again */
	kvf_record_member *members; /* from the most complete member's db */
	size_t n_members, cap_members;
	kvf_record_key *keys;      /* [d->n_keys] */
	time_t analysed_at;
	const char *tool_version;  /* static */
	double seconds_hashing;
} kvf_record;

/* The evidence files: each member's db and WAL segments (known once the
 * members are added, before kvf_diff_run). Initialises r. */
kvf_status kvf_record_files(kvf_record *r, const kvf_diff *d, kvf_err *err);
/* SHA-256 and size of every file. A file that cannot be read is noted in
 * its record (error), not a failure of the report. It touches only
 * r->files, so it can run in a thread of its own while kvf_diff_run reads
 * the same files (diff-db does: the hashes cost no wall time on a second
 * core). */
void kvf_record_hash_files(kvf_record *r);
/* After kvf_diff_run: the members and the divergent keys' facts. */
kvf_status kvf_record_collect(kvf_record *r, const kvf_diff *d, kvf_err *err);
void kvf_record_free(kvf_record *r, const kvf_diff *d);

#endif
