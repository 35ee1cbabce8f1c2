#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "channel.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "exitcode.h"
#include "generation.h"
#include "keeper.h"
#include "log.h"
#include "notify.h"
#include "pidfile.h"
#include "proc.h"
#include "signame.h"
#include "socket.h"
#include "state.h"
#include "status.h"
#include "stray.h"
#include "supervisor.h"
#include "systemd.h"
#include "upgrade.h"
#include "worker.h"
#include "xmalloc.h"

enum reload_outcome {
	RELOAD_NONE,
	RELOAD_OK,
	RELOAD_ROLLED_BACK,
	RELOAD_FAILED		/* bad file or socket: nothing started */
};

static const char *const reload_outcome_names[] = {
	"none", "ok", "rolled back", "failed"
};

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

/*
 * An upgrade in place (SIGUSR2), from the ask to the exec; asked for
 * again while one is under way, it is the same one.
 */
enum upgrade_phase {
	UPGRADE_NONE,
	UPGRADE_WAITING,	/* until settled, looked at every 100 ms */
	UPGRADE_CHECKING,	/* the candidate's dry run (check) runs */
	UPGRADE_JUMPING		/* it passed: signals blocked, loop left */
};

static const char *const upgrade_phase_names[] = {
	"none", "waiting", "checking", "jumping"
};

enum supervisor_state {
	SUPERVISOR_RUNNING,
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
	struct event		*signals[6];
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
	time_t			 started;	/* wall clock, for status */
	long long		 started_ms;

	/* The reload in progress, and the last one's outcome. */
	enum reload_phase	 reload;
	int			 reload_gen;	/* its generation; 0: none */
	long long		 reload_t0;
	/* A reload's clients, told once the older generations are gone. */
	int			 settle_gen;	/* 0: none waits */
	long long		 settle_ms;
	enum reload_outcome	 last_outcome;
	long long		 last_duration;
	time_t			 last_at;
	char			*last_reason;

	int			 reloads;
	int			 rollbacks;
	int			 crashes;
	int			 killed;
	int			 upgrades;

	/* Ends what came from the workers if baton dies. */
	struct keeper		*keeper;

	/* Left to baton by a worker's process, traced to no worker. */
	struct strays		*strays;

	enum upgrade_phase	 upgrade;
	struct event		*upgrade_timer;	/* while waiting */
	/* The candidate's dry run of the state, in its two memfds. */
	struct upgrade_check	*check;
	int			 check_sfd;
	int			 check_cfd;
	int			 check_gen;
};

static void	supervisor_reload(struct supervisor *);
static void	supervisor_stop(struct supervisor *, int code);
static void	supervisor_upgrade(struct supervisor *);
static void	supervisor_end_strays(struct supervisor *);
static void	supervisor_checked(struct supervisor *, int status);
static void	supervisor_check_end(struct supervisor *);

/* A phase's move, logged as the worker and generation states are. */
static void
supervisor_phase_log(const char *what, const char *const *names, int from,
    int to)
{
	if (from != to)
		log_debug("%s: %s -> %s", what, names[from], names[to]);
}

static void
supervisor_set_reload(struct supervisor *sup, enum reload_phase phase)
{
	supervisor_phase_log("reload", reload_phase_names, sup->reload, phase);
	sup->reload = phase;
}

static void
supervisor_set_upgrade(struct supervisor *sup, enum upgrade_phase phase)
{
	supervisor_phase_log("upgrade", upgrade_phase_names, sup->upgrade,
	    phase);
	sup->upgrade = phase;
}

/* What the generations tell the supervisor. */
static void	supervisor_generation_changed(struct generation *, void *);

static void
supervisor_count_crash(struct generation *g, void *arg)
{
	struct supervisor	*sup = arg;

	sup->crashes++;
}

static void
supervisor_count_killed(struct generation *g, void *arg)
{
	struct supervisor	*sup = arg;

	sup->killed++;
}

static const struct generation_ops supervisor_generation_ops = {
	supervisor_generation_changed,
	supervisor_count_crash,
	supervisor_count_killed
};

