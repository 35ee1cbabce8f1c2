/*
 * testserver: the HTTP server that the end-to-end tests run as a baton worker.
 *
 * It takes its listening sockets the way real servers do (systemd, einhorn or
 * Server::Starter variables, or a bind() of its own for the preload
 * interposer), reports readiness, shows the test what it was given (/fds,
 * /env), and drains on SIGTERM or SIGINT: it stops accepting, finishes the
 * requests in flight and the work they left behind, then exits 0.
 *
 * Pages:  /            "ok PID"; with --work-log, logs "ID PID" --work-ms later
 *         /fds         "N TARGET" for each descriptor it had at exec
 *         /env         the environment it had at exec
 *         /sleep?ms=N  "ok PID", N ms later
 *         /healthz     as /, but 503 for --healthy-after-ms after start, or
 *                      always with --unhealthy, or from --unhealthy-after-ms
 *                      after start on
 *
 * --fail-slot N makes the worker in slot N (BATON_WORKER) exit 3 at start;
 * --grow-kib N makes every request to / keep N KiB more memory, touched.
 */
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#define MAXSOCKETS	1024	/* all that baton passes (CONFIG_MAX_SOCKETS) */
#define MAXSLEEP_MS	3600000
/*
 * evhttp 2.1 does not show its connection list, so a connection accepted just
 * before the drain is invisible until its request is parsed: wait this long
 * with nothing left to do before exiting, so that such a request is served.
 */
#define SETTLE_MS	100

extern char **environ;

/* A connection we have seen a request on. */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct evhttp_connection *evcon;
	int			 busy;	/* responses not sent yet */
};

/* A timer: the answer to /sleep, or the work left behind by /. */
struct job {
	struct event		*ev;
	struct evhttp_request	*req;
	char			 id[128];
};

static struct event_base	*base;
static struct evhttp		*http;
static TAILQ_HEAD(, conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static struct event		*startup_ev, *sweep_ev, *settle_ev;
static struct event		*sigterm_ev, *sigint_ev, *crash_ev;

static int			 sock_fd[MAXSOCKETS];
static char			 sock_name[MAXSOCKETS][64];
static struct evhttp_bound_socket *sock_bound[MAXSOCKETS];
static int			 nsockets;

static pid_t			 pid;
static int			 draining;
static int			 held;		/* /sleep not answered yet */
static int			 working;	/* work not logged yet */
static char			*fds_page, *env_page;
static size_t			 fds_len, env_len;

static const char		*opt_protocol;
static const char		*opt_bind[MAXSOCKETS];
static int			 opt_nbind;
static int			 opt_raw_bind;
static long			 opt_work_ms = -1;
static int			 work_fd = -1;
static int			 opt_notify, opt_notify_channel;
static int			 opt_never_ready;
static const char		*opt_status;
static long			 opt_startup_ms;
static long			 opt_exit_code = -1;
static long			 opt_crash_ms = -1;
static int			 opt_ignore_drain, opt_quiet;
static long			 opt_healthy_ms;
static long			 opt_unhealthy_ms = -1;
static int			 opt_unhealthy;
static struct timespec		 started;
static long			 opt_chatter;
static long			 opt_fail_slot = -1;
static long			 opt_grow_kib;

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: testserver [--protocol systemd|einhorn|starter|baton |\n"
	    "                   --bind HOST:PORT... [--raw-bind]]\n"
	    "                  [--notify] [--notify-channel] [--status TEXT]\n"
	    "                  [--never-ready]\n"
	    "                  [--work-ms N --work-log FILE] [--startup-ms N]\n"
	    "                  [--exit-at-start CODE] [--crash-after-ms N]\n"
	    "                  [--ignore-drain] [--quiet] [--chatter N]\n"
	    "                  [--healthy-after-ms N | --unhealthy]\n"
	    "                  [--unhealthy-after-ms N] [--fail-slot N] [--grow-kib N]\n");
	exit(code);
}

/*
 * One line on stderr, in one write(): baton and the other workers share
 * the stream, and a line written in pieces would cut into theirs.
 */
