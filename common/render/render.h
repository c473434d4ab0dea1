/* The output layer: one decoded record, rendered as JSON (jansson) or as a
 * line of text. The renderers build values; the tools decide where they go.
 *
 * JSON conventions (documented in the man pages):
 *   - byte strings are JSON strings when they are printable UTF-8, otherwise
 *     {"base64": "..."}; nothing is dropped or mangled;
 *   - counters and revisions are numbers; a 64-bit value beyond 2^53 (where
 *     JSON readers lose precision) is a decimal string;
 *   - identifiers: request ids are decimal strings, member/cluster/node and
 *     lease ids 16 lowercase hex digits (kvf_json_hex), as etcdctl prints
 *     them, so that one id never shows with and without a leading zero. */
#ifndef KVF_RENDER_H
#define KVF_RENDER_H

#include <stdbool.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "io/buf.h"
#include "io/text.h"

typedef struct kvf_render_opts {
	bool show_secrets;   /* passwords and simple tokens from the raft log */
	bool values;         /* text: show values, not just their length */
	bool color;          /* text: ANSI colour (terminal, no NO_COLOR) */
} kvf_render_opts;

json_t *kvf_json_bytes(const uint8_t *p, size_t n);
json_t *kvf_json_u64(uint64_t v);
json_t *kvf_json_i64(int64_t v);
json_t *kvf_json_hex(uint64_t v);
json_t *kvf_json_dec_string(uint64_t v);

/* A whole protobuf-c message, field by field from its descriptor: absent
 * and default-valued fields are left out, enums by name, secrets redacted
 * unless opts->show_secrets. */
json_t *kvf_json_message(const ProtobufCMessage *m, const kvf_render_opts *opts);

/* Set key to value and drop our reference (jansson's _new variants). */
static inline void kvf_json_set(json_t *obj, const char *key, json_t *value)
{
	json_object_set_new(obj, key, value);
}

/* Write one value as a line of compact JSON. Returns false on a write error. */
bool kvf_json_write_line(FILE *out, json_t *v);
/* Write one value as an indented JSON document. */
bool kvf_json_write_doc(FILE *out, json_t *v);

/* Append v to b as JSON (json_dumpb flags); false if jansson refused it,
 * and then b is as it was. */
bool kvf_json_append(kvf_buf *b, json_t *v, size_t flags);

/* Streaming JSON: the bytes kvf_json_write_line prints for the trees above,
 * appended straight to a buffer, without building the tree. A WAL listing
 * renders a million records; building and dumping a jansson tree for each
 * cost ten times as much as decoding them. The trees stay the reference
 * (and the form for whole documents): tests hold the two to the same
 * bytes, record by record, over every fixture.
 *   kvf_jw_key      `"key":`, after a comma unless it opens the object
 *   kvf_jw_elem     the comma before an array element (none for the first)
 *   kvf_jw_raw      punctuation: { } [ ]
 *   kvf_jw_string   a valid UTF-8 C string (names, enum values)
 *   kvf_jw_bytes    as kvf_json_bytes: a string, or {"base64": ...}
 *   the others      as kvf_json_u64, kvf_json_i64, json_integer, kvf_json_hex,
 *                   kvf_json_dec_string, json_boolean, kvf_json_message */
void kvf_jw_key(kvf_buf *b, const char *key);
/* Punctuation and member names known when compiling, commas included
 * (",\"mod_revision\":"): what the hot records (a pair of bucket `key`, a
 * WAL put) write a dozen times each, without kvf_jw_key's comma test and
 * strlen. The caller knows the comma is due. */
#define KVF_JW_LIT(b, s) kvf_jw_lit((b), "" s, sizeof(s) - 1)
static inline void kvf_jw_lit(kvf_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n && !kvf_buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}
void kvf_jw_elem(kvf_buf *b);
void kvf_jw_raw(kvf_buf *b, const char *s);
void kvf_jw_string(kvf_buf *b, const char *s);
void kvf_jw_bytes(kvf_buf *b, const uint8_t *p, size_t n);
void kvf_jw_u64(kvf_buf *b, uint64_t v);
void kvf_jw_i64(kvf_buf *b, int64_t v);
void kvf_jw_int(kvf_buf *b, long long v);
void kvf_jw_hex(kvf_buf *b, uint64_t v);
void kvf_jw_dec_string(kvf_buf *b, uint64_t v);
void kvf_jw_bool(kvf_buf *b, bool v);
void kvf_jw_message(kvf_buf *b, const ProtobufCMessage *m, const kvf_render_opts *opts);

/* printf's "%*" PRIu64 and "%-*s", without printf: a listing prints a
 * million lines, and printf was a quarter of its time. */
bool kvf_text_uint(kvf_buf *b, uint64_t v, int width);
bool kvf_text_padded(kvf_buf *b, const char *s, int width);
/* v in decimal, as printf's %lld writes it (without printf's cost: once
 * per field of every pair of a dump). */
bool kvf_text_int(kvf_buf *b, int64_t v);
/* Byte counts for people: 1023B, 1.5KiB, 12.0MiB. */
bool kvf_text_size(kvf_buf *b, uint64_t n);

/* ANSI colour helpers; no-ops unless opts->color. */
const char *kvf_color(const kvf_render_opts *o, const char *which);

#endif
