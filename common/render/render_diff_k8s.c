#include "render/render_diff_k8s.h"

#include <inttypes.h>
#include <string.h>

#include "render/render_k8s.h"

/* Objects listed per group in text unless --keys. */
#define SHOWN_PER_GROUP 10
/* Presence patterns told apart per group. */
#define MAX_PATTERNS 16

static void member_list(kvf_buf *b, const kvf_diff *d, const kvf_divergent_key *k, bool present)
{
	bool first = true;
	for (size_t i = 0; i < d->n; i++)
		if (k->v[i].present == present) {
			kvf_buf_printf(b, "%s%s", first ? "" : ", ", d->nodes[i].label);
			first = false;
		}
}

/* Members holding the object with different contents: digest groups. */
static bool values_differ(const kvf_diff *d, const kvf_divergent_key *k)
{
	const kvf_node_value *first = NULL;
	for (size_t i = 0; i < d->n; i++) {
		const kvf_node_value *v = &k->v[i];
		if (!v->present)
			continue;
		if (first && (first->digest != v->digest || first->version != v->version))
			return true;
		first = v;
	}
	return false;
}

static void value_groups(kvf_buf *b, const kvf_diff *d, const kvf_divergent_key *k)
{
	bool done[KVF_DIFF_MAX_NODES] = { false };
	bool first_group = true;
	for (size_t i = 0; i < d->n; i++) {
		if (!k->v[i].present || done[i])
			continue;
		kvf_buf_puts(b, first_group ? "" : " | ");
		first_group = false;
		bool first = true;
		for (size_t j = i; j < d->n; j++)
			if (k->v[j].present && !done[j] && k->v[j].digest == k->v[i].digest &&
			    k->v[j].version == k->v[i].version) {
				kvf_buf_printf(b, "%s%s", first ? "" : ", ", d->nodes[j].label);
				done[j] = true;
				first = false;
			}
	}
}

static void group_name(kvf_buf *b, const kvf_k8s_group *g)
{
	kvf_text_k8s_str(b, g->kind);
	if (g->namespace_.len) {
		kvf_buf_puts(b, " in namespace ");
		kvf_text_k8s_str(b, g->namespace_);
	} else {
		kvf_buf_puts(b, " (cluster-scoped)");
	}
}

static uint64_t presence(const kvf_diff *d, const kvf_divergent_key *k)
{
	uint64_t m = 0;
	for (size_t i = 0; i < d->n && i < 64; i++)
		m |= (uint64_t)k->v[i].present << i;
	return m;
}

/* What a person calls it: "Pod default/web-1", "deployments default/dep-3"
 * (kind from the key), "Deployment /other/prefix/dep-3" (no name known:
 * the key), "encrypted (aescbc key1) /key" (no layout either). */
static void ref_text(kvf_buf *b, const kvf_diff *d, size_t key, bool with_key)
{
	const kvf_divergent_key *dk = &d->keys[key];
	const kvf_k8s_object *obj = &d->objects.obj[key];
	const kvf_k8s_ref *r = &d->objects.ref[key];
	if (r->name_from == KVF_K8S_FROM_NONE && obj->encoding == KVF_K8S_ENCRYPTED)
		kvf_text_k8s_ref(b, obj);
	else
		kvf_text_k8s_str(b, r->kind);
	if (r->name_from != KVF_K8S_FROM_NONE) {
		kvf_buf_putc(b, ' ');
		if (r->namespace_.len) {
			kvf_text_k8s_str(b, r->namespace_);
			kvf_buf_putc(b, '/');
		}
		kvf_text_k8s_str(b, r->name);
	} else if (with_key) {
		kvf_buf_putc(b, ' ');
		kvf_text_bytes(b, dk->key.p, dk->key.len);
	}
}

static void object_line(kvf_buf *b, const kvf_diff *d, size_t key)
{
	const kvf_divergent_key *dk = &d->keys[key];
	const kvf_k8s_object *obj = &d->objects.obj[key];
	const kvf_k8s_ref *r = &d->objects.ref[key];
	kvf_buf_puts(b, "    ");
	ref_text(b, d, key, true);
	kvf_buf_puts(b, " present on ");
	member_list(b, d, dk, true);
	bool absent = false;
	for (size_t i = 0; i < d->n; i++)
		absent |= !dk->v[i].present;
	if (absent) {
		kvf_buf_puts(b, "; absent on ");
		member_list(b, d, dk, false);
	}
	if (values_differ(d, dk)) {
		kvf_buf_puts(b, "; contents differ: ");
		value_groups(b, d, dk);
	}
	/* named by its key: say what the value is, since it did not say */
	if (r->name_from == KVF_K8S_FROM_KEY) {
		if (obj->encoding == KVF_K8S_ENCRYPTED) {
			kvf_buf_puts(b, "; value ");
			kvf_text_k8s_ref(b, obj);
		} else if (obj->encoding == KVF_K8S_CBOR) {
			kvf_buf_puts(b, "; value CBOR, not decoded");
		} else if (obj->encoding == KVF_K8S_NONE) {
			kvf_buf_puts(b, "; value not a Kubernetes encoding");
		}
	}
	kvf_buf_putc(b, '\n');
}

