/*
 * generation.c: the state machine of a generation (docs/design.md,
 * "Generation") with real workers on a faked process side
 * (fake.h), and a recording set of generation_ops in place of the
 * supervisor. Coalescing reloads is the supervisor's (its reload phase),
 * not a generation's, and is not tested here.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fake.h"
#include "check_run.h"
#include "config.h"
#include "generation.h"
#include "log.h"
#include "worker.h"

#define EXIT(code)	((code) << 8)	/* a wait status */
#define NWORKERS	2

static struct {
	enum generation_state	 changes[16];
	size_t			 nchanges;
	int			 crashed, killed;
	int			 slots[16];	/* each ops->slot's k */
	size_t			 nslots;
	int			 scaled;	/* ops->scaled calls */
	char			 scale_why[128];	/* the last's, or "" */
} told;

static void
told_changed(struct generation *g, void *arg)
{
	ck_assert_ptr_eq(arg, &told);
	if (told.nchanges < 16)
		told.changes[told.nchanges++] = generation_state(g);
}

FAKE_TOLD(generation, crashed)
FAKE_TOLD(generation, killed)

static void
told_slot(struct generation *gen, int k, void *arg)
{
	ck_assert_ptr_eq(arg, &told);
	if (told.nslots < 16)
		told.slots[told.nslots++] = k;
}

static void
told_scaled(struct generation *gen, const char *why, void *arg)
{
	ck_assert_ptr_eq(arg, &told);
	told.scaled++;
	snprintf(told.scale_why, sizeof(told.scale_why), "%s",
	    why != NULL ? why : "");
}

static const struct generation_ops ops = {
	told_changed, told_crashed, told_killed, NULL, told_slot, told_scaled
};

static struct event_base	*base;
static struct generation	*g;
static struct config		*made;	/* g's, before it starts */

static struct generation *
make(int restored)
{
	struct generation_env	 env;
	struct config		*c;
	char			*argv[] = { "server", "{worker}", NULL };
	char			*error = NULL;

	made = c = config_new();
	ck_assert_int_eq(config_set_argv(c, argv, &error), 0);
	c->workers = NWORKERS;
	fake_config(c);
	env.base = base;
	env.notify_path = "@baton-test";
	env.sys = &fake_sys;
	env.output = NULL;
	env.ops = &ops;
	env.arg = &told;
	if (restored)
		return generation_restore(&env, 7, c, NULL, fake.now,
		    NWORKERS);
	return generation_new(&env, 7, c, NULL);
}

static void
setup(void)
{
	base = fake_setup();
	memset(&told, 0, sizeof(told));
	g = make(0);
}

static void
teardown(void)
{
	generation_free(g);
	fake_teardown(base);
}

static void
reap(pid_t pid, int status)
{
	struct worker	*w;

	ck_assert_ptr_nonnull(w = generation_find_pid(g, pid));
	ck_assert_int_eq(worker_reaped(w, pid, status), 1);
	generation_recheck(g);
}

