/* The incident report: one self-contained HTML page (inline CSS and SVG,
 * no network, readable without JavaScript; a few lines of inline script,
 * allowed by hash in its Content-Security-Policy, sort the tables and open
 * every section for printing), from the same records as the text and JSON
 * output of a replica comparison (diff.h), the raft log binned along its
 * index (timeline.h) and the inputs' record (report.h).
 *
 * Sections: headline (verdicts, most complete member, recovery commands),
 * members, timeline, revision drift, divergent keys, evidence. The numbers
 * a test compares with the JSON output carry data- attributes. */
#ifndef KVF_RENDER_HTML_H
#define KVF_RENDER_HTML_H

#include "analysis/diff.h"
#include "analysis/record.h"
#include "analysis/timeline.h"
#include "io/buf.h"

/* t may be NULL or empty (no WAL): the timeline shows what the dbs say. */
void kvf_html_diff(kvf_buf *b, const kvf_diff *d, const kvf_timeline *t, const kvf_record *r);

#endif
