/* Rendering of WAL records, raft requests and log summaries. */
#ifndef KVF_RENDER_WAL_H
#define KVF_RENDER_WAL_H

#include "wal/raftlog.h"
#include "render/render.h"
#include "wal/request.h"

json_t *kvf_json_request(const kvf_request *r, const kvf_render_opts *o);
json_t *kvf_json_header(const kvf_request *r);
json_t *kvf_json_request_keys(const kvf_request *r);
json_t *kvf_json_conf_state(const Raftpb__ConfState *cs);
/* What the v2 store of a .snap file holds (membership only from 3.6 on). */
json_t *kvf_json_snap_v2(const kvf_snap_v2 *v);
/* " v2store: members=N ... membership only" (nothing when it did not parse) */
void kvf_text_snap_v2(kvf_buf *b, const kvf_snap_v2 *v);
/* " voters=ID,.. learners=ID,.." (hex member ids, as etcdctl prints them) */
void kvf_text_conf_state(kvf_buf *b, const Raftpb__ConfState *cs);
void kvf_text_request(kvf_buf *b, const kvf_request *r, const kvf_render_opts *o);

/* One JSON object per record or finding; NULL for items that have none. */
json_t *kvf_json_wal_item(const kvf_log_item *it, const kvf_render_opts *o);
json_t *kvf_json_wal_finding(const kvf_wal_event *ev);
/* kvf_json_wal_item, appended to b as one line of compact JSON (no
 * newline) without building the tree; false when there is nothing to show. */
bool kvf_jw_wal_item(kvf_buf *b, const kvf_log_item *it, const kvf_render_opts *o);
/* One text line (no newline). false: nothing to show for this item
 * (state and crc records are shown only with all_records). */
bool kvf_text_wal_item(kvf_buf *b, const kvf_log_item *it, const kvf_render_opts *o, bool all_records);
void kvf_text_wal_finding(kvf_buf *b, const kvf_wal_event *ev, const kvf_render_opts *o);

json_t *kvf_json_log_summary(const kvf_log_summary *s, const kvf_wal_segments *segs);
void kvf_text_log_summary(kvf_buf *b, const kvf_log_summary *s, const kvf_render_opts *o);

#endif
