/* Rendering of one member checked against its own WAL (analysis/verify.h):
 * `dump-db verify`. */
#ifndef KVF_RENDER_VERIFY_H
#define KVF_RENDER_VERIFY_H

#include "analysis/verify.h"
#include "render/render.h"

json_t *kvf_json_verify(const kvf_verify *v);
void kvf_text_verify(kvf_buf *b, const kvf_verify *v, const kvf_render_opts *o);

#endif
