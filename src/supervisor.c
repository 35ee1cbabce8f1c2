#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "address.h"
#include "channel.h"
#include "clock.h"
#include "command.h"
#include "config.h"
#include "control.h"
#include "envfile.h"
#include "exitcode.h"
#include "generation.h"
#include "handover.h"
#include "keeper.h"
#include "log.h"
#include "metrics.h"
#include "nofile.h"
#include "notify.h"
#include "output.h"
#include "pidfile.h"
#include "proc.h"
#include "reaper.h"
#include "rollout.h"
#include "record.h"
#include "signame.h"
#include "sockets.h"
#include "state.h"
#include "steer.h"
#include "status.h"
#include "supervisor.h"
#include "systemd.h"
#include "worker.h"
#include "xmalloc.h"

/*
 * The reload under way. One generation starts at a time: a reload asked
 * for meanwhile (however many) is queued, and runs once the generation
 * starting (the first, or a reload's) is active or rolled back.
 */
enum reload_phase {
	RELOAD_IDLE,
	RELOAD_STARTING,	/* reload_gen is starting */
	RELOAD_QUEUED		/* a generation is starting; then one more */
};

static const char *const reload_phase_names[] = {
	"idle", "starting", "queued"
};

enum supervisor_state {
	SUPERVISOR_RUNNING,
	SUPERVISOR_LAME,	/* stopping: /readyz fails for stop_delay
				   while the workers still serve */
	SUPERVISOR_STOPPING,	/* draining everything, then exit */
	SUPERVISOR_DONE
};

struct supervisor {
	struct event_base	*base;
	supervisor_load_fn	 load;
	void			*load_arg;
	enum supervisor_state	 state;
	int			 exit_code;
	struct notify		*notify;
	struct log_limit	 notify_limit;
	struct event		*signals[7];
	size_t			 nsignals;
	sigset_t		 handled;	/* theirs, as a set */
	struct event		*cleanup;	/* frees gone generations */

	/* Newest last. At most one is starting at a time. */
	struct generation	**gens;
	size_t			 ngens;
	int			 next_number;
	/* The first generation's config and sockets, until it exists. */
	struct config		*initial;
	struct socket		**initial_sockets;

	struct control		*control;
	char			*control_path;	/* fixed at start */
	struct pidfile		*pidfile;
	char			*pidfile_path;
	struct metrics		*metrics;	/* fixed at start; or NULL */
	struct event		*stop_delay;	/* SUPERVISOR_LAME's end */
	/* When it started, the last reload's outcome, the counters. */
	struct record		 record;

	/* The reload in progress. */
	enum reload_phase	 reload;
	int			 reload_gen;	/* its generation; 0: none */
	long long		 reload_t0;
	/* `baton reload --env`s not yet applied; NULL: none (envfile.c). */
	char			**reload_env;
	/* `baton reload --canary`: the next reload's share; 0: the file's. */
	int			 reload_canary;
	/* A reload's clients, told once the older generations are gone. */
	int			 settle_gen;	/* 0: none waits */
	long long		 settle_ms;

	/* `baton scale` under way: its generation (0: none), since when. */
	int			 scale_gen;
	long long		 scale_t0;
	/* A reload queued behind it runs from here, outside any walk. */
	struct event		*reload_later;

	/* Where new connections go, on steered sockets. */
	struct rollout		*rollout;
	/* A slot changed hands: the rolling reload's next step, soon. */
	struct event		*rolling;
	/* Looks for a worker over max_age or max_memory. */
	struct event		*recycle;

	/* Reaps every child: the keeper, the strays, the check's too. */
	struct reaper		*reaper;

	/* The upgrade in place (SIGUSR2). */
	struct handover		*handover;

	/* The workers' stdout and stderr; NULL: they inherit baton's. */
	struct output		*output;
};

static void	supervisor_reload(struct supervisor *);
static void	supervisor_stop(struct supervisor *, int code);

/* The phase's move, logged as the worker and generation states are. */
static void
supervisor_set_reload(struct supervisor *sup, enum reload_phase phase)
{
	enum reload_phase	 from = sup->reload;

	sup->reload = phase;
	if (from != phase)
		log_debug("reload: %s -> %s", reload_phase_names[from],
		    reload_phase_names[phase]);
}

/* What the generations tell the supervisor. */
static void	supervisor_generation_changed(struct generation *, void *);

static void
supervisor_count_crash(struct generation *g, void *arg)
{
	struct supervisor	*sup = arg;

	sup->record.crashes++;
}

static void
supervisor_count_killed(struct generation *g, void *arg)
{
	struct supervisor	*sup = arg;

	sup->record.killed++;
}

/* A probe is about to connect: steer it to the starting generation. */
static void
supervisor_probing(struct generation *g, int port, void *arg)
{
	struct supervisor	*sup = arg;

	rollout_probe(sup->rollout, port);
	rollout_route(sup->rollout, sup->gens, sup->ngens);
}

static struct generation	*supervisor_find_state(struct supervisor *,
				    enum generation_state);

/* A slot changed hands: route now, take the next step after. */
static void
supervisor_slot(struct generation *g, int k, void *arg)
{
	struct supervisor	*sup = arg;

	rollout_route(sup->rollout, sup->gens, sup->ngens);
	/* Not now: the caller may be the reaper, walking the generations. */
	event_active(sup->rolling, EV_TIMEOUT, 0);
}

static void	supervisor_scaled(struct generation *, const char *, void *);

static const struct generation_ops supervisor_generation_ops = {
	supervisor_generation_changed,
	supervisor_count_crash,
	supervisor_count_killed,
	supervisor_probing,
	supervisor_slot,
	supervisor_scaled
};

/*
 * The rolling reload, one slot at a time, at most one worker more than
 * the slots: once the starting generation's slot k serves, the active
 * one's slot k retires; once its processes are gone, the next slot
 * starts. When the rollout stopped (rolled back), each slot the active
 * generation handed over is put back once the rolled back worker in it
 * is gone.
 */