void kvf_text_diff_filter(kvf_buf *b, const kvf_diff *d)
{
	const kvf_diff_objects *ob = &d->objects;
	if (!ob->filter_on)
		return;
	kvf_buf_puts(b, "  filter");
	if (ob->kinds) {
		kvf_buf_puts(b, " --kind ");
		kvf_text_bytes(b, (const uint8_t *)ob->kinds, strlen(ob->kinds));
	}
	if (ob->ns) {
		kvf_buf_puts(b, " --namespace ");
		if (*ob->ns)
			kvf_text_bytes(b, (const uint8_t *)ob->ns, strlen(ob->ns));
		else
			kvf_buf_puts(b, "''");
	}
	kvf_buf_printf(b, ": %zu of %zu divergent key%s shown, %zu hidden (the verdict and the exit status cover every key)\n",
	               ob->shown_keys, d->n_keys, d->n_keys == 1 ? "" : "s", d->n_keys - ob->shown_keys);
}

void kvf_text_diff_objects(kvf_buf *b, const kvf_diff *d, bool all, const kvf_render_opts *o)
{
	const kvf_diff_objects *ob = &d->objects;
	if (!ob->n_objects)
		return;
	kvf_buf_printf(b, "\n%s== Kubernetes objects: %zu %s, by kind and namespace%s\n", kvf_color(o, "bold"),
	               ob->n_objects, d->lag_only ? "not yet applied on every member" : "divergent",
	               kvf_color(o, "reset"));
	if (ob->filter_on)
		kvf_buf_printf(b, "  filter: %zu of %zu shown\n", ob->shown_objects, ob->n_objects);
	for (size_t g = 0; g < ob->n_groups; g++) {
		const kvf_k8s_group *gr = &ob->groups[g];
		size_t shown_in_group = 0;
		for (size_t k = 0; k < gr->n; k++)
			shown_in_group += kvf_diff_key_shown(ob, gr->keys[k]);
		if (!shown_in_group)
			continue;
		kvf_buf_puts(b, "  ");
		group_name(b, gr);
		kvf_buf_printf(b, ": %zu object%s\n", shown_in_group, shown_in_group == 1 ? "" : "s");
		/* the first few of each pattern of presence (which members have
		 * it): a group of 400 Pods is often two or three such patterns.
		 * Patterns past MAX_PATTERNS are listed with the last one's. */
		uint64_t pats[MAX_PATTERNS];
		size_t np = 0;
		for (size_t k = 0; k < gr->n; k++) {
			if (!kvf_diff_key_shown(ob, gr->keys[k]))
				continue;
			uint64_t pat = presence(d, &d->keys[gr->keys[k]]);
			size_t j = 0;
			while (j < np && pats[j] != pat)
				j++;
			if (j == np && np < MAX_PATTERNS)
				pats[np++] = pat;
		}
		for (size_t p = 0; p < np; p++) {
			size_t shown = 0, total = 0;
			for (size_t j = 0; j < gr->n; j++) {
				if (!kvf_diff_key_shown(ob, gr->keys[j]))
					continue;
				uint64_t pat = presence(d, &d->keys[gr->keys[j]]);
				bool mine = pat == pats[p];
				if (!mine && p + 1 == np && np == MAX_PATTERNS) {
					mine = true;   /* not among the first patterns: listed here */
					for (size_t q = 0; q < np && mine; q++)
						mine = pats[q] != pat;
				}
				if (!mine)
					continue;
				total++;
				if (all || shown < SHOWN_PER_GROUP) {
					object_line(b, d, gr->keys[j]);
					shown++;
				}
			}
			if (shown < total)
				kvf_buf_printf(b, "    ... and %zu more present on the same members (--keys lists each)\n",
				               total - shown);
		}
	}
	/* where names and kinds came from when the values did not give them */
	size_t by_key = 0, kind_by_key = 0;
	for (size_t k = 0; k < d->n_keys; k++)
		if (kvf_diff_key_shown(ob, k) && ob->ref[k].listed) {
			by_key += ob->ref[k].name_from == KVF_K8S_FROM_KEY;
			kind_by_key += ob->ref[k].kind_from == KVF_K8S_FROM_KEY;
		}
	if (by_key)
		kvf_buf_printf(b, "  names from the keys (/registry/[GROUP/]RESOURCE/[NAMESPACE/]NAME) for %zu object%s"
		               " whose values give none\n", by_key, by_key == 1 ? "" : "s");
	if (kind_by_key)
		kvf_buf_printf(b, "  kinds as the keys' resource names for %zu object%s whose values give no kind\n",
		               kind_by_key, kind_by_key == 1 ? "" : "s");
}

