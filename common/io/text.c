#include "io/text.h"

#include <stdbool.h>

bool kvf_utf8_printable(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t len = kvf_utf8_printable_seq(p + i, n - i);
		if (!len)
			return false;
		i += len;
	}
	return true;
}

static bool plain_byte(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

bool kvf_text_bytes(kvf_buf *b, const uint8_t *p, size_t n)
{
	bool plain = n > 0;
	for (size_t i = 0; i < n && plain; i++)
		plain = plain_byte(p[i]);
	if (!plain && n && kvf_utf8_printable(p, n)) {
		/* non-ASCII but printable and without blanks: keep as is */
		plain = true;
		for (size_t i = 0; i < n && plain; i++)
			plain = p[i] >= 0x80 || plain_byte(p[i]);
	}
	if (plain)
		return kvf_buf_append(b, p, n);
	bool ok = kvf_buf_putc(b, '"');
	bool utf8 = kvf_utf8_printable(p, n);
	for (size_t i = 0; i < n && ok; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\')
			ok = kvf_buf_putc(b, '\\') && kvf_buf_putc(b, (char)c);
		else if (c == '\n')
			ok = kvf_buf_puts(b, "\\n");
		else if (c == '\t')
			ok = kvf_buf_puts(b, "\\t");
		else if ((c >= 0x20 && c < 0x7f) || (utf8 && c >= 0x80))
			ok = kvf_buf_putc(b, (char)c);
		else
			ok = kvf_buf_printf(b, "\\x%02x", c);
	}
	return ok && kvf_buf_putc(b, '"');
}
