#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "command.h"
#include "config.h"
#include "control.h"
#include "envfile.h"
#include "log.h"
#include "xmalloc.h"

#define CONTROL_READ_TIMEOUT	10	/* s to send a whole command */
#define CONTROL_PROBE_TIMEOUT	1000	/* ms for what holds our path */

enum conn_mode {
	CONN_READING,		/* waiting for the command line */
	CONN_RELOAD,		/* following a reload */
	CONN_STOP,		/* following the stop until baton exits */
	CONN_REOPEN,		/* waiting for the output to reopen */
	CONN_SCALE,		/* following a scale */
	CONN_CLOSING		/* flush what is queued, then close */
};

struct conn {
	struct control		*ctl;
	struct bufferevent	*bev;
	enum conn_mode		 mode;
	int			 target;	/* generation followed; 0: next */
	pid_t			 pid;		/* the client's, for the log */
	TAILQ_ENTRY(conn)	 entry;
};

struct control {
	const struct control_ops *ops;
	void			*arg;
	struct evconnlistener	*listener;
	struct event		*resume;	/* re-enables the listener */
	char			*path;
	ino_t			 ino;		/* ours, to unlink only ours */
	TAILQ_HEAD(, conn)	 conns;
};

static void
conn_free(struct conn *c)
{
	TAILQ_REMOVE(&c->ctl->conns, c, entry);
	bufferevent_free(c->bev);
	free(c);
}

/*
 * The loop is over and baton exits: write what is queued (the last lines
 * of a stop) by hand, waiting a little for a slow reader. A socket
 * bufferevent keeps its output frozen, so copy it out rather than drain.
 */
static void
conn_flush(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct pollfd	 pfd;
	unsigned char	*p;
	size_t		 len = evbuffer_get_length(out), off = 0;
	ssize_t		 n;

	pfd.fd = bufferevent_getfd(c->bev);
	pfd.events = POLLOUT;
	if (len == 0 || pfd.fd < 0 || (p = evbuffer_pullup(out, -1)) == NULL)
		return;
	while (off < len) {
		n = write(pfd.fd, p + off, len - off);
		if (n > 0)
			off += n;
		else if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (poll(&pfd, 1, 1000) <= 0)
				return;
		} else
			return;
	}
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->mode == CONN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

/* Send a last line, then close once it is out. */
static void
conn_finish(struct conn *c, const char *line)
{
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s\n", line);
	c->mode = CONN_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* A printable copy of what a client sent, for an error message. */
static char *
conn_quote(const char *s, size_t len)
{
	char	*q;
	size_t	 i;

	if (len > 32)
		len = 32;
	q = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		q[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	q[len] = '\0';
	return q;
}

int
control_parse(const char *line, size_t len, enum control_cmd *cmd)
{
	static const struct {
		const char		*word;
		enum control_cmd	 cmd;
	} cmds[] = {
		{ "reload",		CONTROL_RELOAD },
		{ "status",		CONTROL_STATUS },
		{ "status json",	CONTROL_STATUS },
		{ "status text",	CONTROL_STATUS_TEXT },
		{ "stop",		CONTROL_STOP },
		{ "reopen",		CONTROL_REOPEN },
		{ "promote",		CONTROL_PROMOTE },
		{ "rollback",		CONTROL_ROLLBACK },
	};
	size_t	 i;

	if (len > CONTROL_LINE_MAX)
		return -1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strlen(cmds[i].word) == len &&
		    memcmp(cmds[i].word, line, len) == 0) {
			*cmd = cmds[i].cmd;
			return 0;
		}
	}
	return -1;
}

int
control_parse_scale(const char *line, size_t len, int *n, char **error)
{
	const char	*p;
	char		*q;
	long		 v = 0;
	size_t		 i;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len < 5 || memcmp(line, "scale", 5) != 0 ||
	    (len > 5 && line[5] != ' ')) {
		*error = xstrdup("not a scale command");
		return -1;
	}
	if (len <= 6) {
		*error = xprintf("scale: how many workers? (scale N, N from 1 "
		    "to %d)", CONFIG_MAX_WORKERS);
		return -1;
	}
	p = line + 6;
	len -= 6;
	for (i = 0; i < len && v <= CONFIG_MAX_WORKERS; i++) {
		if (!isdigit((unsigned char)p[i]))
			break;
		v = v * 10 + (p[i] - '0');
	}
	if (i < len || v < 1 || v > CONFIG_MAX_WORKERS) {
		q = conn_quote(p, len);
		*error = xprintf("scale: '%s' is not a number of workers from "
		    "1 to %d", q, CONFIG_MAX_WORKERS);
		free(q);
		return -1;
	}
	*n = (int)v;
	return 0;
}

