#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "address.h"
#include "config.h"
#include "generation.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "rollout.h"
#include "socket.h"
#include "status.h"
#include "steer.h"
#include "worker.h"
#include "xmalloc.h"

/* A scraper that stalls must not hold a connection for long. */
#define METRICS_TIMEOUT		10	/* s */
#define METRICS_MAX_HEADERS	8192	/* bytes of a request's headers */

struct metrics {
	const struct metrics_ops *ops;
	void			*arg;
	struct socket		*socket;
	struct evhttp		*http;
	struct evconnlistener	*listener;	/* evhttp's */
	struct event		*resume;	/* the listener, after a pause */
};

/* One process as /proc/PID/stat tells it. */
struct metrics_proc {
	pid_t		 pid;
	pid_t		 pgid;
	long long	 ticks;		/* utime + stime */
	long long	 rss_pages;
};

/*
 * Fields 5 (pgrp), 14 and 15 (utime, stime) and 24 (rss) of a stat line,
 * counted after the command, which may hold spaces and parentheses.
 */
static int
metrics_parse_stat(const char *buf, struct metrics_proc *p)
{
	const char	*s;
	long long	 v[21];
	char		*end;
	int		 i;

	if ((s = strrchr(buf, ')')) == NULL || s[1] != ' ')
		return -1;
	s += 2;				/* at field 3, the state */
	if (*s == '\0' || s[1] != ' ')
		return -1;
	s += 2;
	for (i = 0; i < 21; i++) {	/* fields 4 to 24 */
		errno = 0;
		v[i] = strtoll(s, &end, 10);
		if (end == s || errno != 0)
			return -1;
		s = end;
	}
	p->pgid = (pid_t)v[1];
	p->ticks = v[10] + v[11];
	p->rss_pages = v[20];
	return 0;
}

/* Every process /proc shows: an array, its length in *n. */
static struct metrics_proc *
metrics_scan(size_t *n)
{
	struct metrics_proc	*procs = NULL, p;
	struct dirent		*de;
	DIR			*dir;
	char			 path[300], buf[1024];
	size_t			 cap = 0;
	ssize_t			 len;
	int			 fd;

	*n = 0;
	if ((dir = opendir("/proc")) == NULL)
		return NULL;
	while ((de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		p.pid = (pid_t)atol(de->d_name);
		if (metrics_parse_stat(buf, &p) == -1)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			procs = xreallocarray(procs, cap, sizeof(*procs));
		}
		procs[(*n)++] = p;
	}
	closedir(dir);
	return procs;
}

/* "# HELP" and "# TYPE" of one family. */
static void
metrics_family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
metrics_hist(struct evbuffer *out, const char *name, const char *help,
    const struct record_hist *h)
{
	size_t	 i;

	metrics_family(out, name, "histogram", help);
	for (i = 0; i < RECORD_NBUCKETS; i++)
		evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %lld\n", name,
		    (double)record_bucket_ms[i] / 1000, h->le[i]);
	evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %lld\n", name,
	    h->count);
	evbuffer_add_printf(out, "%s_sum %.3f\n%s_count %lld\n", name,
	    (double)h->sum_ms / 1000, name, h->count);
}

/* A family of one sample without labels. */
static void
metrics_value(struct evbuffer *out, const char *name, const char *type,
    const char *help, long long v)
{
	metrics_family(out, name, type, help);
	evbuffer_add_printf(out, "%s %lld\n", name, v);
}

/* A worker's processes: its group's, and those that left it for baton. */
static void
metrics_worker_usage(const struct worker *w, const struct metrics_proc *procs,
    size_t n, long long *ticks, long long *rss_pages)
{
	pid_t	 pgid = worker_pgid(w);
	size_t	 i;

	*ticks = *rss_pages = 0;
	for (i = 0; i < n; i++) {
		if ((pgid > 0 && procs[i].pgid == pgid) ||
		    worker_owns(w, procs[i].pid)) {
			*ticks += procs[i].ticks;
			*rss_pages += procs[i].rss_pages;
		}
	}
}