static void
vline(const char *fmt, va_list ap)
{
	char	 buf[1024];
	int	 n, m;

	n = snprintf(buf, sizeof(buf), "testserver %d ", (int)pid);
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)(n + m) > sizeof(buf) - 2)
		m = (int)sizeof(buf) - 2 - n;
	buf[n + m] = '\n';
	(void)write(STDERR_FILENO, buf, n + m + 1);
}

/* Start, drain and exit events; --quiet silences them, not the errors. */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list	 ap;

	if (opt_quiet)
		return;
	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3), noreturn))
die(int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
	exit(code);
}

/* A decimal number in [0, max]: 0, or -1 if S is anything else. */
static int
number(const char *s, long max, long *out)
{
	char	*end;
	long	 v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static long
option_number(const char *opt, const char *s, long max)
{
	long	 v;

	if (number(s, max, &v) == -1) {
		fprintf(stderr, "testserver: --%s: '%s' is not a number "
		    "from 0 to %ld\n", opt, s, max);
		usage(64);
	}
	return v;
}

/*
 * Remember the descriptors and the environment that exec gave us, before
 * libevent opens anything of its own.
 */
static void
snapshot(void)
{
	FILE		*f;
	DIR		*d;
	struct dirent	*de;
	char		 path[64], target[PATH_MAX], **e;
	ssize_t		 n;
	long		 fd;

	if ((d = opendir("/proc/self/fd")) == NULL)
		die(2, "opendir /proc/self/fd: %s", strerror(errno));
	if ((f = open_memstream(&fds_page, &fds_len)) == NULL)
		die(2, "open_memstream: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (number(de->d_name, INT_MAX, &fd) == -1 || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%ld", fd);
		if ((n = readlink(path, target, sizeof(target) - 1)) == -1)
			continue;
		target[n] = '\0';
		fprintf(f, "%ld %s\n", fd, target);
	}
	closedir(d);
	fclose(f);

	if ((f = open_memstream(&env_page, &env_len)) == NULL)
		die(2, "open_memstream: %s", strerror(errno));
	for (e = environ; *e != NULL; e++)
		fprintf(f, "%s\n", *e);
	fclose(f);
}

static void
add_socket(long fd, const char *name, const char *from)
{
	if (nsockets == MAXSOCKETS)
		die(2, "more than %d sockets in %s", MAXSOCKETS, from);
	if (fd < 0 || fd > INT_MAX || fcntl(fd, F_GETFD) == -1)
		die(2, "%s names fd %ld, which is not open", from, fd);
	sock_fd[nsockets] = fd;
	snprintf(sock_name[nsockets], sizeof(sock_name[0]), "%s", name);
	nsockets++;
}

static long
env_number(const char *var, const char *protocol)
{
	const char	*s;
	long		 v;

	if ((s = getenv(var)) == NULL)
		die(2, "%s is not set (--protocol %s)", var, protocol);
	if (number(s, INT_MAX, &v) == -1)
		die(2, "%s='%s' is not a number (--protocol %s)", var, s,
		    protocol);
	return v;
}

/* systemd's LISTEN_FDS; baton's protocol is the same plus BATON_FD. */
static void
sockets_systemd(const char *protocol)
{
	char	*names, *name, *next;
	long	 n, listen_pid, i;

	n = env_number("LISTEN_FDS", protocol);
	listen_pid = env_number("LISTEN_PID", protocol);
	if (listen_pid != pid)
		die(2, "LISTEN_PID is %ld, not my pid %d: the sockets are "
		    "meant for another process", listen_pid, (int)pid);
	if ((names = getenv("LISTEN_FDNAMES")) != NULL &&
	    (names = strdup(names)) == NULL)
		die(2, "strdup: %s", strerror(errno));
	next = names;
	for (i = 0; i < n; i++) {
		name = next != NULL ? strsep(&next, ":") : NULL;
		if (names != NULL && name == NULL)
			die(2, "LISTEN_FDNAMES has fewer names than "
			    "LISTEN_FDS=%ld", n);
		add_socket(3 + i, name != NULL ? name : "unknown",
		    "LISTEN_FDS");
	}
	if (next != NULL)
		die(2, "LISTEN_FDNAMES has more names than LISTEN_FDS=%ld", n);
	free(names);

	if (strcmp(protocol, "baton") == 0) {
		i = env_number("BATON_FD", protocol);
		if (fcntl(i, F_GETFD) == -1)
			die(2, "BATON_FD=%ld is not open", i);
	}
}