/*
 * "--canary P%" at the start of args: its share into *canary, and args
 * past it. NULL with *error set if the share is not one.
 */
static const char *
conn_canary(const char *args, int *canary, char **error)
{
	char	 word[16];
	size_t	 len;

	*canary = 0;
	if (strncmp(args, "--canary ", 9) != 0)
		return args;
	args += 9;
	len = strcspn(args, " ");
	if (len < sizeof(word)) {
		memcpy(word, args, len);
		word[len] = '\0';
	}
	if (len >= sizeof(word) || config_parse_canary(word, canary) == -1) {
		*error = xprintf("--canary: '%.*s' is not a share from 0.01%% "
		    "to 99.99%% (10%%, 2.5%%)", (int)(len < 32 ? len : 32), args);
		return NULL;
	}
	args += len;
	return args + strspn(args, " ");
}

/*
 * "reload [--canary P%] [--env 'KEY=VALUE' ...]": all valid, or nothing
 * is reloaded.
 */
static void
conn_reload_env(struct conn *c, const char *args)
{
	char	**env = NULL, *error = NULL, *msg;
	int	  canary;

	if ((args = conn_canary(args, &canary, &error)) == NULL ||
	    (*args != '\0' &&
	    (env = envfile_request_parse(args, &error)) == NULL)) {
		log_warn("control: reload refused: %s", error);
		msg = xprintf("error %s", error);
		conn_finish(c, msg);
		free(msg);
		free(error);
		return;
	}
	c->mode = CONN_RELOAD;
	c->target = 0;
	log_info("control: reload with %s%s%s requested by pid %ld",
	    canary > 0 ? "--canary" : "", canary > 0 && env != NULL ? " and " :
	    "", env != NULL ? "--env" : "", (long)c->pid);
	c->ctl->ops->reload(c->ctl->arg, env, canary);
	command_free(env);
}

/* "scale N": answered at once, or followed until it is over. */
static void
conn_scale(struct conn *c, const char *line, size_t len)
{
	char	*error = NULL, *answer;
	int	 n;

	if (control_parse_scale(line, len, &n, &error) == -1) {
		log_warn("control: %s; refused", error);
		answer = xprintf("error %s", error);
		conn_finish(c, answer);
		free(answer);
		free(error);
		return;
	}
	log_info("control: scale to %d worker%s requested by pid %ld", n,
	    n == 1 ? "" : "s", (long)c->pid);
	/* Following before it begins: it may be over at once. */
	c->mode = CONN_SCALE;
	if ((answer = c->ctl->ops->scale(c->ctl->arg, n)) == NULL)
		return;
	if (strncmp(answer, "error ", 6) == 0)
		log_warn("control: %s", answer + 6);
	conn_finish(c, answer);
	free(answer);
}

