/* Rendering of WAL records, raft requests and log summaries. */
#ifndef KVF_RENDER_WAL_H
#define KVF_RENDER_WAL_H

#include "wal/raftlog.h"
#include "render/render.h"
#include "wal/request.h"

json_t *kvf_json_request(const kvf_request *r, const kvf_render_opts *o);
json_t *kvf_json_header(const kvf_request *r);
json_t *kvf_json_request_keys(const kvf_request *r);
/* The Kubernetes objects a request puts, each {"key", then kvf_json_k8s's fields}. */
json_t *kvf_json_request_k8s(const kvf_request *r);
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
/* A finding of one of several members' logs: named by the member's label
 * and the segment's path ("!! node1: node1/member/wal/...wal: offset N: ..."),
 * JSON with "member" and "path" added. */
void kvf_text_wal_finding_of(kvf_buf *b, const char *member, const kvf_wal_event *ev,
                             const kvf_render_opts *o);
json_t *kvf_json_wal_finding_of(const char *member, const kvf_wal_event *ev);
/* Insert "member":LABEL as the first member of the JSON object written to b
 * at offset at (a line of kvf_jw_wal_item). */
void kvf_jw_prepend_member(kvf_buf *b, size_t at, const char *member);

json_t *kvf_json_log_summary(const kvf_log_summary *s, const kvf_wal_segments *segs);
void kvf_text_log_summary(kvf_buf *b, const kvf_log_summary *s, const kvf_render_opts *o);
/* When the newest segments are missing (later_segments_missing): text ", incomplete:
 * ... (the next is NAME)" after a verdict; JSON "incomplete" and "next_segment". */
void kvf_text_log_incomplete(kvf_buf *b, const kvf_log_summary *s);
void kvf_json_log_incomplete(json_t *obj, const kvf_log_summary *s);

#endif
