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

/* Where a name or a kind came from. */
typedef enum kvf_k8s_source {
	KVF_K8S_FROM_NONE,
	KVF_K8S_FROM_VALUE,     /* the value's ObjectMeta, or its TypeMeta kind */
	KVF_K8S_FROM_KEY,       /* the key's layout (encoding/k8s.h kvf_k8s_key) */
} kvf_k8s_source;

/* What the listing calls a divergent key. The value says it when it can;
 * when it gives no name (no ObjectMeta: JSON without "metadata", a raw that
 * does not parse, an encrypted or CBOR value, or a value the decoder does
 * not claim), the key's layout gives namespace and name, and the kind is
 * the value's TypeMeta kind or, without one, the key's resource name
 * ("deployments": no Kind is invented). A value the decoder does not claim
 * is an object only under a well-known built-in resource's key. */
typedef struct kvf_k8s_ref {
	bool listed;                    /* an object of the listing */
	bool shown;                     /* passes --kind/--namespace (true without them) */
	bool key_ok;                    /* key holds the key's layout */
	kvf_k8s_key key;
	kvf_k8s_str kind, namespace_, name;   /* namespace empty: cluster-scoped; name empty: none known */
	kvf_k8s_source kind_from, name_from;
} kvf_k8s_ref;

typedef struct kvf_diff_objects {
	kvf_k8s_object *obj;            /* [n_keys]; encoding KVF_K8S_NONE: no value decoded */
	kvf_k8s_ref *ref;               /* [n_keys] */
	size_t n_objects;               /* divergent keys that are objects */
	size_t n_named_by_key, n_kind_from_key;
	kvf_k8s_group *groups;          /* by kind, then namespace */
	size_t n_groups, cap_groups;
	/* diff-db --kind/--namespace (kvf_diff_objects_filter): which keys are
	 * shown; the comparison, the verdicts and the exit status still cover
	 * every key */
	bool filter_on;
	const char *kinds, *ns;         /* as given (NULL: not given) */
	size_t shown_keys, shown_objects;
} kvf_diff_objects;

/* Decode and group; run after the divergent keys are known and sorted. */
kvf_status kvf_diff_objects_find(struct kvf_diff *d, kvf_err *err);
/* Show only the divergent keys that are objects of these kinds (kinds as
 * kvf_k8s_kind_in takes them, matching the object's kind or its key's
 * resource name) in namespace ns ("" for cluster-scoped objects); either
 * NULL: any. Both NULL: every key is shown. Hides keys that are no
 * object. Only rendering reads it. */
void kvf_diff_objects_filter(struct kvf_diff *d, const char *kinds, const char *ns);
static inline bool kvf_diff_key_shown(const kvf_diff_objects *o, size_t k)
{
	return !o->filter_on || (o->ref && o->ref[k].shown);
}
void kvf_diff_objects_free(kvf_diff_objects *o);

#endif
