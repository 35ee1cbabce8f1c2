#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "command.h"
#include "config.h"
#include "generation.h"
#include "log.h"
#include "output.h"
#include "proc.h"
#include "signame.h"
#include "socket.h"
#include "spawn.h"
#include "steer.h"
#include "worker.h"
#include "xmalloc.h"

/*
 * A warm-up without a canary starts from 5% (of CONFIG_CANARY_WHOLE),
 * and its share rises in 20 steps, at most one each 50 ms.
 */
#define GENERATION_WARM_FROM		500
#define GENERATION_WARM_STEPS		20
#define GENERATION_WARM_STEP_MIN	50	/* ms */

/*
 * What a seat's worker is there for. A slot's seat serves; recycling
 * starts a successor beside it, which takes the slot once ready; the
 * seat it replaced retires (drains, never restarts, and is freed once
 * its processes are gone). A rolling reload retires a slot's seat in
 * place: the slot is then served by the newer generation, or put back.
 */
enum seat_role {
	SEAT_SERVING,
	SEAT_SUCCESSOR,
	SEAT_RETIRING
};

static const char *const seat_role_names[] = {
	"serving", "successor", "retiring"
};

/*
 * One worker and its place: the context it was created with (its
 * callbacks' argument is the seat), the descriptors it gets, and its own
 * member sockets where it has them (rollout = rolling, or a successor,
 * on a steered socket), so that the route can single it out.
 */
struct generation_seat {
	struct generation	*g;
	struct worker		*w;
	struct worker_ctx	 ctx;
	int			*fds;		/* g->fds, or its own */
	int			*members;	/* its own; NULL: g's */
	enum seat_role		 role;
	int			 spawned;	/* ever */
	int			 alive;		/* as last seen by the sweep */
	long			 jitter;	/* ms added to max_age */
	long long		 stopped;	/* now() its retirement began */
	struct event		*timer;		/* retiring: queue, deadline */
	int			 signalled;	/* retiring: drain signal sent */
	long long		 empty_since;	/* its queues were empty; -1 */
	int			 scaled;	/* in the scale under way: a new
						   slot not ready yet, or one
						   the scale retired */
};

struct generation {
	struct generation_env	 env;
	struct worker_ctx	 wctx;		/* each seat's starts as this */
	int			 number;
	enum generation_state	 state;
	struct config		*config;
	struct socket		**sockets;
	int			*fds;		/* what its workers get */
	int			*members;	/* steered: fds[i]'s index in
						   the group; -1: the held one */
	size_t			 nsockets;
	size_t			 nworkers;	/* slots */
	/* Every worker: seats[i] fills slot i, then successors, retiring. */
	struct generation_seat	**seats;
	size_t			 nseats;
	int			 seated;	/* every seat has members */
	int			 rolling;	/* slots start one at a time */
	int			 recycled;	/* workers replaced in place */
	long long		 connections_gone; /* by seats' closed members */
	struct generation_seat	*probing;	/* the last to probe */
	struct event		*deadline;	/* drain_timeout */
	struct event		*emptying;	/* waits for its queues */
	long long		 empty_since;	/* now() they were; -1: not */
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
	/*
	 * The warm-up after the canary (or after ready): its share rises
	 * from the canary's to the whole in steps, then it is active.
	 */
	long			 warmup;	/* ms; 0: none */
	int			 warm_beside;	/* the active generation */
	long long		 warm_began;	/* now() it began; -1: not */
	unsigned		 warm_from;	/* its share then */
	unsigned		 warm_share;	/* its share now */
	int			 warm_steered;	/* it has members: a share */
	struct event		*warm_step;	/* the next step, or its end */
	enum {
		SCALE_NONE,
		SCALE_UP,			/* new slots on their way up */
		SCALE_DOWN			/* retired slots draining */
	}			 scale;
	size_t			 scale_from;	/* slots before it */
	long long		 scale_began;	/* now() */
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
	struct generation_seat	*s = arg;
	struct generation	*g = s->g;

	/* The route made now singles it out, if it has sockets of its own. */
	g->probing = s;
	if (g->env.ops->probing != NULL)
		g->env.ops->probing(g, port, g->env.arg);
}

/*
 * Slot k changed hands, went down or serves again: the owner makes the
 * route anew (it lists only the slots that serve) and takes its next
 * rolling step. It touches no seat, so a worker's callback may call it.
 */
static void
generation_tell_slot(struct generation *g, int k)
{
	if (g->env.ops->slot != NULL)
		g->env.ops->slot(g, k, g->env.arg);
}

static void	generation_worker_probe_failed(struct worker *, void *);
static void	generation_begin_canary(struct generation *);
static void	generation_begin_warmup(struct generation *, const char *);
static void	generation_scale_ready(struct generation_seat *);
static void	generation_scale_fail(struct generation_seat *, const char *);
static void	generation_scale_end(struct generation *, const char *);

static const struct worker_ops generation_worker_ops = {
	generation_worker_ready,
	generation_worker_not_ready,
	generation_worker_exited,
	generation_worker_killed,
	generation_restart_worker,
	generation_worker_probing,
	generation_worker_probe_failed
};

/* A seat for slot, with a worker not started; not yet in g->seats. */
static struct generation_seat *
generation_seat_new(struct generation *g, int slot, enum seat_role role)
{
	struct generation_seat	*s;

	s = xcalloc(1, sizeof(*s));
	s->g = g;
	s->role = role;
	s->fds = g->fds;
	s->ctx = g->wctx;
	s->ctx.fds = s->fds;
	s->ctx.arg = s;
	s->w = worker_new(&s->ctx, slot);
	return s;
}

/* Its own members closed: their queues move to an active member. */
static void
generation_seat_unsteer(struct generation_seat *s)
{
	struct generation	*g = s->g;
	long long		 n;
	size_t			 i;

	if (s->members == NULL)
		return;
	for (i = 0; i < g->nsockets; i++) {
		if (s->members[i] == -1)
			continue;
		/* Counted still: the index may be someone else's next. */
		if ((n = socket_member_count(g->sockets[i],
		    s->members[i])) > 0)
			g->connections_gone += n;
		socket_member_free(g->sockets[i], s->members[i], s->fds[i]);
	}
	free(s->members);
	free(s->fds);
	s->members = NULL;
	s->fds = g->fds;
	s->ctx.fds = g->fds;
}

