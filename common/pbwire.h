/* Zero-copy protobuf wire-format reading.
 *
 * protobuf-c (through our .proto files) decodes every message completely.
 * These helpers exist for the hot paths that touch every record of a large
 * file but need only a few fields: the WAL frame (walpb.Record), the raft
 * entry header, and the key of an mvccpb.KeyValue. They read in place,
 * without copying payloads, and stop at the first malformed byte.
 * Tests check that they agree with protobuf-c on real data. */
#ifndef KVF_PBWIRE_H
#define KVF_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

enum { KVF_PB_VARINT = 0, KVF_PB_I64 = 1, KVF_PB_LEN = 2, KVF_PB_I32 = 5 };

typedef struct kvf_pb_reader {
	const uint8_t *p, *end;
} kvf_pb_reader;

typedef struct kvf_pb_field {
	uint32_t num;
	uint8_t wire;
	uint64_t u64;          /* varint, fixed64 or fixed32 value */
	const uint8_t *data;   /* KVF_PB_LEN: the bytes, in place */
	size_t len;
} kvf_pb_field;

static inline kvf_pb_reader kvf_pb_init(const void *p, size_t n)
{
	kvf_pb_reader r = { p, (const uint8_t *)p + n };
	return r;
}

/* 1: a field was read; 0: clean end of message; -1: malformed (groups,
 * field number 0, truncated varint or length, length past the end). */
int kvf_pb_next(kvf_pb_reader *r, kvf_pb_field *f);

/* Read a varint at p (at most end); returns bytes used, 0 if malformed. */
size_t kvf_pb_varint(const uint8_t *p, const uint8_t *end, uint64_t *v);

/* Whether data parses as `desc` with message nesting no deeper than
 * max_depth. protobuf-c unpacks nested messages recursively; a crafted
 * entry of a few megabytes could nest a million levels and overflow the
 * stack, so everything goes through this check before protobuf-c sees it. */
bool kvf_pb_depth_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                     size_t len, int max_depth);

/* A bump allocator for protobuf-c: unpacking a message costs a few pointer
 * bumps, and kvf_arena_reset frees a whole decoded message at once. */
typedef struct kvf_arena {
	ProtobufCAllocator pc;     /* pass &arena->pc to protobuf-c */
	struct kvf_arena_chunk *head;
	size_t used_in_head;
	bool failed;               /* an allocation failed since the last reset */
} kvf_arena;

void kvf_arena_init(kvf_arena *a);
void kvf_arena_reset(kvf_arena *a);
void kvf_arena_free(kvf_arena *a);
void *kvf_arena_alloc(kvf_arena *a, size_t n);

#endif