static void
sockets_einhorn(void)
{
	char	 var[32];
	long	 n, i;

	n = env_number("EINHORN_FD_COUNT", "einhorn");
	for (i = 0; i < n; i++) {
		snprintf(var, sizeof(var), "EINHORN_FD_%ld", i);
		add_socket(env_number(var, "einhorn"), var, var);
	}
}

/* SERVER_STARTER_PORT=0.0.0.0:3000=3;/run/app.sock=4 */
static void
sockets_starter(void)
{
	char	*list, *item, *next, *eq;
	long	 fd;

	if ((list = getenv("SERVER_STARTER_PORT")) == NULL)
		die(2, "SERVER_STARTER_PORT is not set (--protocol starter)");
	if ((list = strdup(list)) == NULL)
		die(2, "strdup: %s", strerror(errno));
	next = list;
	while ((item = strsep(&next, ";")) != NULL) {
		if (*item == '\0')
			continue;
		if ((eq = strrchr(item, '=')) == NULL ||
		    number(eq + 1, INT_MAX, &fd) == -1)
			die(2, "SERVER_STARTER_PORT: '%s' is not ADDRESS=FD",
			    item);
		*eq = '\0';
		add_socket(fd, item, "SERVER_STARTER_PORT");
	}
	free(list);
	if (nsockets == 0)
		die(2, "SERVER_STARTER_PORT names no socket");
}

/* --bind HOST:PORT, [V6]:PORT or :PORT: plain calls, for the interposer. */
static void
sockets_bind(const char *spec)
{
	struct addrinfo	 hints, *ai;
	char		 host[256], *port;
	int		 fd, on = 1, rc;

	snprintf(host, sizeof(host), "%s", spec);
	if ((port = strrchr(host, ':')) == NULL)
		die(64, "--bind %s: expected HOST:PORT", spec);
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &ai);
	if (rc != 0)
		die(2, "--bind %s: %s", spec, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die(2, "--bind %s: socket: %s", spec, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		die(2, "--bind %s: SO_REUSEADDR: %s", spec, strerror(errno));
	/* --raw-bind: past libc, as Go and static programs do. */
	if ((opt_raw_bind ? syscall(SYS_bind, fd, ai->ai_addr,
	    ai->ai_addrlen) : bind(fd, ai->ai_addr, ai->ai_addrlen)) == -1)
		die(2, "--bind %s: bind: %s", spec, strerror(errno));
	if ((opt_raw_bind ? syscall(SYS_listen, fd, 128) :
	    listen(fd, 128)) == -1)
		die(2, "--bind %s: listen: %s", spec, strerror(errno));
	freeaddrinfo(ai);
	add_socket(fd, spec, "--bind");
}

/* Send MSG to the unix datagram socket PATH, exactly as sd_notify(3) does. */
static int
notify_socket(const char *path, const char *msg)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	size_t			 n;
	ssize_t			 r;
	int			 fd, saved;

	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	len = offsetof(struct sockaddr_un, sun_path) + n;
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract: no trailing NUL counted */
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	saved = errno;
	close(fd);
	errno = saved;
	return r == -1 ? -1 : 0;
}

static void
ready(void)
{
	char		 msg[512];
	const char	*path;
	long		 fd;

	if (opt_never_ready)
		return;
	if (opt_status != NULL)
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", opt_status);
	else
		snprintf(msg, sizeof(msg), "READY=1");
	if (opt_notify) {
		if ((path = getenv("NOTIFY_SOCKET")) == NULL)
			die(2, "--notify: NOTIFY_SOCKET is not set");
		if (notify_socket(path, msg) == -1)
			die(2, "--notify: send to NOTIFY_SOCKET=%s: %s", path,
			    strerror(errno));
	}
	if (opt_notify_channel) {
		fd = env_number("BATON_FD", "--notify-channel");
		if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) == -1)
			die(2, "--notify-channel: send on BATON_FD=%ld: %s", fd,
			    strerror(errno));
	}
}

static int
drained(void)
{
	return draining && held == 0 && working == 0 && TAILQ_EMPTY(&conns);
}

