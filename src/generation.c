#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "command.h"
#include "config.h"
#include "generation.h"
#include "log.h"
#include "output.h"
#include "signame.h"
#include "socket.h"
#include "spawn.h"
#include "steer.h"
#include "worker.h"
#include "xmalloc.h"

struct generation {
	struct generation_env	 env;
	struct worker_ctx	 wctx;		/* handed to each worker */
	int			 number;
	enum generation_state	 state;
	struct config		*config;
	struct socket		**sockets;
	int			*fds;		/* what its workers get */
	int			*members;	/* steered: fds[i]'s index in
						   the group; -1: the held one */
	size_t			 nsockets;
	struct worker		**workers;
	size_t			 nworkers;
	struct event		*deadline;	/* drain_timeout */
	struct event		*emptying;	/* waits for its queues */
	int			 signalled;	/* the drain signal is sent */
	long long		 started;
	long long		 stopped;	/* g->env.sys->now() its drain began */
	long long		 drained;	/* ms from then to gone; -1: not */
	int			 killed;	/* at the drain deadline */
	char			*failure;
	unsigned		 canary;	/* share on trial; 0: none */
	long			 canary_time;	/* ms */
	long long		 canary_began;	/* now() it entered it */
	struct event		*canary_end;	/* promotes at canary_time */
};

static const char *const generation_state_names[] = {
	"starting", "canary", "active", "draining", "rolled back", "gone"
};

static void
generation_set_state(struct generation *g, enum generation_state state)
{
	if (g->state == state)
		return;
	log_debug("generation %d: %s -> %s", g->number,
	    generation_state_names[g->state], generation_state_names[state]);
	g->state = state;
	g->env.ops->changed(g, g->env.arg);
}

static void	generation_worker_ready(struct worker *, void *);
static void	generation_worker_not_ready(struct worker *, void *);
static void	generation_worker_exited(struct worker *, void *);
static void	generation_worker_killed(struct worker *, void *);
static void	generation_restart_worker(struct worker *, void *);

static void
generation_worker_probing(struct worker *w, int port, void *arg)
{
	struct generation	*g = arg;

	if (g->env.ops->probing != NULL)
		g->env.ops->probing(g, port, g->env.arg);
}

static void	generation_worker_probe_failed(struct worker *, void *);
static void	generation_begin_canary(struct generation *);

static const struct worker_ops generation_worker_ops = {
	generation_worker_ready,
	generation_worker_not_ready,
	generation_worker_exited,
	generation_worker_killed,
	generation_restart_worker,
	generation_worker_probing,
	generation_worker_probe_failed
};

struct generation *
generation_new(const struct generation_env *env, int number,
    struct config *c, struct socket **sockets)
{
	struct generation	*g;
	size_t			 i;

	g = xcalloc(1, sizeof(*g));
	g->env = *env;
	if (g->env.sys == NULL)
		g->env.sys = &worker_sys_real;
	g->number = number;
	g->state = GENERATION_STARTING;
	g->config = c;
	g->nsockets = c->nsockets;
	g->sockets = xcalloc(g->nsockets, sizeof(*g->sockets));
	g->fds = xcalloc(g->nsockets, sizeof(*g->fds));
	g->members = xcalloc(g->nsockets, sizeof(*g->members));
	for (i = 0; i < g->nsockets; i++) {
		g->sockets[i] = socket_ref(sockets[i]);
		g->fds[i] = socket_fd(sockets[i]);
		g->members[i] = -1;
	}
	g->wctx = (struct worker_ctx){ g->env.base, c, number, g->sockets,
	    g->fds, g->nsockets, g->env.sys, &generation_worker_ops, g };
	g->nworkers = c->workers;
	g->workers = xcalloc(g->nworkers, sizeof(*g->workers));
	for (i = 0; i < g->nworkers; i++)
		g->workers[i] = worker_new(&g->wctx, (int)i);
	g->started = g->env.sys->now();
	g->drained = -1;
	return g;
}

struct generation *
generation_restore(const struct generation_env *env, int number,
    struct config *c, struct socket **sockets, long long started)
{
	struct generation	*g;

	g = generation_new(env, number, c, sockets);
	g->state = GENERATION_ACTIVE;
	g->started = started;
	return g;
}

int
generation_number(const struct generation *g)
{
	return g->number;
}

