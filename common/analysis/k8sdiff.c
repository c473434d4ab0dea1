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

static kvf_k8s_str static_str(const char *c)
{
	return (kvf_k8s_str){ (const uint8_t *)c, (uint32_t)strlen(c), false };
}

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

static bool has_meta(const kvf_k8s_object *o)
{
	return o->encoding == KVF_K8S_JSON || o->encoding == KVF_K8S_PROTOBUF;
}

/* The rule of kvf_k8s_ref (k8sdiff.h). */
static void name_object(const kvf_divergent_key *dk, const kvf_k8s_object *o, kvf_k8s_ref *r)
{
	memset(r, 0, sizeof(*r));
	r->key_ok = kvf_k8s_key_parse(dk->key.p, dk->key.len, &r->key);
	bool value_kind = has_meta(o) && o->kind.len;
	if (has_meta(o) && o->metadata_ok && o->name.len) {
		r->listed = true;
		r->name = o->name;
		r->namespace_ = o->namespace_;
		r->name_from = KVF_K8S_FROM_VALUE;
	} else if (r->key_ok && (o->encoding != KVF_K8S_NONE || r->key.well_known)) {
		r->listed = true;
		r->name = r->key.name;
		r->namespace_ = r->key.namespace_;
		r->name_from = KVF_K8S_FROM_KEY;
	} else if (has_meta(o)) {
		r->listed = true;   /* a kind, and no name anywhere */
	} else if (o->encoding == KVF_K8S_ENCRYPTED) {
		/* neither kind nor namespace: they group as one */
		r->listed = true;
		r->kind = static_str("(encrypted)");
		return;
	} else {
		return;   /* not an object: no value decoded, CBOR under a key of no layout */
	}
	if (value_kind) {
		r->kind = o->kind;
		r->kind_from = KVF_K8S_FROM_VALUE;
	} else if (r->key_ok) {
		r->kind = r->key.resource;
		r->kind_from = KVF_K8S_FROM_KEY;
	} else {
		r->kind = static_str("(no kind)");
	}
}

kvf_status kvf_diff_objects_find(kvf_diff *d, kvf_err *err)
{
	kvf_diff_objects *ob = &d->objects;
	if (!d->n_keys)
		return KVF_OK;
	if (!(ob->obj = calloc(d->n_keys, sizeof(*ob->obj))) || !(ob->ref = calloc(d->n_keys, sizeof(*ob->ref))))
		return nomem(err);
	for (size_t k = 0; k < d->n_keys; k++) {
		const kvf_divergent_key *dk = &d->keys[k];
		kvf_k8s_object *o = &ob->obj[k];
		bool any = false;
		for (size_t i = 0; i < d->n && o->encoding == KVF_K8S_NONE; i++) {
			if (!dk->v[i].present)
				continue;
			const kvf_key_entry *e = kvf_keyindex_find(&d->nodes[i].ki, dk->key.p, dk->key.len);
			kvf_kv kv;
			if (e && kvf_kv_parse(e->last_kv, &kv)) {
				any = true;
				if (!kvf_k8s_decode(kv.value, o))
					memset(o, 0, sizeof(*o));
			}
		}
		kvf_k8s_ref *r = &ob->ref[k];
		if (any)
			name_object(dk, o, r);
		r->shown = r->listed;
		if (!r->listed)
			continue;
		ob->n_objects++;
		ob->n_named_by_key += r->name_from == KVF_K8S_FROM_KEY;
		ob->n_kind_from_key += r->kind_from == KVF_K8S_FROM_KEY;
		size_t g = 0;
		while (g < ob->n_groups && (str_cmp(ob->groups[g].kind, r->kind) || str_cmp(ob->groups[g].namespace_, r->namespace_)))
			g++;
		if (g == ob->n_groups) {
			if (!kvf_grow_array((void **)&ob->groups, &ob->cap_groups, ob->n_groups, sizeof(*ob->groups)))
				return nomem(err);
			memset(&ob->groups[g], 0, sizeof(ob->groups[g]));
			ob->groups[g].kind = r->kind;
			ob->groups[g].namespace_ = r->namespace_;
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

static bool ref_matches(const kvf_k8s_ref *r, const char *kinds, const char *ns)
{
	if (!r->listed)
		return false;
	if (kinds && !((r->kind_from == KVF_K8S_FROM_VALUE && kvf_k8s_kind_in(r->kind, kinds)) ||
	               (r->key_ok && kvf_k8s_resource_in(r->key.resource, kinds))))
		return false;
	/* a namespace is known only with a name (encrypted values without a
	 * key of the layout have neither) */
	if (ns && !(r->name_from != KVF_K8S_FROM_NONE &&
	            (r->namespace_.len ? kvf_k8s_str_eq(r->namespace_, ns, false) : !*ns)))
		return false;
	return true;
}

void kvf_diff_objects_filter(kvf_diff *d, const char *kinds, const char *ns)
{
	kvf_diff_objects *ob = &d->objects;
	ob->filter_on = kinds || ns;
	ob->kinds = kinds;
	ob->ns = ns;
	ob->shown_keys = ob->shown_objects = 0;
	for (size_t k = 0; ob->ref && k < d->n_keys; k++) {
		kvf_k8s_ref *r = &ob->ref[k];
		r->shown = !ob->filter_on || ref_matches(r, kinds, ns);
		ob->shown_keys += r->shown;
		ob->shown_objects += r->shown && r->listed;
	}
	if (!ob->ref)   /* no divergent keys */
		ob->shown_keys = ob->filter_on ? 0 : d->n_keys;
}

void kvf_diff_objects_free(kvf_diff_objects *o)
{
	for (size_t g = 0; g < o->n_groups; g++)
		free(o->groups[g].keys);
	free(o->groups);
	free(o->obj);
	free(o->ref);
	memset(o, 0, sizeof(*o));
}
