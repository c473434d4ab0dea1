/* Kubernetes objects in etcd values: what object a value under /registry/ is.
 *
 * The API server stores an object as
 *   - protobuf: the 4-byte magic "k8s\0", then a runtime.Unknown
 *     {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2, contentEncoding = 3,
 *     contentType = 4} whose raw is the object's own message; ObjectMeta is
 *     its field 1 (k8s.io/apimachinery runtime/generated.proto,
 *     runtime/serializer/protobuf/protobuf.go);
 *   - JSON (custom resources, or --storage-media-type=application/json):
 *     {"apiVersion", "kind", "metadata": {...}, ...};
 *   - encrypted at rest: "k8s:enc:<provider>:<v1|v2>:<key name>:" and the
 *     ciphertext (apiserver/pkg/storage/value/encrypt);
 *   - CBOR (custom resources, 1.32+ with CBORServingAndStorage): the
 *     self-described CBOR tag d9 d9 f7. Recognised, not decoded.
 * kvf_k8s_decode reads TypeMeta and the ObjectMeta fields a postmortem
 * needs (apimachinery meta/v1 generated.proto ObjectMeta: name = 1,
 * generateName = 2, namespace = 3, uid = 5, generation = 7,
 * creationTimestamp = 8, deletionTimestamp = 9, labels = 11,
 * ownerReferences = 13, finalizers = 14; Time {seconds = 1, nanos = 2};
 * OwnerReference {kind = 1, name = 3, uid = 4, apiVersion = 5,
 * controller = 6, blockOwnerDeletion = 7}).
 *
 * Zero copy and bounded: every string is a span into the value (valid as
 * long as the value is), nothing is allocated, every length is checked
 * before use, JSON nesting is limited (KVF_K8S_MAX_DEPTH). A value that is
 * not entirely well-formed (a protobuf envelope that does not parse as a
 * whole, JSON that is not one complete object) is not claimed. */
#ifndef KVF_K8S_H
#define KVF_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/buf.h"
#include "io/bytes.h"

typedef enum kvf_k8s_encoding {
	KVF_K8S_NONE,        /* not a Kubernetes object */
	KVF_K8S_JSON,
	KVF_K8S_PROTOBUF,
	KVF_K8S_ENCRYPTED,
	KVF_K8S_CBOR,
} kvf_k8s_encoding;

/* JSON nesting deeper than this is not decoded (nor claimed). */
#define KVF_K8S_MAX_DEPTH 128

/* A string of the object, in place. A JSON string with backslash escapes
 * is left as written (escaped = true): kvf_k8s_str_decode gives its bytes.
 * Absent: p == NULL. */
typedef struct kvf_k8s_str {
	const uint8_t *p;
	uint32_t len;
	bool escaped;
} kvf_k8s_str;

/* A metav1.Time: protobuf seconds and nanos, or a JSON RFC 3339 string
 * (parsed into seconds and nanos when it is one; text keeps it as written). */
typedef struct kvf_k8s_time {
	bool present;
	bool valid;          /* seconds and nanos hold the time */
	int64_t seconds;     /* since the Unix epoch, UTC */
	int32_t nanos;
	kvf_k8s_str text;    /* JSON only */
} kvf_k8s_time;

typedef struct kvf_k8s_object {
	kvf_k8s_encoding encoding;
	kvf_k8s_str api_version, kind;
	/* false: TypeMeta was read but ObjectMeta was not (absent, or a raw
	 * that is compressed or does not parse): the fields below are empty */
	bool metadata_ok;
	kvf_k8s_str name, generate_name, namespace_, uid;
	bool has_generation;   /* and not 0 (gogo-protobuf writes the 0 of "unset") */
	int64_t generation;
	kvf_k8s_time creation, deletion;
	uint32_t n_labels, n_owners, n_finalizers;
	/* encrypted: the provider (aescbc, aesgcm, secretbox, kms) and the key
	 * (or KMS plugin) name of the envelope */
	kvf_k8s_str provider, key_name;
	/* for the iterators below: protobuf, the ObjectMeta bytes; JSON, the
	 * labels object, ownerReferences and finalizers arrays */
	const uint8_t *meta_p, *labels_p, *owners_p, *finalizers_p;
	size_t meta_len, labels_len, owners_len, finalizers_len;
} kvf_k8s_object;

/* false (and out->encoding == KVF_K8S_NONE) when the value is none of the
 * encodings above. */
bool kvf_k8s_decode(kvf_span value, kvf_k8s_object *out);
/* The same for bytes that are not in the evidence file (a put's value, as
 * protobuf-c decoded it from a WAL entry). */
static inline bool kvf_k8s_decode_bytes(const uint8_t *p, size_t n, kvf_k8s_object *out)
{
	kvf_span v = { p, n, UINT64_MAX };
	return kvf_k8s_decode(v, out);
}

const char *kvf_k8s_encoding_name(kvf_k8s_encoding e);

/* Labels, owner references and finalizers, in the order stored. */
typedef struct kvf_k8s_iter {
	const uint8_t *p, *end;
	bool json;
} kvf_k8s_iter;

