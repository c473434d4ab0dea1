/* diff-db's summary of divergent Kubernetes objects (analysis/k8sdiff.h),
 * grouped by kind and namespace, one line per object:
 *   "Pod default/web-1 present on node2, node3; absent on node1". */
#ifndef KVF_RENDER_DIFF_K8S_H
#define KVF_RENDER_DIFF_K8S_H

#include "analysis/diff.h"
#include "render/render.h"

/* Nothing when no divergent key is an object. all: every object, else
 * the first few of each group. */
void kvf_text_diff_objects(kvf_buf *b, const kvf_diff *d, bool all, const kvf_render_opts *o);
/* diff-db --kind/--namespace: one line saying the filter is on and how
 * many divergent keys it hides (nothing when it is off). */
void kvf_text_diff_filter(kvf_buf *b, const kvf_diff *d);
/* {"divergent_objects", "shown_objects" (with a filter), "groups": [{"kind", "namespace", "count", "objects":
 * [{"key", "object", "kind", "kind_from", "namespace", "name", "name_from",
 * "resource", "api_group", "present_on", "absent_on", "values_differ", "k8s"}]}]};
 * kind_from and name_from: "value", "key" or null (analysis/k8sdiff.h). */
json_t *kvf_json_diff_objects(const kvf_diff *d);

#endif
