#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "backoff.h"
#include "baton.h"
#include "channel.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "probe.h"
#include "proc.h"
#include "signame.h"
#include "socket.h"
#include "spawn.h"
#include "trap.h"
#include "worker.h"
#include "xmalloc.h"

/*
 * The end of drain_timeout that a preloaded worker keeps for its drain
 * signal: a tenth, at least SIGNAL_MIN ms (half, when that is too much).
 */
#define WORKER_SIGNAL_SHARE	10
#define WORKER_SIGNAL_MIN	500

struct worker_orphan {
	pid_t			 pid;
	pid_t			 pgid;		/* when adopted */
};

struct worker {
	const struct worker_ctx	*ctx;
	const struct worker_sys	*sys;		/* ctx->sys */
	int			 slot;
	enum worker_state	 state;
	pid_t			 pid;		/* 0: no process */
	pid_t			 pgid;		/* its group, which may outlive it */
	/*
	 * Its processes that baton adopted (as subreaper) when their parent
	 * died: the slot is free only once the last of them is gone too.
	 */
	struct worker_orphan	*orphans;
	size_t			 norphans;
	int			 restart_due;	/* restart once it is gone */
	int			 own_exit;	/* its main process exited
						   undrained: the rest drain */
	struct event		*park;		/* waiting for a safe point */
	int			 park_sig;	/* to send there, or 0 */
	int			 park_tries;
	int			 parked;	/* SIGSTOP sent */
	long long		 exited;	/* now() its main process exited */
	int			 channel;	/* baton's end, or -1 */
	struct event		*channel_ev;
	struct trap		*trap;		/* its bind() trap, or NULL */
	struct event		*timer;		/* ready, or restart */
	long long		 started;	/* now() at spawn */
	int			 niced;		/* started at lower priority */
	int			 niced_own;	/* its own nice values too */
	int			 nice;		/* theirs, back on readiness */
	int			 restarts;
	long			 backoff;	/* next restart delay, ms */
	int			 drain_signal;	/* sent, or 0 */
	int			 drain_pending;	/* to send once IDLE=1 comes */
	int			 preload;	/* its interposer said LISTENING=1 */
	int			 killed;	/* SIGKILL sent by baton */
	enum worker_exit	 exit_kind;
	char			 exit_reason[CHANNEL_TEXT_MAX + 64];
	char			 spawn_error[CHANNEL_TEXT_MAX];
	char			*status_text;
	struct log_limit	 limit;		/* junk on the channel */
	struct probe		*probe;		/* ready = probe, starting */
	struct event		*probe_timer;	/* its next attempt */
	int			 probe_passes;	/* in a row */
	int			 probe_port;	/* of the attempt in flight; 0 */
	int			 probe_fails;	/* in a row, on trial */
	int			 trial;		/* probed on while ready */
	char			 probe_failure[256]; /* the last; "": none */
};

static const char *const worker_state_names[] = {
	"starting", "ready", "active", "draining", "exited"
};

static long long
worker_clock(void)
{
	return clock_ms();
}

const struct worker_sys worker_sys_real = {
	spawn_worker,
	kill,
	proc_kill_tree,
	proc_dies_on,
	proc_state,
	proc_in_accept,
	worker_clock,
	probe_new,
	probe_run,
	probe_free,
	proc_memory,
	proc_renice,
	proc_autogroup_nice
};

#define WLOG(w, level, ...)						\
	log_worker((level), (w)->ctx->generation, (w)->slot,	\
	    (w)->pid, __VA_ARGS__)

static void	worker_signal(struct worker *, int, const char *);
static void	worker_probe_stop(struct worker *);
static void	worker_probe_port(struct worker *, int);
static void	worker_probe_open(struct worker *);
static void	worker_trial_done(struct worker *, int, const char *);

static void
worker_set_state(struct worker *w, enum worker_state state)
{
	if (w->state == state)
		return;
	log_worker(LOG_LEVEL_DEBUG, w->ctx->generation, w->slot,
	    w->pid, "%s -> %s", worker_state_names[w->state],
	    worker_state_names[state]);
	w->state = state;
}

const char *
worker_state_name(enum worker_state s)
{
	return worker_state_names[s];
}

struct worker *
worker_new(const struct worker_ctx *ctx, int slot)
{
	struct worker	*w;

	w = xcalloc(1, sizeof(*w));
	w->ctx = ctx;
	w->sys = ctx->sys;
	w->slot = slot;
	w->state = WORKER_EXITED;
	w->channel = -1;
	w->backoff = BACKOFF_MIN;
	w->limit.what = "channel: dropped messages";
	return w;
}

int
worker_slot(const struct worker *w)
{
	return w->slot;
}

