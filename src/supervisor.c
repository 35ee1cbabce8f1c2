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
#include "generation.h"
#include "keeper.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "pidfile.h"
#include "proc.h"
#include "socket.h"
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
	int			 reload_pending;
	int			 reload_gen;	/* starting; 0: none */
	long long		 reload_t0;
	int			 settle_gen;	/* active; waits for older ones */
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
	pid_t			*strays;
	size_t			 nstrays;

	/* SIGUSR2 came while a reload was under way: upgrade once settled. */
	int			 upgrade_pending;
	struct event		*upgrade_timer;
};

static void	supervisor_reload(struct supervisor *);
static void	supervisor_stop(struct supervisor *, int code);
static void	supervisor_upgrade(struct supervisor *);
static void	supervisor_end_strays(struct supervisor *);

struct event_base *
supervisor_base(const struct supervisor *sup)
{
	return sup->base;
}

const char *
supervisor_notify_path(const struct supervisor *sup)
{
	return notify_path(sup->notify);
}

void
supervisor_count_crash(struct supervisor *sup)
{
	sup->crashes++;
}

void
supervisor_count_killed(struct supervisor *sup)
{
	sup->killed++;
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
	size_t			 n = cfg->nsockets;

	g = generation_new(sup, ++sup->next_number, cfg, sockets);
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
	struct timespec		 ts;
	char			*error = NULL;

	if (sup->state != SUPERVISOR_RUNNING) {
		control_reload_failed(sup->control, "error baton is stopping");
		return;
	}
	if (supervisor_find_state(sup, GENERATION_STARTING) != NULL) {
		/* Coalesced: one more reload once this one settles. */
		if (!sup->reload_pending)
			log_info("reload: a generation is starting; "
			    "reloading again once it settles");
		sup->reload_pending = 1;
		return;
	}
	sup->reload_pending = 0;
	sup->reloads++;
	sup->reload_t0 = clock_ms();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	systemd_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
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
	control_reload_started(sup->control, sup->reload_gen);
	generation_start(g);
}

void
supervisor_request_reload(struct supervisor *sup)
{
	supervisor_reload(sup);
}

void
supervisor_request_stop(struct supervisor *sup)
{
	supervisor_stop(sup, 0);
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

void
supervisor_generation_changed(struct supervisor *sup, struct generation *g)
{
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
			sup->reload_gen = 0;
			sup->settle_gen = n;
			sup->settle_ms = sup->last_duration;
			supervisor_settle(sup);
		}
		supervisor_notify_ready(sup);
		if (sup->state == SUPERVISOR_STOPPING)
			generation_drain(g);
		else if (sup->reload_pending)
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
			supervisor_stop(sup, 1);
			break;
		}
		log_info("generation %d keeps serving",
		    generation_number(active));
		if (n == sup->reload_gen) {
			supervisor_outcome(sup, RELOAD_ROLLED_BACK,
			    generation_failure(g));
			sup->reload_gen = 0;
			line = xprintf("error generation %d rolled back: %s; "
			    "generation %d keeps serving", n,
			    generation_failure(g), generation_number(active));
			control_reload_finished(sup->control, n, 0, line);
			free(line);
			supervisor_notify_ready(sup);
		}
		if (sup->reload_pending)
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
	for (i = 0; sup->ngens > 0 && i < sup->nstrays; i++)
		(void)kill(sup->strays[i], generation_config(
		    sup->gens[sup->ngens - 1])->drain_signal);
	event_active(sup->cleanup, EV_TIMEOUT, 0);
}

