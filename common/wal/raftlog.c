#include "wal/raftlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "encoding/k8s.h"
#include "io/buf.h"

/* A point where the log was truncated: the entry at (seg, off) has index
 * `index`, at or below the last index before it. */
typedef struct truncation {
	size_t seg;
	uint64_t off;
	uint64_t index;
} truncation;

/* Index continuity, shared by the pre-pass and the decoding pass. */
typedef struct continuity {
	bool have_last;
	uint64_t last_index, last_term;
	uint64_t snap_index;      /* highest snapshot record index since the last entry */
	bool snap_seen;
	bool damage_seen;         /* damage since the last good entry explains a gap */
} continuity;

struct kvf_raftlog {
	const kvf_wal_segments *segs;
	kvf_raftlog_options opt;
	kvf_wal_reader *rd;
	kvf_arena arena;
	kvf_log_summary sum;
	continuity cont;
	/* from the pre-pass */
	truncation *trunc;
	uint64_t *suffix_min;     /* min index over trunc[i..] */
	size_t n_trunc, trunc_pos;
	bool have_final_commit;
	uint64_t final_commit;
	/* a finding raised by this layer, emitted right after its record */
	bool has_pending;
	kvf_wal_event pending;
	bool ended;
	/* the first metadata record's bytes: every later one must be equal */
	uint8_t *metadata_bytes;
	size_t metadata_len;
	bool have_metadata_bytes;
};

int kvf_kind_index(const char *kind)
{
	const char *const *k = kvf_request_kinds();
	/* Kinds are mostly the very strings of kvf_request_kinds(): try the
	 * pointers before comparing the text (this runs for every entry). */
	for (int i = 0; k[i]; i++)
		if (k[i] == kind)
			return i;
	for (int i = 0; k[i]; i++)
		if (strcmp(k[i], kind) == 0)
			return i;
	return -1;
}

static void pend(kvf_raftlog *l, const kvf_wal_event *from, kvf_wal_finding_kind kind,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void pend(kvf_raftlog *l, const kvf_wal_event *from, kvf_wal_finding_kind kind,
                 const char *fmt, ...)
{
	kvf_wal_event *ev = &l->pending;
	memset(ev, 0, sizeof(*ev));
	ev->kind = KVF_WAL_EV_FINDING;
	ev->segment = from->segment;
	ev->segment_no = from->segment_no;
	ev->last_segment = from->last_segment;
	ev->finding.kind = kind;
	ev->finding.damage = kvf_wal_finding_is_damage(kind);
	ev->finding.offset = from->rec.offset;
	ev->finding.end = from->rec.offset + from->rec.frame_len;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->finding.msg, sizeof(ev->finding.msg), fmt, ap);
	va_end(ap);
	l->has_pending = true;
}

typedef enum step { STEP_NEXT, STEP_OVERWRITE, STEP_GAP } step;

/* Where entry `idx` stands relative to the log before it. */
static step advance(continuity *c, uint64_t idx, uint64_t term, uint64_t *prev_last)
{
	step s = STEP_NEXT;
	*prev_last = c->last_index;
	if (c->have_last) {
		if (idx <= c->last_index)
			s = STEP_OVERWRITE;
		else if (idx > c->last_index + 1 && !(c->snap_seen && c->snap_index + 1 >= idx))
			s = STEP_GAP;
	}
	c->have_last = true;
	c->last_index = idx;
	c->last_term = term;
	c->snap_seen = false;
	c->damage_seen = false;
	return s;
}

static void note_snapshot(continuity *c, uint64_t index)
{
	if (!c->snap_seen || index > c->snap_index)
		c->snap_index = index;
	c->snap_seen = true;
}

