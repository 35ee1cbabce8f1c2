/*
 * The process side of a worker, faked for the unit tests of worker.c and
 * generation.c: spawning hands out pids from 1000 with a real channel
 * whose other end the test holds, signals are recorded and sent nowhere,
 * and the clock moves only when a test sets it. Timers are real libevent
 * timers on a real base, fired by hand: no fork, no sleep.
 */
#ifndef BATON_FAKE_H
#define BATON_FAKE_H

#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "channel.h"
#include "config.h"
#include "log.h"
#include "probe.h"
#include "spawn.h"
#include "worker.h"

#define FAKE_MAX	64
#define FAKE_PID	1000

struct fake_kill {
	pid_t	 pid;
	int	 sig;
};

static struct {
	int			 spawn_fails;
	size_t			 nspawned;
	int			 ends[FAKE_MAX];	/* the worker's end of each */
	struct fake_kill	 kills[FAKE_MAX];
	size_t			 nkills;
	pid_t			 roots[FAKE_MAX];	/* of kill_tree */
	size_t			 nroots;
	int			 dies_on;
	char			 state;
	int			 in_accept;
	long long		 now;
	/* ready = probe: each probe made, its address its identity. */
	int			 probe_token[FAKE_MAX];
	int			 probes;	/* made */
	int			 probe_runs;
	int			 probe_frees;
	int			 probe_live;	/* made, not freed */
	int			 probe_family;	/* of the last's target; 0:
						   none */
	int			 probe_port;
	int			 probe_generation;
	long			 probe_timeout;
	const struct probe_ops	*probe_ops;
	void			*probe_arg[FAKE_MAX];
	long long		 memory;	/* what memory() answers */
	int			 start_priority; /* the last spawn's */
	int			 renices;	/* renice() calls */
	pid_t			 renice_pgid;	/* the last's */
	int			 renice_nice;
	int			 autogroups;	/* autogroup_nice() calls */
	pid_t			 autogroup_pid;	/* the last's */
	int			 autogroup_nice;
} fake;

static pid_t
fake_spawn(const struct spawn_params *sp, int *channel)
{
	int	 fds[2];

	fake.start_priority = sp->start_priority;
	if (fake.spawn_fails || fake.nspawned == FAKE_MAX) {
		errno = EAGAIN;
		return -1;
	}
	ck_assert_int_eq(channel_pair(fds), 0);
	*channel = fds[0];
	fake.ends[fake.nspawned] = fds[1];
	return FAKE_PID + (pid_t)fake.nspawned++;
}

static int
fake_kill(pid_t pid, int sig)
{
	if (fake.nkills < FAKE_MAX) {
		fake.kills[fake.nkills].pid = pid;
		fake.kills[fake.nkills++].sig = sig;
	}
	return 0;
}

static int
fake_kill_tree(const pid_t *roots, size_t n, int sig)
{
	size_t	 i;

	(void)sig;
	for (i = 0; i < n && fake.nroots < FAKE_MAX; i++)
		fake.roots[fake.nroots++] = roots[i];
	return (int)n;
}

static int
fake_dies_on(pid_t pid, int sig)
{
	(void)pid;
	(void)sig;
	return fake.dies_on;
}

static char
fake_state(pid_t pid)
{
	(void)pid;
	return fake.state;
}

static int
fake_in_accept(pid_t pid, const int *fds, size_t n)
{
	(void)pid;
	(void)fds;
	(void)n;
	return fake.in_accept;
}

static long long
fake_now(void)
{
	return fake.now;
}

static struct probe *
fake_probe_new(struct event_base *base, const struct probe_params *pp,
    const struct probe_ops *ops, void *arg)
{
	const struct sockaddr_in	*sin = (const void *)pp->target;

	(void)base;
	ck_assert_int_lt(fake.probes, FAKE_MAX);
	fake.probe_live++;
	fake.probe_family = pp->target != NULL ? pp->target->sa_family : 0;
	fake.probe_port = pp->target != NULL &&
	    pp->target->sa_family == AF_INET ? ntohs(sin->sin_port) : 0;
	fake.probe_generation = pp->generation;
	fake.probe_timeout = pp->timeout;
	fake.probe_ops = ops;
	fake.probe_arg[fake.probes] = arg;
	return (struct probe *)&fake.probe_token[fake.probes++];
}

static int
fake_probe_run(struct probe *p)
{
	ck_assert_ptr_nonnull(p);
	fake.probe_runs++;
	return 0;
}

static void
fake_probe_free(struct probe *p)
{
	int	 i = (int *)p - fake.probe_token;

	ck_assert_int_ge(i, 0);
	ck_assert_int_lt(i, fake.probes);
	ck_assert_ptr_nonnull(fake.probe_arg[i]);
	fake.probe_arg[i] = NULL;
	fake.probe_frees++;
	fake.probe_live--;
}

/* Probe i (0: the first made) ends its attempt, as probe.c tells it. */
static inline void
fake_probe_done_at(int i, int passed, const char *reason)
{
	ck_assert_int_lt(i, fake.probes);
	ck_assert_ptr_nonnull(fake.probe_arg[i]);
	fake.probe_ops->done(fake.probe_arg[i], passed, reason);
}