static void
worker_close_channel(struct worker *w)
{
	if (w->channel_ev != NULL) {
		event_free(w->channel_ev);
		w->channel_ev = NULL;
	}
	if (w->channel != -1) {
		close(w->channel);
		w->channel = -1;
	}
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_close_channel(w);
	if (w->timer != NULL)
		event_free(w->timer);
	trap_free(w->trap);
	worker_probe_stop(w);
	if (w->probe_timer != NULL)
		event_free(w->probe_timer);
	if (w->park != NULL)
		event_free(w->park);
	free(w->orphans);
	free(w->status_text);
	free(w);
}

/* Its main process and those it left to baton, in a new array. */
static pid_t *
worker_roots(const struct worker *w, size_t *n)
{
	pid_t	*roots;
	size_t	 i;

	*n = 0;
	roots = xcalloc(w->norphans + 1, sizeof(*roots));
	if (w->pid != 0)
		roots[(*n)++] = w->pid;
	for (i = 0; i < w->norphans; i++)
		roots[(*n)++] = w->orphans[i].pid;
	return roots;
}

/*
 * Its start-up ran at a lower priority so that the generation serving
 * meanwhile keeps the CPU; from readiness on it serves too, at baton's.
 */
static void
worker_renice(struct worker *w)
{
	pid_t	*roots;
	size_t	 n;

	w->niced = 0;
	/* A new session's autogroup starts at 0, as it would have. */
	if (w->sys->autogroup_nice(w->pid, 0) == -1)
		WLOG(w, LOG_LEVEL_WARN, "/proc/%ld/autogroup: nice 0 "
		    "(start_priority over): %s", (long)w->pid,
		    strerror(errno));
	if (!w->niced_own)
		return;
	roots = worker_roots(w, &n);
	if (w->sys->renice(w->pgid, roots, n, w->nice) == -1)
		WLOG(w, LOG_LEVEL_WARN, "setpriority %d (start_priority "
		    "over): %s", w->nice, strerror(errno));
	free(roots);
}

static void
worker_became_ready(struct worker *w)
{
	if (w->state != WORKER_STARTING)
		return;
	if (w->timer != NULL)
		evtimer_del(w->timer);
	worker_probe_stop(w);
	WLOG(w, LOG_LEVEL_INFO, "ready in %lld ms",
	    w->sys->now() - w->started);
	if (w->niced)
		worker_renice(w);
	worker_set_state(w, WORKER_READY);
	w->ctx->ops->ready(w, w->ctx->arg);
}

static void
worker_probe_stop(struct worker *w)
{
	worker_probe_port(w, 0);
	if (w->probe != NULL) {
		w->sys->probe_free(w->probe);
		w->probe = NULL;
	}
	if (w->probe_timer != NULL)
		evtimer_del(w->probe_timer);
}

/*
 * The source port of the probe attempt in flight (0: none): steering
 * sends that port's connections to the worker's generation only while
 * the attempt lasts, since the kernel gives the port to others after.
 */
static void
worker_probe_port(struct worker *w, int port)
{
	if (w->probe_port != 0 && w->ctx->ops->probing != NULL)
		w->ctx->ops->probing(w, -w->probe_port, w->ctx->arg);
	w->probe_port = port;
	if (port != 0 && w->ctx->ops->probing != NULL)
		w->ctx->ops->probing(w, port, w->ctx->arg);
}

static void
worker_probe_run(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;
	if (w->probe != NULL && (w->state == WORKER_STARTING ||
	    (w->state == WORKER_READY && w->trial)) &&
	    w->sys->probe_run(w->probe) == -1)
		WLOG(w, LOG_LEVEL_WARN, "probe: %s", strerror(errno));
}

/*
 * One attempt is over. A failure is logged when its reason changes, not
 * at every attempt: a server that takes a minute to warm up would fill
 * the log with the same line.
 */
static void
worker_probe_done(void *arg, int passed, const char *reason)
{
	struct worker		*w = arg;
	const struct config	*c = w->ctx->config;
	struct timeval		 tv;

	worker_probe_port(w, 0);
	if (w->state == WORKER_READY && w->trial) {
		worker_trial_done(w, passed, reason);
		return;
	}
	if (w->state != WORKER_STARTING)
		return;
	if (passed) {
		if (w->probe_failure[0] != '\0')
			WLOG(w, LOG_LEVEL_INFO, "probe passed: %s", reason);
		w->probe_failure[0] = '\0';
		if (++w->probe_passes >= c->probe_successes) {
			worker_became_ready(w);
			return;
		}
	} else {
		w->probe_passes = 0;
		if (strcmp(w->probe_failure, reason) != 0)
			WLOG(w, LOG_LEVEL_INFO, "probe failed: %s", reason);
		snprintf(w->probe_failure, sizeof(w->probe_failure), "%s",
		    *reason != '\0' ? reason : "failed");
	}
	tv = clock_tv(c->probe_interval);
	evtimer_add(w->probe_timer, &tv);
}

static void
worker_probe_bound(void *arg, int port)
{
	worker_probe_port(arg, port);
}

