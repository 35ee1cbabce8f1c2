#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <event2/event.h>

#include "sockaddr.h"
#include "trap.h"
#include "xmalloc.h"

#if defined(__x86_64__)
#define TRAP_ARCH	AUDIT_ARCH_X86_64
#define TRAP_NR_LIMIT	0x40000000	/* __X32_SYSCALL_BIT: x32 is left be */
#elif defined(__aarch64__)
#define TRAP_ARCH	AUDIT_ARCH_AARCH64
#define TRAP_NR_LIMIT	0xffffffff
#endif

#define TRAP_BATCH	64		/* notifications a wake-up */

struct trap {
	int				 fd;
	pid_t				 main;	/* the worker's process */
	struct event			*ev;
	const int			*fds;
	size_t				 n;
	const struct trap_ops		*ops;
	void				*arg;
	struct seccomp_notif		*req;
	struct seccomp_notif_resp	*resp;
	size_t				 req_size;
	size_t				 resp_size;
};

int
trap_install(void)
{
#ifdef TRAP_ARCH
	struct sock_filter	 filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TRAP_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, TRAP_NR_LIMIT, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bind, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_listen, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog	 prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};
	int			 fd;

	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	/* Without CAP_SYS_ADMIN the kernel asks for no_new_privs first. */
	if (fd == -1 && errno == EACCES) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
			return -1;
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	}
	return fd;
#else
	errno = ENOSYS;
	return -1;
#endif
}

int
trap_is_listener(int fd)
{
	char	 path[64], target[64];
	ssize_t	 n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((n = readlink(path, target, sizeof(target) - 1)) == -1)
		return 0;
	target[n] = '\0';
	return strcmp(target, "anon_inode:seccomp notify") == 0;
}

static void
trap_log(struct trap *t, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
trap_log(struct trap *t, int warn, const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t->ops->log(t->arg, warn, line);
}

/* The process (thread group) of a thread: a Go server binds from any. */
static pid_t
trap_tgid(pid_t tid)
{
	char	 path[64], line[128];
	FILE	*fp;
	long	 tgid = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)tid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Tgid: %ld", &tgid) == 1)
			break;
	fclose(fp);
	return (pid_t)tgid;
}

/* A copy of the target's descriptor fd, in baton. */
static int
trap_getfd(pid_t tgid, int fd)
{
	int	 pidfd, copy;

	if ((pidfd = (int)syscall(SYS_pidfd_open, tgid, 0)) == -1)
		return -1;
	copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	return copy;
}

/* Whether the target's descriptor fd is close-on-exec. */
static int
trap_cloexec(pid_t tgid, int fd)
{
	char		 path[64], line[128];
	FILE		*fp;
	unsigned long	 flags = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%d", (long)tgid, fd);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "flags: %lo", &flags) == 1)
			break;
	fclose(fp);
	return (flags & O_CLOEXEC) != 0;
}

/* Still the same call of the same process: what was read of it holds. */
static int
trap_valid(struct trap *t)
{
	return ioctl(t->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &t->req->id) == 0;
}