/* The quick pass: frames and entry headers only. */
static kvf_status prepass(kvf_raftlog *l, kvf_err *err)
{
	kvf_wal_reader *rd;
	kvf_status st = kvf_wal_open(&rd, l->segs, &l->opt.wal, err);
	if (st)
		return st;
	continuity c = { 0 };
	size_t cap = 0;
	kvf_wal_event ev;
	while ((st = kvf_wal_next(rd, &ev, err)) == KVF_OK && ev.kind != KVF_WAL_EV_END) {
		if (ev.kind != KVF_WAL_EV_RECORD || ev.rec.crc_state == KVF_CRC_MISMATCH)
			continue;
		if (ev.rec.type == KVF_WAL_ENTRY) {
			kvf_raft_entry e;
			uint64_t prev;
			if (!kvf_raft_entry_parse(ev.rec.data, ev.rec.len, &e))
				continue;
			if (advance(&c, e.index, e.term, &prev) == STEP_OVERWRITE) {
				if (!kvf_grow_array((void **)&l->trunc, &cap, l->n_trunc, sizeof(*l->trunc))) {
					st = kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
					break;
				}
				l->trunc[l->n_trunc++] = (truncation){ ev.segment_no, ev.rec.offset, e.index };
			}
		} else if (ev.rec.type == KVF_WAL_STATE) {
			kvf_hardstate hs;
			if (kvf_hardstate_parse(ev.rec.data, ev.rec.len, &hs)) {
				l->have_final_commit = true;
				l->final_commit = hs.commit;
			}
		} else if (ev.rec.type == KVF_WAL_SNAPSHOT) {
			kvf_arena_reset(&l->arena);
			kvf_wal_snapshot s;
			if (kvf_wal_snapshot_parse(ev.rec.data, ev.rec.len, &l->arena, &s))
				note_snapshot(&c, s.index);
		}
	}
	kvf_wal_close(rd);
	kvf_arena_reset(&l->arena);
	if (st)
		return st;
	if (l->n_trunc) {
		if (!(l->suffix_min = malloc(l->n_trunc * sizeof(*l->suffix_min))))
			return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
		uint64_t m = UINT64_MAX;
		for (size_t i = l->n_trunc; i-- > 0;) {
			if (l->trunc[i].index < m)
				m = l->trunc[i].index;
			l->suffix_min[i] = m;
		}
	}
	return KVF_OK;
}

kvf_status kvf_raftlog_open(kvf_raftlog **lp, const kvf_wal_segments *segs,
                            const kvf_raftlog_options *opt, kvf_err *err)
{
	kvf_raftlog *l = calloc(1, sizeof(*l));
	if (!l)
		return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
	l->segs = segs;
	l->opt = *opt;
	kvf_arena_init(&l->arena);
	kvf_status st = KVF_OK;
	if (opt->prepass)
		st = prepass(l, err);
	if (st == KVF_OK)
		st = kvf_wal_open(&l->rd, segs, &opt->wal, err);
	if (st) {
		kvf_raftlog_close(l);
		return st;
	}
	l->sum.segments = segs->n;
	*lp = l;
	return KVF_OK;
}

static bool entry_after(const truncation *t, size_t seg, uint64_t off)
{
	return t->seg > seg || (t->seg == seg && t->off > off);
}

static void count_finding(kvf_log_summary *s, const kvf_wal_finding *f)
{
	if (f->kind == KVF_WAL_LOST_ENTRIES)
		s->lost++;
	s->findings++;
	if (f->damage)
		s->damage++;
	if ((unsigned)f->kind < KVF_WAL_FINDING_KINDS)
		s->finding_count[f->kind]++;
	if (f->kind == KVF_WAL_INDEX_GAP)
		s->gaps++;
}

