#include <stddef.h>

#include <event2/buffer.h>

#include "json.h"

/*
 * The length of the well-formed UTF-8 sequence at p (Unicode table 3-7),
 * or, when there is none, the negated length of its maximal ill-formed
 * part (at least 1): the bytes one U+FFFD replaces.
 */
static int
json_utf8(const unsigned char *p)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	int		 need, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return -1;	/* continuation, C0, C1, F5..FF */
	for (i = 1; i < need; i++) {
		/* The NUL at the end fails here too: a sequence cut short. */
		if (p[i] < lo || p[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

void
json_string(struct evbuffer *out, const char *s)
{
	const unsigned char	*p;
	int			 n;

	if (s == NULL) {
		evbuffer_add(out, "null", 4);
		return;
	}
	evbuffer_add(out, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = json_utf8(p);
		if (n < 0) {
			evbuffer_add(out, "\xef\xbf\xbd", 3);	/* U+FFFD */
			n = -n;
		} else if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(out, "\\u%04x", *p);
		else
			evbuffer_add(out, p, n);
	}
	evbuffer_add(out, "\"", 1);
}
