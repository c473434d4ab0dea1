/* What a raft entry asks etcd to do.
 *
 * EntryNormal data is an etcdserverpb.InternalRaftRequest; when it does not
 * parse as one, etcd falls back to the legacy v2 Request
 * (etcdserver/server.go applyEntryNormal), and so do we. Empty data is the
 * no-op a new leader appends. EntryConfChange(V2) carry raftpb messages.
 *
 * The request kind is the name of the InternalRaftRequest field that is set
 * ("put", "txn", "auth_user_add", "cluster_version_set", ...), taken from
 * the protobuf descriptor, so the names and the .proto cannot drift apart.
 * A legacy v2 request is "v2", or, for the three etcd 3.4/3.5 write on
 * their own, "v2_member_attributes", "v2_cluster_version" or "v2_sync"
 * (kvf_v2_kind). */
#ifndef KVF_REQUEST_H
#define KVF_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encoding/proto/etcdserver_v2.pb-c.h"
#include "encoding/proto/etcdserverpb.pb-c.h"
#include "encoding/pbwire.h"
#include "encoding/proto/etcd_versions.h"
#include "wal/raft.h"

typedef enum kvf_request_class {
	KVF_REQ_EMPTY,            /* EntryNormal without data: leader no-op */
	KVF_REQ_INTERNAL,         /* InternalRaftRequest (v3, or v2 wrapped in it) */
	KVF_REQ_V2,               /* a bare legacy v2 Request */
	KVF_REQ_CONF_CHANGE,
	KVF_REQ_CONF_CHANGE_V2,
	KVF_REQ_UNDECODABLE,
} kvf_request_class;

typedef struct kvf_request {
	kvf_request_class cls;
	const char *kind;         /* static string, see above; "v2", "empty", ... */
	/* the InternalRaftRequest field that is set, and its message */
	const ProtobufCFieldDescriptor *field;
	const ProtobufCMessage *body;
	Etcdserverpb__InternalRaftRequest *irr;
	Etcdserverpb__Request *v2;          /* bare, or irr->v2 */
	Raftpb__ConfChange *cc;
	Raftpb__ConfChangeV2 *ccv2;
	bool has_header;
	uint64_t id;                        /* header.ID, else irr.ID, else v2.ID */
	ProtobufCBinaryData username;
	uint64_t auth_revision;
	const char *why;                    /* KVF_REQ_UNDECODABLE: what failed */
} kvf_request;

/* Decode an entry's payload. Everything allocated lives in the arena. */
void kvf_request_decode(const kvf_raft_entry *e, kvf_arena *arena, kvf_request *out);

/* Only the kind of an entry's request, as kvf_request_decode names it, for
 * the summary's counts. Most entries need no decode for it: a scan of the
 * wire format proves that protobuf-c would accept the request and which
 * field it would find set; anything the scan cannot vouch for is decoded
 * in full (allocations in the arena). */
const char *kvf_request_kind(const kvf_raft_entry *e, kvf_arena *arena);
/* The scan alone: the kind, or NULL when only the full decode can tell.
 * (Exposed for the test that holds it to the full decode.) */
const char *kvf_request_kind_scan(const kvf_raft_entry *e);
/* Does a request of this kind (kvf_request.kind) commit a new authRevision
 * when applied? (auth/store.go commitRevision; AuthEnable does not.) */
bool kvf_request_kind_bumps_auth_revision(const char *kind);
/* The same scan, which also takes the version etcd's MinimalEtcdVersion
 * visitor would find in the request (encoding/proto/etcd_versions.h) into
 * *ver when it names a kind (the summary needs both for every entry and
 * this reads the bytes once). */
const char *kvf_request_kind_scan_version(const kvf_raft_entry *e, kvf_etcd_version *ver);

/* The kind of a v2 request: v2_member_attributes, v2_cluster_version,
 * v2_sync, or v2 (see request.c). */
const char *kvf_v2_kind(const Etcdserverpb__Request *v2);
/* A v2_member_attributes request (PUT /0/members/<hex id>/attributes):
 * true, and the member's id from the path. */
bool kvf_v2_member_attributes_id(const Etcdserverpb__Request *v2, uint64_t *id);

/* Every kind name kvf_request_decode can produce (NULL-terminated). */
const char *const *kvf_request_kinds(void);

/* Call fn for every key a request reads or writes: put, delete_range and
 * range keys, and those of every txn operation, nested txns included.
 * range_end is empty for a single key. */
typedef void (*kvf_key_fn)(void *ctx, const char *op, ProtobufCBinaryData key,
                           ProtobufCBinaryData range_end);
void kvf_request_keys(const kvf_request *r, kvf_key_fn fn, void *ctx);

/* Call fn for every put a request makes (a put, or the puts of a txn, both
 * branches, nested txns included): the values written, Kubernetes objects
 * among them. */
typedef void (*kvf_put_fn)(void *ctx, const Etcdserverpb__PutRequest *put);
void kvf_request_puts(const kvf_request *r, kvf_put_fn fn, void *ctx);

#endif