/* Arrays of its own, each socket as the generation's until it has one. */
static void
generation_seat_own(struct generation_seat *s)
{
	struct generation	*g = s->g;
	size_t			 i;

	s->members = xcalloc(g->nsockets, sizeof(*s->members));
	s->fds = xcalloc(g->nsockets, sizeof(*s->fds));
	s->ctx.fds = s->fds;
	for (i = 0; i < g->nsockets; i++) {
		s->members[i] = -1;
		s->fds[i] = g->fds[i];
	}
}

/*
 * A member of its own in each steered group, for a worker the route must
 * single out. Returns 0, or -1 with *error set (none made).
 */
static int
generation_seat_steer(struct generation_seat *s, char **error)
{
	struct generation	*g = s->g;
	size_t			 i;

	if (s->members != NULL)
		return 0;
	generation_seat_own(s);
	for (i = 0; i < g->nsockets; i++) {
		if (!socket_steered(g->sockets[i]))
			continue;
		if ((s->fds[i] = socket_member_new(g->sockets[i],
		    &s->members[i], error)) == -1) {
			s->fds[i] = g->fds[i];
			generation_seat_unsteer(s);
			return -1;
		}
	}
	return 0;
}

static void
generation_seat_free(struct generation_seat *s)
{
	if (s == NULL)
		return;
	if (s->g->probing == s)
		s->g->probing = NULL;
	worker_free(s->w);
	if (s->timer != NULL)
		event_free(s->timer);
	generation_seat_unsteer(s);
	free(s);
}

/* A generation of slots workers, not started. */
static struct generation *
generation_make(const struct generation_env *env, int number,
    struct config *c, struct socket **sockets, size_t slots)
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
	g->nworkers = g->nseats = slots;
	g->seats = xcalloc(g->nseats, sizeof(*g->seats));
	for (i = 0; i < g->nworkers; i++)
		g->seats[i] = generation_seat_new(g, (int)i, SEAT_SERVING);
	g->started = g->env.sys->now();
	g->drained = -1;
	g->warm_began = -1;
	return g;
}

struct generation *
generation_new(const struct generation_env *env, int number,
    struct config *c, struct socket **sockets)
{
	return generation_make(env, number, c, sockets, (size_t)c->workers);
}

