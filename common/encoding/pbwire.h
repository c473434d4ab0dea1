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
#include <string.h>

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
	/* An absent field is (NULL, 0) (an entry without data, say), and NULL + 0
	 * is undefined behaviour in C (UBSan reports it): no arithmetic then. */
	kvf_pb_reader r = { p, n ? (const uint8_t *)p + n : (const uint8_t *)p };
	return r;
}

/* Read a varint at p (at most end); returns bytes used, 0 if malformed.
 * This and kvf_pb_next are inline: every WAL record goes through them a
 * dozen times, and a call per field showed in profiles of --verify. */
static inline size_t kvf_pb_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 10 && p + i < end; i++) {
		uint8_t b = p[i];
		if (i == 9 && b > 1)
			return 0;   /* more than 64 bits */
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/* 1: a field was read; 0: clean end of message; -1: malformed (groups,
 * field number 0, truncated varint or length, length past the end). */
static inline int kvf_pb_next(kvf_pb_reader *r, kvf_pb_field *f)
{
	if (r->p >= r->end)
		return 0;
	uint64_t key;
	size_t n = kvf_pb_varint(r->p, r->end, &key);
	if (!n || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	r->p += n;
	f->num = (uint32_t)(key >> 3);
	f->wire = (uint8_t)(key & 7);
	f->data = NULL;
	f->len = 0;
	switch (f->wire) {
	case KVF_PB_VARINT:
		n = kvf_pb_varint(r->p, r->end, &f->u64);
		if (!n)
			return -1;
		r->p += n;
		return 1;
	case KVF_PB_I64:
		if (r->end - r->p < 8)
			return -1;
		memcpy(&f->u64, r->p, 8);
		r->p += 8;
		return 1;
	case KVF_PB_I32: {
		uint32_t v;
		if (r->end - r->p < 4)
			return -1;
		memcpy(&v, r->p, 4);
		f->u64 = v;
		r->p += 4;
		return 1;
	}
	case KVF_PB_LEN: {
		uint64_t len;
		n = kvf_pb_varint(r->p, r->end, &len);
		if (!n)
			return -1;
		r->p += n;
		if (len > (uint64_t)(r->end - r->p))
			return -1;
		f->data = r->p;
		f->len = (size_t)len;
		f->u64 = len;
		r->p += len;
		return 1;
	}
	default:
		return -1;   /* groups (3, 4) and reserved wire types */
	}
}

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
