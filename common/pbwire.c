#include "pbwire.h"

#include <stdlib.h>
#include <string.h>

size_t kvf_pb_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
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

int kvf_pb_next(kvf_pb_reader *r, kvf_pb_field *f)
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

static bool depth_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                     size_t len, int depth_left)
{
	if (depth_left < 0)
		return false;
	kvf_pb_reader r = kvf_pb_init(data, len);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		if (f.wire != KVF_PB_LEN)
			continue;
		const ProtobufCFieldDescriptor *fd =
			protobuf_c_message_descriptor_get_field(desc, f.num);
		if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !depth_ok(fd->descriptor, f.data, f.len, depth_left - 1))
			return false;
	}
	return rc == 0;
}

bool kvf_pb_depth_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                     size_t len, int max_depth)
{
	return depth_ok(desc, data, len, max_depth);
}

struct kvf_arena_chunk {
	struct kvf_arena_chunk *next;
	size_t cap;
	max_align_t mem[];
};

#define ARENA_CHUNK (64u << 10)

void *kvf_arena_alloc(kvf_arena *a, size_t n)
{
	size_t align = sizeof(max_align_t);
	if (n > SIZE_MAX - align) {
		a->failed = true;
		return NULL;
	}
	n = (n + align - 1) / align * align;
	struct kvf_arena_chunk *c = a->head;
	if (!c || c->cap - a->used_in_head < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c) {
			a->failed = true;
			return NULL;
		}
		c->cap = cap;
		c->next = a->head;
		a->head = c;
		a->used_in_head = 0;
	}
	void *p = (char *)c->mem + a->used_in_head;
	a->used_in_head += n;
	return p;
}

static void *pc_alloc(void *data, size_t n)
{
	return kvf_arena_alloc(data, n);
}

static void pc_free(void *data, void *p)
{
	(void)data;
	(void)p;   /* freed all at once by kvf_arena_reset */
}

void kvf_arena_init(kvf_arena *a)
{
	memset(a, 0, sizeof(*a));
	a->pc.alloc = pc_alloc;
	a->pc.free = pc_free;
	a->pc.allocator_data = a;
}

void kvf_arena_reset(kvf_arena *a)
{
	/* Keep one standard-size chunk; a message that needed a huge one gives
	 * the memory back. */
	struct kvf_arena_chunk *c = a->head, *keep = NULL;
	while (c) {
		struct kvf_arena_chunk *next = c->next;
		if (!keep && c->cap == ARENA_CHUNK) {
			keep = c;
			keep->next = NULL;
		} else {
			free(c);
		}
		c = next;
	}
	a->head = keep;
	a->used_in_head = 0;
	a->failed = false;
}

void kvf_arena_free(kvf_arena *a)
{
	struct kvf_arena_chunk *c = a->head;
	while (c) {
		struct kvf_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	kvf_arena_init(a);
}
