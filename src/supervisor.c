#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "channel.h"
#include "config.h"
#include "generation.h"
#include "log.h"
#include "notify.h"
#include "socket.h"
#include "supervisor.h"
#include "worker.h"
#include "xmalloc.h"

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
	struct event		*signals[6];
	size_t			 nsignals;
	struct event		*cleanup;	/* frees gone generations */

	/* Newest last. At most one is starting at a time. */
	struct generation	**gens;
	size_t			 ngens;
	int			 next_number;
	/* The first generation's config and sockets, until it exists. */
	struct config		*initial;
	struct socket		**initial_sockets;

	int			 reload_pending;
	int			 reloads;
	int			 rollbacks;
	int			 crashes;
	int			 killed;
};

static void	supervisor_reload(struct supervisor *);
static void	supervisor_stop(struct supervisor *, int code);

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
	size_t		  i, j, k;

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
		    (out[i] = socket_open(&cfg->sockets[i], error)) == NULL) {
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

/* Create and start a generation; takes cfg, and one reference of each socket. */
static void
supervisor_start_generation(struct supervisor *sup, struct config *cfg,
    struct socket **sockets)
{
	struct generation	*g;
	size_t			 n = cfg->nsockets;

	g = generation_new(sup, ++sup->next_number, cfg, sockets);
	supervisor_unref_sockets(sockets, n);
	sup->gens = xreallocarray(sup->gens, sup->ngens + 1,
	    sizeof(*sup->gens));
	sup->gens[sup->ngens++] = g;
	generation_start(g);
}

static void
supervisor_reload(struct supervisor *sup)
{
	struct config	*cfg;
	struct socket	**sockets;
	char		*error = NULL;

	if (sup->state != SUPERVISOR_RUNNING)
		return;
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
	log_info("reload: reading the configuration");
	if ((cfg = sup->load(sup->load_arg, &error)) == NULL) {
		log_error("reload failed, nothing changed: %s", error);
		free(error);
		return;
	}
	if ((sockets = supervisor_sockets(sup, cfg, &error)) == NULL) {
		log_error("reload failed, nothing changed: %s", error);
		free(error);
		config_free(cfg);
		return;
	}
	supervisor_start_generation(sup, cfg, sockets);
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
	if (sup->state == SUPERVISOR_STOPPING && sup->ngens == 0) {
		log_info("stopped");
		sup->state = SUPERVISOR_DONE;
		event_base_loopexit(sup->base, NULL);
	}
}

void
supervisor_generation_changed(struct supervisor *sup, struct generation *g)
{
	size_t	 i;

	switch (generation_state(g)) {
	case GENERATION_ACTIVE:
		/* Every older active generation now drains. */
		for (i = 0; i < sup->ngens; i++)
			if (sup->gens[i] != g &&
			    generation_state(sup->gens[i]) == GENERATION_ACTIVE)
				generation_drain(sup->gens[i]);
		if (sup->state == SUPERVISOR_STOPPING)
			generation_drain(g);
		else if (sup->reload_pending)
			supervisor_reload(sup);
		break;
	case GENERATION_ROLLED_BACK:
		if (sup->state != SUPERVISOR_RUNNING)
			break;
		sup->rollbacks++;
		if (supervisor_find_state(sup, GENERATION_ACTIVE) == NULL) {
			log_error("generation %d never became ready; "
			    "stopping", generation_number(g));
			supervisor_stop(sup, 1);
			break;
		}
		log_info("generation %d keeps serving",
		    generation_number(supervisor_find_state(sup,
		    GENERATION_ACTIVE)));
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
	log_info("stopping: draining every generation");
	for (i = 0; i < sup->ngens; i++) {
		generation_roll_back(sup->gens[i], "baton is stopping");
		generation_drain(sup->gens[i]);
	}
	event_active(sup->cleanup, EV_TIMEOUT, 0);
}

static void
supervisor_reap(struct supervisor *sup, int block)
{
	struct worker	*w;
	pid_t		 pid;
	int		 status;

	for (;;) {
		pid = waitpid(-1, &status, block ? 0 : WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		if ((w = supervisor_find_worker(sup, pid)) != NULL)
			worker_exited(w, status);
		else
			log_debug("reaped pid %ld, not a worker", (long)pid);
		if (block)
			return;
	}
}

/* Fast stop: SIGKILL every group, reap them, and leave. */
static void
supervisor_kill_all(struct supervisor *sup)
{
	size_t	 i, alive;

	log_warn("fast stop: killing every worker now");
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
		supervisor_reap(sup, 1);
	}
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
		log_warn("SIGUSR2: upgrading baton in place is not supported "
		    "by this version; ignored");
		break;
	}
}

static void
supervisor_notified(pid_t sender, const struct channel_msg *msg, void *arg)
{
	struct supervisor	*sup = arg;
	struct worker		*w;
	pid_t			 pgid;

	/* The worker itself, or any process of its group. */
	if ((w = supervisor_find_worker(sup, sender)) == NULL &&
	    ((pgid = getpgid(sender)) <= 0 ||
	    (w = supervisor_find_worker(sup, pgid)) == NULL)) {
		log_warn("notify socket: datagram from pid %ld, not a worker, "
		    "ignored", (long)sender);
		return;
	}
	worker_message(w, msg);
}

struct supervisor *
supervisor_new(supervisor_load_fn load, void *arg, char **error, int *code)
{
	static const int	 sigs[] = {
		SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR2
	};
	struct supervisor	*sup;
	size_t			 i;

	sup = xcalloc(1, sizeof(*sup));
	sup->load = load;
	sup->load_arg = arg;
	if ((sup->initial = load(arg, error)) == NULL) {
		*code = 78;
		goto fail;
	}
	if ((sup->initial_sockets = supervisor_sockets(sup, sup->initial,
	    error)) == NULL) {
		*code = 1;
		goto fail;
	}
	*code = 1;
	if ((sup->base = event_base_new()) == NULL) {
		*error = xstrdup("event_base_new failed");
		goto fail;
	}
	if ((sup->notify = notify_new(sup->base, supervisor_notified,
	    sup)) == NULL) {
		*error = xprintf("notify socket: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sup->signals[i] = evsignal_new(sup->base, sigs[i],
		    supervisor_signal, sup);
		if (sup->signals[i] == NULL ||
		    event_add(sup->signals[i], NULL) == -1) {
			*error = xprintf("cannot watch %s",
			    config_signal_name(sigs[i]));
			goto fail;
		}
		sup->nsignals++;
	}
	sup->cleanup = event_new(sup->base, -1, 0, supervisor_cleanup, sup);
	if (sup->cleanup == NULL) {
		*error = xstrdup("event_new failed");
		goto fail;
	}
	/* Workers that daemonize still come back to baton to be reaped. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	return sup;
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
	for (i = 0; i < sup->nsignals; i++)
		event_free(sup->signals[i]);
	if (sup->cleanup != NULL)
		event_free(sup->cleanup);
	notify_free(sup->notify);
	if (sup->base != NULL)
		event_base_free(sup->base);
	free(sup);
}

int
supervisor_run(struct supervisor *sup)
{
	struct config	*cfg = sup->initial;
	struct socket	**sockets = sup->initial_sockets;

	sup->initial = NULL;
	sup->initial_sockets = NULL;
	supervisor_start_generation(sup, cfg, sockets);
	if (sup->state != SUPERVISOR_DONE)
		event_base_dispatch(sup->base);
	return sup->exit_code;
}