static void
told_is(size_t n, const enum generation_state *want)
{
	size_t	 i;

	ck_assert_uint_eq(told.nchanges, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(generation_state_name(told.changes[i]),
		    generation_state_name(want[i]));
}

/* A draining generation counted no crash and restarted nobody. */
static void
assert_no_restart(void)
{
	ck_assert_int_eq(told.crashed, 0);
	ck_assert_int_eq(worker_restarts(generation_worker(g, 0)), 0);
}

/* starting --every worker ready--> active */
static void
activate(void)
{
	static const enum generation_state	 want[] = { GENERATION_ACTIVE };

	ck_assert_int_eq(generation_start(g), 0);
	ck_assert_uint_eq(fake.nspawned, NWORKERS);
	ck_assert_int_eq(generation_state(g), GENERATION_STARTING);
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(generation_state(g), GENERATION_STARTING);
	ck_assert_int_eq(worker_state(generation_worker(g, 0)), WORKER_READY);
	fake_say(base, 1, "READY=1");
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	ck_assert_int_eq(worker_state(generation_worker(g, 0)),
	    WORKER_ACTIVE);
	ck_assert_int_eq(worker_state(generation_worker(g, 1)),
	    WORKER_ACTIVE);
	told_is(1, want);
}

START_TEST(test_start_active)
{
	activate();
	ck_assert_ptr_null(generation_failure(g));
	ck_assert_ptr_eq(generation_find_pid(g, FAKE_PID + 1),
	    generation_worker(g, 1));
	ck_assert_ptr_null(generation_find_pid(g, 1));
}
END_TEST

/* starting --not ready by ready_timeout--> rolled back --> gone */
START_TEST(test_ready_timeout)
{
	static const enum generation_state	 want[] = {
		GENERATION_ROLLED_BACK, GENERATION_GONE
	};

	ck_assert_int_eq(generation_start(g), 0);
	fake_say(base, 0, "READY=1");
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(generation_state(g), GENERATION_ROLLED_BACK);
	ck_assert_str_eq(generation_failure(g),
	    "worker 1 not ready after 1000 ms");
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 1);
	ck_assert_uint_eq(fake_pending(base), 1);	/* the deadline */
	reap(FAKE_PID, SIGTERM);
	reap(FAKE_PID + 1, SIGTERM);
	told_is(2, want);
	ck_assert_int_eq(told.crashed, 0);
	ck_assert_uint_eq(fake_pending(base), 0);
}
END_TEST

/* ready = probe: the rollback names the probe's last failure. */
START_TEST(test_probe_not_ready)
{
	char	*error = NULL;

	made->ready = READY_PROBE;
	ck_assert_int_eq(config_set_probe(made, "exec check", &error), 0);
	ck_assert_int_eq(generation_start(g), 0);
	ck_assert_int_eq(fake.probes, NWORKERS);
	fake_probe_done_at(0, 1, "exit status 0");
	ck_assert_int_eq(worker_state(generation_worker(g, 0)), WORKER_READY);
	fake_probe_done_at(1, 0, "exit status 1: not warm yet");
	ck_assert_int_eq(fake_fire(base), 2);	/* its next try, the timeout */
	ck_assert_int_eq(generation_state(g), GENERATION_ROLLED_BACK);
	ck_assert_str_eq(generation_failure(g), "worker 1 not ready after "
	    "1000 ms (the probe: exit status 1: not warm yet)");
	ck_assert_int_eq(fake.probe_live, 0);
}
END_TEST

/* starting --a worker exits--> rolled back, and a crash is counted */
START_TEST(test_crash_before_ready)
{
	ck_assert_int_eq(generation_start(g), 0);
	reap(FAKE_PID, EXIT(3));
	ck_assert_int_eq(told.crashed, 1);
	ck_assert_int_eq(generation_state(g), GENERATION_ROLLED_BACK);
	ck_assert_str_eq(generation_failure(g),
	    "worker 0 exited with status 3 before it was ready");
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 0);
	/* A rolled back generation does not drain again, nor restart. */
	generation_drain(g);
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 1);
	ck_assert_int_eq(worker_restarts(generation_worker(g, 0)), 0);
	reap(FAKE_PID + 1, SIGTERM);
	ck_assert_int_eq(generation_state(g), GENERATION_GONE);
}
END_TEST

/* A worker that cannot be spawned rolls back what was. */
START_TEST(test_spawn_fails)
{
	static const enum generation_state	 want[] = {
		GENERATION_ROLLED_BACK, GENERATION_GONE
	};

	fake.spawn_fails = 1;
	ck_assert_int_eq(generation_start(g), -1);
	ck_assert_str_eq(generation_failure(g),
	    "a worker could not be started");
	told_is(2, want);
}
END_TEST