void
generation_free(struct generation *g)
{
	size_t	 i;

	if (g == NULL)
		return;
	if (g->deadline != NULL)
		event_free(g->deadline);
	if (g->emptying != NULL)
		event_free(g->emptying);
	if (g->canary_end != NULL)
		event_free(g->canary_end);
	for (i = 0; i < g->nworkers; i++)
		worker_free(g->workers[i]);
	free(g->workers);
	config_free(g->config);
	for (i = 0; i < g->nsockets; i++) {
		if (g->members[i] != -1)
			socket_member_free(g->sockets[i], g->members[i],
			    g->fds[i]);
		socket_unref(g->sockets[i]);
	}
	free(g->sockets);
	free(g->fds);
	free(g->members);
	free(g->failure);
	free(g);
}

/*
 * With output = FILE, a pipe each for the worker's stdout and stderr:
 * pipes, not sockets, since a program may open /dev/stdout (nginx's
 * access log), which fails on a socket; and a write of up to PIPE_BUF
 * bytes to a pipe is atomic, so the lines of a prefork server's
 * processes do not mix. Returns 0, or -1 with errno (none left open).
 */
static int
generation_pipes(struct generation *g, int out[2], int err[2])
{
	int	 saved;

	out[0] = out[1] = err[0] = err[1] = -1;
	if (g->env.output == NULL)
		return 0;
	if (pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0)
		return 0;
	saved = errno;
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	out[0] = out[1] = -1;
	errno = saved;
	return -1;
}

/* The read ends go to the output once the pid is known, or are closed. */
static void
generation_pipes_done(struct generation *g, struct worker *w, int started,
    int out[2], int err[2])
{
	if (out[0] == -1)
		return;
	close(out[1]);
	close(err[1]);
	if (!started) {
		close(out[0]);
		close(err[0]);
		return;
	}
	output_watch(g->env.output, out[0], g->number, worker_slot(w),
	    worker_pid(w), "stdout");
	output_watch(g->env.output, err[0], g->number, worker_slot(w),
	    worker_pid(w), "stderr");
}

static int
generation_spawn(struct generation *g, struct worker *w)
{
	struct spawn_params	 sp;
	char			**argv;
	int			 r, saved, out[2], err[2];

	if (generation_pipes(g, out, err) == -1) {
		log_worker(LOG_LEVEL_ERROR, g->number, worker_slot(w), 0,
		    "cannot start: pipe for its output: %s", strerror(errno));
		return -1;
	}

	argv = command_expand(g->config->argv, g->config->names,
	    g->config->nsockets, g->number, worker_slot(w));
	memset(&sp, 0, sizeof(sp));
	sp.config = g->config;
	sp.argv = argv;
	sp.fds = g->fds;
	sp.nfds = (int)g->nsockets;
	sp.generation = g->number;
	sp.worker = worker_slot(w);
	sp.drain_signal = g->config->drain_signal;
	sp.notify_socket = g->env.notify_path;
	sp.out_fd = out[1];
	sp.err_fd = err[1];
	r = worker_start(w, &sp);
	saved = errno;
	generation_pipes_done(g, w, r == 0, out, err);
	command_free(argv);
	if (r == -1)
		log_worker(LOG_LEVEL_ERROR, g->number, worker_slot(w), 0,
		    "cannot start: %s", strerror(saved));
	return r;
}

/*
 * A socket of its own in each steered group: the configuration asks for
 * steering (probe, canary, rolling), or an older one did. Returns 0, or
 * -1 with *error set.
 */
static int
generation_steer(struct generation *g, char **error)
{
	size_t	 i;

	for (i = 0; i < g->nsockets; i++) {
		if (config_steers(g->config) &&
		    socket_steer(g->sockets[i], error) == -1)
			return -1;
		if (!socket_steered(g->sockets[i]))
			continue;
		if ((g->fds[i] = socket_member_new(g->sockets[i],
		    &g->members[i], error)) == -1) {
			g->fds[i] = socket_fd(g->sockets[i]);
			g->members[i] = -1;
			return -1;
		}
	}
	return 0;
}

int
generation_start(struct generation *g)
{
	char	*error = NULL;
	size_t	 i;

	log_info("generation %d: starting %zu worker%s", g->number,
	    g->nworkers, g->nworkers == 1 ? "" : "s");
	if (generation_steer(g, &error) == -1) {
		generation_roll_back(g, error);
		free(error);
		return -1;
	}
	for (i = 0; i < g->nworkers; i++) {
		if (generation_spawn(g, g->workers[i]) == -1) {
			generation_roll_back(g, "a worker could not be started");
			return -1;
		}
	}
	return 0;
}