struct generation *
generation_restore(const struct generation_env *env, int number,
    struct config *c, struct socket **sockets, long long started,
    size_t slots)
{
	struct generation	*g;
	size_t			 i;

	g = generation_make(env, number, c, sockets, slots);
	g->state = GENERATION_ACTIVE;
	g->started = started;
	/* Spawned by the image before: its workers are taken over next. */
	for (i = 0; i < g->nseats; i++)
		g->seats[i]->spawned = g->seats[i]->alive = 1;
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
	if (g->warm_step != NULL)
		event_free(g->warm_step);
	/* Before the sockets: a seat's own members are in their groups. */
	for (i = 0; i < g->nseats; i++)
		generation_seat_free(g->seats[i]);
	free(g->seats);
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

/*
 * Whether a worker's own nice values may go up with start_priority:
 * only where baton can take them back on readiness, which needs
 * CAP_SYS_NICE or RLIMIT_NICE (setpriority(2)); a worker left at low
 * priority would be worse than none. Its autogroup's nice needs no
 * privilege to go back to 0, and is applied anyway. Said once.
 */
static int
generation_start_own(const struct config *c)
{
	static int	 said;

	if (c->start_priority == 0)
		return 0;
	if (proc_can_renice(getpriority(PRIO_PROCESS, 0)))
		return 1;
	if (!said)
		log_at(LOG_LEVEL_WARN, "start_priority = %d: only the workers' "
		    "autogroups start lower; baton could not set their own "
		    "nice values back once ready (give it CAP_SYS_NICE or "
		    "raise RLIMIT_NICE)", c->start_priority);
	said = 1;
	return 0;
}

static int
generation_spawn(struct generation_seat *s)
{
	struct generation	*g = s->g;
	struct worker		*w = s->w;
	struct spawn_params	 sp;
	char			**argv;
	char			*error = NULL;
	int			 r, saved, out[2], err[2];

	/*
	 * Seated, a successor, or started beside serving workers to be
	 * probed (restarted, scaled up): sockets of its own, where steered,
	 * so that its probe reaches it and nobody else.
	 */
	if ((g->seated || s->role == SEAT_SUCCESSOR ||
	    (g->state == GENERATION_ACTIVE &&
	    g->config->ready == READY_PROBE)) &&
	    generation_seat_steer(s, &error) == -1) {
		log_worker(LOG_LEVEL_ERROR, g->number, worker_slot(w), 0,
		    "cannot start: %s", error);
		free(error);
		return -1;
	}
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
	sp.fds = s->fds;
	sp.nfds = (int)g->nsockets;
	sp.generation = g->number;
	sp.worker = worker_slot(w);
	sp.drain_signal = g->config->drain_signal;
	sp.notify_socket = g->env.notify_path;
	sp.out_fd = out[1];
	sp.err_fd = err[1];
	sp.start_priority = g->config->start_priority;
	sp.start_own = generation_start_own(g->config);
	r = worker_start(w, &sp);
	saved = errno;
	if (r == 0) {
		s->spawned = s->alive = 1;
		/* Drawn now: slots started together recycle apart. */
		s->jitter = g->config->max_age >= 10 ?
		    random() % (g->config->max_age / 10 + 1) : 0;
	}
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
	int	 steers;

	/* A warm-up steers where the kernel can, and does without elsewhere. */
	steers = config_steers(g->config) || (g->config->warmup > 0 &&
	    steer_supported(NULL) == 0);
	for (i = 0; i < g->nsockets; i++) {
		if (steers && socket_steer(g->sockets[i], error) == -1)
			return -1;
		if (!socket_steered(g->sockets[i]))
			continue;
		/* One member per slot instead, made as each starts. */
		if (g->rolling && steers) {
			g->seated = 1;
			continue;
		}
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

	g->rolling = g->config->rollout == ROLLOUT_ROLLING &&
	    g->nworkers > 1;
	log_info("generation %d: starting %zu worker%s%s", g->number,
	    g->nworkers, g->nworkers == 1 ? "" : "s", g->rolling ?
	    ", one slot at a time (rollout = rolling)" : "");
	if (generation_steer(g, &error) == -1) {
		generation_roll_back(g, error);
		free(error);
		return -1;
	}
	/* Rolling: the next slot starts when the supervisor says. */
	for (i = 0; i < (g->rolling ? 1 : g->nworkers); i++) {
		if (generation_spawn(g->seats[i]) == -1) {
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

	for (i = 0; i < g->nseats; i++)
		if (worker_alive(g->seats[i]->w))
			return 1;
	return 0;
}

static void
generation_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct generation	*g = arg;
	struct worker		*w;
	size_t			 i;

	for (i = 0; i < g->nseats; i++) {
		w = g->seats[i]->w;
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

/*
 * Connections waiting in the queues of its own steered sockets; -1 when
 * it has none (a shared socket: nothing to wait for).
 */
static int
generation_queued(const struct generation *g)
{
	size_t	 i, j;
	int	 n = -1, q;

	for (i = 0; i < g->nsockets; i++)
		if (g->members[i] != -1 && (q = steer_queued(g->fds[i])) >= 0)
			n = (n < 0 ? 0 : n) + q;
	for (j = 0; j < g->nseats; j++)
		for (i = 0; g->seats[j]->members != NULL && i < g->nsockets;
		    i++)
			if (g->seats[j]->members[i] != -1 &&
			    (q = steer_queued(g->seats[j]->fds[i])) >= 0)
				n = (n < 0 ? 0 : n) + q;
	return n;
}

/*
 * Whether a drain signal may go: its queues have stayed empty for
 * DRAIN_QUIET ms (a worker that accepted the last connection has had
 * time to take it up: a prefork child that exits on the signal until it
 * marks itself busy would drop it), or a second passed since *since.
 */
#define DRAIN_QUIET	50	/* ms */
static int
generation_quiet(int queued, long long now, long long since,
    long long *empty_since)
{
	if (queued > 0)
		*empty_since = -1;
	else if (*empty_since < 0)
		*empty_since = now;
	return now - since >= 1000 ||
	    (queued <= 0 && now - *empty_since >= DRAIN_QUIET);
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
	if (!generation_quiet(q, g->env.sys->now(), g->stopped,
	    &g->empty_since)) {
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
	size_t	 i;

	generation_set_state(g, state);
	g->stopped = g->env.sys->now();
	/* New slots not ready yet drain with the rest: that scale failed. */
	if (g->scale == SCALE_UP)
		generation_scale_end(g, "the generation drains");
	/* Nobody accepts on the sockets of a dead worker: hand them on now. */
	for (i = 0; i < g->nseats; i++)
		if (!worker_alive(g->seats[i]->w))
			generation_seat_unsteer(g->seats[i]);
	if (generation_queued(g) >= 0) {
		if (g->emptying == NULL && (g->emptying = evtimer_new(
		    g->env.base, generation_empty, g)) == NULL)
			fatal(70, "evtimer_new failed");
		g->empty_since = -1;
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
	for (i = 0; i < g->nseats; i++)
		worker_drain(g->seats[i]->w, g->config->drain_signal);
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
	if (g->warm_step != NULL)
		evtimer_del(g->warm_step);
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

	for (i = 0; i < g->nseats; i++)
		worker_kill(g->seats[i]->w);
}

struct worker *
generation_find_pid(struct generation *g, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < g->nseats; i++)
		if (worker_owns(g->seats[i]->w, pid))
			return g->seats[i]->w;
	return NULL;
}

/* A draining generation none of whose processes lives is gone. */
static void
generation_check_gone(struct generation *g)
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

/*
 * After the reaper: a seat whose last process went frees its slot (told
 * to the owner, which may start another worker there); a retired
 * successor's or replaced worker's seat goes. Not from a worker's own
 * callback, which still runs in the worker.
 */
static void
generation_sweep(struct generation *g)
{
	struct generation_seat	*s;
	size_t			 i, j;
	int			 freed[CONFIG_MAX_WORKERS + 1], nfreed = 0, k;

	for (i = j = 0; i < g->nseats; i++) {
		s = g->seats[i];
		if (s->alive && !worker_alive(s->w)) {
			s->alive = 0;
			if (s->timer != NULL)
				evtimer_del(s->timer);
			if (s->role == SEAT_RETIRING) {
				generation_seat_unsteer(s);
				if (nfreed <= CONFIG_MAX_WORKERS)
					freed[nfreed++] = worker_slot(s->w);
			} else if (g->state != GENERATION_ACTIVE &&
			    g->state != GENERATION_STARTING &&
			    nfreed <= CONFIG_MAX_WORKERS)
				freed[nfreed++] = worker_slot(s->w);
		}
		if (i >= g->nworkers && s->role == SEAT_RETIRING &&
		    !worker_alive(s->w)) {
			generation_seat_free(s);
			continue;
		}
		g->seats[j++] = s;
	}
	g->nseats = j;
	for (k = 0; k < nfreed; k++)
		generation_tell_slot(g, freed[k]);
	if (g->scale != SCALE_DOWN)
		return;
	/* A scale down is done once what it retired is gone. */
	for (i = 0; i < g->nseats && !g->seats[i]->scaled; i++)
		;
	if (i == g->nseats) {
		log_info("generation %d: scaled down to %zu worker%s in %lld "
		    "ms", g->number, g->nworkers, g->nworkers == 1 ? "" : "s",
		    g->env.sys->now() - g->scale_began);
		generation_scale_end(g, NULL);
	}
}

void
generation_recheck(struct generation *g)
{
	generation_sweep(g);
	generation_check_gone(g);
}

/*
 * Retiring, one step at a time: first nothing comes its way (the owner
 * routed the slot elsewhere), then what its own sockets queued is
 * accepted (a second at most, as for a whole generation), then the
 * drain signal, then at drain_timeout SIGKILL.
 */
static void
generation_seat_step(evutil_socket_t fd, short what, void *arg)
{
	struct generation_seat	*s = arg;
	struct generation	*g = s->g;
	struct timeval		 tv = { 0, 10 * 1000 };
	size_t			 i;
	int			 q = 0, n;

	if (!worker_alive(s->w))
		return;
	if (s->signalled) {
		log_worker(LOG_LEVEL_WARN, g->number, worker_slot(s->w),
		    worker_pid(s->w), "still running at the drain deadline "
		    "(%ld ms): SIGKILL; its unfinished work was lost",
		    g->config->drain_timeout);
		worker_kill(s->w);
		g->killed++;
		g->env.ops->killed(g, g->env.arg);
		return;
	}
	for (i = 0; s->members != NULL && i < g->nsockets; i++)
		if (s->members[i] != -1 && (n = steer_queued(s->fds[i])) > 0)
			q += n;
	if (s->members != NULL && !generation_quiet(q, g->env.sys->now(),
	    s->stopped, &s->empty_since)) {
		evtimer_add(s->timer, &tv);
		return;
	}
	s->signalled = 1;
	worker_drain(s->w, g->config->drain_signal);
	tv = clock_tv(g->config->drain_timeout);
	evtimer_add(s->timer, &tv);
}

/* It serves no more: it drains, and is never restarted. */
static void
generation_seat_retire(struct generation_seat *s)
{
	struct generation	*g = s->g;

	s->role = SEAT_RETIRING;
	s->stopped = g->env.sys->now();
	s->empty_since = -1;
	s->signalled = 0;
	/* Cancels a restart that was due. */
	if (!worker_alive(s->w)) {
		worker_drain(s->w, g->config->drain_signal);
		return;
	}
	if (s->timer == NULL && (s->timer = evtimer_new(g->env.base,
	    generation_seat_step, s)) == NULL)
		fatal(70, "evtimer_new failed");
	generation_seat_step(-1, 0, s);
}

/* The successor is ready: it takes the slot, and the one it replaces drains. */
static void
generation_seat_takeover(struct generation_seat *s)
{
	struct generation	*g = s->g;
	struct generation_seat	*old;
	size_t			 i;
	int			 k = worker_slot(s->w);

	for (i = g->nworkers; i < g->nseats && g->seats[i] != s; i++)
		;
	old = g->seats[k];
	g->seats[k] = s;
	g->seats[i] = old;
	s->role = SEAT_SERVING;
	worker_activate(s->w);
	g->recycled++;
	log_worker(LOG_LEVEL_INFO, g->number, k, worker_pid(s->w),
	    "recycled: serves slot %d in place of pid %ld, which drains", k,
	    (long)worker_pid(old->w));
	/* Routed away first, then drained. */
	generation_tell_slot(g, k);
	generation_seat_retire(old);
}

/* The successor failed: the worker it was to replace serves on. */
static void
generation_seat_abandon(struct generation_seat *s, const char *why)
{
	struct generation	*g = s->g;

	log_worker(LOG_LEVEL_WARN, g->number, worker_slot(s->w),
	    worker_pid(s->w), "recycling stopped: the successor %s; pid %ld "
	    "serves on", why, (long)worker_pid(g->seats[worker_slot(s->w)]->w));
	generation_seat_retire(s);
	worker_kill(s->w);
}

static void
generation_worker_ready(struct worker *w, void *arg)
{
	struct generation_seat	*s = arg;
	struct generation	*g = s->g;
	enum worker_state	 ws;
	size_t	 i;

	if (s->role == SEAT_SUCCESSOR) {
		if (g->state == GENERATION_ACTIVE)
			generation_seat_takeover(s);
		return;
	}
	if (s->role != SEAT_SERVING)
		return;
	if (g->state == GENERATION_ACTIVE) {
		worker_activate(w);	/* a restarted worker, or a new slot */
		if (s->scaled)
			generation_scale_ready(s);
		else
			generation_tell_slot(g, worker_slot(w));
		return;
	}
	if (g->state != GENERATION_STARTING)
		return;
	for (i = 0; i < g->nworkers; i++) {
		ws = worker_state(g->seats[i]->w);
		if (ws != WORKER_READY && (!g->rolling || ws != WORKER_ACTIVE))
			break;
	}
	if (i < g->nworkers) {
		if (!g->rolling)
			return;
		/* Rolling: this slot serves now; the owner moves on. */
		worker_activate(w);
		log_info("generation %d: slot %d serving, %lld ms after the "
		    "generation started", g->number, worker_slot(w),
		    g->env.sys->now() - g->started);
		generation_tell_slot(g, worker_slot(w));
		return;
	}
	if (g->canary > 0) {
		generation_begin_canary(g);
		return;
	}
	if (g->warmup > 0) {
		generation_begin_warmup(g, NULL);
		return;
	}
	for (i = 0; i < g->nworkers; i++)
		worker_activate(g->seats[i]->w);
	log_info("generation %d: active after %lld ms", g->number,
	    g->env.sys->now() - g->started);
	generation_set_state(g, GENERATION_ACTIVE);
}

static void
generation_worker_probe_failed(struct worker *w, void *arg)
{
	struct generation_seat	*s = arg;
	struct generation	*g = s->g;
	char			*why;

	why = xprintf("worker %d's probe failed %d time%s in a row during the "
	    "%s: %s", worker_slot(w), worker_probe_fails(w),
	    worker_probe_fails(w) == 1 ? "" : "s", g->warm_began != -1 ?
	    "warm-up" : "canary", worker_probe_failure(w));
	generation_roll_back(g, why);
	free(why);
}

static void
generation_worker_not_ready(struct worker *w, void *arg)
{
	struct generation_seat	*s = arg;
	struct generation	*g = s->g;
	char			*why;

	if (s->role == SEAT_SUCCESSOR) {
		why = xprintf("was not ready after %ld ms%s%s",
		    g->config->ready_timeout, worker_probe_failure(w) != NULL ?
		    "; the probe: " : "", worker_probe_failure(w) != NULL ?
		    worker_probe_failure(w) : "");
		generation_seat_abandon(s, why);
		free(why);
		return;
	}
	/* Starting, or a new slot of a scale up: it fails them. */
	if (s->role == SEAT_SERVING && (g->state == GENERATION_STARTING ||
	    (s->scaled && g->state == GENERATION_ACTIVE))) {
		if (worker_probe_failure(w) != NULL)
			why = xprintf("worker %d not ready after %ld ms (the "
			    "probe: %s)", worker_slot(w),
			    g->config->ready_timeout, worker_probe_failure(w));
		else
			why = xprintf("worker %d not ready after %ld ms",
			    worker_slot(w), g->config->ready_timeout);
		if (g->state == GENERATION_STARTING)
			generation_roll_back(g, why);
		else
			generation_scale_fail(s, why);
		free(why);
		return;
	}
	/* A restarted worker that hangs: kill it, and backoff restarts it. */
	worker_kill(w);
}

static void
generation_worker_exited(struct worker *w, void *arg)
{
	struct generation_seat	*s = arg;
	struct generation	*g = s->g;
	char			*why;

	/* A clean exit is no crash, even one that leaves processes behind. */
	if (worker_exit_kind(w) == WORKER_EXIT_CRASHED &&
	    s->role != SEAT_RETIRING &&
	    (g->state == GENERATION_STARTING || g->state == GENERATION_CANARY ||
	    g->state == GENERATION_ACTIVE))
		g->env.ops->crashed(g, g->env.arg);
	if (s->role == SEAT_SUCCESSOR) {
		why = xprintf("%s before it was ready", worker_exit_reason(w));
		generation_seat_abandon(s, why);
		free(why);
		return;
	}
	if (s->role == SEAT_RETIRING) {
		generation_check_gone(g);
		return;
	}
	switch (g->state) {
	case GENERATION_STARTING:
	case GENERATION_CANARY:
		/* On trial, any exit fails it too: no restart hides a crash. */
		why = xprintf("worker %d %s %s", worker_slot(w),
		    worker_exit_reason(w), g->warm_began != -1 ?
		    "during the warm-up" : g->state == GENERATION_CANARY ?
		    "during the canary" : g->rolling ? "during the rollout" :
		    "before it was ready");
		generation_roll_back(g, why);
		free(why);
		break;
	case GENERATION_ACTIVE:
		/* A new slot proves itself first: no restart hides that. */
		if (s->scaled) {
			why = xprintf("worker %d %s before it was ready",
			    worker_slot(w), worker_exit_reason(w));
			generation_scale_fail(s, why);
			free(why);
			break;
		}
		worker_restart_later(w);
		/* New connections to the slots that serve until it is back. */
		generation_tell_slot(g, worker_slot(w));
		break;
	case GENERATION_DRAINING:
	case GENERATION_ROLLED_BACK:
		generation_check_gone(g);
		break;
	case GENERATION_GONE:
		break;
	}
}

static void
generation_worker_killed(struct worker *w, void *arg)
{
	struct generation	*g = ((struct generation_seat *)arg)->g;

	g->killed++;
	g->env.ops->killed(g, g->env.arg);
}

static void
generation_restart_worker(struct worker *w, void *arg)
{
	struct generation_seat	*s = arg;

	if (s->g->state != GENERATION_ACTIVE || s->role != SEAT_SERVING)
		return;
	if (generation_spawn(s) == -1)
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
	return i < g->nseats ? g->seats[i]->w : NULL;
}

size_t
generation_nworkers(const struct generation *g)
{
	return g->nseats;
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

/*
 * Its own member's count on each steered socket (the held socket's, if
 * its workers accept there), unless seated; and those of its seats'
 * members, open and closed.
 */
long long
generation_connections(const struct generation *g)
{
	const struct generation_seat	*s;
	long long			 n, sum = -1;
	size_t				 i, k;

	for (i = 0; i < g->nsockets; i++) {
		if (!socket_steered(g->sockets[i]))
			continue;
		sum = (sum < 0 ? 0 : sum);
		if (!g->seated && (n = socket_member_count(g->sockets[i],
		    g->members[i])) > 0)
			sum += n;
		for (k = 0; k < g->nseats; k++) {
			s = g->seats[k];
			if (s->members != NULL && s->members[i] != -1 &&
			    (n = socket_member_count(g->sockets[i],
			    s->members[i])) > 0)
				sum += n;
		}
	}
	return sum < 0 ? sum : sum + g->connections_gone;
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
generation_slot_member(const struct generation *g, size_t slot, size_t i,
    int *index)
{
	const struct generation_seat	*s;

	if (slot >= g->nworkers || i >= g->nsockets)
		return -1;
	s = g->seats[slot];
	if (s->members == NULL || s->members[i] == -1)
		return -1;
	*index = s->members[i];
	return s->fds[i];
}

int
generation_restore_slot_member(struct generation *g, size_t slot, size_t i,
    int index, int fd)
{
	struct generation_seat	*s;
	char			*error = NULL;

	if (slot >= g->nworkers || i >= g->nsockets ||
	    (g->seats[slot]->members != NULL &&
	    g->seats[slot]->members[i] != -1)) {
		log_error("generation %d: worker %zu: no such slot or socket, "
		    "or a member already", g->number, slot);
		close(fd);
		return -1;
	}
	if (socket_member_restore(g->sockets[i], index, fd, &error) == -1) {
		log_error("generation %d: worker %zu: %s", g->number, slot,
		    error);
		free(error);
		close(fd);
		return -1;
	}
	s = g->seats[slot];
	if (s->members == NULL)
		generation_seat_own(s);
	s->members[i] = index;
	s->fds[i] = fd;
	return 0;
}

int
generation_seated(const struct generation *g)
{
	return g->seated;
}

void
generation_restore_seated(struct generation *g)
{
	g->seated = 1;
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
	return i < g->nsockets && g->members[i] == -1 && !g->seated;
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
		worker_trial(g->seats[i]->w);
	generation_set_state(g, GENERATION_CANARY);
}

int
generation_promote(struct generation *g, const char *why)
{
	size_t	 i;

	if (g->state != GENERATION_CANARY)
		return -1;
	/* None when the warm-up came without a canary. */
	if (g->canary_end != NULL)
		evtimer_del(g->canary_end);
	/* The canary passed: the warm-up follows, from its share. */
	if (g->warmup > 0 && g->warm_began == -1) {
		generation_begin_warmup(g, why);
		return 1;
	}
	if (g->warm_step != NULL)
		evtimer_del(g->warm_step);
	for (i = 0; i < g->nworkers; i++)
		worker_activate(g->seats[i]->w);
	log_info("generation %d: active after %lld ms (promoted: %s, after "
	    "%lld ms %s)", g->number, g->env.sys->now() - g->started, why,
	    g->env.sys->now() - (g->warm_began != -1 ? g->warm_began :
	    g->canary_began), g->warm_began != -1 ? "warming up" :
	    "in its canary");
	generation_set_state(g, GENERATION_ACTIVE);
	return 0;
}

void
generation_warmup(struct generation *g, long ms, int beside)
{
	if (g->state == GENERATION_STARTING) {
		g->warmup = ms;
		g->warm_beside = beside;
	}
}

/* The warm-up's next step, t ms into it: at most its end. */
static void
generation_warm_next(struct generation *g, long long t)
{
	struct timeval	 tv;
	long		 step;

	step = g->warmup / GENERATION_WARM_STEPS;
	if (step < GENERATION_WARM_STEP_MIN)
		step = GENERATION_WARM_STEP_MIN;
	if (!g->warm_steered || step > g->warmup - t)
		step = (long)(g->warmup - t);
	tv = clock_tv(step);
	evtimer_add(g->warm_step, &tv);
}

/* A step of the warm-up: a larger share, or at its end, active. */
static void
generation_warm_step(evutil_socket_t fd, short what, void *arg)
{
	struct generation	*g = arg;
	long long		 t;
	size_t			 i;

	t = g->env.sys->now() - g->warm_began;
	if (t < g->warmup) {
		g->warm_share = g->warm_from + (unsigned)((long long)
		    (CONFIG_CANARY_WHOLE - g->warm_from) * t / g->warmup);
		generation_warm_next(g, t);
		/* No change of state: the owner routes the share anew. */
		g->env.ops->changed(g, g->env.arg);
		return;
	}
	for (i = 0; i < g->nworkers; i++)
		worker_activate(g->seats[i]->w);
	log_info("generation %d: active after %lld ms (warmed up over %ld "
	    "ms)", g->number, g->env.sys->now() - g->started, g->warmup);
	generation_set_state(g, GENERATION_ACTIVE);
}

/*
 * Every worker ready, its canary (if any) passed (why): on trial still,
 * its share rises. Where none of its sockets is steered there is no
 * share to raise: the active generation accepts beside it until the end.
 */
static void
generation_begin_warmup(struct generation *g, const char *why)
{
	size_t		 i;

	if (g->warm_step == NULL && (g->warm_step = evtimer_new(g->env.base,
	    generation_warm_step, g)) == NULL)
		fatal(70, "evtimer_new failed");
	g->warm_began = g->env.sys->now();
	g->warm_from = g->canary > 0 ? g->canary : GENERATION_WARM_FROM;
	g->warm_share = g->warm_from;
	g->warm_steered = 0;
	for (i = 0; i < g->nsockets; i++)
		if (g->members[i] != -1)
			g->warm_steered = 1;
	if (g->warm_steered) {
		log_info("generation %d: warming up after %lld ms%s%s%s: "
		    "%u.%02u%% of new connections, to 100%% over %ld ms",
		    g->number, g->warm_began - g->started, why != NULL ?
		    " (" : "", why != NULL ? why : "", why != NULL ? ")" : "",
		    g->warm_from / 100, g->warm_from % 100, g->warmup);
	} else
		log_info("generation %d: warming up for %ld ms beside "
		    "generation %d (no steering here: both accept)", g->number,
		    g->warmup, g->warm_beside);
	generation_warm_next(g, 0);
	for (i = 0; i < g->nworkers; i++)
		worker_trial(g->seats[i]->w);
	if (g->state != GENERATION_CANARY)
		generation_set_state(g, GENERATION_CANARY);
}

unsigned
generation_canary_share(const struct generation *g)
{
	if (g->state != GENERATION_CANARY)
		return 0;
	if (g->warm_began != -1)
		return g->warm_steered ? g->warm_share : 0;
	return g->canary;
}

/* The ms left of a period of ms that began at began; 0 once over. */
static long long
generation_left(const struct generation *g, long long began, long ms)
{
	long long	 left = began + ms - g->env.sys->now();

	return left > 0 ? left : 0;
}

long long
generation_canary_left(const struct generation *g)
{
	if (g->state != GENERATION_CANARY || g->warm_began != -1)
		return -1;
	return generation_left(g, g->canary_began, g->canary_time);
}

long long
generation_warmup_left(const struct generation *g)
{
	if (g->state != GENERATION_CANARY || g->warm_began == -1)
		return -1;
	return generation_left(g, g->warm_began, g->warmup);
}

size_t
generation_slots(const struct generation *g)
{
	return g->nworkers;
}

const char *
generation_worker_role(const struct generation *g, size_t i)
{
	if (i >= g->nseats)
		return NULL;
	/* A rolling generation's slot the rollout has not reached yet. */
	if (!g->seats[i]->spawned && g->seats[i]->role == SEAT_SERVING)
		return "waiting";
	return seat_role_names[g->seats[i]->role];
}

int
generation_recycled(const struct generation *g)
{
	return g->recycled;
}

int
generation_rolling(const struct generation *g)
{
	return g->rolling;
}

/* The seat that fills slot k now, or NULL. */
static struct generation_seat *
generation_slot_seat(const struct generation *g, int k)
{
	return k >= 0 && (size_t)k < g->nworkers ? g->seats[k] : NULL;
}

enum generation_slot
generation_slot(const struct generation *g, int k)
{
	struct generation_seat	*s;
	enum worker_state	 ws;

	if ((s = generation_slot_seat(g, k)) == NULL)
		return SLOT_NONE;
	if (s->role == SEAT_RETIRING)
		return worker_alive(s->w) ? SLOT_RETIRING : SLOT_RETIRED;
	if (!s->spawned)
		return SLOT_WAITING;
	ws = worker_state(s->w);
	if (ws == WORKER_ACTIVE)
		return SLOT_SERVING;
	return ws == WORKER_STARTING || ws == WORKER_READY ? SLOT_STARTING :
	    SLOT_DOWN;
}

int
generation_slot_alive(const struct generation *g, int k)
{
	size_t	 i;

	for (i = 0; i < g->nseats; i++)
		if (worker_slot(g->seats[i]->w) == k &&
		    worker_alive(g->seats[i]->w))
			return 1;
	return 0;
}

int
generation_start_next(struct generation *g)
{
	size_t	 i;

	if (g->state != GENERATION_STARTING)
		return 0;
	for (i = 0; i < g->nworkers && g->seats[i]->spawned; i++)
		;
	if (i == g->nworkers)
		return 0;
	log_info("generation %d: starting slot %zu of %zu", g->number, i,
	    g->nworkers);
	if (generation_spawn(g->seats[i]) == -1) {
		generation_roll_back(g, "a worker could not be started");
		return -1;
	}
	return 1;
}

void
generation_retire(struct generation *g, int k)
{
	struct generation_seat	*s;

	if ((s = generation_slot_seat(g, k)) == NULL ||
	    s->role != SEAT_SERVING)
		return;
	log_worker(LOG_LEVEL_INFO, g->number, k, worker_pid(s->w),
	    "handing its slot over: it drains");
	generation_seat_retire(s);
}

int
generation_put_back(struct generation *g, int k)
{
	struct generation_seat	*s;

	if ((s = generation_slot_seat(g, k)) == NULL ||
	    s->role != SEAT_RETIRING || worker_alive(s->w) ||
	    g->state != GENERATION_ACTIVE)
		return -1;
	s->role = SEAT_SERVING;
	log_worker(LOG_LEVEL_INFO, g->number, k, 0, "put back: starting "
	    "again from generation %d's configuration", g->number);
	if (generation_spawn(s) == -1)
		worker_restart_later(s->w);
	return 0;
}

int
generation_recycle(struct generation *g, int k, const char *why)
{
	struct generation_seat	*s;
	size_t			 i;

	if (g->state != GENERATION_ACTIVE ||
	    generation_slot(g, k) != SLOT_SERVING) {
		errno = EINVAL;
		return -1;
	}
	for (i = g->nworkers; i < g->nseats; i++)
		if (g->seats[i]->role == SEAT_SUCCESSOR) {
			errno = EBUSY;
			return -1;
		}
	log_worker(LOG_LEVEL_INFO, g->number, k, worker_pid(g->seats[k]->w),
	    "recycling: %s; its successor starts, and it drains once that "
	    "is ready", why);
	s = generation_seat_new(g, k, SEAT_SUCCESSOR);
	g->seats = xreallocarray(g->seats, g->nseats + 1, sizeof(*g->seats));
	g->seats[g->nseats++] = s;
	if (generation_spawn(s) == -1) {
		g->nseats--;
		generation_seat_free(s);
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

void
generation_recycle_cancel(struct generation *g)
{
	size_t	 i;

	for (i = g->nworkers; i < g->nseats; i++)
		if (g->seats[i]->role == SEAT_SUCCESSOR)
			generation_seat_abandon(g->seats[i],
			    "gave way to a reload");
}

/*
 * Slots n and above leave: routed away first, then their workers retire
 * as an old generation's drain. Their seats go after the others; mark:
 * they belong to the scale under way, which waits for them to be gone.
 */
static void
generation_drop_slots(struct generation *g, size_t n, int mark,
    const char *why)
{
	struct generation_seat	**gone;
	size_t			  i, k = g->nworkers - n;
	size_t			  extra = g->nseats - g->nworkers;

	gone = xcalloc(k, sizeof(*gone));
	memcpy(gone, g->seats + n, k * sizeof(*gone));
	memmove(g->seats + n, g->seats + g->nworkers,
	    extra * sizeof(*g->seats));
	memcpy(g->seats + n + extra, gone, k * sizeof(*gone));
	g->nworkers = n;
	for (i = 0; i < k; i++)
		generation_tell_slot(g, worker_slot(gone[i]->w));
	for (i = 0; i < k; i++) {
		gone[i]->scaled = mark;
		if (worker_alive(gone[i]->w))
			log_worker(LOG_LEVEL_INFO, g->number,
			    worker_slot(gone[i]->w), worker_pid(gone[i]->w),
			    "%s: it drains", why);
		generation_seat_retire(gone[i]);
	}
	free(gone);
}

/* Spawn a new slot's worker; its route changes (a candidate for probes). */
static int
generation_scale_spawn(struct generation_seat *s)
{
	if (generation_spawn(s) == -1)
		return -1;
	generation_tell_slot(s->g, worker_slot(s->w));
	return 0;
}

/* The scale under way is over: the owner hears how (why: it failed). */
static void
generation_scale_end(struct generation *g, const char *why)
{
	size_t	 i;

	g->scale = SCALE_NONE;
	for (i = 0; i < g->nseats; i++)
		g->seats[i]->scaled = 0;
	if (g->env.ops->scaled != NULL)
		g->env.ops->scaled(g, why, g->env.arg);
}

/*
 * A new slot exited, hung, or could not start: all or nothing, as for a
 * reload, so every new slot goes again (the ready ones drain) and the
 * generation keeps the count it had.
 */
static void
generation_scale_fail(struct generation_seat *s, const char *why)
{
	struct generation	*g = s->g;

	log_error("generation %d: scale up to %zu workers undone: %s; it "
	    "keeps %zu", g->number, g->nworkers, why, g->scale_from);
	generation_drop_slots(g, g->scale_from, 0, "scale up undone");
	worker_kill(s->w);
	generation_scale_end(g, why);
}

/* A new slot serves: the next one starts (rolling), or the scale is done. */
static void
generation_scale_ready(struct generation_seat *s)
{
	struct generation	*g = s->g;
	size_t			 i;

	s->scaled = 0;
	log_worker(LOG_LEVEL_INFO, g->number, worker_slot(s->w),
	    worker_pid(s->w), "new slot serving");
	generation_tell_slot(g, worker_slot(s->w));
	for (i = 0; i < g->nworkers && !g->seats[i]->scaled; i++)
		;
	if (i < g->nworkers) {
		if (!g->seats[i]->spawned &&
		    generation_scale_spawn(g->seats[i]) == -1)
			generation_scale_fail(g->seats[i],
			    "a worker could not be started");
		return;
	}
	log_info("generation %d: scaled up to %zu workers in %lld ms",
	    g->number, g->nworkers, g->env.sys->now() - g->scale_began);
	generation_scale_end(g, NULL);
}

int
generation_scale(struct generation *g, size_t n)
{
	size_t	 i, from = g->nworkers, extra = g->nseats - g->nworkers;

	if (g->state != GENERATION_ACTIVE || n < 1 ||
	    n > CONFIG_MAX_WORKERS) {
		errno = EINVAL;
		return -1;
	}
	if (g->scale != SCALE_NONE) {
		errno = EBUSY;
		return -1;
	}
	if (n == from)
		return 0;
	/* A successor under way may stand in a slot that goes. */
	generation_recycle_cancel(g);
	g->scale_from = from;
	g->scale_began = g->env.sys->now();
	if (n < from) {
		if (from - n == 1)
			log_info("generation %d: scaling down from %zu to %zu "
			    "worker%s: slot %zu drains", g->number, from, n,
			    n == 1 ? "" : "s", n);
		else
			log_info("generation %d: scaling down from %zu to %zu "
			    "worker%s: slots %zu to %zu drain", g->number, from,
			    n, n == 1 ? "" : "s", n, from - 1);
		g->scale = SCALE_DOWN;
		generation_drop_slots(g, n, 1, "scaled down");
		/* Those with no process left go now, and may end it. */
		generation_sweep(g);
		return 1;
	}
	log_info("generation %d: scaling up from %zu to %zu workers%s",
	    g->number, from, n, g->rolling ? ", one new slot at a time "
	    "(rollout = rolling)" : "");
	g->scale = SCALE_UP;
	g->seats = xreallocarray(g->seats, g->nseats + n - from,
	    sizeof(*g->seats));
	memmove(g->seats + n, g->seats + from, extra * sizeof(*g->seats));
	for (i = from; i < n; i++) {
		g->seats[i] = generation_seat_new(g, (int)i, SEAT_SERVING);
		g->seats[i]->scaled = 1;
	}
	g->nseats += n - from;
	g->nworkers = n;
	for (i = from; i < (g->rolling ? from + 1 : n); i++) {
		if (generation_scale_spawn(g->seats[i]) == -1) {
			log_error("generation %d: scale up undone: a worker "
			    "could not be started; it keeps %zu", g->number,
			    from);
			generation_drop_slots(g, from, 0, "scale up undone");
			g->scale = SCALE_NONE;
			generation_sweep(g);
			errno = EAGAIN;
			return -1;
		}
	}
	return 1;
}

int
generation_scaling(const struct generation *g)
{
	return g->scale == SCALE_UP ? 1 : g->scale == SCALE_DOWN ? -1 : 0;
}

/* Mebibytes, for the log. */
#define GENERATION_MIB(b)	((b) / (1024 * 1024))

int
generation_recycle_due(struct generation *g)
{
	const struct config	*c = g->config;
	struct generation_seat	*s;
	long long		 age, rss;
	char			*why;
	size_t			 i;
	int			 r;

	if ((c->max_age <= 0 && c->max_memory <= 0) || g->scale != SCALE_NONE)
		return 0;
	for (i = 0; i < g->nworkers; i++) {
		s = g->seats[i];
		if (generation_slot(g, (int)i) != SLOT_SERVING)
			continue;
		why = NULL;
		age = g->env.sys->now() - worker_started(s->w);
		if (c->max_age > 0 && age >= c->max_age + s->jitter)
			why = xprintf("age %lld s over max_age %ld s (plus "
			    "%ld ms drawn at its start)", age / 1000,
			    c->max_age / 1000, s->jitter);
		else if (c->max_memory > 0 &&
		    (rss = worker_memory(s->w)) > c->max_memory)
			why = xprintf("RSS %lld MiB over max_memory %lld MiB",
			    GENERATION_MIB(rss), GENERATION_MIB(c->max_memory));
		if (why == NULL)
			continue;
		r = generation_recycle(g, (int)i, why);
		if (r == -1 && errno != EBUSY)
			log_worker(LOG_LEVEL_ERROR, g->number, (int)i,
			    worker_pid(s->w), "recycling: cannot start a "
			    "successor; it serves on");
		free(why);
		return r == 0;
	}
	return 0;
}

/* Where seat s's worker accepts socket i: a member index, or -1. */
static int
generation_seat_member(struct generation *g, struct generation_seat *s,
    size_t i)
{
	if (s->members != NULL)
		return s->members[i];
	return g->seated ? -1 : generation_member(g, i);
}

size_t
generation_route(struct generation *g, size_t i, int users,
    unsigned *active, size_t max, int *candidate)
{
	struct generation_seat	*s;
	enum generation_slot	 st;
	size_t			 k, n = 0, pass;
	int			 m;

	*candidate = -1;
	if (i >= g->nsockets || !socket_steered(g->sockets[i]))
		return 0;
	/*
	 * A worker starting beside others: probes reach it alone; of
	 * several, the one about to probe.
	 */
	for (k = 0; k < g->nseats; k++) {
		s = g->seats[k];
		if (!worker_alive(s->w) || (worker_state(s->w) !=
		    WORKER_STARTING && worker_state(s->w) != WORKER_READY))
			continue;
		if ((s->role == SEAT_SUCCESSOR || (s->role == SEAT_SERVING &&
		    (g->rolling || (g->state == GENERATION_ACTIVE &&
		    s->members != NULL)))) && (*candidate == -1 ||
		    s == g->probing))
			*candidate = generation_seat_member(g, s, i);
	}
	if (*candidate == -1 && g->state == GENERATION_STARTING &&
	    !g->seated)
		*candidate = generation_member(g, i);
	/*
	 * Users: each slot that serves, once (its own member, or the
	 * generation's, repeated so that the spread stays even). With users
	 * (nothing else serves), every slot started, serving or not, so
	 * that the first connections wait in a queue rather than be refused.
	 */
	for (pass = 0; pass < 2 && n == 0; pass++) {
		for (k = 0; k < g->nworkers && n < max; k++) {
			s = g->seats[k];
			st = generation_slot(g, (int)k);
			if (st == SLOT_RETIRING || st == SLOT_RETIRED ||
			    st == SLOT_WAITING)
				continue;
			if (st != SLOT_SERVING && !users && !(pass == 1 &&
			    g->state == GENERATION_ACTIVE))
				continue;
			if ((m = generation_seat_member(g, s, i)) != -1)
				active[n++] = (unsigned)m;
		}
	}
	return n;
}
