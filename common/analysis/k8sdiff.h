/* Divergent keys as the Kubernetes objects they hold, grouped by kind and
 * namespace: an incident is "pods sometimes exist", not a list of keys.
 * Each divergent key's value is decoded (encoding/k8s.h) from the first
 * member that has the key live; the object's strings point into that
 * member's mapping and live as long as the comparison. */
#ifndef KVF_K8SDIFF_H
#define KVF_K8SDIFF_H

#include <stddef.h>

#include "encoding/k8s.h"
#include "io/err.h"

struct kvf_diff;

typedef struct kvf_k8s_group {
	kvf_k8s_str kind, namespace_;   /* namespace empty: cluster-scoped */
	size_t *keys;                   /* indexes into kvf_diff.keys, in key order */
	size_t n, cap;
} kvf_k8s_group;

typedef struct kvf_diff_objects {
	kvf_k8s_object *obj;            /* [n_keys]; encoding KVF_K8S_NONE: not an object */
	size_t n_objects;               /* divergent keys that are objects */
	kvf_k8s_group *groups;          /* by kind, then namespace */
	size_t n_groups, cap_groups;
} kvf_diff_objects;

/* Decode and group; run after the divergent keys are known and sorted. */
kvf_status kvf_diff_objects_find(struct kvf_diff *d, kvf_err *err);
void kvf_diff_objects_free(kvf_diff_objects *o);

#endif