long long
generation_started(const struct generation *g)
{
	return g->started;
}

static int
generation_alive(const struct generation *g)
{
	size_t	 i;

	for (i = 0; i < g->nworkers; i++)
		if (worker_alive(g->workers[i]))
			return 1;
	return 0;
}

static void
generation_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct generation	*g = arg;
	struct worker		*w;
	size_t			 i;

	for (i = 0; i < g->nworkers; i++) {
		w = g->workers[i];
		if (!worker_alive(w))
			continue;
		log_worker(LOG_LEVEL_WARN, g->number, worker_slot(w),
		    worker_pid(w), "still running at the drain deadline "
		    "(%ld ms): SIGKILL; its unfinished work was lost",
		    g->config->drain_timeout);
		worker_kill(w);
		g->killed++;
		g->env.ops->killed(g, g->env.arg);
	}
}

int
generation_killed(const struct generation *g)
{
	return g->killed;
}

/* Connections waiting in the queues of its own steered sockets. */
static int
generation_queued(const struct generation *g)
{
	size_t	 i;
	int	 n = 0, q;

	for (i = 0; i < g->nsockets; i++)
		if (g->members[i] != -1 && (q = steer_queued(g->fds[i])) > 0)
			n += q;
	return n;
}

static void	generation_signal(struct generation *);

/*
 * Its sockets get no new connection now (the route moved on when its
 * state changed), but what they queued before is still accepted by its
 * workers: the drain signal waits for that, a second at most, so that no
 * worker is told to stop just as it accepts (a prefork child that exits
 * on the signal would drop that connection).
 */
static void
generation_empty(evutil_socket_t fd, short what, void *arg)
{
	struct generation	*g = arg;
	struct timeval		 tv = { 0, 10 * 1000 };
	int			 q;

	if (g->signalled || g->state == GENERATION_GONE)
		return;
	q = generation_queued(g);
	if (q > 0 && g->env.sys->now() - g->stopped < 1000) {
		evtimer_add(g->emptying, &tv);
		return;
	}
	if (q > 0)
		log_warn("generation %d: %d connections still queued on its "
		    "sockets after a second; draining anyway (they move to the "
		    "active generation when its sockets close)", g->number, q);
	generation_signal(g);
}

/* Drain signal to every process, then a deadline; shared by both stops. */
static void
generation_stop(struct generation *g, enum generation_state state)
{
	generation_set_state(g, state);
	g->stopped = g->env.sys->now();
	if (generation_queued(g) > 0) {
		if (g->emptying == NULL && (g->emptying = evtimer_new(
		    g->env.base, generation_empty, g)) == NULL)
			fatal(70, "evtimer_new failed");
		generation_empty(-1, 0, g);
		return;
	}
	generation_signal(g);
}

static void
generation_signal(struct generation *g)
{
	struct timeval	 tv;
	size_t		 i;

	g->signalled = 1;
	for (i = 0; i < g->nworkers; i++)
		worker_drain(g->workers[i], g->config->drain_signal);
	if (!generation_alive(g)) {
		generation_set_state(g, GENERATION_GONE);
		return;
	}
	if (g->deadline == NULL && (g->deadline = evtimer_new(g->env.base,
	    generation_deadline, g)) == NULL)
		fatal(70, "evtimer_new failed");
	tv = clock_tv(g->config->drain_timeout);
	evtimer_add(g->deadline, &tv);
}

void
generation_drain(struct generation *g)
{
	if (g->state == GENERATION_DRAINING ||
	    g->state == GENERATION_ROLLED_BACK || g->state == GENERATION_GONE)
		return;
	log_info("generation %d: draining (%s, deadline %ld ms)", g->number,
	    signame_name(g->config->drain_signal),
	    g->config->drain_timeout);
	generation_stop(g, GENERATION_DRAINING);
}

void
generation_roll_back(struct generation *g, const char *why)
{
	if (g->state != GENERATION_STARTING && g->state != GENERATION_CANARY)
		return;
	if (g->canary_end != NULL)
		evtimer_del(g->canary_end);
	g->failure = xstrdup(why);
	log_error("generation %d: rolled back: %s", g->number, why);
	generation_stop(g, GENERATION_ROLLED_BACK);
}

const char *
generation_failure(const struct generation *g)
{
	return g->failure;
}

void
generation_kill(struct generation *g)
{
	size_t	 i;

	for (i = 0; i < g->nworkers; i++)
		worker_kill(g->workers[i]);
}

