#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"
#include "xmalloc.h"

/* Longer than any pid and its newline: what baton writes is shorter. */
#define PIDFILE_MAX	24

struct pidfile {
	char	*path;
	int	 fd;		/* holds the lock */
	char	 text[PIDFILE_MAX];	/* what baton wrote: "PID\n" */
};

/* The pid in text, if text is exactly a decimal pid and a newline. */
static long
pidfile_parse(const char *text, size_t len)
{
	long	 pid = 0;
	size_t	 i;

	if (len < 2 || len > 11 || text[len - 1] != '\n')
		return 0;
	for (i = 0; i + 1 < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return 0;
		pid = pid * 10 + (text[i] - '0');
	}
	return pid;
}

/*
 * What is at path, for baton to write its pid file there. Returns 0 if
 * nothing is there, 1 for a stale pid file (of a baton that is gone) that
 * may be replaced, or -1 with *error set: baton touches nothing else.
 */
static int
pidfile_check(const char *path, char **error)
{
	struct stat	 st, fst;
	char		 buf[PIDFILE_MAX];
	ssize_t		 n;
	long		 pid;
	int		 fd, locked;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		*error = xprintf("pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		*error = xprintf("pidfile %s: is a symbolic link; baton never "
		    "follows one: name the file itself", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error = xprintf("pidfile %s: is not a regular file", path);
		return -1;
	}
	/* O_NONBLOCK: a FIFO swapped in since lstat() must not hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		*error = xprintf("pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &fst) == -1 || !S_ISREG(fst.st_mode) ||
	    fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		close(fd);
		*error = xprintf("pidfile %s: changed while baton looked at it",
		    path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	locked = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	pid = n > 0 ? pidfile_parse(buf, (size_t)n) : 0;
	if (pid <= 0) {
		*error = xprintf("pidfile %s: is not a pid file (a pid and a "
		    "newline); baton leaves it alone: remove it or name "
		    "another path", path);
		return -1;
	}
	if (locked) {
		*error = xprintf("pidfile %s: another baton (pid %ld) runs",
		    path, pid);
		return -1;
	}
	/*
	 * Unlocked: its baton is gone, unless the pid is someone else's,
	 * alive (another daemon's pid file). Our own pid is stale too: a
	 * container's pid 1 before a restart.
	 */
	if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 ||
	    errno == EPERM)) {
		*error = xprintf("pidfile %s: names pid %ld, which runs but "
		    "does not hold the file's lock, so it is no baton; "
		    "remove the file if it is stale", path, pid);
		return -1;
	}
	return 1;
}

struct pidfile *
pidfile_new(const char *path, int fd, char **error)
{
	struct pidfile	*pf;
	char		*tmp, buf[PIDFILE_MAX];
	int		 n, stale;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fd != -1) {
		/* Ours, locked, with our pid: the same after an upgrade. */
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			*error = xprintf("pidfile %s: fcntl: %s", path,
			    strerror(errno));
			close(fd);
			return NULL;
		}
		goto hold;
	}
	if ((stale = pidfile_check(path, error)) == -1)
		return NULL;
	tmp = xprintf("%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1) {
		*error = xprintf("pidfile %s: cannot create a file beside it: "
		    "%s", path, strerror(errno));
		free(tmp);
		return NULL;
	}
	/*
	 * Into place: link() never replaces anything, so a file that
	 * appeared since the check is left alone; rename() replaces only
	 * the stale pid file seen there.
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 || write(fd, buf, n) != n ||
	    fsync(fd) == -1 ||
	    (stale ? rename(tmp, path) : link(tmp, path)) == -1) {
		*error = xprintf("pidfile %s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	if (!stale)
		unlink(tmp);
	free(tmp);
hold:
	pf = xcalloc(1, sizeof(*pf));
	pf->path = xstrdup(path);
	pf->fd = fd;
	memcpy(pf->text, buf, n + 1);
	return pf;
}

/*
 * Still the file baton wrote: the same inode at the path, not through a
 * link, with the same text. Returns 1 if so, 0 if not, -1 if nothing is
 * there any more.
 */
static int
pidfile_ours(const struct pidfile *pf)
{
	struct stat	 ours, there;
	char		 buf[PIDFILE_MAX];
	ssize_t		 n;
	int		 fd, same;

	if (fstat(pf->fd, &ours) == -1)
		return 0;
	if ((fd = open(pf->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return errno == ENOENT ? -1 : 0;
	n = read(fd, buf, sizeof(buf));
	same = fstat(fd, &there) == 0 && ours.st_dev == there.st_dev &&
	    ours.st_ino == there.st_ino && n == (ssize_t)strlen(pf->text) &&
	    memcmp(buf, pf->text, n) == 0;
	close(fd);
	return same;
}

void
pidfile_free(struct pidfile *pf)
{
	if (pf == NULL)
		return;
	/* Remove it only if nobody replaced or rewrote it meanwhile. */
	switch (pidfile_ours(pf)) {
	case 1:
		if (unlink(pf->path) == -1)
			log_warn("pidfile %s: unlink: %s", pf->path,
			    strerror(errno));
		break;
	case 0:
		log_warn("pidfile %s: no longer the file baton wrote; left "
		    "alone", pf->path);
		break;
	}
	close(pf->fd);
	free(pf->path);
	free(pf);
}

int
pidfile_fd(const struct pidfile *pf)
{
	return pf->fd;
}
