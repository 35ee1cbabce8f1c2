/*
 * libbaton: what a server needs to cooperate with baton, without
 * libsystemd. It reads the environment that baton sets (see baton.h),
 * sends sd_notify-style messages, and asks baton for sockets by name over
 * the channel.
 *
 * Reading the channel is the delicate part: baton may send DRAIN=1 at any
 * time, so a message read while waiting for an answer is never dropped.
 * Without a reader thread, baton_socket() reads the channel itself and
 * remembers a DRAIN=1 for baton_drain_requested(). Once the preload
 * interposer starts its reader thread (baton_reader_start()), that thread
 * owns every read, and baton_socket() waits for it to hand the answer over.
 *
 * This file is also compiled into libbaton-preload.so; there baton_*
 * stay exported, so that a program linked with libbaton runs on the
 * interposer's copy and both share one reader.
 */
#define BATON_PRIVATE

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "baton.h"
#include "clock.h"
#include "fdpass.h"

/* SOCKET=NAME with NAME as long as a message allows. */
#define LIB_NAME_MAX	(BATON_MSG_MAX - sizeof("SOCKET="))

/* The request baton_socket() waits on; one at a time (lib_request). */
struct lib_answer {
	int	 pending;
	int	 done;
	int	 fd;			/* the socket, when done and error == 0 */
	int	 error;			/* errno to report, when done */
	char	 name[LIB_NAME_MAX + 1];
};

static pthread_once_t	 lib_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t	 lib_request = PTHREAD_MUTEX_INITIALIZER;
/* lib_lock guards everything below it. */
static pthread_mutex_t	 lib_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 lib_cond;	/* monotonic: set up by lib_setup() */
static struct lib_answer lib_answer;
static int		 lib_drain;		/* DRAIN=1 was read */
static int		 lib_reader;		/* a reader thread owns reads */
static int		 lib_reader_gone;	/* ... and it stopped (EOF) */
static void		(*lib_drain_cb)(int);
static int		(*lib_tick_cb)(void);
/* Set once, before any reader exists; read without the lock. */
static int		 lib_channel_fd = -1;

static void
lib_atfork_child(void)
{
	/*
	 * Only the forking thread lives on: a lock another thread held is
	 * held for ever, and no reader thread exists. The channel is still
	 * shared with the parent, whose reader keeps reading it.
	 */
	pthread_mutex_init(&lib_request, NULL);
	pthread_mutex_init(&lib_lock, NULL);
	memset(&lib_answer, 0, sizeof(lib_answer));
	lib_reader = 0;
	lib_reader_gone = 0;
}