static const struct probe_ops worker_probe_ops = {
	worker_probe_bound,
	worker_probe_done
};

/*
 * ready = probe: probe from now on (at spawn, or once a preloaded worker
 * listens), until it passes or the worker is no longer starting.
 */
static void
worker_probe_start(struct worker *w)
{
	if (w->ctx->config->ready != READY_PROBE || w->probe != NULL ||
	    w->state != WORKER_STARTING)
		return;
	worker_probe_open(w);
}

/* A probe of the worker, and its first attempt now. */
static void
worker_probe_open(struct worker *w)
{
	const struct config		*c = w->ctx->config;
	const struct config_socket	*s;
	struct probe_params		 pp;
	struct sockaddr_storage		 ss;
	socklen_t			 len = sizeof(ss);
	size_t				 i;

	memset(&pp, 0, sizeof(pp));
	pp.spec = &c->probe;
	/* The held socket's own address: what the kernel knows it by. */
	if ((s = config_probe_socket(c)) != NULL &&
	    (i = (size_t)(s - c->sockets)) < w->ctx->nsockets) {
		if (getsockname(w->ctx->fds[i], (struct sockaddr *)&ss,
		    &len) == -1)
			WLOG(w, LOG_LEVEL_WARN, "probe: getsockname %s: %s",
			    s->addr.url, strerror(errno));
		else {
			pp.target = (struct sockaddr *)&ss;
			pp.target_len = len;
		}
	}
	pp.directory = c->directory;
	pp.generation = w->ctx->generation;
	pp.timeout = c->probe_timeout;
	if ((w->probe = w->sys->probe_new(w->ctx->base, &pp,
	    &worker_probe_ops, w)) == NULL) {
		WLOG(w, LOG_LEVEL_ERROR, "probe: %s", strerror(errno));
		snprintf(w->probe_failure, sizeof(w->probe_failure),
		    "cannot probe: %s", strerror(errno));
		return;
	}
	if (w->probe_timer == NULL && (w->probe_timer = evtimer_new(
	    w->ctx->base, worker_probe_run, w)) == NULL)
		fatal(70, "evtimer_new failed");
	worker_probe_run(-1, EV_TIMEOUT, w);
}

void
worker_trial(struct worker *w)
{
	if (w->state != WORKER_READY || w->trial ||
	    w->ctx->config->probe.kind == PROBE_NONE)
		return;
	w->trial = 1;
	w->probe_fails = 0;
	w->probe_failure[0] = '\0';
	worker_probe_open(w);
}

/*
 * An attempt on trial is over. probe_successes failures in a row fail
 * it, as as many passes in a row made it ready: one lost probe is not
 * enough to throw a release away.
 */
static void
worker_trial_done(struct worker *w, int passed, const char *reason)
{
	const struct config	*c = w->ctx->config;
	struct timeval		 tv;

	if (passed) {
		if (w->probe_failure[0] != '\0')
			WLOG(w, LOG_LEVEL_INFO, "probe passed: %s", reason);
		w->probe_failure[0] = '\0';
		w->probe_fails = 0;
	} else {
		if (strcmp(w->probe_failure, reason) != 0)
			WLOG(w, LOG_LEVEL_WARN, "probe failed: %s", reason);
		snprintf(w->probe_failure, sizeof(w->probe_failure), "%s",
		    *reason != '\0' ? reason : "failed");
		if (++w->probe_fails >= c->probe_successes) {
			worker_probe_stop(w);
			w->trial = 0;
			if (w->ctx->ops->probe_failed != NULL)
				w->ctx->ops->probe_failed(w, w->ctx->arg);
			return;
		}
	}
	tv = clock_tv(c->probe_interval);
	evtimer_add(w->probe_timer, &tv);
}

int
worker_probe_fails(const struct worker *w)
{
	return w->probe_fails;
}

const char *
worker_probe_failure(const struct worker *w)
{
	return w->probe_failure[0] != '\0' ? w->probe_failure : NULL;
}

void
worker_message(struct worker *w, const struct channel_msg *msg)
{
	const struct config	*c = w->ctx->config;

	if (msg->has_error)
		snprintf(w->spawn_error, sizeof(w->spawn_error), "%s",
		    msg->error);
	if (msg->has_trap_error)
		WLOG(w, LOG_LEVEL_WARN, "no bind() trap for programs that "
		    "bypass libc (%s): only the LD_PRELOAD interposer serves "
		    "this worker", msg->trap_error);
	if (msg->has_status) {
		free(w->status_text);
		w->status_text = xstrdup(msg->status);
	}
	if (msg->listening)
		w->preload = 1;
	if (msg->idle && w->drain_pending != 0)
		worker_signal(w, w->drain_pending, "idle");
	if ((msg->ready && c->ready == READY_NOTIFY) ||
	    (msg->listening && c->ready == READY_LISTEN))
		worker_became_ready(w);
	if (msg->listening)
		worker_probe_start(w);
}