struct worker *
generation_find_pid(struct generation *g, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < g->nworkers; i++)
		if (worker_owns(g->workers[i], pid))
			return g->workers[i];
	return NULL;
}

void
generation_recheck(struct generation *g)
{
	if (g->state != GENERATION_DRAINING &&
	    g->state != GENERATION_ROLLED_BACK)
		return;
	/* Gone only once every process that came from a worker is gone. */
	if (generation_alive(g))
		return;
	if (g->deadline != NULL)
		evtimer_del(g->deadline);
	if (g->state == GENERATION_DRAINING)
		g->drained = g->env.sys->now() - g->stopped;
	log_info("generation %d: exited after draining for %lld ms (it ran "
	    "%lld ms)", g->number, g->env.sys->now() - g->stopped,
	    g->env.sys->now() - g->started);
	generation_set_state(g, GENERATION_GONE);
}

static void
generation_worker_ready(struct worker *w, void *arg)
{
	struct generation	*g = arg;
	size_t	 i;

	if (g->state == GENERATION_ACTIVE) {
		worker_activate(w);	/* a restarted worker */
		return;
	}
	if (g->state != GENERATION_STARTING)
		return;
	for (i = 0; i < g->nworkers; i++)
		if (worker_state(g->workers[i]) != WORKER_READY)
			return;
	if (g->canary > 0) {
		generation_begin_canary(g);
		return;
	}
	for (i = 0; i < g->nworkers; i++)
		worker_activate(g->workers[i]);
	log_info("generation %d: active after %lld ms", g->number,
	    g->env.sys->now() - g->started);
	generation_set_state(g, GENERATION_ACTIVE);
}

static void
generation_worker_probe_failed(struct worker *w, void *arg)
{
	struct generation	*g = arg;
	char			*why;

	why = xprintf("worker %d's probe failed %d time%s in a row during the "
	    "canary: %s", worker_slot(w), worker_probe_fails(w),
	    worker_probe_fails(w) == 1 ? "" : "s", worker_probe_failure(w));
	generation_roll_back(g, why);
	free(why);
}

static void
generation_worker_not_ready(struct worker *w, void *arg)
{
	struct generation	*g = arg;
	char			*why;

	if (g->state == GENERATION_STARTING) {
		if (worker_probe_failure(w) != NULL)
			why = xprintf("worker %d not ready after %ld ms (the "
			    "probe: %s)", worker_slot(w),
			    g->config->ready_timeout, worker_probe_failure(w));
		else
			why = xprintf("worker %d not ready after %ld ms",
			    worker_slot(w), g->config->ready_timeout);
		generation_roll_back(g, why);
		free(why);
		return;
	}
	/* A restarted worker that hangs: kill it, and backoff restarts it. */
	worker_kill(w);
}

static void
generation_worker_exited(struct worker *w, void *arg)
{
	struct generation	*g = arg;
	char			*why;

	/* A clean exit is no crash, even one that leaves processes behind. */
	if (worker_exit_kind(w) == WORKER_EXIT_CRASHED &&
	    (g->state == GENERATION_STARTING || g->state == GENERATION_CANARY ||
	    g->state == GENERATION_ACTIVE))
		g->env.ops->crashed(g, g->env.arg);
	switch (g->state) {
	case GENERATION_STARTING:
	case GENERATION_CANARY:
		/* On trial, any exit fails it too: no restart hides a crash. */
		why = xprintf("worker %d %s %s", worker_slot(w),
		    worker_exit_reason(w), g->state == GENERATION_STARTING ?
		    "before it was ready" : "during the canary");
		generation_roll_back(g, why);
		free(why);
		break;
	case GENERATION_ACTIVE:
		worker_restart_later(w);
		break;
	case GENERATION_DRAINING:
	case GENERATION_ROLLED_BACK:
		generation_recheck(g);
		break;
	case GENERATION_GONE:
		break;
	}
}

static void
generation_worker_killed(struct worker *w, void *arg)
{
	struct generation	*g = arg;

	g->killed++;
	g->env.ops->killed(g, g->env.arg);
}

static void
generation_restart_worker(struct worker *w, void *arg)
{
	struct generation	*g = arg;

	if (g->state != GENERATION_ACTIVE)
		return;
	if (generation_spawn(g, w) == -1)
		worker_restart_later(w);
}

enum generation_state
generation_state(const struct generation *g)
{
	return g->state;
}

