/*
 * Fuzz target: whole configuration files.
 *
 * The input is written to a memfd and read back through /proc/self/fd/N,
 * so config_load() sees a real file with inih's real line reader. A file
 * that loads and finishes is printed, and config_print() promises "an INI
 * file that loads back": the printed text must load and finish again and
 * print the same. Every error string and every object is freed, so a leak
 * is a finding too.
 *
 * One limit, not a bug, is skipped unless FUZZ_STRICT is set in the
 * environment (see fuzz/README): directory, control and pidfile are made
 * absolute, and do not continue on a second line, so a relative path in
 * a deep folder can print longer than CONFIG_MAX_LINE, which does not
 * load back. Every other line config_print() writes must fit.
 */
#include <sys/mman.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static FILE	*devnull;
static int	 strict;

/* Write len bytes to a new memfd. Returns it, or -1. */
static int
fuzz_memfd(const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;
	int		 fd;

	if ((fd = memfd_create("fuzz.ini", MFD_CLOEXEC)) == -1)
		return -1;
	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= n;
	}
	return fd;
}

/* Load and finish the file at fd. Returns the config, or NULL. */
static struct config *
fuzz_load(int fd, char **error)
{
	struct config	*c;
	char		 path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c = config_new();
	if (config_load(c, path, error) == -1 ||
	    config_finish(c, error) == -1) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* The printed form of c, allocated, with its length in *len. */
static char *
fuzz_print(const struct config *c, size_t *len)
{
	FILE	*fp;
	char	*s = NULL;

	if ((fp = open_memstream(&s, len)) == NULL)
		abort();
	config_print(c, fp);
	fclose(fp);
	return s;
}

/* Does printed text s have a path line longer than a line may be? */
static int
fuzz_path_too_long(const char *s)
{
	static const char *const paths[] = { "directory", "control",
	    "pidfile" };
	size_t		 len, i;

	for (; *s != '\0'; s += len + (s[len] == '\n')) {
		len = strcspn(s, "\n");
		if (len <= CONFIG_MAX_LINE)
			continue;
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			if (strncmp(s, paths[i], strlen(paths[i])) == 0 &&
			    strchr(" =", s[strlen(paths[i])]) != NULL)
				return 1;
	}
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strict = getenv("FUZZ_STRICT") != NULL;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*c, *again;
	char		*error = NULL, *first, *second;
	size_t		 flen, slen;
	int		 fd, fd2;

	if (devnull == NULL && (devnull = fopen("/dev/null", "we")) == NULL)
		abort();
	if ((fd = fuzz_memfd(data, size)) == -1)
		return 0;
	c = fuzz_load(fd, &error);
	close(fd);
	if (c == NULL) {
		/* Every refusal says where: "FILE: ..." at least. */
		if (error == NULL || strncmp(error, "/proc/self/fd/", 14) != 0) {
			fprintf(stderr, "error without FILE: '%s'\n",
			    error != NULL ? error : "(null)");
			abort();
		}
		free(error);
		return 0;
	}
	config_print(c, devnull);

	/* It loads back, and prints the same. */
	first = fuzz_print(c, &flen);
	if (!strict && fuzz_path_too_long(first)) {
		free(first);
		config_free(c);
		return 0;
	}
	if ((fd2 = fuzz_memfd(first, flen)) == -1)
		abort();
	again = fuzz_load(fd2, &error);
	close(fd2);
	if (again == NULL) {
		fprintf(stderr, "printed configuration does not load back: "
		    "%s\n--- printed:\n%s---\n", error, first);
		abort();
	}
	second = fuzz_print(again, &slen);
	if (flen != slen || memcmp(first, second, flen) != 0) {
		fprintf(stderr, "printed configuration changes when loaded "
		    "back\n--- first:\n%s--- second:\n%s---\n", first, second);
		abort();
	}
	free(first);
	free(second);
	config_free(again);
	config_free(c);
	return 0;
}
