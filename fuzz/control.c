/*
 * Fuzz target: the control protocol's command parser.
 *
 * control_parse() the whole input, then each '\n'-separated line of it as
 * the connection code hands them over, and compare with an independent
 * reading of the protocol: exactly "reload", "status", "status json",
 * "status text", "stop", "reopen", "promote" or "rollback", one trailing
 * '\r' allowed, at most CONTROL_LINE_MAX bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

/* What the protocol says the line means: a command, or -1. */
static int
fuzz_expect(const char *line, size_t len)
{
	if (len > CONTROL_LINE_MAX)
		return -1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
#define IS(w)	(len == sizeof(w) - 1 && memcmp(line, w, len) == 0)
	if (IS("reload"))
		return CONTROL_RELOAD;
	if (IS("status") || IS("status json"))
		return CONTROL_STATUS;
	if (IS("status text"))
		return CONTROL_STATUS_TEXT;
	if (IS("stop"))
		return CONTROL_STOP;
	if (IS("reopen"))
		return CONTROL_REOPEN;
	if (IS("promote"))
		return CONTROL_PROMOTE;
	if (IS("rollback"))
		return CONTROL_ROLLBACK;
#undef IS
	return -1;
}

static void
fuzz_one(const char *line, size_t len)
{
	enum control_cmd	 cmd = (enum control_cmd)-1;
	int			 rc, want;

	rc = control_parse(line, len, &cmd);
	want = fuzz_expect(line, len);
	if (want == -1 ? rc != -1 : rc != 0 || (int)cmd != want) {
		fprintf(stderr, "control_parse('%.*s', %zu) = %d, cmd %d; "
		    "expected %d\n", (int)len, line, len, rc, (int)cmd, want);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data, *end = p + size, *eol;
	char		*copy;

	/* An exact-size copy, so that a read past len is caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	fuzz_one(copy, size);
	free(copy);

	while (p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			eol = end;
		if ((copy = malloc(eol > p ? (size_t)(eol - p) : 1)) == NULL)
			abort();
		memcpy(copy, p, eol - p);
		fuzz_one(copy, eol - p);
		free(copy);
		p = eol + 1;
	}
	return 0;
}