/* What a new generation is handed: the loop, NOTIFY_SOCKET, the ops. */
static void
supervisor_generation_env(struct supervisor *sup, struct generation_env *env)
{
	env->base = sup->base;
	env->notify_path = notify_path(sup->notify);
	env->sys = NULL;
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

/* The longest drain_timeout of a live generation: the keeper's wait. */
static long
supervisor_drain_max(struct supervisor *sup)
{
	long	 ms = 0, t;
	size_t	 i;

	for (i = 0; i < sup->ngens; i++)
		if ((t = generation_config(sup->gens[i])->drain_timeout) > ms)
			ms = t;
	return ms;
}

/*
 * Bind what cfg needs, reusing every socket a live generation already
 * holds on the same address: its descriptor and accept queue are never
 * touched. Returns an array of new references, or NULL with *error set.
 */
static struct socket **
supervisor_sockets(struct supervisor *sup, const struct config *cfg,
    char **error)
{
	struct socket	**out, *s;
	const char	 *how;
	size_t		  i, j, k;
	int		  fd;

	out = xcalloc(cfg->nsockets, sizeof(*out));
	for (i = 0; i < cfg->nsockets; i++) {
		for (j = sup->ngens; out[i] == NULL && j-- > 0;) {
			for (k = 0; (s = generation_socket(sup->gens[j], k)) !=
			    NULL; k++) {
				if (socket_matches(s, &cfg->sockets[i])) {
					out[i] = socket_ref(s);
					break;
				}
			}
		}
		if (out[i] == NULL &&
		    (fd = systemd_take_fd(cfg, i, &how)) != -1) {
			if ((out[i] = socket_adopt(&cfg->sockets[i], fd,
			    error)) != NULL)
				log_info("socket %s: adopted from the service "
				    "manager (fd %d, %s)", cfg->sockets[i].name,
				    fd, how);
		} else if (out[i] == NULL)
			out[i] = socket_open(&cfg->sockets[i], error);
		if (out[i] == NULL) {
			while (i-- > 0)
				socket_unref(out[i]);
			free(out);
			return NULL;
		}
	}
	/* Only once everything is bound, so a failed reload changes nothing. */
	for (i = 0; i < cfg->nsockets; i++) {
		if (socket_update(out[i], &cfg->sockets[i], error) == -1) {
			log_warn("%s", *error);
			free(*error);
			*error = NULL;
		}
	}
	return out;
}

static void
supervisor_unref_sockets(struct socket **sockets, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		socket_unref(sockets[i]);
	free(sockets);
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
	supervisor_unref_sockets(sockets, n);
	sup->gens = xreallocarray(sup->gens, sup->ngens + 1,
	    sizeof(*sup->gens));
	sup->gens[sup->ngens++] = g;
	keeper_set_deadline(sup->keeper, supervisor_drain_max(sup));
	return g;
}

static void
supervisor_outcome(struct supervisor *sup, enum reload_outcome outcome,
    const char *reason)
{
	sup->last_outcome = outcome;
	sup->last_duration = clock_ms() - sup->reload_t0;
	sup->last_at = time(NULL);
	free(sup->last_reason);
	sup->last_reason = reason != NULL ? xstrdup(reason) : NULL;
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
	supervisor_outcome(sup, RELOAD_FAILED, error);
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
}

static void
supervisor_reload(struct supervisor *sup)
{
	struct generation	*g;
	struct config		*cfg;
	struct socket		**sockets;
	char			*error = NULL;

	if (sup->state != SUPERVISOR_RUNNING) {
		control_reload_failed(sup->control, "error baton is stopping");
		return;
	}
	if (supervisor_find_state(sup, GENERATION_STARTING) != NULL) {
		/* Coalesced: one more reload once this one settles. */
		if (sup->reload != RELOAD_QUEUED)
			log_info("reload: a generation is starting; "
			    "reloading again once it settles");
		supervisor_set_reload(sup, RELOAD_QUEUED);
		return;
	}
	supervisor_set_reload(sup, RELOAD_IDLE);
	sup->reloads++;
	sup->reload_t0 = clock_ms();
	systemd_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    clock_us());
	log_info("reload: reading the configuration");
	if ((cfg = sup->load(sup->load_arg, &error)) == NULL) {
		supervisor_reload_failed(sup, "config: ", error);
		free(error);
		return;
	}
	supervisor_warn_fixed(sup, cfg);
	if ((sockets = supervisor_sockets(sup, cfg, &error)) == NULL) {
		supervisor_reload_failed(sup, "", error);
		free(error);
		config_free(cfg);
		return;
	}
	g = supervisor_add_generation(sup, cfg, sockets);
	sup->reload_gen = generation_number(g);
	supervisor_set_reload(sup, RELOAD_STARTING);
	control_reload_started(sup->control, sup->reload_gen);
	generation_start(g);
}

