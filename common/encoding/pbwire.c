#include "encoding/pbwire.h"

#include <stdlib.h>
#include <string.h>

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
