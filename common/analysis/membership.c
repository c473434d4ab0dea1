#include "analysis/membership.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/diff.h"
#include "analysis/walfacts.h"
#include "wal/raft.h"

static const char ZOMBIE_VERSIONS[] =
	"member records raft no longer has are left by etcd <= 3.4 `etcdctl snapshot restore` (which copies "
	"the old cluster's bucket members), --force-new-cluster and removals on older releases (13196, 20967); "
	"etcd 3.5.0 and 3.6 read bucket members and bring them back; 3.5.26 removes them (20995)";
static const char PROMOTION_VERSIONS[] =
	"etcd 3.5.1-3.5.19 (introduced by 13348); fixed in 3.5.20 (19563, auto-sync 19606) and 3.6.0-rc.3 "
	"(19636); carried across upgrades since 3.5.24 (20797)";
static const char MEMBERSHIP_VERSIONS[] =
	"no release is known to leave exactly this; the nearest known causes are 19557 (promotion) and "
	"13196/20967 (stale member records)";

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

/* ---- a set of member ids ---- */

typedef struct idset {
	uint64_t *id;
	uint8_t *learner;          /* parallel */
	uint64_t *off;             /* where the record is (file offset), KVF_NO_OFFSET: none */
	size_t n, cap;
} idset;

static ssize_t idset_find(const idset *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->id[i] == id)
			return (ssize_t)i;
	return -1;
}

static bool idset_put(idset *s, uint64_t id, bool learner, uint64_t off)
{
	ssize_t i = idset_find(s, id);
	if (i >= 0) {
		s->learner[i] = learner;
		return true;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		uint64_t *a = realloc(s->id, nc * sizeof(*a));
		if (!a)
			return false;
		s->id = a;
		uint8_t *b = realloc(s->learner, nc);
		if (!b)
			return false;
		s->learner = b;
		uint64_t *c = realloc(s->off, nc * sizeof(*c));
		if (!c)
			return false;
		s->off = c;
		s->cap = nc;
	}
	s->id[s->n] = id;
	s->learner[s->n] = learner;
	s->off[s->n] = off;
	s->n++;
	return true;
}

static void idset_del(idset *s, uint64_t id)
{
	ssize_t i = idset_find(s, id);
	if (i < 0)
		return;
	s->n--;
	s->id[i] = s->id[s->n];
	s->learner[i] = s->learner[s->n];
	s->off[i] = s->off[s->n];
}

static void idset_free(idset *s)
{
	free(s->id);
	free(s->learner);
	free(s->off);
	memset(s, 0, sizeof(*s));
}

static bool idset_copy(idset *dst, const idset *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (!idset_put(dst, src->id[i], src->learner[i], src->off[i]))
			return false;
	return true;
}

/* hex member id (types.ID.String()) */
static bool parse_hex_id(kvf_span s, uint64_t *id)
{
	if (!s.len || s.len > 16 || !s.p)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*id = v;
	return true;
}

static bool parse_hex_cstr(const char *s, uint64_t *id)
{
	kvf_span sp = { .p = (const uint8_t *)s, .len = strlen(s) };
	return parse_hex_id(sp, id);
}

/* Member JSON: {"id":..,"peerURLs":[..],"name":"..","isLearner":true}.
 * The id is a uint64 (jansson refuses those above INT64_MAX as integers:
 * the key names it anyway). */
static bool member_is_learner(kvf_span v, char *name, size_t name_cap)
{
	name[0] = 0;
	if (!v.p || !v.len)
		return false;
	json_t *j = json_loadb((const char *)v.p, v.len, JSON_DECODE_INT_AS_REAL, NULL);
	bool l = json_is_true(json_object_get(j, "isLearner"));
	const char *nm = json_string_value(json_object_get(j, "name"));
	if (nm)
		snprintf(name, name_cap, "%s", nm);
	json_decref(j);
	return l;
}

/* ---- one member's sources ---- */

typedef struct msrc {
	const kvf_member_view *v;
	idset bucket;              /* bucket members */
	char (*names)[64];         /* parallel to bucket, in bucket order at load */
	idset removed;             /* bucket members_removed */
	bool have_cs;              /* meta/confState */
	idset cs;
	uint64_t cs_off;
	bool have_ci;
	uint64_t ci;
	/* the newest .snap */
	bool have_snap;
	char *snap_path;
	uint64_t snap_index;
	bool snap_has_cs;
	idset snap_cs;             /* its raft ConfState */
	bool snap_v2;              /* its v2 store parsed */
	idset snap_members;        /* /0/members, learner from raftAttributes */
	idset snap_removed;
	/* the WAL: its own (own), or the longest member's when this member's
	 * .snap gives the base and committed entries are the same everywhere */
	kvf_wal_facts own;
	const kvf_wal_facts *w;
	uint64_t cluster_id;      /* from its WAL metadata or the caller; 0 unknown */
	/* the raft view at consistent_index: base + conf changes up to it */
	bool have_view;
	const char *view_from;     /* "the .snap", "the WAL snapshot record", "the WAL from index 1" */
	uint64_t view_base_index;
	idset view;                /* learner flags: raft's */
	idset view_above;          /* the same, with the conf changes above consistent_index too */
	uint64_t view_index;       /* consistent_index, or the WAL's commit */
} msrc;