/* The control socket's commands. */
static void
supervisor_control_reload(void *arg)
{
	supervisor_reload(arg);
}

static void
supervisor_control_stop(void *arg)
{
	supervisor_stop(arg, 0);
}

static void	supervisor_status(void *, struct evbuffer *, int);

static const struct control_ops supervisor_control_ops = {
	supervisor_control_reload,
	supervisor_control_stop,
	supervisor_status
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
	supervisor_settle(sup);
	if (sup->state == SUPERVISOR_STOPPING && sup->ngens == 0) {
		supervisor_end_strays(sup);
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

	switch (generation_state(g)) {
	case GENERATION_ACTIVE:
		/* Every older active generation now drains. */
		for (i = 0; i < sup->ngens; i++)
			if (sup->gens[i] != g &&
			    generation_state(sup->gens[i]) == GENERATION_ACTIVE)
				generation_drain(sup->gens[i]);
		if (n == sup->reload_gen) {
			supervisor_outcome(sup, RELOAD_OK, NULL);
			supervisor_reload_done(sup);
			sup->settle_gen = n;
			sup->settle_ms = sup->last_duration;
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
		sup->rollbacks++;
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
			supervisor_outcome(sup, RELOAD_ROLLED_BACK,
			    generation_failure(g));
			supervisor_reload_done(sup);
			line = xprintf("error generation %d rolled back: %s; "
			    "generation %d keeps serving", n,
			    generation_failure(g), generation_number(active));
			control_reload_finished(sup->control, n, 0, line);
			free(line);
			supervisor_notify_ready(sup);
		}
		if (sup->reload == RELOAD_QUEUED)
			supervisor_reload(sup);
		break;
	case GENERATION_GONE:
		/* Not now: the caller may still be walking the generation. */
		event_active(sup->cleanup, EV_TIMEOUT, 0);
		break;
	default:
		break;
	}
}

static void
supervisor_stop(struct supervisor *sup, int code)
{
	size_t	 i;

	if (sup->state != SUPERVISOR_RUNNING)
		return;
	sup->state = SUPERVISOR_STOPPING;
	sup->exit_code = code;
	supervisor_check_end(sup);
	systemd_notify("STOPPING=1\nSTATUS=stopping");
	log_info("stopping: draining every generation");
	if (sup->reload_gen != 0)
		control_reload_finished(sup->control, sup->reload_gen, 0,
		    "error baton is stopping");
	control_reload_failed(sup->control, "error baton is stopping");
	for (i = 0; i < sup->ngens; i++) {
		generation_roll_back(sup->gens[i], "baton is stopping");
		generation_drain(sup->gens[i]);
	}
	/* They get the last generation's signal, and are killed at the end. */
	if (sup->ngens > 0)
		stray_kill(sup->strays, generation_config(
		    sup->gens[sup->ngens - 1])->drain_signal, 0);
	event_active(sup->cleanup, EV_TIMEOUT, 0);
}

/* Give what workers left to baton to them; keep the rest as strays. */
static void
supervisor_adopt(struct supervisor *sup)
{
	pid_t	 ours[2] = { 0, 0 };

	if (sup->keeper != NULL)
		ours[0] = keeper_pid(sup->keeper);
	if (sup->check != NULL)
		ours[1] = upgrade_check_pid(sup->check);
	stray_adopt(sup->strays, sup->gens, sup->ngens, ours, 2);
}

static void
supervisor_start_keeper(struct supervisor *sup, long drain_ms)
{
	if ((sup->keeper = keeper_new(drain_ms)) == NULL)
		log_warn("cannot start the keeper (%s): if baton dies, what "
		    "ignores its drain signal outlives it", strerror(errno));
}

/* A child that was no worker's: one stray fewer, if it was one. */
static void
supervisor_reaped_other(struct supervisor *sup, pid_t pid, int status)
{

	if (sup->keeper != NULL && pid == keeper_pid(sup->keeper)) {
		log_warn("the keeper (pid %ld) exited (%s %d); starting another",
		    (long)pid, WIFEXITED(status) ? "status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		keeper_free(sup->keeper);
		supervisor_start_keeper(sup, supervisor_drain_max(sup));
		return;
	}

	if (!stray_reaped(sup->strays, pid))
		log_debug("reaped pid %ld, not a worker's", (long)pid);
}

/* Stopping, and every generation is gone: end what no worker claimed. */
static void
supervisor_end_strays(struct supervisor *sup)
{
	long long	 deadline;
	size_t		 n = stray_count(sup->strays);
	pid_t		 pid;
	int		 status;

	if (n == 0)
		return;
	log_warn("stopping: killing %zu process%s that came from no known "
	    "worker", n, n == 1 ? "" : "es");
	stray_kill(sup->strays, SIGKILL, 1);
	stray_kill(sup->strays, SIGKILL, 0);
	/* Killed, they exit at once; bounded all the same. */
	deadline = clock_ms() + 5000;
	while (stray_count(sup->strays) > 0 && clock_ms() < deadline) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			supervisor_reaped_other(sup, pid, status);
			continue;
		}
		if (pid == -1 && errno != EINTR)
			break;
		/* What they left is left to baton in turn. */
		supervisor_adopt(sup);
		stray_kill(sup->strays, SIGKILL, 1);
		usleep(10000);
	}
}

