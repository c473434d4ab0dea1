#include "analysis/detectors.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/diff.h"
#include "analysis/refusal.h"
#include "analysis/walfacts.h"
#include "db/version.h"
#include "wal/raft.h"

static const char V_17780[] =
	"etcd <= 3.5.13: a restart after a compaction interrupted before finishedCompactRev computes the current "
	"revision from the keys left, below scheduledCompactRev, and reuses revision numbers (17780); fixed in "
	"3.5.14 (17865) and 3.6.0";
static const char V_STALE[] =
	"applySnapshot racing a defragmentation (20271): fixed in 3.6.5, 3.5.23 (20653), 3.4.38 (20659); "
	"consistent_index from a leader snapshot overwritten by the old value (13933): 3.5.0-3.5.2, fixed in 3.5.3";
static const char V_SNAPDB[] =
	"any release: a leader's db snapshot is saved as %016x.snap.db and renamed over db when applied; one left "
	"behind means the member stopped in between (with 20271, fixed 3.6.5/3.5.23/3.4.38, a defrag raced it)";
static const char V_DEFRAG[] =
	"any release: defragmentation writes db.tmp.* and renames it over db. Killed midway on 3.5.0-3.5.5 it also "
	"lost consistent_index (14733: entries re-applied, revisions shift up; fixed in 3.5.6); early 3.4 reused an "
	"orphaned temp file (11613)";
static const char V_15919[] =
	"etcd 3.5.5-3.5.9 with the compact hash check on: a compaction resumed after a restart hashed only the keys "
	"left and raised a false CORRUPT alarm (15919); fixed in 3.5.10 (6ac9d94d6) and 3.6.0";

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t meta_offset(kvf_backend *be, const char *key)
{
	kvf_span v;
	kvf_err e;
	kvf_err_clear(&e);
	if (!be || kvf_backend_get(be, "meta", 4, key, strlen(key), &v, &e) != KVF_OK)
		return KVF_NO_OFFSET;
	return v.file_offset;
}

/* ---- per member ---- */

typedef struct bsrc {
	const kvf_member_view *v;
	kvf_wal_facts wal;
	bool is_37;                /* its db was written by 3.7+ (the 18667 fix) */
	uint64_t snap_index;       /* the newest .snap's index (from its name) */
	char *snap_path;
} bsrc;

/* need_wal: false when the caller showed this member's WAL is not the
 * longest and its .snap names answer the stale-db question: the detectors
 * then read nothing from it (diff-db already read every WAL once). */
static kvf_status load(const kvf_member_view *v, bool need_wal, bsrc *s, kvf_verdicts *vs, kvf_err *err)
{
	memset(s, 0, sizeof(*s));
	s->v = v;
	s->is_37 = v->st->schema.version >= KVF_ETCD_VERSION(3, 7, 0);
	if (v->snap_dir) {
		char **paths = NULL;
		size_t n = 0;
		kvf_err e2;
		kvf_err_clear(&e2);
		if (kvf_snap_list(v->snap_dir, &paths, &n, &e2) == KVF_OK)
			for (size_t i = 0; i < n; i++) {
				const char *b = strrchr(paths[i], '/');
				uint64_t t, idx;
				if (kvf_snap_parse_name(b ? b + 1 : paths[i], &t, &idx) && idx >= s->snap_index) {
					s->snap_index = idx;
					free(s->snap_path);
					if (!(s->snap_path = strdup(paths[i]))) {
						kvf_snap_list_free(paths, n);
						return nomem(err);
					}
				}
			}
		kvf_snap_list_free(paths, n);
	}
	const kvf_etcd_state *es = &v->st->state;
	if (!v->snap_dir || !v->member_id || (es->has_consistent_index && es->consistent_index < s->snap_index))
		need_wal = true;
	if (v->wal_dir && need_wal) {
		kvf_err e2;
		kvf_err_clear(&e2);
		if (kvf_wal_facts_read(v->wal_dir, es->consistent_index, &s->wal, &e2) != KVF_OK) {
			kvf_wal_facts_free(&s->wal);
			if (e2.code == KVF_E_NOMEM)
				return nomem(err);
			if (kvf_verdicts_rule_out(vs, "%s: WAL %s unreadable for the known-bug detectors (%s)", v->label,
			                          v->wal_dir, e2.msg))
				return nomem(err);
		}
	} else if (v->wal_dir) {
		s->wal.node_id = v->member_id;   /* all taker() needs from it */
	}
	return KVF_OK;
}

