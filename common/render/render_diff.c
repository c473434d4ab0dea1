#include "render/render_diff.h"
#include "render/render_identity.h"
#include "render/render_diff_k8s.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_verdict.h"

const char *kvf_fate_name(kvf_touch_fate f)
{
	switch (f) {
	case KVF_APPLIED: return "applied";
	case KVF_REJECTED_AUTH: return "rejected_auth_revision";
	case KVF_NOT_YET: return "not_yet_applied";
	case KVF_FATE_UNKNOWN: return "unknown";
	}
	return "unknown";
}

static const char *key_cause_name(kvf_key_cause c)
{
	switch (c) {
	case KVF_KEY_AUTH_REJECTED: return "auth_revision_rejected";
	case KVF_KEY_NOT_YET_APPLIED: return "not_yet_applied";
	case KVF_KEY_UNEXPLAINED: return "unexplained";
	case KVF_KEY_NO_WAL: return "no_wal_evidence";
	}
	return "unknown";
}

const char *kvf_history_name(kvf_history_state h)
{
	switch (h) {
	case KVF_HIST_SAME: return "same";
	case KVF_HIST_BEHIND: return "behind";
	case KVF_HIST_AHEAD: return "ahead";
	case KVF_HIST_DIVERGED: return "diverged";
	}
	return "unknown";
}

static json_t *digest_json(const kvf_node_value *v)
{
	char hex[20];
	snprintf(hex, sizeof(hex), "%016" PRIx64, v->digest);
	return v->present ? json_string(hex) : json_null();
}

/* Member labels, indexed as kvf_verdict.member (NULL when out of memory:
 * members are then not named). */
static const char **member_labels(const kvf_diff *d)
{
	const char **l = calloc(d->n ? d->n : 1, sizeof(*l));
	for (size_t i = 0; l && i < d->n; i++)
		l[i] = d->nodes[i].label;
	return l;
}

/* The verdict list (analysis/verdict.h): "verdicts" and "ruled_out". */
static void verdicts_json(json_t *o, const kvf_diff *d)
{
	const char **l = member_labels(d);
	kvf_json_set(o, "verdicts", kvf_json_verdicts(&d->verdicts, l, l ? d->n : 0));
	kvf_json_set(o, "ruled_out", kvf_json_ruled_out(&d->verdicts));
	free(l);
}

/* The members as recovery sources, best first (diff.h ranking). */
static void ranking_json(json_t *o, const kvf_diff *d)
{
	json_t *a = json_array();
	for (size_t k = 0; k < d->n_ranking; k++) {
		const struct kvf_rank *r = &d->ranking[k];
		json_t *x = json_object();
		kvf_json_set(x, "rank", json_integer((json_int_t)k + 1));
		kvf_json_set(x, "member", json_string(d->nodes[r->member].label));
		kvf_json_set(x, "complete", json_boolean(r->complete));
		kvf_json_set(x, "consistent_index", kvf_json_u64(r->consistent_index));
		kvf_json_set(x, "term", kvf_json_u64(r->term));
		kvf_json_set(x, "wal_last_index", kvf_json_u64(r->wal_last_index));
		kvf_json_set(x, "db_damage", kvf_json_u64(r->db_damage));
		kvf_json_set(x, "reasons", json_string(r->reasons));
		json_array_append_new(a, x);
	}
	kvf_json_set(o, "ranking", a);
	kvf_json_set(o, "recovery_plan", json_pack("{s:b,s:b,s:o,s:s}", "possible", d->recovery_possible,
		"membership_repair", d->membership_repair,
		"source", d->recovery_possible && d->n_ranking ? json_string(d->nodes[d->ranking[0].member].label) : json_null(),
		"text", d->recovery_plan));
}

static void ranking_text(kvf_buf *b, const kvf_diff *d, const kvf_render_opts *o)
{
	if (!d->n_ranking)
		return;
	kvf_buf_printf(b, "\n%s== best member to recover from%s (--force-new-cluster)\n", kvf_color(o, "bold"),
	               kvf_color(o, "reset"));
	for (size_t k = 0; k < d->n_ranking; k++) {
		const struct kvf_rank *r = &d->ranking[k];
		kvf_buf_printf(b, "  %zu. %s%s%s: %s\n", k + 1, kvf_color(o, r->complete ? "ok" : "damage"),
		               d->nodes[r->member].label, kvf_color(o, "reset"), r->reasons);
	}
	kvf_buf_printf(b, "  %s\n", d->recovery_plan);
}