static void
supervisor_rolling(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor	*sup = arg;
	struct generation	*active, *starting;
	enum generation_slot	 st, old;
	size_t			 i;
	int			 k, busy = 0, alive;

	if (sup->state != SUPERVISOR_RUNNING)
		return;
	active = supervisor_find_state(sup, GENERATION_ACTIVE);
	starting = supervisor_find_state(sup, GENERATION_STARTING);
	if (starting != NULL && generation_rolling(starting)) {
		for (k = 0; (size_t)k < generation_slots(starting); k++) {
			st = generation_slot(starting, k);
			if (st == SLOT_STARTING)
				busy = 1;
			if (active == NULL)
				continue;
			/* Retired whatever it does: a restart would be one too many. */
			old = generation_slot(active, k);
			if (st == SLOT_SERVING && old != SLOT_NONE &&
			    old != SLOT_RETIRING && old != SLOT_RETIRED) {
				generation_retire(active, k);
				rollout_route(sup->rollout, sup->gens,
				    sup->ngens);
			}
			if (generation_slot(active, k) == SLOT_RETIRING)
				busy = 1;
		}
		if (!busy && generation_start_next(starting) == 1)
			rollout_route(sup->rollout, sup->gens, sup->ngens);
		return;
	}
	if (active == NULL)
		return;
	for (k = 0; (size_t)k < generation_slots(active); k++) {
		if (generation_slot(active, k) != SLOT_RETIRED)
			continue;
		for (i = alive = 0; i < sup->ngens; i++)
			if (sup->gens[i] != active &&
			    generation_slot_alive(sup->gens[i], k))
				alive = 1;
		if (!alive && generation_put_back(active, k) == 0)
			rollout_route(sup->rollout, sup->gens, sup->ngens);
	}
}

/* Alone and settled, the active generation recycles one worker at a time. */
static void
supervisor_recycle(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor	*sup = arg;
	struct generation	*g;

	if (sup->state != SUPERVISOR_RUNNING || sup->ngens != 1 ||
	    generation_state(g = sup->gens[0]) != GENERATION_ACTIVE)
		return;
	if (generation_recycle_due(g)) {
		sup->record.recycled++;
		rollout_route(sup->rollout, sup->gens, sup->ngens);
	}
}

/* How often a worker's age and memory are looked at. */
static const struct timeval supervisor_recycle_every = { 0, 500 * 1000 };

/*
 * The recycling timer runs only while the active generation g has a
 * max_age or max_memory: without them an idle baton never wakes up.
 */
static void
supervisor_recycle_watch(struct supervisor *sup, struct generation *g)
{
	const struct config	*c = generation_config(g);

	if (c->max_age <= 0 && c->max_memory <= 0)
		event_del(sup->recycle);
	else if (!event_pending(sup->recycle, EV_TIMEOUT, NULL) &&
	    event_add(sup->recycle, &supervisor_recycle_every) == -1)
		log_warn("max_age, max_memory: cannot arm the timer; "
		    "workers are not recycled");
}

/* What a new generation is handed: the loop, NOTIFY_SOCKET, the ops. */
static void
supervisor_generation_env(struct supervisor *sup, struct generation_env *env)
{
	env->base = sup->base;
	env->notify_path = notify_path(sup->notify);
	env->sys = NULL;
	env->output = sup->output;
	env->ops = &supervisor_generation_ops;
	env->arg = sup;
}

static struct generation *
supervisor_find_state(struct supervisor *sup, enum generation_state state)
{
	size_t	 i;

	for (i = sup->ngens; i-- > 0;)
		if (generation_state(sup->gens[i]) == state)
			return sup->gens[i];
	return NULL;
}

static struct worker *
supervisor_find_worker(struct supervisor *sup, pid_t pid)
{
	struct worker	*w;
	size_t		 i;

	for (i = 0; i < sup->ngens; i++)
		if ((w = generation_find_pid(sup->gens[i], pid)) != NULL)
			return w;
	return NULL;
}

/* A new generation, not started; takes cfg, and one reference of each socket. */
static struct generation *
supervisor_add_generation(struct supervisor *sup, struct config *cfg,
    struct socket **sockets)
{
	struct generation	*g;
	struct generation_env	 env;
	size_t			 n = cfg->nsockets;

	supervisor_generation_env(sup, &env);
	g = generation_new(&env, ++sup->next_number, cfg, sockets);
	sockets_unref(sockets, n);
	sup->gens = xreallocarray(sup->gens, sup->ngens + 1,
	    sizeof(*sup->gens));
	sup->gens[sup->ngens++] = g;
	reaper_set_deadline(sup->reaper);
	return g;
}

/* systemd's STATUS=: the active generation and its pids. */
static void
supervisor_notify_ready(struct supervisor *sup)
{
	struct generation	*g;
	char			 pids[256];
	size_t			 i, n = 0;
	int			 r;

	if ((g = supervisor_find_state(sup, GENERATION_ACTIVE)) == NULL) {
		systemd_notify("READY=1\nSTATUS=no active generation");
		return;
	}
	pids[0] = '\0';
	for (i = 0; i < generation_nworkers(g); i++) {
		r = snprintf(pids + n, sizeof(pids) - n, "%s%ld", i ? " " : "",
		    (long)worker_pid(generation_worker(g, i)));
		if (r < 0 || (size_t)r >= sizeof(pids) - n)
			break;
		n += r;
	}
	systemd_notify("READY=1\nSTATUS=generation %d active, pids %s",
	    generation_number(g), pids);
}

/* A reload that failed before any generation started. */
static void
supervisor_reload_failed(struct supervisor *sup, const char *prefix,
    const char *error)
{
	char	*line;

	log_error("reload failed, nothing changed: %s", error);
	record_outcome(&sup->record, RECORD_FAILED, sup->reload_t0, error);
	line = xprintf("error %s%s", prefix, error);
	control_reload_failed(sup->control, line);
	free(line);
	supervisor_notify_ready(sup);
}

static int
supervisor_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/*
 * Raise the soft RLIMIT_NOFILE for nsockets sockets and that many workers
 * (a configuration's, or a scale's). Where even the hard limit is short
 * of it baton still runs (config.c refused what cannot work at all),
 * saying where descriptors may run out.
 */
static void
supervisor_nofile(size_t nsockets, int workers)
{
	rlim_t	 want, was, got;

	want = nofile_want(nsockets, workers);
	was = nofile_soft();
	if (nofile_raise(want, &got) == -1) {
		log_warn("setrlimit RLIMIT_NOFILE %llu: %s",
		    (unsigned long long)want, strerror(errno));
		return;
	}
	if (got > was)
		log_info("RLIMIT_NOFILE: soft limit %llu, up from %llu, for "
		    "%zu socket%s and %d worker%s", (unsigned long long)got,
		    (unsigned long long)was, nsockets,
		    nsockets == 1 ? "" : "s", workers,
		    workers == 1 ? "" : "s");
	if (got < want && want > nofile_start())
		log_warn("RLIMIT_NOFILE: %zu sockets and %d workers may use "
		    "%llu descriptors; the limit is %llu (raise the hard "
		    "limit: ulimit -Hn, LimitNOFILE=)", nsockets,
		    workers, (unsigned long long)want,
		    (unsigned long long)got);
}

