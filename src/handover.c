#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "generation.h"
#include "handover.h"
#include "log.h"
#include "socket.h"
#include "sockets.h"
#include "state.h"
#include "systemd.h"
#include "upgrade.h"
#include "worker.h"
#include "xmalloc.h"

/*
 * An upgrade in place (SIGUSR2), from the ask to the exec; asked for
 * again while one is under way, it is the same one.
 */
enum handover_phase {
	HANDOVER_NONE,
	HANDOVER_WAITING,	/* until settled, looked at every 100 ms */
	HANDOVER_CHECKING,	/* the candidate's dry run (check) runs */
	HANDOVER_JUMPING	/* it passed: signals blocked, loop left */
};

static const char *const handover_phase_names[] = {
	"none", "waiting", "checking", "jumping"
};

struct handover {
	struct event_base		*base;
	const sigset_t			*handled;
	const struct handover_ops	*ops;
	void				*arg;

	enum handover_phase		 phase;
	struct event			*timer;		/* while waiting */
	/* The candidate's dry run of the state, in its two memfds. */
	struct upgrade_check		*check;
	int				 check_sfd;
	int				 check_cfd;
	int				 check_gen;
};

/* The phase's move, logged as the worker and generation states are. */
static void
handover_set(struct handover *h, enum handover_phase phase)
{
	if (h->phase != phase)
		log_debug("upgrade: %s -> %s", handover_phase_names[h->phase],
		    handover_phase_names[phase]);
	h->phase = phase;
}

static void
handover_retry(evutil_socket_t fd, short what, void *arg)
{
	handover_ask(arg);
}

struct handover *
handover_new(struct event_base *base, const sigset_t *handled,
    const struct handover_ops *ops, void *arg)
{
	struct handover	*h;

	h = xcalloc(1, sizeof(*h));
	h->base = base;
	h->handled = handled;
	if ((h->timer = evtimer_new(base, handover_retry, h)) == NULL) {
		free(h);
		return NULL;
	}
	h->ops = ops;
	h->arg = arg;
	return h;
}

void
handover_free(struct handover *h)
{
	if (h == NULL)
		return;
	handover_cancel(h);
	event_free(h->timer);
	free(h);
}

/*
 * The state the new image needs: the supervisor's, g's, each socket's
 * and each worker's. The arrays in st are new; the strings are not.
 */
static void
handover_save(struct handover *h, struct generation *g, struct state *st,
    int cfd)
{
	const struct config	*c = generation_config(g);
	struct state_seat	*ss;
	size_t			 i, k;

	memset(st, 0, sizeof(*st));
	st->from = PACKAGE_VERSION;
	h->ops->save(h->arg, st);
	st->config_fd = cfd;
	st->config_file = c->file;
	st->generation = generation_number(g);
	st->generation_started = generation_started(g);
	st->nsockets = c->nsockets;
	st->sockets = xcalloc(st->nsockets, sizeof(*st->sockets));
	st->members = xcalloc(st->nsockets, sizeof(*st->members));
	for (i = 0; i < st->nsockets; i++) {
		socket_save(generation_socket(g, i), &st->sockets[i]);
		st->members[i].index = -1;
		st->members[i].fd = generation_own_member(g, i,
		    &st->members[i].index);
	}
	st->nworkers = generation_slots(g);
	st->workers = xcalloc(st->nworkers, sizeof(*st->workers));
	for (i = 0; i < st->nworkers; i++)
		worker_save(generation_worker(g, i), &st->workers[i]);
	/* The slots' own members: a rolling generation's, a successor's. */
	st->seated = generation_seated(g);
	st->seats = xcalloc(st->nworkers * st->nsockets + 1,
	    sizeof(*st->seats));
	for (k = 0; k < st->nworkers; k++)
		for (i = 0; i < st->nsockets; i++) {
			ss = &st->seats[st->nseats];
			if ((ss->fd = generation_slot_member(g, k, i,
			    &ss->index)) == -1)
				continue;
			ss->slot = k;
			ss->socket = i;
			st->nseats++;
		}
}

/*
 * The state as it is now, in two new memfds; with fds, the descriptors
 * that must cross the exec. Returns 0, or -1 with *error set.
 */
