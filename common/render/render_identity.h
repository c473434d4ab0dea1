/* Rendering of the inputs' identity (analysis/identity.h): which cluster
 * each input belongs to, duplicates, removed members. Member and cluster
 * ids as etcdctl prints them: 16 hex digits (kvf_text_member_id). */
#ifndef KVF_RENDER_IDENTITY_H
#define KVF_RENDER_IDENTITY_H

#include "analysis/identity.h"
#include "render/render.h"

/* "%016x": one rendering for every member and cluster id diff-db shows. */
void kvf_text_member_id(char out[17], uint64_t id);
json_t *kvf_json_member_id(uint64_t id);

/* labels[i] names input i; paths[i] (may be NULL) is where it was read. */
json_t *kvf_json_identity(const kvf_identity_set *s, char *const *labels);
/* The inputs grouped by cluster, one block per cluster (for a refusal). */
void kvf_text_identity_clusters(kvf_buf *b, const kvf_identity_set *s, char *const *labels,
                                char *const *paths);
/* One "note:" line per duplicate member and removed member; nothing when
 * there is none. */
void kvf_text_identity_notes(kvf_buf *b, const kvf_identity_set *s, char *const *labels);

#endif
