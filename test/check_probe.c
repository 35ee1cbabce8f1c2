/*
 * probe.c against real listeners on 127.0.0.1, ::1 and a unix path, each
 * a few lines in this file, and real exec probes reaped as baton's reaper
 * reaps them.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check_run.h"
#include "config.h"
#include "log.h"
#include "probe.h"
#include "reaper.h"

/* What a listener does with a connection. */
enum serve {
	SERVE_REPLY,		/* read the request, write reply, close */
	SERVE_SILENT,		/* accept, never answer */
	SERVE_NOTHING		/* never accept: the kernel still connects */
};

static struct {
	struct event_base	*base;
	int			 lfd;
	struct event		*accept_ev;
	struct event		*conn_ev;
	enum serve		 serve;
	const char		*reply;
	char			 request[1024];
	int			 peer_port;	/* as accept() sees it */
	int			 cfd;		/* the connection kept open */
	int			 bound_port;	/* as bound() reports it */
	int			 nbound;
	int			 ndone;
	int			 passed;
	char			 reason[512];
	struct sockaddr_storage	 addr;		/* the listener's */
	socklen_t		 addrlen;
	char			 path[108];
	struct reaper		*reaper;	/* NULL: reap here */
	int			 nreaped;	/* by probe_reaped() */
	char			 log[4096];
} t;

static void
on_bound(void *arg, int port)
{
	(void)arg;
	t.bound_port = port;
	t.nbound++;
}

static void
on_done(void *arg, int passed, const char *reason)
{
	(void)arg;
	t.ndone++;
	t.passed = passed;
	snprintf(t.reason, sizeof(t.reason), "%s", reason);
	event_base_loopbreak(t.base);
}

static const struct probe_ops ops = { on_bound, on_done };

/* The request, read as it comes: the reply once it is whole. */
static void
on_request(evutil_socket_t fd, short what, void *arg)
{
	size_t	 got = strlen(t.request);
	ssize_t	 n;

	(void)what;
	(void)arg;
	n = read(fd, t.request + got, sizeof(t.request) - 1 - got);
	if (n > 0) {
		t.request[got + n] = '\0';
		if (strstr(t.request, "\r\n\r\n") == NULL)
			return;
		if (*t.reply != '\0')
			ck_assert_int_eq(write(fd, t.reply, strlen(t.reply)),
			    (ssize_t)strlen(t.reply));
	}
	event_free(t.conn_ev);
	t.conn_ev = NULL;
	close(fd);
	t.cfd = -1;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 fd;

	(void)what;
	(void)arg;
	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_CLOEXEC)) == -1)
		return;
	if (ss.ss_family == AF_INET)
		t.peer_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		t.peer_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (t.cfd != -1)
		close(t.cfd);
	t.cfd = fd;
	if (t.serve == SERVE_SILENT)
		return;
	t.conn_ev = event_new(t.base, fd, EV_READ | EV_PERSIST, on_request,
	    NULL);
	event_add(t.conn_ev, NULL);
}

/*
 * A listener of family (AF_INET, AF_INET6, AF_UNIX) on loopback, or on
 * the wildcard address; 0, or -1 if the machine has no such family.
 */
static int
listener(int family, int wildcard, enum serve serve, const char *reply)
{
	struct sockaddr_in	*sin = (void *)&t.addr;
	struct sockaddr_in6	*sin6 = (void *)&t.addr;
	struct sockaddr_un	*sun = (void *)&t.addr;

	memset(&t.addr, 0, sizeof(t.addr));
	t.addr.ss_family = family;
	if (family == AF_INET) {
		sin->sin_addr.s_addr = htonl(wildcard ? INADDR_ANY :
		    INADDR_LOOPBACK);
		t.addrlen = sizeof(*sin);
	} else if (family == AF_INET6) {
		sin6->sin6_addr = wildcard ? in6addr_any : in6addr_loopback;
		t.addrlen = sizeof(*sin6);
	} else {
		snprintf(t.path, sizeof(t.path), "/tmp/check_probe.%ld",
		    (long)getpid());
		(void)unlink(t.path);
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", t.path);
		t.addrlen = sizeof(*sun);
	}
	t.lfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t.lfd == -1)
		return -1;
	if (bind(t.lfd, (struct sockaddr *)&t.addr, t.addrlen) == -1) {
		close(t.lfd);
		return -1;
	}
	ck_assert_int_eq(listen(t.lfd, 16), 0);
	ck_assert_int_eq(getsockname(t.lfd, (struct sockaddr *)&t.addr,
	    &t.addrlen), 0);
	t.serve = serve;
	t.reply = reply != NULL ? reply : "";
	if (serve != SERVE_NOTHING) {
		t.accept_ev = event_new(t.base, t.lfd, EV_READ | EV_PERSIST,
		    on_accept, NULL);
		event_add(t.accept_ev, NULL);
	}
	return 0;
}