static void
conn_command(struct conn *c, const char *line, size_t len)
{
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	enum control_cmd	 cmd;
	char			*q;

	bufferevent_set_timeouts(c->bev, NULL, NULL);
	if (len > 7 && strncmp(line, "reload ", 7) == 0) {
		conn_reload_env(c, line + 7);
		return;
	}
	if (len >= 5 && strncmp(line, "scale", 5) == 0 &&
	    (len == 5 || line[5] == ' ' || line[5] == '\r')) {
		conn_scale(c, line, len);
		return;
	}
	if (control_parse(line, len, &cmd) == -1) {
		q = conn_quote(line, len);
		log_warn("control: unknown command '%s' refused", q);
		evbuffer_add_printf(out, "error unknown command '%s' (use "
		    "reload, status, status text, stop, reopen, promote, "
		    "rollback or scale N)", q);
		free(q);
		conn_finish(c, "");
		return;
	}
	switch (cmd) {
	case CONTROL_RELOAD:
		c->mode = CONN_RELOAD;
		c->target = 0;
		/*
		 * Logged once following, so that the client hears at once
		 * that baton took it: its first line is what its --timeout
		 * bounds, and a coalesced reload may say nothing else for
		 * as long as a generation takes to start.
		 */
		log_info("control: reload requested by pid %ld", (long)c->pid);
		c->ctl->ops->reload(c->ctl->arg, NULL, 0);
		break;
	case CONTROL_PROMOTE:
	case CONTROL_ROLLBACK:
		log_info("control: %s requested by pid %ld", cmd ==
		    CONTROL_PROMOTE ? "promote" : "rollback", (long)c->pid);
		q = (cmd == CONTROL_PROMOTE ? c->ctl->ops->promote :
		    c->ctl->ops->rollback)(c->ctl->arg);
		if (strncmp(q, "error ", 6) == 0)
			log_warn("control: %s", q + 6);
		conn_finish(c, q);
		free(q);
		break;
	case CONTROL_STATUS:
		c->ctl->ops->status(c->ctl->arg, out, 1);
		conn_finish(c, "");
		break;
	case CONTROL_STATUS_TEXT:
		c->ctl->ops->status(c->ctl->arg, out, 0);
		c->mode = CONN_CLOSING;
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_enable(c->bev, EV_WRITE);
		break;
	case CONTROL_REOPEN:
		/* Answered by control_reopen_finished(), maybe at once. */
		c->mode = CONN_REOPEN;
		log_info("control: reopen requested by pid %ld", (long)c->pid);
		c->ctl->ops->reopen(c->ctl->arg);
		break;
	case CONTROL_STOP:
		c->mode = CONN_STOP;
		/* The same: a baton already stopping says nothing more. */
		log_info("control: stop requested by pid %ld", (long)c->pid);
		c->ctl->ops->stop(c->ctl->arg);
		break;
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	unsigned char	*p;
	char		*line;
	size_t		 len, max;

	if (c->mode != CONN_READING) {
		/* One command a connection: the rest is ignored. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	p = evbuffer_pullup(in, 7);
	max = p != NULL && memcmp(p, "reload ", 7) == 0 ?
	    CONTROL_RELOAD_LINE_MAX : CONTROL_LINE_MAX;
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > max) {
			log_warn("control: a line longer than %zu bytes "
			    "refused", max);
			conn_finish(c, "error line too long");
		}
		return;
	}
	if (len > max || memchr(line, '\0', len) != NULL) {
		log_warn("control: a malformed command refused");
		conn_finish(c, "error malformed command");
	} else
		conn_command(c, line, len);
	free(line);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if ((what & BEV_EVENT_TIMEOUT) != 0)
		log_warn("control: a client sent no command in %d s; closed",
		    CONTROL_READ_TIMEOUT);
	/*
	 * A client may shut down its writing side once it has sent its
	 * command: keep answering. Anything else means it is gone.
	 */
	if ((what & BEV_EVENT_EOF) != 0 && (what & BEV_EVENT_READING) != 0 &&
	    c->mode != CONN_READING) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_free(c);
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control	*ctl = arg;
	struct conn	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	struct timeval	 tv = { CONTROL_READ_TIMEOUT, 0 };
	int		 allowed;

	allowed = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    (cred.uid == 0 || cred.uid == geteuid());
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->pid = allowed ? cred.pid : 0;
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->conns, c, entry);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	if (!allowed) {
		log_warn("control: uid %ld pid %ld refused (only uid %ld or "
		    "root may control baton)", (long)cred.uid, (long)cred.pid,
		    (long)geteuid());
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "error permission denied: uid %ld may not control this "
		    "baton\n", (long)cred.uid);
		c->mode = CONN_CLOSING;
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Reload and stop clients see the log as it happens. */
static void
control_tap(enum log_level level, const char *line, void *arg)
{
	struct control	*ctl = arg;
	struct conn	*c;

	TAILQ_FOREACH(c, &ctl->conns, entry) {
		if (c->mode == CONN_RELOAD || c->mode == CONN_STOP ||
		    c->mode == CONN_SCALE)
			evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "%s\n", line);
	}
}

int
control_connect(const char *path, long timeout_ms, pid_t *pid)
{
	struct sockaddr_un	 sun;
	struct ucred		 cred;
	struct timeval		 tv;
	socklen_t		 len = sizeof(cred);
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/*
	 * connect() on a unix stream socket waits while the listener's
	 * backlog is full (a stopped baton) for as long as SO_SNDTIMEO, and
	 * then fails with EAGAIN. The bound also covers the sends after it.
	 */
	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)) == -1)
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EAGAIN)
			errno = ETIMEDOUT;
		goto fail;
	}
	if (pid != NULL) {
		*pid = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			*pid = cred.pid;
	}
	return fd;

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* The name of process pid (its comm), into buf; "" if unknown. */
static void
control_comm(pid_t pid, char *buf, size_t size)
{
	char	 path[64];
	ssize_t	 n;
	int	 fd;

	*buf = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0) {
		*buf = '\0';
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * Is what listens on the connected fd a baton? A process named baton is
 * (even a stopped one, which would not answer); otherwise it must answer
 * "status" as baton does, within CONTROL_PROBE_TIMEOUT: under valgrind,
 * say, baton has another name.
 */
static int
control_peer_is_baton(int fd, const char *comm)
{
	static const char	 want[] = "{\"pid\":";
	struct pollfd		 pfd;
	char			 buf[256] = "";
	size_t			 len = 0;
	ssize_t			 n;
	long long		 deadline;

	if (strcmp(comm, "baton") == 0)
		return 1;
	if (send(fd, "status\n", 7, MSG_NOSIGNAL) != 7)
		return 0;
	deadline = clock_ms() + CONTROL_PROBE_TIMEOUT;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (len < sizeof(buf) - 1 && strstr(buf, "\"version\":") == NULL) {
		n = deadline - clock_ms();
		if (n <= 0 || poll(&pfd, 1, (int)n) <= 0)
			break;
		if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
		len += n;
		buf[len] = '\0';
	}
	buf[len] = '\0';
	return strncmp(buf, want, sizeof(want) - 1) == 0 &&
	    strstr(buf, "\"version\":") != NULL;
}

/* Make room at path: only a stale socket may be replaced. */
static int
control_clear(const char *path, char **error)
{
	struct stat	 st;
	char		 comm[32];
	pid_t		 pid;
	int		 fd, baton;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		*error = xprintf("control socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*error = xprintf("control socket %s: something else is in the "
		    "way (baton only replaces stale sockets)", path);
		return -1;
	}
	if ((fd = control_connect(path, CONTROL_PROBE_TIMEOUT, &pid)) != -1) {
		control_comm(pid, comm, sizeof(comm));
		baton = control_peer_is_baton(fd, comm);
		close(fd);
		if (baton)
			*error = xprintf("another baton (pid %ld) is already "
			    "running with control socket %s", (long)pid, path);
		else if (*comm != '\0')
			*error = xprintf("control socket %s: a socket that is "
			    "not baton's is listening there (pid %ld, %s); set "
			    "'control' to another path", path, (long)pid, comm);
		else
			*error = xprintf("control socket %s: a socket that is "
			    "not baton's is listening there; set 'control' to "
			    "another path", path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		*error = xprintf("control socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		*error = xprintf("control socket %s: unlink the stale socket: "
		    "%s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
control_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control	*ctl = arg;

	evconnlistener_enable(ctl->listener);
}

/*
 * accept() fails while descriptors run out, and the connection stays
 * queued: retrying at once would spin. Pause the listener for a second.
 */
static void
control_accept_error(struct evconnlistener *l, void *arg)
{
	struct control	*ctl = arg;
	struct timeval	 tv = { 1, 0 };
	int		 err = EVUTIL_SOCKET_ERROR();

	log_warn("control socket: accept: %s; pausing it for 1 s",
	    evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	evtimer_add(ctl->resume, &tv);
}

/*
 * A new listening socket at path, born 0600. Returns it, or -1 with *error
 * set.
 */
static int
control_bind(const char *path, char **error)
{
	struct sockaddr_un	 sun;
	mode_t			 mask;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error = xprintf("control socket %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (control_clear(path, error) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		*error = xprintf("control socket: %s", strerror(errno));
		return -1;
	}
	/* Born 0600: never a moment when others could connect. */
	mask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(mask);
		*error = xprintf("control socket %s: bind: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(mask);
	/* Born 0600 already; this only guards against an odd umask. */
	if (fchmodat(AT_FDCWD, path, 0600, AT_SYMLINK_NOFOLLOW) == -1)
		log_warn("control socket %s: chmod: %s", path, strerror(errno));
	return fd;
}

struct control *
control_new(struct event_base *base, const struct control_ops *ops, void *arg,
    const char *path, int fd, char **error)
{
	struct control		*ctl;
	struct stat		 st;

	if (fd == -1 && (fd = control_bind(path, error)) == -1)
		return NULL;
	/* Inherited across an upgrade without the flag: it needs it again. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		*error = xprintf("control socket %s: fcntl: %s", path,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	ctl = xcalloc(1, sizeof(*ctl));
	ctl->ops = ops;
	ctl->arg = arg;
	ctl->path = xstrdup(path);
	TAILQ_INIT(&ctl->conns);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		ctl->ino = st.st_ino;
	ctl->listener = evconnlistener_new(base, control_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (ctl->listener == NULL) {
		*error = xprintf("control socket %s: listen: %s", path,
		    strerror(errno));
		close(fd);
		control_free(ctl);
		return NULL;
	}
	if ((ctl->resume = evtimer_new(base, control_resume, ctl)) == NULL) {
		*error = xstrdup("control socket: evtimer_new failed");
		control_free(ctl);
		return NULL;
	}
	evconnlistener_set_error_cb(ctl->listener, control_accept_error);
	log_set_tap(control_tap, ctl);
	return ctl;
}

int
control_fd(const struct control *ctl)
{
	return evconnlistener_get_fd(ctl->listener);
}

void
control_free(struct control *ctl)
{
	struct conn	*c;
	struct stat	 st;

	if (ctl == NULL)
		return;
	log_set_tap(NULL, NULL);
	while (!TAILQ_EMPTY(&ctl->conns)) {
		c = TAILQ_FIRST(&ctl->conns);
		conn_flush(c);
		conn_free(c);
	}
	if (ctl->resume != NULL)
		event_free(ctl->resume);
	if (ctl->listener != NULL)
		evconnlistener_free(ctl->listener);
	if (lstat(ctl->path, &st) == 0 && st.st_ino == ctl->ino &&
	    unlink(ctl->path) == -1)
		log_warn("control socket %s: unlink: %s", ctl->path,
		    strerror(errno));
	free(ctl->path);
	free(ctl);
}

void
control_reload_started(struct control *ctl, int gen)
{
	struct conn	*c;

	if (ctl == NULL)
		return;
	TAILQ_FOREACH(c, &ctl->conns, entry)
		if (c->mode == CONN_RELOAD && c->target == 0)
			c->target = gen;
}

/* Answer the clients in mode that follow nothing yet with line. */
static void
control_finish_waiting(struct control *ctl, enum conn_mode mode,
    const char *line)
{
	struct conn	*c, *next;

	if (ctl == NULL)
		return;
	for (c = TAILQ_FIRST(&ctl->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->mode == mode && c->target == 0)
			conn_finish(c, line);
	}
}

void
control_reload_failed(struct control *ctl, const char *line)
{
	control_finish_waiting(ctl, CONN_RELOAD, line);
}

void
control_reload_finished(struct control *ctl, int gen, int ok, const char *line)
{
	struct conn	*c, *next;

	if (ctl == NULL)
		return;
	for (c = TAILQ_FIRST(&ctl->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->mode != CONN_RELOAD || c->target == 0)
			continue;
		if (c->target == gen || (ok && c->target < gen))
			conn_finish(c, line);
	}
}

void
control_scale_finished(struct control *ctl, const char *line)
{
	control_finish_waiting(ctl, CONN_SCALE, line);
}

void
control_reopen_finished(struct control *ctl, const char *line)
{
	control_finish_waiting(ctl, CONN_REOPEN, line);
}