static void
drain_check(void)
{
	struct timeval	 tv = { 0, SETTLE_MS * 1000 };

	if (drained() && !evtimer_pending(settle_ev, NULL))
		evtimer_add(settle_ev, &tv);
}

static void
settle_cb(evutil_socket_t fd, short what, void *arg)
{
	if (!drained())
		return;		/* a late request: its end checks again */
	say("drained, exiting");
	event_base_loopexit(base, NULL);
}

/* Idle: no request of ours in it, and no byte of the next one has come. */
static int
conn_idle(struct conn *c)
{
	struct bufferevent	*bev;
	int			 unread = 0;

	bev = evhttp_connection_get_bufferevent(c->evcon);

	if (c->busy > 0 || evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		return 0;
	if (ioctl(bufferevent_getfd(bev), FIONREAD, &unread) == 0 && unread > 0)
		return 0;
	return 1;
}

/*
 * Close the keep-alive connections that wait for a request.  One that has
 * its next request on the way is served with "Connection: close" instead.
 */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (conn_idle(c))	/* conn_closed() frees c */
			evhttp_connection_free(c->evcon);
	}
	drain_check();
}

static void
drain(void)
{
	int	 i;

	if (draining)
		return;
	draining = 1;
	say("draining");
	if (startup_ev != NULL)
		evtimer_del(startup_ev);
	/* The listening socket stays open in baton and the new workers. */
	for (i = 0; i < nsockets; i++) {
		if (sock_bound[i] != NULL)
			evhttp_del_accept_socket(http, sock_bound[i]);
		else
			close(sock_fd[i]);
		sock_bound[i] = NULL;
	}
	sweep_cb(-1, 0, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	drain();
}

static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	TAILQ_REMOVE(&conns, c, entry);
	free(c);
	drain_check();
}

static void
conn_done(struct evhttp_request *req, void *arg)
{
	struct conn	*c = arg;

	c->busy--;
	/* evhttp still uses the connection here: close it from the loop. */
	if (draining)
		event_active(sweep_ev, EV_TIMEOUT, 1);
}

static void
conn_track(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct conn			*c;

	evcon = evhttp_request_get_connection(req);
	TAILQ_FOREACH(c, &conns, entry) {
		if (c->evcon == evcon)
			break;
	}
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			die(2, "calloc: %s", strerror(errno));
		c->evcon = evcon;
		TAILQ_INSERT_HEAD(&conns, c, entry);
		evhttp_connection_set_closecb(evcon, conn_closed, c);
	}
	c->busy++;
	evhttp_request_set_on_complete_cb(req, conn_done, c);
}

static void
reply(struct evhttp_request *req, int code, const char *reason)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/plain");
	if (draining)
		evhttp_add_header(h, "Connection", "close");
	evhttp_send_reply(req, code, reason, NULL);
}

static void
reply_ok(struct evhttp_request *req)
{
	evbuffer_add_printf(evhttp_request_get_output_buffer(req), "ok %d\n",
	    (int)pid);
	reply(req, 200, "OK");
}

static void
job_start(long ms, event_callback_fn cb, struct evhttp_request *req,
    const char *id)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct job	*job;
	char		*p;

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->ev = evtimer_new(base, cb, job)) == NULL)
		die(2, "cannot allocate a timer");
	job->req = req;
	/* The id goes into a line-based log: keep it one printable word. */
	snprintf(job->id, sizeof(job->id), "%s", id != NULL ? id : "-");
	for (p = job->id; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~')
			*p = '_';
	}
	evtimer_add(job->ev, &tv);
}

static void
job_free(struct job *job)
{
	event_free(job->ev);
	free(job);
}

static void
sleep_done(evutil_socket_t fd, short what, void *arg)
{
	struct job	*job = arg;

	reply_ok(job->req);
	job_free(job);
	held--;
	drain_check();
}

static void
work_done(evutil_socket_t fd, short what, void *arg)
{
	struct job	*job = arg;
	char		 line[192];
	int		 n;

	/* One write() per line, so that concurrent workers never interleave. */
	n = snprintf(line, sizeof(line), "%s %d\n", job->id, (int)pid);
	if (write(work_fd, line, n) != n)
		fprintf(stderr, "testserver %d write --work-log: %s\n",
		    (int)pid, strerror(errno));
	job_free(job);
	working--;
	drain_check();
}

