/* The inner loop of the text (io/text.c) and JSON (render/render.c)
 * escapers: runs of bytes that are printed as they are, or after a
 * backslash (" and \), the bulk of the JSON that Kubernetes stores, where
 * one byte in five is a quote. No I/O, no allocation. */
#ifndef KVF_ESCAPE_H
#define KVF_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies the longest prefix of p[0..n) made of whole 16-byte blocks whose
 * bytes are all 0x20..0x7e (and, when high_ok, 0x80..0xff too) to *w, with
 * a backslash before every " and \; advances *w and returns the number of
 * bytes of p consumed (a multiple of 16; 0 when the first block does not
 * qualify, or n < 16). Reads nothing past p + n. *w must have room for
 * 2 * n + 16 bytes: the blocks are stored whole, past the bytes that count. */
size_t kvf_escape_run(char **w, const uint8_t *p, size_t n, bool high_ok);

#endif