static void bsrc_free(bsrc *s)
{
	kvf_wal_facts_free(&s->wal);
	free(s->snap_path);
}

/* The member that took a request: etcd's request ids carry the low 16 bits
 * of that member's id in their top 16 (pkg/idutil.NewGenerator). */
static int taker(const bsrc *s, size_t n, uint64_t req_id)
{
	int found = -1;
	for (size_t i = 0; i < n; i++)
		if (s[i].wal.node_id && (s[i].wal.node_id & 0xffff) == req_id >> 48) {
			if (found >= 0)
				return -1;   /* two members share the low bits: cannot tell */
			found = (int)i;
		}
	return found;
}

/* The longest WAL: every member's log is the same raft log, and the longest
 * has the most of it. */
static const bsrc *longest(const bsrc *s, size_t n)
{
	const bsrc *b = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i].wal.present && (!b || s[i].wal.last_index > b->wal.last_index))
			b = &s[i];
	return b;
}

/* 18667: a txn reading at a revision below the compaction. */
static kvf_status txn_compacted_range(const bsrc *s, size_t n, const kvf_bug_context *ctx, kvf_verdicts *vs,
                                      kvf_err *err)
{
	const bsrc *w = longest(s, n);
	if (!w || !w->wal.n_txn_ranges)
		return kvf_verdicts_rule_out(vs, "18667: no txn in the WAL reads at an explicit revision below the "
		                                 "compaction before it (%" PRIu64 " txns read at an explicit revision)",
		                             w ? w->wal.txn_ranges_total : 0) ? nomem(err) : KVF_OK;
	bool all37 = true;
	for (size_t i = 0; i < n; i++)
		all37 &= s[i].is_37;
	/* one verdict per member that took such txns */
	for (size_t k = 0; k < w->wal.n_txn_ranges; k++) {
		const kvf_wal_txn_range *t = &w->wal.txn_ranges[k];
		int who = taker(s, n, t->id);
		bool seen = false;
		for (size_t j = 0; j < k; j++)
			seen |= taker(s, n, w->wal.txn_ranges[j].id) == who;
		if (seen)
			continue;
		/* The taker refused it, the others applied it. On its own (one
		 * member) that is divergence when this member took it; compared,
		 * when the replicas do differ. 3.7 evaluates it alike everywhere. */
		bool div = !all37 && (ctx->compared ? !ctx->replicas_agree : (who >= 0 && s[who].v->index == s[0].v->index));
		int member = who >= 0 ? s[who].v->index : -1;
		kvf_verdict *vd = kvf_verdict_add(
			vs, KVF_VERDICT_TXN_COMPACTED_RANGE, div, member,
			"txn at WAL index %" PRIu64 " reads revision %" PRId64 ", below the compaction at %" PRId64
			"%s%s%s: %s",
			t->index, t->revision, t->compacted, who >= 0 ? "; taken by " : "", who >= 0 ? s[who].v->label : "",
			who >= 0 ? ", which refused it with ErrCompacted" : "",
			all37 ? "etcd 3.7 applies it alike on every member" : div ? "the members applied it differently"
			      : ctx->compared ? "the members' histories still agree" : "the members that did not take it applied it");
		if (!vd)
			return nomem(err);
		vd->versions = KVF_VERSIONS_18667;
		vd->first_divergent_index = t->index;
		snprintf(vd->recovery, sizeof(vd->recovery),
		         "The member that took the txn%s%s lacks its writes (its revisions are one lower from WAL index "
		         "%" PRIu64 " on for each such txn); the others applied it. Replace that member from one that "
		         "applied it (etcdctl member remove, then add it back with an empty data dir), and stop clients "
		         "from reading at an explicit revision inside a txn, or upgrade to 3.7.0+, which applies such a "
		         "txn the same everywhere.",
		         who >= 0 ? " (" : "", who >= 0 ? s[who].v->label : "", t->index);
		size_t shown = 0;
		for (size_t j = k; j < w->wal.n_txn_ranges && shown < 12; j++) {
			const kvf_wal_txn_range *u = &w->wal.txn_ranges[j];
			if (taker(s, n, u->id) != who)
				continue;
			shown++;
			kvf_status st = kvf_verdict_evidence(
				vd, member, kvf_wal_facts_file(&w->wal, u->at), u->at.offset, u->index,
				"WAL entry %" PRIu64 " (term %" PRIu64 "): txn %016" PRIx64 " with a range at revision %" PRId64
				"; the compaction to %" PRId64 " is WAL entry %" PRIu64,
				u->index, u->term, u->id, u->revision, u->compacted, u->compaction_index);
			if (st)
				return nomem(err);
		}
	}
	return KVF_OK;
}