/* The port of the listener's address. */
static int
listener_port(void)
{
	if (t.addr.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&t.addr)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&t.addr)->sin6_port);
}

/* baton's one reaper, or this test's: every child, handed to probe.c. */
static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	pid_t	 pid;
	int	 status;

	(void)sig;
	(void)what;
	(void)arg;
	if (t.reaper != NULL) {
		(void)reaper_reap(t.reaper, 0);
		return;
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		ck_assert_msg(probe_reaped(pid, status),
		    "pid %ld was no probe's", (long)pid);
		t.nreaped++;
	}
}

static struct event	*sigchld_ev;

static void
setup(void)
{
	memset(&t, 0, sizeof(t));
	t.lfd = t.cfd = -1;
	t.base = event_base_new();
	ck_assert_ptr_nonnull(t.base);
	sigchld_ev = evsignal_new(t.base, SIGCHLD, on_sigchld, NULL);
	event_add(sigchld_ev, NULL);
}

static void
teardown(void)
{
	if (t.accept_ev != NULL)
		event_free(t.accept_ev);
	if (t.conn_ev != NULL)
		event_free(t.conn_ev);
	if (t.lfd != -1)
		close(t.lfd);
	if (t.cfd != -1)
		close(t.cfd);
	if (*t.path != '\0')
		unlink(t.path);
	event_free(sigchld_ev);
	event_base_free(t.base);
}

/* Run the loop until an attempt ends, for at most 5 s. */
static void
loop(void)
{
	struct timeval	 tv = { 5, 0 };

	event_base_loopexit(t.base, &tv);
	event_base_dispatch(t.base);
}

/* One attempt of spec against the listener: its verdict in t. */
static struct probe *
attempt(const char *spec_text, long timeout)
{
	struct config_probe	 spec;
	struct probe_params	 pp;
	struct probe		*p;
	char			*error = NULL;

	ck_assert_msg(config_parse_probe(spec_text, &spec, &error) == 0,
	    "%s: %s", spec_text, error);
	memset(&pp, 0, sizeof(pp));
	pp.spec = &spec;
	pp.target = t.addrlen > 0 ? (struct sockaddr *)&t.addr : NULL;
	pp.target_len = t.addrlen;
	pp.generation = 7;
	pp.timeout = timeout;
	p = probe_new(t.base, &pp, &ops, NULL);
	config_probe_clear(&spec);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(probe_run(p), 0);
	/* Its end never comes from within probe_run(). */
	ck_assert_int_eq(t.ndone, 0);
	ck_assert(probe_busy(p));
	loop();
	ck_assert_int_eq(t.ndone, 1);
	ck_assert(!probe_busy(p));
	return p;
}