static void msrc_free(msrc *s)
{
	idset_free(&s->bucket);
	free(s->names);
	idset_free(&s->removed);
	idset_free(&s->cs);
	free(s->snap_path);
	idset_free(&s->snap_cs);
	idset_free(&s->snap_members);
	idset_free(&s->snap_removed);
	kvf_wal_facts_free(&s->own);
	idset_free(&s->view);
	idset_free(&s->view_above);
}

static json_t *children(json_t *node)
{
	json_t *c = json_object_get(node, "Children");
	return json_is_object(c) ? c : NULL;
}

/* /0/members/<hex id>/raftAttributes and /0/removed_members/<hex id> of
 * the v2 store JSON a .snap holds (wal/raft.h kvf_snap_v2 counts them; here
 * the ids matter). */
static bool snap_members(const uint8_t *data, size_t len, idset *members, idset *removed)
{
	json_t *doc = json_loadb((const char *)data, len, JSON_DECODE_INT_AS_REAL, NULL);
	json_t *root = json_object_get(doc, "Root");
	if (!json_is_object(root)) {
		json_decref(doc);
		return false;
	}
	json_t *zero = children(json_object_get(children(root), "0"));
	bool ok = true;
	const char *id;
	json_t *m;
	json_object_foreach(children(json_object_get(zero, "members")), id, m) {
		uint64_t v;
		if (!parse_hex_cstr(id, &v))
			continue;
		json_t *ra = json_object_get(children(m), "raftAttributes");
		const char *val = json_string_value(json_object_get(ra, "Value"));
		json_t *attrs = val ? json_loads(val, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
		ok = ok && idset_put(members, v, json_is_true(json_object_get(attrs, "isLearner")), KVF_NO_OFFSET);
		json_decref(attrs);
	}
	json_object_foreach(children(json_object_get(zero, "removed_members")), id, m) {
		uint64_t v;
		if (parse_hex_cstr(id, &v))
			ok = ok && idset_put(removed, v, false, KVF_NO_OFFSET);
	}
	json_decref(doc);
	return ok;
}

static kvf_status load_snap(msrc *s, kvf_verdicts *vs, kvf_err *err)
{
	char **paths = NULL;
	size_t n = 0;
	kvf_err e2;
	kvf_err_clear(&e2);
	if (kvf_snap_list(s->v->snap_dir, &paths, &n, &e2) != KVF_OK || !n) {
		kvf_snap_list_free(paths, n);
		return KVF_OK;
	}
	/* the newest readable one (names sort by term, then index) */
	kvf_arena arena;
	kvf_arena_init(&arena);
	kvf_status st = KVF_OK;
	for (size_t k = n; k-- > 0;) {
		kvf_snap_file sf;
		kvf_err_clear(&e2);
		bool ok = kvf_snap_read(paths[k], &arena, &sf, &e2) == KVF_OK;
		if (ok && !sf.crc_ok) {
			ok = false;
			snprintf(e2.msg, sizeof(e2.msg), "CRC stored %08x, computed %08x", sf.crc_stored, sf.crc_computed);
		}
		if (!ok) {
			/* a damaged .snap says nothing reliable about membership */
			if (kvf_verdicts_rule_out(vs, "%s: .snap %s unreadable (%s); an older one is used",
			                          s->v->label, paths[k], e2.msg))
				st = nomem(err);
			kvf_arena_reset(&arena);
			continue;
		}
		s->have_snap = true;
		s->snap_index = sf.index;
		if (!(s->snap_path = strdup(paths[k])))
			st = nomem(err);
		if (sf.conf_state) {
			s->snap_has_cs = true;
			for (size_t i = 0; i < sf.conf_state->n_voters && !st; i++)
				if (!idset_put(&s->snap_cs, sf.conf_state->voters[i], false, KVF_NO_OFFSET))
					st = nomem(err);
			for (size_t i = 0; i < sf.conf_state->n_learners && !st; i++)
				if (!idset_put(&s->snap_cs, sf.conf_state->learners[i], true, KVF_NO_OFFSET))
					st = nomem(err);
		}
		if (!st && sf.data && sf.data_len && sf.v2.parsed) {
			s->snap_v2 = true;
			if (!snap_members(sf.data, sf.data_len, &s->snap_members, &s->snap_removed))
				st = nomem(err);
		}
		break;
	}
	kvf_arena_free(&arena);
	kvf_snap_list_free(paths, n);
	return st;
}

static void apply_conf(idset *view, const kvf_wal_conf *c)
{
	switch (c->type) {
	case 0: /* ConfChangeAddNode: a new voter, or a learner's promotion */
		idset_put(view, c->node_id, false, KVF_NO_OFFSET);
		break;
	case 1:
		idset_del(view, c->node_id);
		break;
	case 3:
		idset_put(view, c->node_id, true, KVF_NO_OFFSET);
		break;
	default: /* update: no membership change */
		break;
	}
}

static kvf_status build_view(msrc *s, kvf_err *err)
{
	/* the base: the newest raft snapshot whose membership is known */
	idset base = { 0 };
	bool have = false;
	if (s->have_snap && s->snap_has_cs) {
		have = idset_copy(&base, &s->snap_cs);
		if (!have)
			goto oom;
		s->view_from = "the newest .snap";
		s->view_base_index = s->snap_index;
	}
	if (s->w == &s->own && s->w->present && s->w->have_snap && s->w->snap_has_conf &&
	    (!have || s->w->snap_index > s->view_base_index)) {
		idset_free(&base);
		for (size_t i = 0; i < s->w->n_snap_voters; i++)
			if (!idset_put(&base, s->w->snap_voters[i], false, KVF_NO_OFFSET))
				goto oom;
		for (size_t i = 0; i < s->w->n_snap_learners; i++)
			if (!idset_put(&base, s->w->snap_learners[i], true, KVF_NO_OFFSET))
				goto oom;
		have = true;
		s->view_from = "the WAL's newest snapshot record";
		s->view_base_index = s->w->snap_index;
	}
	if (!have && s->w->present && s->w->have_entries && s->w->first_index <= 1 && !s->have_snap) {
		have = true;
		s->view_from = "the WAL from its first entry";
		s->view_base_index = 0;
	}
	/* The WAL must reach back to the base: conf changes between the base
	 * and the WAL's first entry would be unknown. */
	if (have && s->w->present && s->w->have_entries && s->w->first_index > s->view_base_index + 1)
		have = false;
	if (have && !s->w->present && s->view_base_index < (s->have_ci ? s->ci : UINT64_MAX))
		have = false;   /* no WAL: nothing says what changed after the snapshot */
	if (!have) {
		idset_free(&base);
		return KVF_OK;
	}
	s->view_index = s->have_ci ? s->ci : s->w->commit;
	if (!idset_copy(&s->view, &base))
		goto oom;
	for (size_t i = 0; i < s->w->n_conf; i++)
		if (s->w->conf[i].index > s->view_base_index && s->w->conf[i].index <= s->view_index)
			apply_conf(&s->view, &s->w->conf[i]);
	if (!idset_copy(&s->view_above, &s->view))
		goto oom;
	for (size_t i = 0; i < s->w->n_conf; i++)
		if (s->w->conf[i].index > s->view_index)
			apply_conf(&s->view_above, &s->w->conf[i]);
	s->have_view = true;
	idset_free(&base);
	return KVF_OK;
oom:
	idset_free(&base);
	return nomem(err);
}

/* may_share: this member's WAL need not be read when its .snap gives raft's
 * membership (the conf changes then come from the longest WAL). */
static kvf_status load(const kvf_member_view *v, bool may_share, msrc *s, kvf_verdicts *vs, kvf_err *err)
{
	memset(s, 0, sizeof(*s));
	s->v = v;
	const kvf_db_status *st = v->st;
	s->have_ci = st->state.has_consistent_index;
	s->ci = st->state.consistent_index;
	if (st->member_ids.n && !(s->names = calloc(st->member_ids.n, sizeof(*s->names))))
		return nomem(err);
	for (size_t i = 0; i < st->member_ids.n; i++) {
		uint64_t id;
		if (!parse_hex_id(st->member_ids.v[i], &id))
			continue;
		kvf_span js = i < st->member_json.n ? st->member_json.v[i] : (kvf_span){ 0 };
		char name[64];
		bool l = member_is_learner(js, name, sizeof(name));
		size_t at = s->bucket.n;
		if (!idset_put(&s->bucket, id, l, st->member_ids.v[i].file_offset))
			return nomem(err);
		if (s->bucket.n > at)
			memcpy(s->names[at], name, sizeof(name));
	}
	for (size_t i = 0; i < st->removed_members.n; i++) {
		uint64_t id;
		if (parse_hex_id(st->removed_members.v[i], &id) &&
		    !idset_put(&s->removed, id, false, st->removed_members.v[i].file_offset))
			return nomem(err);
	}
	if (st->has_conf_state && st->conf_state_ok) {
		s->have_cs = true;
		s->cs_off = st->state.conf_state.file_offset;
		for (size_t i = 0; i < st->conf_state.n_voters; i++)
			if (!idset_put(&s->cs, st->conf_state.voters[i], false, KVF_NO_OFFSET))
				return nomem(err);
		for (size_t i = 0; i < st->conf_state.n_learners; i++)
			if (!idset_put(&s->cs, st->conf_state.learners[i], true, KVF_NO_OFFSET))
				return nomem(err);
	}
	kvf_status r;
	if (v->snap_dir && (r = load_snap(s, vs, err)))
		return r;
	s->w = &s->own;
	s->cluster_id = v->cluster_id;
	if (v->wal_dir && !(may_share && s->have_snap && s->snap_has_cs)) {
		kvf_err e2;
		kvf_err_clear(&e2);
		if (kvf_wal_facts_read(v->wal_dir, s->ci, &s->own, &e2) != KVF_OK) {
			if (e2.code == KVF_E_NOMEM)
				return nomem(err);
			kvf_wal_facts_free(&s->own);
			if (kvf_verdicts_rule_out(vs, "%s: WAL %s unreadable for the membership check (%s)", v->label,
			                          v->wal_dir, e2.msg))
				return nomem(err);
		}
		if (s->own.cluster_id)
			s->cluster_id = s->own.cluster_id;
	} else if (v->wal_dir) {
		s->w = NULL;   /* the longest member's, once it is read */
	}
	return KVF_OK;
}

/* The last conf change for id at or below `upto` (0: any), or NULL. */
static const kvf_wal_conf *last_conf(const kvf_wal_facts *w, uint64_t id, int type, uint64_t upto)
{
	const kvf_wal_conf *best = NULL;
	for (size_t i = 0; i < w->n_conf; i++)
		if (w->conf[i].node_id == id && (type < 0 || w->conf[i].type == type) && (!upto || w->conf[i].index <= upto))
			best = &w->conf[i];
	return best;
}

static const char *name_of(const msrc *s, uint64_t id)
{
	ssize_t i = idset_find(&s->bucket, id);
	/* names[] follows the load order, which idset_del never changed here */
	return i >= 0 && s->names && s->names[i][0] ? s->names[i] : NULL;
}

static kvf_status ev_bucket(kvf_verdict *vd, const msrc *s, uint64_t id, const char *fmt_state)
{
	ssize_t i = idset_find(&s->bucket, id);
	const char *nm = name_of(s, id);
	return kvf_verdict_evidence(vd, s->v->index, s->v->db_path, i >= 0 ? s->bucket.off[i] : KVF_NO_OFFSET, 0,
	                            "bucket members has %" PRIx64 "%s%s%s%s%s", id, nm ? " (" : "", nm ? nm : "",
	                            nm ? ")" : "", *fmt_state ? " " : "", fmt_state);
}

static kvf_status ev_view(kvf_verdict *vd, const msrc *s, uint64_t id)
{
	if (!s->have_view)
		return KVF_OK;
	ssize_t i = idset_find(&s->view, id);
	const char *what = i < 0 ? "does not have it" : s->view.learner[i] ? "has it as a learner" : "has it as a voter";
	const char *file = !strcmp(s->view_from, "the newest .snap") ? s->snap_path
	                 : s->w->n_files ? s->w->files[0] : NULL;
	uint64_t off = !strcmp(s->view_from, "the WAL's newest snapshot record") ? s->w->snap_at.offset : KVF_NO_OFFSET;
	if (!strcmp(s->view_from, "the WAL's newest snapshot record"))
		file = kvf_wal_facts_file(s->w, s->w->snap_at);
	return kvf_verdict_evidence(vd, s->v->index, file, off, s->view_index,
	                            "raft's membership at index %" PRIu64 " (%s at index %" PRIu64
	                            ", then the WAL's conf changes) %s",
	                            s->view_index, s->view_from, s->view_base_index, what);
}

static kvf_status ev_conf(kvf_verdict *vd, const msrc *s, const kvf_wal_conf *c)
{
	static const char *const names[] = { "ConfChangeAddNode", "ConfChangeRemoveNode", "ConfChangeUpdateNode",
	                                     "ConfChangeAddLearnerNode" };
	const char *t = c->type >= 0 && c->type < 4 ? names[c->type] : "ConfChange";
	return kvf_verdict_evidence(vd, s->v->index, kvf_wal_facts_file(s->w, c->at), c->at.offset, c->index,
	                            "WAL entry %" PRIu64 " (term %" PRIu64 "): %s%s %" PRIx64 "%s", c->index, c->term,
	                            c->v2 ? "ConfChangeV2 " : "", t, c->node_id,
	                            c->promote ? " (isPromote: a learner's promotion)" : "");
}

static kvf_status ev_cs(kvf_verdict *vd, const msrc *s, uint64_t id)
{
	if (!s->have_cs)
		return KVF_OK;
	ssize_t i = idset_find(&s->cs, id);
	const char *what = i < 0 ? "does not have it" : s->cs.learner[i] ? "lists it among learners" : "lists it among voters";
	return kvf_verdict_evidence(vd, s->v->index, s->v->db_path, s->cs_off, 0, "meta/confState %s", what);
}

static kvf_status ev_snap(kvf_verdict *vd, const msrc *s, uint64_t id)
{
	if (!s->snap_v2)
		return KVF_OK;
	ssize_t i = idset_find(&s->snap_members, id);
	const char *what = i < 0 ? (idset_find(&s->snap_removed, id) >= 0 ? "has it under /0/removed_members"
	                                                                    : "does not have it")
	                 : s->snap_members.learner[i] ? "has it as a learner" : "has it as a voter (no isLearner)";
	return kvf_verdict_evidence(vd, s->v->index, s->snap_path, KVF_NO_OFFSET, s->snap_index,
	                            "the v2 store of the newest .snap (index %" PRIu64 ") %s", s->snap_index, what);
}

static char *recovery_zombie(kvf_verdict *vd, const msrc *s, uint64_t id)
{
	char who[40] = "These members are";
	if (id)
		snprintf(who, sizeof(who), "Member %" PRIx64 " is", id);
	snprintf(vd->recovery, sizeof(vd->recovery),
	         "%s stale records in %s's bucket members: raft does not have them. etcd up to 3.4 "
	         "reads membership from the v2 store and ignores them, but 3.5.0 and 3.6 read bucket members and "
	         "would count them (lost quorum, or 'member count is unequal'). Before upgrading, compare "
	         "`etcdctl member list` with the ids above; upgrade through 3.5.26 or later, which drops member "
	         "records raft does not have (etcd 20995), and do not `--force-new-cluster` or restore from this "
	         "db before then.",
	         who, s->v->label);
	return vd->recovery;
}

/* One verdict for all of a member's zombie records (20967 found 3506 of
 * them): evidence for the first few in full, the rest counted. */
static kvf_status zombie_verdict(const msrc *s, const idset *z, kvf_verdicts *vs, kvf_err *err)
{
	char ids[200] = "";
	size_t in_removed = 0;
	for (size_t k = 0; k < z->n; k++) {
		in_removed += z->learner[k];
		size_t l = strlen(ids);
		if (l + 20 < sizeof(ids))
			snprintf(ids + l, sizeof(ids) - l, "%s%" PRIx64, k ? ", " : "", z->id[k]);
		else if (l + 5 < sizeof(ids) && !strstr(ids, "..."))
			snprintf(ids + l, sizeof(ids) - l, ", ...");
	}
	kvf_verdict *vd = kvf_verdict_add(vs, KVF_VERDICT_ZOMBIE_MEMBER, true, s->v->index,
	                                  "%zu zombie member record%s on %s (in bucket members, not in raft's "
	                                  "membership%s): %s",
	                                  z->n, z->n == 1 ? "" : "s", s->v->label,
	                                  in_removed ? "; some also in members_removed" : "", ids);
	if (!vd)
		return nomem(err);
	vd->versions = ZOMBIE_VERSIONS;
	recovery_zombie(vd, s, z->n == 1 ? z->id[0] : 0);
	kvf_status st = KVF_OK;
	for (size_t k = 0; k < z->n && !st; k++) {
		uint64_t id = z->id[k];
		if (k >= 8) {
			st = kvf_verdict_evidence(vd, s->v->index, s->v->db_path, KVF_NO_OFFSET, 0,
			                          "%zu more zombie records in bucket members", z->n - k);
			break;
		}
		st = ev_bucket(vd, s, id, "");
		ssize_t rm = idset_find(&s->removed, id);
		if (!st && rm >= 0)
			st = kvf_verdict_evidence(vd, s->v->index, s->v->db_path, s->removed.off[rm], 0,
			                          "bucket members_removed has %" PRIx64 " (\"removed\")", id);
		const kvf_wal_conf *removal = last_conf(s->w, id, 1, s->have_view ? s->view_index : 0);
		if (!st && removal)
			st = ev_conf(vd, s, removal);
		if (!st)
			st = ev_cs(vd, s, id);
		if (!st && k < 2)
			st = ev_view(vd, s, id);
		if (!st && k < 2)
			st = ev_snap(vd, s, id);
	}
	return st;
}

/* One member against itself. */
static kvf_status check_member(msrc *s, kvf_verdicts *vs, kvf_err *err)
{
	kvf_status st = KVF_OK;
	const char *lbl = s->v->label;
	idset zombies = { 0 };     /* learner: also in members_removed; off: index into bucket */
	for (size_t i = 0; i < s->bucket.n && !st; i++) {
		uint64_t id = s->bucket.id[i];
		bool learner = s->bucket.learner[i];
		ssize_t rm = idset_find(&s->removed, id);
		bool view_lacks = s->have_view && idset_find(&s->view, id) < 0 && idset_find(&s->view_above, id) < 0;
		bool cs_lacks = s->have_cs && idset_find(&s->cs, id) < 0;
		/* (3.5+ commit bucket members and meta/confState in the same
		 * batch, so confState never lags the bucket) */
		if (rm >= 0 || view_lacks || cs_lacks) {
			if (!idset_put(&zombies, id, rm >= 0, i)) {
				idset_free(&zombies);
				return nomem(err);
			}
			continue;
		}
		/* a learner in the bucket that raft (or the v2 store) has as a voter */
		ssize_t cv = s->have_cs ? idset_find(&s->cs, id) : -1;
		ssize_t vv = s->have_view ? idset_find(&s->view, id) : -1;
		ssize_t sv = s->snap_v2 && s->snap_index <= (s->have_ci ? s->ci : UINT64_MAX)
		           ? idset_find(&s->snap_members, id) : -1;
		bool cs_voter = cv >= 0 && !s->cs.learner[cv];
		bool view_voter = vv >= 0 && !s->view.learner[vv];
		bool snap_voter = sv >= 0 && !s->snap_members.learner[sv];
		const kvf_wal_conf *promo = last_conf(s->w, id, 0, s->have_view ? s->view_index : 0);
		if (learner && (cs_voter || view_voter || snap_voter)) {
			kvf_verdict *vd = kvf_verdict_add(vs, KVF_VERDICT_PROMOTION_LOST, true, s->v->index,
			                                  "learner promotion of %" PRIx64 " not persisted on %s: raft has a "
			                                  "voter, bucket members still says isLearner", id, lbl);
			if (!vd) {
				idset_free(&zombies);
				return nomem(err);
			}
			vd->versions = PROMOTION_VERSIONS;
			if (promo)
				vd->first_divergent_index = promo->index;
			snprintf(vd->recovery, sizeof(vd->recovery),
			         "Member %" PRIx64 " was promoted (raft%s has it as a voter) but %s's bucket members still "
			         "says learner. etcd 3.5 runs on the v2 store and does not notice; 3.6 reads bucket members and "
			         "refuses to start ('membership: too many learner members in cluster'). Upgrade every member to "
			         "3.5.20 or later first (it copies the promotion from the v2 store on start, 19563/19606; 3.5.24+ "
			         "to carry it across upgrades), check that bucket members no longer has isLearner, and only then "
			         "upgrade to 3.6.",
			         id, snap_voter ? " and the v2 store" : "", lbl);
			st = ev_bucket(vd, s, id, "with \"isLearner\":true");
			if (!st && promo)
				st = ev_conf(vd, s, promo);
			if (!st)
				st = ev_cs(vd, s, id);
			if (!st)
				st = ev_view(vd, s, id);
			if (!st)
				st = ev_snap(vd, s, id);
			continue;
		}
		bool cs_learner = cv >= 0 && s->cs.learner[cv];
		bool view_learner = vv >= 0 && s->view.learner[vv] && idset_find(&s->view_above, id) >= 0 &&
		                    s->view_above.learner[idset_find(&s->view_above, id)];
		if (!learner && (cs_learner || view_learner)) {
			kvf_verdict *vd = kvf_verdict_add(vs, KVF_VERDICT_MEMBERSHIP, true, s->v->index,
			                                  "member %" PRIx64 " on %s: bucket members has a voter, raft a learner",
			                                  id, lbl);
			if (!vd) {
				idset_free(&zombies);
				return nomem(err);
			}
			vd->versions = MEMBERSHIP_VERSIONS;
			snprintf(vd->recovery, sizeof(vd->recovery),
			         "Raft has %" PRIx64 " as a learner, %s's bucket members as a voter: 3.6 would count a voter raft "
			         "does not. Promote it (`etcdctl member promote`) once it has caught up, or remove and re-add it.",
			         id, lbl);
			st = ev_bucket(vd, s, id, "without isLearner");
			if (!st)
				st = ev_cs(vd, s, id);
			if (!st)
				st = ev_view(vd, s, id);
		}
	}
	if (!st && zombies.n)
		st = zombie_verdict(s, &zombies, vs, err);
	idset_free(&zombies);
	if (st)
		return st;
	/* raft's members missing from the bucket */
	const idset *want = s->have_cs ? &s->cs : s->have_view ? &s->view : NULL;
	for (size_t i = 0; want && i < want->n && !st; i++) {
		uint64_t id = want->id[i];
		if (idset_find(&s->bucket, id) >= 0)
			continue;
		/* removed above consistent_index: a 3.4 bucket may already show it */
		if (s->have_view && idset_find(&s->view_above, id) < 0)
			continue;
		/* meta confState (3.5+) is what raft applied. Without it (3.4) the
		 * view is the WAL's conf changes, and etcd refuses some of those at
		 * apply time (ValidateConfigurationChange: an id already present or
		 * removed, a peer URL already in use, as a retried `member add`
		 * leaves): a warning there, not divergence. */
		kvf_verdict *vd = kvf_verdict_add(vs, KVF_VERDICT_MEMBERSHIP, s->have_cs, s->v->index,
		                                  "member %" PRIx64 " missing on %s: raft has it, bucket members does not%s",
		                                  id, lbl, s->have_cs ? "" : " (from the WAL's conf changes: etcd may have "
		                                  "refused that one at apply time)");
		if (!vd)
			return nomem(err);
		vd->versions = MEMBERSHIP_VERSIONS;
		snprintf(vd->recovery, sizeof(vd->recovery),
		         "Raft's membership has %" PRIx64 " but %s's bucket members does not: 3.5.0 and 3.6 would not know "
		         "the member. Upgrade through 3.5.26+ (it reconciles the v3 store with the v2 store) or replace this "
		         "member from one whose bucket members is complete.",
		         id, lbl);
		const kvf_wal_conf *add = last_conf(s->w, id, -1, 0);
		if (add)
			st = ev_conf(vd, s, add);
		if (!st)
			st = ev_cs(vd, s, id);
		if (!st)
			st = ev_view(vd, s, id);
		if (!st)
			st = ev_snap(vd, s, id);
	}
	return st;
}

static bool flagged(const kvf_verdicts *vs, size_t from, int member, uint64_t id)
{
	char hex[24];
	snprintf(hex, sizeof(hex), "%" PRIx64, id);
	for (size_t i = from; i < vs->n; i++) {
		if (vs->v[i].member != member)
			continue;
		if (strstr(vs->v[i].headline, hex))
			return true;
		for (size_t k = 0; k < vs->v[i].n_evidence; k++)
			if (strstr(vs->v[i].evidence[k].text, hex))
				return true;
	}
	return false;
}

/* Across members: every member should list the same members, unless a conf
 * change between their consistent_indexes explains it. */
static kvf_status check_across(msrc *s, size_t n, size_t from, kvf_verdicts *vs, kvf_err *err)
{
	/* the longest WAL tells which conf changes exist */
	const kvf_wal_facts *w = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i].w->present && (!w || s[i].w->last_index > w->last_index))
			w = s[i].w;
	bool other_cluster = false;
	for (size_t i = 0; i < n; i++) {
		/* the records i has that a member j of the same cluster lacks, with
		 * no conf change for them between their consistent_indexes */
		idset extra = { 0 };   /* off: the j that lacks it */
		for (size_t k = 0; k < s[i].bucket.n; k++) {
			uint64_t id = s[i].bucket.id[k];
			for (size_t j = 0; j < n; j++) {
				if (j == i || idset_find(&s[j].bucket, id) >= 0)
					continue;
				/* members of two clusters (WAL metadata) share no membership:
				 * telling them apart is the cluster identity check's job */
				if (s[i].cluster_id && s[j].cluster_id && s[i].cluster_id != s[j].cluster_id) {
					other_cluster = true;
					continue;
				}
				if (flagged(vs, from, (int)s[i].v->index, id) || flagged(vs, from, (int)s[j].v->index, id))
					continue;
				uint64_t lo = s[i].ci < s[j].ci ? s[i].ci : s[j].ci;
				bool lag = false;
				for (size_t c = 0; w && c < w->n_conf; c++)
					lag |= w->conf[c].node_id == id && w->conf[c].index > lo;
				if (lag)
					continue;
				if (!idset_put(&extra, id, false, j)) {
					idset_free(&extra);
					return nomem(err);
				}
				break;
			}
		}
		if (!extra.n)
			continue;
		char ids[200] = "";
		for (size_t k = 0; k < extra.n; k++) {
			size_t l = strlen(ids);
			if (l + 20 < sizeof(ids))
				snprintf(ids + l, sizeof(ids) - l, "%s%" PRIx64, k ? ", " : "", extra.id[k]);
		}
		kvf_verdict *vd = kvf_verdict_add(vs, KVF_VERDICT_ZOMBIE_MEMBER, true, (int)s[i].v->index,
		                                  "listed members disagree: %s has %zu member record%s in bucket members "
		                                  "that %s does not: %s",
		                                  s[i].v->label, extra.n, extra.n == 1 ? "" : "s",
		                                  s[extra.off[0]].v->label, ids);
		if (!vd) {
			idset_free(&extra);
			return nomem(err);
		}
		vd->versions = ZOMBIE_VERSIONS;
		recovery_zombie(vd, &s[i], extra.n == 1 ? extra.id[0] : 0);
		kvf_status st = KVF_OK;
		for (size_t k = 0; k < extra.n && k < 8 && !st; k++) {
			const msrc *sj = &s[extra.off[k]];
			st = ev_bucket(vd, &s[i], extra.id[k], "");
			if (!st)
				st = kvf_verdict_evidence(vd, sj->v->index, sj->v->db_path, KVF_NO_OFFSET, 0,
				                          "%s's bucket members does not have %" PRIx64 "%s (consistent_index %"
				                          PRIu64 " vs %" PRIu64 ", no conf change for it between them)",
				                          sj->v->label, extra.id[k],
				                          idset_find(&sj->removed, extra.id[k]) >= 0 ? "; its members_removed does"
				                                                                     : "",
				                          sj->ci, s[i].ci);
		}
		idset_free(&extra);
		if (st)
			return st;
	}
	if (other_cluster && kvf_verdicts_rule_out(vs, "membership: members of different clusters (WAL cluster ids) "
	                                               "were not compared with each other"))
		return nomem(err);
	return KVF_OK;
}