/* active --newer one active / stop--> draining --> gone */
START_TEST(test_drain)
{
	static const enum generation_state	 want[] = {
		GENERATION_ACTIVE, GENERATION_DRAINING, GENERATION_GONE
	};

	activate();
	generation_drain(g);
	ck_assert_int_eq(generation_state(g), GENERATION_DRAINING);
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 1);
	ck_assert_int_eq(worker_state(generation_worker(g, 0)),
	    WORKER_DRAINING);
	reap(FAKE_PID, SIGTERM);
	ck_assert_int_eq(generation_state(g), GENERATION_DRAINING);
	reap(FAKE_PID + 1, EXIT(0));
	told_is(3, want);
	ck_assert_int_eq(told.killed, 0);
	assert_no_restart();
}
END_TEST

/* At the drain deadline what is left is SIGKILLed, and counted. */
START_TEST(test_drain_deadline)
{
	activate();
	generation_drain(g);
	reap(FAKE_PID, SIGTERM);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(fake_killed(-(FAKE_PID + 1), SIGKILL), 1);
	ck_assert_int_eq(fake_killed(-FAKE_PID, SIGKILL), 0);
	ck_assert_uint_eq(fake.nroots, 1);
	ck_assert_int_eq(fake.roots[0], FAKE_PID + 1);
	ck_assert_int_eq(told.killed, 1);
	ck_assert_int_eq(generation_killed(g), 1);
	ck_assert_int_eq(generation_state(g), GENERATION_DRAINING);
	reap(FAKE_PID + 1, SIGKILL);
	ck_assert_int_eq(generation_state(g), GENERATION_GONE);
	ck_assert_int_eq(worker_exit_kind(generation_worker(g, 1)),
	    WORKER_EXIT_KILLED);
}
END_TEST

/* Nothing alive to drain: gone at once. */
START_TEST(test_drain_nothing)
{
	static const enum generation_state	 want[] = {
		GENERATION_DRAINING, GENERATION_GONE
	};

	generation_drain(g);
	told_is(2, want);
	ck_assert_uint_eq(fake.nkills, 0);
	ck_assert_uint_eq(fake_pending(base), 0);
}
END_TEST

/* active: a crashed worker restarts after its backoff, and serves. */
START_TEST(test_restart_after_crash)
{
	struct worker	*w;

	activate();
	w = generation_worker(g, 0);
	reap(FAKE_PID, EXIT(1));
	ck_assert_int_eq(told.crashed, 1);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert_int_eq(worker_restarts(w), 1);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_uint_eq(fake.nspawned, NWORKERS + 1);
	ck_assert_int_eq(worker_pid(w), FAKE_PID + NWORKERS);
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	fake_say(base, NWORKERS, "READY=1");
	ck_assert_int_eq(worker_state(w), WORKER_ACTIVE);
	ck_assert_uint_eq(told.nchanges, 1);
}
END_TEST

/* A clean exit restarts too, but is no crash. */
START_TEST(test_restart_after_clean_exit)
{
	activate();
	reap(FAKE_PID + 1, EXIT(0));
	ck_assert_int_eq(told.crashed, 0);
	ck_assert_int_eq(worker_restarts(generation_worker(g, 1)), 1);
	ck_assert_uint_eq(fake_pending(base), 1);
}
END_TEST

/* A restarted worker that hangs is killed; its backoff restarts it. */
START_TEST(test_restart_not_ready)
{
	activate();
	reap(FAKE_PID, EXIT(1));
	ck_assert_uint_eq(fake_fire(base), 1);		/* the backoff */
	ck_assert_uint_eq(fake_fire(base), 1);		/* ready_timeout */
	ck_assert_int_eq(fake_killed(-(FAKE_PID + NWORKERS), SIGKILL), 1);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	reap(FAKE_PID + NWORKERS, SIGKILL);
	ck_assert_int_eq(worker_restarts(generation_worker(g, 0)), 2);
	ck_assert_int_eq(told.crashed, 1);	/* baton's SIGKILL is none */
}
END_TEST