typedef struct kvf_k8s_owner {
	kvf_k8s_str api_version, kind, name, uid;
	bool controller, block_owner_deletion;
} kvf_k8s_owner;

void kvf_k8s_labels(const kvf_k8s_object *o, kvf_k8s_iter *it);
bool kvf_k8s_label_next(kvf_k8s_iter *it, kvf_k8s_str *key, kvf_k8s_str *value);
void kvf_k8s_owners(const kvf_k8s_object *o, kvf_k8s_iter *it);
bool kvf_k8s_owner_next(kvf_k8s_iter *it, kvf_k8s_owner *out);
void kvf_k8s_finalizers(const kvf_k8s_object *o, kvf_k8s_iter *it);
bool kvf_k8s_finalizer_next(kvf_k8s_iter *it, kvf_k8s_str *out);

/* The bytes of s (JSON escapes decoded, \u as UTF-8) appended to b. */
bool kvf_k8s_str_decode(kvf_k8s_str s, kvf_buf *b);
/* s equals the C string c (escapes decoded); icase: ASCII case ignored. */
bool kvf_k8s_str_eq(kvf_k8s_str s, const char *c, bool icase);

/* Filters by object, as dump-db and dump-wal --kind/--namespace apply them.
 * kinds: comma-separated kinds, ASCII case ignored, a plural made with -s
 * or -es matching too ("pod", "Pods", "ingresses"); NULL matches any.
 * ns: the namespace exactly ("" for cluster-scoped objects); NULL, any.
 * Encrypted and CBOR values have no kind or namespace to match. */
bool kvf_k8s_kind_in(kvf_k8s_str kind, const char *kinds);
/* Whether a pattern names a Kubernetes kind as a person would type one: it
 * starts with a capital (Pod, MyResource), or it is a built-in kind in any
 * case, singular or plural (pods, configmaps). dump-wal's --kind, which
 * also takes request kinds, tells a typo from a kind with it. */
bool kvf_k8s_kind_pattern(const char *pat, size_t n);
bool kvf_k8s_matches(const kvf_k8s_object *o, const char *kinds, const char *ns);

/* Where the API server keeps an object: its etcd key, as
 * k8s.io/apiserver lays it out (pkg/registry/generic/registry/store.go
 * NamespaceKeyFunc and NoNamespaceKeyFunc):
 *   <prefix>/<resource>/<namespace>/<name>   namespaced resources
 *   <prefix>/<resource>/<name>               cluster-scoped ones
 * where <prefix> is --etcd-prefix (/registry by default) and <resource> the
 * resource's storage prefix: mostly its plural (pods, deployments), for a
 * few a group first (apiregistration.k8s.io/apiservices,
 * apiextensions.k8s.io/customresourcedefinitions, and every custom
 * resource: <group>/<plural>), and a few historical names (minions for
 * nodes, controllers for replicationcontrollers, ingress, and
 * services/specs and services/endpoints for services and endpoints).
 *
 * kvf_k8s_key_parse is conservative; a key is read only when:
 *   - it starts with "/registry/" (a custom --etcd-prefix is not guessed:
 *     the key alone does not say where such a prefix ends);
 *   - every segment is non-empty, the group (a first segment with a '.')
 *     a DNS subdomain, the resource a lowercase name, the namespace a DNS
 *     label, the name not "." or ".." (apimachinery path segment names);
 *   - with a group: 2 more segments (cluster-scoped) or 3 (namespaced);
 *   - without: 2 segments when the resource is a well-known cluster-scoped
 *     one (kvf_k8s_cluster_scoped), 3 when it is not, 4 for
 *     services/specs and services/endpoints. The number of segments alone
 *     would not tell <resource>/<name> of an unknown cluster-scoped
 *     resource from the apiserver's own bookkeeping (masterleases/<ip>,
 *     ranges/serviceips), so those are not read.
 * Strings are spans into the key. */
typedef struct kvf_k8s_key {
	kvf_k8s_str group;        /* absent (p == NULL): no group segment */
	kvf_k8s_str resource;     /* as stored: "deployments", "minions", "endpoints" */
	kvf_k8s_str namespace_;   /* absent: cluster-scoped */
	kvf_k8s_str name;
	bool well_known;          /* a built-in resource the lists below name */
} kvf_k8s_key;

bool kvf_k8s_key_parse(const uint8_t *key, size_t len, kvf_k8s_key *out);
/* A built-in resource, as its storage prefix names it, that has no namespace. */
bool kvf_k8s_cluster_scoped(const uint8_t *resource, size_t n);
/* --kind against a resource name as a key holds it: the pattern itself, or
 * its plural with -s, -es or -y -> -ies, ASCII case ignored
 * ("Deployment" and "deployments" match deployments). */
bool kvf_k8s_resource_in(kvf_k8s_str resource, const char *kinds);

/* "2017-06-27T16:35:34Z": a valid time as Kubernetes shows it (metav1.Time
 * MarshalJSON: RFC 3339 in UTC, whole seconds; protobuf keeps nanoseconds,
 * which stay in the struct); out holds at least KVF_K8S_TIME_LEN bytes. */
#define KVF_K8S_TIME_LEN 40
void kvf_k8s_time_format(const kvf_k8s_time *t, char *out);

#endif
