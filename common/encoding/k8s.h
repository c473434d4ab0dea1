/* Kubernetes values, summarised: what object a value under /registry/ is.
 *
 * Kubernetes stores objects in etcd as JSON, or as protobuf behind the
 * 4-byte magic "k8s\0" wrapping a runtime.Unknown {typeMeta {apiVersion,
 * kind}, raw, contentEncoding, contentType}; with encryption at rest the
 * value starts "k8s:enc:<provider>:v1:<key name>:". The summary names
 * apiVersion, kind, and metadata name/namespace (ObjectMeta is field 1 of
 * every object, with name = 1 and namespace = 3). */
#ifndef KVF_K8S_H
#define KVF_K8S_H

#include <stdbool.h>

#include "io/bytes.h"

typedef enum kvf_k8s_encoding {
	KVF_K8S_NONE,        /* not a Kubernetes object */
	KVF_K8S_JSON,
	KVF_K8S_PROTOBUF,
	KVF_K8S_ENCRYPTED,
} kvf_k8s_encoding;

typedef struct kvf_k8s_summary {
	kvf_k8s_encoding encoding;
	char api_version[128];
	char kind[128];
	char name[256];
	char namespace_[256];
	char provider[64];   /* encrypted: aescbc, aesgcm, secretbox, kms, ... */
	char key_name[128];  /* encrypted: the key (or KMS plugin) name */
} kvf_k8s_summary;

/* false when the value is none of the above. */
bool kvf_k8s_summarize(kvf_span value, kvf_k8s_summary *out);

const char *kvf_k8s_encoding_name(kvf_k8s_encoding e);

#endif
