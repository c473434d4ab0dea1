#include "analysis/walfacts.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "io/buf.h"
#include "wal/raftlog.h"

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

static bool grow(void **p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, nc * sz);
	if (!q)
		return false;
	*p = q;
	*cap = nc;
	return true;
}

/* A new leader overwrote the log from index `from` on: forget what the old
 * entries said (the lists are in log order, so it is a suffix). */
static void truncate_from(kvf_wal_facts *f, uint64_t from)
{
	if (f->writes_above_ci && f->first_write_above_ci >= from)
		f->writes_above_ci = 0;   /* recounted from the new entries on */
	while (f->n_conf && f->conf[f->n_conf - 1].index >= from)
		f->n_conf--;
	while (f->n_txn_ranges && f->txn_ranges[f->n_txn_ranges - 1].index >= from)
		f->n_txn_ranges--;
	while (f->n_revokes && f->revokes[f->n_revokes - 1].index >= from)
		f->n_revokes--;
	if (f->last_compaction_index >= from) {
		/* the compaction came from the overwritten suffix: the one before
		 * it is not known any more, so be conservative */
		f->last_compaction = 0;
		f->last_compaction_index = 0;
	}
}

/* membership.ConfigChangeContext: the Member JSON inline, plus
 * "isPromote" (etcd 3.4+ server.go PromoteMember). */
static bool context_is_promote(ProtobufCBinaryData ctx)
{
	if (!ctx.len || !ctx.data)
		return false;
	json_t *j = json_loadb((const char *)ctx.data, ctx.len, JSON_DECODE_INT_AS_REAL, NULL);
	bool p = json_is_true(json_object_get(j, "isPromote"));
	json_decref(j);
	return p;
}

static kvf_status add_conf(kvf_wal_facts *f, const kvf_raft_entry *e, int type, uint64_t node, bool promote,
                           bool v2, kvf_wal_where at, kvf_err *err)
{
	if (!grow((void **)&f->conf, &f->cap_conf, f->n_conf, sizeof(*f->conf)))
		return nomem(err);
	f->conf[f->n_conf++] = (kvf_wal_conf){ .index = e->index, .term = e->term, .type = type, .node_id = node,
	                                       .promote = promote, .v2 = v2, .at = at };
	return KVF_OK;
}

/* The lowest explicit revision any range of the txn reads (nested txns
 * included); 0 when none names one. */
static int64_t txn_min_range_rev(const Etcdserverpb__TxnRequest *t, int depth)
{
	int64_t best = 0;
	if (!t || depth > 32)
		return 0;
	for (int side = 0; side < 2; side++) {
		size_t n = side ? t->n_failure : t->n_success;
		Etcdserverpb__RequestOp **ops = side ? t->failure : t->success;
		for (size_t i = 0; i < n && ops; i++) {
			const Etcdserverpb__RequestOp *op = ops[i];
			int64_t r = 0;
			if (!op)
				continue;
			if (op->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_RANGE && op->request_range)
				r = op->request_range->revision;
			else if (op->request_case == ETCDSERVERPB__REQUEST_OP__REQUEST_REQUEST_TXN)
				r = txn_min_range_rev(op->request_txn, depth + 1);
			if (r > 0 && (!best || r < best))
				best = r;
		}
	}
	return best;
}

static kvf_status on_entry(kvf_wal_facts *f, const kvf_raft_entry *e, kvf_wal_where at, kvf_arena *arena,
                           kvf_err *err)
{
	kvf_status st = KVF_OK;
	if (e->type == KVF_ENTRY_CONF_CHANGE || e->type == KVF_ENTRY_CONF_CHANGE_V2) {
		kvf_request r;
		kvf_request_decode(e, arena, &r);
		if (r.cc)
			st = add_conf(f, e, r.cc->type, r.cc->node_id, context_is_promote(r.cc->context), false, at, err);
		else if (r.ccv2)
			for (size_t i = 0; i < r.ccv2->n_changes && !st; i++)
				if (r.ccv2->changes[i])
					st = add_conf(f, e, r.ccv2->changes[i]->type, r.ccv2->changes[i]->node_id,
					              context_is_promote(r.ccv2->context), true, at, err);
		kvf_arena_reset(arena);
		return st;
	}
	if (e->type != KVF_ENTRY_NORMAL || !e->len)
		return KVF_OK;
	const char *kind = kvf_request_kind(e, arena);
	if (kind && e->index > f->ci &&
	    (!strcmp(kind, "put") || !strcmp(kind, "delete_range") || !strcmp(kind, "txn") ||
	     !strcmp(kind, "compaction") || !strcmp(kind, "lease_grant") || !strcmp(kind, "lease_revoke"))) {
		if (!f->writes_above_ci++) {
			f->first_write_above_ci = e->index;
			f->first_write_above_ci_at = at;
		}
	}
	if (!kind || !(strcmp(kind, "txn") == 0 || strcmp(kind, "lease_revoke") == 0 ||
	               strcmp(kind, "compaction") == 0 || strcmp(kind, "auth_enable") == 0 ||
	               strcmp(kind, "auth_disable") == 0)) {
		kvf_arena_reset(arena);
		return KVF_OK;
	}
	kvf_request r;
	kvf_request_decode(e, arena, &r);
	Etcdserverpb__InternalRaftRequest *irr = r.irr;
	if (!irr) {
		kvf_arena_reset(arena);
		return KVF_OK;
	}
	if (irr->compaction) {
		f->last_compaction = irr->compaction->revision;
		f->last_compaction_index = e->index;
	} else if (irr->auth_enable || irr->auth_disable) {
		if (!f->first_auth_toggle)
			f->first_auth_toggle = irr->auth_enable ? 1 : -1;
		f->auth_state_known = true;
		f->auth_state = irr->auth_enable != NULL;
	} else if (irr->txn) {
		int64_t rev = txn_min_range_rev(irr->txn, 0);
		if (rev > 0) {
			f->txn_ranges_total++;
			if (f->last_compaction && rev < f->last_compaction) {
				if (!grow((void **)&f->txn_ranges, &f->cap_txn_ranges, f->n_txn_ranges, sizeof(*f->txn_ranges)))
					st = nomem(err);
				else
					f->txn_ranges[f->n_txn_ranges++] = (kvf_wal_txn_range){
						.index = e->index, .term = e->term, .id = r.id, .revision = rev,
						.compacted = f->last_compaction, .compaction_index = f->last_compaction_index,
						.at = at };
			}
		}
	} else if (irr->lease_revoke) {
		f->revokes_total++;
		if (!r.username.len) {
			if (!grow((void **)&f->revokes, &f->cap_revokes, f->n_revokes, sizeof(*f->revokes)))
				st = nomem(err);
			else
				f->revokes[f->n_revokes++] = (kvf_wal_revoke){
					.index = e->index, .term = e->term, .id = r.id, .lease = irr->lease_revoke->id,
					.auth_enabled_known = f->auth_state_known, .auth_enabled = f->auth_state, .at = at };
		}
	}
	kvf_arena_reset(arena);
	return st;
}

