/* Rendering of a replica comparison (diff.h): the per-member table, bucket
 * differences, divergent keys with their WAL entries, history, verdict. */
#ifndef KVF_RENDER_DIFF_H
#define KVF_RENDER_DIFF_H

#include "analysis/diff.h"
#include "render/render.h"

json_t *kvf_json_diff(const kvf_diff *d);
/* all_keys: list every divergent key instead of summarising runs by prefix. */
void kvf_text_diff(kvf_buf *b, const kvf_diff *d, bool all_keys, const kvf_render_opts *o);

/* A member's fate for a raft entry, as JSON and the report name it:
 * "applied", "rejected_auth_revision", "not_yet_applied", "unknown". */
const char *kvf_fate_name(kvf_touch_fate f);
/* A member's history against the reference: "same", "behind", "ahead", "diverged". */
const char *kvf_history_name(kvf_history_state h);

#endif