static int lease_present(const bsrc *s, int64_t lease)
{
	if (!s->v->be)
		return -1;
	uint8_t k[8];
	be64(k, (uint64_t)lease);
	kvf_span v;
	kvf_err e;
	kvf_err_clear(&e);
	kvf_status st = kvf_backend_get(s->v->be, "lease", 5, k, 8, &v, &e);
	return st == KVF_OK ? 1 : st == KVF_E_NOTFOUND ? 0 : -1;
}

/* 11689: a lease revoke without a user while auth is on. */
static kvf_status revoke_without_user(const bsrc *s, size_t n, const kvf_bug_context *ctx, kvf_verdicts *vs,
                                      kvf_err *err)
{
	const bsrc *w = longest(s, n);
	kvf_verdict *vd = NULL;
	uint64_t found = 0;
	for (size_t k = 0; w && k < w->wal.n_revokes; k++) {
		const kvf_wal_revoke *r = &w->wal.revokes[k];
		bool on;
		if (r->auth_enabled_known)
			on = r->auth_enabled;
		else if (w->wal.first_auth_toggle)
			on = w->wal.first_auth_toggle < 0;   /* before the first toggle: the opposite of it */
		else
			on = w->v->st->state.has_auth_enabled && w->v->st->state.auth_enabled;
		if (!on)
			continue;
		/* which members still hold the lease */
		int with = -1, without = -1;
		size_t n_with = 0, n_without = 0;
		for (size_t i = 0; i < n; i++) {
			int p = lease_present(&s[i], r->lease);
			if (p == 1 && !n_with++)
				with = (int)i;
			if (p == 0 && !n_without++)
				without = (int)i;
		}
		bool differ = with >= 0 && without >= 0;
		if (!vd || (differ && !vd->divergence)) {
			int who = taker(s, n, r->id);
			if (!vd) {
				vd = kvf_verdict_add(vs, KVF_VERDICT_LEASE_REVOKE_AUTH, differ, differ ? s[with].v->index : -1,
				                     "lease revoke without a user while auth is enabled (WAL index %" PRIu64
				                     ", lease %016" PRIx64 ")%s",
				                     r->index, (uint64_t)r->lease,
				                     differ ? ": the members disagree on the lease"
				                            : ctx->compared ? ": every member applied it alike" : "");
				if (!vd)
					return nomem(err);
				vd->versions = KVF_VERSIONS_11689;
			} else {
				vd->divergence = true;
				vd->member = s[with].v->index;
				snprintf(vd->headline, sizeof(vd->headline),
				         "lease revoke without a user while auth is enabled (WAL index %" PRIu64
				         ", lease %016" PRIx64 "): the members disagree on the lease",
				         r->index, (uint64_t)r->lease);
			}
			if (differ)
				vd->first_divergent_index = r->index;
			snprintf(vd->recovery, sizeof(vd->recovery), "%s",
			         vd->divergence
			         ? "Some members refused the revoke at apply (no user under auth) and kept the lease and its "
			           "keys, the others deleted them. Choose the side the clients expect (usually the revoke: the "
			           "lease expired), replace the other members from it, and make sure no member runs a release "
			           "older than 3.2.31 / 3.3 alongside newer ones."
			         : "No divergence by itself: the members applied the revoke alike. A revoke without a user "
			           "under auth is refused at apply when the lease has keys (ErrUserEmpty): check that the "
			           "client that sent it authenticates.");
			(void)who;
		}
		if (++found > 12)
			continue;
		int who = taker(s, n, r->id);
		char where[200];
		if (n_with && n_without)
			snprintf(where, sizeof(where), "still in bucket lease on %s, gone on %s", s[with].v->label,
			         s[without].v->label);
		else if (n_with)
			snprintf(where, sizeof(where), "still in bucket lease on %s", n > 1 ? "every member" : s[with].v->label);
		else if (n_without)
			snprintf(where, sizeof(where), "gone from bucket lease on %s", n > 1 ? "every member" : s[without].v->label);
		else
			snprintf(where, sizeof(where), "bucket lease unreadable");
		kvf_status st = kvf_verdict_evidence(
			vd, who >= 0 ? s[who].v->index : -1, kvf_wal_facts_file(&w->wal, r->at), r->at.offset, r->index,
			"WAL entry %" PRIu64 " (term %" PRIu64 "): lease_revoke %016" PRIx64 " (request %016" PRIx64
			"%s%s) with an empty header username; %s",
			r->index, r->term, (uint64_t)r->lease, r->id, who >= 0 ? ", taken by " : "",
			who >= 0 ? s[who].v->label : "", where);
		if (st)
			return nomem(err);
	}
	if (!vd && kvf_verdicts_rule_out(vs, "11689: no lease revoke without a user while auth is enabled (%" PRIu64
	                                     " lease revokes in the WAL)", w ? w->wal.revokes_total : 0))
		return nomem(err);
	return KVF_OK;
}

