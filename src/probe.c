/*
 * Readiness probes. One attempt at a time per probe, every step an event
 * on the loop; the attempt's end is always reported from a callback, so a
 * caller of probe_run() never sees its done() re-entered.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "command.h"
#include "config.h"
#include "probe.h"
#include "signame.h"
#include "spawn.h"
#include "xmalloc.h"

/* The status line is all an http probe reads: "HTTP/1.1 200 OK". */
#define PROBE_LINE_MAX		256
/* Of an exec probe's output, the start of which goes in its reason. */
#define PROBE_OUTPUT_MAX	256
/* How much of a reply or an output a reason quotes. */
#define PROBE_QUOTE_MAX		60

extern char	**environ;

enum probe_step {
	STEP_IDLE,
	STEP_CONNECT,
	STEP_WRITE,
	STEP_READ,
	STEP_EXEC
};

struct probe {
	struct event_base	*base;
	struct config_probe	 spec;		/* our copy */
	struct sockaddr_storage	 addr;		/* where to connect */
	socklen_t		 addrlen;	/* 0: none */
	char			*where;		/* addr, for messages */
	char			*request;	/* http */
	char			*directory;
	char			**envp;		/* exec */
	long			 timeout;	/* ms */
	const struct probe_ops	*ops;
	void			*arg;

	enum probe_step		 step;
	struct event		*timer;		/* the attempt's deadline */
	struct event		*later;		/* an end found in probe_run() */
	int			 later_passed;
	char			*later_reason;
	int			 fd;		/* tcp, http; or exec's output */
	struct event		*io;
	size_t			 sent;
	char			 buf[PROBE_LINE_MAX > PROBE_OUTPUT_MAX ?
				    PROBE_LINE_MAX : PROBE_OUTPUT_MAX];
	size_t			 len;
	pid_t			 pid;		/* exec */
};

/*
 * Every exec probe's process until it is reaped, with the probe that
 * waits for it; NULL once that one gave up (timed out, freed).
 */
static struct probe_child {
	pid_t		 pid;
	struct probe	*owner;
}		*probe_children;
static size_t	 probe_nchildren;

