#include "analysis/timeline.h"

#include <stdlib.h>
#include <string.h>

#include "io/buf.h"

const char *kvf_tl_event_name(kvf_tl_event_kind k)
{
	switch (k) {
	case KVF_TL_TERM: return "term";
	case KVF_TL_AUTH: return "auth";
	case KVF_TL_CONF: return "conf";
	case KVF_TL_COMPACT: return "compaction";
	case KVF_TL_SNAPSHOT: return "snapshot";
	case KVF_TL_KINDS: break;
	}
	return "?";
}

/* The auth requests that change auth state (auth_enable, auth_user_add,
 * ...); "authenticate", a client's login, changes nothing a reader of the
 * timeline looks for. */
static bool is_auth(const char *kind)
{
	return strncmp(kind, "auth_", 5) == 0;
}

static bool is_write(const char *kind)
{
	return strcmp(kind, "put") == 0 || strcmp(kind, "delete_range") == 0 || strcmp(kind, "txn") == 0;
}

/* Make room for index: merge neighbouring bins until it fits. */
static size_t bin_for(kvf_timeline *t, uint64_t index)
{
	if (index < t->base)
		return 0;   /* a truncated log re-proposes lower indexes: the first bin */
	while ((index - t->base) / t->width >= KVF_TL_BINS) {
		for (size_t b = 0; b < KVF_TL_BINS / 2; b++) {
			kvf_tl_bin m = t->bins[2 * b];
			const kvf_tl_bin *o = &t->bins[2 * b + 1];
			m.entries += o->entries;
			m.writes += o->writes;
			for (int k = 0; k < KVF_TL_KINDS; k++)
				m.events[k] += o->events[k];
			t->bins[b] = m;
		}
		memset(&t->bins[KVF_TL_BINS / 2], 0, sizeof(t->bins) / 2);
		t->width *= 2;
		t->n_bins = (t->n_bins + 1) / 2;
	}
	size_t b = (size_t)((index - t->base) / t->width);
	if (b + 1 > t->n_bins)
		t->n_bins = b + 1;
	return b;
}

size_t kvf_timeline_bin_of(const kvf_timeline *t, uint64_t index)
{
	if (!t->have || index < t->base || !t->n_bins)
		return 0;
	uint64_t b = (index - t->base) / t->width;
	return b >= t->n_bins ? t->n_bins - 1 : (size_t)b;
}

static void event(kvf_timeline *t, size_t bin, kvf_tl_event_kind k, const kvf_log_item *it, const char *what)
{
	t->bins[bin].events[k]++;
	t->events_total[k]++;
	if (t->n_events >= KVF_TL_MAX_EVENTS) {
		t->events_truncated = true;
		return;
	}
	if (!kvf_grow_array((void **)&t->events, &t->cap_events, t->n_events, sizeof(*t->events))) {
		t->events_truncated = true;   /* the counts stay right; only the list is short */
		return;
	}
	t->events[t->n_events++] = (kvf_tl_event){ it->entry.index, it->entry.term, k, what };
}

void kvf_timeline_item(kvf_timeline *t, const kvf_log_item *it)
{
	if (it->ev.kind != KVF_WAL_EV_RECORD || !it->payload_ok)
		return;
	if (it->ev.rec.type == KVF_WAL_SNAPSHOT) {
		if (t->have)
			event(t, bin_for(t, it->snap.index), KVF_TL_SNAPSHOT, it, "snapshot");
		return;
	}
	if (it->ev.rec.type != KVF_WAL_ENTRY)
		return;
	if (it->overwritten || it->uncommitted || it->ev.rec.crc_state == KVF_CRC_MISMATCH) {
		t->skipped++;
		return;
	}
	uint64_t index = it->entry.index;
	if (!t->have) {
		t->have = true;
		t->first_index = t->base = index;
		t->width = 1;
		t->last_term = it->entry.term;
	}
	if (index > t->last_index)
		t->last_index = index;
	size_t b = bin_for(t, index);
	kvf_tl_bin *bin = &t->bins[b];
	bin->entries++;
	t->entries++;
	if (it->entry.term != t->last_term) {
		t->last_term = it->entry.term;
		event(t, b, KVF_TL_TERM, it, "term");
	}
	const kvf_request *r = &it->req;
	if (r->cls == KVF_REQ_CONF_CHANGE || r->cls == KVF_REQ_CONF_CHANGE_V2) {
		event(t, b, KVF_TL_CONF, it, r->kind);
		return;
	}
	if (r->cls != KVF_REQ_INTERNAL || !r->kind)
		return;
	if (is_write(r->kind)) {
		bin->writes++;
		t->writes++;
	} else if (strcmp(r->kind, "compaction") == 0) {
		event(t, b, KVF_TL_COMPACT, it, r->kind);
	} else if (is_auth(r->kind)) {
		event(t, b, KVF_TL_AUTH, it, r->kind);
	}
}

void kvf_timeline_free(kvf_timeline *t)
{
	free(t->events);
	memset(t, 0, sizeof(*t));
}