/* A restart that cannot spawn waits for the next backoff. */
START_TEST(test_restart_spawn_fails)
{
	activate();
	reap(FAKE_PID, EXIT(1));
	fake.spawn_fails = 1;
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(worker_restarts(generation_worker(g, 0)), 2);
	ck_assert_uint_eq(fake_pending(base), 1);
}
END_TEST

/* No restart once the generation drains. */
START_TEST(test_no_restart_draining)
{
	activate();
	generation_drain(g);
	reap(FAKE_PID, EXIT(1));
	assert_no_restart();
}
END_TEST

START_TEST(test_kill)
{
	activate();
	generation_kill(g);
	ck_assert_int_eq(fake_killed(-FAKE_PID, SIGKILL), 1);
	ck_assert_int_eq(fake_killed(-(FAKE_PID + 1), SIGKILL), 1);
	ck_assert_int_eq(told.killed, 0);	/* a fast stop loses no count */
}
END_TEST

/* Taken over from the image before an upgrade: active, no event. */
START_TEST(test_restore)
{
	generation_free(g);
	g = make(1);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	ck_assert_int_eq(generation_number(g), 7);
	ck_assert_uint_eq(generation_nworkers(g), NWORKERS);
	ck_assert_uint_eq(told.nchanges, 0);
}
END_TEST

/* starting --every worker ready, with a canary--> canary */
static void
enter_canary(void)
{
	generation_canary(g, 1000, 5000);
	ck_assert_int_eq(generation_canary_share(g), 0);
	ck_assert_int_eq(generation_start(g), 0);
	fake_say(base, 0, "READY=1");
	fake_say(base, 1, "READY=1");
	ck_assert_int_eq(generation_state(g), GENERATION_CANARY);
	ck_assert_str_eq(generation_state_name(generation_state(g)), "canary");
	/* On trial its workers are ready, not active yet. */
	ck_assert_int_eq(worker_state(generation_worker(g, 0)), WORKER_READY);
	ck_assert_int_eq(worker_state(generation_worker(g, 1)), WORKER_READY);
	ck_assert_uint_eq(generation_canary_share(g), 1000);
	ck_assert_int_eq(generation_canary_left(g), 5000);
}

/* canary --canary_time passed--> active */
START_TEST(test_canary_time)
{
	static const enum generation_state	 want[] = {
		GENERATION_CANARY, GENERATION_ACTIVE
	};

	enter_canary();
	fake.now += 1200;
	ck_assert_int_eq(generation_canary_left(g), 3800);
	ck_assert_uint_eq(fake_fire(base), 1);	/* canary_time */
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	ck_assert_int_eq(worker_state(generation_worker(g, 0)),
	    WORKER_ACTIVE);
	ck_assert_uint_eq(generation_canary_share(g), 0);
	ck_assert_int_eq(generation_canary_left(g), -1);
	told_is(2, want);
	ck_assert_int_eq(generation_promote(g, "again"), -1);
}
END_TEST

/* canary --promote--> active; its timer goes with it. */
START_TEST(test_canary_promote)
{
	enter_canary();
	ck_assert_int_eq(generation_promote(g, "baton promote"), 0);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	ck_assert_uint_eq(fake_pending(base), 0);
}
END_TEST

/* canary --a worker exits--> rolled back: no restart hides it. */
START_TEST(test_canary_crash)
{
	enter_canary();
	reap(FAKE_PID, EXIT(3));
	ck_assert_int_eq(told.crashed, 1);
	ck_assert_int_eq(generation_state(g), GENERATION_ROLLED_BACK);
	ck_assert_str_eq(generation_failure(g),
	    "worker 0 exited with status 3 during the canary");
	ck_assert_uint_eq(generation_canary_share(g), 0);
	ck_assert_int_eq(worker_restarts(generation_worker(g, 0)), 0);
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 1);
}
END_TEST