static void	probe_end(struct probe *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	probe_defer(struct probe *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	probe_io(evutil_socket_t, short, void *);
static void	probe_close(struct probe *);

/* "127.0.0.1:8080", "[::1]:8080" or the path. */
static char *
probe_addr_string(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	const struct sockaddr_un	*sun = (const void *)ss;
	char				 host[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		return xprintf("%s:%d", host, ntohs(sin->sin_port));
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		return xprintf("[%s]:%d", host, ntohs(sin6->sin6_port));
	default:
		return xprintf("%.*s", (int)sizeof(sun->sun_path),
		    sun->sun_path);
	}
}

/* A listener on every address answers on loopback too. */
static void
probe_loopback(struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (void *)ss;
	struct sockaddr_in6	*sin6 = (void *)ss;

	if (ss->ss_family == AF_INET &&
	    sin->sin_addr.s_addr == htonl(INADDR_ANY))
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
		sin6->sin6_addr = in6addr_loopback;
}

/*
 * The exec probe's environment: baton's, with where the probe goes and
 * which generation it checks.
 */
static char **
probe_environment(const struct probe *p, int generation)
{
	const struct sockaddr_in	*sin = (const void *)&p->addr;
	const struct sockaddr_in6	*sin6 = (const void *)&p->addr;
	char				**envp, host[INET6_ADDRSTRLEN];
	size_t				  n = 0, i;
	int				  port = 0;

	for (i = 0; environ[i] != NULL; i++)
		;
	envp = xcalloc(i + 6, sizeof(*envp));
	for (i = 0; environ[i] != NULL; i++) {
		if (strncmp(environ[i], "BATON_PROBE_", 12) == 0 ||
		    strncmp(environ[i], "BATON_GENERATION=", 17) == 0)
			continue;
		envp[n++] = xstrdup(environ[i]);
	}
	envp[n++] = xprintf("BATON_GENERATION=%d", generation);
	if (p->addrlen == 0)
		return envp;
	if (p->addr.ss_family == AF_UNIX) {
		envp[n++] = xprintf("BATON_PROBE_URL=unix://%s", p->where);
		envp[n++] = xprintf("BATON_PROBE_PATH=%s", p->where);
		return envp;
	}
	if (p->addr.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	envp[n++] = xprintf("BATON_PROBE_URL=tcp://%s", p->where);
	envp[n++] = xprintf("BATON_PROBE_HOST=%s", host);
	envp[n++] = xprintf("BATON_PROBE_PORT=%d", port);
	return envp;
}

static void
probe_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;

	(void)fd;
	(void)what;
	if (p->timeout % 1000 == 0)
		probe_end(p, 0, "timed out after %lds", p->timeout / 1000);
	else
		probe_end(p, 0, "timed out after %ldms", p->timeout);
}

static void
probe_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	char		*reason = p->later_reason;

	(void)fd;
	(void)what;
	p->later_reason = NULL;
	probe_end(p, p->later_passed, "%s", reason);
	free(reason);
}

struct probe *
probe_new(struct event_base *base, const struct probe_params *pp,
    const struct probe_ops *ops, void *arg)
{
	const struct config_probe	*s = pp->spec;
	struct probe			*p;
	const char			*host;

	if (s->kind == PROBE_NONE || (s->kind != PROBE_EXEC &&
	    pp->target == NULL) || (pp->target != NULL &&
	    (pp->target_len > sizeof(p->addr) ||
	    (pp->target->sa_family != AF_INET &&
	    pp->target->sa_family != AF_INET6 &&
	    pp->target->sa_family != AF_UNIX)))) {
		errno = EINVAL;
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->spec.kind = s->kind;
	if (s->method != NULL)
		p->spec.method = xstrdup(s->method);
	if (s->path != NULL)
		p->spec.path = xstrdup(s->path);
	if (s->argv != NULL)
		p->spec.argv = command_copy(s->argv);
	if (pp->target != NULL) {
		memcpy(&p->addr, pp->target, pp->target_len);
		p->addrlen = pp->target_len;
		probe_loopback(&p->addr);
		p->where = probe_addr_string(&p->addr);
	}
	if (s->kind == PROBE_HTTP) {
		/* A unix socket has no host; servers want one all the same. */
		host = p->addr.ss_family == AF_UNIX ? "localhost" : p->where;
		p->request = xprintf("%s %s HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: baton-probe\r\nConnection: close\r\n\r\n",
		    s->method, s->path, host);
	}
	if (pp->directory != NULL)
		p->directory = xstrdup(pp->directory);
	if (s->kind == PROBE_EXEC)
		p->envp = probe_environment(p, pp->generation);
	p->timeout = pp->timeout;
	p->ops = ops;
	p->arg = arg;
	p->fd = -1;
	p->timer = evtimer_new(base, probe_timeout_cb, p);
	p->later = evtimer_new(base, probe_later_cb, p);
	if (p->timer == NULL || p->later == NULL) {
		probe_free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

/* Watch the attempt's descriptor for what. */
static int
probe_watch(struct probe *p, short what)
{
	if (p->io != NULL)
		event_free(p->io);
	p->io = event_new(p->base, p->fd, what | EV_PERSIST, probe_io, p);
	if (p->io == NULL || event_add(p->io, NULL) == -1)
		return -1;
	return 0;
}

/* Forget an exec probe's process: it is reaped later, by no one's wait. */
static void
probe_orphan(struct probe *p)
{
	size_t	 i;

	if (p->pid <= 0)
		return;
	/* Its own group: whatever it started goes with it. */
	(void)kill(-p->pid, SIGKILL);
	for (i = 0; i < probe_nchildren; i++)
		if (probe_children[i].owner == p)
			probe_children[i].owner = NULL;
	p->pid = 0;
}

/* The attempt's socket, or the exec's output pipe, and its event. */
static void
probe_close(struct probe *p)
{
	if (p->io != NULL) {
		event_free(p->io);
		p->io = NULL;
	}
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
}

/* The attempt's descriptors, events and process, let go. */
static void
probe_stop(struct probe *p)
{
	probe_close(p);
	probe_orphan(p);
	if (p->timer != NULL)
		evtimer_del(p->timer);
	if (p->later != NULL)
		evtimer_del(p->later);
	free(p->later_reason);
	p->later_reason = NULL;
	p->step = STEP_IDLE;
}

static void
probe_end(struct probe *p, int passed, const char *fmt, ...)
{
	va_list	 ap;
	char	*reason = NULL;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&reason, fmt, ap);
	va_end(ap);
	if (n == -1)
		reason = NULL;
	probe_stop(p);
	p->ops->done(p->arg, passed, reason != NULL ? reason : "");
	free(reason);
}

/* An end known inside probe_run(): reported from the loop. */
static void
probe_defer(struct probe *p, int passed, const char *fmt, ...)
{
	va_list	 ap;
	char	*reason = NULL;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) == -1)
		reason = NULL;
	va_end(ap);
	free(p->later_reason);
	p->later_reason = reason != NULL ? reason : xstrdup("");
	p->later_passed = passed;
	event_active(p->later, EV_TIMEOUT, 0);
}

/* Printable, short: what a reason may quote of a peer's bytes. */
static char *
probe_quote(const char *s, size_t len)
{
	char	*q;
	size_t	 i;

	if (len > PROBE_QUOTE_MAX)
		len = PROBE_QUOTE_MAX;
	q = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		q[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
	q[len] = '\0';
	return q;
}

/* The status line in buf (whole, or all there is): the verdict. */
static void
probe_status(struct probe *p)
{
	char	*line, *quoted;
	size_t	 len;
	int	 code;

	len = p->len;
	if ((line = memchr(p->buf, '\n', p->len)) != NULL)
		len = line - p->buf;
	if (len > 0 && p->buf[len - 1] == '\r')
		len--;
	line = p->buf;
	/* "HTTP/1.1 200 OK": a version, a space, three digits. */
	if (len >= 12 && memcmp(line, "HTTP/", 5) == 0 &&
	    line[5] >= '0' && line[5] <= '9' && line[6] == '.' &&
	    line[7] >= '0' && line[7] <= '9' && line[8] == ' ' &&
	    line[9] >= '1' && line[9] <= '5' &&
	    line[10] >= '0' && line[10] <= '9' &&
	    line[11] >= '0' && line[11] <= '9' &&
	    (len == 12 || line[12] == ' ')) {
		code = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
		    (line[11] - '0');
		if (code >= 200 && code < 300)
			probe_end(p, 1, "HTTP %d", code);
		else
			probe_end(p, 0, "HTTP %d", code);
		return;
	}
	quoted = probe_quote(line, len);
	probe_end(p, 0, "not an HTTP response from %s: '%s'", p->where,
	    quoted);
	free(quoted);
}

/* Connected: tcp has passed; http sends its request. */
static void
probe_connected(struct probe *p)
{
	if (p->spec.kind == PROBE_TCP) {
		probe_end(p, 1, "connected to %s", p->where);
		return;
	}
	p->step = STEP_WRITE;
	p->sent = 0;
	probe_io(p->fd, EV_WRITE, p);
}

static void
probe_io(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	socklen_t	 len = sizeof(int);
	ssize_t		 n;
	char		 sink[512];
	int		 err = 0;

	(void)what;
	switch (p->step) {
	case STEP_CONNECT:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			probe_end(p, 0, "connect %s: %s", p->where,
			    strerror(err));
			return;
		}
		probe_connected(p);
		return;
	case STEP_WRITE:
		while (p->sent < strlen(p->request)) {
			n = send(fd, p->request + p->sent,
			    strlen(p->request) - p->sent, MSG_NOSIGNAL);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN) {
				if (probe_watch(p, EV_WRITE) == -1)
					probe_end(p, 0, "libevent: cannot "
					    "watch %s", p->where);
				return;
			}
			if (n == -1) {
				probe_end(p, 0, "write %s: %s", p->where,
				    strerror(errno));
				return;
			}
			p->sent += n;
		}
		p->step = STEP_READ;
		p->len = 0;
		if (probe_watch(p, EV_READ) == -1)
			probe_end(p, 0, "libevent: cannot watch %s", p->where);
		return;
	case STEP_READ:
		n = recv(fd, p->buf + p->len, PROBE_LINE_MAX - p->len, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n == -1) {
			probe_end(p, 0, "read %s: %s", p->where,
			    strerror(errno));
			return;
		}
		if (n == 0 && p->len == 0) {
			probe_end(p, 0, "%s closed the connection before "
			    "answering", p->where);
			return;
		}
		p->len += n;
		if (n == 0 || p->len == PROBE_LINE_MAX ||
		    memchr(p->buf, '\n', p->len) != NULL)
			probe_status(p);
		return;
	case STEP_EXEC:
		/* The output, kept up to the buffer's size, the rest read away. */
		for (;;) {
			if (p->len < PROBE_OUTPUT_MAX)
				n = read(fd, p->buf + p->len,
				    PROBE_OUTPUT_MAX - p->len);
			else
				n = read(fd, sink, sizeof(sink));
			if (n == -1 && errno == EINTR)
				continue;
			if (n > 0) {
				if (p->len < PROBE_OUTPUT_MAX)
					p->len += n;
				continue;
			}
			/* Its end: the exit is the reaper's to tell. */
			if (n == 0 || errno != EAGAIN)
				probe_close(p);
			return;
		}
	default:
		return;
	}
}