const char *
generation_state_name(enum generation_state s)
{
	return generation_state_names[s];
}

const struct config *
generation_config(const struct generation *g)
{
	return g->config;
}

struct worker *
generation_worker(const struct generation *g, size_t i)
{
	return i < g->nworkers ? g->workers[i] : NULL;
}

size_t
generation_nworkers(const struct generation *g)
{
	return g->nworkers;
}

struct socket *
generation_socket(const struct generation *g, size_t i)
{
	return i < g->nsockets ? g->sockets[i] : NULL;
}

int
generation_member(struct generation *g, size_t i)
{
	char	*error = NULL;
	int	 m;

	if (i >= g->nsockets || !socket_steered(g->sockets[i]))
		return -1;
	if (g->members[i] != -1)
		return g->members[i];
	/* Given the held socket before steering began: it is a member too. */
	if ((m = socket_member_anchor(g->sockets[i], &error)) == -1) {
		log_error("generation %d: %s", g->number, error);
		free(error);
	}
	return m;
}

long long
generation_connections(const struct generation *g)
{
	long long	 n, sum = -1;
	size_t		 i;

	for (i = 0; i < g->nsockets; i++) {
		if ((n = socket_member_count(g->sockets[i], g->members[i])) < 0)
			continue;
		sum = (sum < 0 ? 0 : sum) + n;
	}
	return sum;
}

int
generation_own_member(const struct generation *g, size_t i, int *index)
{
	if (i >= g->nsockets || g->members[i] == -1)
		return -1;
	*index = g->members[i];
	return g->fds[i];
}

int
generation_restore_member(struct generation *g, size_t i, int index, int fd)
{
	char	*error = NULL;

	if (i >= g->nsockets || socket_member_restore(g->sockets[i], index,
	    fd, &error) == -1) {
		log_error("generation %d: %s", g->number, error != NULL ?
		    error : "no such socket");
		free(error);
		close(fd);
		return -1;
	}
	g->members[i] = index;
	g->fds[i] = fd;
	return 0;
}

int
generation_on_anchor(const struct generation *g, size_t i)
{
	return i < g->nsockets && g->members[i] == -1;
}

long long
generation_drained(const struct generation *g)
{
	return g->drained;
}

void
generation_canary(struct generation *g, unsigned share, long ms)
{
	if (g->state == GENERATION_STARTING) {
		g->canary = share;
		g->canary_time = ms;
	}
}

static void
generation_canary_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct generation	*g = arg;
	char			*why;

	why = xprintf("canary_time (%ld ms) passed", g->canary_time);
	generation_promote(g, why);
	free(why);
}

/* Every worker is ready: on trial, with its share, instead of active. */
static void
generation_begin_canary(struct generation *g)
{
	struct timeval	 tv;
	size_t		 i;

	if (g->canary_end == NULL && (g->canary_end = evtimer_new(g->env.base,
	    generation_canary_timeout, g)) == NULL)
		fatal(70, "evtimer_new failed");
	g->canary_began = g->env.sys->now();
	tv = clock_tv(g->canary_time);
	evtimer_add(g->canary_end, &tv);
	log_info("generation %d: canary after %lld ms: %u.%02u%% of new "
	    "connections for %ld ms (baton promote, baton rollback)",
	    g->number, g->canary_began - g->started, g->canary / 100,
	    g->canary % 100, g->canary_time);
	for (i = 0; i < g->nworkers; i++)
		worker_trial(g->workers[i]);
	generation_set_state(g, GENERATION_CANARY);
}

int
generation_promote(struct generation *g, const char *why)
{
	size_t	 i;

	if (g->state != GENERATION_CANARY)
		return -1;
	evtimer_del(g->canary_end);
	for (i = 0; i < g->nworkers; i++)
		worker_activate(g->workers[i]);
	log_info("generation %d: active after %lld ms (promoted: %s, after "
	    "%lld ms in its canary)", g->number,
	    g->env.sys->now() - g->started, why,
	    g->env.sys->now() - g->canary_began);
	generation_set_state(g, GENERATION_ACTIVE);
	return 0;
}

unsigned
generation_canary_share(const struct generation *g)
{
	return g->state == GENERATION_CANARY ? g->canary : 0;
}

long long
generation_canary_left(const struct generation *g)
{
	long long	 left;

	if (g->state != GENERATION_CANARY)
		return -1;
	left = g->canary_began + g->canary_time - g->env.sys->now();
	return left > 0 ? left : 0;
}