static void
trap_bind(struct trap *t)
{
	struct seccomp_notif_addfd	 add;
	struct sockaddr_storage		 ss;
	struct iovec			 local, remote;
	socklen_t			 len, tlen;
	pid_t				 tgid;
	int				 appfd, copy, type, fl, hfl, i, held;

	appfd = (int)t->req->data.args[0];
	len = (socklen_t)t->req->data.args[2];
	if (len < sizeof(sa_family_t) || len > sizeof(ss))
		return;
	memset(&ss, 0, sizeof(ss));
	local.iov_base = &ss;
	local.iov_len = len;
	remote.iov_base = (void *)(uintptr_t)t->req->data.args[1];
	remote.iov_len = len;
	if (process_vm_readv(t->req->pid, &local, 1, &remote, 1, 0) !=
	    (ssize_t)len)
		return;
	/* As the interposer: a child the worker runs binds on its own. */
	if ((tgid = trap_tgid(t->req->pid)) != t->main ||
	    (copy = trap_getfd(tgid, appfd)) == -1)
		return;
	tlen = sizeof(type);
	if (getsockopt(copy, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1)
		type = -1;
	fl = fcntl(copy, F_GETFL);
	close(copy);
	if (type == -1 || fl == -1 || (i = sockaddr_match(
	    (struct sockaddr *)&ss, len, type, t->fds, t->n)) == -1)
		return;
	memset(&add, 0, sizeof(add));
	add.id = t->req->id;
	add.flags = SECCOMP_ADDFD_FLAG_SETFD;
	add.srcfd = held = t->fds[i];
	add.newfd = appfd;
	add.newfd_flags = trap_cloexec(tgid, appfd) ? O_CLOEXEC : 0;
	if (!trap_valid(t))
		return;
	/*
	 * O_NONBLOCK belongs to the open file, which every worker shares.
	 * Set it for a server that made its socket non-blocking (Go does),
	 * but never clear it: the event loop of a generation still serving
	 * would then block in accept() after losing a race for a
	 * connection. A blocking server that sets nothing finds it as the
	 * servers before it left it.
	 */
	if ((fl & O_NONBLOCK) && (hfl = fcntl(held, F_GETFL)) != -1 &&
	    !(hfl & O_NONBLOCK))
		(void)fcntl(held, F_SETFL, hfl | O_NONBLOCK);
	if (ioctl(t->fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) == -1) {
		if (errno != ENOENT)
			trap_log(t, 1, "bind (fd %d, pid %ld): cannot install "
			    "the held socket: %s", appfd, (long)tgid,
			    strerror(errno));
		return;
	}
	t->resp->flags = 0;
	t->resp->val = 0;
	t->resp->error = 0;
	trap_log(t, 0, "bind (fd %d, pid %ld): given the held socket (seccomp)",
	    appfd, (long)tgid);
}

static void
trap_listen(struct trap *t)
{
	struct stat	 a, b;
	pid_t		 tgid;
	size_t		 i;
	int		 copy, ok;

	if ((tgid = trap_tgid(t->req->pid)) != t->main ||
	    (copy = trap_getfd(tgid, (int)t->req->data.args[0])) == -1)
		return;
	ok = fstat(copy, &a) == 0;
	close(copy);
	for (i = 0; ok && i < t->n; i++) {
		if (fstat(t->fds[i], &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			break;
	}
	if (!ok || i == t->n || !trap_valid(t))
		return;
	/* Listening already, with baton's backlog: leave it as it is. */
	t->resp->flags = 0;
	t->resp->val = 0;
	t->resp->error = 0;
	t->ops->listening(t->arg);
}

static void
trap_read(evutil_socket_t fd, short what, void *arg)
{
	struct trap	*t = arg;
	struct pollfd	 p;
	int		 i;

	for (i = 0; i < TRAP_BATCH; i++) {
		/* RECV waits for a notification: ask first, never block. */
		p.fd = t->fd;
		p.events = POLLIN;
		if (poll(&p, 1, 0) != 1)
			return;
		if (!(p.revents & POLLIN)) {
			/* No process runs under the filter any more. */
			event_del(t->ev);
			return;
		}
		memset(t->req, 0, t->req_size);
		if (ioctl(t->fd, SECCOMP_IOCTL_NOTIF_RECV, t->req) == -1) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			trap_log(t, 1, "seccomp: receiving a notification: %s",
			    strerror(errno));
			event_del(t->ev);
			return;
		}
		memset(t->resp, 0, t->resp_size);
		t->resp->id = t->req->id;
		t->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (t->req->data.nr == __NR_bind)
			trap_bind(t);
		else if (t->req->data.nr == __NR_listen)
			trap_listen(t);
		/* ENOENT: the call is gone with its process. */
		if (ioctl(t->fd, SECCOMP_IOCTL_NOTIF_SEND, t->resp) == -1 &&
		    errno != ENOENT)
			trap_log(t, 1, "seccomp: answering: %s",
			    strerror(errno));
	}
}

struct trap *
trap_new(struct event_base *base, int listener, pid_t main, const int *fds,
    size_t n, const struct trap_ops *ops, void *arg)
{
	struct seccomp_notif_sizes	 sizes;
	struct trap			*t;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == -1) {
		close(listener);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->fd = listener;
	t->main = main;
	t->fds = fds;
	t->n = n;
	t->ops = ops;
	t->arg = arg;
	/* The kernel's structures may be larger than our headers'. */
	t->req_size = sizes.seccomp_notif > sizeof(*t->req) ?
	    sizes.seccomp_notif : sizeof(*t->req);
	t->resp_size = sizes.seccomp_notif_resp > sizeof(*t->resp) ?
	    sizes.seccomp_notif_resp : sizeof(*t->resp);
	t->req = xcalloc(1, t->req_size);
	t->resp = xcalloc(1, t->resp_size);
	if ((t->ev = event_new(base, listener, EV_READ | EV_PERSIST,
	    trap_read, t)) == NULL || event_add(t->ev, NULL) == -1) {
		trap_free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void
trap_free(struct trap *t)
{
	if (t == NULL)
		return;
	if (t->ev != NULL)
		event_free(t->ev);
	close(t->fd);
	free(t->req);
	free(t->resp);
	free(t);
}
