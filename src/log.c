#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"

#define LOG_LINE_MAX	2048
#define LOG_QUEUE_MAX	65536

/* A line goes out in one write(), and a pipe never splits one of PIPE_BUF. */
_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "a log line must fit in PIPE_BUF");

/*
 * How a line reaches stderr without ever blocking baton's loop. The file
 * description of fd 2 is shared with the workers, so it must stay as it
 * is: O_NONBLOCK on it would make the workers' own writes fail.
 */
enum log_out {
	LOG_OUT_WRITE,		/* a regular file (never blocks), or unknown */
	LOG_OUT_OWN,		/* pipe, FIFO, tty: our own O_NONBLOCK open */
	LOG_OUT_POLL,		/* one we could not open again: poll() first */
	LOG_OUT_SEND		/* a socket: send(MSG_DONTWAIT) */
};

static enum log_level	 log_min = LOG_LEVEL_INFO;
static int		 log_journal;
static log_tap_fn	 log_tap;
static void		*log_tap_arg;
static int		 log_in_tap;

static enum log_out	 log_out;
static int		 log_fd = STDERR_FILENO;
/* Whole lines that stderr could not take yet, oldest first. */
static char		 log_queue[LOG_QUEUE_MAX + LOG_LINE_MAX];
static size_t		 log_qhead, log_qlen;
static unsigned long	 log_dropped;
static struct event	*log_ev;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

static void	log_line(enum log_level, int, const char *, const char *,
		    va_list) __attribute__((format(printf, 4, 0)));
static void	log_notice(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/*
 * A pipe, FIFO or terminal opened again through /proc is a new file
 * description of the same object: O_NONBLOCK on it is baton's alone.
 */
static void
log_open(const struct stat *st)
{
	struct stat	 own;
	int		 fd;

	if (S_ISSOCK(st->st_mode)) {
		log_out = LOG_OUT_SEND;
		return;
	}
	if (S_ISREG(st->st_mode))
		return;
	fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd != -1 && fstat(fd, &own) == 0 && own.st_dev == st->st_dev &&
	    own.st_ino == st->st_ino) {
		log_fd = fd;
		log_out = LOG_OUT_OWN;
		return;
	}
	if (fd != -1)
		close(fd);
	/* No /proc, or a FIFO with no reader (ENXIO): poll() before writing. */
	log_out = LOG_OUT_POLL;
}

void
log_init(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	log_out = LOG_OUT_WRITE;
	if (fstat(STDERR_FILENO, &st) == -1)
		return;
	log_open(&st);
	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return;
	if ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino)
		log_journal = 1;
}

/*
 * Write at most one line. Returns the bytes written (a terminal or a
 * stream socket may take part of a line), 0 if stderr cannot take any
 * now. A stderr that is gone (EPIPE, EBADF) swallows the line: nothing
 * else could be done with it.
 */
static size_t
log_try(const char *p, size_t len)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	switch (log_out) {
	case LOG_OUT_SEND:
		n = send(log_fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case LOG_OUT_POLL:
		/*
		 * POLLOUT on a pipe means a free buffer page, so a line of
		 * at most PIPE_BUF goes without blocking (unless a worker
		 * fills the page in between: the best we can do here).
		 */
		pfd.fd = log_fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) != 1)
			return 0;
		/* FALLTHROUGH */
	default:
		n = write(log_fd, p, len);
		break;
	}
	if (n >= 0)
		return (size_t)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return len;
}

/* Write what is queued, a line a write. Returns 0 once it is all out. */
static int
log_flush(void)
{
	const char	*p, *eol;
	size_t		 n;

	while (log_qlen > 0) {
		p = log_queue + log_qhead;
		eol = memchr(p, '\n', log_qlen);
		if ((n = log_try(p, eol != NULL ? (size_t)(eol - p) + 1 :
		    log_qlen)) == 0)
			return -1;
		log_qhead += n;
		log_qlen -= n;
	}
	log_qhead = 0;
	return 0;
}

/*
 * Flush the queue, then say how many lines were dropped. Returns 0 when
 * a new line may be written straight away, -1 while stderr is blocked.
 */
static int
log_catch_up(void)
{
	unsigned long	 dropped;

	if (log_qlen == 0 && log_dropped == 0)
		return 0;
	if (log_flush() == -1)
		return -1;
	if (log_dropped > 0) {
		dropped = log_dropped;
		log_dropped = 0;
		log_notice("log: %lu lines dropped while stderr was blocked",
		    dropped);
	}
	return log_qlen == 0 ? 0 : -1;
}