/* ---- JSON ---- */

static json_t *json_node(const kvf_diff_node *nd)
{
	const kvf_db_status *s = &nd->st;
	json_t *o = json_object();
	kvf_json_set(o, "name", json_string(nd->label));
	kvf_json_set(o, "path", json_string(nd->path));
	kvf_json_set(o, "db", json_string(nd->db_path));
	kvf_json_set(o, "wal", nd->wal_dir ? json_string(nd->wal_dir) : json_null());
	kvf_json_set(o, "member_id", nd->has_metadata ? kvf_json_member_id(nd->member_id) : json_null());
	kvf_json_set(o, "consistent_index", s->state.has_consistent_index ? kvf_json_u64(s->state.consistent_index) : json_null());
	kvf_json_set(o, "term", s->state.has_term ? kvf_json_u64(s->state.term) : json_null());
	kvf_json_set(o, "auth_revision", s->state.has_auth_revision ? kvf_json_u64(s->state.auth_revision) : json_null());
	kvf_json_set(o, "auth_enabled", json_boolean(s->state.auth_enabled));
	kvf_json_set(o, "revision", kvf_json_i64(s->revision));
	kvf_json_set(o, "compact_revision", kvf_json_i64(s->compact_revision));
	kvf_json_set(o, "live_keys", kvf_json_u64(s->live_keys));
	kvf_json_set(o, "revisions", kvf_json_u64(s->revisions));
	kvf_json_set(o, "tombstones", kvf_json_u64(s->tombstones));
	kvf_json_set(o, "db_size", kvf_json_u64(s->info ? s->info->file_size : 0));
	kvf_json_set(o, "history", json_string(kvf_history_name(nd->hist)));
	kvf_json_set(o, "group", json_integer(nd->group));
	kvf_json_set(o, "rejected_writes", kvf_json_u64(nd->rejected_writes));
	kvf_json_set(o, "unapplied_writes", kvf_json_u64(nd->unapplied_writes));
	kvf_json_set(o, "first_divergent_index", nd->first_divergent_index ? kvf_json_u64(nd->first_divergent_index)
	             : json_null());
	/* its own WAL against its db (verify.h); null when not checked */
	const kvf_verify *v = nd->verify;
	kvf_json_set(o, "own_wal_check", v && v->aligned
		? json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "applied", kvf_json_u64(v->applied),
		            "refused", kvf_json_u64(v->refused), "missing", kvf_json_u64(v->missing),
		            "applied_twice", kvf_json_u64(v->applied_twice), "partial_txns", kvf_json_u64(v->partial_txns),
		            "compacted", kvf_json_u64(v->compacted), "to_index", kvf_json_u64(v->checked_to))
		: json_null());
	kvf_json_set(o, "stale_db", json_boolean(v && v->stale_db));
	kvf_json_set(o, "lagging", json_boolean(nd->lagging));
	kvf_json_set(o, "lag_entries", nd->lagging ? kvf_json_u64(nd->lag_entries) : json_null());
	kvf_json_set(o, "lag_revisions", nd->lagging ? kvf_json_i64(nd->lag_revisions) : json_null());
	return o;
}