/* canary --baton rollback--> rolled back; the timer is stopped. */
START_TEST(test_canary_roll_back)
{
	enter_canary();
	generation_roll_back(g, "baton rollback");
	ck_assert_int_eq(generation_state(g), GENERATION_ROLLED_BACK);
	ck_assert_str_eq(generation_failure(g), "baton rollback");
	ck_assert_int_eq(generation_promote(g, "too late"), -1);
	reap(FAKE_PID, SIGTERM);
	reap(FAKE_PID + 1, SIGTERM);
	ck_assert_int_eq(generation_state(g), GENERATION_GONE);
	ck_assert_uint_eq(fake_pending(base), 0);
}
END_TEST

/*
 * With a probe, the workers stay on trial: probe_successes failures in a
 * row roll it back; a pass in between starts the count again.
 */
START_TEST(test_canary_probe)
{
	char	*error = NULL;

	ck_assert_int_eq(config_set_probe(made, "exec check", &error), 0);
	made->probe_successes = 2;
	enter_canary();
	ck_assert_int_eq(fake.probes, NWORKERS);	/* ready = notify */
	fake_probe_done_at(0, 0, "exit status 1: bad");
	fake_probe_done_at(0, 1, "exit status 0");
	fake_probe_done_at(0, 0, "exit status 1: bad");
	ck_assert_int_eq(generation_state(g), GENERATION_CANARY);
	fake_probe_done_at(1, 1, "exit status 0");
	fake_probe_done_at(0, 0, "exit status 1: worse");
	ck_assert_int_eq(generation_state(g), GENERATION_ROLLED_BACK);
	ck_assert_str_eq(generation_failure(g), "worker 0's probe failed 2 "
	    "times in a row during the canary: exit status 1: worse");
	ck_assert_int_eq(fake.probe_live, 0);
}
END_TEST

/* Promoted, its workers are probed no more. */
START_TEST(test_canary_probe_ends)
{
	char	*error = NULL;

	ck_assert_int_eq(config_set_probe(made, "exec check", &error), 0);
	enter_canary();
	ck_assert_int_eq(fake.probe_live, NWORKERS);
	ck_assert_int_eq(generation_promote(g, "baton promote"), 0);
	ck_assert_int_eq(fake.probe_live, 0);
}
END_TEST

/* rollout = rolling: slot 0 starts alone and serves once ready. */
START_TEST(test_rolling_one_slot_at_a_time)
{
	static const enum generation_state	 want[] = { GENERATION_ACTIVE };

	made->rollout = ROLLOUT_ROLLING;
	ck_assert_int_eq(generation_start(g), 0);
	ck_assert_int_eq(generation_rolling(g), 1);
	ck_assert_uint_eq(fake.nspawned, 1);
	ck_assert_int_eq(generation_slot(g, 0), SLOT_STARTING);
	ck_assert_int_eq(generation_slot(g, 1), SLOT_WAITING);
	ck_assert_str_eq(generation_worker_role(g, 1), "waiting");
	fake_say(base, 0, "READY=1");
	/* Serving while its generation still starts; the owner is told. */
	ck_assert_int_eq(generation_state(g), GENERATION_STARTING);
	ck_assert_int_eq(generation_slot(g, 0), SLOT_SERVING);
	ck_assert_uint_eq(told.nslots, 1);
	ck_assert_int_eq(told.slots[0], 0);
	ck_assert_int_eq(generation_start_next(g), 1);
	ck_assert_uint_eq(fake.nspawned, 2);
	ck_assert_int_eq(generation_slot(g, 1), SLOT_STARTING);
	fake_say(base, 1, "READY=1");
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	ck_assert_int_eq(generation_start_next(g), 0);
	told_is(1, want);
}
END_TEST

