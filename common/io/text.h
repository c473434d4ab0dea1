/* Bytes as text, without losing any: UTF-8 validation and the escaped
 * text form of a byte string. Used by the output layer and by analyses that
 * compare values as text; no I/O, no allocation but the caller's buffer. */
#ifndef KVF_TEXT_H
#define KVF_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/buf.h"

/* Length of the printable UTF-8 sequence that starts with the non-ASCII
 * byte p[0], or 0: valid, shortest form, no surrogates, nothing beyond
 * Unicode, no C1 controls. */
static inline size_t kvf_utf8_printable_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t cp;
	if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
	else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
	else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	/* overlong forms, surrogates, beyond Unicode, C1 controls */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
		return 0;
	return len;
}

/* Printable UTF-8: valid, and no control characters but \t \n \r. */
bool kvf_utf8_printable(const uint8_t *p, size_t n);

/* Text: bytes as they are when printable and free of blanks and quotes,
 * otherwise double-quoted with \" \\ \n \t \xNN escapes (lossless). */
bool kvf_text_bytes(kvf_buf *b, const uint8_t *p, size_t n);

#endif