static kvf_status copy_ids(uint64_t **dst, size_t *n, const uint64_t *src, size_t m, kvf_err *err)
{
	free(*dst);
	*dst = NULL;
	*n = 0;
	if (!m || !src)
		return KVF_OK;
	if (!(*dst = malloc(m * sizeof(**dst))))
		return nomem(err);
	memcpy(*dst, src, m * sizeof(**dst));
	*n = m;
	return KVF_OK;
}

kvf_status kvf_wal_facts_read(const char *wal_dir, uint64_t consistent_index, kvf_wal_facts *f, kvf_err *err)
{
	memset(f, 0, sizeof(*f));
	f->ci = consistent_index;
	kvf_wal_segments segs = { 0 };
	kvf_status st = kvf_wal_segments_add(&segs, wal_dir, err);
	if (st) {
		kvf_wal_segments_free(&segs);
		return st;
	}
	kvf_wal_segments_order(&segs);
	kvf_raftlog_options o = { .decode_requests = false };
	kvf_raftlog *l;
	if ((st = kvf_raftlog_open(&l, &segs, &o, err))) {
		kvf_wal_segments_free(&segs);
		return st;
	}
	f->present = true;
	kvf_arena arena;
	kvf_arena_init(&arena);
	kvf_log_item it;
	const kvf_wal_segment *cur = NULL;
	uint64_t prev_index = 0;
	bool have_prev = false;
	while ((st = kvf_raftlog_next(l, &it, err)) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		if (it.ev.kind == KVF_WAL_EV_FINDING)
			continue;
		if (it.ev.segment && it.ev.segment != cur) {
			cur = it.ev.segment;
			char **nf = realloc(f->files, (f->n_files + 1) * sizeof(*nf));
			if (!nf || !(nf[f->n_files] = strdup(cur->path))) {
				if (nf)
					f->files = nf;
				st = nomem(err);
				break;
			}
			f->files = nf;
			f->n_files++;
		}
		if (it.ev.kind != KVF_WAL_EV_RECORD || !it.payload_ok)
			continue;
		kvf_wal_where at = { .file = (uint32_t)(f->n_files ? f->n_files - 1 : 0), .offset = it.ev.rec.offset };
		switch (it.ev.rec.type) {
		case KVF_WAL_ENTRY:
			if (have_prev && it.entry.index <= prev_index)
				truncate_from(f, it.entry.index);
			prev_index = it.entry.index;
			have_prev = true;
			st = on_entry(f, &it.entry, at, &arena, err);
			break;
		case KVF_WAL_SNAPSHOT:
			f->have_snap = true;
			f->snap_index = it.snap.index;
			f->snap_term = it.snap.term;
			f->snap_at = at;
			f->snap_has_conf = it.snap.has_conf_state && it.snap.conf_state;
			if (f->snap_has_conf)
				st = copy_ids(&f->snap_voters, &f->n_snap_voters, it.snap.conf_state->voters,
				              it.snap.conf_state->n_voters, err);
			if (f->snap_has_conf && !st)
				st = copy_ids(&f->snap_learners, &f->n_snap_learners, it.snap.conf_state->learners,
				              it.snap.conf_state->n_learners, err);
			break;
		default:
			break;
		}
		if (st)
			break;
	}
	if (!st) {
		const kvf_log_summary *s = kvf_raftlog_summary(l);
		f->have_hardstate = s->have_hardstate;
		f->commit = s->hardstate.commit;
		f->term = s->hardstate.term;
		f->have_entries = s->have_entries;
		f->first_index = s->first_index;
		f->last_index = s->last_index;
		if (s->have_metadata && s->metadata.parsed) {
			f->node_id = s->metadata.node_id;
			f->cluster_id = s->metadata.cluster_id;
		}
		f->damage = s->damage;
	}
	kvf_arena_free(&arena);
	kvf_raftlog_close(l);
	kvf_wal_segments_free(&segs);
	return st;
}

const char *kvf_wal_facts_file(const kvf_wal_facts *f, kvf_wal_where at)
{
	return at.file < f->n_files ? f->files[at.file] : NULL;
}

void kvf_wal_facts_free(kvf_wal_facts *f)
{
	for (size_t i = 0; i < f->n_files; i++)
		free(f->files[i]);
	free(f->files);
	free(f->snap_voters);
	free(f->snap_learners);
	free(f->conf);
	free(f->txn_ranges);
	free(f->revokes);
	memset(f, 0, sizeof(*f));
}