/*
 * /healthz: 503 while warming up (--healthy-after-ms), once it went bad
 * (--unhealthy-after-ms), or always.
 */
static int
healthz_failing(void)
{
	struct timespec	 now;
	long		 ms;

	if (opt_unhealthy)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - started.tv_sec) * 1000 +
	    (now.tv_nsec - started.tv_nsec) / 1000000;
	return ms < opt_healthy_ms ||
	    (opt_unhealthy_ms >= 0 && ms >= opt_unhealthy_ms);
}

/*
 * --grow-kib: memory that stays resident, as a leak's would; chained,
 * so that the compiler cannot drop what is never read.
 */
static void	*hoard;

static void
grow(void)
{
	char	*p;

	if (opt_grow_kib <= 0)
		return;
	if ((p = malloc(opt_grow_kib * 1024)) == NULL)
		die(2, "--grow-kib: out of memory");
	memset(p, 0x5a, opt_grow_kib * 1024);
	*(void **)p = hoard;
	hoard = p;
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer		*out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq	 query;
	const char		*path, *id;
	long			 ms;

	conn_track(req);
	TAILQ_INIT(&query);
	if (evhttp_uri_get_query(uri) != NULL)
		evhttp_parse_query_str(evhttp_uri_get_query(uri), &query);
	if ((path = evhttp_uri_get_path(uri)) == NULL)
		path = "/";

	if (strcmp(path, "/healthz") == 0 && healthz_failing()) {
		evbuffer_add_printf(out, "not yet\n");
		reply(req, 503, "Service Unavailable");
	} else if (strcmp(path, "/fds") == 0) {
		evbuffer_add(out, fds_page, fds_len);
		reply(req, 200, "OK");
	} else if (strcmp(path, "/env") == 0) {
		evbuffer_add(out, env_page, env_len);
		reply(req, 200, "OK");
	} else if (strcmp(path, "/sleep") == 0) {
		if (number(evhttp_find_header(&query, "ms"), MAXSLEEP_MS,
		    &ms) == -1) {
			evbuffer_add_printf(out, "usage: /sleep?ms=N\n");
			reply(req, 400, "Bad Request");
		} else {
			job_start(ms, sleep_done, req, NULL);
			held++;
		}
	} else {
		reply_ok(req);
		grow();
		if (work_fd != -1) {
			if ((id = evhttp_find_header(&query, "id")) == NULL)
				id = evhttp_find_header(
				    evhttp_request_get_input_headers(req),
				    "X-Request-Id");
			job_start(opt_work_ms, work_done, NULL, id);
			working++;
		}
	}
	evhttp_clear_headers(&query);
}

static void
serve(void)
{
	int	 i, type, listening, served = 0;
	socklen_t len;

	for (i = 0; i < nsockets; i++) {
		len = sizeof(type);
		if (getsockopt(sock_fd[i], SOL_SOCKET, SO_TYPE, &type,
		    &len) == -1 || type != SOCK_STREAM)
			type = -1;
		len = sizeof(listening);
		if (getsockopt(sock_fd[i], SOL_SOCKET, SO_ACCEPTCONN,
		    &listening, &len) == -1)
			listening = 0;
		if (type != SOCK_STREAM || !listening) {
			say("fd %d (%s) is not a listening stream socket, "
			    "not served", sock_fd[i], sock_name[i]);
			continue;
		}
		if (evutil_make_socket_nonblocking(sock_fd[i]) == -1 ||
		    (sock_bound[i] = evhttp_accept_socket_with_handle(http,
		    sock_fd[i])) == NULL)
			die(2, "cannot serve fd %d (%s)", sock_fd[i],
			    sock_name[i]);
		served++;
	}
	if (served == 0)
		die(2, "no listening stream socket to serve");
	say("serving on %d sockets", served);
	ready();
}

static void
startup_cb(evutil_socket_t fd, short what, void *arg)
{
	serve();
}

static void
crash_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rlimit	 none = { 0, 0 };

	say("crashing (--crash-after-ms)");
	/* A crash loop must not fill the disk with cores. */
	setrlimit(RLIMIT_CORE, &none);
	abort();
}

