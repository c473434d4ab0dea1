/* Test-only: the verdicts of the membership cross-check and the known-bug
 * detectors as JSON, so their tests do not depend on how a tool renders
 * them. One path: the member alone (kvf_detect_path, as dump-db would);
 * several: a diff-db run (kvf_diff_run), every verdict it returns.
 *
 * usage: kvf-detect PATH...    exit 0, or 2 on an error */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/detectors.h"
#include "analysis/diff.h"

static json_t *render(const kvf_verdicts *vs, const kvf_diff *d)
{
	json_t *out = json_array();
	for (size_t i = 0; i < vs->n; i++) {
		const kvf_verdict *v = &vs->v[i];
		json_t *ev = json_array();
		for (size_t k = 0; k < v->n_evidence; k++) {
			const kvf_evidence *e = &v->evidence[k];
			json_t *je = json_pack("{s:s}", "text", e->text);
			if (e->file[0])
				json_object_set_new(je, "file", json_string(e->file));
			if (e->offset != KVF_NO_OFFSET)
				json_object_set_new(je, "offset", json_integer((json_int_t)e->offset));
			if (e->wal_index)
				json_object_set_new(je, "wal_index", json_integer((json_int_t)e->wal_index));
			if (e->member >= 0)
				json_object_set_new(je, "member", json_integer(e->member));
			json_array_append_new(ev, je);
		}
		json_t *jv = json_pack("{s:s,s:b,s:i,s:s,s:s,s:s,s:o}", "kind", kvf_verdict_kind_name(v->kind),
		                       "divergence", v->divergence, "member", v->member, "headline", v->headline,
		                       "versions", v->versions ? v->versions : "", "recovery", v->recovery, "evidence", ev);
		if (v->first_divergent_index)
			json_object_set_new(jv, "first_divergent_index", json_integer((json_int_t)v->first_divergent_index));
		if (d && v->member >= 0 && (size_t)v->member < d->n)
			json_object_set_new(jv, "member_name", json_string(d->nodes[v->member].label));
		json_array_append_new(out, jv);
	}
	return out;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kvf-detect PATH...\n");
		return 2;
	}
	kvf_err err;
	kvf_err_clear(&err);
	json_t *root = json_object();
	if (argc == 2) {
		kvf_verdicts vs = { 0 };
		if (kvf_detect_path(argv[1], &vs, &err)) {
			fprintf(stderr, "kvf-detect: %s\n", err.msg);
			return 2;
		}
		json_object_set_new(root, "verdicts", render(&vs, NULL));
		json_t *ro = json_array();
		for (size_t i = 0; i < vs.n_ruled_out; i++)
			json_array_append_new(ro, json_string(vs.ruled_out[i]));
		json_object_set_new(root, "ruled_out", ro);
		kvf_verdicts_free(&vs);
	} else {
		kvf_diff d = { 0 };
		for (int i = 1; i < argc; i++)
			if (kvf_diff_add_node(&d, NULL, argv[i], NULL, &err)) {
				fprintf(stderr, "kvf-detect: %s\n", err.msg);
				return 2;
			}
		if (kvf_diff_run(&d, NULL, NULL, &err)) {
			fprintf(stderr, "kvf-detect: %s\n", err.msg);
			return 2;
		}
		json_object_set_new(root, "verdicts", render(&d.verdicts, &d));
		json_t *ro = json_array();
		for (size_t i = 0; i < d.verdicts.n_ruled_out; i++)
			json_array_append_new(ro, json_string(d.verdicts.ruled_out[i]));
		json_object_set_new(root, "ruled_out", ro);
		json_t *names = json_array();
		for (size_t i = 0; i < d.n; i++)
			json_array_append_new(names, json_string(d.nodes[i].label));
		json_object_set_new(root, "members", names);
		kvf_diff_free(&d);
	}
	json_dumpf(root, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(root);
	return 0;
}