static void
check_request(const char *host)
{
	char	 want[128];

	ck_assert_msg(strncmp(t.request, "GET /healthz?x=1 HTTP/1.1\r\n",
	    27) == 0, "request: %s", t.request);
	snprintf(want, sizeof(want), "\r\nHost: %s\r\n", host);
	ck_assert_msg(strstr(t.request, want) != NULL, "request: %s",
	    t.request);
	ck_assert_ptr_nonnull(strstr(t.request, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(t.request,
	    "\r\nUser-Agent: baton-probe\r\n"));
}

/*
 * One http attempt that passes with reason; the request it sent names
 * host_fmt (with the listener's port) as its Host.
 */
static void
http_passes(const char *reason, const char *host_fmt)
{
	char	 host[64];

	probe_free(attempt("http GET /healthz?x=1", 2000));
	ck_assert_int_eq(t.passed, 1);
	ck_assert_str_eq(t.reason, reason);
	if (t.addr.ss_family == AF_UNIX)
		snprintf(host, sizeof(host), "%s", host_fmt);
	else
		snprintf(host, sizeof(host), host_fmt, listener_port());
	check_request(host);
}

START_TEST(test_http_200)
{
	ck_assert_int_eq(listener(AF_INET, 0, SERVE_REPLY,
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0);
	http_passes("HTTP 200", "127.0.0.1:%d");
	/* bound() came before the connection, with the port it came from. */
	ck_assert_int_eq(t.nbound, 1);
	ck_assert_int_ne(t.bound_port, 0);
	ck_assert_int_eq(t.bound_port, t.peer_port);
}
END_TEST

START_TEST(test_http_v6)
{
	if (listener(AF_INET6, 0, SERVE_REPLY, "HTTP/1.0 204 No Content\r\n"
	    "\r\n") == -1) {
		printf("SKIP test_http_v6: no IPv6 loopback here (%s)\n",
		    strerror(errno));
		return;
	}
	http_passes("HTTP 204", "[::1]:%d");
	ck_assert_int_eq(t.bound_port, t.peer_port);
}
END_TEST

START_TEST(test_http_unix)
{
	ck_assert_int_eq(listener(AF_UNIX, 0, SERVE_REPLY,
	    "HTTP/1.1 200 OK\r\n\r\n"), 0);
	http_passes("HTTP 200", "localhost");
	/* A unix socket has no port to report. */
	ck_assert_int_eq(t.nbound, 0);
}
END_TEST

/* A listener on every address is probed on loopback. */
START_TEST(test_http_wildcard)
{
	ck_assert_int_eq(listener(AF_INET, 1, SERVE_REPLY,
	    "HTTP/1.1 200 OK\r\n\r\n"), 0);
	http_passes("HTTP 200", "127.0.0.1:%d");
	ck_assert_int_eq(t.bound_port, t.peer_port);
}
END_TEST

static const struct {
	const char	*reply;
	const char	*reason;	/* after "127.0.0.1:PORT" where %s */
} failures[] = {
	{ "HTTP/1.1 503 Service Unavailable\r\n\r\n", "HTTP 503" },
	{ "HTTP/1.1 301 Moved\r\nLocation: /\r\n\r\n", "HTTP 301" },
	{ "HTTP/1.1 404\r\n\r\n", "HTTP 404" },
	{ "SSH-2.0-OpenSSH_9.6\r\n",
	    "not an HTTP response from %s: 'SSH-2.0-OpenSSH_9.6'" },
	{ "HTTP/1.1 2000 OK\r\n", "not an HTTP response from %s: "
	    "'HTTP/1.1 2000 OK'" },
	{ "HTTP/1.1 200", "HTTP 200" },
	{ "\x01\x02garbage\n", "not an HTTP response from %s: '??garbage'" },
	{ "", "%s closed the connection before answering" },
	/* One line longer than is read: judged on what was read. */
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	  "not an HTTP response from %s: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAA'" },
};

START_TEST(test_http_fails)
{
	char	 where[64], want[256];

	ck_assert_int_eq(listener(AF_INET, 0, SERVE_REPLY,
	    failures[_i].reply), 0);
	probe_free(attempt("http GET /healthz?x=1", 2000));
	snprintf(where, sizeof(where), "127.0.0.1:%d", listener_port());
	snprintf(want, sizeof(want), failures[_i].reason, where);
	ck_assert_int_eq(t.passed, strcmp(want, "HTTP 200") == 0);
	ck_assert_str_eq(t.reason, want);
}
END_TEST

/* One attempt of spec, which fails with exactly want. */
static void
fails_with(const char *spec, const char *want)
{
	t.ndone = 0;
	probe_free(attempt(spec, 2000));
	ck_assert_int_eq(t.passed, 0);
	ck_assert_str_eq(t.reason, want);
}

/* A port nobody listens on: the listener, closed. */
START_TEST(test_refused)
{
	char	 want[128];

	ck_assert_int_eq(listener(AF_INET, 0, SERVE_NOTHING, NULL), 0);
	close(t.lfd);
	t.lfd = -1;
	snprintf(want, sizeof(want), "connect 127.0.0.1:%d: %s",
	    listener_port(), strerror(ECONNREFUSED));
	fails_with("http GET /", want);
	fails_with("tcp", want);
}
END_TEST

START_TEST(test_unix_missing)
{
	char	 want[256];

	ck_assert_int_eq(listener(AF_UNIX, 0, SERVE_NOTHING, NULL), 0);
	unlink(t.path);
	snprintf(want, sizeof(want), "connect %s: %s", t.path,
	    strerror(ENOENT));
	fails_with("tcp", want);
}
END_TEST

/* Accepted and never answered: the attempt's own timeout. */
START_TEST(test_timeout)
{
	long long	 start, ms;
	struct timeval	 tv;

	ck_assert_int_eq(listener(AF_INET, 0, SERVE_SILENT, NULL), 0);
	gettimeofday(&tv, NULL);
	start = tv.tv_sec * 1000LL + tv.tv_usec / 1000;
	probe_free(attempt("http GET /", 200));
	gettimeofday(&tv, NULL);
	ms = tv.tv_sec * 1000LL + tv.tv_usec / 1000 - start;
	ck_assert_int_eq(t.passed, 0);
	ck_assert_str_eq(t.reason, "timed out after 200ms");
	ck_assert_msg(ms >= 190 && ms < 2000, "took %lld ms", ms);
	t.ndone = 0;
	probe_free(attempt("http GET /", 1000));
	ck_assert_str_eq(t.reason, "timed out after 1s");
}
END_TEST

/* tcp passes on the kernel's handshake, accepted or not. */
START_TEST(test_tcp)
{
	char	 want[64];

	ck_assert_int_eq(listener(AF_INET, 0, SERVE_NOTHING, NULL), 0);
	probe_free(attempt("tcp", 2000));
	snprintf(want, sizeof(want), "connected to 127.0.0.1:%d",
	    listener_port());
	ck_assert_int_eq(t.passed, 1);
	ck_assert_str_eq(t.reason, want);
	ck_assert_int_eq(t.nbound, 1);
}
END_TEST

/* One attempt at a time; the probe runs again once it is over. */
START_TEST(test_busy)
{
	struct config_probe	 spec = { .kind = PROBE_TCP };
	struct probe_params	 pp = { .spec = &spec, .timeout = 2000 };
	struct probe		*p;

	ck_assert_ptr_null(probe_new(t.base, &pp, &ops, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(listener(AF_INET, 0, SERVE_NOTHING, NULL), 0);
	pp.target = (struct sockaddr *)&t.addr;
	pp.target_len = t.addrlen;
	ck_assert_ptr_nonnull(p = probe_new(t.base, &pp, &ops, NULL));
	ck_assert_int_eq(probe_run(p), 0);
	ck_assert_int_eq(probe_run(p), -1);
	ck_assert_int_eq(errno, EBUSY);
	loop();
	ck_assert_int_eq(t.ndone, 1);
	ck_assert_int_eq(probe_run(p), 0);
	loop();
	ck_assert_int_eq(t.ndone, 2);
	ck_assert_int_eq(t.passed, 1);
	probe_free(p);
}
END_TEST

/* Freed in flight: no verdict, the connection closed. */
START_TEST(test_free_in_flight)
{
	struct config_probe	 spec = { .kind = PROBE_HTTP, .method = "GET",
	    .path = "/" };
	struct probe_params	 pp = { .spec = &spec, .timeout = 300 };
	struct probe		*p;
	struct timeval		 tv = { 0, 500000 };
	char			 buf[512];
	ssize_t			 n;

	ck_assert_int_eq(listener(AF_INET, 0, SERVE_SILENT, NULL), 0);
	pp.target = (struct sockaddr *)&t.addr;
	pp.target_len = t.addrlen;
	ck_assert_ptr_nonnull(p = probe_new(t.base, &pp, &ops, NULL));
	ck_assert_int_eq(probe_run(p), 0);
	/* Until the listener has the connection. */
	while (t.cfd == -1)
		event_base_loop(t.base, EVLOOP_ONCE);
	probe_free(p);
	event_base_loopexit(t.base, &tv);
	event_base_dispatch(t.base);
	ck_assert_int_eq(t.ndone, 0);
	/* The request, then the end: the probe closed its side. */
	while ((n = read(t.cfd, buf, sizeof(buf))) > 0)
		;
	ck_assert_int_eq(n, 0);
}
END_TEST

static const struct {
	const char	*spec;
	int		 passed;
	const char	*reason;
} execs[] = {
	{ "exec true", 1, "exit status 0" },
	{ "exec sh -c 'echo; echo \"  not yet \"; echo more; exit 2'", 0,
	    "exit status 2: not yet " },
	{ "exec false", 0, "exit status 1" },
	{ "exec sh -c 'kill -TERM $$'", 0, "killed by SIGTERM" },
	{ "exec /nonexistent/check", 0, "exit status 127: exec "
	    "/nonexistent/check: No such file or directory" },
	/* What it is told: the target and the generation. */
	{ "exec sh -c 'test \"$BATON_PROBE_URL\" = "
	    "\"tcp://$BATON_PROBE_HOST:$BATON_PROBE_PORT\" && "
	    "test \"$BATON_PROBE_HOST\" = 127.0.0.1 && "
	    "test \"$BATON_PROBE_PORT\" -gt 0 && "
	    "test \"$BATON_GENERATION\" = 7 || { env; exit 1; }'", 1,
	    "exit status 0" },
	/* Its output is kept to a bound; the rest is read away. */
	{ "exec sh -c 'head -c 100000 /dev/zero | tr \"\\\\0\" x; exit 3'", 0,
	    "exit status 3: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxx" },
};

START_TEST(test_exec)
{
	ck_assert_int_eq(listener(AF_INET, 0, SERVE_NOTHING, NULL), 0);
	probe_free(attempt(execs[_i].spec, 5000));
	ck_assert_str_eq(t.reason, execs[_i].reason);
	ck_assert_int_eq(t.passed, execs[_i].passed);
	ck_assert_int_eq(t.nreaped, 1);
	/* It connects nowhere itself. */
	ck_assert_int_eq(t.nbound, 0);
}
END_TEST

/* How many live (not zombie) processes are in process group pgid. */
static int
group_alive(pid_t pgid)
{
	DIR		*d;
	struct dirent	*de;
	FILE		*fp;
	char		 path[300], state;
	int		 pgrp, n = 0;

	ck_assert_ptr_nonnull(d = opendir("/proc"));
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		/* pid (comm) state ppid pgrp; no comm here has a ')'. */
		if (fscanf(fp, "%*d (%*[^)]) %c %*d %d", &state, &pgrp) == 2 &&
		    pgrp == pgid && state != 'Z')
			n++;
		fclose(fp);
	}
	closedir(d);
	return n;
}

/* Killed at the timeout, group and all, and still reaped as a probe's. */
START_TEST(test_exec_timeout)
{
	struct probe	*p;
	size_t		 n;
	pid_t		*pids, pgid;
	int		 i;

	p = attempt("exec sh -c 'sleep 30 & sleep 30'", 300);
	ck_assert_str_eq(t.reason, "timed out after 300ms");
	ck_assert_int_eq(t.passed, 0);
	pids = probe_pids(&n);
	pgid = n > 0 ? pids[0] : 0;
	free(pids);
	while (t.nreaped == 0)
		event_base_loop(t.base, EVLOOP_ONCE);
	ck_assert_int_ne(pgid, 0);
	pids = probe_pids(&n);
	ck_assert_uint_eq(n, 0);
	free(pids);
	/* Its background sleep went with its group. */
	for (i = 0; i < 100 && group_alive(pgid) > 0; i++)
		usleep(10000);
	ck_assert_int_eq(group_alive(pgid), 0);
	ck_assert_int_eq(t.ndone, 1);
	probe_free(p);
}
END_TEST

/* Freed in flight: killed, reaped as a probe's, no verdict. */
START_TEST(test_exec_free)
{
	struct config_probe	 spec;
	struct probe_params	 pp = { .spec = &spec, .timeout = 5000 };
	struct probe		*p;
	char			*error;
	size_t			 n;
	pid_t			*pids;

	ck_assert_int_eq(config_parse_probe("exec sleep 30", &spec, &error),
	    0);
	ck_assert_ptr_nonnull(p = probe_new(t.base, &pp, &ops, NULL));
	config_probe_clear(&spec);
	ck_assert_int_eq(probe_run(p), 0);
	pids = probe_pids(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_gt(pids[0], 0);
	free(pids);
	probe_free(p);
	while (t.nreaped == 0)
		event_base_loop(t.base, EVLOOP_ONCE);
	ck_assert_int_eq(t.ndone, 0);
	ck_assert_int_eq(probe_reaped(12345678, 0), 0);
}
END_TEST

static size_t
probe_nchildren_left(void)
{
	size_t	 n;

	free(probe_pids(&n));
	return n;
}

/* Through baton's reaper: no stray, no "not a worker's". */
static struct generation **
no_gens(void *arg, size_t *n)
{
	(void)arg;
	*n = 0;
	return NULL;
}

static struct worker *
no_worker(void *arg, pid_t pid)
{
	(void)arg;
	(void)pid;
	return NULL;
}

static pid_t
no_check(void *arg)
{
	(void)arg;
	return 0;
}

static void
no_checked(void *arg, int status)
{
	(void)arg;
	(void)status;
}

static void
tap(enum log_level level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	strncat(t.log, line, sizeof(t.log) - strlen(t.log) - 2);
	strcat(t.log, "\n");
}

START_TEST(test_reaper)
{
	static const struct reaper_ops	 rops = { no_gens, no_worker, no_check,
	    no_checked };
	struct probe			*p;

	log_set_level(LOG_LEVEL_DEBUG);
	log_set_tap(tap, NULL);
	t.reaper = reaper_new(&rops, NULL);
	p = attempt("exec sh -c 'exit 4'", 5000);
	ck_assert_str_eq(t.reason, "exit status 4");
	probe_free(p);

	/* A probe's running process is baton's own, not a stray. */
	t.ndone = 0;
	ck_assert_ptr_nonnull(p = probe_new(t.base, &(struct probe_params){
	    .spec = &(struct config_probe){ .kind = PROBE_EXEC,
	    .argv = (char *[]){ "sleep", "30", NULL } }, .timeout = 5000 },
	    &ops, NULL));
	ck_assert_int_eq(probe_run(p), 0);
	reaper_adopt(t.reaper);
	probe_free(p);
	while (probe_nchildren_left() > 0)
		event_base_loop(t.base, EVLOOP_ONCE);
	ck_assert_int_eq(t.ndone, 0);
	log_set_tap(NULL, NULL);
	ck_assert_msg(strstr(t.log, "left to baton") == NULL, "%s", t.log);
	ck_assert_msg(strstr(t.log, "not a worker's") == NULL, "%s", t.log);
	reaper_free(t.reaper);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("probe");
	const TTest	*net[] = {
		test_http_200, test_http_v6, test_http_unix, test_http_wildcard,
		test_refused, test_unix_missing, test_timeout, test_tcp,
		test_busy, test_free_in_flight, NULL
	};
	const TTest	*exec[] = {
		test_exec_timeout, test_exec_free, test_reaper, NULL
	};
	TCase		*tc;

	tc = check_case(s, "net", net);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_http_fails, 0, CHECK_NITEMS(failures));
	tc = check_case(s, "exec", exec);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_exec, 0, CHECK_NITEMS(execs));
	return check_run(s);
}
