/* Kubernetes objects (encoding/k8s.h) as text and JSON, the same in every
 * tool: dump-db's values, dump-wal's puts, diff-db's divergent keys. */
#ifndef KVF_RENDER_K8S_H
#define KVF_RENDER_K8S_H

#include "encoding/k8s.h"
#include "render/render.h"

/* The object in one bracket for a listing line:
 * "[Pod default/pi-dqtsw v1 uid=... created=2017-06-27T16:35:34Z owner=Job/pi labels=job-name=pi]";
 * encrypted: "[encrypted aescbc key1]", CBOR: "[cbor]". */
void kvf_text_k8s(kvf_buf *b, const kvf_k8s_object *o);
/* What a person calls it: "Pod default/web-1", "Namespace kube-system",
 * "encrypted (aescbc key1)". */
void kvf_text_k8s_ref(kvf_buf *b, const kvf_k8s_object *o);
/* A string of the object, escaped for text as kvf_text_bytes does. */
void kvf_text_k8s_str(kvf_buf *b, kvf_k8s_str s);

/* {"encoding", "api_version", "kind", "namespace", "name", "generate_name",
 * "uid", "generation", "creation_timestamp", "deletion_timestamp", "labels"
 * {key: value}, "owner_references" [{"api_version", "kind", "name", "uid",
 * "controller", "block_owner_deletion"}], "finalizers" [...], "no_metadata"}
 * with the fields the object has; encrypted: {"encoding", "provider", "key_name"}. */
json_t *kvf_json_k8s(const kvf_k8s_object *o);
/* kvf_json_k8s, streamed: the same bytes. */
void kvf_jw_k8s(kvf_buf *b, const kvf_k8s_object *o);
json_t *kvf_json_k8s_str(kvf_k8s_str s);

#endif