static int
handover_write(struct handover *h, struct generation *g, int *sfd, int *cfd,
    int **fds, size_t *nfds, char **error)
{
	struct state	 st;
	int		 rc;

	*cfd = -1;
	if ((*sfd = upgrade_memfd("baton-upgrade")) == -1 ||
	    (*cfd = upgrade_memfd("baton-config")) == -1) {
		*error = xprintf("memfd_create: %s", strerror(errno));
		rc = -1;
	} else {
		handover_save(h, g, &st, *cfd);
		rc = state_write(&st, generation_config(g), *sfd, error);
		if (rc == 0 && fds != NULL)
			*fds = state_fds(&st, nfds);
		free(st.sockets);
		free(st.members);
		free(st.workers);
		free(st.seats);
		free(st.streams);
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
handover_exec(struct handover *h, struct generation *g)
{
	char		*error = NULL;
	size_t		 nfds = 0;
	int		*fds = NULL, sfd, cfd;

	/* Afresh: workers and counters may have moved during the check. */
	h->ops->quiesce(h->arg, 0);
	if (handover_write(h, g, &sfd, &cfd, &fds, &nfds, &error) == -1) {
		log_error("upgrade failed, baton carries on as it was: %s",
		    error);
		free(error);
		h->ops->quiesce(h->arg, 1);
		return;
	}
	log_info("upgrade: exec with generation %d and its %zu worker%s",
	    generation_number(g), generation_nworkers(g),
	    generation_nworkers(g) == 1 ? "" : "s");
	/* The new image reports to the service manager, and its store, too. */
	systemd_export(1);
	upgrade_exec(sfd, fds, nfds, &error);
	systemd_export(0);
	log_error("upgrade failed, baton carries on as it was: %s", error);
	free(error);
	free(fds);
	close(sfd);
	close(cfd);
	h->ops->quiesce(h->arg, 1);
}

/*
 * Start the candidate's dry run of the state as it is now. It runs beside
 * the loop, which serves meanwhile; its end comes through the reaper.
 */
static void
handover_check(struct handover *h, struct generation *g)
{
	char	*error = NULL;
	int	 sfd, cfd;

	if (handover_write(h, g, &sfd, &cfd, NULL, NULL, &error) == -1)
		goto fail;
	if ((h->check = upgrade_check_new(h->base, sfd, cfd,
	    &error)) == NULL) {
		close(sfd);
		close(cfd);
		goto fail;
	}
	h->check_sfd = sfd;
	h->check_cfd = cfd;
	h->check_gen = generation_number(g);
	handover_set(h, HANDOVER_CHECKING);
	log_info("upgrade: checking that %s can take the state over",
	    upgrade_binary());
	return;
fail:
	log_error("upgrade failed, baton carries on as it was: %s", error);
	free(error);
}

/* The check is over, or cancelled: it and its memfds go. */
void
handover_cancel(struct handover *h)
{
	if (h->check == NULL)
		return;
	if (upgrade_check_pid(h->check) > 0)
		log_info("upgrade: cancelled, baton is stopping");
	upgrade_check_free(h->check);
	h->check = NULL;
	handover_set(h, HANDOVER_NONE);
	close(h->check_sfd);
	close(h->check_cfd);
}

pid_t
handover_check_pid(const struct handover *h)
{
	return h->check != NULL ? upgrade_check_pid(h->check) : 0;
}

/*
 * If it passed, the jump is decided: block the handled signals now, and
 * leave the loop, since an exec from inside a callback would lose what
 * libevent has already taken in (a SIGTERM caught just before, its byte
 * in libevent's signal pipe or its event active behind this one). The
 * loop's caller goes on (handover_jump()).
 */
void
handover_checked(struct handover *h, int status)
{
	char	*error = NULL;
	int	 rc;

	rc = upgrade_check_done(h->check, status, &error);
	handover_cancel(h);
	if (rc == -1) {
		log_error("upgrade failed, baton carries on as it was: %s",
		    error);
		free(error);
		return;
	}
	if (!h->ops->running(h->arg))
		return;
	sigprocmask(SIG_BLOCK, h->handled, NULL);
	handover_set(h, HANDOVER_JUMPING);
	event_base_loopbreak(h->base);
}

int
handover_jumping(const struct handover *h)
{
	return h->phase == HANDOVER_JUMPING;
}

/*
 * Out of the loop, signals blocked: one non-blocking pass acts on every
 * signal caught before the block, and on whatever else was due. A stop
 * there stops baton rather than the upgrade's going on; a reload makes
 * the upgrade wait for it. Only then the exec: what comes after the block
 * stays pending across it, and the new image acts on it once it watches
 * its signals.
 */
void
handover_jump(struct handover *h)
{
	struct generation	*g;
	const char		*why;
	int			 again = 0, i;

	/* Requests already accepted are answered: a few passes, 25 ms. */
	h->ops->pause(h->arg, 1);
	for (i = 0; i < 6; i++) {
		if (i > 0)
			usleep(5000);
		event_base_loop(h->base, EVLOOP_NONBLOCK);
	}
	handover_set(h, HANDOVER_NONE);
	if (h->ops->running(h->arg)) {
		/* What was checked must still be what is handed over. */
		if ((g = h->ops->ready(h->arg, &why)) != NULL &&
		    generation_number(g) == h->check_gen)
			handover_exec(h, g);
		else {
			log_info("upgrade: the service changed during the "
			    "check; checking again once it settles");
			again = 1;
		}
	}
	h->ops->pause(h->arg, 0);
	sigprocmask(SIG_UNBLOCK, h->handled, NULL);
	if (again)
		handover_ask(h);
}

void
handover_ask(struct handover *h)
{
	struct generation	*g;
	struct timeval		 tv;
	const char		*why;

	if (!h->ops->running(h->arg)) {
		if (h->phase == HANDOVER_WAITING) {
			log_info("upgrade: baton is stopping; not upgrading");
			handover_set(h, HANDOVER_NONE);
		}
		return;
	}
	if (h->phase == HANDOVER_CHECKING || h->phase == HANDOVER_JUMPING) {
		log_info("upgrade: already checking %s; one upgrade will do",
		    upgrade_binary());
		return;
	}
	if ((g = h->ops->ready(h->arg, &why)) == NULL) {
		if (h->phase != HANDOVER_WAITING)
			log_info("upgrade: %s; upgrading once it settles", why);
		handover_set(h, HANDOVER_WAITING);
		tv = clock_tv(100);
		evtimer_add(h->timer, &tv);
		return;
	}
	handover_set(h, HANDOVER_NONE);
	handover_check(h, g);
}

int
handover_read(int sfd, struct state *st, char **error)
{
	char	*why = NULL;

	if (state_read(sfd, st, &why) == -1) {
		*error = xprintf("upgrade: %s", why);
		free(why);
		close(sfd);
		return -1;
	}
	close(sfd);
	close(st->config_fd);
	log_info("upgrade: taking over from baton %s",
	    st->from != NULL ? st->from : "(unknown)");
	return 0;
}

struct generation *
handover_restore(struct state *st, const struct generation_env *env)
{
	struct generation	*g;
	struct socket		**sockets;
	size_t			 i;

	sockets = xcalloc(st->nsockets, sizeof(*sockets));
	for (i = 0; i < st->nsockets; i++)
		sockets[i] = socket_restore(&st->config->sockets[i],
		    &st->sockets[i]);
	g = generation_restore(env, st->generation, st->config, sockets,
	    st->generation_started, st->nworkers);
	st->config = NULL;	/* the generation's now */
	/* Its own sockets in steered groups: routing never stopped. */
	for (i = 0; st->members != NULL && i < st->nsockets; i++)
		if (st->members[i].index != -1 &&
		    generation_restore_member(g, i, st->members[i].index,
		    st->members[i].fd) == 0)
			log_info("upgrade: socket %s: steered on, generation "
			    "%d on member %d", socket_name(generation_socket(g,
			    i)), st->generation, st->members[i].index);
	for (i = 0; i < st->nseats; i++)
		if (generation_restore_slot_member(g, st->seats[i].slot,
		    st->seats[i].socket, st->seats[i].index,
		    st->seats[i].fd) == 0)
			log_info("upgrade: socket %s: steered on, generation "
			    "%d worker %zu on member %d", socket_name(
			    generation_socket(g, st->seats[i].socket)),
			    st->generation, st->seats[i].slot,
			    st->seats[i].index);
	if (st->seated)
		generation_restore_seated(g);
	for (i = 0; i < st->nworkers; i++)
		worker_restore(generation_worker(g, i), &st->workers[i]);
	/* Held by the generation now. */
	sockets_unref(sockets, st->nsockets);
	return g;
}