static const char *source_name(kvf_k8s_source s)
{
	return s == KVF_K8S_FROM_VALUE ? "value" : s == KVF_K8S_FROM_KEY ? "key" : NULL;
}

static json_t *source_json(kvf_k8s_source s)
{
	const char *n = source_name(s);
	return n ? json_string(n) : json_null();
}

static json_t *labels_json(const kvf_diff *d, const kvf_divergent_key *k, bool present)
{
	json_t *a = json_array();
	for (size_t i = 0; i < d->n; i++)
		if (k->v[i].present == present)
			json_array_append_new(a, json_string(d->nodes[i].label));
	return a;
}

json_t *kvf_json_diff_objects(const kvf_diff *d)
{
	const kvf_diff_objects *ob = &d->objects;
	json_t *o = json_object(), *groups = json_array();
	for (size_t g = 0; g < ob->n_groups; g++) {
		const kvf_k8s_group *gr = &ob->groups[g];
		json_t *objs = json_array();
		size_t shown = 0;
		for (size_t k = 0; k < gr->n; k++) {
			if (!kvf_diff_key_shown(ob, gr->keys[k]))
				continue;
			shown++;
			const kvf_divergent_key *dk = &d->keys[gr->keys[k]];
			const kvf_k8s_object *obj = &ob->obj[gr->keys[k]];
			const kvf_k8s_ref *r = &ob->ref[gr->keys[k]];
			kvf_buf ref = KVF_BUF_INIT;
			ref_text(&ref, d, gr->keys[k], false);
			json_t *e = json_object();
			kvf_json_set(e, "key", kvf_json_bytes(dk->key.p, dk->key.len));
			kvf_json_set(e, "object", json_string(ref.p ? ref.p : ""));
			kvf_json_set(e, "kind", r->kind_from != KVF_K8S_FROM_NONE ? kvf_json_k8s_str(r->kind) : json_null());
			kvf_json_set(e, "kind_from", source_json(r->kind_from));
			kvf_json_set(e, "namespace", r->namespace_.len ? kvf_json_k8s_str(r->namespace_) : json_null());
			kvf_json_set(e, "name", r->name_from != KVF_K8S_FROM_NONE ? kvf_json_k8s_str(r->name) : json_null());
			kvf_json_set(e, "name_from", source_json(r->name_from));
			kvf_json_set(e, "resource", r->key_ok ? kvf_json_k8s_str(r->key.resource) : json_null());
			kvf_json_set(e, "api_group", r->key_ok && r->key.group.p ? kvf_json_k8s_str(r->key.group) : json_null());
			kvf_json_set(e, "present_on", labels_json(d, dk, true));
			kvf_json_set(e, "absent_on", labels_json(d, dk, false));
			kvf_json_set(e, "values_differ", json_boolean(values_differ(d, dk)));
			kvf_json_set(e, "k8s", kvf_json_k8s(obj));
			kvf_buf_free(&ref);
			json_array_append_new(objs, e);
		}
		if (!shown) {
			json_decref(objs);
			continue;
		}
		json_t *go = json_object();
		kvf_json_set(go, "kind", kvf_json_k8s_str(gr->kind));
		kvf_json_set(go, "namespace", gr->namespace_.len ? kvf_json_k8s_str(gr->namespace_) : json_null());
		kvf_json_set(go, "count", kvf_json_u64(shown));
		kvf_json_set(go, "objects", objs);
		json_array_append_new(groups, go);
	}
	kvf_json_set(o, "divergent_objects", kvf_json_u64(ob->n_objects));
	if (ob->filter_on)
		kvf_json_set(o, "shown_objects", kvf_json_u64(ob->shown_objects));
	kvf_json_set(o, "groups", groups);
	return o;
}