static void
log_arm(void)
{
	/*
	 * Where the loop cannot watch it (epoll refuses /dev/null), the
	 * next line flushes the queue.
	 */
	if (log_ev != NULL && (log_qlen > 0 || log_dropped > 0) &&
	    !event_pending(log_ev, EV_WRITE, NULL))
		(void)event_add(log_ev, NULL);
}

static void
log_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)log_catch_up();
	log_arm();
}

/*
 * Out now, or queued whole; when the queue is full, dropped and counted
 * until it has drained, so that the one gap in the log is where the
 * count says.
 */
static void
log_emit(const char *line, size_t len)
{
	size_t	 n = 0;

	if (log_catch_up() == 0 && (n = log_try(line, len)) == len)
		return;
	line += n;
	len -= n;
	/* The rest of a line already begun is kept: a line is never cut. */
	if (n == 0 && (log_dropped > 0 || log_qlen + len > LOG_QUEUE_MAX))
		log_dropped++;
	else {
		if (log_qhead + log_qlen + len > sizeof(log_queue)) {
			memmove(log_queue, log_queue + log_qhead, log_qlen);
			log_qhead = 0;
		}
		memcpy(log_queue + log_qhead + log_qlen, line, len);
		log_qlen += len;
	}
	log_arm();
}

void
log_set_base(struct event_base *base)
{
	if (log_ev != NULL) {
		event_free(log_ev);
		log_ev = NULL;
		(void)log_catch_up();
	}
	if (base == NULL || log_out == LOG_OUT_WRITE)
		return;
	log_ev = event_new(base, log_fd, EV_WRITE, log_writable, NULL);
	log_arm();
}

void
log_set_tap(log_tap_fn fn, void *arg)
{
	log_tap = fn;
	log_tap_arg = arg;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

int
log_parse_level(const char *s, enum log_level *level)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
log_line(enum log_level level, int tap, const char *who, const char *fmt,
    va_list ap)
{
	static const char	 prio[] = { '7', '6', '4', '3' };
	struct timeval		 tv;
	struct tm		 tm;
	char			 stamp[64], msg[1900], line[LOG_LINE_MAX];
	int			 n;

	if (level < log_min)
		return;
	n = snprintf(msg, sizeof(msg), "%s", who != NULL ? who : "");
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%c>%s: %s\n", prio[level],
		    log_names[level], msg);
	else {
		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ld baton[%ld] %s: %s\n",
		    stamp, (long)tv.tv_usec / 1000, (long)getpid(),
		    log_names[level], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line so that lines from several processes never mix. */
	log_emit(line, n);
	if (tap && log_tap != NULL && !log_in_tap) {
		log_in_tap = 1;
		log_tap(level, msg, log_tap_arg);
		log_in_tap = 0;
	}
}

static void
log_vwrite(enum log_level level, const char *who, const char *fmt, va_list ap)
{
	log_line(level, 1, who, fmt, ap);
}

/* About the log itself: for stderr only, never for a control client. */
static void
log_notice(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_line(LOG_LEVEL_WARN, 0, NULL, fmt, ap);
	va_end(ap);
}

void
log_at(enum log_level level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(level, NULL, fmt, ap);
	va_end(ap);
}

int
log_limit_allow(struct log_limit *l)
{
	long long	 now = clock_ms() / 1000;

	if (now != l->second) {
		if (l->dropped > 0)
			log_warn("%s: %d more not logged in the last second",
			    l->what, l->dropped);
		l->second = now;
		l->count = 0;
		l->dropped = 0;
	}
	if (l->count++ < LOG_LIMIT_BURST)
		return 1;
	l->dropped++;
	return 0;
}

/* libevent's own complaints, as baton's log lines (and never a flood). */
void
log_libevent(int severity, const char *msg)
{
	static long long	 last;
	static int		 dropped;
	long long		 now = clock_ms();

	if (now - last < 1000 && severity != EVENT_LOG_ERR) {
		dropped++;
		return;
	}
	if (dropped > 0)
		log_warn("libevent: %d more messages dropped", dropped);
	last = now;
	dropped = 0;
	if (severity == EVENT_LOG_ERR)
		log_error("libevent: %s", msg);
	else if (severity == EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

void
log_worker(enum log_level level, int generation, int slot, pid_t pid,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 who[96];

	if (pid > 0)
		snprintf(who, sizeof(who), "gen %d worker %d pid %ld: ",
		    generation, slot, (long)pid);
	else
		snprintf(who, sizeof(who), "gen %d worker %d: ",
		    generation, slot);
	va_start(ap, fmt);
	log_vwrite(level, who, fmt, ap);
	va_end(ap);
}

void
fatal(int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(code);
}