/*
 * A socket bound to port 0 on the address it connects from: loopback for
 * loopback or a wildcard, else the listener's own address.
 */
static void
probe_connect(struct probe *p)
{
	struct sockaddr_storage	 local;
	socklen_t		 len;
	char			*where;
	int			 port;

	p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (p->fd == -1) {
		probe_defer(p, 0, "socket: %s", strerror(errno));
		return;
	}
	if (p->addr.ss_family != AF_UNIX) {
		memcpy(&local, &p->addr, p->addrlen);
		if (local.ss_family == AF_INET)
			((struct sockaddr_in *)&local)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&local)->sin6_port = 0;
		if (bind(p->fd, (struct sockaddr *)&local, p->addrlen) == -1) {
			where = probe_addr_string(&local);
			probe_defer(p, 0, "bind %s: %s", where,
			    strerror(errno));
			free(where);
			return;
		}
		len = sizeof(local);
		if (getsockname(p->fd, (struct sockaddr *)&local, &len) == -1) {
			probe_defer(p, 0, "getsockname: %s", strerror(errno));
			return;
		}
		port = ntohs(local.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&local)->sin_port :
		    ((struct sockaddr_in6 *)&local)->sin6_port);
		if (p->ops->bound != NULL)
			p->ops->bound(p->arg, port);
	}
	p->step = STEP_CONNECT;
	if (connect(p->fd, (struct sockaddr *)&p->addr, p->addrlen) == 0) {
		/* A unix socket connects at once: go on from the loop. */
		if (probe_watch(p, EV_WRITE) == -1)
			probe_defer(p, 0, "libevent: cannot watch %s",
			    p->where);
		return;
	}
	if (errno != EINPROGRESS) {
		probe_defer(p, 0, "connect %s: %s", p->where, strerror(errno));
		return;
	}
	if (probe_watch(p, EV_WRITE) == -1)
		probe_defer(p, 0, "libevent: cannot watch %s", p->where);
}

