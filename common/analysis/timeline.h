/* The raft log along its index, compact enough to draw: what the HTML
 * report's timeline needs (render_html.c), collected during the WAL scan
 * diff.c already makes (one call per item, no second pass).
 *
 * A million entries are too many to keep or draw one by one, so entries are
 * counted in at most KVF_TL_BINS bins of equal width; when the log outgrows
 * the bins, neighbours merge pairwise and the width doubles, so memory is
 * fixed and the cost per entry is a few additions. The rare events a reader
 * looks for (term changes, auth changes, conf changes, compactions,
 * snapshots) are also kept one by one, up to KVF_TL_MAX_EVENTS; beyond that
 * only their counts per bin remain. */
#ifndef KVF_TIMELINE_H
#define KVF_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wal/raftlog.h"

#define KVF_TL_BINS 512
#define KVF_TL_MAX_EVENTS 2048

typedef enum kvf_tl_event_kind {
	KVF_TL_TERM,        /* a new term starts here: an election (often a restart) */
	KVF_TL_AUTH,        /* an auth change that bumps authRevision */
	KVF_TL_CONF,        /* a membership change */
	KVF_TL_COMPACT,     /* a compaction request */
	KVF_TL_SNAPSHOT,    /* a snapshot record in the WAL */
	KVF_TL_KINDS
} kvf_tl_event_kind;

typedef struct kvf_tl_event {
	uint64_t index, term;
	kvf_tl_event_kind kind;
	const char *what;   /* static: the request kind */
} kvf_tl_event;

typedef struct kvf_tl_bin {
	uint32_t entries;   /* entries that took effect (committed, not overwritten) */
	uint32_t writes;    /* of them puts, deletes and txns: what moves the revision */
	uint32_t events[KVF_TL_KINDS];
} kvf_tl_bin;

typedef struct kvf_timeline {
	bool have;                 /* at least one entry seen */
	uint64_t first_index, last_index;
	uint64_t base, width;      /* bin b holds indexes [base + b*width, base + (b+1)*width) */
	size_t n_bins;
	kvf_tl_bin bins[KVF_TL_BINS];
	uint64_t last_term;
	uint64_t entries, writes, skipped;   /* skipped: overwritten, uncommitted, bad CRC */
	uint64_t events_total[KVF_TL_KINDS];
	kvf_tl_event *events;      /* in log order, the first KVF_TL_MAX_EVENTS */
	size_t n_events, cap_events;
	bool events_truncated;
	const char *wal_dir;       /* the WAL it was read from (not owned) */
} kvf_timeline;

/* One item of the raft log, as the scan reads it (any item kind). */
void kvf_timeline_item(kvf_timeline *t, const kvf_log_item *it);
/* The bin that holds index (clamped to the bins in use). */
size_t kvf_timeline_bin_of(const kvf_timeline *t, uint64_t index);
const char *kvf_tl_event_name(kvf_tl_event_kind k);
void kvf_timeline_free(kvf_timeline *t);

#endif
