/* Divergent Kubernetes objects, grouped (k8sdiff.h). */
#include "analysis/k8sdiff.h"

#include <stdlib.h>
#include <string.h>

#include "analysis/diff.h"
#include "db/schema.h"

static int str_cmp(kvf_k8s_str a, kvf_k8s_str b)
{
	size_t m = a.len < b.len ? a.len : b.len;
	int c = m ? memcmp(a.p, b.p, m) : 0;
	return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* Encrypted values carry neither kind nor namespace: they group as one. */
static kvf_k8s_str kind_of(const kvf_k8s_object *o)
{
	static const uint8_t enc[] = "(encrypted)";
	if (o->encoding == KVF_K8S_ENCRYPTED)
		return (kvf_k8s_str){ enc, sizeof enc - 1, false };
	return o->kind;
}

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

kvf_status kvf_diff_objects_find(kvf_diff *d, kvf_err *err)
{
	kvf_diff_objects *ob = &d->objects;
	if (!d->n_keys)
		return KVF_OK;
	if (!(ob->obj = calloc(d->n_keys, sizeof(*ob->obj))))
		return nomem(err);
	for (size_t k = 0; k < d->n_keys; k++) {
		const kvf_divergent_key *dk = &d->keys[k];
		kvf_k8s_object *o = &ob->obj[k];
		for (size_t i = 0; i < d->n && o->encoding == KVF_K8S_NONE; i++) {
			if (!dk->v[i].present)
				continue;
			const kvf_key_entry *e = kvf_keyindex_find(&d->nodes[i].ki, dk->key.p, dk->key.len);
			kvf_kv kv;
			if (e && kvf_kv_parse(e->last_kv, &kv) && !kvf_k8s_decode(kv.value, o))
				memset(o, 0, sizeof(*o));
		}
		if (o->encoding == KVF_K8S_NONE || o->encoding == KVF_K8S_CBOR)
			continue;
		ob->n_objects++;
		kvf_k8s_str kind = kind_of(o), ns = o->encoding == KVF_K8S_ENCRYPTED ? (kvf_k8s_str){ 0 } : o->namespace_;
		size_t g = 0;
		while (g < ob->n_groups && (str_cmp(ob->groups[g].kind, kind) || str_cmp(ob->groups[g].namespace_, ns)))
			g++;
		if (g == ob->n_groups) {
			if (!kvf_grow_array((void **)&ob->groups, &ob->cap_groups, ob->n_groups, sizeof(*ob->groups)))
				return nomem(err);
			memset(&ob->groups[g], 0, sizeof(ob->groups[g]));
			ob->groups[g].kind = kind;
			ob->groups[g].namespace_ = ns;
			ob->n_groups++;
		}
		kvf_k8s_group *gr = &ob->groups[g];
		if (!kvf_grow_array((void **)&gr->keys, &gr->cap, gr->n, sizeof(*gr->keys)))
			return nomem(err);
		gr->keys[gr->n++] = k;
	}
	/* by kind, then namespace (insertion sort: groups are few) */
	for (size_t a = 1; a < ob->n_groups; a++)
		for (size_t b = a; b > 0; b--) {
			kvf_k8s_group *x = &ob->groups[b - 1], *y = &ob->groups[b];
			int c = str_cmp(x->kind, y->kind);
			if (c < 0 || (c == 0 && str_cmp(x->namespace_, y->namespace_) <= 0))
				break;
			kvf_k8s_group t = *x;
			*x = *y;
			*y = t;
		}
	return KVF_OK;
}

void kvf_diff_objects_free(kvf_diff_objects *o)
{
	for (size_t g = 0; g < o->n_groups; g++)
		free(o->groups[g].keys);
	free(o->groups);
	free(o->obj);
	memset(o, 0, sizeof(*o));
}