/* A rolling slot that fails rolls the generation back, naming it. */
START_TEST(test_rolling_slot_fails)
{
	made->rollout = ROLLOUT_ROLLING;
	ck_assert_int_eq(generation_start(g), 0);
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(generation_start_next(g), 1);
	reap(FAKE_PID + 1, EXIT(3));
	ck_assert_int_eq(generation_state(g), GENERATION_ROLLED_BACK);
	ck_assert_str_eq(generation_failure(g),
	    "worker 1 exited with status 3 during the rollout");
	/* The slot that served drains with the rest. */
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 1);
	told.nslots = 0;
	reap(FAKE_PID, EXIT(0));
	ck_assert_int_eq(generation_state(g), GENERATION_GONE);
	/* Its slots are free: the owner may put the older ones back. */
	ck_assert_uint_eq(told.nslots, 1);
	ck_assert_int_eq(told.slots[0], 0);
}
END_TEST

/* A retired slot drains, is not restarted, and can be put back. */
START_TEST(test_retire_put_back)
{
	struct worker	*w;

	activate();
	w = generation_worker(g, 0);
	ck_assert_int_eq(generation_put_back(g, 0), -1);
	generation_retire(g, 0);
	ck_assert_int_eq(generation_slot(g, 0), SLOT_RETIRING);
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 0);
	reap(FAKE_PID, EXIT(0));
	ck_assert_int_eq(generation_slot(g, 0), SLOT_RETIRED);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
	ck_assert_int_eq(worker_restarts(w), 0);
	ck_assert_int_eq(told.crashed, 0);
	ck_assert_uint_eq(told.nslots, 1);
	ck_assert_uint_eq(fake.nspawned, NWORKERS);
	/* Put back: it starts again, and serves once ready. */
	ck_assert_int_eq(generation_put_back(g, 0), 0);
	ck_assert_uint_eq(fake.nspawned, NWORKERS + 1);
	ck_assert_int_eq(generation_slot(g, 0), SLOT_STARTING);
	fake_say(base, NWORKERS, "READY=1");
	ck_assert_int_eq(generation_slot(g, 0), SLOT_SERVING);
}
END_TEST

/* A retired slot's worker that ignores its signal is killed in time. */
START_TEST(test_retire_deadline)
{
	activate();
	generation_retire(g, 1);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(fake_killed(-(FAKE_PID + 1), SIGKILL), 1);
	ck_assert_int_eq(told.killed, 1);
	ck_assert_int_eq(fake_killed(-FAKE_PID, SIGKILL), 0);
}
END_TEST

/* Recycling: the successor is ready before the old worker drains. */
START_TEST(test_recycle)
{
	activate();
	ck_assert_int_eq(generation_recycle(g, 0, "a test"), 0);
	ck_assert_uint_eq(fake.nspawned, NWORKERS + 1);
	ck_assert_uint_eq(generation_nworkers(g), NWORKERS + 1);
	ck_assert_str_eq(generation_worker_role(g, NWORKERS), "successor");
	ck_assert_int_eq(generation_recycle(g, 1, "a test"), -1);
	ck_assert_int_eq(errno, EBUSY);
	/* Not ready yet: the old one serves, undisturbed. */
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 0);
	ck_assert_int_eq(worker_pid(generation_worker(g, 0)), FAKE_PID);
	fake_say(base, NWORKERS, "READY=1");
	ck_assert_int_eq(worker_pid(generation_worker(g, 0)),
	    FAKE_PID + NWORKERS);
	ck_assert_int_eq(generation_slot(g, 0), SLOT_SERVING);
	ck_assert_str_eq(generation_worker_role(g, NWORKERS), "retiring");
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 1);
	ck_assert_int_eq(generation_recycled(g), 1);
	ck_assert_uint_eq(told.nslots, 1);
	reap(FAKE_PID, EXIT(0));
	/* Gone: its seat too, and no restart, no crash. */
	ck_assert_uint_eq(generation_nworkers(g), NWORKERS);
	ck_assert_int_eq(told.crashed, 0);
	ck_assert_uint_eq(fake_pending(base), 0);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
}
END_TEST