/* Is there a key revision at or above rev? (17780: the newest key below
 * scheduledCompactRev) */
static int key_at_or_above(kvf_backend *be, int64_t rev)
{
	kvf_cursor *c;
	kvf_err e;
	kvf_err_clear(&e);
	if (!be || kvf_cursor_open(be, "key", 3, &c, &e) != KVF_OK)
		return -1;
	uint8_t k[17];
	be64(k, (uint64_t)rev);
	k[8] = '_';
	be64(k + 9, 0);
	kvf_pair p;
	bool got = false;
	int r = -1;
	if (kvf_cursor_seek(c, k, sizeof(k), &e) == KVF_OK && kvf_cursor_next(c, &p, &got, &e) == KVF_OK)
		r = got;
	kvf_cursor_close(c);
	return r;
}

static kvf_status compaction_unfinished(const bsrc *s, kvf_verdicts *vs, kvf_err *err)
{
	const kvf_etcd_state *es = &s->v->st->state;
	if (!es->has_scheduled_compact || (es->has_finished_compact && es->scheduled_compact <= es->finished_compact))
		return KVF_OK;
	int above = key_at_or_above(s->v->be, es->scheduled_compact);
	bool sig = above == 0;
	kvf_verdict *vd = kvf_verdict_add(
		vs, KVF_VERDICT_COMPACTION_UNFINISHED, false, s->v->index,
		"%s: compaction to %" PRId64 " scheduled, finished only to %" PRId64 "%s", s->v->label,
		es->scheduled_compact, es->has_finished_compact ? es->finished_compact : 0,
		sig ? "; the newest key revision is below it (the 17780 signature)" : " (interrupted; etcd resumes it on start)");
	if (!vd)
		return nomem(err);
	vd->versions = V_17780;
	snprintf(vd->recovery, sizeof(vd->recovery), "%s",
	         sig ? "Do not start this member on etcd 3.5.13 or older: it would take the newest key's revision as "
	               "the current one, below the scheduled compaction, and hand out revision numbers again (watchers "
	               "and peers then disagree). Start it on 3.5.14+ / 3.6+, which take scheduledCompactRev as the "
	               "floor and finish the compaction, or replace it from a peer. Take a copy first: finishing the "
	               "compaction deletes revisions."
	             : "No divergence: etcd finishes the compaction when the member starts (which deletes the revisions "
	               "below it: copy the data dir first if they matter as evidence).");
	kvf_status st = kvf_verdict_evidence(vd, s->v->index, s->v->db_path, meta_offset(s->v->be, "scheduledCompactRev"),
	                                     0, "meta/scheduledCompactRev = %" PRId64, es->scheduled_compact);
	if (!st)
		st = kvf_verdict_evidence(vd, s->v->index, s->v->db_path, meta_offset(s->v->be, "finishedCompactRev"), 0,
		                          es->has_finished_compact ? "meta/finishedCompactRev = %" PRId64
		                                                   : "meta/finishedCompactRev absent%.0" PRId64,
		                          es->has_finished_compact ? es->finished_compact : 0);
	if (!st)
		st = kvf_verdict_evidence(vd, s->v->index, s->v->db_path, KVF_NO_OFFSET, 0,
		                          above < 0 ? "bucket key could not be read at revision %" PRId64
		                          : above ? "bucket key has revisions at or above %" PRId64
		                                  : "bucket key has no revision at or above %" PRId64,
		                          es->scheduled_compact);
	return st ? nomem(err) : KVF_OK;
}

