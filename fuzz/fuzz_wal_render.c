/* A WAL segment, rendered: frames, the CRC chain, records, raft entries and
 * what they request, then every renderer dump-wal uses (text lines, streamed
 * JSON held to the jansson tree, findings, the summary in both forms).
 *
 * The slow half of the WAL fuzzing (about a sixth of fuzz_wal's rate: each
 * item is rendered four ways): fuzz_wal is the fast decode-only harness CI
 * runs; this one keeps the renderers under the fuzzer for long runs
 * (fuzz/run.sh 1800 wal_render). Same corpus (fuzz/corpus/wal).
 *
 * Two passes, as dump-wal makes them: the listing (pre-pass, full request
 * decode) and the summary (kinds counted by the wire scan). */
#include "fuzz_common.h"

#include "wal/raftlog.h"
#include "render/render_wal.h"

static void listing(const kvf_wal_segments *segs)
{
	kvf_raftlog_options lo = { .decode_requests = true, .prepass = true };
	kvf_raftlog *log;
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_raftlog_open(&log, segs, &lo, &err) != KVF_OK)
		return;
	kvf_render_opts ro[2] = { { .values = true, .color = true }, { .show_secrets = false } };
	/* dump-wal's filters: kinds, key prefixes (empty too), users, indexes */
	const kvf_entry_filter filters[] = {
		{ .kinds = "put,txn,lease_*,auth_*,conf,v2,empty", .has_key_prefix = true,
		  .key_prefix = (const uint8_t *)"/registry/", .key_prefix_len = 10, .user = "root" },
		{ .has_key_prefix = true, .key_prefix = (const uint8_t *)"", .key_prefix_len = 0, .user = "" },
		{ .has_index = true, .index_from = 3, .index_to = 20 },
	};
	kvf_buf line = KVF_BUF_INIT;
	kvf_log_item it;
	unsigned n = 0;
	while (kvf_raftlog_next(log, &it, &err) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		const kvf_render_opts *o = &ro[n++ & 1];
		if (it.ev.kind == KVF_WAL_EV_FINDING) {
			kvf_buf_reset(&line);
			kvf_text_wal_finding(&line, &it.ev, o);
			fuzz_dump(kvf_json_wal_finding(&it.ev));
		}
		for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]); k++)
			kvf_entry_filter_match(&filters[k], &it);
		kvf_buf_reset(&line);
		kvf_text_wal_item(&line, &it, o, true);
		kvf_buf_reset(&line);
		bool shown = kvf_jw_wal_item(&line, &it, o);
		json_t *tree = kvf_json_wal_item(&it, o);
		if (shown != (tree != NULL))
			fuzz_fail("an item shown by one JSON renderer only");
		if (tree)
			fuzz_same_json(tree, &line);
		if (it.ev.kind == KVF_WAL_EV_RECORD && it.ev.rec.type == KVF_WAL_ENTRY && it.payload_ok) {
			/* the summary's cheap kind must be the listing's kind */
			const char *scan = kvf_request_kind_scan(&it.entry);
			if (scan && strcmp(scan, it.req.kind) != 0) {
				fprintf(stderr, "scan %s, decode %s\n", scan, it.req.kind);
				fuzz_fail("request kind scan disagrees with the decode");
			}
		}
	}
	const kvf_log_summary *s = kvf_raftlog_summary(log);
	kvf_buf_reset(&line);
	kvf_text_log_summary(&line, s, &ro[0]);
	fuzz_dump(kvf_json_log_summary(s, segs));
	kvf_buf_free(&line);
	kvf_raftlog_close(log);
}

static void summary(const kvf_wal_segments *segs)
{
	kvf_raftlog_options lo = { .count_kinds = true };
	kvf_raftlog *log;
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_raftlog_open(&log, segs, &lo, &err) != KVF_OK)
		return;
	kvf_log_item it;
	while (kvf_raftlog_next(log, &it, &err) == KVF_OK && it.ev.kind != KVF_WAL_EV_END)
		;
	kvf_buf line = KVF_BUF_INIT;
	kvf_text_log_summary(&line, kvf_raftlog_summary(log), &(kvf_render_opts){ .color = true });
	kvf_buf_free(&line);
	kvf_raftlog_close(log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kvf_wal_segments segs = { 0 };
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_wal_segments_add(&segs, fuzz_file(data, size), &err) == KVF_OK) {
		kvf_wal_segments_order(&segs);
		listing(&segs);
		summary(&segs);
	}
	kvf_wal_segments_free(&segs);
	return 0;
}