/* Per worker process set: RSS and CPU seconds, one family each. */
static void
metrics_workers_usage(const struct status *st, struct evbuffer *out)
{
	struct metrics_proc	*procs;
	struct evbuffer		*cpu;
	struct worker		*w;
	long long		 ticks, pages;
	long			 hz = sysconf(_SC_CLK_TCK);
	long			 page = sysconf(_SC_PAGESIZE);
	size_t			 n, i, j;

	procs = metrics_scan(&n);
	cpu = evbuffer_new();
	metrics_family(out, "baton_worker_resident_memory_bytes", "gauge",
	    "Resident memory of all of a worker's processes.");
	metrics_family(cpu, "baton_worker_cpu_seconds_total", "counter",
	    "CPU time, user and system, of a worker's live processes.");
	for (i = 0; i < st->ngens; i++) {
		for (j = 0; j < generation_nworkers(st->gens[i]); j++) {
			w = generation_worker(st->gens[i], j);
			if (!worker_alive(w))
				continue;
			metrics_worker_usage(w, procs, n, &ticks, &pages);
			evbuffer_add_printf(out, "baton_worker_resident_memory_"
			    "bytes{generation=\"%d\",slot=\"%d\",pid=\"%ld\"} "
			    "%lld\n", generation_number(st->gens[i]),
			    worker_slot(w), (long)worker_pid(w), pages * page);
			evbuffer_add_printf(cpu, "baton_worker_cpu_seconds_"
			    "total{generation=\"%d\",slot=\"%d\",pid=\"%ld\"} "
			    "%.2f\n", generation_number(st->gens[i]),
			    worker_slot(w), (long)worker_pid(w),
			    hz > 0 ? (double)ticks / hz : 0.0);
		}
	}
	evbuffer_add_buffer(out, cpu);
	evbuffer_free(cpu);
	free(procs);
}

/*
 * Where a socket is steered (steer.h): each live generation's share of
 * new connections, and the connections the kernel steered to it, as
 * `baton status` shows them. Without steering every connection goes to
 * one shared socket and neither figure exists: no family at all.
 */
static void
metrics_steering(const struct status *st, struct evbuffer *out)
{
	struct evbuffer	*conns;
	long long	 n;
	size_t		 i;

	for (i = 0; i < st->ngens; i++)
		if (generation_connections(st->gens[i]) >= 0)
			break;
	if (i == st->ngens)
		return;
	conns = evbuffer_new();
	metrics_family(out, "baton_generation_share", "gauge", "A live "
	    "generation's share of new connections, 0 to 1: the active one's "
	    "1, or 1 less its candidate's canary share.");
	metrics_family(conns, "baton_generation_connections_total", "counter",
	    "New connections the kernel steered to a generation, its probes' "
	    "included.");
	for (i = 0; i < st->ngens; i++) {
		evbuffer_add_printf(out, "baton_generation_share{generation="
		    "\"%d\"} %g\n", generation_number(st->gens[i]),
		    (double)rollout_gen_share(st->gens, st->ngens, i) /
		    STEER_CANARY_WHOLE);
		if ((n = generation_connections(st->gens[i])) >= 0)
			evbuffer_add_printf(conns, "baton_generation_"
			    "connections_total{generation=\"%d\"} %lld\n",
			    generation_number(st->gens[i]), n);
	}
	evbuffer_add_buffer(out, conns);
	evbuffer_free(conns);
}