static json_t *json_key(const kvf_diff *d, const kvf_divergent_key *k)
{
	json_t *o = json_object();
	json_t *present = json_object(), *mod = json_object(), *create = json_object(),
	       *version = json_object(), *lease = json_object(), *digest = json_object(),
	       *predicted = json_object();
	for (size_t i = 0; i < d->n; i++) {
		const char *l = d->nodes[i].label;
		const kvf_node_value *v = &k->v[i];
		kvf_json_set(present, l, json_boolean(v->present));
		kvf_json_set(mod, l, v->seen ? kvf_json_i64(v->mod_revision) : json_null());
		kvf_json_set(create, l, v->present ? kvf_json_i64(v->create_revision) : json_null());
		kvf_json_set(version, l, v->present ? kvf_json_i64(v->version) : json_null());
		kvf_json_set(lease, l, v->present ? kvf_json_i64(v->lease) : json_null());
		kvf_json_set(digest, l, digest_json(v));
		kvf_json_set(predicted, l, v->predicted < 0 ? json_null() : json_boolean(v->predicted == 1));
	}
	kvf_json_set(o, "key", kvf_json_bytes(k->key.p, k->key.len));
	kvf_json_set(o, "present", present);
	kvf_json_set(o, "mod_revision", mod);
	kvf_json_set(o, "create_revision", create);
	kvf_json_set(o, "version", version);
	kvf_json_set(o, "lease", lease);
	kvf_json_set(o, "value_digest", digest);
	kvf_json_set(o, "predicted_present", predicted);
	json_t *wal = json_array();
	for (size_t t = 0; t < k->n_touches; t++) {
		const kvf_touch *tc = &k->touches[t];
		json_t *fate = json_object();
		for (size_t i = 0; i < d->n; i++)
			kvf_json_set(fate, d->nodes[i].label, json_string(kvf_fate_name(tc->fate[i])));
		json_array_append_new(wal, json_pack("{s:o,s:o,s:o,s:o,s:o,s:s,s:b,s:o}",
			"index", kvf_json_u64(tc->index), "term", kvf_json_u64(tc->term),
			"id", kvf_json_dec_string(tc->id), "auth_revision", kvf_json_u64(tc->auth_revision),
			"username", kvf_json_bytes((const uint8_t *)tc->username, strlen(tc->username)),
			"kind", tc->kind, "deletes", tc->deletes, "fate", fate));
	}
	kvf_json_set(o, "wal", wal);
	kvf_json_set(o, "wal_entries_total", kvf_json_u64(k->total_touches));
	kvf_json_set(o, "cause", json_string(key_cause_name(k->cause)));
	kvf_json_set(o, "reason", json_string(k->reason));
	return o;
}

json_t *kvf_json_diff(const kvf_diff *d)
{
	json_t *o = json_object();
	json_t *nodes = json_array();
	for (size_t i = 0; i < d->n; i++)
		json_array_append_new(nodes, json_node(&d->nodes[i]));
	kvf_json_set(o, "nodes", nodes);
	json_t *buckets = json_object();
	for (size_t i = 0; i < d->n_items; i++) {
		const kvf_bucket_item *it = &d->items[i];
		json_t *arr = json_object_get(buckets, it->bucket);
		if (!arr) {
			arr = json_array();
			kvf_json_set(buckets, it->bucket, arr);
		}
		json_t *vals = json_object();
		for (size_t j = 0; j < d->n; j++)
			kvf_json_set(vals, d->nodes[j].label, it->values[j] ? json_string(it->values[j]) : json_null());
		json_array_append_new(arr, json_pack("{s:s,s:o}", "key", it->key, "values", vals));
	}
	json_t *keysum = json_object();
	kvf_json_set(keysum, "divergent", kvf_json_u64(d->n_keys));
	kvf_json_set(buckets, "key", keysum);
	kvf_json_set(o, "buckets", buckets);
	json_t *keys = json_array();
	for (size_t k = 0; k < d->n_keys; k++)
		if (kvf_diff_key_shown(&d->objects, k))
			json_array_append_new(keys, json_key(d, &d->keys[k]));
	kvf_json_set(o, "divergent_keys", keys);
	/* --kind/--namespace: what divergent_keys and kubernetes leave out */
	if (d->objects.filter_on)
		kvf_json_set(o, "filter", json_pack("{s:o,s:o,s:o,s:o}",
			"kind", d->objects.kinds ? kvf_json_bytes((const uint8_t *)d->objects.kinds, strlen(d->objects.kinds))
			                          : json_null(),
			"namespace", d->objects.ns ? kvf_json_bytes((const uint8_t *)d->objects.ns, strlen(d->objects.ns))
			                           : json_null(),
			"shown_keys", kvf_json_u64(d->objects.shown_keys),
			"hidden_keys", kvf_json_u64(d->n_keys - d->objects.shown_keys)));
	kvf_json_set(o, "kubernetes", kvf_json_diff_objects(d));
	json_t *offsets = json_object(), *states = json_object();
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		kvf_json_set(states, nd->label, json_string(kvf_history_name(nd->hist)));
		if (i == d->reference)
			continue;
		json_t *segs = json_array();
		for (size_t s = 0; s < nd->n_offsets; s++)
			json_array_append_new(segs, json_pack("{s:o,s:o,s:o,s:o}", "from", kvf_json_i64(nd->offsets[s].from),
			                                      "to", kvf_json_i64(nd->offsets[s].to),
			                                      "offset", kvf_json_i64(nd->offsets[s].offset),
			                                      "writes", kvf_json_u64(nd->offsets[s].writes)));
		kvf_json_set(offsets, nd->label, segs);
	}
	kvf_json_set(o, "history", json_pack("{s:o,s:o,s:s,s:o,s:o}",
		"first_divergent_revision", d->first_divergent_rev ? kvf_json_i64(d->first_divergent_rev) : json_null(),
		"compared_from_revision", kvf_json_i64(d->compared_from),
		"reference", d->nodes[d->reference].label, "states", states, "offsets", offsets));
	json_t *groups = json_array();
	for (int g = 0; g < d->n_groups; g++) {
		json_t *m = json_array();
		for (size_t i = 0; i < d->n; i++)
			if (d->nodes[i].group == g)
				json_array_append_new(m, json_string(d->nodes[i].label));
		json_array_append_new(groups, m);
	}
	json_t *ev = json_array();
	for (int e = 0; e < d->n_evidence; e++)
		json_array_append_new(ev, json_string(d->evidence[e]));
	kvf_json_set(o, "verdict", json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:b,s:b}", "cause", kvf_cause_name(d->cause),
		"explanation", d->cause_text, "evidence", ev, "most_complete_node", d->nodes[d->reference].label,
		"recovery", d->recovery, "agreeing_groups", groups, "differ", d->differ, "wal_used", d->wal_used));
	verdicts_json(o, d);
	ranking_json(o, d);
	/* the exit status' answer: 1 only for divergence catching up would not fix */
	kvf_json_set(o, "divergent", json_boolean(kvf_verdicts_divergent(&d->verdicts)));
	kvf_json_set(o, "lag_only", json_boolean(d->lag_only));
	return o;
}