static int
supervisor_pid_cmp(const void *a, const void *b)
{
	pid_t	 x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Every process baton knows as a worker's, sorted; their count in *n. */
static pid_t *
supervisor_known_pids(struct supervisor *sup, size_t *n)
{
	struct generation	*g;
	struct worker		*w;
	pid_t			*pids = NULL;
	size_t			 i, j, k, size = 0;

	*n = 0;
	for (i = 0; i < sup->ngens; i++) {
		g = sup->gens[i];
		for (j = 0; (w = generation_worker(g, j)) != NULL; j++) {
			if (*n + worker_norphans(w) + 1 > size) {
				size = (*n + worker_norphans(w) + 1) * 2;
				pids = xreallocarray(pids, size, sizeof(*pids));
			}
			if (worker_pid(w) != 0)
				pids[(*n)++] = worker_pid(w);
			for (k = 0; k < worker_norphans(w); k++)
				pids[(*n)++] = worker_orphan(w, k);
		}
	}
	pids = xreallocarray(pids, *n + sup->nstrays + 1, sizeof(*pids));
	for (i = 0; i < sup->nstrays; i++)
		pids[(*n)++] = sup->strays[i];
	if (sup->keeper != NULL)
		pids[(*n)++] = keeper_pid(sup->keeper);
	if (*n > 0)
		qsort(pids, *n, sizeof(*pids), supervisor_pid_cmp);
	return pids;
}

static struct worker *
supervisor_find_slot(struct supervisor *sup, int number, int slot)
{
	size_t	 i;

	for (i = 0; i < sup->ngens; i++)
		if (generation_number(sup->gens[i]) == number)
			return generation_worker(sup->gens[i], (size_t)slot);
	return NULL;
}

/*
 * Which worker a process left to baton came from: the one whose process
 * group or session it is in, else the one its environment names (a
 * daemon that left both still carries BATON_PID, BATON_GENERATION and
 * BATON_WORKER). NULL if none.
 */
static struct worker *
supervisor_trace(struct supervisor *sup, const struct proc *p,
    const char **how)
{
	struct worker	*w;
	char		 buf[32];
	size_t		 i, j;
	int		 number, slot;

	for (i = 0; i < sup->ngens; i++) {
		for (j = 0; (w = generation_worker(sup->gens[i], j)) != NULL;
		    j++) {
			/* A free slot's old group may be a new one's now. */
			if (worker_state(w) == WORKER_EXITED &&
			    !worker_alive(w))
				continue;
			if (p->pgid == worker_pgid(w)) {
				*how = "by its process group";
				return w;
			}
			if (p->sid == worker_pgid(w)) {
				*how = "by its session";
				return w;
			}
		}
	}
	if (proc_getenv(p->pid, "BATON_PID", buf, sizeof(buf)) == -1 ||
	    strtol(buf, NULL, 10) != (long)getpid() ||
	    proc_getenv(p->pid, "BATON_GENERATION", buf, sizeof(buf)) == -1 ||
	    (number = atoi(buf)) <= 0 ||
	    proc_getenv(p->pid, "BATON_WORKER", buf, sizeof(buf)) == -1 ||
	    (slot = atoi(buf)) < 0)
		return NULL;
	*how = "by its environment";
	return supervisor_find_slot(sup, number, slot);
}

/*
 * baton is a child subreaper: a process whose parent dies is given to
 * it, with no word. Find those among its children and give each to the
 * worker it came from, which is gone only once they are.
 */
static void
supervisor_adopt(struct supervisor *sup)
{
	struct worker	*w;
	struct proc	 p;
	const char	*how;
	pid_t		*children, *known;
	ssize_t		 n, i;
	size_t		 nknown;

	if ((n = proc_children(&children)) == -1) {
		log_warn("reading baton's children from /proc: %s",
		    strerror(errno));
		return;
	}
	known = supervisor_known_pids(sup, &nknown);
	for (i = 0; i < n; i++) {
		if (nknown > 0 && bsearch(&children[i], known, nknown,
		    sizeof(*known), supervisor_pid_cmp) != NULL)
			continue;
		if (proc_stat(children[i], &p) == -1)
			continue;
		if ((w = supervisor_trace(sup, &p, &how)) != NULL) {
			worker_adopt(w, p.pid, p.pgid, how);
			continue;
		}
		log_warn("pid %ld was left to baton, but no worker it came "
		    "from is known; it is stopped with baton",
		    (long)children[i]);
		sup->strays = xreallocarray(sup->strays, sup->nstrays + 1,
		    sizeof(*sup->strays));
		sup->strays[sup->nstrays++] = children[i];
	}
	free(known);
	free(children);
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
	size_t	 i;

	if (sup->keeper != NULL && pid == keeper_pid(sup->keeper)) {
		log_warn("the keeper (pid %ld) exited (%s %d); starting another",
		    (long)pid, WIFEXITED(status) ? "status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		keeper_free(sup->keeper);
		supervisor_start_keeper(sup, supervisor_drain_max(sup));
		return;
	}

	for (i = 0; i < sup->nstrays; i++) {
		if (sup->strays[i] == pid) {
			sup->strays[i] = sup->strays[--sup->nstrays];
			return;
		}
	}
	log_debug("reaped pid %ld, not a worker's", (long)pid);
}

/* Stopping, and every generation is gone: end what no worker claimed. */
static void
supervisor_end_strays(struct supervisor *sup)
{
	long long	 deadline;
	size_t		 i;
	pid_t		 pid;
	int		 status;

	if (sup->nstrays == 0)
		return;
	log_warn("stopping: killing %zu process%s that came from no known "
	    "worker", sup->nstrays, sup->nstrays == 1 ? "" : "es");
	(void)proc_kill_tree(sup->strays, sup->nstrays, SIGKILL);
	for (i = 0; i < sup->nstrays; i++)
		(void)kill(sup->strays[i], SIGKILL);
	/* Killed, they exit at once; bounded all the same. */
	deadline = clock_ms() + 5000;
	while (sup->nstrays > 0 && clock_ms() < deadline) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			supervisor_reaped_other(sup, pid, status);
			continue;
		}
		if (pid == -1 && errno != EINTR)
			break;
		/* What they left is left to baton in turn. */
		supervisor_adopt(sup);
		if (sup->nstrays > 0)
			(void)proc_kill_tree(sup->strays, sup->nstrays,
			    SIGKILL);
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
			if ((w = supervisor_find_worker(sup, dead[i].pid)) !=
			    NULL)
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
			    "SIGQUIT, to stop at once)", config_signal_name(sig));
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

/* libevent's own complaints, as baton's log lines (and never a flood). */
static void
supervisor_libevent_log(int severity, const char *msg)
{
	static long long	 last;
	static int		 dropped;
	long long		 now = clock_ms();

	if (now - last < 1000 && severity != EVENT_LOG_ERR) {
		dropped++;
		return;
	}
	if (dropped > 0)
		log_warn("libevent: %d more messages dropped", dropped);
	last = now;
	dropped = 0;
	if (severity == EVENT_LOG_ERR)
		log_error("libevent: %s", msg);
	else if (severity == EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* Upgrading in place (SIGUSR2). */

#define UPGRADE_FORMAT	"baton-upgrade 1"

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
	if (sup->ngens != 1 || sup->reload_gen != 0 || sup->reload_pending ||
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

/* One line of text: the rest of a state line. */
static void
state_put_text(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, fp);
	fputc('\n', fp);
}

/* A stream that writes to fd, which stays open. */
static FILE *
state_stream(int fd)
{
	FILE	*fp;
	int	 d;

	if ((d = dup(fd)) == -1)
		return NULL;
	if ((fp = fdopen(d, "w")) == NULL)
		close(d);
	return fp;
}

/*
 * Write what the new image needs into state (a memfd), and the active
 * generation's configuration, as `baton check` prints it, into cfd.
 * Collects every descriptor that must survive the exec into fds.
 */
static int
supervisor_save(struct supervisor *sup, int sfd, int cfd, int **fds,
    size_t *nfds)
{
	struct generation	*g = sup->gens[0];
	const struct config	*c = generation_config(g);
	struct socket_saved	 ss;
	struct worker_saved	 ws;
	FILE			*fp;
	size_t			 i, n = 0;
	int			 ok;

	/* The config, notify, control, pidfile, keeper; sockets; channels. */
	*fds = xcalloc(5 + c->nsockets + generation_nworkers(g),
	    sizeof(**fds));
	if ((fp = state_stream(cfd)) == NULL)
		return -1;
	config_print(c, fp);
	ok = fflush(fp) == 0 && !ferror(fp);
	if (fclose(fp) != 0 || !ok)
		return -1;
	(*fds)[n++] = cfd;

	if ((fp = state_stream(sfd)) == NULL)
		return -1;
	fprintf(fp, "%s\n", UPGRADE_FORMAT);
	fprintf(fp, "from %s\n", PACKAGE_VERSION);
	fprintf(fp, "started %lld %lld\n", (long long)sup->started,
	    sup->started_ms);
	fprintf(fp, "counters %d %d %d %d %d\n", sup->reloads, sup->rollbacks,
	    sup->crashes, sup->killed, sup->upgrades + 1);
	fprintf(fp, "last %d %lld %lld ", (int)sup->last_outcome,
	    sup->last_duration, (long long)sup->last_at);
	state_put_text(fp, sup->last_reason);
	fprintf(fp, "next %d\n", sup->next_number);
	fprintf(fp, "notify %d\n", notify_fd(sup->notify));
	(*fds)[n++] = notify_fd(sup->notify);
	if (sup->control != NULL) {
		fprintf(fp, "control %d ", control_fd(sup->control));
		state_put_text(fp, sup->control_path);
		(*fds)[n++] = control_fd(sup->control);
	}
	if (sup->pidfile != NULL) {
		fprintf(fp, "pidfile %d ", pidfile_fd(sup->pidfile));
		state_put_text(fp, sup->pidfile_path);
		(*fds)[n++] = pidfile_fd(sup->pidfile);
	}
	if (sup->keeper != NULL) {
		fprintf(fp, "keeper %ld %d\n", (long)keeper_pid(sup->keeper),
		    keeper_fd(sup->keeper));
		(*fds)[n++] = keeper_fd(sup->keeper);
	}
	fprintf(fp, "config %d ", cfd);
	state_put_text(fp, c->file);
	fprintf(fp, "generation %d %lld\n", generation_number(g),
	    generation_started(g));
	for (i = 0; i < c->nsockets; i++) {
		socket_save(generation_socket(g, i), &ss);
		fprintf(fp, "socket %d %d %lu %lu\n", ss.fd, ss.unlink_path,
		    ss.dev, ss.ino);
		(*fds)[n++] = ss.fd;
	}
	for (i = 0; i < generation_nworkers(g); i++) {
		worker_save(generation_worker(g, i), &ws);
		fprintf(fp, "worker %ld %ld %d %d %ld %lld %d ", (long)ws.pid,
		    (long)ws.pgid, ws.channel, ws.restarts, ws.backoff,
		    ws.started, ws.preload);
		state_put_text(fp, ws.status);
		if (ws.channel != -1)
			(*fds)[n++] = ws.channel;
	}
	fprintf(fp, "end\n");
	ok = fflush(fp) == 0 && !ferror(fp);
	if (fclose(fp) != 0 || !ok)
		return -1;
	*nfds = n;
	return 0;
}

/* The state, read whole from the start of its memfd. */
static char *
state_read(int fd)
{
	char	*buf = NULL;
	size_t	 len = 0, size = 0;
	ssize_t	 n;

	for (;;) {
		if (size - len < 4096) {
			size = size * 2 + 4096;
			buf = xreallocarray(buf, size, 1);
		}
		n = pread(fd, buf + len, size - len - 1, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return buf;
}

/* The rest of a line after n words, or "" . */
static const char *
state_text(const char *line, int words)
{
	while (words-- > 0) {
		line += strcspn(line, " ");
		if (*line == ' ')
			line++;
	}
	return line;
}

/* The configuration the old image ran its generation with. */
static struct config *
state_config(int cfd, const char *file, char **error)
{
	struct config	*c;
	char		*path;

	c = config_new();
	fcntl(cfd, F_SETFD, FD_CLOEXEC);
	path = xprintf("/proc/self/fd/%d", cfd);
	if (config_load(c, path, error) == -1) {
		free(path);
		config_free(c);
		return NULL;
	}
	free(path);
	free(c->file);
	c->file = *file != '\0' ? xstrdup(file) : NULL;
	if (config_finish(c, error) == -1) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* config_print()'s words for c, in memory. */
static char *
state_print(const struct config *c)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	config_print(c, fp);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * Whether the new image will get the generation's configuration back
 * as it is: loaded from cfd, it must print the same. Else *error says.
 */
static int
state_check_config(const struct config *c, int cfd, char **error)
{
	struct config	*back;
	char		*before, *after, *why = NULL;
	int		 same;

	if ((back = state_config(cfd, c->file != NULL ? c->file : "",
	    &why)) == NULL) {
		*error = xprintf("the running configuration cannot be "
		    "carried over: as baton check prints it, it does not "
		    "load (%s)", why);
		free(why);
		return -1;
	}
	before = state_print(c);
	after = state_print(back);
	same = before != NULL && after != NULL && strcmp(before, after) == 0;
	free(before);
	free(after);
	config_free(back);
	if (!same)
		*error = xstrdup("the running configuration does not load "
		    "back as it is");
	return same ? 0 : -1;
}

/* exec ourselves with the state; returns only if that failed. */
static void
supervisor_handover(struct supervisor *sup)
{
	const char	*notify_socket = systemd_socket_path();
	char		*error = NULL;
	size_t		 nfds = 0;
	int		*fds = NULL, sfd = -1, cfd = -1;

	if ((sfd = upgrade_memfd("baton-upgrade")) == -1 ||
	    (cfd = upgrade_memfd("baton-config")) == -1) {
		error = xprintf("memfd_create: %s", strerror(errno));
		goto fail;
	}
	if (supervisor_save(sup, sfd, cfd, &fds, &nfds) == -1) {
		error = xprintf("writing the state: %s", strerror(errno));
		goto fail;
	}
	if (state_check_config(generation_config(sup->gens[0]), cfd,
	    &error) == -1)
		goto fail;
	log_info("upgrade: exec with generation %d and its %zu worker%s",
	    generation_number(sup->gens[0]),
	    generation_nworkers(sup->gens[0]),
	    generation_nworkers(sup->gens[0]) == 1 ? "" : "s");
	/* The new image reports to the service manager too. */
	if (notify_socket != NULL)
		setenv("NOTIFY_SOCKET", notify_socket, 1);
	upgrade_exec(sfd, fds, nfds, &sup->handled, &error);
	unsetenv("NOTIFY_SOCKET");
fail:
	log_error("upgrade failed, baton carries on as it was: %s", error);
	free(error);
	free(fds);
	if (sfd != -1)
		close(sfd);
	if (cfd != -1)
		close(cfd);
}

static void
supervisor_upgrade(struct supervisor *sup)
{
	struct timeval	 tv;
	const char	*why;

	if (sup->state != SUPERVISOR_RUNNING) {
		if (sup->upgrade_pending)
			log_info("upgrade: baton is stopping; not upgrading");
		sup->upgrade_pending = 0;
		return;
	}
	if (!supervisor_upgrade_ready(sup, &why)) {
		if (!sup->upgrade_pending)
			log_info("upgrade: %s; upgrading once it settles", why);
		sup->upgrade_pending = 1;
		tv = clock_tv(100);
		evtimer_add(sup->upgrade_timer, &tv);
		return;
	}
	sup->upgrade_pending = 0;
	supervisor_handover(sup);
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

	event_set_log_callback(supervisor_libevent_log);
	sup = xcalloc(1, sizeof(*sup));
	sup->notify_limit.what = "notify socket: ignored datagrams";
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
			    config_signal_name(sigs[i]));
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
		*code = 78;
		goto fail;
	}
	*code = 1;
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
	    sup->base, sup, sup->initial->control, -1, error)) == NULL)
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
	struct generation	*g = NULL;
	struct config		*cfg = NULL;
	struct socket		**sockets = NULL;
	struct socket_saved	 ss;
	struct worker_saved	 ws;
	char			*state, *line, *next, *bad = NULL;
	long long		 a, b, gen_started = 0;
	long			 pid, pgid;
	size_t			 nsockets = 0, nworkers = 0;
	int			 fd, number = 0, outcome, end = 0;

	sup = supervisor_alloc(load, arg);
	if ((state = state_read(sfd)) == NULL) {
		*error = xprintf("upgrade: reading the state: %s",
		    strerror(errno));
		close(sfd);
		goto fail;
	}
	close(sfd);
	if ((sup->base = event_base_new()) == NULL) {
		*error = xstrdup("event_base_new failed");
		goto fail_state;
	}
	for (line = state; line != NULL && *line != '\0' && !end;
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line == state) {
			if (strcmp(line, UPGRADE_FORMAT) != 0)
				goto bad;
		} else if (strncmp(line, "from ", 5) == 0) {
			log_info("upgrade: taking over from baton %s",
			    line + 5);
		} else if (sscanf(line, "started %lld %lld", &a, &b) == 2) {
			sup->started = (time_t)a;
			sup->started_ms = b;
		} else if (sscanf(line, "counters %d %d %d %d %d",
		    &sup->reloads, &sup->rollbacks, &sup->crashes,
		    &sup->killed, &sup->upgrades) == 5) {
			;
		} else if (sscanf(line, "last %d %lld %lld", &outcome,
		    &sup->last_duration, &a) == 3 && outcome >= RELOAD_NONE &&
		    outcome <= RELOAD_FAILED) {
			sup->last_outcome = outcome;
			sup->last_at = (time_t)a;
			if (*state_text(line, 4) != '\0')
				sup->last_reason = xstrdup(
				    state_text(line, 4));
		} else if (sscanf(line, "next %d", &sup->next_number) == 1) {
			;
		} else if (sscanf(line, "notify %d", &fd) == 1 &&
		    sup->notify == NULL) {
			if ((sup->notify = notify_new(sup->base,
			    supervisor_notified, sup, fd)) == NULL) {
				*error = xprintf("notify socket: %s",
				    strerror(errno));
				goto fail_state;
			}
		} else if (sscanf(line, "control %d", &fd) == 1 &&
		    sup->control == NULL) {
			sup->control_path = xstrdup(state_text(line, 2));
			if ((sup->control = control_new(sup->base, sup,
			    sup->control_path, fd, error)) == NULL)
				goto fail_state;
		} else if (sscanf(line, "pidfile %d", &fd) == 1 &&
		    sup->pidfile == NULL) {
			sup->pidfile_path = xstrdup(state_text(line, 2));
			sup->pidfile = pidfile_new(sup->pidfile_path, fd, error);
		} else if (sscanf(line, "keeper %ld %d", &pid, &fd) == 2 &&
		    sup->keeper == NULL) {
			if ((sup->keeper = keeper_restore((pid_t)pid,
			    fd)) == NULL)
				goto bad;
		} else if (sscanf(line, "config %d", &fd) == 1 &&
		    cfg == NULL) {
			if ((cfg = state_config(fd, state_text(line, 2),
			    error)) == NULL)
				goto fail_state;
			close(fd);
			sockets = xcalloc(cfg->nsockets, sizeof(*sockets));
		} else if (sscanf(line, "generation %d %lld", &number,
		    &a) == 2) {
			if (cfg == NULL || g != NULL || number < 1)
				goto bad;
			gen_started = a;
		} else if (sscanf(line, "socket %d %d %lu %lu", &ss.fd,
		    &ss.unlink_path, &ss.dev, &ss.ino) == 4) {
			if (cfg == NULL || g != NULL ||
			    nsockets == cfg->nsockets)
				goto bad;
			sockets[nsockets] = socket_restore(
			    &cfg->sockets[nsockets], &ss);
			nsockets++;
		} else if (sscanf(line, "worker %ld %ld %d %d %ld %lld %d",
		    &pid, &pgid, &ws.channel, &ws.restarts, &ws.backoff,
		    &ws.started, &ws.preload) == 7) {
			if (number == 0 || sockets == NULL ||
			    (g == NULL && nsockets != cfg->nsockets) ||
			    (g != NULL && nworkers == generation_nworkers(g)))
				goto bad;
			if (g == NULL) {
				g = generation_restore(sup, number, cfg,
				    sockets, gen_started);
				cfg = NULL;	/* the generation's now */
				sup->gens = xcalloc(1, sizeof(*sup->gens));
				sup->gens[sup->ngens++] = g;
			}
			ws.pid = (pid_t)pid;
			ws.pgid = (pid_t)pgid;
			ws.status = *state_text(line, 8) != '\0' ?
			    state_text(line, 8) : NULL;
			worker_restore(generation_worker(g, nworkers), &ws);
			nworkers++;
		} else if (strcmp(line, "end") == 0) {
			end = 1;
		} else
			goto bad;
	}
	if (!end || g == NULL || sup->notify == NULL ||
	    nworkers != generation_nworkers(g))
		goto bad;
	if (supervisor_events(sup, error) == -1)
		goto fail_state;
	/* Held by the generation now. */
	supervisor_unref_sockets(sockets, nsockets);
	free(state);
	return sup;
bad:
	bad = line;
	*error = xprintf("upgrade: the state makes no sense to baton %s "
	    "(at '%s')", PACKAGE_VERSION, bad != NULL ? bad : "the end");
fail_state:
	if (sockets != NULL)
		supervisor_unref_sockets(sockets, nsockets);
	config_free(cfg);
	free(state);
fail:
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
	notify_free(sup->notify);
	if (sup->base != NULL) {
		log_set_base(NULL);
		event_base_free(sup->base);
	}
	free(sup->strays);
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
	if (sup->state != SUPERVISOR_DONE)
		event_base_dispatch(sup->base);
	return sup->exit_code;
}