/* The last probe made ends its attempt. */
static inline void
fake_probe_done(int passed, const char *reason)
{
	fake_probe_done_at(fake.probes - 1, passed, reason);
}

static long long
fake_memory(pid_t pgid, const pid_t *roots, size_t n)
{
	(void)pgid;
	(void)roots;
	(void)n;
	return fake.memory;
}

static int
fake_renice(pid_t pgid, const pid_t *roots, size_t n, int nice)
{
	(void)roots;
	(void)n;
	fake.renices++;
	fake.renice_pgid = pgid;
	fake.renice_nice = nice;
	return 0;
}

static int
fake_autogroup_nice(pid_t pid, int nice)
{
	fake.autogroups++;
	fake.autogroup_pid = pid;
	fake.autogroup_nice = nice;
	return 0;
}

static const struct worker_sys fake_sys = {
	fake_spawn,
	fake_kill,
	fake_kill_tree,
	fake_dies_on,
	fake_state,
	fake_in_accept,
	fake_now,
	fake_probe_new,
	fake_probe_run,
	fake_probe_free,
	fake_memory,
	fake_renice,
	fake_autogroup_nice
};

/*
 * A callback of an ops table that only counts its calls: told_name()
 * adds one to told.name, told being the test's record of what it was
 * told.
 */
#define FAKE_TOLD(type, name)						\
static void								\
told_##name(struct type *p, void *arg)					\
{									\
	told.name++;							\
}

static inline void
fake_reset(void)
{
	size_t	 i;

	for (i = 0; i < fake.nspawned; i++)
		if (fake.ends[i] != -1)
			close(fake.ends[i]);
	memset(&fake, 0, sizeof(fake));
	fake.now = 1000000;
}

/* A clean fake and a new event base, logs quiet: every setup()'s start. */
static inline struct event_base *
fake_setup(void)
{
	struct event_base	*base;

	fake_reset();
	log_set_level(LOG_LEVEL_ERROR);
	ck_assert_ptr_nonnull(base = event_base_new());
	return base;
}

static inline void
fake_teardown(struct event_base *base)
{
	event_base_free(base);
	fake_reset();
}

/*
 * What the tests take a config to say unless they change it: readiness
 * notified within a second, drained with SIGTERM within five.
 */
static inline void
fake_config(struct config *c)
{
	c->ready = READY_NOTIFY;
	c->ready_timeout = 1000;
	c->drain_signal = SIGTERM;
	c->drain_timeout = 5000;
}

/* How many times sig went to pid. */
static inline int
fake_killed(pid_t pid, int sig)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < fake.nkills; i++)
		if (fake.kills[i].pid == pid && fake.kills[i].sig == sig)
			n++;
	return n;
}

/* The worker spawned i-th (0 first) says msg on its channel. */
static inline void
fake_say(struct event_base *base, size_t i, const char *msg)
{
	ck_assert_uint_lt(i, fake.nspawned);
	ck_assert_int_eq(channel_send(fake.ends[i], msg, strlen(msg), NULL, 0),
	    0);
	ck_assert_int_ge(event_base_loop(base, EVLOOP_NONBLOCK), 0);
}

/* What baton sent to the worker spawned i-th, into buf; its length. */
static inline ssize_t
fake_heard(size_t i, char *buf, size_t len)
{
	ssize_t	 r;

	r = recv(fake.ends[i], buf, len - 1, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = '\0';
	return r;
}

static struct event	*fake_timers[FAKE_MAX];
static size_t		 fake_ntimers;

static int
fake_collect(const struct event_base *base, const struct event *ev,
    void *arg)
{
	(void)base;
	(void)arg;
	if (event_get_fd(ev) == -1 && event_pending(ev, EV_TIMEOUT, NULL) &&
	    fake_ntimers < FAKE_MAX)
		fake_timers[fake_ntimers++] = (struct event *)ev;
	return 0;
}

/* How many timers are pending. */
static inline size_t
fake_pending(struct event_base *base)
{
	fake_ntimers = 0;
	event_base_foreach_event(base, fake_collect, NULL);
	return fake_ntimers;
}

/* Fire the pending timer that is due first, as if its time had come. */
static inline void
fake_fire_first(struct event_base *base)
{
	struct timeval	 tv, first;
	size_t		 i, n, at = 0;

	ck_assert_uint_gt(n = fake_pending(base), 0);
	for (i = 0; i < n; i++) {
		event_pending(fake_timers[i], EV_TIMEOUT, &tv);
		if (i == 0 || timercmp(&tv, &first, <)) {
			first = tv;
			at = i;
		}
	}
	event_active(fake_timers[at], EV_TIMEOUT, 1);
	ck_assert_int_ge(event_base_loop(base, EVLOOP_NONBLOCK), 0);
}

/* Fire every pending timer now, as if its time had come; how many. */
static inline size_t
fake_fire(struct event_base *base)
{
	size_t	 i, n;

	n = fake_pending(base);
	for (i = 0; i < n; i++)
		event_active(fake_timers[i], EV_TIMEOUT, 1);
	ck_assert_int_ge(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	return n;
}

#endif