/* 20271 / 13933: consistent_index below the member's own raft snapshot. */
static kvf_status stale_db(const bsrc *s, kvf_verdicts *vs, kvf_err *err)
{
	const kvf_etcd_state *es = &s->v->st->state;
	if (!es->has_consistent_index)
		return KVF_OK;
	uint64_t snap = s->snap_index;
	bool from_wal = false;
	if (s->wal.present && s->wal.have_snap && s->wal.snap_index > snap) {
		snap = s->wal.snap_index;
		from_wal = true;
	}
	uint64_t ci = es->consistent_index;
	if (!snap || ci >= snap)
		return KVF_OK;
	/* etcd 3.4 saves consistent_index only with a key-space write (db/
	 * version.h): below the snapshot with no write in between is its
	 * bookkeeping, not a stale db. */
	bool saves_all = kvf_schema_saves_applied_index(&s->v->st->schema);
	bool write_between = s->wal.present && s->wal.writes_above_ci && s->wal.first_write_above_ci <= snap;
	if (!saves_all && !write_between) {
		return kvf_verdicts_rule_out(vs, "%s: consistent_index %" PRIu64 " below the snapshot at %" PRIu64
		                                 ", but a 3.4 db saves it only with writes and the WAL shows none between",
		                             s->v->label, ci, snap) ? nomem(err) : KVF_OK;
	}
	kvf_verdict *vd = kvf_verdict_add(vs, KVF_VERDICT_STALE_DB, true, s->v->index,
	                                  "%s: db older than the member's raft snapshot: consistent_index %" PRIu64
	                                  " < snapshot index %" PRIu64,
	                                  s->v->label, ci, snap);
	if (!vd)
		return nomem(err);
	vd->versions = V_STALE;
	vd->first_divergent_index = ci + 1;
	bool have_newer_snapdb = false;
	for (size_t i = 0; i < s->v->n_leftovers; i++)
		have_newer_snapdb |= s->v->leftovers[i].kind == KVF_LEFTOVER_SNAP_DB && s->v->leftovers[i].snap_index >= snap;
	kvf_refusal rf;
	kvf_refusal_find(&rf, s->v->snap_dir, snap);
	char says[600];
	kvf_refusal_quote(says, sizeof(says), &rf, s->v->db_path, snap);
	snprintf(vd->recovery, sizeof(vd->recovery),
	         "The db lacks the entries from %" PRIu64 " to %" PRIu64 ", which the raft snapshot covers and the WAL "
	         "no longer replays. On start (3.4 to 3.7 alike) %s. %s",
	         ci + 1, snap, says,
	         have_newer_snapdb ? "The leftover .snap.db below is the db the member received with that snapshot: "
	                             "etcd would open it in place of db on start; check it (dump-db status on it) "
	                             "before relying on it, or replace the member."
	                           : "Replace the member: etcdctl member remove, then add it back with an empty data dir so "
	                             "that the leader sends a fresh snapshot.");
	kvf_status st = kvf_verdict_evidence(vd, s->v->index, s->v->db_path, meta_offset(s->v->be, "consistent_index"),
	                                     0, "meta/consistent_index = %" PRIu64, ci);
	if (!st && s->snap_path && !from_wal)
		st = kvf_verdict_evidence(vd, s->v->index, s->snap_path, KVF_NO_OFFSET, s->snap_index,
		                          "newest .snap: index %" PRIu64, s->snap_index);
	if (!st && from_wal)
		st = kvf_verdict_evidence(vd, s->v->index, kvf_wal_facts_file(&s->wal, s->wal.snap_at), s->wal.snap_at.offset,
		                          s->wal.snap_index, "WAL snapshot record: index %" PRIu64 " term %" PRIu64,
		                          s->wal.snap_index, s->wal.snap_term);
	if (!st && write_between)
		st = kvf_verdict_evidence(vd, s->v->index, kvf_wal_facts_file(&s->wal, s->wal.first_write_above_ci_at),
		                          s->wal.first_write_above_ci_at.offset, s->wal.first_write_above_ci,
		                          "WAL entry %" PRIu64 " writes the key space above consistent_index and below the "
		                          "snapshot", s->wal.first_write_above_ci);
	return st ? nomem(err) : KVF_OK;
}