static void on_entry(kvf_raftlog *l, kvf_log_item *it)
{
	kvf_log_summary *s = &l->sum;
	const kvf_wal_event *ev = &it->ev;
	if (!kvf_raft_entry_parse(ev->rec.data, ev->rec.len, &it->entry)) {
		l->cont.damage_seen = true;
		pend(l, ev, KVF_WAL_BAD_ENTRY, "entry record does not hold a raftpb.Entry");
		return;
	}
	it->payload_ok = true;
	const kvf_raft_entry *e = &it->entry;
	s->entries++;
	const char *kind = NULL;
	kvf_etcd_version scanned;
	bool have_scanned = false;
	if (l->opt.decode_requests) {
		kvf_request_decode(e, &l->arena, &it->req);
		kind = it->req.kind;
	} else if (l->opt.count_kinds) {
		/* the kind and etcd's version of the request in one read of it;
		 * what the scan cannot vouch for is decoded in full */
		kind = kvf_request_kind_scan_version(e, &scanned);
		if (!(have_scanned = kind != NULL))
			kind = kvf_request_kind(e, &l->arena);
	}
	if (kind) {
		int k = kvf_kind_index(kind);
		if (k >= 0)
			s->kind_count[k]++;
		/* the lowest etcd version: only for a summary (count_kinds) */
		if (l->opt.count_kinds && ev->rec.crc_state != KVF_CRC_MISMATCH) {
			uint8_t flags;
			kvf_etcd_version v = kvf_entry_version(e, kind, &l->arena, &flags,
			                                       have_scanned ? &scanned : NULL);
			kvf_wal_version_entry(&s->version, e->index, v, flags);
		}
	}
	if (ev->rec.crc_state == KVF_CRC_MISMATCH)
		l->cont.damage_seen = true;
	if (ev->rec.crc_state != KVF_CRC_MISMATCH) {
		/* a damaged record's index is not evidence of anything */
		bool damage_before = l->cont.damage_seen;
		uint64_t prev;
		step stp = advance(&l->cont, e->index, e->term, &prev);
		if (!s->have_entries) {
			s->have_entries = true;
			s->first_index = e->index;
		}
		if (stp == STEP_OVERWRITE) {
			s->overwritten += prev - e->index + 1;
			pend(l, ev, KVF_WAL_OVERWRITE,
			     "entries %" PRIu64 "..%" PRIu64 " replaced from here by term %" PRIu64,
			     e->index, prev, e->term);
		} else if (stp == STEP_GAP && damage_before) {
			pend(l, ev, KVF_WAL_LOST_ENTRIES,
			     "entries %" PRIu64 "..%" PRIu64 " are unreadable (in the damage reported above)",
			     prev + 1, e->index - 1);
		} else if (stp == STEP_GAP) {
			pend(l, ev, KVF_WAL_INDEX_GAP,
			     "entries %" PRIu64 "..%" PRIu64 " are missing (no snapshot covers them)",
			     prev + 1, e->index - 1);
		}
		s->last_index = e->index;
		if (s->n_terms == 0 || s->terms[s->n_terms - 1].term != e->term) {
			if (kvf_grow_array((void **)&s->terms, &s->cap_terms, s->n_terms, sizeof(*s->terms)))
				s->terms[s->n_terms++] = (struct kvf_term_start){ e->term, e->index };
		}
	}
	if (l->opt.prepass) {
		while (l->trunc_pos < l->n_trunc &&
		       !entry_after(&l->trunc[l->trunc_pos], ev->segment_no, ev->rec.offset))
			l->trunc_pos++;
		it->overwritten = l->trunc_pos < l->n_trunc && l->suffix_min[l->trunc_pos] <= e->index;
		it->uncommitted = l->have_final_commit && e->index > l->final_commit;
	}
}

static void on_record(kvf_raftlog *l, kvf_log_item *it)
{
	kvf_log_summary *s = &l->sum;
	const kvf_wal_record *rec = &it->ev.rec;
	s->records_by_type[rec->type >= 1 && rec->type <= 5 ? rec->type : 0]++;
	if (rec->crc_state == KVF_CRC_OK)
		s->crc_ok++;
	else if (rec->crc_state == KVF_CRC_MISMATCH)
		s->crc_bad++;
	else
		s->crc_unchecked++;
	switch (rec->type) {
	case KVF_WAL_ENTRY:
		on_entry(l, it);
		break;
	case KVF_WAL_STATE:
		if (!(it->payload_ok = kvf_hardstate_parse(rec->data, rec->len, &it->hs))) {
			pend(l, &it->ev, KVF_WAL_BAD_STATE, "state record does not hold a raftpb.HardState");
		} else if (rec->crc_state != KVF_CRC_MISMATCH) {
			s->have_hardstate = true;
			s->hardstate = it->hs;
			kvf_wal_version_state(&s->version, it->hs.commit);
		}
		break;
	case KVF_WAL_METADATA:
		/* Not every WAL holds an etcdserverpb.Metadata here (etcd's own
		 * tests write arbitrary bytes): shown raw, never an error. */
		it->payload_ok = kvf_wal_metadata_parse(rec->data, rec->len, &it->md);
		/* etcd writes the same metadata at the head of every segment and
		 * its ReadAll fails with ErrMetadataConflict when one differs
		 * (wal/wal.go). The record's crc covers only its data, so a
		 * damaged type field can turn a state record into a "metadata"
		 * record whose crc still chains: only this comparison sees it. */
		if (!l->have_metadata_bytes) {
			l->metadata_bytes = malloc(rec->len ? rec->len : 1);
			if (l->metadata_bytes) {
				if (rec->len)   /* an empty record's data may be NULL */
					memcpy(l->metadata_bytes, rec->data, rec->len);
				l->metadata_len = rec->len;
				l->have_metadata_bytes = true;
			}
		} else if (rec->len != l->metadata_len ||
		           (rec->len && memcmp(rec->data, l->metadata_bytes, rec->len) != 0)) {
			pend(l, &it->ev, KVF_WAL_METADATA_CONFLICT,
			     "metadata record differs from the first one (etcd refuses such a WAL: metadata conflict)");
			break;
		}
		if (it->payload_ok) {
			s->have_metadata = true;
			s->metadata = it->md;
		}
		break;
	case KVF_WAL_SNAPSHOT:
		if (!(it->payload_ok = kvf_wal_snapshot_parse(rec->data, rec->len, &l->arena, &it->snap))) {
			pend(l, &it->ev, KVF_WAL_BAD_SNAPSHOT, "snapshot record does not hold a walpb.Snapshot");
		} else {
			note_snapshot(&l->cont, it->snap.index);
			if (rec->crc_state != KVF_CRC_MISMATCH)
				kvf_wal_version_snapshot(&s->version, it->snap.index);
			if (kvf_grow_array((void **)&s->snaps, &s->cap_snaps, s->n_snaps, sizeof(*s->snaps)))
				s->snaps[s->n_snaps++] = (struct kvf_snap_mark){ it->snap.index, it->snap.term };
		}
		break;
	case KVF_WAL_CRC:
		it->payload_ok = true;
		break;
	default:
		break;
	}
}