/* In the child: report on the output pipe why exec failed, and exit. */
static void __attribute__((noreturn))
probe_child_fail(const char *what, const char *arg)
{
	dprintf(STDERR_FILENO, "%s %s: %s\n", what, arg, strerror(errno));
	_exit(127);
}

static void
probe_exec(struct probe *p)
{
	sigset_t	 all, old;
	int		 out[2], null, saved;
	pid_t		 pid;

	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) == -1) {
		probe_defer(p, 0, "pipe: %s", strerror(errno));
		return;
	}
	/* No handler of baton's may run in the child before it resets. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == 0) {
		spawn_reset_signals();
		/* Its own group, which the timeout kills whole. */
		(void)setpgid(0, 0);
		/* Every other descriptor of baton's is close-on-exec. */
		if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1)
			(void)dup2(null, STDIN_FILENO);
		(void)fcntl(out[1], F_SETFL, 0);
		if (dup2(out[1], STDOUT_FILENO) == -1 ||
		    dup2(out[1], STDERR_FILENO) == -1)
			_exit(127);
		if (p->directory != NULL && chdir(p->directory) == -1)
			probe_child_fail("chdir", p->directory);
		environ = p->envp;
		execvp(p->spec.argv[0], p->spec.argv);
		probe_child_fail("exec", p->spec.argv[0]);
	}
	saved = errno;
	/* Both sides, so that a kill of the group never comes too early. */
	if (pid > 0)
		(void)setpgid(pid, pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(out[1]);
	if (pid == -1) {
		close(out[0]);
		probe_defer(p, 0, "fork: %s", strerror(saved));
		return;
	}
	probe_children = xreallocarray(probe_children, probe_nchildren + 1,
	    sizeof(*probe_children));
	probe_children[probe_nchildren].pid = pid;
	probe_children[probe_nchildren++].owner = p;
	p->pid = pid;
	p->fd = out[0];
	p->len = 0;
	p->step = STEP_EXEC;
	/* Without its output the verdict still comes, from the exit. */
	(void)probe_watch(p, EV_READ);
}