#define REAP_BATCH	64

/*
 * Reap every child that has exited (with block, wait for one). Returns
 * how many, or -1 when baton has no child left to wait for.
 */
static int
supervisor_reap(struct supervisor *sup, int block)
{
	struct {
		pid_t	 pid;
		int	 status;
	}		 dead[REAP_BATCH];
	struct worker	*w;
	pid_t		 pid;
	size_t		 i, n;
	int		 status, total = 0;

	do {
		for (n = 0; n < REAP_BATCH;) {
			pid = waitpid(-1, &status, block && total == 0 &&
			    n == 0 ? 0 : WNOHANG);
			if (pid == -1 && errno == EINTR)
				continue;
			if (pid == -1 && errno == ECHILD && block &&
			    total == 0 && n == 0)
				return -1;
			if (pid <= 0)
				break;
			dead[n].pid = pid;
			dead[n++].status = status;
		}
		if (n == 0)
			break;
		/*
		 * Those they left behind were given to baton before it was
		 * told of their exit: find them first, so that a worker whose
		 * main process exited knows it is not gone yet.
		 */
		supervisor_adopt(sup);
		for (i = 0; i < n; i++) {
			if (sup->check != NULL &&
			    dead[i].pid == upgrade_check_pid(sup->check))
				supervisor_checked(sup, dead[i].status);
			else if ((w = supervisor_find_worker(sup,
			    dead[i].pid)) != NULL)
				worker_reaped(w, dead[i].pid, dead[i].status);
			else
				supervisor_reaped_other(sup, dead[i].pid,
				    dead[i].status);
		}
		total += (int)n;
	} while (n == REAP_BATCH);
	/* The last process of a draining generation may be gone. */
	for (i = 0; total > 0 && i < sup->ngens; i++)
		generation_recheck(sup->gens[i]);
	return total;
}