static void finish(kvf_raftlog *l)
{
	kvf_log_summary *s = &l->sum;
	if (s->have_hardstate && s->have_entries && s->last_index > s->hardstate.commit) {
		uint64_t from = s->hardstate.commit >= s->first_index ? s->hardstate.commit + 1 : s->first_index;
		s->uncommitted = s->last_index - from + 1;
	}
	uint64_t done, total;
	kvf_wal_progress(l->rd, &done, &total);
	s->bytes = total;
	kvf_wal_version_result_of(&s->version, &s->wal_version);
}

/* The segment etcd created when it cut the last one we have: the next
 * sequence number, and the index after the last entry written (wal.go cut:
 * walName(w.seq()+1, w.enti+1)). Only this layer knows the entry indexes. */
static void name_next_segment(kvf_raftlog *l, kvf_wal_event *ev)
{
	kvf_wal_finding *f = &ev->finding;
	size_t n = strlen(f->msg);
	if (!ev->segment || !ev->segment->named || !l->cont.have_last || n + 60 > sizeof(f->msg))
		return;
	snprintf(f->msg + n, sizeof(f->msg) - n, "; the next one is %016" PRIx64 "-%016" PRIx64 ".wal",
	         ev->segment->seq + 1, l->cont.last_index + 1);
	kvf_log_summary *s = &l->sum;
	s->next_segment_seq = ev->segment->seq + 1;
	s->next_segment_index = l->cont.last_index + 1;
	s->later_segments_missing = true;
}

kvf_status kvf_raftlog_next(kvf_raftlog *l, kvf_log_item *it, kvf_err *err)
{
	/* Everything but the event, which is filled below: clearing the whole
	 * item (event and message buffer included) for every record showed in
	 * profiles of --verify. */
	it->payload_ok = false;
	memset(&it->entry, 0, sizeof(it->entry));
	memset(&it->req, 0, sizeof(it->req));
	memset(&it->hs, 0, sizeof(it->hs));
	memset(&it->md, 0, sizeof(it->md));
	memset(&it->snap, 0, sizeof(it->snap));
	it->overwritten = it->uncommitted = false;
	if (l->has_pending) {
		kvf_wal_copy_event(&it->ev, &l->pending);
		l->has_pending = false;
		count_finding(&l->sum, &it->ev.finding);
		return KVF_OK;
	}
	kvf_arena_reset(&l->arena);
	kvf_status st = kvf_wal_next(l->rd, &it->ev, err);
	if (st)
		return st;
	switch (it->ev.kind) {
	case KVF_WAL_EV_RECORD:
		on_record(l, it);
		break;
	case KVF_WAL_EV_FINDING:
		if (it->ev.finding.damage)
			l->cont.damage_seen = true;
		if (it->ev.finding.kind == KVF_WAL_LATER_SEGMENTS_MISSING)
			name_next_segment(l, &it->ev);
		count_finding(&l->sum, &it->ev.finding);
		break;
	case KVF_WAL_EV_END:
		if (!l->ended) {
			l->ended = true;
			finish(l);
		}
		break;
	case KVF_WAL_EV_SEGMENT:
		break;
	}
	return KVF_OK;
}