size_t kvf_member_views_longest_wal(const kvf_member_view *m, size_t n, bool *known)
{
	size_t longest = 0;
	*known = n > 1;
	for (size_t i = 0; i < n; i++) {
		*known &= !m[i].wal_dir || m[i].wal_last_index != 0;
		if (m[i].wal_last_index > m[longest].wal_last_index)
			longest = i;
	}
	return longest;
}

kvf_status kvf_membership_check(const kvf_member_view *m, size_t n, kvf_verdicts *vs, kvf_err *err)
{
	if (!n)
		return KVF_OK;
	msrc *s = calloc(n, sizeof(*s));
	if (!s)
		return nomem(err);
	size_t from = vs->n;
	kvf_status st = KVF_OK;
	/* the longest WAL (by what the caller knows of them) is read in full;
	 * the others only when their .snap does not give the base */
	bool known;
	size_t longest_i = kvf_member_views_longest_wal(m, n, &known);
	for (size_t i = 0; i < n && !st; i++)
		st = load(&m[i], known && i != longest_i, &s[i], vs, err);
	for (size_t i = 0; i < n && !st; i++) {
		if (!s[i].w)
			s[i].w = s[longest_i].w && s[longest_i].w->present ? s[longest_i].w : &s[i].own;
		st = build_view(&s[i], err);
	}
	for (size_t i = 0; i < n && !st; i++)
		st = check_member(&s[i], vs, err);
	if (!st && n > 1)
		st = check_across(s, n, from, vs, err);
	for (size_t i = 0; i < n && !st; i++) {
		if (!s[i].have_view && !s[i].have_cs && s[i].bucket.n)
			st = kvf_verdicts_rule_out(vs, "%s: raft's membership unknown (no .snap ConfState, no WAL from its "
			                               "start, no meta/confState): bucket members checked against "
			                               "members_removed only", m[i].label);
	}
	if (!st && vs->n == from)
		st = kvf_verdicts_rule_out(vs, "membership: bucket members agrees with members_removed, meta/confState, "
		                               "the .snap and the WAL's conf changes on every member (13196, 19557, 20967)");
	for (size_t i = 0; i < n; i++)
		msrc_free(&s[i]);
	free(s);
	return st;
}

