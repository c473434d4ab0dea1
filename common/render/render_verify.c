#include "render/render_verify.h"

#include <inttypes.h>
#include <string.h>

#include "render/render_verdict.h"

static json_t *opt_u64(bool has, uint64_t v)
{
	return has ? kvf_json_u64(v) : json_null();
}

static json_t *items_json(const kvf_verify *v, const kvf_verify_item *it, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const kvf_verify_item *x = &it[i];
		json_t *o = json_object();
		kvf_json_set(o, "index", kvf_json_u64(x->index));
		kvf_json_set(o, "term", kvf_json_u64(x->term));
		kvf_json_set(o, "kind", json_string(x->kind ? x->kind : ""));
		kvf_json_set(o, "key", json_string(x->key));
		kvf_json_set(o, "header_auth_revision", kvf_json_u64(x->header_auth_revision));
		kvf_json_set(o, "revision", x->revision ? kvf_json_i64(x->revision) : json_null());
		kvf_json_set(o, "first_revision", x->first_revision ? kvf_json_i64(x->first_revision) : json_null());
		kvf_json_set(o, "file", x->segment < v->n_wal_files && v->wal_files[x->segment]
		             ? json_string(v->wal_files[x->segment]) : json_null());
		kvf_json_set(o, "offset", x->segment < v->n_wal_files ? kvf_json_u64(x->offset) : json_null());
		if (x->why)
			kvf_json_set(o, "why", json_string(x->why));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *kvf_json_verify(const kvf_verify *v)
{
	json_t *o = json_object();
	kvf_json_set(o, "member", json_string(v->label));
	kvf_json_set(o, "db", json_string(v->db_path));
	kvf_json_set(o, "consistent_index", opt_u64(v->has_consistent_index, v->consistent_index));
	kvf_json_set(o, "term", kvf_json_u64(v->term));
	kvf_json_set(o, "auth_revision", kvf_json_u64(v->auth_revision));
	kvf_json_set(o, "compact_revision", kvf_json_i64(v->compact_rev));
	json_t *w = json_object();
	kvf_json_set(w, "present", json_boolean(v->have_wal));
	kvf_json_set(w, "first_index", opt_u64(v->have_wal, v->wal_first_index));
	kvf_json_set(w, "last_index", opt_u64(v->have_wal, v->wal_last_index));
	kvf_json_set(w, "hardstate_commit", opt_u64(v->have_wal, v->hardstate_commit));
	kvf_json_set(w, "snapshot_index", opt_u64(v->wal_snapshot_index, v->wal_snapshot_index));
	kvf_json_set(o, "wal", w);
	kvf_json_set(o, "snap", json_pack("{s:o,s:o,s:o}", "index", opt_u64(v->snap_index, v->snap_index),
	                                  "term", opt_u64(v->snap_index, v->snap_term),
	                                  "file", v->snap_path[0] ? json_string(v->snap_path) : json_null()));
	kvf_json_set(o, "stale_db", json_boolean(v->stale_db));
	json_t *c = json_object();
	kvf_json_set(c, "aligned", json_boolean(v->aligned));
	kvf_json_set(c, "why_not", v->aligned ? json_null() : json_string(v->why_unaligned));
	kvf_json_set(c, "from_index", opt_u64(v->checked_from, v->checked_from));
	kvf_json_set(c, "to_index", opt_u64(v->checked_to, v->checked_to));
	kvf_json_set(c, "entries", kvf_json_u64(v->entries));
	kvf_json_set(c, "writes", kvf_json_u64(v->writes));
	kvf_json_set(c, "applied", kvf_json_u64(v->applied));
	kvf_json_set(c, "no_op", kvf_json_u64(v->no_op));
	kvf_json_set(c, "compacted", kvf_json_u64(v->compacted));
	kvf_json_set(c, "refused", kvf_json_u64(v->refused));
	kvf_json_set(c, "refused_by", json_pack("{s:o,s:o,s:o}", "auth_revision", kvf_json_u64(v->refused_auth_revision),
	                                        "compacted_range", kvf_json_u64(v->refused_compacted_range),
	                                        "no_user", kvf_json_u64(v->refused_no_user)));
	kvf_json_set(c, "restored_from_revision", v->restored ? kvf_json_i64(v->restored_rev) : json_null());
	kvf_json_set(c, "missing", kvf_json_u64(v->missing));
	kvf_json_set(c, "altered", kvf_json_u64(v->altered));
	kvf_json_set(c, "applied_twice", kvf_json_u64(v->applied_twice));
	kvf_json_set(c, "partial_txns", kvf_json_u64(v->partial_txns));
	kvf_json_set(c, "unexplained_revisions", kvf_json_u64(v->unexplained_revisions));
	kvf_json_set(c, "above_consistent_index", json_pack("{s:o,s:o}", "entries", kvf_json_u64(v->above_ci_entries),
	                                                     "with_effect", kvf_json_u64(v->above_ci_effects)));
	kvf_json_set(c, "first_missing_index", opt_u64(v->first_missing_index, v->first_missing_index));
	kvf_json_set(c, "first_twice_index", opt_u64(v->first_twice_index, v->first_twice_index));
	kvf_json_set(c, "leases", json_pack("{s:o,s:o,s:o}", "checked", kvf_json_u64(v->leases_checked),
	                                    "missing", kvf_json_u64(v->leases_missing),
	                                    "not_revoked", kvf_json_u64(v->leases_unrevoked)));
	kvf_json_set(c, "auth_changes", kvf_json_u64(v->auth_changes));
	kvf_json_set(o, "checked", c);
	kvf_json_set(o, "missing", items_json(v, v->missing_items, v->n_missing_items));
	kvf_json_set(o, "refused", items_json(v, v->refused_items, v->n_refused_items));
	kvf_json_set(o, "applied_twice", items_json(v, v->twice_items, v->n_twice_items));
	kvf_json_set(o, "altered", items_json(v, v->altered_items, v->n_altered_items));
	kvf_json_set(o, "above_consistent_index", items_json(v, v->above_items, v->n_above_items));
	const char *labels[1] = { v->label };
	kvf_json_set(o, "verdicts", kvf_json_verdicts(&v->verdicts, labels, 1));
	kvf_json_set(o, "ruled_out", kvf_json_ruled_out(&v->verdicts));
	return o;
}

void kvf_text_verify(kvf_buf *b, const kvf_verify *v, const kvf_render_opts *o)
{
	kvf_buf_printf(b, "member            %s (%s)\n", v->label, v->db_path);
	if (v->has_consistent_index)
		kvf_buf_printf(b, "consistent_index  %" PRIu64 " (term %" PRIu64 ")\n", v->consistent_index, v->term);
	else
		kvf_buf_puts(b, "consistent_index  (absent)\n");
	if (v->have_wal)
		kvf_buf_printf(b, "WAL               entries %" PRIu64 "..%" PRIu64 ", commit %" PRIu64 ", newest snapshot "
		               "record %" PRIu64 "\n", v->wal_first_index, v->wal_last_index, v->hardstate_commit,
		               v->wal_snapshot_index);
	else
		kvf_buf_puts(b, "WAL               none\n");
	if (v->snap_index)
		kvf_buf_printf(b, ".snap             index %" PRIu64 " (%s)%s\n", v->snap_index, v->snap_path,
		               v->stale_db ? ": NEWER THAN THE DB" : "");
	if (v->aligned) {
		kvf_buf_printf(b, "checked           entries %" PRIu64 "..%" PRIu64 ": %" PRIu64 " entries, %" PRIu64
		               " writes\n", v->checked_from, v->checked_to, v->entries, v->writes);
		kvf_buf_printf(b, "  applied         %" PRIu64 "\n", v->applied);
		kvf_buf_printf(b, "  no-op           %" PRIu64 " (a txn branch or delete that writes nothing there)\n", v->no_op);
		kvf_buf_printf(b, "  compacted       %" PRIu64 " (at or below compaction %" PRId64 ": not checkable)\n",
		               v->compacted, v->compact_rev);
		if (v->restored)
			kvf_buf_printf(b, "  restored        the db's revisions below %" PRId64 " are older than this log (its "
			               "first write is there): the history it was restored with (etcdctl snapshot restore)\n",
			               v->restored_rev);
		kvf_buf_printf(b, "  refused         %" PRIu64 " (etcd's own checks: %" PRIu64 " old header auth_revision, "
		               "ErrAuthOldRevision; %" PRIu64 " txn reading below the compaction, ErrCompacted; %" PRIu64
		               " lease revoke without a user, ErrUserEmpty)\n", v->refused, v->refused_auth_revision,
		               v->refused_compacted_range, v->refused_no_user);
		kvf_buf_printf(b, "  %smissing         %" PRIu64 "%s\n", kvf_color(o, v->missing ? "damage" : "ok"),
		               v->missing, kvf_color(o, "reset"));
		kvf_buf_printf(b, "  %saltered         %" PRIu64 "%s (the entry's revision holds other writes)\n",
		               kvf_color(o, v->altered ? "damage" : "ok"), v->altered, kvf_color(o, "reset"));
		kvf_buf_printf(b, "  %sapplied twice   %" PRIu64 "%s\n", kvf_color(o, v->applied_twice ? "damage" : "ok"),
		               v->applied_twice, kvf_color(o, "reset"));
		kvf_buf_printf(b, "  %spartial txns    %" PRIu64 "%s\n", kvf_color(o, v->partial_txns ? "damage" : "ok"),
		               v->partial_txns, kvf_color(o, "reset"));
		kvf_buf_printf(b, "  past c_index    %" PRIu64 " entries, %" PRIu64 " with their revision in the db\n",
		               v->above_ci_entries, v->above_ci_effects);
		kvf_buf_printf(b, "  other revisions %" PRIu64 " (no entry of this log explains them)\n",
		               v->unexplained_revisions);
		kvf_buf_printf(b, "  leases          %" PRIu64 " checked, %" PRIu64 " missing, %" PRIu64 " not revoked\n",
		               v->leases_checked, v->leases_missing, v->leases_unrevoked);
	} else {
		kvf_buf_printf(b, "checked           nothing: %s\n", v->have_wal ? v->why_unaligned : "no WAL");
	}
	kvf_buf_printf(b, "\n%s== verdict%s\n", kvf_color(o, "bold"), kvf_color(o, "reset"));
	const char *labels[1] = { v->label };
	kvf_text_verdicts(b, &v->verdicts, labels, 1, o);
}
