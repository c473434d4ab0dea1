/* Rendering of backend db records: etcd bucket pairs decoded by bucket,
 * live keys, HashKV, status, structural findings. */
#ifndef KVF_RENDER_DB_H
#define KVF_RENDER_DB_H

#include "db/backend.h"
#include "db/etcddb.h"
#include "render/render_k8s.h"
#include "db/keyindex.h"
#include "encoding/pbwire.h"
#include "render/render.h"
#include "db/schema.h"

/* One pair of a bucket, decoded according to the bucket (etcd's schema) or
 * shown as bytes for a bucket we do not know. The arena holds protobuf
 * decodes; reset it between pairs. */
json_t *kvf_json_db_pair(kvf_bucket_kind kind, const kvf_pair *p, kvf_arena *arena,
                         const kvf_render_opts *o);
void kvf_text_db_pair(kvf_buf *b, kvf_bucket_kind kind, const kvf_pair *p, kvf_arena *arena,
                      const kvf_render_opts *o);

/* The line dump-db prints for a pair: kvf_json_db_pair with "value_offset"
 * (the value's byte offset in the file, when the backend knows it) as its
 * last member, appended to b as compact JSON without a newline. Pairs of
 * bucket `key` are streamed without building a tree. */
void kvf_jw_db_pair(kvf_buf *b, kvf_bucket_kind kind, const kvf_pair *p, kvf_arena *arena,
                    const kvf_render_opts *o);

/* A live key as `etcdctl get` shows it: key, revisions, version, lease, value. */
json_t *kvf_json_live_key(const kvf_key_entry *e, const kvf_render_opts *o);
void kvf_text_live_key(kvf_buf *b, const kvf_key_entry *e, const kvf_render_opts *o);
/* kvf_json_live_key, streamed to b as compact JSON without a newline. */
void kvf_jw_live_key(kvf_buf *b, const kvf_key_entry *e, const kvf_render_opts *o);

json_t *kvf_json_db_finding(const kvf_db_finding *f);
void kvf_text_db_finding(kvf_buf *b, const kvf_db_finding *f);

json_t *kvf_json_db_status(const kvf_db_status *st, kvf_arena *arena);
void kvf_text_db_status(kvf_buf *b, const kvf_db_status *st, kvf_arena *arena, const kvf_render_opts *o);

/* An etcdctl snapshot file's digest: null when not one; for text one phrase
 * ("etcdctl snapshot save file: a db of N bytes and its SHA-256 ... (matches)"). */
json_t *kvf_json_snapshot_file(const kvf_snapshot_file *sf);
void kvf_text_snapshot_file(kvf_buf *b, const kvf_snapshot_file *sf, const kvf_render_opts *o);

json_t *kvf_json_hashkv(const kvf_hashkv *h);

#endif
