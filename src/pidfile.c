#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"
#include "xmalloc.h"

struct pidfile {
	char	*path;
	int	 fd;		/* holds the lock */
};

/* Nonzero, with the holder's pid, if a live process locks path. */
static int
pidfile_locked(const char *path, long *pid)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd, locked = 0;

	*pid = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
		locked = 1;
		if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			*pid = strtol(buf, NULL, 10);
		}
	}
	close(fd);
	return locked;
}

struct pidfile *
pidfile_new(const char *path, int fd, char **error)
{
	struct pidfile	*pf;
	char		*tmp, buf[32];
	long		 pid;
	int		 n;

	if (fd != -1) {
		/* Ours, locked, with our pid: the same after an upgrade. */
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		goto hold;
	}
	if (pidfile_locked(path, &pid)) {
		*error = xprintf("pidfile %s is locked by pid %ld (is another "
		    "baton running?)", path, pid);
		return NULL;
	}
	tmp = xprintf("%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1) {
		*error = xprintf("pidfile %s: %s", tmp, strerror(errno));
		free(tmp);
		return NULL;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 || write(fd, buf, n) != n ||
	    fsync(fd) == -1 || rename(tmp, path) == -1) {
		*error = xprintf("pidfile %s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	free(tmp);
hold:
	pf = xcalloc(1, sizeof(*pf));
	pf->path = xstrdup(path);
	pf->fd = fd;
	return pf;
}

void
pidfile_free(struct pidfile *pf)
{
	struct stat	 ours, there;

	if (pf == NULL)
		return;
	/* Remove it only if nobody replaced it meanwhile. */
	if (fstat(pf->fd, &ours) == 0 && lstat(pf->path, &there) == 0 &&
	    ours.st_ino == there.st_ino && ours.st_dev == there.st_dev &&
	    unlink(pf->path) == -1)
		log_warn("pidfile %s: unlink: %s", pf->path, strerror(errno));
	close(pf->fd);
	free(pf->path);
	free(pf);
}

int
pidfile_fd(const struct pidfile *pf)
{
	return pf->fd;
}