/* What only a restart of baton changes: say so rather than ignore it. */
static void
supervisor_warn_fixed(struct supervisor *sup, const struct config *cfg)
{
	if (!supervisor_same(sup->control_path, cfg->control))
		log_warn("reload: the control socket stays %s until baton "
		    "restarts", sup->control_path != NULL ? sup->control_path :
		    "off");
	if (!supervisor_same(sup->pidfile_path, cfg->pidfile))
		log_warn("reload: the pidfile stays %s until baton restarts",
		    sup->pidfile_path != NULL ? sup->pidfile_path : "off");
	if (!supervisor_same(sup->output != NULL ? output_path(sup->output) :
	    NULL, cfg->output) || (sup->output != NULL &&
	    (output_max_size(sup->output) != cfg->output_max_size ||
	    output_keep(sup->output) != cfg->output_keep)))
		log_warn("reload: output stays %s until baton restarts",
		    sup->output != NULL ? output_path(sup->output) : "inherit");
	if (!supervisor_same(sup->metrics != NULL ?
	    metrics_url(sup->metrics) : NULL, cfg->metrics))
		log_warn("reload: metrics stays %s until baton restarts",
		    sup->metrics != NULL ? metrics_url(sup->metrics) : "off");
}

/* SIGUSR1 or `baton reopen`: the answer comes in supervisor_reopened(). */
static void
supervisor_reopen(struct supervisor *sup)
{
	if (sup->output == NULL) {
		control_reopen_finished(sup->control, "ok output = inherit: "
		    "nothing to reopen");
		return;
	}
	output_reopen(sup->output);
}

static void
supervisor_reopened(void *arg, const char *error)
{
	struct supervisor	*sup = arg;
	char			*line;

	if (error != NULL) {
		log_error("output: reopen failed, writing on to the file "
		    "open before: %s", error);
		line = xprintf("error reopen: %s", error);
	} else {
		log_info("output: reopened %s", output_path(sup->output));
		line = xprintf("ok reopened %s", output_path(sup->output));
	}
	control_reopen_finished(sup->control, line);
	free(line);
}

/* Told once when writes start failing, once when they work again. */
static void
supervisor_output_failing(void *arg, const char *error)
{
	struct supervisor	*sup = arg;

	if (error != NULL)
		log_warn("output: %s; the workers' lines are dropped and "
		    "counted (baton status) until writing works again", error);
	else
		log_info("output: writing %s works again",
		    output_path(sup->output));
}

static const struct output_ops supervisor_output_ops = {
	supervisor_reopened,
	supervisor_output_failing
};


/* The metrics listener's questions. */
static void	supervisor_fill_status(void *, struct status *);

static const struct record *
supervisor_metrics_record(void *arg)
{
	struct supervisor	*sup = arg;

	return &sup->record;
}

static const char *
supervisor_unready(void *arg)
{
	struct supervisor	*sup = arg;

	if (sup->state != SUPERVISOR_RUNNING)
		return "baton is stopping";
	if (supervisor_find_state(sup, GENERATION_ACTIVE) == NULL)
		return "no generation is active yet";
	return NULL;
}

static const struct metrics_ops supervisor_metrics_ops = {
	supervisor_fill_status,
	supervisor_metrics_record,
	supervisor_unready
};

/*
 * `baton reload --canary P%`: this reload's share, whatever the file says.
 * Steering must work for it, as baton check says for the key. 0, or -1
 * with *error set.
 */
static int
supervisor_reload_canary(int canary, struct config *cfg, char **error)
{
	const char	*why;

	if (canary == 0)
		return 0;
	if (steer_supported(&why) == -1) {
		*error = xprintf("--canary needs the kernel to steer connections "
		    "between generations, which this machine refuses: %s", why);
		return -1;
	}
	if (cfg->rollout == ROLLOUT_ROLLING && cfg->workers > 1) {
		*error = xstrdup("--canary does not combine with rollout = "
		    "rolling, which gives each new slot its full share as it "
		    "comes");
		return -1;
	}
	cfg->canary = canary;
	return 0;
}

/* A scale's new workers are on their way up. */
static int
supervisor_scaling_up(struct supervisor *sup)
{
	size_t	 i;

	for (i = 0; sup->scale_gen != 0 && i < sup->ngens; i++)
		if (generation_number(sup->gens[i]) == sup->scale_gen)
			return generation_scaling(sup->gens[i]) == 1;
	return 0;
}

static void
supervisor_reload(struct supervisor *sup)
{
	struct generation	*g, *active;
	struct config		*cfg;
	struct socket		**sockets;
	char			*error = NULL;
	int			 canary;

	if (sup->state != SUPERVISOR_RUNNING) {
		control_reload_failed(sup->control, "error baton is stopping");
		return;
	}
	if (supervisor_find_state(sup, GENERATION_STARTING) != NULL ||
	    supervisor_find_state(sup, GENERATION_CANARY) != NULL ||
	    supervisor_scaling_up(sup)) {
		/* Coalesced: one more reload once this one settles. */
		if (sup->reload != RELOAD_QUEUED)
			log_info("reload: %s; reloading once it settles",
			    supervisor_scaling_up(sup) ? "new workers of a "
			    "scale are starting" : "a generation is starting");
		supervisor_set_reload(sup, RELOAD_QUEUED);
		return;
	}
	supervisor_set_reload(sup, RELOAD_IDLE);
	sup->record.reloads++;
	sup->reload_t0 = clock_ms();
	systemd_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    clock_us());
	log_info("reload: reading the configuration");
	cfg = sup->load(sup->load_arg, &error);
	if (cfg != NULL)
		envfile_apply((g = supervisor_find_state(sup,
		    GENERATION_ACTIVE)) != NULL ? generation_config(g) : NULL,
		    cfg, sup->reload_env);
	/* Taken by this reload, whether it runs or fails. */
	command_free(sup->reload_env);
	sup->reload_env = NULL;
	canary = sup->reload_canary;
	sup->reload_canary = 0;
	if (cfg == NULL) {
		supervisor_reload_failed(sup, "config: ", error);
		free(error);
		return;
	}
	if (supervisor_reload_canary(canary, cfg, &error) == -1) {
		supervisor_reload_failed(sup, "", error);
		free(error);
		config_free(cfg);
		return;
	}
	supervisor_warn_fixed(sup, cfg);
	supervisor_nofile(cfg->nsockets, cfg->workers);
	if ((sockets = sockets_open(cfg, sup->gens, sup->ngens,
	    &error)) == NULL) {
		supervisor_reload_failed(sup, "", error);
		free(error);
		config_free(cfg);
		return;
	}
	/* A successor under way would be one worker too many. */
	if ((g = supervisor_find_state(sup, GENERATION_ACTIVE)) != NULL)
		generation_recycle_cancel(g);
	g = supervisor_add_generation(sup, cfg, sockets);
	/*
	 * A canary needs something to compare with, and a warm-up something
	 * to take load from: an active generation.
	 */
	if ((active = supervisor_find_state(sup, GENERATION_ACTIVE)) != NULL) {
		if (cfg->canary > 0)
			generation_canary(g, (unsigned)cfg->canary,
			    cfg->canary_time);
		if (cfg->warmup > 0)
			generation_warmup(g, cfg->warmup,
			    generation_number(active));
	}
	sockets_store(sup->gens, sup->ngens);
	sup->reload_gen = generation_number(g);
	supervisor_set_reload(sup, RELOAD_STARTING);
	control_reload_started(sup->control, sup->reload_gen);
	if (generation_start(g) == 0)
		rollout_route(sup->rollout, sup->gens, sup->ngens);
	/* Its own sockets in steered groups, once they exist. */
	sockets_store(sup->gens, sup->ngens);
}