static void
options(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "protocol",		required_argument, NULL, 'P' },
		{ "bind",		required_argument, NULL, 'b' },
		{ "raw-bind",		no_argument,	   NULL, 'R' },
		{ "work-ms",		required_argument, NULL, 'w' },
		{ "work-log",		required_argument, NULL, 'l' },
		{ "notify",		no_argument,	   NULL, 'n' },
		{ "notify-channel",	no_argument,	   NULL, 'C' },
		{ "status",		required_argument, NULL, 's' },
		{ "never-ready",	no_argument,	   NULL, 'N' },
		{ "startup-ms",		required_argument, NULL, 'S' },
		{ "exit-at-start",	required_argument, NULL, 'x' },
		{ "crash-after-ms",	required_argument, NULL, 'c' },
		{ "ignore-drain",	no_argument,	   NULL, 'i' },
		{ "healthy-after-ms",	required_argument, NULL, 'H' },
		{ "unhealthy",		no_argument,	   NULL, 'U' },
		{ "unhealthy-after-ms",	required_argument, NULL, 'u' },
		{ "quiet",		no_argument,	   NULL, 'q' },
		{ "chatter",		required_argument, NULL, 'T' },
		{ "fail-slot",		required_argument, NULL, 'F' },
		{ "grow-kib",		required_argument, NULL, 'G' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL,			0,		   NULL, 0 }
	};
	const char	*work_log = NULL;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			if (strcmp(optarg, "systemd") != 0 &&
			    strcmp(optarg, "einhorn") != 0 &&
			    strcmp(optarg, "starter") != 0 &&
			    strcmp(optarg, "baton") != 0) {
				fprintf(stderr, "testserver: --protocol: "
				    "unknown protocol '%s'\n", optarg);
				usage(64);
			}
			opt_protocol = optarg;
			break;
		case 'R':
			opt_raw_bind = 1;
			break;
		case 'b':
			if (opt_nbind == MAXSOCKETS)
				usage(64);
			opt_bind[opt_nbind++] = optarg;
			break;
		case 'w':
			opt_work_ms = option_number("work-ms", optarg,
			    MAXSLEEP_MS);
			break;
		case 'l':
			work_log = optarg;
			break;
		case 'n':
			opt_notify = 1;
			break;
		case 'C':
			opt_notify_channel = 1;
			break;
		case 's':
			opt_status = optarg;
			break;
		case 'N':
			opt_never_ready = 1;
			break;
		case 'S':
			opt_startup_ms = option_number("startup-ms", optarg,
			    MAXSLEEP_MS);
			break;
		case 'x':
			opt_exit_code = option_number("exit-at-start", optarg,
			    255);
			break;
		case 'c':
			opt_crash_ms = option_number("crash-after-ms", optarg,
			    MAXSLEEP_MS);
			break;
		case 'i':
			opt_ignore_drain = 1;
			break;
		case 'H':
			opt_healthy_ms = option_number("healthy-after-ms",
			    optarg, MAXSLEEP_MS);
			break;
		case 'U':
			opt_unhealthy = 1;
			break;
		case 'u':
			opt_unhealthy_ms = option_number("unhealthy-after-ms",
			    optarg, MAXSLEEP_MS);
			break;
		case 'q':
			opt_quiet = 1;
			break;
		case 'T':
			opt_chatter = option_number("chatter", optarg, 1000);
			break;
		case 'F':
			opt_fail_slot = option_number("fail-slot", optarg,
			    1024);
			break;
		case 'G':
			opt_grow_kib = option_number("grow-kib", optarg,
			    1024 * 1024);
			break;
		case 'h':
			usage(0);
		default:
			usage(64);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "testserver: unexpected argument '%s'\n",
		    argv[optind]);
		usage(64);
	}
	if (opt_protocol != NULL && opt_nbind > 0) {
		fprintf(stderr, "testserver: --bind and --protocol exclude "
		    "each other\n");
		usage(64);
	}
	if (opt_work_ms != -1 && work_log == NULL) {
		fprintf(stderr, "testserver: --work-ms needs --work-log\n");
		usage(64);
	}
	if (work_log != NULL) {
		if (opt_work_ms == -1)
			opt_work_ms = 0;
		work_fd = open(work_log, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0644);
		if (work_fd == -1)
			die(2, "open %s: %s", work_log, strerror(errno));
	}
	if (opt_protocol == NULL)
		opt_protocol = "systemd";
}