/* Fast stop: SIGKILL every group, reap them, and leave. */
static void
supervisor_kill_all(struct supervisor *sup)
{
	size_t	 i, alive;

	log_warn("fast stop: killing every worker now");
	if (sup->state == SUPERVISOR_RUNNING)
		systemd_notify("STOPPING=1\nSTATUS=stopping at once");
	sup->state = SUPERVISOR_STOPPING;
	supervisor_check_end(sup);
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
		if (supervisor_reap(sup, 1) == -1)
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
		supervisor_reap(sup, 0);
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
	case SIGUSR2:
		log_info("SIGUSR2: upgrade baton in place");
		supervisor_upgrade(sup);
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

/* Upgrading in place (SIGUSR2). */

/*
 * Settled enough to hand over: one generation, active, and no worker of
 * it on its way up. Else *why says what is under way.
 */
static int
supervisor_upgrade_ready(struct supervisor *sup, const char **why)
{
	struct generation	*g;
	enum worker_state	 ws;
	size_t			 i;

	if (sup->ngens == 1 && sup->reload_gen == 0 &&
	    generation_state(sup->gens[0]) == GENERATION_STARTING) {
		*why = "the first generation is starting";
		return 0;
	}
	if (sup->ngens != 1 || sup->reload != RELOAD_IDLE ||
	    generation_state(sup->gens[0]) != GENERATION_ACTIVE) {
		*why = "a reload is under way";
		return 0;
	}
	g = sup->gens[0];
	for (i = 0; i < generation_nworkers(g); i++) {
		ws = worker_state(generation_worker(g, i));
		if (ws != WORKER_ACTIVE && ws != WORKER_EXITED) {
			*why = "a worker is restarting";
			return 0;
		}
	}
	return 1;
}

/*
 * The state the new image needs: sup's, its generation's, each socket's
 * and each worker's. The arrays in st are new; the strings are sup's.
 */
static void
supervisor_save(struct supervisor *sup, struct state *st, int cfd)
{
	struct generation	*g = sup->gens[0];
	const struct config	*c = generation_config(g);
	size_t			 i;

	memset(st, 0, sizeof(*st));
	st->from = PACKAGE_VERSION;
	st->started = (long long)sup->started;
	st->started_ms = sup->started_ms;
	st->reloads = sup->reloads;
	st->rollbacks = sup->rollbacks;
	st->crashes = sup->crashes;
	st->killed = sup->killed;
	st->upgrades = sup->upgrades + 1;
	st->last_outcome = (int)sup->last_outcome;
	st->last_duration = sup->last_duration;
	st->last_at = (long long)sup->last_at;
	st->last_reason = sup->last_reason;
	st->next_number = sup->next_number;
	st->notify_fd = notify_fd(sup->notify);
	st->control_fd = sup->control != NULL ? control_fd(sup->control) : -1;
	st->control_path = sup->control_path;
	st->pidfile_fd = sup->pidfile != NULL ? pidfile_fd(sup->pidfile) : -1;
	st->pidfile_path = sup->pidfile_path;
	st->keeper_fd = keeper_fd(sup->keeper);
	st->keeper_pid = (long)keeper_pid(sup->keeper);
	st->config_fd = cfd;
	st->config_file = c->file;
	st->generation = generation_number(g);
	st->generation_started = generation_started(g);
	st->nsockets = c->nsockets;
	st->sockets = xcalloc(st->nsockets, sizeof(*st->sockets));
	for (i = 0; i < st->nsockets; i++)
		socket_save(generation_socket(g, i), &st->sockets[i]);
	st->nworkers = generation_nworkers(g);
	st->workers = xcalloc(st->nworkers, sizeof(*st->workers));
	for (i = 0; i < st->nworkers; i++)
		worker_save(generation_worker(g, i), &st->workers[i]);
}

/*
 * The state as it is now, in two new memfds; with fds, the descriptors
 * that must cross the exec. Returns 0, or -1 with *error set.
 */
static int
supervisor_write_state(struct supervisor *sup, int *sfd, int *cfd, int **fds,
    size_t *nfds, char **error)
{
	struct state	 st;
	int		 rc;

	*cfd = -1;
	if ((*sfd = upgrade_memfd("baton-upgrade")) == -1 ||
	    (*cfd = upgrade_memfd("baton-config")) == -1) {
		*error = xprintf("memfd_create: %s", strerror(errno));
		rc = -1;
	} else {
		supervisor_save(sup, &st, *cfd);
		rc = state_write(&st, generation_config(sup->gens[0]), *sfd,
		    error);
		if (rc == 0 && fds != NULL)
			*fds = state_fds(&st, nfds);
		free(st.sockets);
		free(st.workers);
	}
	if (rc == -1) {
		if (*sfd != -1)
			close(*sfd);
		if (*cfd != -1)
			close(*cfd);
	}
	return rc;
}

/*
 * exec ourselves with the state; returns only if that failed. The
 * handled signals are blocked: one that comes now stays pending across
 * the exec, for the new image.
 */
static void
supervisor_handover(struct supervisor *sup)
{
	const char	*notify_socket = systemd_socket_path();
	char		*error = NULL;
	size_t		 nfds = 0;
	int		*fds = NULL, sfd, cfd;

	/* Afresh: workers and counters may have moved during the check. */
	if (supervisor_write_state(sup, &sfd, &cfd, &fds, &nfds,
	    &error) == -1) {
		log_error("upgrade failed, baton carries on as it was: %s",
		    error);
		free(error);
		return;
	}
	log_info("upgrade: exec with generation %d and its %zu worker%s",
	    generation_number(sup->gens[0]),
	    generation_nworkers(sup->gens[0]),
	    generation_nworkers(sup->gens[0]) == 1 ? "" : "s");
	/* The new image reports to the service manager too. */
	if (notify_socket != NULL)
		setenv("NOTIFY_SOCKET", notify_socket, 1);
	upgrade_exec(sfd, fds, nfds, &error);
	unsetenv("NOTIFY_SOCKET");
	log_error("upgrade failed, baton carries on as it was: %s", error);
	free(error);
	free(fds);
	close(sfd);
	close(cfd);
}

/*
 * Start the candidate's dry run of the state as it is now. It runs beside
 * the loop, which serves meanwhile; its end comes through the reaper.
 */
static void
supervisor_check(struct supervisor *sup)
{
	char	*error = NULL;
	int	 sfd, cfd;

	if (supervisor_write_state(sup, &sfd, &cfd, NULL, NULL,
	    &error) == -1)
		goto fail;
	if ((sup->check = upgrade_check_new(sup->base, sfd, cfd,
	    &error)) == NULL) {
		close(sfd);
		close(cfd);
		goto fail;
	}
	sup->check_sfd = sfd;
	sup->check_cfd = cfd;
	sup->check_gen = generation_number(sup->gens[0]);
	supervisor_set_upgrade(sup, UPGRADE_CHECKING);
	log_info("upgrade: checking that %s can take the state over",
	    upgrade_binary());
	return;
fail:
	log_error("upgrade failed, baton carries on as it was: %s", error);
	free(error);
}

/* The check is over, or cancelled: it and its memfds go. */
static void
supervisor_check_end(struct supervisor *sup)
{
	if (sup->check == NULL)
		return;
	if (upgrade_check_pid(sup->check) > 0)
		log_info("upgrade: cancelled, baton is stopping");
	upgrade_check_free(sup->check);
	sup->check = NULL;
	supervisor_set_upgrade(sup, UPGRADE_NONE);
	close(sup->check_sfd);
	close(sup->check_cfd);
}

/*
 * The check's process exited (reaped). If it passed, the jump is decided:
 * block the handled signals now, and leave the loop, since an exec from
 * inside a callback would lose what libevent has already taken in (a
 * SIGTERM caught just before, its byte in libevent's signal pipe or its
 * event active behind this one). supervisor_run() goes on.
 */
static void
supervisor_checked(struct supervisor *sup, int status)
{
	char	*error = NULL;
	int	 rc;

	rc = upgrade_check_done(sup->check, status, &error);
	supervisor_check_end(sup);
	if (rc == -1) {
		log_error("upgrade failed, baton carries on as it was: %s",
		    error);
		free(error);
		return;
	}
	if (sup->state != SUPERVISOR_RUNNING)
		return;
	sigprocmask(SIG_BLOCK, &sup->handled, NULL);
	supervisor_set_upgrade(sup, UPGRADE_JUMPING);
	event_base_loopbreak(sup->base);
}

/*
 * Out of the loop, signals blocked: one non-blocking pass acts on every
 * signal caught before the block, and on whatever else was due. A stop
 * there stops baton rather than the upgrade's going on; a reload makes
 * the upgrade wait for it. Only then the exec: what comes after the block
 * stays pending across it, and the new image acts on it once it watches
 * its signals.
 */
static void
supervisor_jump(struct supervisor *sup)
{
	const char	*why;
	int		 again = 0;

	event_base_loop(sup->base, EVLOOP_NONBLOCK);
	supervisor_set_upgrade(sup, UPGRADE_NONE);
	if (sup->state == SUPERVISOR_RUNNING) {
		/* What was checked must still be what is handed over. */
		if (supervisor_upgrade_ready(sup, &why) &&
		    generation_number(sup->gens[0]) == sup->check_gen)
			supervisor_handover(sup);
		else {
			log_info("upgrade: the service changed during the "
			    "check; checking again once it settles");
			again = 1;
		}
	}
	sigprocmask(SIG_UNBLOCK, &sup->handled, NULL);
	if (again)
		supervisor_upgrade(sup);
}

static void
supervisor_upgrade(struct supervisor *sup)
{
	struct timeval	 tv;
	const char	*why;

	if (sup->state != SUPERVISOR_RUNNING) {
		if (sup->upgrade == UPGRADE_WAITING) {
			log_info("upgrade: baton is stopping; not upgrading");
			supervisor_set_upgrade(sup, UPGRADE_NONE);
		}
		return;
	}
	if (sup->upgrade == UPGRADE_CHECKING ||
	    sup->upgrade == UPGRADE_JUMPING) {
		log_info("upgrade: already checking %s; one upgrade will do",
		    upgrade_binary());
		return;
	}
	if (!supervisor_upgrade_ready(sup, &why)) {
		if (sup->upgrade != UPGRADE_WAITING)
			log_info("upgrade: %s; upgrading once it settles", why);
		supervisor_set_upgrade(sup, UPGRADE_WAITING);
		tv = clock_tv(100);
		evtimer_add(sup->upgrade_timer, &tv);
		return;
	}
	supervisor_set_upgrade(sup, UPGRADE_NONE);
	supervisor_check(sup);
}

static void
supervisor_upgrade_retry(evutil_socket_t fd, short what, void *arg)
{
	supervisor_upgrade(arg);
}

/* A supervisor with nothing in it yet. */
static struct supervisor *
supervisor_alloc(supervisor_load_fn load, void *arg)
{
	struct supervisor	*sup;

	event_set_log_callback(log_libevent);
	sup = xcalloc(1, sizeof(*sup));
	sup->notify_limit.what = "notify socket: ignored datagrams";
	sup->strays = stray_new();
	sup->load = load;
	sup->load_arg = arg;
	return sup;
}

/* Signals, the cleanup event, the upgrade timer: every supervisor's. */
static int
supervisor_events(struct supervisor *sup, char **error)
{
	static const int	 sigs[] = {
		SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR2
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
	sup->upgrade_timer = evtimer_new(sup->base, supervisor_upgrade_retry,
	    sup);
	if (sup->cleanup == NULL || sup->upgrade_timer == NULL) {
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

	sup = supervisor_alloc(load, arg);
	sup->started = time(NULL);
	sup->started_ms = clock_ms();
	if ((sup->initial = load(arg, error)) == NULL) {
		*code = EXIT_CONFIG;
		goto fail;
	}
	*code = EXIT_FAILED;
	if (sup->initial->control != NULL)
		sup->control_path = xstrdup(sup->initial->control);
	if (sup->initial->pidfile != NULL)
		sup->pidfile_path = xstrdup(sup->initial->pidfile);
	if ((sup->base = event_base_new()) == NULL) {
		*error = xstrdup("event_base_new failed");
		goto fail;
	}
	/* Before the sockets: a second baton must say who runs, not EADDRINUSE. */
	if (sup->initial->control != NULL && (sup->control = control_new(
	    sup->base, &supervisor_control_ops, sup, sup->initial->control,
	    -1, error)) == NULL)
		goto fail;
	if (sup->initial->pidfile != NULL && (sup->pidfile = pidfile_new(
	    sup->initial->pidfile, -1, error)) == NULL)
		goto fail;
	if ((sup->initial_sockets = supervisor_sockets(sup, sup->initial,
	    error)) == NULL)
		goto fail;
	systemd_close_unused();
	if ((sup->notify = notify_new(sup->base, supervisor_notified,
	    sup, -1)) == NULL) {
		*error = xprintf("notify socket: %s", strerror(errno));
		goto fail;
	}
	if (supervisor_events(sup, error) == -1)
		goto fail;
	supervisor_start_keeper(sup, sup->initial->drain_timeout);
	return sup;
fail:
	supervisor_free(sup);
	return NULL;
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
	struct generation	*g;
	struct generation_env	 env;
	struct socket		**sockets;
	struct state		 st;
	char			*why = NULL;
	size_t			 i;

	if (state_read(sfd, &st, &why) == -1) {
		*error = xprintf("upgrade: %s", why);
		free(why);
		close(sfd);
		return NULL;
	}
	close(sfd);
	close(st.config_fd);
	log_info("upgrade: taking over from baton %s",
	    st.from != NULL ? st.from : "(unknown)");
	sup = supervisor_alloc(load, arg);
	sup->started = (time_t)st.started;
	sup->started_ms = st.started_ms;
	sup->reloads = st.reloads;
	sup->rollbacks = st.rollbacks;
	sup->crashes = st.crashes;
	sup->killed = st.killed;
	sup->upgrades = st.upgrades;
	sup->last_outcome = (enum reload_outcome)st.last_outcome;
	sup->last_duration = st.last_duration;
	sup->last_at = (time_t)st.last_at;
	if (st.last_reason != NULL)
		sup->last_reason = xstrdup(st.last_reason);
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
	if (st.keeper_fd != -1 && (sup->keeper = keeper_restore(
	    (pid_t)st.keeper_pid, st.keeper_fd)) == NULL)
		log_warn("upgrade: the keeper's pipe: %s", strerror(errno));
	/* An image before the keeper had none. */
	if (sup->keeper == NULL)
		supervisor_start_keeper(sup, st.config->drain_timeout);
	sockets = xcalloc(st.nsockets, sizeof(*sockets));
	for (i = 0; i < st.nsockets; i++)
		sockets[i] = socket_restore(&st.config->sockets[i],
		    &st.sockets[i]);
	supervisor_generation_env(sup, &env);
	g = generation_restore(&env, st.generation, st.config, sockets,
	    st.generation_started);
	st.config = NULL;	/* the generation's now */
	sup->gens = xcalloc(1, sizeof(*sup->gens));
	sup->gens[sup->ngens++] = g;
	for (i = 0; i < st.nworkers; i++)
		worker_restore(generation_worker(g, i), &st.workers[i]);
	/* Held by the generation now. */
	supervisor_unref_sockets(sockets, st.nsockets);
	if (supervisor_events(sup, error) == -1)
		goto fail;
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
	supervisor_check_end(sup);
	for (i = 0; i < sup->ngens; i++)
		generation_free(sup->gens[i]);
	free(sup->gens);
	if (sup->initial_sockets != NULL)
		supervisor_unref_sockets(sup->initial_sockets,
		    sup->initial->nsockets);
	config_free(sup->initial);
	pidfile_free(sup->pidfile);
	keeper_free(sup->keeper);
	/* Last: a `baton stop` client returns when this connection closes. */
	control_free(sup->control);
	for (i = 0; i < sup->nsignals; i++)
		event_free(sup->signals[i]);
	if (sup->cleanup != NULL)
		event_free(sup->cleanup);
	if (sup->upgrade_timer != NULL)
		event_free(sup->upgrade_timer);
	stray_free(sup->strays);
	notify_free(sup->notify);
	if (sup->base != NULL) {
		log_set_base(NULL);
		event_base_free(sup->base);
	}
	free(sup->last_reason);
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
		generation_start(g);
	} else {
		/*
		 * Upgraded in place: trace what the workers left to baton,
		 * and reap whoever exited meanwhile.
		 */
		supervisor_adopt(sup);
		supervisor_reap(sup, 0);
		supervisor_notify_ready(sup);
	}
	while (sup->state != SUPERVISOR_DONE) {
		event_base_dispatch(sup->base);
		if (sup->upgrade != UPGRADE_JUMPING)
			break;
		supervisor_jump(sup);
	}
	return sup->exit_code;
}

static void
supervisor_status(void *arg, struct evbuffer *out, int json)
{
	struct supervisor	*sup = arg;
	struct status	 st = {
		.state = sup->state == SUPERVISOR_RUNNING ? "running" :
		    "stopping",
		.started_ms = sup->started_ms,
		.gens = sup->gens,
		.ngens = sup->ngens,
		.last_outcome = sup->last_outcome == RELOAD_NONE ? NULL :
		    reload_outcome_names[sup->last_outcome],
		.last_duration = sup->last_duration,
		.last_at = sup->last_at,
		.last_reason = sup->last_reason,
		.reloads = sup->reloads,
		.rollbacks = sup->rollbacks,
		.crashes = sup->crashes,
		.killed = sup->killed,
		.upgrades = sup->upgrades
	};

	status_render(&st, out, json);
}