/* The control socket's commands. */
static void
supervisor_control_reload(void *arg, char *const *env, int canary)
{
	struct supervisor	*sup = arg;

	if (env != NULL)
		envfile_merge(&sup->reload_env, env);
	if (canary > 0)
		sup->reload_canary = canary;
	supervisor_reload(sup);
}

/* `baton promote`: the canary under way becomes active now. */
static char *
supervisor_control_promote(void *arg)
{
	struct supervisor	*sup = arg;
	struct generation	*g, *active;

	if ((g = supervisor_find_state(sup, GENERATION_CANARY)) == NULL) {
		if ((g = supervisor_find_state(sup,
		    GENERATION_STARTING)) != NULL)
			return xprintf("error nothing to promote: generation "
			    "%d is still starting (promote it once it is in "
			    "its canary, or roll it back)", generation_number(g));
		return xstrdup("error nothing to promote: no canary is under "
		    "way");
	}
	active = supervisor_find_state(sup, GENERATION_ACTIVE);
	switch (generation_promote(g, "baton promote")) {
	case -1:
		return xstrdup("error nothing to promote");
	case 1:
		return xprintf("ok generation %d warming up over %ld ms; "
		    "generation %d drains after it (baton promote again ends "
		    "it now)", generation_number(g),
		    generation_config(g)->warmup, active != NULL ?
		    generation_number(active) : 0);
	}
	if (active == NULL)
		return xprintf("ok generation %d promoted",
		    generation_number(g));
	return xprintf("ok generation %d promoted; generation %d drains",
	    generation_number(g), generation_number(active));
}

/* `baton rollback`: the generation starting or in its canary is stopped. */
static char *
supervisor_control_rollback(void *arg)
{
	struct supervisor	*sup = arg;
	struct generation	*g, *active;

	if ((g = supervisor_find_state(sup, GENERATION_CANARY)) == NULL &&
	    (g = supervisor_find_state(sup, GENERATION_STARTING)) == NULL)
		return xstrdup("error nothing to roll back: no generation is "
		    "starting or in its canary");
	if ((active = supervisor_find_state(sup, GENERATION_ACTIVE)) == NULL)
		return xprintf("error generation %d is the only one: nothing "
		    "would serve (use baton stop)", generation_number(g));
	generation_roll_back(g, "baton rollback");
	return xprintf("ok generation %d rolled back; generation %d keeps "
	    "serving", generation_number(g), generation_number(active));
}

/* "gen N has 3 workers (the configuration says 2)", for the answers. */
static char *
supervisor_count(struct generation *g)
{
	size_t	 n = generation_slots(g);
	int	 file = generation_config(g)->workers;

	if ((size_t)file == n)
		return xprintf("generation %d has %zu worker%s, as its "
		    "configuration says", generation_number(g), n,
		    n == 1 ? "" : "s");
	return xprintf("generation %d has %zu worker%s (its configuration "
	    "says %d: the next reload starts that many)",
	    generation_number(g), n, n == 1 ? "" : "s", file);
}

/*
 * `baton scale N`: the active generation gets N workers, one scale at a
 * time, and never while a generation starts or is in its canary (the
 * reload's count would be ambiguous): those are refused, not queued.
 */
static char *
supervisor_control_scale(void *arg, int n)
{
	struct supervisor	*sup = arg;
	struct generation	*g;
	char			*count, *line;

	if (sup->state != SUPERVISOR_RUNNING)
		return xstrdup("error baton is stopping");
	if (sup->scale_gen != 0)
		return xprintf("error a scale of generation %d is under way; "
		    "scale again once it is over", sup->scale_gen);
	if ((g = supervisor_find_state(sup, GENERATION_STARTING)) != NULL ||
	    (g = supervisor_find_state(sup, GENERATION_CANARY)) != NULL)
		return xprintf("error generation %d is %s; scale once the "
		    "reload is over (baton status)", generation_number(g),
		    generation_warmup_left(g) >= 0 ? "warming up (baton "
		    "promote, baton rollback)" : generation_state(g) ==
		    GENERATION_CANARY ? "in its canary (baton promote, baton "
		    "rollback)" : "starting");
	if (sup->reload != RELOAD_IDLE)
		return xstrdup("error a reload is queued; scale once it is "
		    "over (baton status)");
	if ((g = supervisor_find_state(sup, GENERATION_ACTIVE)) == NULL)
		return xstrdup("error no generation is active");
	if (generation_slots(g) == (size_t)n) {
		count = supervisor_count(g);
		line = xprintf("ok nothing to do: %s", count);
		free(count);
		return line;
	}
	/* Its new workers' descriptors, before the first of them starts. */
	if ((size_t)n > generation_slots(g))
		supervisor_nofile(generation_config(g)->nsockets, n);
	sup->scale_gen = generation_number(g);
	sup->scale_t0 = clock_ms();
	switch (generation_scale(g, (size_t)n)) {
	case -1:
		sup->scale_gen = 0;
		return xprintf("error generation %d: %s; nothing changed",
		    generation_number(g), errno == EAGAIN ? "a worker could "
		    "not be started" : strerror(errno));
	case 0:
		sup->scale_gen = 0;
		break;
	}
	rollout_route(sup->rollout, sup->gens, sup->ngens);
	return NULL;
}

/* The scale is over: its client hears how. */
static void
supervisor_scaled(struct generation *g, const char *why, void *arg)
{
	struct supervisor	*sup = arg;
	char			*count, *line;

	if (generation_number(g) != sup->scale_gen)
		return;
	sup->scale_gen = 0;
	count = supervisor_count(g);
	if (why != NULL)
		line = xprintf("error the scale failed: %s; %s", why, count);
	else
		line = xprintf("ok %s, in %lld ms", count,
		    clock_ms() - sup->scale_t0);
	control_scale_finished(sup->control, line);
	free(count);
	free(line);
	rollout_route(sup->rollout, sup->gens, sup->ngens);
	if (sup->state == SUPERVISOR_RUNNING &&
	    generation_state(g) == GENERATION_ACTIVE)
		supervisor_notify_ready(sup);
	/* A reload that waited for the new workers; not from in here. */
	if (sup->reload == RELOAD_QUEUED)
		event_active(sup->reload_later, EV_TIMEOUT, 0);
}