/* ---- diff-db ---- */

kvf_status kvf_diff_views(kvf_diff *d, kvf_member_view **views, kvf_datadir **dds, kvf_err *err)
{
	*views = calloc(d->n ? d->n : 1, sizeof(**views));
	*dds = calloc(d->n ? d->n : 1, sizeof(**dds));
	if (!*views || !*dds) {
		free(*views);
		free(*dds);
		*views = NULL;
		*dds = NULL;
		return nomem(err);
	}
	for (size_t i = 0; i < d->n; i++) {
		kvf_diff_node *nd = &d->nodes[i];
		kvf_member_view *v = &(*views)[i];
		v->index = (int)i;
		v->label = nd->label;
		v->db_path = nd->db_path;
		v->be = nd->be;
		v->st = &nd->st;
		v->wal_dir = nd->wal_dir;
		v->member_id = nd->has_metadata ? nd->member_id : 0;
		v->cluster_id = nd->has_metadata ? nd->cluster_id : 0;
		v->wal_last_index = nd->have_wal ? nd->wal_last_index : 0;
		kvf_path_kind kind;
		kvf_err e2;
		kvf_err_clear(&e2);
		if (kvf_path_classify(nd->path, &kind, &(*dds)[i], &e2) == KVF_OK && kind == KVF_PATH_DATADIR) {
			v->snap_dir = (*dds)[i].snap_dir;
			v->leftovers = (*dds)[i].leftovers;
			v->n_leftovers = (*dds)[i].n_leftovers;
		}
	}
	return KVF_OK;
}

void kvf_diff_views_free(kvf_diff *d, kvf_member_view *views, kvf_datadir *dds)
{
	for (size_t i = 0; dds && i < d->n; i++)
		kvf_datadir_free(&dds[i]);
	free(dds);
	free(views);
}

kvf_status kvf_detect_membership(kvf_diff *d, kvf_err *err)
{
	kvf_member_view *v;
	kvf_datadir *dd;
	kvf_status st = kvf_diff_views(d, &v, &dd, err);
	if (st)
		return st;
	st = kvf_membership_check(v, d->n, &d->verdicts, err);
	kvf_diff_views_free(d, v, dd);
	if (!st)
		kvf_verdicts_sort(&d->verdicts);
	return st;
}