const kvf_log_summary *kvf_raftlog_summary(const kvf_raftlog *l)
{
	return &l->sum;
}

const kvf_wal_reader *kvf_raftlog_reader(const kvf_raftlog *l)
{
	return l->rd;
}

void kvf_log_summary_free(kvf_log_summary *s)
{
	free(s->terms);
	free(s->snaps);
	kvf_wal_version_free(&s->version);
	s->terms = NULL;
	s->snaps = NULL;
	s->n_terms = s->n_snaps = s->cap_terms = s->cap_snaps = 0;
}

void kvf_raftlog_close(kvf_raftlog *l)
{
	if (!l)
		return;
	kvf_wal_close(l->rd);
	kvf_arena_free(&l->arena);
	kvf_log_summary_free(&l->sum);
	free(l->trunc);
	free(l->suffix_min);
	free(l->metadata_bytes);
	free(l);
}

/* ---- filters ---- */

bool kvf_entry_filter_index(kvf_entry_filter *f, const char *spec)
{
	char *end;
	errno = 0;
	unsigned long long from = strtoull(spec, &end, 10);
	if (end == spec || errno)
		return false;
	unsigned long long to = UINT64_MAX;
	if (*end == ':') {
		const char *t = end + 1;
		if (*t) {
			to = strtoull(t, &end, 10);
			if (end == t || errno || *end)
				return false;
		}
	} else if (*end) {
		return false;
	} else {
		to = from;
	}
	if (to < from)
		return false;
	f->has_index = true;
	f->index_from = from;
	f->index_to = to;
	return true;
}

/* One pattern against one kind: exact, "prefix*", "conf" for both kinds
 * of membership change, or "v2" for every legacy v2 request. */
static bool pattern_matches(const char *pat, size_t plen, const char *kind)
{
	if (plen == 4 && strncmp(pat, "conf", 4) == 0)
		return strncmp(kind, "conf_change", 11) == 0;
	if (plen == 2 && strncmp(pat, "v2", 2) == 0)
		return strcmp(kind, "v2") == 0 || strncmp(kind, "v2_", 3) == 0;
	if (plen && pat[plen - 1] == '*')
		return strncmp(kind, pat, plen - 1) == 0;
	return strlen(kind) == plen && strncmp(kind, pat, plen) == 0;
}

static bool for_each_pattern(const char *list, bool (*fn)(const char *, size_t, void *), void *ctx)
{
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n && fn(p, n, ctx))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}

static bool match_one(const char *pat, size_t n, void *kind)
{
	return pattern_matches(pat, n, kind);
}

bool kvf_kind_matches(const char *list, const char *kind)
{
	return for_each_pattern(list, match_one, (void *)kind);
}

typedef struct bad_pattern {
	char *out;
	size_t outlen;
} bad_pattern;

static bool pattern_unknown(const char *pat, size_t n, void *ctx)
{
	const char *const *kinds = kvf_request_kinds();
	for (int k = 0; kinds[k]; k++)
		if (pattern_matches(pat, n, kinds[k]))
			return false;
	bad_pattern *b = ctx;
	snprintf(b->out, b->outlen, "%.*s", (int)n, pat);
	return true;
}

bool kvf_kind_list_valid(const char *list, char *bad, size_t badlen)
{
	bad_pattern b = { bad, badlen };
	return !for_each_pattern(list, pattern_unknown, &b);
}

typedef struct split_lists {
	kvf_buf req, k8s;
	bool ok, unknown;
	char *bad;
	size_t badlen;
} split_lists;

static bool split_one(const char *pat, size_t n, void *ctx)
{
	split_lists *sl = ctx;
	char bad[2];
	char *one = strndup(pat, n);
	if (!one) {
		sl->ok = false;
		return true;
	}
	kvf_buf *to = kvf_kind_list_valid(one, bad, sizeof(bad)) ? &sl->req
	            : kvf_k8s_kind_pattern(pat, n) ? &sl->k8s : NULL;
	free(one);
	if (!to) {
		snprintf(sl->bad, sl->badlen, "%.*s", (int)n, pat);
		sl->unknown = true;
		return true;
	}
	if ((to->len && !kvf_buf_putc(to, ',')) || !kvf_buf_append(to, pat, n))
		sl->ok = false;
	return !sl->ok;
}

