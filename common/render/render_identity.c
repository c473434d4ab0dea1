#include "render/render_identity.h"

#include <inttypes.h>
#include <stdio.h>

void kvf_text_member_id(char out[17], uint64_t id)
{
	snprintf(out, 17, "%016" PRIx64, id);
}

json_t *kvf_json_member_id(uint64_t id)
{
	char s[17];
	kvf_text_member_id(s, id);
	return json_string(s);
}

/* The first input of cluster c that lists members: the cluster's roster. */
static const kvf_identity *roster(const kvf_identity_set *s, int c)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].cluster == c && s->v[i].n_members)
			return &s->v[i];
	return NULL;
}

static const kvf_identity *with_metadata(const kvf_identity_set *s, int c)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].cluster == c && s->v[i].has_metadata)
			return &s->v[i];
	return NULL;
}

static json_t *json_member(const kvf_member_entry *m)
{
	json_t *o = json_object();
	kvf_json_set(o, "id", kvf_json_member_id(m->id));
	kvf_json_set(o, "name", m->name ? json_string(m->name) : json_null());
	kvf_json_set(o, "peer_urls", m->peer_urls ? json_string(m->peer_urls) : json_null());
	kvf_json_set(o, "learner", json_boolean(m->learner));
	kvf_json_set(o, "removed", json_boolean(m->removed));
	return o;
}

json_t *kvf_json_identity(const kvf_identity_set *s, char *const *labels)
{
	json_t *o = json_object(), *clusters = json_array(), *inputs = json_array();
	for (size_t c = 0; c < s->n_clusters; c++) {
		json_t *co = json_object(), *in = json_array(), *members = json_array();
		const kvf_identity *md = with_metadata(s, (int)c), *r = roster(s, (int)c);
		kvf_json_set(co, "cluster_id", md ? kvf_json_member_id(md->cluster_id) : json_null());
		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].cluster == (int)c)
				json_array_append_new(in, json_string(labels[i]));
		for (size_t k = 0; r && k < r->n_members; k++)
			json_array_append_new(members, json_member(&r->members[k]));
		kvf_json_set(co, "inputs", in);
		kvf_json_set(co, "members", members);
		json_array_append_new(clusters, co);
	}
	for (size_t i = 0; i < s->n; i++) {
		const kvf_identity *id = &s->v[i];
		json_array_append_new(inputs, json_pack("{s:s,s:o,s:o,s:i}", "name", labels[i],
			"member_id", id->has_metadata ? kvf_json_member_id(id->member_id) : json_null(),
			"cluster_id", id->has_metadata ? kvf_json_member_id(id->cluster_id) : json_null(),
			"cluster", id->cluster));
	}
	json_t *dups = json_array(), *removed = json_array();
	for (size_t k = 0; k < s->n_dups; k++)
		json_array_append_new(dups, json_pack("{s:[s,s],s:s}", "inputs", labels[s->dups[k].a], labels[s->dups[k].b],
			"kind", s->dups[k].kind == KVF_DUP_SAME_FILES ? "same_files" : "same_member"));
	for (size_t k = 0; k < s->n_removed; k++)
		json_array_append_new(removed, json_pack("{s:s,s:o,s:s}", "input", labels[s->removed[k].input],
			"member_id", kvf_json_member_id(s->v[s->removed[k].input].member_id),
			"listed_removed_by", labels[s->removed[k].by]));
	kvf_json_set(o, "clusters", clusters);
	kvf_json_set(o, "inputs", inputs);
	kvf_json_set(o, "duplicates", dups);
	kvf_json_set(o, "removed_members", removed);
	return o;
}

void kvf_text_identity_clusters(kvf_buf *b, const kvf_identity_set *s, char *const *labels,
                                char *const *paths)
{
	for (size_t c = 0; c < s->n_clusters; c++) {
		const kvf_identity *md = with_metadata(s, (int)c), *r = roster(s, (int)c);
		char id[17];
		if (md) {
			kvf_text_member_id(id, md->cluster_id);
			kvf_buf_printf(b, "  cluster %s:", id);
		} else {
			kvf_buf_puts(b, "  cluster (no WAL: known by its members):");
		}
		bool first = true;
		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].cluster == (int)c) {
				kvf_buf_printf(b, "%s %s", first ? "" : ",", labels[i]);
				if (paths && paths[i])
					kvf_buf_printf(b, " (%s)", paths[i]);
				first = false;
			}
		kvf_buf_putc(b, '\n');
		for (size_t k = 0; r && k < r->n_members; k++) {
			const kvf_member_entry *m = &r->members[k];
			kvf_text_member_id(id, m->id);
			kvf_buf_printf(b, "      member %s", id);
			if (m->removed)
				kvf_buf_puts(b, " (removed)");
			else
				kvf_buf_printf(b, " %s %s%s", m->name && *m->name ? m->name : "(unstarted)",
				               m->peer_urls ? m->peer_urls : "", m->learner ? " (learner)" : "");
			/* which inputs are this member (their WAL's own id) */
			bool first_in = true;
			for (size_t i = 0; i < s->n; i++)
				if (s->v[i].has_metadata && s->v[i].member_id == m->id && s->v[i].cluster == (int)c) {
					kvf_buf_printf(b, "%s%s", first_in ? ": input " : ", ", labels[i]);
					first_in = false;
				}
			kvf_buf_putc(b, '\n');
		}
	}
}

void kvf_text_identity_notes(kvf_buf *b, const kvf_identity_set *s, char *const *labels)
{
	char id[17];
	for (size_t k = 0; k < s->n_dups; k++) {
		const kvf_identity_dup *d = &s->dups[k];
		if (d->kind == KVF_DUP_SAME_FILES) {
			kvf_buf_printf(b, "note: %s and %s are the same files\n", labels[d->a], labels[d->b]);
			continue;
		}
		kvf_text_member_id(id, s->v[d->a].member_id);
		kvf_buf_printf(b, "note: %s and %s are two copies of the same member (member id %s): compared as "
		               "copies of one member taken at different times, not as two replicas\n",
		               labels[d->a], labels[d->b], id);
	}
	for (size_t k = 0; k < s->n_removed; k++) {
		const kvf_identity_removed *r = &s->removed[k];
		kvf_text_member_id(id, s->v[r->input].member_id);
		kvf_buf_printf(b, "note: %s is member %s, which %s lists as removed from the cluster\n",
		               labels[r->input], id, labels[r->by]);
	}
}