/* A successor that dies before it is ready leaves the old one serving. */
START_TEST(test_recycle_successor_fails)
{
	activate();
	ck_assert_int_eq(generation_recycle(g, 1, "a test"), 0);
	reap(FAKE_PID + NWORKERS, EXIT(1));
	ck_assert_uint_eq(generation_nworkers(g), NWORKERS);
	ck_assert_int_eq(worker_pid(generation_worker(g, 1)), FAKE_PID + 1);
	ck_assert_int_eq(generation_slot(g, 1), SLOT_SERVING);
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 0);
	ck_assert_int_eq(generation_recycled(g), 0);
	/* And the next recycle may start. */
	ck_assert_int_eq(generation_recycle(g, 1, "a test"), 0);
}
END_TEST

/* A successor still starting when the generation drains drains too. */
START_TEST(test_recycle_drained)
{
	activate();
	ck_assert_int_eq(generation_recycle(g, 0, "a test"), 0);
	generation_drain(g);
	ck_assert_int_eq(fake_killed(FAKE_PID + NWORKERS, SIGTERM), 1);
	reap(FAKE_PID, EXIT(0));
	reap(FAKE_PID + 1, EXIT(0));
	ck_assert_int_eq(generation_state(g), GENERATION_DRAINING);
	reap(FAKE_PID + NWORKERS, EXIT(0));
	ck_assert_int_eq(generation_state(g), GENERATION_GONE);
}
END_TEST

/* max_age, with what was drawn at the start, and max_memory. */
START_TEST(test_recycle_due)
{
	made->max_age = 10000;
	activate();
	fake.now += 9999;
	ck_assert_int_eq(generation_recycle_due(g), 0);
	fake.now += 1001 + 1000;	/* past the tenth drawn at most */
	ck_assert_int_eq(generation_recycle_due(g), 1);
	ck_assert_uint_eq(fake.nspawned, NWORKERS + 1);
	/* One at a time. */
	ck_assert_int_eq(generation_recycle_due(g), 0);
}
END_TEST

START_TEST(test_recycle_memory)
{
	made->max_memory = 512 * 1024 * 1024;
	activate();
	fake.memory = made->max_memory;
	ck_assert_int_eq(generation_recycle_due(g), 0);
	fake.memory++;
	ck_assert_int_eq(generation_recycle_due(g), 1);
	ck_assert_str_eq(generation_worker_role(g, NWORKERS), "successor");
}
END_TEST

/* Scale up: the new slots serve once ready; then it is over. */
START_TEST(test_scale_up)
{
	activate();
	ck_assert_int_eq(generation_scale(g, NWORKERS), 0);
	ck_assert_int_eq(generation_scale(g, 4), 1);
	ck_assert_int_eq(generation_scaling(g), 1);
	ck_assert_uint_eq(generation_slots(g), 4);
	ck_assert_uint_eq(fake.nspawned, NWORKERS + 2);
	ck_assert_int_eq(generation_slot(g, 2), SLOT_STARTING);
	ck_assert_int_eq(generation_scale(g, 1), -1);
	ck_assert_int_eq(errno, EBUSY);
	fake_say(base, NWORKERS, "READY=1");
	ck_assert_int_eq(generation_slot(g, 2), SLOT_SERVING);
	ck_assert_int_eq(told.scaled, 0);
	fake_say(base, NWORKERS + 1, "READY=1");
	ck_assert_int_eq(generation_slot(g, 3), SLOT_SERVING);
	ck_assert_int_eq(told.scaled, 1);
	ck_assert_str_eq(told.scale_why, "");
	ck_assert_int_eq(generation_scaling(g), 0);
	/* A new slot that crashes later restarts like any other. */
	reap(FAKE_PID + NWORKERS, EXIT(1));
	ck_assert_int_eq(worker_restarts(generation_worker(g, 2)), 1);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
}
END_TEST

