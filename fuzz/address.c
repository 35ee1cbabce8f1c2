/*
 * Fuzz target: listen addresses.
 *
 * address_parse() the input. An address it accepts must have a
 * Server::Starter form, copy into an equal address, and its canonical
 * url must parse back into an equal address with the same url. A
 * refusal must come with a message and leave nothing allocated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

static int
fuzz_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct address	 a, copy, back;
	char		*url, *ss, *error = NULL;

	url = strndup((const char *)data, size);
	if (url == NULL)
		abort();
	if (address_parse(url, &a, &error) == -1) {
		if (error == NULL || a.host != NULL || a.path != NULL ||
		    a.url != NULL)
			abort();
		free(error);
		free(url);
		return 0;
	}
	if (a.url == NULL)
		abort();
	if (a.kind == ADDRESS_UNIX ? a.path == NULL || a.path[0] != '/' :
	    a.host == NULL || a.port < 1 || a.port > 65535)
		abort();

	ss = address_server_starter(&a);
	if (ss == NULL || *ss == '\0')
		abort();
	free(ss);

	address_copy(&copy, &a);
	if (!address_equal(&copy, &a) || !address_equal(&a, &copy))
		abort();

	if (address_parse(a.url, &back, &error) == -1) {
		fprintf(stderr, "canonical url '%s' of '%s' does not parse: "
		    "%s\n", a.url, url, error);
		abort();
	}
	if (!address_equal(&a, &back) || !fuzz_streq(a.url, back.url)) {
		fprintf(stderr, "'%s' -> '%s' -> '%s'\n", url, a.url,
		    back.url);
		abort();
	}
	address_clear(&back);
	address_clear(&copy);
	address_clear(&a);
	free(url);
	return 0;
}
