/* A WAL segment, decoded: frames, the CRC chain, records, raft entries and
 * what they request, the listing's filters and the summary's kind scan, but no
 * renderer (fuzz_wal_render renders every item; it runs at about a sixth of
 * this rate, too slow for CI's minute to explore).
 *
 * The listing as dump-wal makes it (the pre-pass, on odd-sized inputs, then
 * the full request decode); the summary's own pass (kinds counted by the wire scan alone,
 * the same WAL reader a third time) is left to fuzz_wal_render, but its kind
 * scan is run on every entry here, and the oracle holds it to the kind the
 * full decode found. */
#include "fuzz_common.h"

#include "wal/raftlog.h"

static void listing(const kvf_wal_segments *segs, bool prepass)
{
	kvf_raftlog_options lo = { .decode_requests = true, .prepass = prepass };
	kvf_raftlog *log;
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_raftlog_open(&log, segs, &lo, &err) != KVF_OK)
		return;
	/* dump-wal's filters: kinds, key prefixes (empty too), users, indexes */
	const kvf_entry_filter filters[] = {
		{ .kinds = "put,txn,lease_*,auth_*,conf,v2,empty", .has_key_prefix = true,
		  .key_prefix = (const uint8_t *)"/registry/", .key_prefix_len = 10, .user = "root" },
		{ .has_key_prefix = true, .key_prefix = (const uint8_t *)"", .key_prefix_len = 0, .user = "" },
		{ .has_index = true, .index_from = 3, .index_to = 20 },
	};
	kvf_log_item it;
	while (kvf_raftlog_next(log, &it, &err) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]); k++)
			kvf_entry_filter_match(&filters[k], &it);
		if (it.ev.kind == KVF_WAL_EV_RECORD && it.ev.rec.type == KVF_WAL_ENTRY && it.payload_ok) {
			/* the summary's cheap kind must be the listing's kind */
			const char *scan = kvf_request_kind_scan(&it.entry);
			if (scan && strcmp(scan, it.req.kind) != 0) {
				fprintf(stderr, "scan %s, decode %s\n", scan, it.req.kind);
				fuzz_fail("request kind scan disagrees with the decode");
			}
		}
	}
	kvf_raftlog_close(log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kvf_wal_segments segs = { 0 };
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_wal_segments_add(&segs, fuzz_file(data, size), &err) == KVF_OK) {
		kvf_wal_segments_order(&segs);
		/* The pre-pass runs the WAL reader over the input once more and
		 * nearly halves the rate: it runs for inputs of odd size only (real
		 * segments and the seeds are even-sized: 8-byte frames), which
		 * the mutations reach at once, so that both paths stay explored
		 * at >= 1000 executions a second. fuzz_wal_render always runs it. */
		listing(&segs, size % 2 == 1);
	}
	kvf_wal_segments_free(&segs);
	return 0;
}