/*
 * --chatter N: every millisecond, N numbered lines on stdout and N on
 * stderr, each in one write(), so that a test can tell a line lost or
 * cut in baton's output file.
 */
static void
chatter_cb(evutil_socket_t fd, short what, void *arg)
{
	static unsigned long	 seq[2];
	static const char *const names[2] = { "stdout", "stderr" };
	char			 buf[128];
	long			 i;
	int			 k, n;

	for (i = 0; i < opt_chatter; i++)
		for (k = 0; k < 2; k++) {
			n = snprintf(buf, sizeof(buf), "chatter %s %lu "
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
			    names[k], ++seq[k]);
			(void)!write(k == 0 ? STDOUT_FILENO : STDERR_FILENO,
			    buf, n);
		}
}

static struct event *
timer_start(long ms, event_callback_fn cb)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event	*ev;

	if ((ev = evtimer_new(base, cb, NULL)) == NULL ||
	    evtimer_add(ev, &tv) == -1)
		die(2, "cannot start a timer");
	return ev;
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	int			 i;

	pid = getpid();
	clock_gettime(CLOCK_MONOTONIC, &started);
	snapshot();
	options(argc, argv);
	if (opt_exit_code != -1) {
		say("exiting with %ld (--exit-at-start)", opt_exit_code);
		return opt_exit_code;
	}
	if (opt_fail_slot != -1 && getenv("BATON_WORKER") != NULL &&
	    atol(getenv("BATON_WORKER")) == opt_fail_slot) {
		say("exiting with 3 (--fail-slot %ld)", opt_fail_slot);
		return 3;
	}

	if (opt_nbind > 0) {
		for (i = 0; i < opt_nbind; i++)
			sockets_bind(opt_bind[i]);
	} else if (strcmp(opt_protocol, "einhorn") == 0)
		sockets_einhorn();
	else if (strcmp(opt_protocol, "starter") == 0)
		sockets_starter();
	else
		sockets_systemd(opt_protocol);
	if (nsockets == 0)
		die(2, "no sockets were passed (--protocol %s)", opt_protocol);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);	/* a client that resets is no crash */
	if (opt_ignore_drain) {
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}

	if ((base = event_base_new()) == NULL || (http = evhttp_new(base)) ==
	    NULL)
		die(2, "cannot create the event loop");
	evhttp_set_gencb(http, request_cb, NULL);
	sweep_ev = evtimer_new(base, sweep_cb, NULL);
	settle_ev = evtimer_new(base, settle_cb, NULL);
	if (sweep_ev == NULL || settle_ev == NULL)
		die(2, "cannot create timers");
	if (!opt_ignore_drain) {
		sigterm_ev = evsignal_new(base, SIGTERM, signal_cb, NULL);
		sigint_ev = evsignal_new(base, SIGINT, signal_cb, NULL);
		if (sigterm_ev == NULL || sigint_ev == NULL ||
		    evsignal_add(sigterm_ev, NULL) == -1 ||
		    evsignal_add(sigint_ev, NULL) == -1)
			die(2, "cannot watch SIGTERM and SIGINT");
	}
	if (opt_crash_ms != -1)
		crash_ev = timer_start(opt_crash_ms, crash_cb);
	if (opt_chatter > 0) {
		struct timeval	 ms = { 0, 1000 };
		struct event	*ev;

		if ((ev = event_new(base, -1, EV_PERSIST, chatter_cb,
		    NULL)) == NULL || evtimer_add(ev, &ms) == -1)
			die(2, "cannot start --chatter");
	}
	if (opt_startup_ms > 0)
		startup_ev = timer_start(opt_startup_ms, startup_cb);
	else
		serve();

	event_base_dispatch(base);

	if (startup_ev != NULL)
		event_free(startup_ev);
	if (crash_ev != NULL)
		event_free(crash_ev);
	if (sigterm_ev != NULL) {
		event_free(sigterm_ev);
		event_free(sigint_ev);
	}
	event_free(sweep_ev);
	event_free(settle_ev);
	evhttp_free(http);
	event_base_free(base);
	if (work_fd != -1)
		close(work_fd);
	free(fds_page);
	free(env_page);
	return 0;
}
