/* Rendering of a verdict list (analysis/verdict.h), shared by every tool
 * that concludes something: diff-db, dump-db verify. Members are named by
 * the labels the caller passes (index = kvf_verdict.member). */
#ifndef KVF_RENDER_VERDICT_H
#define KVF_RENDER_VERDICT_H

#include "analysis/verdict.h"
#include "render/render.h"

/* [{kind, divergence, member, first_divergent_index, headline, versions,
 *   recovery, evidence: [{text, file, offset, wal_index, member}]}] */
json_t *kvf_json_verdicts(const kvf_verdicts *vs, const char *const *labels, size_t n_labels);
json_t *kvf_json_ruled_out(const kvf_verdicts *vs);
/* One block per verdict, then what was ruled out. */
void kvf_text_verdicts(kvf_buf *b, const kvf_verdicts *vs, const char *const *labels, size_t n_labels,
                       const kvf_render_opts *o);

#endif
