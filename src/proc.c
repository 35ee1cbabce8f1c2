#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "proc.h"
#include "sockaddr.h"
#include "xmalloc.h"

/* The whole of a small /proc file, NUL-terminated; its length in *len. */
static char *
proc_read(const char *path, size_t *len)
{
	char	*buf = NULL;
	size_t	 size = 0, n = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (size - n < 1024) {
			size = size * 2 + 1024;
			buf = xreallocarray(buf, size, 1);
		}
		r = read(fd, buf + n, size - n - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	if (r == -1) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
proc_parse_stat(const char *text, struct proc *p)
{
	const char	*s;
	long		 pid, ppid, pgid, sid;
	int		 field;

	if (sscanf(text, "%ld", &pid) != 1 || pid <= 0)
		return -1;
	/* The command name may hold spaces and parentheses: the last ')'. */
	if ((s = strrchr(text, ')')) == NULL)
		return -1;
	if (sscanf(s + 1, " %*c %ld %ld %ld", &ppid, &pgid, &sid) != 3)
		return -1;
	/* The start time is field 22: the space before it is the 20th. */
	for (field = 2; field < 22 && s != NULL; field++)
		s = strchr(s + 1, ' ');
	if (s == NULL || !isdigit((unsigned char)s[1]))
		return -1;
	p->pid = (pid_t)pid;
	p->ppid = (pid_t)ppid;
	p->pgid = (pid_t)pgid;
	p->sid = (pid_t)sid;
	p->start = strtoull(s + 1, NULL, 10);
	return 0;
}

int
proc_dies_on(pid_t pid, int sig)
{
	char			 path[64], *text, *line;
	unsigned long long	 cgt = 0, ign = 0, bit;
	long			 threads = 0;

	if (sig < 1 || sig > 64)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((text = proc_read(path, NULL)) == NULL)
		return -1;
	for (line = text; line != NULL; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		(void)(sscanf(line, "SigCgt: %llx", &cgt) == 1 ||
		    sscanf(line, "SigIgn: %llx", &ign) == 1 ||
		    sscanf(line, "Threads: %ld", &threads) == 1);
	}
	free(text);
	if (threads == 0)
		return -1;
	bit = 1ULL << (sig - 1);
	return threads == 1 && !(cgt & bit) && !(ign & bit);
}

char
proc_state(pid_t pid)
{
	char	 path[64], *text, *s;
	char	 state = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((text = proc_read(path, NULL)) == NULL)
		return 0;
	if ((s = strrchr(text, ')')) != NULL && s[1] == ' ')
		state = s[2];
	free(text);
	return state;
}

int
proc_syscall(pid_t pid, long *nr, long *arg0)
{
	char		 path[64], *text;
	unsigned long	 a;
	int		 r = -1;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	if ((text = proc_read(path, NULL)) == NULL)
		return -1;
	/* "running", or "-1 SP PC" outside a system call. */
	if (sscanf(text, "%ld %lx", nr, &a) == 2 && *nr >= 0) {
		*arg0 = (long)a;
		r = 0;
	}
	free(text);
	return r;
}

/* Whether socket s (a copy of the target's) came from accept() on fds. */
static int
proc_accepted_from(int s, const int *fds, size_t n)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(int);
	int			 type, listening;

	if (getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return 0;
	len = sizeof(int);
	if (getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1 ||
	    listening)
		return 0;
	len = sizeof(ss);
	if (getsockname(s, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	return sockaddr_match((struct sockaddr *)&ss, len, type, fds, n) != -1;
}

int
proc_holds_accepted(pid_t pid, const int *fds, size_t n)
{
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
	char		 path[64], link[64];
	DIR		*dir;
	struct dirent	*de;
	ssize_t		 len;
	int		 pidfd, fd, copy, r = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return -1;
	if ((dir = opendir(path)) == NULL) {
		close(pidfd);
		return -1;
	}
	while (r == 0 && (de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%ld/fd/%d", (long)pid, fd);
		if ((len = readlink(path, link, sizeof(link) - 1)) == -1)
			continue;
		link[len] = '\0';
		if (strncmp(link, "socket:", 7) != 0)
			continue;
		if ((copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd,
		    0)) == -1) {
			if (errno != EBADF)
				r = -1;
			continue;
		}
		r = proc_accepted_from(copy, fds, n);
		close(copy);
	}
	closedir(dir);
	close(pidfd);
	return r;
#else
	errno = ENOSYS;
	return -1;
#endif
}

int
proc_in_accept(pid_t pid, const int *fds, size_t n)
{
	struct stat	 a, b;
	char		 path[64];
	long		 nr, fd;
	size_t		 i;

	if (proc_syscall(pid, &nr, &fd) == -1)
		return 0;
#if defined(SYS_accept)
	if (nr != SYS_accept && nr != SYS_accept4)
		return 0;
#else
	if (nr != SYS_accept4)
		return 0;
#endif
	snprintf(path, sizeof(path), "/proc/%ld/fd/%ld", (long)pid, fd);
	if (stat(path, &a) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (fstat(fds[i], &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return proc_holds_accepted(pid, fds, n) == 0;
	return 0;
}

int
proc_stat(pid_t pid, struct proc *p)
{
	char	 path[64], *text;
	int	 r;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((text = proc_read(path, NULL)) == NULL) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	r = proc_parse_stat(text, p);
	free(text);
	if (r == -1)
		errno = EINVAL;
	return r;
}

static void
proc_add_pid(pid_t **pids, size_t *n, size_t *size, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if ((*pids)[i] == pid)
			return;
	if (*n == *size) {
		*size = *size * 2 + 16;
		*pids = xreallocarray(*pids, *size, sizeof(**pids));
	}
	(*pids)[(*n)++] = pid;
}

/* The slow way: every process whose parent is us. */
static ssize_t
proc_children_walk(pid_t **pids)
{
	struct proc	*procs;
	ssize_t		 n, i;
	size_t		 count = 0, size = 0;
	pid_t		 self = getpid();

	*pids = NULL;
	if ((n = proc_table(&procs)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (procs[i].ppid == self)
			proc_add_pid(pids, &count, &size, procs[i].pid);
	free(procs);
	return (ssize_t)count;
}

ssize_t
proc_children(pid_t **pids)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], *text, *s, *end;
	size_t		 count = 0, size = 0;
	long		 pid;

	*pids = NULL;
	/* Each thread's own children; an adopted orphan counts as the leader's. */
	if ((d = opendir("/proc/self/task")) == NULL)
		return proc_children_walk(pids);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children",
		    de->d_name);
		if ((text = proc_read(path, NULL)) == NULL) {
			closedir(d);
			free(*pids);
			return proc_children_walk(pids);
		}
		for (s = text; *s != '\0'; s = end) {
			pid = strtol(s, &end, 10);
			if (end == s)
				break;
			if (pid > 0)
				proc_add_pid(pids, &count, &size, (pid_t)pid);
		}
		free(text);
	}
	closedir(d);
	return (ssize_t)count;
}

static int
proc_cmp(const void *a, const void *b)
{
	const struct proc	*x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

ssize_t
proc_table(struct proc **procs)
{
	DIR		*d;
	struct dirent	*de;
	struct proc	 p;
	size_t		 n = 0, size = 0;
	char		*end;
	long		 pid;

	*procs = NULL;
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		/* Gone since readdir(): nothing to track. */
		if (proc_stat((pid_t)pid, &p) == -1)
			continue;
		if (n == size) {
			size = size * 2 + 64;
			*procs = xreallocarray(*procs, size, sizeof(**procs));
		}
		(*procs)[n++] = p;
	}
	closedir(d);
	if (n > 0)
		qsort(*procs, n, sizeof(**procs), proc_cmp);
	return (ssize_t)n;
}

int
proc_getenv(pid_t pid, const char *name, char *buf, size_t len)
{
	char	 path[64], *env, *s;
	size_t	 n, nlen = strlen(name);
	int	 r = -1;

	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	if ((env = proc_read(path, &n)) == NULL)
		return -1;
	for (s = env; s < env + n; s += strlen(s) + 1) {
		if (strncmp(s, name, nlen) != 0 || s[nlen] != '=')
			continue;
		if (strlen(s + nlen + 1) < len) {
			memcpy(buf, s + nlen + 1, strlen(s + nlen + 1) + 1);
			r = 0;
		}
		break;
	}
	free(env);
	return r;
}

int
proc_descends(const struct proc *procs, size_t n, size_t i, pid_t ancestor)
{
	const struct proc	*p = &procs[i];
	struct proc		 key;
	size_t			 steps;

	/* At most n steps: a table read in passes may hold a loop. */
	for (steps = 0; steps < n; steps++) {
		if (p->ppid == ancestor)
			return 1;
		if (p->ppid <= 1)
			return 0;
		key.pid = p->ppid;
		if ((p = bsearch(&key, procs, n, sizeof(*procs),
		    proc_cmp)) == NULL)
			return 0;
	}
	return 0;
}

int
proc_kill(const struct proc *p, int sig)
{
	struct proc	 now;

#ifdef SYS_pidfd_open
	int		 pidfd, r;

	if ((pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0)) != -1) {
		/* Held open, the pid cannot name another process from here. */
		r = -1;
		if (proc_stat(p->pid, &now) == 0 && now.start == p->start)
			r = (int)syscall(SYS_pidfd_send_signal, pidfd, sig,
			    NULL, 0);
		close(pidfd);
		return r;
	}
	if (errno != ENOSYS)
		return -1;
#endif
	if (proc_stat(p->pid, &now) == -1 || now.start != p->start)
		return -1;
	return kill(p->pid, sig);
}

int
proc_kill_tree(const pid_t *roots, size_t nroots, int sig)
{
	struct proc	*procs;
	ssize_t		 n, i;
	size_t		 j;
	int		 count = 0;

	if ((n = proc_table(&procs)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		for (j = 0; j < nroots; j++) {
			if (procs[i].pid != roots[j] &&
			    !proc_descends(procs, n, i, roots[j]))
				continue;
			if (proc_kill(&procs[i], sig) == 0)
				count++;
			break;
		}
	}
	free(procs);
	return count;
}

/* One process's resident set, from the second field of /proc/PID/statm. */
static long long
proc_rss(pid_t pid)
{
	char		 path[64], *text;
	long long	 size, pages;

	snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
	if ((text = proc_read(path, NULL)) == NULL)
		return 0;
	if (sscanf(text, "%lld %lld", &size, &pages) != 2)
		pages = 0;
	free(text);
	return pages * sysconf(_SC_PAGESIZE);
}

long long
proc_memory(pid_t pgid, const pid_t *roots, size_t nroots)
{
	struct proc	*procs;
	long long	 bytes = 0;
	ssize_t		 n;
	size_t		 i, j;
	int		 ours;

	if ((n = proc_table(&procs)) == -1)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		ours = pgid > 0 && procs[i].pgid == pgid;
		for (j = 0; !ours && j < nroots; j++)
			ours = procs[i].pid == roots[j] ||
			    proc_descends(procs, (size_t)n, i, roots[j]);
		if (ours)
			bytes += proc_rss(procs[i].pid);
	}
	free(procs);
	return bytes;
}

int
proc_autogroup_nice(pid_t pid, int nice)
{
	char	 path[64], text[16];
	int	 fd, n, saved;

	snprintf(path, sizeof(path), "/proc/%ld/autogroup", (long)pid);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = snprintf(text, sizeof(text), "%d", nice);
	if (write(fd, text, (size_t)n) != n) {
		saved = errno;
		close(fd);
		/* ESRCH: it is gone, and its session's autogroup with it. */
		errno = saved;
		return saved == ESRCH ? 0 : -1;
	}
	close(fd);
	return 0;
}

int
proc_can_renice(int nice)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[2];
	struct rlimit			 rl;

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) == 0 &&
	    (data[CAP_SYS_NICE / 32].effective & (1U << CAP_SYS_NICE % 32)))
		return 1;
	/* setpriority(2): RLIMIT_NICE lets nice go down to 20 - rlim_cur. */
	if (getrlimit(RLIMIT_NICE, &rl) == -1)
		return 0;
	return rl.rlim_cur == RLIM_INFINITY ||
	    (long long)rl.rlim_cur >= 20 - (long long)nice;
}

/* Every thread of pid: nice is per thread on Linux (setpriority(2)). */
static int
proc_renice_threads(pid_t pid, int nice)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 r = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (setpriority(PRIO_PROCESS, (id_t)atol(de->d_name), nice) ==
		    -1 && errno != ESRCH)
			r = -1;
	}
	closedir(d);
	return r;
}

int
proc_renice(pid_t pgid, const pid_t *roots, size_t nroots, int nice)
{
	struct proc	*procs;
	ssize_t		 n, i;
	size_t		 j;
	int		 r = 0, saved = 0;

	/* The kernel walks every thread of every process in the group. */
	if (setpriority(PRIO_PGRP, (id_t)pgid, nice) == -1 && errno != ESRCH) {
		saved = errno;
		r = -1;
	}
	if ((n = proc_table(&procs)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (procs[i].pgid == pgid)
			continue;
		for (j = 0; j < nroots; j++) {
			if (procs[i].pid != roots[j] &&
			    !proc_descends(procs, (size_t)n, (size_t)i,
			    roots[j]))
				continue;
			if (proc_renice_threads(procs[i].pid, nice) == -1) {
				saved = errno;
				r = -1;
			}
			break;
		}
	}
	free(procs);
	if (r == -1)
		errno = saved;
	return r;
}