static kvf_status leftovers(const bsrc *s, kvf_verdicts *vs, kvf_err *err)
{
	const kvf_member_view *v = s->v;
	uint64_t ci = v->st->state.consistent_index;
	for (size_t i = 0; i < v->n_leftovers; i++) {
		const kvf_leftover *lo = &v->leftovers[i];
		const kvf_leftover_db *ldb = NULL;
		for (size_t j = 0; j < v->st->n_leftovers; j++)
			if (v->st->leftovers[j].file == lo || (v->st->leftovers[j].file && !strcmp(v->st->leftovers[j].file->path, lo->path)))
				ldb = &v->st->leftovers[j];
		kvf_verdict *vd;
		if (lo->kind == KVF_LEFTOVER_DEFRAG_TMP) {
			vd = kvf_verdict_add(vs, KVF_VERDICT_INTERRUPTED_DEFRAG, false, v->index,
			                     "%s: interrupted defragmentation: %s left in member/snap", v->label, lo->name);
			if (!vd)
				return nomem(err);
			vd->versions = V_DEFRAG;
			snprintf(vd->recovery, sizeof(vd->recovery),
			         "No divergence by itself: etcd never reads %s and db is the member's data. On 3.5.0-3.5.5 a "
			         "defrag killed midway also left consistent_index behind, so entries were applied twice on "
			         "restart (14733): compare this member with its peers (diff-db). Remove the file once the "
			         "member is known good.",
			         lo->name);
		} else {
			bool snap_db = lo->kind == KVF_LEFTOVER_SNAP_DB;
			vd = kvf_verdict_add(vs, KVF_VERDICT_LEFTOVER_SNAPSHOT, false, v->index,
			                     snap_db ? "%s: leader's db snapshot %s received, never applied%s"
			                             : "%s: leader's db snapshot %s still being received when the member stopped%s",
			                     v->label, lo->name,
			                     snap_db && lo->snap_index > ci ? " (newer than the db)" : "");
			if (!vd)
				return nomem(err);
			vd->versions = V_SNAPDB;
			snprintf(vd->recovery, sizeof(vd->recovery), "%s",
			         snap_db && lo->snap_index > ci
			         ? "No divergence by itself: on start etcd opens this .snap.db in place of db when the raft "
			           "snapshot is newer than the db's consistent_index. Check it (dump-db status on the file) "
			           "before starting the member; if it is damaged, replace the member."
			         : "No divergence by itself: etcd does not read it. Remove it once the member is known good.");
		}
		kvf_status st = kvf_verdict_evidence(vd, v->index, lo->path, KVF_NO_OFFSET, 0,
		                                     "%s: %" PRIu64 " bytes%s", lo->name, lo->size,
		                                     ldb && !ldb->readable ? ", not readable as a db" : "");
		if (!st && ldb && ldb->readable && ldb->state.has_consistent_index)
			st = kvf_verdict_evidence(vd, v->index, lo->path, KVF_NO_OFFSET, 0,
			                          "its consistent_index is %" PRIu64 ", the db's %" PRIu64,
			                          ldb->state.consistent_index, ci);
		if (st)
			return nomem(err);
	}
	return KVF_OK;
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int sh = 0; sh < 64 && *p < end; sh += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* etcdserverpb.AlarmMember{MemberID=1, Alarm=2} */
static bool alarm_parse(kvf_span k, uint64_t *member, uint64_t *alarm)
{
	const uint8_t *p = k.p, *end = k.p ? k.p + k.len : NULL;
	*member = *alarm = 0;
	while (p && p < end) {
		uint64_t tag, v;
		if (!varint(&p, end, &tag) || (tag & 7) != 0 || !varint(&p, end, &v))
			return false;
		if (tag >> 3 == 1)
			*member = v;
		else if (tag >> 3 == 2)
			*alarm = v;
	}
	return true;
}

/* 15919: a CORRUPT alarm while the replicas agree. */
static kvf_status corrupt_alarm(const bsrc *s, size_t n, const kvf_bug_context *ctx, kvf_verdicts *vs, kvf_err *err)
{
	kvf_verdict *vd = NULL;
	for (size_t i = 0; i < n; i++) {
		const kvf_span_list *al = &s[i].v->st->alarms;
		for (size_t k = 0; k < al->n; k++) {
			uint64_t member, alarm;
			if (!alarm_parse(al->v[k], &member, &alarm) || alarm != 2)
				continue;
			if (!ctx->compared || !ctx->replicas_agree) {
				if (kvf_verdicts_rule_out(vs, "15919: %s has a CORRUPT alarm for member %" PRIx64 "; %s", s[i].v->label,
				                          member, ctx->compared ? "the replicas do differ, so it is no false alarm"
				                                                : "compare the members (diff-db) to tell a false alarm"))
					return nomem(err);
				continue;
			}
			if (!vd) {
				vd = kvf_verdict_add(vs, KVF_VERDICT_FALSE_CORRUPT_ALARM, false, -1,
				                     "false CORRUPT alarm: raised for member %" PRIx64 ", but the members' key "
				                     "histories agree",
				                     member);
				if (!vd)
					return nomem(err);
				vd->versions = V_15919;
				snprintf(vd->recovery, sizeof(vd->recovery),
				         "No divergence: the offline comparison finds the members' key histories equal. Disarm the "
				         "alarm (etcdctl alarm disarm) and, on 3.5.5-3.5.9 with the compact hash check, upgrade to "
				         "3.5.10+ before turning it on again.");
			}
			if (kvf_verdict_evidence(vd, s[i].v->index, s[i].v->db_path, al->v[k].file_offset, 0,
			                         "%s: bucket alarm has CORRUPT for member %" PRIx64, s[i].v->label, member))
				return nomem(err);
		}
	}
	return KVF_OK;
}

kvf_status kvf_known_bugs_check(const kvf_member_view *m, size_t n, const kvf_bug_context *ctx, kvf_verdicts *vs,
                                kvf_err *err)
{
	if (!n)
		return KVF_OK;
	bsrc *s = calloc(n, sizeof(*s));
	if (!s)
		return nomem(err);
	kvf_status st = KVF_OK;
	/* the longest WAL (by what the caller knows of them) is read in full */
	bool known;
	size_t longest_i = kvf_member_views_longest_wal(m, n, &known);
	for (size_t i = 0; i < n && !st; i++)
		st = load(&m[i], !known || i == longest_i, &s[i], vs, err);
	if (!st)
		st = txn_compacted_range(s, n, ctx, vs, err);
	if (!st)
		st = revoke_without_user(s, n, ctx, vs, err);
	for (size_t i = 0; i < n && !st; i++) {
		st = compaction_unfinished(&s[i], vs, err);
		if (!st)
			st = stale_db(&s[i], vs, err);
		if (!st)
			st = leftovers(&s[i], vs, err);
	}
	if (!st)
		st = corrupt_alarm(s, n, ctx, vs, err);
	for (size_t i = 0; i < n; i++)
		bsrc_free(&s[i]);
	free(s);
	return st;
}

kvf_status kvf_detect_known_bugs(kvf_diff *d, kvf_err *err)
{
	kvf_member_view *v;
	kvf_datadir *dd;
	kvf_status st = kvf_diff_views(d, &v, &dd, err);
	if (st)
		return st;
	kvf_bug_context ctx = { .compared = d->n > 1, .replicas_agree = !d->histories_differ && !d->n_keys };
	st = kvf_known_bugs_check(v, d->n, &ctx, &d->verdicts, err);
	kvf_diff_views_free(d, v, dd);
	if (!st)
		kvf_verdicts_sort(&d->verdicts);
	return st;
}

kvf_status kvf_detect_member(const kvf_member_view *m, kvf_verdicts *vs, kvf_err *err)
{
	kvf_bug_context ctx = { 0 };
	kvf_status st = kvf_membership_check(m, 1, vs, err);
	if (!st)
		st = kvf_known_bugs_check(m, 1, &ctx, vs, err);
	if (!st)
		kvf_verdicts_sort(vs);
	return st;
}

kvf_status kvf_detect_path(const char *path, kvf_verdicts *vs, kvf_err *err)
{
	kvf_db_location loc = { 0 };
	kvf_status st = kvf_etcd_db_locate(path, &loc, err);
	if (st)
		return st;
	kvf_backend *be = NULL;
	kvf_db_status dst = { 0 };
	if (!(st = kvf_backend_open(&be, loc.db_path, err)) && !(st = kvf_db_status_read(be, NULL, &dst, err)) &&
	    loc.is_datadir)
		st = kvf_db_status_leftovers(&dst, &loc.datadir, err);
	if (!st) {
		kvf_member_view v = { .index = 0, .label = "this member", .db_path = loc.db_path, .be = be, .st = &dst };
		if (loc.is_datadir) {
			v.wal_dir = loc.datadir.wal_dir;
			v.snap_dir = loc.datadir.snap_dir;
			v.leftovers = loc.datadir.leftovers;
			v.n_leftovers = loc.datadir.n_leftovers;
		}
		st = kvf_detect_member(&v, vs, err);
	}
	kvf_db_status_free(&dst);
	if (be)
		kvf_backend_close(be);
	kvf_db_location_free(&loc);
	return st;
}