/* ---- text ---- */

static void labels(kvf_buf *b, const kvf_diff *d, const kvf_divergent_key *k, bool present)
{
	bool first = true;
	for (size_t i = 0; i < d->n; i++)
		if (k->v[i].present == present) {
			kvf_buf_printf(b, "%s%s", first ? "" : ",", d->nodes[i].label);
			first = false;
		}
	if (first)
		kvf_buf_puts(b, "-");
}

/* The prefix a key is grouped under: up to its last '/'. */
static size_t group_len(kvf_span k)
{
	size_t n = k.len;
	while (n > 0 && k.p[n - 1] != '/')
		n--;
	return n ? n : k.len;
}

static bool same_pattern(const kvf_diff *d, const kvf_divergent_key *a, const kvf_divergent_key *b)
{
	if (a->cause != b->cause)
		return false;
	for (size_t i = 0; i < d->n; i++)
		if (a->v[i].present != b->v[i].present)
			return false;
	return true;
}

/* The first key from k on that --kind/--namespace show (n_keys: none). */
static size_t next_shown(const kvf_diff *d, size_t k)
{
	while (k < d->n_keys && !kvf_diff_key_shown(&d->objects, k))
		k++;
	return k;
}

static void text_key(kvf_buf *b, const kvf_diff *d, const kvf_divergent_key *k, const kvf_render_opts *o)
{
	kvf_buf_puts(b, "  ");
	kvf_text_bytes(b, k->key.p, k->key.len);
	kvf_buf_puts(b, "\n      present on ");
	labels(b, d, k, true);
	kvf_buf_puts(b, "; absent on ");
	labels(b, d, k, false);
	kvf_buf_putc(b, '\n');
	kvf_buf_puts(b, "      mod_revision");
	for (size_t i = 0; i < d->n; i++) {
		const kvf_node_value *v = &k->v[i];
		if (v->seen)
			kvf_buf_printf(b, " %s=%" PRId64 "%s", d->nodes[i].label, v->mod_revision, v->present ? "" : "(deleted)");
		else
			kvf_buf_printf(b, " %s=-", d->nodes[i].label);
	}
	kvf_buf_puts(b, "\n      version/digest");
	for (size_t i = 0; i < d->n; i++) {
		const kvf_node_value *v = &k->v[i];
		if (v->present)
			kvf_buf_printf(b, " %s=%" PRId64 "/%08" PRIx64, d->nodes[i].label, v->version, v->digest >> 32);
	}
	kvf_buf_putc(b, '\n');
	for (size_t t = 0; t < k->n_touches; t++) {
		const kvf_touch *tc = &k->touches[t];
		kvf_buf_printf(b, "      wal %s%" PRIu64 " term %" PRIu64 " %s id %" PRIu64 " user %s auth_revision %" PRIu64 ":",
		               kvf_color(o, "dim"), tc->index, tc->term, tc->kind, tc->id,
		               tc->username[0] ? tc->username : "-", tc->auth_revision);
		for (size_t i = 0; i < d->n; i++)
			kvf_buf_printf(b, " %s %s", d->nodes[i].label, tc->fate[i] == KVF_APPLIED ? "applied"
			               : tc->fate[i] == KVF_REJECTED_AUTH ? "REJECTED"
			               : tc->fate[i] == KVF_NOT_YET ? "not-yet" : "?");
		kvf_buf_printf(b, "%s\n", kvf_color(o, "reset"));
	}
	if (k->total_touches > k->n_touches)
		kvf_buf_printf(b, "      (%" PRIu64 " older entries not shown)\n", k->total_touches - k->n_touches);
	kvf_buf_printf(b, "      %s: %s\n", key_cause_name(k->cause), k->reason);
}