/* Status. */

/* ISO 8601 local time of a monotonic instant. */
static void
status_time(char *buf, size_t len, long long mono_ms)
{
	time_t		 t = time(NULL) - (clock_ms() - mono_ms) / 1000;
	struct tm	 tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

static void
status_age(char *buf, size_t len, long long ms)
{
	long long	 s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

static const char *
supervisor_config_file(const struct supervisor *sup)
{
	if (sup->ngens == 0)
		return NULL;
	return generation_config(sup->gens[sup->ngens - 1])->file;
}

static void
status_json(struct supervisor *sup, struct evbuffer *out)
{
	struct generation	*g;
	struct worker		*w;
	char			 when[64];
	size_t			 i, j;

	status_time(when, sizeof(when), sup->started_ms);
	evbuffer_add_printf(out, "{\"pid\":%ld,\"version\":\"%s\",\"config\":",
	    (long)getpid(), PACKAGE_VERSION);
	json_string(out, supervisor_config_file(sup));
	evbuffer_add_printf(out, ",\"state\":\"%s\",\"started\":\"%s\","
	    "\"uptime_ms\":%lld,\"generations\":[",
	    sup->state == SUPERVISOR_RUNNING ? "running" : "stopping", when,
	    clock_ms() - sup->started_ms);
	for (i = sup->ngens; i-- > 0;) {
		g = sup->gens[i];
		status_time(when, sizeof(when), generation_started(g));
		evbuffer_add_printf(out, "%s{\"number\":%d,\"state\":\"%s\","
		    "\"started\":\"%s\",\"failure\":",
		    i + 1 < sup->ngens ? "," : "", generation_number(g),
		    generation_state_name(generation_state(g)), when);
		json_string(out, generation_failure(g));
		evbuffer_add_printf(out, ",\"killed\":%d,\"workers\":[",
		    generation_killed(g));
		for (j = 0; j < generation_nworkers(g); j++) {
			w = generation_worker(g, j);
			evbuffer_add_printf(out, "%s{\"slot\":%d,\"pid\":%ld,"
			    "\"state\":\"%s\",\"restarts\":%d,\"status\":",
			    j > 0 ? "," : "", worker_slot(w),
			    (long)worker_pid(w),
			    worker_state_name(worker_state(w)),
			    worker_restarts(w));
			json_string(out, worker_status_text(w));
			evbuffer_add_printf(out, ",\"last_exit\":");
			json_string(out, *worker_exit_reason(w) != '\0' ?
			    worker_exit_reason(w) : NULL);
			evbuffer_add_printf(out, "}");
		}
		evbuffer_add_printf(out, "]}");
	}
	evbuffer_add_printf(out, "],\"last_reload\":");
	if (sup->last_outcome == RELOAD_NONE)
		evbuffer_add_printf(out, "null");
	else {
		struct tm	 tm;

		localtime_r(&sup->last_at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", &tm);
		evbuffer_add_printf(out, "{\"outcome\":\"%s\",\"duration_ms\":"
		    "%lld,\"at\":\"%s\",\"reason\":",
		    reload_outcome_names[sup->last_outcome], sup->last_duration,
		    when);
		json_string(out, sup->last_reason);
		evbuffer_add_printf(out, "}");
	}
	evbuffer_add_printf(out, ",\"counters\":{\"reloads\":%d,\"rollbacks\":%d,"
	    "\"crashes\":%d,\"killed\":%d,\"upgrades\":%d}}", sup->reloads,
	    sup->rollbacks, sup->crashes, sup->killed, sup->upgrades);
}

static void
status_text(struct supervisor *sup, struct evbuffer *out)
{
	struct generation	*g;
	struct worker		*w;
	const char		*file = supervisor_config_file(sup);
	char			 age[32];
	size_t			 i, j;

	status_age(age, sizeof(age), clock_ms() - sup->started_ms);
	evbuffer_add_printf(out, "baton %s, pid %ld, up %s, %s\n",
	    PACKAGE_VERSION, (long)getpid(), age,
	    sup->state == SUPERVISOR_RUNNING ? "running" : "stopping");
	if (file != NULL)
		evbuffer_add_printf(out, "config %s\n", file);
	evbuffer_add_printf(out, "\n%-5s %-12s %-8s %-7s %-8s %-9s %s\n",
	    "GEN", "STATE", "AGE", "WORKER", "PID", "STATE", "RESTARTS");
	for (i = sup->ngens; i-- > 0;) {
		g = sup->gens[i];
		status_age(age, sizeof(age), clock_ms() - generation_started(g));
		for (j = 0; j < generation_nworkers(g); j++) {
			w = generation_worker(g, j);
			if (j == 0)
				evbuffer_add_printf(out, "%-5d %-12s %-8s ",
				    generation_number(g),
				    generation_state_name(generation_state(g)),
				    age);
			else
				evbuffer_add_printf(out, "%-5s %-12s %-8s ",
				    "", "", "");
			evbuffer_add_printf(out, "%-7d %-8ld %-9s %d\n",
			    worker_slot(w), (long)worker_pid(w),
			    worker_state_name(worker_state(w)),
			    worker_restarts(w));
		}
		if (generation_failure(g) != NULL)
			evbuffer_add_printf(out, "      rolled back: %s\n",
			    generation_failure(g));
	}
	if (sup->last_outcome == RELOAD_NONE)
		evbuffer_add_printf(out, "\nlast reload: none\n");
	else {
		status_age(age, sizeof(age),
		    (long long)(time(NULL) - sup->last_at) * 1000);
		evbuffer_add_printf(out, "\nlast reload: %s in %lld ms, %s ago%s%s\n",
		    reload_outcome_names[sup->last_outcome], sup->last_duration,
		    age, sup->last_reason != NULL ? ": " : "",
		    sup->last_reason != NULL ? sup->last_reason : "");
	}
	evbuffer_add_printf(out, "counters: reloads %d, rollbacks %d, crashes %d, "
	    "killed at the drain deadline %d, upgrades %d\n", sup->reloads,
	    sup->rollbacks, sup->crashes, sup->killed, sup->upgrades);
}

void
supervisor_status(struct supervisor *sup, struct evbuffer *out, int json)
{
	if (json)
		status_json(sup, out);
	else
		status_text(sup, out);
}