static void
supervisor_reload_queued(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor	*sup = arg;

	if (sup->reload == RELOAD_QUEUED)
		supervisor_reload(sup);
}

static void
supervisor_control_stop(void *arg)
{
	supervisor_stop(arg, 0);
}

static void	supervisor_status(void *, struct evbuffer *, int);

static void
supervisor_control_reopen(void *arg)
{
	supervisor_reopen(arg);
}

static const struct control_ops supervisor_control_ops = {
	supervisor_control_reload,
	supervisor_control_stop,
	supervisor_status,
	supervisor_control_reopen,
	supervisor_control_promote,
	supervisor_control_rollback,
	supervisor_control_scale
};

/* The reload's generation is active or rolled back; a queued one stays. */
static void
supervisor_reload_done(struct supervisor *sup)
{
	sup->reload_gen = 0;
	if (sup->reload == RELOAD_STARTING)
		supervisor_set_reload(sup, RELOAD_IDLE);
}

/* A reload is settled once its generation is active and the older are gone. */
static void
supervisor_settle(struct supervisor *sup)
{
	char	*line;
	size_t	 i;

	if (sup->settle_gen == 0)
		return;
	for (i = 0; i < sup->ngens; i++)
		if (generation_number(sup->gens[i]) < sup->settle_gen &&
		    generation_state(sup->gens[i]) != GENERATION_GONE)
			return;
	line = xprintf("ok generation %d active in %lld ms; older generations "
	    "exited", sup->settle_gen, sup->settle_ms);
	control_reload_finished(sup->control, sup->settle_gen, 1, line);
	free(line);
	sup->settle_gen = 0;
}

static void
supervisor_cleanup(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor	*sup = arg;
	size_t			 i, j;

	for (i = j = 0; i < sup->ngens; i++) {
		if (generation_state(sup->gens[i]) == GENERATION_GONE)
			generation_free(sup->gens[i]);
		else
			sup->gens[j++] = sup->gens[i];
	}
	sup->ngens = j;
	/* What closed leaves the store; at the end, everything does. */
	sockets_store(sup->gens, sup->ngens);
	supervisor_settle(sup);
	if (sup->state == SUPERVISOR_STOPPING && sup->ngens == 0) {
		reaper_end_strays(sup->reaper);
		log_info("stopped");
		sup->state = SUPERVISOR_DONE;
		event_base_loopexit(sup->base, NULL);
	}
}

static void
supervisor_generation_changed(struct generation *g, void *arg)
{
	struct supervisor	*sup = arg;
	struct generation	*active;
	char			*line;
	size_t			 i;
	int			 n = generation_number(g);

	/* First the route: a generation drains once nothing comes its way. */
	rollout_route(sup->rollout, sup->gens, sup->ngens);
	switch (generation_state(g)) {
	case GENERATION_ACTIVE:
		/* Every older active generation now drains. */
		for (i = 0; i < sup->ngens; i++)
			if (sup->gens[i] != g &&
			    generation_state(sup->gens[i]) == GENERATION_ACTIVE)
				generation_drain(sup->gens[i]);
		supervisor_recycle_watch(sup, g);
		if (n == sup->reload_gen) {
			record_outcome(&sup->record, RECORD_OK,
			    sup->reload_t0, NULL);
			supervisor_reload_done(sup);
			sup->settle_gen = n;
			sup->settle_ms = sup->record.last_duration;
			supervisor_settle(sup);
		}
		supervisor_notify_ready(sup);
		if (sup->state == SUPERVISOR_STOPPING)
			generation_drain(g);
		else if (sup->reload == RELOAD_QUEUED)
			supervisor_reload(sup);
		break;
	case GENERATION_ROLLED_BACK:
		if (sup->state != SUPERVISOR_RUNNING)
			break;
		sup->record.rollbacks++;
		/* Slots it had taken over may already be free to put back. */
		event_active(sup->rolling, EV_TIMEOUT, 0);
		if ((active = supervisor_find_state(sup,
		    GENERATION_ACTIVE)) == NULL) {
			log_error("generation %d never became ready; "
			    "stopping", n);
			supervisor_stop(sup, EXIT_FAILED);
			break;
		}
		log_info("generation %d keeps serving",
		    generation_number(active));
		if (n == sup->reload_gen) {
			record_outcome(&sup->record, RECORD_ROLLED_BACK,
			    sup->reload_t0, generation_failure(g));
			supervisor_reload_done(sup);
			line = xprintf("error generation %d rolled back: %s; "
			    "generation %d keeps serving%s", n,
			    generation_failure(g), generation_number(active),
			    generation_rolling(g) ? " (the slots it had "
			    "replaced start again there)" : "");
			control_reload_finished(sup->control, n, 0, line);
			free(line);
			supervisor_notify_ready(sup);
		}
		if (sup->reload == RELOAD_QUEUED)
			supervisor_reload(sup);
		break;
	case GENERATION_GONE:
		/* Its retired workers went with it: that scale is over too. */
		if (n == sup->scale_gen) {
			sup->scale_gen = 0;
			line = xprintf("ok generation %d exited", n);
			control_scale_finished(sup->control, line);
			free(line);
		}
		if (generation_drained(g) >= 0)
			record_observe(&sup->record.drain_time,
			    generation_drained(g));
		/* Not now: the caller may still be walking the generation. */
		event_active(sup->cleanup, EV_TIMEOUT, 0);
		break;
	default:
		break;
	}
}

/* The stop proper: every generation drains, and baton exits after. */
static void
supervisor_stop_drain(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor	*sup = arg;
	size_t			 i;

	if (sup->state != SUPERVISOR_LAME)
		return;
	sup->state = SUPERVISOR_STOPPING;
	log_info("stopping: draining every generation");
	for (i = 0; i < sup->ngens; i++) {
		generation_roll_back(sup->gens[i], "baton is stopping");
		generation_drain(sup->gens[i]);
	}
	/* They get the last generation's signal, and are killed at the end. */
	if (sup->ngens > 0)
		reaper_signal_strays(sup->reaper, generation_config(
		    sup->gens[sup->ngens - 1])->drain_signal);
	event_active(sup->cleanup, EV_TIMEOUT, 0);
}

/*
 * Stop: from now on /readyz fails, and a reload under way is rolled
 * back. With a stop_delay the active generation serves on for that long,
 * so that load balancers that watch /readyz stop sending before any
 * socket closes; then everything drains.
 */