/* One new slot dies before it is ready: every new one goes again. */
START_TEST(test_scale_up_fails)
{
	activate();
	ck_assert_int_eq(generation_scale(g, 4), 1);
	fake_say(base, NWORKERS, "READY=1");
	reap(FAKE_PID + NWORKERS + 1, EXIT(3));
	ck_assert_int_eq(told.scaled, 1);
	ck_assert_str_eq(told.scale_why,
	    "worker 3 exited with status 3 before it was ready");
	ck_assert_uint_eq(generation_slots(g), NWORKERS);
	ck_assert_int_eq(generation_scaling(g), 0);
	/* The one that served drains; the old slots are untouched. */
	ck_assert_int_eq(fake_killed(FAKE_PID + NWORKERS, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 0);
	ck_assert_uint_eq(fake.nspawned, NWORKERS + 2);	/* no restart */
	reap(FAKE_PID + NWORKERS, EXIT(0));
	ck_assert_uint_eq(generation_nworkers(g), NWORKERS);
	ck_assert_int_eq(generation_state(g), GENERATION_ACTIVE);
}
END_TEST

/* A new slot that hangs past ready_timeout fails it too, and is killed. */
START_TEST(test_scale_up_not_ready)
{
	activate();
	ck_assert_int_eq(generation_scale(g, 3), 1);
	ck_assert_uint_eq(fake_fire(base), 1);		/* ready_timeout */
	ck_assert_str_eq(told.scale_why, "worker 2 not ready after 1000 ms");
	ck_assert_int_eq(fake_killed(-(FAKE_PID + NWORKERS), SIGKILL), 1);
	ck_assert_uint_eq(generation_slots(g), NWORKERS);
}
END_TEST

/* Scale down: the highest slots drain; it is over once they are gone. */
START_TEST(test_scale_down)
{
	activate();
	told.nslots = 0;
	ck_assert_int_eq(generation_scale(g, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(generation_scale(g, 1), 1);
	ck_assert_int_eq(generation_scaling(g), -1);
	ck_assert_uint_eq(generation_slots(g), 1);
	ck_assert_int_eq(generation_slot(g, 1), SLOT_NONE);
	/* Routed away first. */
	ck_assert_uint_eq(told.nslots, 1);
	ck_assert_int_eq(told.slots[0], 1);
	ck_assert_str_eq(generation_worker_role(g, 1), "retiring");
	ck_assert_int_eq(fake_killed(FAKE_PID + 1, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(FAKE_PID, SIGTERM), 0);
	ck_assert_int_eq(told.scaled, 0);
	reap(FAKE_PID + 1, EXIT(0));
	ck_assert_int_eq(told.scaled, 1);
	ck_assert_str_eq(told.scale_why, "");
	ck_assert_uint_eq(generation_nworkers(g), 1);
	ck_assert_int_eq(told.crashed, 0);
	ck_assert_uint_eq(fake.nspawned, NWORKERS);	/* no restart */
	/* And up again, into the slot that went. */
	ck_assert_int_eq(generation_scale(g, 2), 1);
	ck_assert_int_eq(generation_slot(g, 1), SLOT_STARTING);
}
END_TEST

/* Only an active generation scales. */
START_TEST(test_scale_not_active)
{
	ck_assert_int_eq(generation_start(g), 0);
	ck_assert_int_eq(generation_scale(g, 3), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_start_active, test_ready_timeout, test_probe_not_ready,
		test_crash_before_ready, test_spawn_fails, test_drain,
		test_drain_deadline, test_drain_nothing,
		test_restart_after_crash, test_restart_after_clean_exit,
		test_restart_not_ready, test_restart_spawn_fails,
		test_no_restart_draining, test_kill, test_restore,
		test_canary_time, test_canary_promote, test_canary_crash,
		test_canary_roll_back, test_canary_probe,
		test_canary_probe_ends,
		test_rolling_one_slot_at_a_time, test_rolling_slot_fails,
		test_retire_put_back, test_retire_deadline, test_recycle,
		test_recycle_successor_fails, test_recycle_drained,
		test_recycle_due, test_recycle_memory, test_scale_up,
		test_scale_up_fails, test_scale_up_not_ready, test_scale_down,
		test_scale_not_active, NULL
	};

	return check_main("generation", setup, teardown, tests);
}