const char *
worker_status_text(const struct worker *w)
{
	return w->status_text;
}

/* Not w->preload: no interposer in it answers DRAIN=1. */
static void
worker_trap_listening(void *arg)
{
	struct worker	*w = arg;

	if (w->ctx->config->ready == READY_LISTEN)
		worker_became_ready(w);
	worker_probe_start(w);
}

static void
worker_trap_log(void *arg, int warn, const char *line)
{
	struct worker	*w = arg;

	WLOG(w, warn ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "%s", line);
}

static const struct trap_ops worker_trap_ops = {
	worker_trap_listening,
	worker_trap_log
};

/*
 * The listener of the bind() trap, from a process still on its way to
 * exec: one per process, checked to be a seccomp listener. Returns 0 if
 * the worker took fd, else -1 (fd stays the caller's).
 */
static int
worker_take_trap(struct worker *w, int fd)
{
	if (w->trap != NULL || w->state != WORKER_STARTING ||
	    !trap_is_listener(fd))
		return -1;
	if ((w->trap = trap_new(w->ctx->base, fd, w->pid, w->ctx->fds,
	    w->ctx->nsockets, &worker_trap_ops, w)) == NULL)
		WLOG(w, LOG_LEVEL_WARN, "seccomp: cannot watch the bind() "
		    "trap: %s", strerror(errno));
	return 0;
}

/* SOCKET=name on the channel: answer with the held socket, or an error. */
static void
worker_send_socket(struct worker *w, const char *name)
{
	const struct config	*c = w->ctx->config;
	char			*msg;
	int			 i, fd;

	if ((i = config_socket_index(c, name)) == -1 ||
	    (size_t)i >= w->ctx->nsockets) {
		WLOG(w, LOG_LEVEL_WARN, "channel: asked for socket '%s', "
		    "which this generation does not hold", name);
		msg = xprintf("ERROR=no socket named '%s'", name);
		(void)channel_send(w->channel, msg, strlen(msg), NULL, 0);
		free(msg);
		return;
	}
	/* Its generation's own, where the socket is steered. */
	fd = w->ctx->fds[i];
	msg = xprintf("SOCKET=%s", name);
	if (channel_send(w->channel, msg, strlen(msg), &fd, 1) == -1)
		WLOG(w, LOG_LEVEL_WARN, "channel: sending socket %s: %s", name,
		    strerror(errno));
	else
		WLOG(w, LOG_LEVEL_DEBUG, "channel: sent socket %s", name);
	free(msg);
}

static void
worker_channel_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct channel_msg	 msg;
	char			 buf[BATON_MSG_MAX];
	int			 fds[BATON_FDS_MAX];
	size_t			 nfds, i;
	ssize_t			 r;

	for (;;) {
		nfds = BATON_FDS_MAX;
		r = channel_recv(w->channel, buf, sizeof(buf), fds, &nfds);
		/*
		 * A worker has no business sending descriptors to baton,
		 * but for its bind() trap's listener, sent once before exec.
		 */
		if (r > 0 && nfds == 1 && channel_parse(buf, r, &msg) == 0 &&
		    msg.trap && worker_take_trap(w, fds[0]) == 0)
			nfds = 0;
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (r == 0) {
			/* Closed by the worker; keep the slot, drop the event. */
			event_del(w->channel_ev);
			return;
		}
		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMSGSIZE) {
				if (log_limit_allow(&w->limit))
					WLOG(w, LOG_LEVEL_WARN, "channel: "
					    "message longer than %d bytes "
					    "dropped", BATON_MSG_MAX);
				continue;
			}
			if (errno == ENOMSG) {
				if (log_limit_allow(&w->limit))
					WLOG(w, LOG_LEVEL_WARN, "channel: "
					    "empty message dropped");
				continue;
			}
			WLOG(w, LOG_LEVEL_WARN, "channel: %s", strerror(errno));
			event_del(w->channel_ev);
			return;
		}
		if (channel_parse(buf, r, &msg) == -1) {
			if (log_limit_allow(&w->limit))
				WLOG(w, LOG_LEVEL_WARN, "channel: malformed "
				    "message dropped");
			continue;
		}
		if (msg.has_socket)
			worker_send_socket(w, msg.socket);
		worker_message(w, &msg);
	}
}