/* baton's own resident memory, from /proc/self/statm. */
static long long
metrics_self_rss(void)
{
	FILE		*fp;
	long long	 size, rss = 0;

	if ((fp = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	if (fscanf(fp, "%lld %lld", &size, &rss) != 2)
		rss = 0;
	fclose(fp);
	return rss * sysconf(_SC_PAGESIZE);
}

void
metrics_render(const struct status *st, const struct record *r, int ready,
    struct evbuffer *out)
{
	static const struct {
		enum record_outcome	 outcome;
		const char		*label;
	} outcomes[] = {
		{ RECORD_OK, "ok" },
		{ RECORD_ROLLED_BACK, "rolled_back" },
		{ RECORD_FAILED, "failed" }
	};
	int		 by_state[WORKER_EXITED + 1] = { 0 };
	int		 active = 0;
	size_t		 i, j;

	metrics_family(out, "baton_info", "gauge",
	    "baton's version, as a label; the value is always 1.");
	evbuffer_add_printf(out, "baton_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	metrics_value(out, "baton_start_time_seconds", "gauge", "When baton "
	    "started, in seconds since the epoch.", (long long)r->started);
	metrics_value(out, "baton_ready", "gauge", "1 while /readyz answers "
	    "200: an active generation serves.", ready);

	metrics_family(out, "baton_reloads_total", "counter",
	    "Reloads by outcome: ok, rolled_back (the new generation never "
	    "became ready), failed (nothing started: a bad file or socket).");
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		evbuffer_add_printf(out, "baton_reloads_total{outcome=\"%s\"} "
		    "%d\n", outcomes[i].label, r->outcomes[outcomes[i].outcome]);
	metrics_value(out, "baton_rollbacks_total", "counter", "Generations "
	    "rolled back, the first one's included.", r->rollbacks);
	metrics_value(out, "baton_worker_crashes_total", "counter", "Workers "
	    "that exited on their own while starting or serving.", r->crashes);
	metrics_value(out, "baton_workers_recycled_total", "counter", "Workers "
	    "whose slot got a successor for max_age or max_memory.",
	    r->recycled);
	metrics_value(out, "baton_workers_killed_total", "counter", "Workers "
	    "SIGKILLed at the drain deadline, with their unfinished work.",
	    r->killed);
	metrics_value(out, "baton_upgrades_total", "counter", "Upgrades of "
	    "baton itself in place.", r->upgrades);

	for (i = 0; i < st->ngens; i++) {
		if (generation_state(st->gens[i]) == GENERATION_ACTIVE)
			active = generation_number(st->gens[i]);
		for (j = 0; j < generation_nworkers(st->gens[i]); j++)
			by_state[worker_state(generation_worker(st->gens[i],
			    j))]++;
	}
	metrics_family(out, "baton_workers", "gauge",
	    "Worker slots of every live generation, by state.");
	for (i = 0; i <= WORKER_EXITED; i++)
		evbuffer_add_printf(out, "baton_workers{state=\"%s\"} %d\n",
		    worker_state_name((enum worker_state)i), by_state[i]);
	metrics_value(out, "baton_active_generation", "gauge", "The number "
	    "of the generation that serves; 0: none.", active);
	metrics_value(out, "baton_generations", "gauge", "Live generations: "
	    "the active one, and those starting or draining.",
	    (long long)st->ngens);
	metrics_steering(st, out);

	metrics_hist(out, "baton_reload_duration_seconds", "From a reload to "
	    "its new generation active, or rolled back.", &r->reload_time);
	metrics_hist(out, "baton_drain_duration_seconds", "From a "
	    "generation's drain signal to its last process gone.",
	    &r->drain_time);

	metrics_workers_usage(st, out);
	metrics_family(out, "baton_resident_memory_bytes", "gauge",
	    "baton's own resident memory.");
	evbuffer_add_printf(out, "baton_resident_memory_bytes %lld\n",
	    metrics_self_rss());
}

static void
metrics_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
}

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	struct metrics		*m = arg;
	struct evbuffer		*body;
	struct status		 st;
	const char		*path, *why;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);

	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL)
		path = "/";
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	body = evbuffer_new();
	why = m->ops->unready(m->arg);
	if (strcmp(path, "/metrics") == 0) {
		m->ops->status(m->arg, &st);
		metrics_render(&st, m->ops->record(m->arg), why == NULL, body);
		metrics_reply(req, 200, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", body);
	} else if (strcmp(path, "/healthz") == 0) {
		/* Answered at all: the loop runs. */
		evbuffer_add_printf(body, "ok\n");
		metrics_reply(req, 200, "OK", "text/plain", body);
	} else if (strcmp(path, "/readyz") == 0) {
		if (why == NULL) {
			evbuffer_add_printf(body, "ready\n");
			metrics_reply(req, 200, "OK", "text/plain", body);
		} else {
			evbuffer_add_printf(body, "not ready: %s\n", why);
			metrics_reply(req, 503, "Service Unavailable",
			    "text/plain", body);
		}
	} else {
		evbuffer_add_printf(body, "not found: baton answers /metrics, "
		    "/healthz and /readyz\n");
		metrics_reply(req, 404, "Not Found", "text/plain", body);
	}
	evbuffer_free(body);
}