static void
lib_setup(void)
{
	pthread_condattr_t	 attr;

	/* Deadlines must not move with the wall clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&lib_cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_atfork(NULL, NULL, lib_atfork_child);
}

/* A decimal number in [0, INT_MAX]: 0 with *out set, or -1. */
static int
lib_number(const char *s, int *out)
{
	char	*end;
	long	 v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* The number in variable var: 0, or -1 with errno ENOTCONN or EINVAL. */
static int
lib_env_number(const char *var, int *out)
{
	const char	*s;

	if ((s = getenv(var)) == NULL) {
		errno = ENOTCONN;
		return -1;
	}
	if (lib_number(s, out) == -1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
baton_listen_fds(void)
{
	int	 n, pid;

	/* systemd's rule: no LISTEN_PID, or another's, means none for us. */
	if (lib_env_number("LISTEN_PID", &pid) == -1)
		return errno == ENOTCONN ? 0 : -1;
	if (pid != (int)getpid())
		return 0;
	if (lib_env_number("LISTEN_FDS", &n) == -1)
		return errno == ENOTCONN ? 0 : -1;
	if (n > INT_MAX - BATON_LISTEN_FDS_START) {
		errno = EINVAL;
		return -1;
	}
	return n;
}

int
baton_listen_fd(const char *name)
{
	const char	*names, *p, *colon;
	size_t		 len;
	int		 n, i;

	if (name == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((n = baton_listen_fds()) == -1)
		return -1;
	len = strlen(name);
	if ((names = getenv("LISTEN_FDNAMES")) == NULL)
		n = 0;
	for (i = 0, p = names; i < n && p != NULL; i++) {
		colon = strchr(p, ':');
		if ((colon != NULL ? (size_t)(colon - p) : strlen(p)) == len &&
		    strncmp(p, name, len) == 0)
			return BATON_LISTEN_FDS_START + i;
		p = colon != NULL ? colon + 1 : NULL;
	}
	errno = ENOENT;
	return -1;
}

void
baton_use_channel_fd(int fd)
{
	lib_channel_fd = fd;
}

int
baton_channel(void)
{
	socklen_t	 len;
	int		 fd, type;

	if (lib_channel_fd != -1)
		fd = lib_channel_fd;
	else if (lib_env_number(BATON_ENV_FD, &fd) == -1)
		return -1;
	/* A message written to whatever else the number names is worse. */
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET) {
		errno = EBADF;
		return -1;
	}
	return fd;
}

/* Send msg as one datagram to the NOTIFY_SOCKET address, as sd_notify(3). */
static int
lib_notify_socket(const char *path, const char *msg, size_t len)
{
	struct sockaddr_un	 sun;
	socklen_t		 alen;
	size_t			 n;
	ssize_t			 r;
	int			 fd, saved;

	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n < 2 ||
	    n >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	alen = offsetof(struct sockaddr_un, sun_path) + n;
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract: no trailing NUL counted */
	else
		alen++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sun, alen);
	saved = errno;
	close(fd);
	errno = saved;
	return r == -1 ? -1 : 0;
}

/* Send one packet on the channel. */
static int
lib_send(int ch, const char *msg, size_t len)
{
	ssize_t	 r;

	do {
		r = send(ch, msg, len, MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	return r == -1 ? -1 : 0;
}

int
baton_notify(const char *msg)
{
	const char	*path;
	size_t		 len;
	int		 ch;

	if (msg == NULL || (len = strlen(msg)) == 0) {
		/* An empty packet reads as end of file on the channel. */
		errno = EINVAL;
		return -1;
	}
	if (len > BATON_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((ch = baton_channel()) != -1)
		return lib_send(ch, msg, len) == -1 ? -1 : 1;
	if (errno != ENOTCONN)
		return -1;
	if ((path = getenv("NOTIFY_SOCKET")) == NULL)
		return 0;
	return lib_notify_socket(path, msg, len) == -1 ? -1 : 1;
}

int
baton_ready(void)
{
	return baton_notify("READY=1");
}

int
baton_status(const char *fmt, ...)
{
	char	 buf[BATON_MSG_MAX + 1], *p;
	va_list	 ap;
	int	 n;

	if (fmt == NULL) {
		errno = EINVAL;
		return -1;
	}
	memcpy(buf, "STATUS=", 7);
	va_start(ap, fmt);
	n = vsnprintf(buf + 7, sizeof(buf) - 7, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(buf) - 7) {
		errno = EMSGSIZE;
		return -1;
	}
	/* A newline would start another assignment. */
	for (p = buf + 7; *p != '\0'; p++) {
		if (*p == '\n')
			*p = ' ';
	}
	return baton_notify(buf);
}

/*
 * Act on one message from baton; lib_lock is held. Every descriptor that
 * is not handed to a waiting request is closed. Returns 1 if it said
 * DRAIN=1, with *wait its IDLE_WAIT_MS (or -1).
 */
static int
lib_dispatch(const char *buf, size_t len, int *fds, size_t nfds, int *wait)
{
	const char	*p = buf, *end = buf + len, *eol, *eq, *v;
	char		 num[16];
	size_t		 klen, vlen;
	int		 drain = 0, used = 0;

	*wait = -1;

	while (p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			eol = end;
		if ((eq = memchr(p, '=', eol - p)) == NULL) {
			p = eol + 1;
			continue;
		}
		klen = eq - p;
		v = eq + 1;
		vlen = eol - v;
		if (klen == 5 && memcmp(p, "DRAIN", 5) == 0)
			drain = vlen == 1 && v[0] == '1';
		else if (klen == 12 && memcmp(p, "IDLE_WAIT_MS", 12) == 0 &&
		    vlen < sizeof(num)) {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			if (lib_number(num, wait) == -1)
				*wait = -1;
		}
		else if (klen == 6 && memcmp(p, "SOCKET", 6) == 0) {
			/* An answer names what was asked, and carries it. */
			if (lib_answer.pending && !lib_answer.done &&
			    strlen(lib_answer.name) == vlen &&
			    memcmp(lib_answer.name, v, vlen) == 0) {
				lib_answer.done = 1;
				lib_answer.error = nfds == 1 ? 0 : EPROTO;
				lib_answer.fd = nfds == 1 ? fds[0] : -1;
				used = nfds == 1;
			}
		} else if (klen == 5 && memcmp(p, "ERROR", 5) == 0) {
			if (lib_answer.pending && !lib_answer.done) {
				lib_answer.done = 1;
				lib_answer.error = ENOENT;
				lib_answer.fd = -1;
			}
		}
		p = eol + 1;
	}
	if (drain)
		lib_drain = 1;
	if (lib_answer.done)
		pthread_cond_broadcast(&lib_cond);
	fdpass_close_all(fds + used, nfds - used);
	return drain;
}

/*
 * Read one message, if one is waiting, and act on it. Returns 1 when a
 * message was read (*drain says whether it was DRAIN=1, *wait its
 * IDLE_WAIT_MS or -1), 0 at end of file, -1 with errno (EAGAIN: nothing
 * waiting).
 */
static int
lib_read(int ch, int *drain, int *wait)
{
	char		 buf[BATON_MSG_MAX];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * BATON_FDS_MAX)];
	} cmsg;
	struct msghdr	 mh;
	struct iovec	 iov;
	int		 fds[BATON_FDS_MAX];
	size_t		 nfds;
	ssize_t		 r;

	*drain = 0;
	*wait = -1;
	fdpass_prepare(&mh, &iov, buf, sizeof(buf), cmsg.buf, sizeof(cmsg.buf));
	do {
		r = recvmsg(ch, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (r == -1 && errno == EINTR);
	if (r <= 0)
		return (int)r;
	nfds = fdpass_take(&mh, fds, BATON_FDS_MAX);
	/* A cut message could be a cut answer: drop it whole. */
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		fdpass_close_all(fds, nfds);
		return 1;
	}
	pthread_mutex_lock(&lib_lock);
	*drain = lib_dispatch(buf, (size_t)r, fds, nfds, wait);
	pthread_mutex_unlock(&lib_lock);
	return 1;
}

/* Without a reader thread: read the channel until the answer or deadline. */
static int
lib_wait_reading(int ch, long long deadline)
{
	struct pollfd	 pfd;
	long long	 left;
	int		 drain, wait, r, done;

	for (;;) {
		pthread_mutex_lock(&lib_lock);
		done = lib_answer.done;
		pthread_mutex_unlock(&lib_lock);
		if (done)
			return 0;
		if ((left = deadline - clock_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = ch;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			continue;
		if ((r = lib_read(ch, &drain, &wait)) == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (r == -1 && errno != EAGAIN)
			return -1;
	}
}

/* With a reader thread: wait for it to hand the answer over. */
static int
lib_wait_reader(long long deadline)
{
	struct timespec	 ts;
	int		 rc = 0;

	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	pthread_mutex_lock(&lib_lock);
	while (!lib_answer.done && !lib_reader_gone && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&lib_cond, &lib_lock, &ts);
	if (!lib_answer.done) {
		pthread_mutex_unlock(&lib_lock);
		errno = lib_reader_gone ? ECONNRESET : ETIMEDOUT;
		return -1;
	}
	pthread_mutex_unlock(&lib_lock);
	return 0;
}

int
baton_socket(const char *name)
{
	char		 msg[BATON_MSG_MAX + 1];
	size_t		 len;
	int		 ch, reader, rc, fd = -1, saved;

	if (name == NULL || (len = strlen(name)) == 0 ||
	    strchr(name, '\n') != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (len > LIB_NAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((ch = baton_channel()) == -1)
		return -1;
	pthread_once(&lib_once, lib_setup);

	pthread_mutex_lock(&lib_request);
	pthread_mutex_lock(&lib_lock);
	memset(&lib_answer, 0, sizeof(lib_answer));
	memcpy(lib_answer.name, name, len + 1);
	lib_answer.pending = 1;
	reader = lib_reader;
	pthread_mutex_unlock(&lib_lock);

	snprintf(msg, sizeof(msg), "SOCKET=%s", name);
	if ((rc = lib_send(ch, msg, strlen(msg))) == 0) {
		if (reader)
			rc = lib_wait_reader(clock_ms() +
			    BATON_SOCKET_TIMEOUT_MS);
		else
			rc = lib_wait_reading(ch, clock_ms() +
			    BATON_SOCKET_TIMEOUT_MS);
	}
	saved = errno;

	pthread_mutex_lock(&lib_lock);
	if (rc == 0) {
		fd = lib_answer.fd;
		saved = lib_answer.error;
	}
	/* A late answer finds nothing pending and its socket is closed. */
	memset(&lib_answer, 0, sizeof(lib_answer));
	pthread_mutex_unlock(&lib_lock);
	pthread_mutex_unlock(&lib_request);

	if (fd == -1) {
		errno = saved;
		return -1;
	}
	return fd;
}

int
baton_drain_requested(void)
{
	int	 drain;

	pthread_mutex_lock(&lib_lock);
	drain = lib_drain;
	pthread_mutex_unlock(&lib_lock);
	return drain;
}

int
baton_generation(void)
{
	int	 n;

	return lib_env_number(BATON_ENV_GENERATION, &n) == -1 ? -1 : n;
}

int
baton_worker(void)
{
	int	 n;

	return lib_env_number(BATON_ENV_WORKER, &n) == -1 ? -1 : n;
}

static void *
lib_reader_main(void *arg)
{
	struct pollfd	 pfd;
	int		 ch = *(int *)arg, r, drain, wait, timeout;

	free(arg);
	for (;;) {
		timeout = lib_tick_cb != NULL ? lib_tick_cb() : -1;
		pfd.fd = ch;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, timeout)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0)
			continue;
		if ((r = lib_read(ch, &drain, &wait)) == 0)
			break;		/* baton closed the channel */
		if (r == -1) {
			if (errno == EAGAIN)
				continue;
			break;
		}
		if (drain && lib_drain_cb != NULL)
			lib_drain_cb(wait);
	}
	pthread_mutex_lock(&lib_lock);
	lib_reader_gone = 1;
	pthread_cond_broadcast(&lib_cond);
	pthread_mutex_unlock(&lib_lock);
	return NULL;
}

int
baton_reader_start(void (*drain)(int), int (*tick)(void))
{
	pthread_attr_t	 attr;
	pthread_t	 tid;
	sigset_t	 all, old;
	int		*ch, rc;

	pthread_once(&lib_once, lib_setup);
	if ((ch = malloc(sizeof(*ch))) == NULL)
		return -1;
	if ((*ch = baton_channel()) == -1) {
		free(ch);
		return -1;
	}
	/* No baton_socket() may be reading while reads change hands. */
	pthread_mutex_lock(&lib_request);
	pthread_mutex_lock(&lib_lock);
	if (lib_reader) {
		pthread_mutex_unlock(&lib_lock);
		pthread_mutex_unlock(&lib_request);
		free(ch);
		return 0;
	}
	lib_drain_cb = drain;
	lib_tick_cb = tick;

	/*
	 * The thread must never take a signal meant for the application
	 * (one that blocks it later to read it with signalfd or sigwait).
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, lib_reader_main, ch);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		lib_reader = 1;
	pthread_mutex_unlock(&lib_lock);
	pthread_mutex_unlock(&lib_request);
	if (rc != 0) {
		free(ch);
		errno = rc;
		return -1;
	}
	return 0;
}