static void
worker_timer(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	const struct config	*c = w->ctx->config;

	switch (w->state) {
	case WORKER_STARTING:
		if (c->ready == READY_DELAY) {
			worker_became_ready(w);
			break;
		}
		if (worker_probe_failure(w) != NULL)
			WLOG(w, LOG_LEVEL_ERROR, "not ready after %ld ms "
			    "(ready_timeout); the probe: %s", c->ready_timeout,
			    worker_probe_failure(w));
		else
			WLOG(w, LOG_LEVEL_ERROR, "not ready after %ld ms "
			    "(ready_timeout)", c->ready_timeout);
		w->ctx->ops->not_ready(w, w->ctx->arg);
		break;
	case WORKER_EXITED:
		w->ctx->ops->restart(w, w->ctx->arg);
		break;
	case WORKER_DRAINING:
		/* Only armed when its main process exited on its own. */
		log_worker(LOG_LEVEL_WARN, w->ctx->generation, w->slot,
		    0, "processes that came from it still run %ld ms after its "
		    "main process exited: SIGKILL; their unfinished work was "
		    "lost", c->drain_timeout);
		worker_kill(w);
		w->ctx->ops->killed(w, w->ctx->arg);
		break;
	default:
		break;
	}
}

/* Read the channel, if there is one, and have the slot's timer ready. */
static void
worker_watch(struct worker *w)
{
	struct event_base	*base = w->ctx->base;

	if (w->channel != -1) {
		w->channel_ev = event_new(base, w->channel,
		    EV_READ | EV_PERSIST, worker_channel_read, w);
		if (w->channel_ev == NULL ||
		    event_add(w->channel_ev, NULL) == -1)
			fatal(70, "event_add: cannot watch a worker channel");
	}
	if (w->timer == NULL && (w->timer = evtimer_new(base, worker_timer,
	    w)) == NULL)
		fatal(70, "evtimer_new failed");
}

int
worker_start(struct worker *w, const struct spawn_params *sp)
{
	const struct config	*c = w->ctx->config;
	struct timeval		 tv;
	pid_t			 pid;
	int			 ch;

	if ((pid = w->sys->spawn(sp, &ch)) == -1)
		return -1;
	trap_free(w->trap);
	w->trap = NULL;
	w->pid = pid;
	w->pgid = pid;		/* setsid() in the child */
	w->channel = ch;
	w->started = w->sys->now();
	w->niced = sp->start_priority > 0;
	w->niced_own = w->niced && sp->start_own;
	w->nice = getpriority(PRIO_PROCESS, 0);	/* baton's own */
	w->drain_signal = 0;
	w->drain_pending = 0;
	w->own_exit = 0;
	w->park_sig = 0;
	w->parked = 0;
	w->preload = 0;
	w->killed = 0;
	w->exit_kind = WORKER_EXIT_NONE;
	w->exit_reason[0] = '\0';
	w->spawn_error[0] = '\0';
	free(w->status_text);
	w->status_text = NULL;
	worker_probe_stop(w);
	w->probe_passes = 0;
	w->probe_fails = 0;
	w->trial = 0;
	w->probe_failure[0] = '\0';
	worker_watch(w);
	tv = clock_tv(c->ready == READY_DELAY ? c->ready_delay :
	    c->ready_timeout);
	evtimer_add(w->timer, &tv);
	worker_set_state(w, WORKER_STARTING);
	WLOG(w, LOG_LEVEL_INFO, "started");
	/* A preloaded worker is probed once it listens. */
	if (!c->preload)
		worker_probe_start(w);
	return 0;
}

void
worker_activate(struct worker *w)
{
	if (w->state != WORKER_READY)
		return;
	/* A trial's probe ends with it. */
	worker_probe_stop(w);
	w->trial = 0;
	worker_set_state(w, WORKER_ACTIVE);
}

enum worker_state
worker_state(const struct worker *w)
{
	return w->state;
}

#define WORKER_PARK_TRIES	250	/* 2 ms apart: half a second */

static void
worker_park_done(struct worker *w, const char *how)
{
	int	 sig = w->park_sig;

	w->park_sig = 0;
	if (w->pid == 0)
		return;
	if (w->sys->kill(w->pid, sig) == -1 && errno != ESRCH)
		WLOG(w, LOG_LEVEL_WARN, "kill %s: %s", signame_name(sig),
		    strerror(errno));
	if (w->parked)
		(void)w->sys->kill(w->pid, SIGCONT);
	w->parked = 0;
	WLOG(w, LOG_LEVEL_DEBUG, "%s sent %s", signame_name(sig), how);
}

/*
 * Step by step, 2 ms apart: stop it, look where it is, let it go on.
 * Stopped in accept(), it has left the call and will restart it after
 * SIGCONT: the signal, pending by then, ends it first.
 */
static void
worker_park_step(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct timeval	 tv;

	if (w->pid == 0 || w->park_sig == 0)
		return;
	if (!w->parked) {
		if (w->sys->kill(w->pid, SIGSTOP) == -1) {
			worker_park_done(w, "at once (it cannot be stopped)");
			return;
		}
		w->parked = 1;
	} else if (w->sys->state(w->pid) == 'T') {
		if (w->sys->in_accept(w->pid, w->ctx->fds,
		    w->ctx->nsockets)) {
			worker_park_done(w, "while it waited in accept()");
			return;
		}
		(void)w->sys->kill(w->pid, SIGCONT);
		w->parked = 0;
	}
	if (++w->park_tries >= WORKER_PARK_TRIES) {
		worker_park_done(w, "without a safe point");
		return;
	}
	tv = clock_tv(w->parked ? 1 : 2);
	evtimer_add(w->park, &tv);
}