/* The config_socket metrics binds as: its address, and nothing more. */
static void
metrics_socket_config(struct config_socket *cs, const struct address *a)
{
	memset(cs, 0, sizeof(*cs));
	cs->name = "metrics";
	cs->addr = *a;
	cs->backlog = -1;
	/* Scrapers on the host may run as another user: read-only data. */
	cs->mode = a->kind == ADDRESS_UNIX ? 0666 : -1;
}

static void
metrics_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics	*m = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(m->listener);
}

/*
 * The listener's error callback gets evhttp's argument, not ours: the
 * metrics listener that is baton's (one, made at start or by an upgrade
 * in place, freed at exit).
 */
static struct metrics	*metrics_live;

/*
 * accept() fails while baton's descriptors run out (clients holding
 * connections open, say), and the connection stays queued: evhttp would
 * retry at once, round after round. Pause the listener for a second.
 */
static void
metrics_accept_error(struct evconnlistener *l, void *arg)
{
	struct metrics	*m = metrics_live;
	struct timeval	 tv = { 1, 0 };
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	log_warn("metrics: accept: %s; pausing it for 1 s",
	    evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	if (m != NULL && m->listener == l)
		evtimer_add(m->resume, &tv);
}

struct metrics *
metrics_new(struct event_base *base, const struct address *a,
    const struct socket_saved *saved, const struct metrics_ops *ops,
    void *arg, char **error)
{
	struct metrics		*m;
	struct config_socket	 cs;
	struct evconnlistener	*l = NULL;

	m = xcalloc(1, sizeof(*m));
	m->ops = ops;
	m->arg = arg;
	metrics_socket_config(&cs, a);
	if (saved != NULL)
		m->socket = socket_restore(&cs, saved);
	else if ((m->socket = socket_open(&cs, error)) == NULL)
		goto fail;
	if ((m->http = evhttp_new(base)) == NULL) {
		*error = xstrdup("metrics: evhttp_new failed");
		goto fail;
	}
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(m->http, metrics_request, m);
	/*
	 * Backlog 0: it listens already. The descriptor stays the socket's,
	 * and must not block the loop in accept().
	 */
	if (evutil_make_socket_nonblocking(socket_fd(m->socket)) == -1 ||
	    (l = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_EXEC, 0,
	    socket_fd(m->socket))) == NULL ||
	    evhttp_bind_listener(m->http, (m->listener = l)) == NULL) {
		*error = xprintf("metrics %s: cannot listen: %s", a->url,
		    strerror(errno));
		if (l != NULL)
			evconnlistener_free(l);
		goto fail;
	}
	if ((m->resume = evtimer_new(base, metrics_resume, m)) == NULL) {
		*error = xstrdup("metrics: evtimer_new failed");
		goto fail;
	}
	evconnlistener_set_error_cb(l, metrics_accept_error);
	metrics_live = m;
	return m;
fail:
	metrics_free(m);
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (metrics_live == m)
		metrics_live = NULL;
	if (m->resume != NULL)
		event_free(m->resume);
	if (m->http != NULL)
		evhttp_free(m->http);
	socket_unref(m->socket);
	free(m);
}

void
metrics_pause(struct metrics *m, int on)
{
	if (on)
		evconnlistener_disable(m->listener);
	else
		evconnlistener_enable(m->listener);
}

void
metrics_save(const struct metrics *m, struct socket_saved *ss)
{
	socket_save(m->socket, ss);
}

const char *
metrics_url(const struct metrics *m)
{
	return socket_address(m->socket)->url;
}