static void
supervisor_stop(struct supervisor *sup, int code)
{
	struct generation	*active;
	struct timeval		 tv;
	long			 delay = 0;
	size_t			 i;

	if (sup->state != SUPERVISOR_RUNNING)
		return;
	sup->state = SUPERVISOR_LAME;
	sup->exit_code = code;
	handover_cancel(sup->handover);
	systemd_notify("STOPPING=1\nSTATUS=stopping");
	if (sup->reload_gen != 0)
		control_reload_finished(sup->control, sup->reload_gen, 0,
		    "error baton is stopping");
	control_reload_failed(sup->control, "error baton is stopping");
	for (i = 0; i < sup->ngens; i++)
		if (generation_state(sup->gens[i]) == GENERATION_STARTING ||
		    generation_state(sup->gens[i]) == GENERATION_CANARY)
			generation_roll_back(sup->gens[i], "baton is stopping");
	if ((active = supervisor_find_state(sup, GENERATION_ACTIVE)) != NULL)
		delay = generation_config(active)->stop_delay;
	if (delay <= 0 || sup->stop_delay == NULL) {
		supervisor_stop_drain(-1, 0, sup);
		return;
	}
	log_info("stopping: /readyz fails for %ld ms before generation %d "
	    "drains (stop_delay); send the signal again to stop at once",
	    delay, generation_number(active));
	tv.tv_sec = delay / 1000;
	tv.tv_usec = delay % 1000 * 1000;
	evtimer_add(sup->stop_delay, &tv);
}

/* What the reaper asks of the supervisor. */
static struct generation **
supervisor_gens(void *arg, size_t *n)
{
	struct supervisor	*sup = arg;

	*n = sup->ngens;
	return sup->gens;
}

static struct worker *
supervisor_worker(void *arg, pid_t pid)
{
	return supervisor_find_worker(arg, pid);
}

static pid_t
supervisor_check_pid(void *arg)
{
	struct supervisor	*sup = arg;

	return sup->handover != NULL ? handover_check_pid(sup->handover) : 0;
}

static void
supervisor_checked(void *arg, int status)
{
	struct supervisor	*sup = arg;

	handover_checked(sup->handover, status);
}

static const struct reaper_ops supervisor_reaper_ops = {
	supervisor_gens,
	supervisor_worker,
	supervisor_check_pid,
	supervisor_checked
};

/* Fast stop: SIGKILL every group, reap them, and leave. */
static void
supervisor_kill_all(struct supervisor *sup)
{
	size_t	 i, alive;

	log_warn("fast stop: killing every worker now");
	if (sup->state == SUPERVISOR_RUNNING)
		systemd_notify("STOPPING=1\nSTATUS=stopping at once");
	sup->state = SUPERVISOR_STOPPING;
	handover_cancel(sup->handover);
	for (i = 0; i < sup->ngens; i++) {
		generation_roll_back(sup->gens[i], "baton is stopping");
		generation_drain(sup->gens[i]);
		generation_kill(sup->gens[i]);
	}
	for (;;) {
		for (i = alive = 0; i < sup->ngens; i++)
			alive += generation_state(sup->gens[i]) !=
			    GENERATION_GONE;
		if (alive == 0)
			break;
		/* Nothing left to wait for: what remains is not ours to reap. */
		if (reaper_reap(sup->reaper, 1) == -1)
			break;
	}
	/* Everything was sent SIGKILL: forget what has not been reaped. */
	for (i = 0; i < sup->ngens; i++)
		generation_free(sup->gens[i]);
	sup->ngens = 0;
	supervisor_cleanup(-1, 0, sup);
}

static void
supervisor_signal(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor	*sup = arg;

	switch (sig) {
	case SIGCHLD:
		reaper_reap(sup->reaper, 0);
		break;
	case SIGHUP:
		log_info("SIGHUP: reload");
		supervisor_reload(sup);
		break;
	case SIGTERM:
	case SIGINT:
		if (sup->state == SUPERVISOR_RUNNING) {
			log_info("%s: graceful stop (send it again, or "
			    "SIGQUIT, to stop at once)", signame_name(sig));
			supervisor_stop(sup, 0);
		} else
			supervisor_kill_all(sup);
		break;
	case SIGQUIT:
		supervisor_kill_all(sup);
		break;
	case SIGUSR1:
		log_info("SIGUSR1: reopen the output");
		supervisor_reopen(sup);
		break;
	case SIGUSR2:
		log_info("SIGUSR2: upgrade baton in place");
		handover_ask(sup->handover);
		break;
	}
}

static void
supervisor_notified(pid_t sender, const struct channel_msg *msg, void *arg)
{
	struct supervisor	*sup = arg;
	struct worker		*w;
	pid_t			 pgid;

	/* Pid 0: a sender outside our pid namespace; it is nobody's. */
	if (sender <= 0) {
		if (log_limit_allow(&sup->notify_limit))
			log_warn("notify socket: datagram from outside baton's "
			    "pid namespace ignored");
		return;
	}
	/* The worker itself, or any process of its group. */
	if ((w = supervisor_find_worker(sup, sender)) == NULL &&
	    ((pgid = getpgid(sender)) <= 0 ||
	    (w = supervisor_find_worker(sup, pgid)) == NULL)) {
		if (log_limit_allow(&sup->notify_limit))
			log_warn("notify socket: datagram from pid %ld, not a "
			    "worker, ignored", (long)sender);
		return;
	}
	worker_message(w, msg);
}

/* What the upgrade in place (handover.c) asks of the supervisor. */
static int
supervisor_running(void *arg)
{
	struct supervisor	*sup = arg;

	return sup->state == SUPERVISOR_RUNNING;
}

/*
 * Settled enough to hand over: one generation, active, and no worker of
 * it on its way up. Else *why says what is under way.
 */
static struct generation *
supervisor_upgrade_ready(void *arg, const char **why)
{
	struct supervisor	*sup = arg;
	struct generation	*g;
	enum worker_state	 ws;
	size_t			 i;

	if (sup->ngens == 1 && sup->reload_gen == 0 &&
	    generation_state(sup->gens[0]) == GENERATION_STARTING) {
		*why = "the first generation is starting";
		return NULL;
	}
	if (sup->ngens != 1 || sup->reload != RELOAD_IDLE ||
	    generation_state(sup->gens[0]) != GENERATION_ACTIVE) {
		*why = "a reload is under way";
		return NULL;
	}
	if (sup->scale_gen != 0) {
		*why = "a scale is under way";
		return NULL;
	}
	g = sup->gens[0];
	for (i = 0; i < generation_nworkers(g); i++) {
		ws = worker_state(generation_worker(g, i));
		if (ws != WORKER_ACTIVE && ws != WORKER_EXITED) {
			*why = "a worker is restarting";
			return NULL;
		}
	}
	return g;
}