int
probe_run(struct probe *p)
{
	struct timeval	 tv;

	if (probe_busy(p)) {
		errno = EBUSY;
		return -1;
	}
	tv.tv_sec = p->timeout / 1000;
	tv.tv_usec = p->timeout % 1000 * 1000;
	evtimer_add(p->timer, &tv);
	p->len = 0;
	if (p->spec.kind == PROBE_EXEC)
		probe_exec(p);
	else
		probe_connect(p);
	/* An end found already is reported from the loop, not the timer. */
	if (p->later_reason != NULL) {
		evtimer_del(p->timer);
		probe_close(p);
		p->step = STEP_IDLE;
	}
	return 0;
}

int
probe_busy(const struct probe *p)
{
	return p->step != STEP_IDLE || p->later_reason != NULL;
}

void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	probe_stop(p);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->later != NULL)
		event_free(p->later);
	config_probe_clear(&p->spec);
	free(p->where);
	free(p->request);
	free(p->directory);
	command_free(p->envp);
	free(p);
}

/* The first line of what an exec probe wrote, quoted, or NULL. */
static char *
probe_output_line(struct probe *p)
{
	const char	*start, *end, *nl;

	/* Whatever is still in the pipe was written before the exit. */
	if (p->fd != -1)
		probe_io(p->fd, EV_READ, p);
	start = p->buf;
	end = p->buf + p->len;
	while (start < end && strchr("\r\n\t ", *start) != NULL)
		start++;
	if (start == end)
		return NULL;
	if ((nl = memchr(start, '\n', end - start)) != NULL)
		end = nl;
	if (end > start && end[-1] == '\r')
		end--;
	return probe_quote(start, end - start);
}

int
probe_reaped(pid_t pid, int status)
{
	struct probe	*p;
	char		*line;
	size_t		 i;

	for (i = 0; i < probe_nchildren; i++)
		if (probe_children[i].pid == pid)
			break;
	if (i == probe_nchildren)
		return 0;
	p = probe_children[i].owner;
	probe_children[i] = probe_children[--probe_nchildren];
	/* What it left in its group would otherwise be left to baton. */
	(void)kill(-pid, SIGKILL);
	if (p == NULL)
		return 1;
	p->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		probe_end(p, 1, "exit status 0");
		return 1;
	}
	line = probe_output_line(p);
	if (WIFEXITED(status))
		probe_end(p, 0, "exit status %d%s%s", WEXITSTATUS(status),
		    line != NULL ? ": " : "", line != NULL ? line : "");
	else
		probe_end(p, 0, "killed by %s%s%s",
		    signame_name(WTERMSIG(status)), line != NULL ? ": " : "",
		    line != NULL ? line : "");
	free(line);
	return 1;
}

pid_t *
probe_pids(size_t *n)
{
	pid_t	*pids;
	size_t	 i;

	pids = xcalloc(probe_nchildren + 1, sizeof(*pids));
	for (i = 0; i < probe_nchildren; i++)
		pids[i] = probe_children[i].pid;
	*n = probe_nchildren;
	return pids;
}
