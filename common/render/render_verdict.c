#include "render/render_verdict.h"

#include <inttypes.h>
#include <string.h>

static const char *label_of(int m, const char *const *labels, size_t n)
{
	return m >= 0 && (size_t)m < n ? labels[m] : NULL;
}

static json_t *json_label(int m, const char *const *labels, size_t n)
{
	const char *l = label_of(m, labels, n);
	return l ? json_string(l) : json_null();
}

json_t *kvf_json_verdicts(const kvf_verdicts *vs, const char *const *labels, size_t n_labels)
{
	json_t *a = json_array();
	for (size_t i = 0; i < vs->n; i++) {
		const kvf_verdict *v = &vs->v[i];
		json_t *o = json_object();
		kvf_json_set(o, "kind", json_string(kvf_verdict_kind_name(v->kind)));
		kvf_json_set(o, "divergence", json_boolean(v->divergence));
		kvf_json_set(o, "member", json_label(v->member, labels, n_labels));
		kvf_json_set(o, "first_divergent_index",
		             v->first_divergent_index ? kvf_json_u64(v->first_divergent_index) : json_null());
		kvf_json_set(o, "headline", json_string(v->headline));
		kvf_json_set(o, "versions", v->versions ? json_string(v->versions) : json_null());
		kvf_json_set(o, "recovery", json_string(v->recovery));
		json_t *ev = json_array();
		for (size_t e = 0; e < v->n_evidence; e++) {
			const kvf_evidence *x = &v->evidence[e];
			json_t *eo = json_object();
			kvf_json_set(eo, "text", json_string(x->text));
			kvf_json_set(eo, "file", x->file[0] ? json_string(x->file) : json_null());
			kvf_json_set(eo, "offset", x->offset != KVF_NO_OFFSET ? kvf_json_u64(x->offset) : json_null());
			kvf_json_set(eo, "wal_index", x->wal_index ? kvf_json_u64(x->wal_index) : json_null());
			kvf_json_set(eo, "member", json_label(x->member, labels, n_labels));
			json_array_append_new(ev, eo);
		}
		kvf_json_set(o, "evidence", ev);
		json_array_append_new(a, o);
	}
	return a;
}

json_t *kvf_json_ruled_out(const kvf_verdicts *vs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < vs->n_ruled_out; i++)
		json_array_append_new(a, json_string(vs->ruled_out[i]));
	return a;
}

void kvf_text_verdicts(kvf_buf *b, const kvf_verdicts *vs, const char *const *labels, size_t n_labels,
                       const kvf_render_opts *o)
{
	for (size_t i = 0; i < vs->n; i++) {
		const kvf_verdict *v = &vs->v[i];
		const char *m = label_of(v->member, labels, n_labels);
		kvf_buf_printf(b, "  %s[%s]%s", kvf_color(o, v->divergence ? "damage" : v->kind == KVF_VERDICT_CONSISTENT ? "ok" : "bold"),
		               kvf_verdict_kind_name(v->kind), kvf_color(o, "reset"));
		if (m)
			kvf_buf_printf(b, " %s", m);
		if (v->first_divergent_index)
			kvf_buf_printf(b, ", first divergent WAL index %" PRIu64, v->first_divergent_index);
		kvf_buf_printf(b, ": %s\n", v->headline);
		for (size_t e = 0; e < v->n_evidence; e++) {
			const kvf_evidence *x = &v->evidence[e];
			kvf_buf_printf(b, "    - %s", x->text);
			bool at = x->file[0] || x->offset != KVF_NO_OFFSET || x->wal_index;
			if (at) {
				kvf_buf_printf(b, " %s(", kvf_color(o, "dim"));
				const char *sep = "";
				if (x->wal_index) {
					kvf_buf_printf(b, "WAL index %" PRIu64, x->wal_index);
					sep = "; ";
				}
				if (x->file[0]) {
					kvf_buf_printf(b, "%s%s", sep, x->file);
					if (x->offset != KVF_NO_OFFSET)
						kvf_buf_printf(b, " @ %" PRIu64, x->offset);
				} else if (x->offset != KVF_NO_OFFSET) {
					kvf_buf_printf(b, "%soffset %" PRIu64, sep, x->offset);
				}
				kvf_buf_printf(b, ")%s", kvf_color(o, "reset"));
			}
			kvf_buf_putc(b, '\n');
		}
		if (v->versions)
			kvf_buf_printf(b, "    versions: %s\n", v->versions);
		if (v->recovery[0])
			kvf_buf_printf(b, "    recovery: %s\n", v->recovery);
	}
	for (size_t i = 0; i < vs->n_ruled_out; i++)
		kvf_buf_printf(b, "  ruled out: %s\n", vs->ruled_out[i]);
}