/*
 * A main process that dies on its drain signal (one thread, no handler:
 * busybox's httpd) would die holding a connection it had just accepted
 * and not yet handed on. It gets the signal where it holds none: while
 * it is stopped in accept() on a held socket. Returns 0, or -1 with errno.
 */
static int
worker_park(struct worker *w, int sig)
{
	if (w->park == NULL && (w->park = evtimer_new(w->ctx->base,
	    worker_park_step, w)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	w->park_sig = sig;
	w->park_tries = 0;
	w->parked = 0;
	worker_park_step(-1, 0, w);
	return 0;
}

/*
 * Send the drain signal as drain_to says. To the main process (main),
 * as PM2, einhorn and systemd's KillMode=mixed do: a prefork server's
 * master tells its children to finish their requests first, which a
 * signal to each of them would cut short. To the whole group (group),
 * for a wrapper that does not forward it. With no main process left,
 * each process it left to baton is a main process of its own.
 */
static void
worker_signal(struct worker *w, int sig, const char *why)
{
	const struct config	*c = w->ctx->config;
	size_t			 i;
	int			 r;

	w->drain_pending = 0;
	w->drain_signal = sig;
	WLOG(w, LOG_LEVEL_INFO, "draining (%s%s%s%s)", signame_name(sig),
	    c->drain_to_group ? " to its group" : "",
	    why != NULL ? ", " : "", why != NULL ? why : "");
	if (c->drain_to_group)
		r = w->sys->kill(-w->pgid, sig);
	else if (w->pid != 0 && w->sys->dies_on(w->pid, sig) == 1)
		r = worker_park(w, sig);
	else
		r = w->pid != 0 ? w->sys->kill(w->pid, sig) : 0;
	if (r == -1 && errno != ESRCH)
		WLOG(w, LOG_LEVEL_WARN, "kill %s: %s", signame_name(sig),
		    strerror(errno));
	for (i = 0; i < w->norphans; i++)
		if (!c->drain_to_group || w->orphans[i].pgid != w->pgid)
			(void)w->sys->kill(w->orphans[i].pid, sig);
}

/* Its main process exited and left others: drain them, with a deadline. */
static void
worker_drain_remnants(struct worker *w)
{
	const struct config	*c = w->ctx->config;
	struct timeval		 tv;

	worker_set_state(w, WORKER_DRAINING);
	w->own_exit = 1;
	worker_signal(w, c->drain_signal, "its main process exited");
	tv = clock_tv(c->drain_timeout);
	evtimer_add(w->timer, &tv);
}

void
worker_drain(struct worker *w, int sig)
{
	const struct config	*c = w->ctx->config;
	char			 msg[64];
	long			 wait, margin;
	int			 n;

	if (w->timer != NULL)
		evtimer_del(w->timer);
	worker_probe_stop(w);
	if (!worker_alive(w) || w->state == WORKER_DRAINING)
		return;
	worker_set_state(w, WORKER_DRAINING);
	/*
	 * A server that cannot drain itself dies on the signal mid-request.
	 * Its interposer stops accepting first, closes keep-alive
	 * connections between requests, and says IDLE=1 once its
	 * connections are closed; only then does the signal go. What is
	 * still open late is a request still running, which the signal
	 * would cut: the interposer waits for it until IDLE_WAIT_MS, and the
	 * server keeps the end of the deadline to act on its signal.
	 */
	margin = c->drain_timeout / WORKER_SIGNAL_SHARE;
	if (margin < WORKER_SIGNAL_MIN)
		margin = c->drain_timeout / 2 < WORKER_SIGNAL_MIN ?
		    c->drain_timeout / 2 : WORKER_SIGNAL_MIN;
	wait = c->drain_timeout - margin;
	n = snprintf(msg, sizeof(msg), "DRAIN=1\nIDLE_WAIT_MS=%ld", wait);
	if (w->preload && w->channel != -1 &&
	    channel_send(w->channel, msg, n, NULL, 0) == 0) {
		w->drain_pending = sig;
		WLOG(w, LOG_LEVEL_INFO, "draining (DRAIN=1; %s once idle, "
		    "%ld ms at most)", signame_name(sig), wait);
		return;
	}
	worker_signal(w, sig, NULL);
}

void
worker_kill(struct worker *w)
{
	pid_t	*roots;
	size_t	 i, n;

	if (!worker_alive(w))
		return;
	w->killed = 1;
	w->park_sig = 0;
	if (w->park != NULL)
		evtimer_del(w->park);
	if (w->sys->kill(-w->pgid, SIGKILL) == -1 && errno != ESRCH &&
	    (w->pid == 0 || w->sys->kill(w->pid, SIGKILL) == -1) &&
	    errno != ESRCH)
		WLOG(w, LOG_LEVEL_ERROR, "kill SIGKILL: %s", strerror(errno));
	/* Then every process that came from it, whatever its group. */
	for (i = 0; i < w->norphans; i++)
		(void)w->sys->kill(w->orphans[i].pid, SIGKILL);
	roots = worker_roots(w, &n);
	if (w->sys->kill_tree(roots, n, SIGKILL) == -1)
		WLOG(w, LOG_LEVEL_WARN, "reading /proc to kill what came from "
		    "it: %s", strerror(errno));
	free(roots);
}

pid_t
worker_pgid(const struct worker *w)
{
	return w->pgid;
}

static void
worker_exited(struct worker *w, int status)
{
	long long	 ran = w->sys->now() - w->started;
	int		 sig;

	/* An ERROR= from the child may still sit in the channel. */
	if (w->channel_ev != NULL)
		worker_channel_read(w->channel, EV_READ, w);
	worker_close_channel(w);
	if (w->timer != NULL)
		evtimer_del(w->timer);
	worker_probe_stop(w);

	if (WIFEXITED(status)) {
		w->exit_kind = WEXITSTATUS(status) == 0 ? WORKER_EXIT_CLEAN :
		    WORKER_EXIT_CRASHED;
		if (w->spawn_error[0] != '\0')
			snprintf(w->exit_reason, sizeof(w->exit_reason), "%s",
			    w->spawn_error);
		else
			snprintf(w->exit_reason, sizeof(w->exit_reason),
			    "exited with status %d", WEXITSTATUS(status));
	} else {
		sig = WTERMSIG(status);
		if (w->killed && sig == SIGKILL)
			w->exit_kind = WORKER_EXIT_KILLED;
		else if (w->drain_signal != 0 && sig == w->drain_signal)
			w->exit_kind = WORKER_EXIT_CLEAN;
		else
			w->exit_kind = WORKER_EXIT_CRASHED;
		snprintf(w->exit_reason, sizeof(w->exit_reason),
		    "killed by signal %d (%s)%s", sig, signame_name(sig),
		    WCOREDUMP(status) ? ", core dumped" : "");
	}
	WLOG(w, w->exit_kind == WORKER_EXIT_CRASHED ? LOG_LEVEL_WARN :
	    LOG_LEVEL_INFO, "%s after %lld ms", w->exit_reason, ran);
	w->backoff = backoff_exited(w->backoff, ran);
	w->pid = 0;
	w->park_sig = 0;
	if (w->park != NULL)
		evtimer_del(w->park);
	w->exited = w->sys->now();
	if (w->norphans == 0)
		worker_set_state(w, WORKER_EXITED);
	else {
		WLOG(w, LOG_LEVEL_INFO, "%zu process%s that came from it "
		    "still run%s; the slot is free once %s gone", w->norphans,
		    w->norphans == 1 ? "" : "es", w->norphans == 1 ? "s" : "",
		    w->norphans == 1 ? "it is" : "they are");
		/* Draining already: the generation's deadline covers them. */
		if (w->state != WORKER_DRAINING)
			worker_drain_remnants(w);
	}
	w->ctx->ops->exited(w, w->ctx->arg);
}

enum worker_exit
worker_exit_kind(const struct worker *w)
{
	return w->exit_kind;
}

/* The last process that came from it is gone: the slot is free. */
static void
worker_gone(struct worker *w)
{
	if (w->timer != NULL)
		evtimer_del(w->timer);
	log_worker(LOG_LEVEL_INFO, w->ctx->generation, w->slot, 0,
	    "its last process is gone, %lld ms after its main process",
	    w->sys->now() - w->exited);
	worker_set_state(w, WORKER_EXITED);
	if (w->restart_due) {
		w->restart_due = 0;
		worker_restart_later(w);
	}
}

int
worker_reaped(struct worker *w, pid_t pid, int status)
{
	size_t	 i;

	if (pid == w->pid) {
		worker_exited(w, status);
		return 1;
	}
	for (i = 0; i < w->norphans && w->orphans[i].pid != pid; i++)
		;
	if (i == w->norphans)
		return 0;
	log_worker(LOG_LEVEL_DEBUG, w->ctx->generation, w->slot, pid,
	    "a process that came from it exited");
	w->orphans[i] = w->orphans[--w->norphans];
	if (w->pid == 0 && w->norphans == 0)
		worker_gone(w);
	return 1;
}

const char *
worker_exit_reason(const struct worker *w)
{
	return w->exit_reason;
}

void
worker_adopt(struct worker *w, pid_t pid, pid_t pgid, const char *how)
{
	w->orphans = xreallocarray(w->orphans, w->norphans + 1,
	    sizeof(*w->orphans));
	w->orphans[w->norphans].pid = pid;
	w->orphans[w->norphans].pgid = pgid;
	w->norphans++;
	log_worker(LOG_LEVEL_INFO, w->ctx->generation, w->slot, pid,
	    "left to baton by its parent; it came from worker %d (%s)",
	    w->slot, how);
	if (w->killed) {
		(void)w->sys->kill(pid, SIGKILL);
		return;
	}
	/*
	 * Draining: what the drain signal missed gets it now, but the main
	 * process's own children under drain_to = main are finishing what
	 * their parent left them, and only the deadline ends them.
	 */
	if (w->drain_signal != 0) {
		if (w->ctx->config->drain_to_group ?
		    pgid != w->pgid : w->own_exit)
			(void)w->sys->kill(pid, w->drain_signal);
		return;
	}
	/* Found after its slot was thought free: free it only once it is gone. */
	if (w->pid == 0 && w->state == WORKER_EXITED) {
		if (w->timer != NULL && evtimer_pending(w->timer, NULL)) {
			evtimer_del(w->timer);
			w->restart_due = 1;
			w->restarts--;		/* counted again then */
		}
		worker_drain_remnants(w);
	}
}

int
worker_owns(const struct worker *w, pid_t pid)
{
	size_t	 i;

	if (pid <= 0)
		return 0;
	if (pid == w->pid)
		return 1;
	for (i = 0; i < w->norphans; i++)
		if (w->orphans[i].pid == pid)
			return 1;
	return 0;
}

size_t
worker_norphans(const struct worker *w)
{
	return w->norphans;
}

pid_t
worker_orphan(const struct worker *w, size_t i)
{
	return i < w->norphans ? w->orphans[i].pid : 0;
}

void
worker_restart_later(struct worker *w)
{
	struct timeval	 tv;

	if (w->timer == NULL && (w->timer = evtimer_new(w->ctx->base,
	    worker_timer, w)) == NULL)
		fatal(70, "evtimer_new failed");
	if (w->norphans > 0) {
		w->restart_due = 1;
		WLOG(w, LOG_LEVEL_INFO, "restarting once the processes that "
		    "came from it are gone");
		return;
	}
	w->restarts++;
	WLOG(w, LOG_LEVEL_INFO, "restarting in %ld ms (restart %d)",
	    w->backoff, w->restarts);
	tv = clock_tv(w->backoff);
	evtimer_add(w->timer, &tv);
	w->backoff = backoff_next(w->backoff);
}

int
worker_restarts(const struct worker *w)
{
	return w->restarts;
}

void
worker_save(const struct worker *w, struct worker_saved *ws)
{
	*ws = (struct worker_saved){ .pid = w->pid, .pgid = w->pgid,
	    .channel = w->channel, .restarts = w->restarts,
	    .backoff = w->backoff, .started = w->started,
	    .preload = w->preload, .status = w->status_text };
}

void
worker_restore(struct worker *w, const struct worker_saved *ws)
{
	struct timeval		 tv;

	w->pid = ws->pid;
	w->pgid = ws->pgid;
	w->restarts = ws->restarts;
	w->backoff = ws->backoff;
	w->started = ws->started;
	w->preload = ws->preload;
	free(w->status_text);
	w->status_text = ws->status != NULL ? xstrdup(ws->status) : NULL;
	if ((w->channel = ws->channel) != -1)
		fcntl(w->channel, F_SETFD, FD_CLOEXEC);
	worker_watch(w);
	if (w->pid != 0) {
		worker_set_state(w, WORKER_ACTIVE);
		return;
	}
	worker_set_state(w, WORKER_EXITED);
	WLOG(w, LOG_LEVEL_INFO, "restarting in %d ms", BACKOFF_MIN);
	tv = clock_tv(BACKOFF_MIN);
	evtimer_add(w->timer, &tv);
}

int
worker_alive(const struct worker *w)
{
	/*
	 * Whatever came from it is a descendant of baton (the subreaper):
	 * of its main process while that lives, else of an adopted one.
	 */
	return w->pid != 0 || w->norphans > 0;
}

pid_t
worker_pid(const struct worker *w)
{
	return w->pid;
}


long long
worker_started(const struct worker *w)
{
	return w->started;
}

long long
worker_memory(const struct worker *w)
{
	pid_t		*roots;
	long long	 bytes;
	size_t		 i, n = 0;

	if (!worker_alive(w) || w->sys->memory == NULL)
		return -1;
	roots = xcalloc(w->norphans + 1, sizeof(*roots));
	if (w->pid != 0)
		roots[n++] = w->pid;
	for (i = 0; i < w->norphans; i++)
		roots[n++] = w->orphans[i].pid;
	bytes = w->sys->memory(w->pgid, roots, n);
	free(roots);
	return bytes;
}