/* One row per member. The label column is as wide as the longest label
 * (snapshot files are named like n1.snapshot.db), every other column right
 * aligned, and no line ends in spaces. */
static void text_member_table(kvf_buf *b, const kvf_diff *d, const kvf_render_opts *o)
{
	int w = 6;   /* "member" */
	for (size_t i = 0; i < d->n; i++) {
		size_t l = strlen(d->nodes[i].label);
		if (l > (size_t)w)
			w = l > 200 ? 200 : (int)l;
	}
	kvf_buf_printf(b, "%s%-*s %10s %6s %8s %5s %9s %8s %8s %9s %10s %10s%s\n", kvf_color(o, "bold"), w,
	               "member", "cons_index", "term", "auth_rev", "auth", "revision", "compact", "live",
	               "revisions", "tombstones", "db_size", kvf_color(o, "reset"));
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		const kvf_db_status *s = &nd->st;
		char term[24] = "-", ar[24] = "-";
		if (s->state.has_term)
			snprintf(term, sizeof(term), "%" PRIu64, s->state.term);
		if (s->state.has_auth_revision)
			snprintf(ar, sizeof(ar), "%" PRIu64, s->state.auth_revision);
		kvf_buf size = KVF_BUF_INIT;
		kvf_text_size(&size, s->info ? s->info->file_size : 0);
		kvf_buf_printf(b, "%-*s %10" PRIu64 " %6s %8s %5s %9" PRId64 " %8" PRId64 " %8" PRIu64 " %9" PRIu64
		               " %10" PRIu64 " %10s\n", w, nd->label, s->state.consistent_index, term, ar,
		               s->state.auth_enabled ? "on" : "off", s->revision, s->compact_revision, s->live_keys,
		               s->revisions, s->tombstones, size.p ? size.p : "");
		kvf_buf_free(&size);
	}
}

