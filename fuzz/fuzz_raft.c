/* Raft payloads: the bytes of an entry's data decoded as each entry type
 * would carry them (InternalRaftRequest with its v2 fallback, ConfChange,
 * ConfChangeV2), the same bytes as a raftpb.Entry / HardState / Metadata /
 * walpb.Snapshot record, and as a whole .snap file; every request rendered
 * in text and JSON, its keys walked, its cheap kind held to the decode. */
#include "fuzz_common.h"

#include "wal/raft.h"
#include "render/render_wal.h"
#include "wal/request.h"

static void on_key(void *ctx, const char *op, ProtobufCBinaryData key, ProtobufCBinaryData end)
{
	size_t *n = ctx;
	*n += key.len + end.len + strlen(op);
}

static void request(const kvf_raft_entry *e, kvf_arena *arena)
{
	kvf_request r;
	kvf_request_decode(e, arena, &r);
	const char *scan = kvf_request_kind_scan(e);
	if (scan && strcmp(scan, r.kind) != 0) {
		fprintf(stderr, "scan %s, decode %s\n", scan, r.kind);
		fuzz_fail("request kind scan disagrees with the decode");
	}
	const char *kind = kvf_request_kind(e, arena);
	if (strcmp(kind, r.kind) != 0) {
		fprintf(stderr, "kind %s, decode %s\n", kind, r.kind);
		fuzz_fail("kvf_request_kind disagrees with the decode");
	}
	kvf_render_opts ro[2] = { { .values = true, .color = true }, { .show_secrets = true } };
	kvf_buf b = KVF_BUF_INIT;
	for (int i = 0; i < 2; i++) {
		kvf_text_request(&b, &r, &ro[i]);
		fuzz_dump(kvf_json_request(&r, &ro[i]));
	}
	fuzz_dump(kvf_json_header(&r));
	fuzz_dump(kvf_json_request_keys(&r));
	size_t n = 0;
	kvf_request_keys(&r, on_key, &n);
	kvf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kvf_arena arena;
	kvf_arena_init(&arena);
	for (uint64_t type = 0; type <= 3; type++) {
		kvf_raft_entry e = { .term = 2, .index = 7, .type = type,
		                     .data = size ? data : NULL, .len = size };
		request(&e, &arena);
		kvf_arena_reset(&arena);
	}
	kvf_raft_entry e;
	if (kvf_raft_entry_parse(data, size, &e))
		request(&e, &arena);
	kvf_arena_reset(&arena);
	kvf_hardstate hs;
	kvf_hardstate_parse(data, size, &hs);
	kvf_wal_metadata md;
	kvf_wal_metadata_parse(data, size, &md);
	kvf_wal_snapshot ws;
	if (kvf_wal_snapshot_parse(data, size, &arena, &ws) && ws.has_conf_state && ws.conf_state)
		fuzz_dump(kvf_json_conf_state(ws.conf_state));
	kvf_arena_reset(&arena);
	kvf_snap_file sf;
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_snap_read(fuzz_file(data, size), &arena, &sf, &err) == KVF_OK && sf.conf_state)
		fuzz_dump(kvf_json_conf_state(sf.conf_state));
	kvf_arena_free(&arena);
	return 0;
}