bool kvf_kind_list_split(const char *list, char **request_kinds, char **k8s_kinds, char *bad,
                         size_t badlen)
{
	split_lists sl = { KVF_BUF_INIT, KVF_BUF_INIT, true, false, bad, badlen };
	if (badlen)
		bad[0] = '\0';
	for_each_pattern(list, split_one, &sl);
	bool ok = sl.ok && !sl.unknown;
	*request_kinds = ok && sl.req.len ? kvf_buf_detach(&sl.req, NULL) : NULL;
	*k8s_kinds = ok && sl.k8s.len ? kvf_buf_detach(&sl.k8s, NULL) : NULL;
	kvf_buf_free(&sl.req);
	kvf_buf_free(&sl.k8s);
	return ok;
}

/* Does the entry put a Kubernetes object of one of kinds (any, when NULL)
 * in namespace ns (any, when NULL)? */
typedef struct object_probe {
	const char *kinds, *ns;
	bool hit;
} object_probe;

static void probe_put(void *ctx, const Etcdserverpb__PutRequest *put)
{
	object_probe *op = ctx;
	kvf_k8s_object o;
	if (!op->hit && kvf_k8s_decode_bytes(put->value.data, put->value.len, &o) &&
	    kvf_k8s_matches(&o, op->kinds, op->ns))
		op->hit = true;
}

static bool puts_object(const kvf_request *r, const char *kinds, const char *ns)
{
	object_probe op = { kinds, ns, false };
	kvf_request_puts(r, probe_put, &op);
	return op.hit;
}

typedef struct prefix_probe {
	const uint8_t *p;
	size_t n;
	bool hit;
} prefix_probe;

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	/* protobuf-c leaves an absent bytes field (NULL, 0): no memcmp on NULL */
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	return c ? c : (an < bn ? -1 : an > bn);
}

/* Does [key, end) (or just key, when end is empty) reach under prefix? */
static void probe_key(void *ctx, const char *op, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	(void)op;
	prefix_probe *pp = ctx;
	if (key.len >= pp->n && (pp->n == 0 || memcmp(key.data, pp->p, pp->n) == 0)) {
		pp->hit = true;
		return;
	}
	if (end.len == 0)
		return;
	/* a range that starts before the prefix and ends after its first key */
	bool open_end = end.len == 1 && end.data[0] == 0;
	if (bytes_cmp(key.data, key.len, pp->p, pp->n) < 0 &&
	    (open_end || bytes_cmp(end.data, end.len, pp->p, pp->n) > 0))
		pp->hit = true;
}

bool kvf_entry_filter_active(const kvf_entry_filter *f)
{
	return f->has_index || f->kinds || f->has_key_prefix || f->user || f->k8s_kinds || f->k8s_namespace;
}

bool kvf_entry_filter_match(const kvf_entry_filter *f, const kvf_log_item *it)
{
	if (it->ev.kind != KVF_WAL_EV_RECORD || it->ev.rec.type != KVF_WAL_ENTRY)
		return !kvf_entry_filter_active(f);
	if (!it->payload_ok)
		return !kvf_entry_filter_active(f);
	const kvf_raft_entry *e = &it->entry;
	if (f->has_index && (e->index < f->index_from || e->index > f->index_to))
		return false;
	const kvf_request *r = &it->req;
	bool by_request = f->kinds && r->kind && kvf_kind_matches(f->kinds, r->kind);
	if ((f->kinds || f->k8s_kinds) && !by_request &&
	    !(f->k8s_kinds && puts_object(r, f->k8s_kinds, f->k8s_namespace)))
		return false;
	if (f->k8s_namespace && !puts_object(r, f->k8s_kinds, f->k8s_namespace))
		return false;
	if (f->user) {
		size_t n = strlen(f->user);
		if (!r->has_header || r->username.len != n ||
		    (n && memcmp(r->username.data, f->user, n) != 0))   /* (NULL, 0) when absent */
			return false;
	}
	if (f->has_key_prefix) {
		prefix_probe pp = { f->key_prefix, f->key_prefix_len, false };
		kvf_request_keys(r, probe_key, &pp);
		if (!pp.hit)
			return false;
	}
	return true;
}