void kvf_text_diff(kvf_buf *b, const kvf_diff *d, bool all_keys, const kvf_render_opts *o)
{
	text_member_table(b, d, o);
	/* small buckets */
	const char *bucket = NULL;
	for (size_t i = 0; i < d->n_items; i++) {
		const kvf_bucket_item *it = &d->items[i];
		if (!bucket || strcmp(bucket, it->bucket) != 0) {
			bucket = it->bucket;
			kvf_buf_printf(b, "\n%s== bucket %s%s\n", kvf_color(o, "bold"), bucket, kvf_color(o, "reset"));
		}
		kvf_buf_printf(b, "  %s:", it->key);
		for (size_t j = 0; j < d->n; j++)
			kvf_buf_printf(b, "%s %s=%s", j ? "," : "", d->nodes[j].label,
			               it->values[j] ? it->values[j] : "(absent)");
		kvf_buf_putc(b, '\n');
	}
	/* keys */
	/* lag only (issue 14): the keys differ because some members have not
	 * applied the newest entries yet; that is no divergence */
	kvf_buf_printf(b, "\n%s== bucket key: %zu %s%s%s (latest state)%s\n", kvf_color(o, "bold"), d->n_keys,
	               d->lag_only ? "key" : "divergent key", d->n_keys == 1 ? "" : "s",
	               d->lag_only ? " not yet applied on every member" : "", kvf_color(o, "reset"));
	kvf_text_diff_filter(b, d);
	size_t k = next_shown(d, 0);
	while (k < d->n_keys) {
		/* a run of keys under one prefix with the same presence: one line,
		 * unless --keys asks for all of them (keys --kind/--namespace hide
		 * are skipped) */
		size_t run = 1, next = next_shown(d, k + 1);
		size_t gl = group_len(d->keys[k].key);
		while (!all_keys && next < d->n_keys && group_len(d->keys[next].key) == gl &&
		       memcmp(d->keys[next].key.p, d->keys[k].key.p, gl) == 0 &&
		       same_pattern(d, &d->keys[k], &d->keys[next])) {
			run++;
			next = next_shown(d, next + 1);
		}
		if (run < 4) {
			for (size_t r = k; r < next; r = next_shown(d, r + 1))
				text_key(b, d, &d->keys[r], o);
		} else {
			const kvf_divergent_key *f = &d->keys[k];
			kvf_buf_puts(b, "  ");
			kvf_text_bytes(b, f->key.p, gl);
			kvf_buf_printf(b, "* (%zu keys)\n      present on ", run);
			labels(b, d, f, true);
			kvf_buf_puts(b, "; absent on ");
			labels(b, d, f, false);
			kvf_buf_printf(b, "\n      %s: %s", key_cause_name(f->cause), f->reason);
			if (run > 1)
				kvf_buf_puts(b, " (first key; --keys lists each)");
			kvf_buf_putc(b, '\n');
		}
		k = next;
	}
	kvf_text_diff_objects(b, d, all_keys, o);
	/* history */
	kvf_buf_printf(b, "\n%s== history%s (compared above revision %" PRId64 ", the highest compaction)\n",
	               kvf_color(o, "bold"), kvf_color(o, "reset"), d->compared_from);
	const kvf_diff_node *ref = &d->nodes[d->reference];
	if (!d->histories_differ)
		kvf_buf_printf(b, "  every member has the same history\n");
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (i == d->reference || nd->hist == KVF_HIST_SAME)
			continue;
		kvf_buf_printf(b, "  %s vs %s: ", nd->label, ref->label);
		switch (nd->hist) {
		case KVF_HIST_BEHIND:
			kvf_buf_printf(b, "behind: its history is a prefix; it lacks revisions %" PRId64 "..%" PRId64 "\n",
			               nd->st.revision + 1, ref->st.revision);
			break;
		case KVF_HIST_AHEAD:
			kvf_buf_printf(b, "ahead: it has revisions from %" PRId64 " that %s lacks\n",
			               nd->first_divergent_rev, ref->label);
			break;
		case KVF_HIST_DIVERGED:
			kvf_buf_printf(b, "first divergent revision %" PRId64 "; revision offsets for the same writes:",
			               nd->first_divergent_rev);
			for (size_t s = 0; s < nd->n_offsets; s++)
				kvf_buf_printf(b, "%s %+" PRId64 " (%s revisions %" PRId64 "..%" PRId64 ", %" PRIu64 " writes)",
				               s ? "," : "", nd->offsets[s].offset, ref->label, nd->offsets[s].from,
				               nd->offsets[s].to, nd->offsets[s].writes);
			if (!nd->n_offsets)
				kvf_buf_puts(b, " none in common");
			kvf_buf_putc(b, '\n');
			break;
		case KVF_HIST_SAME:
			break;
		}
	}
	/* verdicts */
	kvf_buf_printf(b, "\n%s== verdict%s\n", kvf_color(o, "bold"), kvf_color(o, "reset"));
	const char **l = member_labels(d);
	kvf_text_verdicts(b, &d->verdicts, l, l ? d->n : 0, o);
	free(l);
	kvf_buf_puts(b, "  agreeing members:");
	for (int g = 0; g < d->n_groups; g++) {
		kvf_buf_puts(b, g ? " |" : "");
		for (size_t i = 0; i < d->n; i++)
			if (d->nodes[i].group == g)
				kvf_buf_printf(b, " %s", d->nodes[i].label);
	}
	kvf_buf_putc(b, '\n');
	if (d->differ)
		kvf_buf_printf(b, "  most complete: %s\n", ref->label);
	if (!d->wal_used && d->n_keys)
		kvf_buf_puts(b, "  (no WAL: pass data directories or --wal NAME=DIR to trace each key)\n");
	ranking_text(b, d, o);
}
