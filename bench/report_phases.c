/* The report's phases timed in one process (processor time), for
 * tests/NOTES-report.md: kvf_diff_run without and with the timeline hook
 * (twice each, alternating), then kvf_record_collect + kvf_html_diff. Not
 * built by meson; from the top of the tree, after ninja -C build:
 *   gcc -O2 -D_GNU_SOURCE -DKVF_VERSION='"x"' -Icommon -Ibuild/common -Ibuild/common/encoding/proto \
 *       bench/report_phases.c build/common/libkvf.a -lprotobuf-c -ljansson -lz -llmdb -lpthread -o /tmp/phases
 *   /tmp/phases NODE NODE... */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "analysis/diff.h"
#include "analysis/record.h"
#include "analysis/timeline.h"
#include "render/render_html.h"
static double cpu(void){ struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t); return t.tv_sec+t.tv_nsec/1e9; }
static double run(int argc, char **argv, int with_tl, int render) {
	kvf_diff d = {0}; kvf_err err; kvf_err_clear(&err); kvf_timeline tl = {0};
	for (int i = 1; i < argc; i++) if (kvf_diff_add_node(&d, NULL, argv[i], NULL, &err)) { fprintf(stderr,"add\n"); exit(2); }
	if (with_tl) d.timeline = &tl;
	double a = cpu();
	if (kvf_diff_run(&d, NULL, NULL, &err)) { fprintf(stderr,"run\n"); exit(2); }
	double b = cpu();
	if (render) {
		kvf_record r; kvf_record_files(&r, &d, &err); kvf_record_collect(&r, &d, &err);
		kvf_buf out = KVF_BUF_INIT; kvf_html_diff(&out, &d, &tl, &r);
		double c = cpu();
		printf("collect+render: %.3f s CPU, %zu bytes, %zu bins of %llu, %llu entries\n", c - b, out.len, tl.n_bins,
		       (unsigned long long)tl.width, (unsigned long long)tl.entries);
		kvf_buf_free(&out); kvf_record_free(&r, &d);
	}
	kvf_diff_free(&d); kvf_timeline_free(&tl);
	return b - a;
}
int main(int argc, char **argv) {
	for (int k = 0; k < 2; k++) {
		double p = run(argc, argv, 0, 0), t = run(argc, argv, 1, 1);
		printf("diff run: %.3f s CPU without the timeline, %.3f s with (%+.1f%%)\n", p, t, (t - p) * 100 / p);
	}
	return 0;
}
