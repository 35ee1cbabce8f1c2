/*
 * Fuzz target: the worker command line.
 *
 * command_split() the input; then expand it for the sockets "http" and
 * "admin", and check that command_join() quotes
 * so that splitting again gives the very same argv, for the split words
 * and for the expanded ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

static char *const names[] = { "http", "admin" };

static size_t
fuzz_argc(char *const *argv)
{
	size_t	 n;

	for (n = 0; argv[n] != NULL; n++)
		;
	return n;
}

static void
fuzz_print_argv(const char *what, char *const *argv)
{
	size_t	 i;

	fprintf(stderr, "%s:", what);
	for (i = 0; argv != NULL && argv[i] != NULL; i++)
		fprintf(stderr, " [%s]", argv[i]);
	fprintf(stderr, "\n");
}

/* join(argv) splits back to argv, word for word. */
static void
fuzz_round_trip(char *const *argv)
{
	char	**back, *joined, *error = NULL;
	size_t	  i, n;

	joined = command_join(argv);
	if ((back = command_split(joined, &error)) == NULL) {
		fprintf(stderr, "joined command does not split: %s\njoined: "
		    "%s\n", error, joined);
		fuzz_print_argv("argv", argv);
		abort();
	}
	n = fuzz_argc(argv);
	if (fuzz_argc(back) != n)
		goto differ;
	for (i = 0; i < n; i++)
		if (strcmp(argv[i], back[i]) != 0)
			goto differ;
	command_free(back);
	free(joined);
	return;
differ:
	fprintf(stderr, "round trip changes the command\njoined: %s\n",
	    joined);
	fuzz_print_argv("argv", argv);
	fuzz_print_argv("back", back);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	**argv, **expanded, *s, *error = NULL;

	/* A configuration value is a C string: it ends at the first NUL. */
	s = strndup((const char *)data, size);
	if (s == NULL)
		abort();
	if ((argv = command_split(s, &error)) == NULL) {
		if (error == NULL)
			abort();
		free(error);
		free(s);
		return 0;
	}
	if (argv[0] == NULL)
		abort();	/* "command is empty" must have refused it */
	if (command_check(argv, names, 2, &error) == -1)
		free(error);
	fuzz_round_trip(argv);
	expanded = command_expand(argv, names, 2, 7, 3);
	if (fuzz_argc(expanded) != fuzz_argc(argv))
		abort();
	fuzz_round_trip(expanded);
	command_free(expanded);
	command_free(argv);
	free(s);
	return 0;
}