/* The supervisor's part of the state: the strings stay sup's. */
static void
supervisor_save(void *arg, struct state *st)
{
	struct supervisor	*sup = arg;

	record_save(&sup->record, st);
	/* The new image inherits the raised limit; workers get this one. */
	if (nofile_start() != RLIM_INFINITY)
		st->nofile = (long long)nofile_start();
	st->next_number = sup->next_number;
	st->notify_fd = notify_fd(sup->notify);
	st->control_fd = sup->control != NULL ? control_fd(sup->control) : -1;
	st->control_path = sup->control_path;
	st->pidfile_fd = sup->pidfile != NULL ? pidfile_fd(sup->pidfile) : -1;
	st->pidfile_path = sup->pidfile_path;
	st->keeper_fd = keeper_fd(reaper_keeper(sup->reaper));
	st->metrics.fd = -1;
	if (sup->metrics != NULL) {
		metrics_save(sup->metrics, &st->metrics);
		st->metrics_url = metrics_url(sup->metrics);
	}
	st->keeper_pid = (long)keeper_pid(reaper_keeper(sup->reaper));
	st->output_fd = -1;
	if (sup->output != NULL) {
		st->output_fd = output_fd(sup->output);
		st->output_path = output_path(sup->output);
		st->output_max_size = output_max_size(sup->output);
		st->output_keep = output_keep(sup->output);
		st->streams = output_save(sup->output, &st->nstreams);
	}
}

/* Right before the exec: what is queued is written, the thread stops. */
static void
supervisor_quiesce(void *arg, int resume)
{
	struct supervisor	*sup = arg;

	if (sup->output == NULL)
		return;
	if (resume)
		output_resume(sup->output);
	else
		output_quiesce(sup->output);
}

static void
supervisor_pause(void *arg, int on)
{
	struct supervisor	*sup = arg;

	if (sup->metrics != NULL)
		metrics_pause(sup->metrics, on);
}

static const struct handover_ops supervisor_handover_ops = {
	supervisor_running,
	supervisor_upgrade_ready,
	supervisor_save,
	supervisor_quiesce,
	supervisor_pause
};

/* A supervisor with nothing in it yet. */
static struct supervisor *
supervisor_alloc(supervisor_load_fn load, void *arg)
{
	struct supervisor	*sup;

	event_set_log_callback(log_libevent);
	sup = xcalloc(1, sizeof(*sup));
	sup->notify_limit.what = "notify socket: ignored datagrams";
	sup->reaper = reaper_new(&supervisor_reaper_ops, sup);
	sup->rollout = rollout_new();
	sup->load = load;
	sup->load_arg = arg;
	return sup;
}

/* Signals, the cleanup event, the upgrade: every supervisor's. */
static int
supervisor_events(struct supervisor *sup, char **error)
{
	static const int	 sigs[] = {
		SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2
	};
	size_t			 i;

	sigemptyset(&sup->handled);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&sup->handled, sigs[i]);
		sup->signals[i] = evsignal_new(sup->base, sigs[i],
		    supervisor_signal, sup);
		if (sup->signals[i] == NULL ||
		    event_add(sup->signals[i], NULL) == -1) {
			*error = xprintf("cannot watch %s",
			    signame_name(sigs[i]));
			return -1;
		}
		sup->nsignals++;
	}
	/*
	 * Watched now: let them in. Held back across an upgrade's exec, or
	 * blocked by whoever started baton, they would never arrive.
	 */
	sigprocmask(SIG_UNBLOCK, &sup->handled, NULL);
	log_set_base(sup->base);
	sup->cleanup = event_new(sup->base, -1, 0, supervisor_cleanup, sup);
	sup->rolling = event_new(sup->base, -1, 0, supervisor_rolling, sup);
	sup->reload_later = event_new(sup->base, -1, 0,
	    supervisor_reload_queued, sup);
	sup->recycle = event_new(sup->base, -1, EV_PERSIST,
	    supervisor_recycle, sup);
	sup->stop_delay = evtimer_new(sup->base, supervisor_stop_drain, sup);
	sup->handover = handover_new(sup->base, &sup->handled,
	    &supervisor_handover_ops, sup);
	if (sup->cleanup == NULL || sup->stop_delay == NULL ||
	    sup->handover == NULL || sup->rolling == NULL ||
	    sup->reload_later == NULL ||
	    sup->recycle == NULL) {
		*error = xstrdup("event_new failed");
		return -1;
	}
	/* Workers that daemonize still come back to baton to be reaped. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	return 0;
}

struct supervisor *
supervisor_new(supervisor_load_fn load, void *arg, char **error, int *code)
{
	struct supervisor	*sup;

	nofile_init();
	sup = supervisor_alloc(load, arg);
	record_start(&sup->record);
	if ((sup->initial = load(arg, error)) == NULL) {
		*code = EXIT_CONFIG;
		goto fail;
	}
	supervisor_nofile(sup->initial->nsockets, sup->initial->workers);
	*code = EXIT_FAILED;
	if (sup->initial->control != NULL)
		sup->control_path = xstrdup(sup->initial->control);
	if (sup->initial->pidfile != NULL)
		sup->pidfile_path = xstrdup(sup->initial->pidfile);
	if ((sup->base = event_base_new()) == NULL) {
		*error = xstrdup("event_base_new failed");
		goto fail;
	}
	if (sup->initial->output != NULL && (sup->output = output_new(
	    sup->base, sup->initial->output, sup->initial->output_max_size,
	    sup->initial->output_keep, -1, &supervisor_output_ops, sup,
	    error)) == NULL)
		goto fail;
	/* Before the sockets: a second baton must say who runs, not EADDRINUSE. */
	if (sup->initial->control != NULL && (sup->control = control_new(
	    sup->base, &supervisor_control_ops, sup, sup->initial->control,
	    -1, error)) == NULL)
		goto fail;
	if (sup->initial->pidfile != NULL && (sup->pidfile = pidfile_new(
	    sup->initial->pidfile, -1, error)) == NULL)
		goto fail;
	if ((sup->initial_sockets = sockets_open(sup->initial, sup->gens,
	    sup->ngens, error)) == NULL)
		goto fail;
	if (sup->initial->metrics != NULL && (sup->metrics = metrics_new(
	    sup->base, &sup->initial->metrics_addr, NULL,
	    &supervisor_metrics_ops, sup, error)) == NULL)
		goto fail;
	systemd_close_unused();
	if ((sup->notify = notify_new(sup->base, supervisor_notified,
	    sup, -1)) == NULL) {
		*error = xprintf("notify socket: %s", strerror(errno));
		goto fail;
	}
	if (supervisor_events(sup, error) == -1)
		goto fail;
	reaper_start_keeper(sup->reaper, sup->initial->drain_timeout);
	return sup;
fail:
	supervisor_free(sup);
	return NULL;
}

