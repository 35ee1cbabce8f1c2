/*
 * Passing descriptors to a command as systemd does (sd_listen_fds(3)), for
 * the test programs that stand in for it: test/activate and test/fakesd.
 * Static inline: each is one source file.
 */
#ifndef BATON_TEST_LISTENFDS_H
#define BATON_TEST_LISTENFDS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Close every descriptor from low up, as systemd passes nothing else. */
static inline void
listenfds_close_from(int low)
{
	DIR		*d;
	struct dirent	*de;
	long		 fd;
	char		*end;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, &end, 10);
		if (*end != '\0' || end == de->d_name || fd < low ||
		    fd == dirfd(d))
			continue;
		close((int)fd);
	}
	closedir(d);
}

/*
 * Right before exec: fds[n] at 3, 4, ... without close-on-exec, nothing
 * else above stderr, and LISTEN_FDS, LISTEN_FDNAMES (names joined by ':')
 * and LISTEN_PID (ours: exec keeps it) set; with n = 0, none of them.
 * Returns 0, or -1 with errno set.
 */
static inline int
listenfds_pass(const int *fds, int n, const char *const *names)
{
	char	 value[32], *joined;
	size_t	 len = 1;
	int	 i, *lifted;

	unsetenv("LISTEN_PIDFDID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("LISTEN_PID");
	if ((lifted = calloc(n + 1, sizeof(*lifted))) == NULL)
		return -1;
	/*
	 * Every one above the target range first, so that moving one down
	 * to 3 + i never overwrites another; dup2() then clears
	 * close-on-exec on exactly the descriptors passed.
	 */
	for (i = 0; i < n; i++) {
		if ((lifted[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n)) == -1)
			return -1;
		len += strlen(names[i]) + 1;
	}
	for (i = 0; i < n; i++)
		if (dup2(lifted[i], 3 + i) == -1)
			return -1;
	listenfds_close_from(3 + n);
	free(lifted);
	if (n == 0)
		return 0;
	if ((joined = malloc(len)) == NULL)
		return -1;
	joined[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(joined, ":");
		strcat(joined, names[i]);
	}
	snprintf(value, sizeof(value), "%d", n);
	if (setenv("LISTEN_FDS", value, 1) == -1 ||
	    setenv("LISTEN_FDNAMES", joined, 1) == -1)
		return -1;
	free(joined);
	snprintf(value, sizeof(value), "%ld", (long)getpid());
	return setenv("LISTEN_PID", value, 1);
}

#endif