/* The previous image's metrics listener, taken over (logged if not). */
static void
supervisor_restore_metrics(struct supervisor *sup, struct state *st)
{
	struct address	 a;
	char		*why = NULL;

	if (address_parse(st->metrics_url, &a, &why) == 0) {
		sup->metrics = metrics_new(sup->base, &a, &st->metrics,
		    &supervisor_metrics_ops, sup, &why);
		address_clear(&a);
	}
	if (sup->metrics == NULL) {
		log_warn("upgrade: metrics %s: %s", st->metrics_url, why);
		close(st->metrics.fd);
	}
	free(why);
}

/*
 * In the new image: take over what the old one held, as its state says,
 * and carry on with no generation started and no socket bound. Returns
 * NULL with *error set; baton then exits, and its workers get their drain
 * signal from the kernel (PR_SET_PDEATHSIG).
 */
struct supervisor *
supervisor_restore(supervisor_load_fn load, void *arg, int sfd, char **error)
{
	struct supervisor	*sup;
	struct generation_env	 env;
	struct state		 st;
	char			*why = NULL;
	size_t			 i;

	if (handover_read(sfd, &st, error) == -1)
		return NULL;
	sup = supervisor_alloc(load, arg);
	if (st.nofile > 0)
		nofile_set_start((rlim_t)st.nofile);
	record_restore(&sup->record, &st);
	sup->next_number = st.next_number;
	if ((sup->base = event_base_new()) == NULL) {
		*error = xstrdup("event_base_new failed");
		goto fail;
	}
	if ((sup->notify = notify_new(sup->base, supervisor_notified, sup,
	    st.notify_fd)) == NULL) {
		*error = xprintf("notify socket: %s", strerror(errno));
		goto fail;
	}
	if (st.control_fd != -1) {
		sup->control_path = xstrdup(st.control_path);
		if ((sup->control = control_new(sup->base,
		    &supervisor_control_ops, sup, sup->control_path,
		    st.control_fd, error)) == NULL)
			goto fail;
	}
	if (st.pidfile_fd != -1) {
		sup->pidfile_path = xstrdup(st.pidfile_path);
		if ((sup->pidfile = pidfile_new(sup->pidfile_path,
		    st.pidfile_fd, &why)) == NULL) {
			log_warn("upgrade: pidfile %s: %s", sup->pidfile_path,
			    why);
			free(why);
		}
	}
	if (st.output_fd != -1) {
		if ((sup->output = output_new(sup->base, st.output_path,
		    st.output_max_size, st.output_keep, st.output_fd,
		    &supervisor_output_ops, sup, error)) == NULL)
			goto fail;
		for (i = 0; i < st.nstreams; i++)
			output_adopt(sup->output, &st.streams[i]);
	}
	if (st.metrics.fd != -1)
		supervisor_restore_metrics(sup, &st);
	reaper_restore_keeper(sup->reaper, (pid_t)st.keeper_pid, st.keeper_fd,
	    st.config->drain_timeout);
	supervisor_generation_env(sup, &env);
	sup->gens = xcalloc(1, sizeof(*sup->gens));
	sup->gens[sup->ngens++] = handover_restore(&st, &env);
	/* A scaled generation's count rather than the configuration's. */
	supervisor_nofile(generation_config(sup->gens[0])->nsockets,
	    (int)generation_slots(sup->gens[0]));
	if (supervisor_events(sup, error) == -1)
		goto fail;
	supervisor_recycle_watch(sup, sup->gens[0]);
	state_clear(&st);
	return sup;
fail:
	state_clear(&st);
	supervisor_free(sup);
	return NULL;
}

void
supervisor_free(struct supervisor *sup)
{
	size_t	 i;

	if (sup == NULL)
		return;
	for (i = 0; i < sup->ngens; i++)
		generation_free(sup->gens[i]);
	free(sup->gens);
	if (sup->initial_sockets != NULL)
		sockets_unref(sup->initial_sockets,
		    sup->initial->nsockets);
	config_free(sup->initial);
	command_free(sup->reload_env);
	pidfile_free(sup->pidfile);
	metrics_free(sup->metrics);
	/* A check under way is killed and reaped. */
	handover_free(sup->handover);
	reaper_free(sup->reaper);
	rollout_free(sup->rollout);
	/* Last: a `baton stop` client returns when this connection closes. */
	control_free(sup->control);
	for (i = 0; i < sup->nsignals; i++)
		event_free(sup->signals[i]);
	if (sup->cleanup != NULL)
		event_free(sup->cleanup);
	if (sup->rolling != NULL)
		event_free(sup->rolling);
	if (sup->reload_later != NULL)
		event_free(sup->reload_later);
	if (sup->recycle != NULL)
		event_free(sup->recycle);
	if (sup->stop_delay != NULL)
		event_free(sup->stop_delay);
	notify_free(sup->notify);
	/* After the generations, before the loop: its pipes are events. */
	output_free(sup->output);
	if (sup->base != NULL) {
		log_set_base(NULL);
		event_base_free(sup->base);
	}
	record_clear(&sup->record);
	free(sup->control_path);
	free(sup->pidfile_path);
	free(sup);
}

int
supervisor_run(struct supervisor *sup)
{
	struct generation	*g;
	struct config		*cfg = sup->initial;
	struct socket		**sockets = sup->initial_sockets;

	sup->initial = NULL;
	sup->initial_sockets = NULL;
	if (cfg != NULL) {
		g = supervisor_add_generation(sup, cfg, sockets);
		if (generation_start(g) == 0)
			rollout_route(sup->rollout, sup->gens, sup->ngens);
	} else {
		/*
		 * Upgraded in place: trace what the workers left to baton,
		 * and reap whoever exited meanwhile.
		 */
		reaper_adopt(sup->reaper);
		reaper_reap(sup->reaper, 0);
		supervisor_notify_ready(sup);
	}
	sockets_store(sup->gens, sup->ngens);
	while (sup->state != SUPERVISOR_DONE) {
		event_base_dispatch(sup->base);
		if (!handover_jumping(sup->handover))
			break;
		handover_jump(sup->handover);
	}
	return sup->exit_code;
}

static void
supervisor_fill_status(void *arg, struct status *st)
{
	struct supervisor	*sup = arg;

	record_status(&sup->record, st);
	st->state = sup->state == SUPERVISOR_RUNNING ? "running" : "stopping";
	st->gens = sup->gens;
	st->ngens = sup->ngens;
	st->output = sup->output != NULL ? output_path(sup->output) : NULL;
	if (sup->output != NULL)
		output_counters(sup->output, &st->output_counters);
}

static void
supervisor_status(void *arg, struct evbuffer *out, int json)
{
	struct status		 st;

	supervisor_fill_status(arg, &st);
	status_render(&st, out, json);
}
