/*
 * worker.c: the state machine of one slot (docs/design.md, "Worker"),
 * driven through a faked process side (fake.h) and a recording
 * set of worker_ops in place of a generation.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "backoff.h"
#include "fake.h"
#include "check_run.h"
#include "config.h"
#include "log.h"
#include "spawn.h"
#include "worker.h"

#define MAIN		FAKE_PID
#define EXIT(code)	((code) << 8)	/* a wait status */

static struct {
	int	 ready, not_ready, exited, killed, restart;
} told;

FAKE_TOLD(worker, ready)
FAKE_TOLD(worker, not_ready)
FAKE_TOLD(worker, exited)
FAKE_TOLD(worker, killed)
FAKE_TOLD(worker, restart)

static const struct worker_ops ops = {
	told_ready, told_not_ready, told_exited, told_killed, told_restart
};

static struct event_base	*base;
static struct config		*cfg;
static struct worker_ctx	 ctx;
static struct worker		*w;

static void
setup(void)
{
	base = fake_setup();
	memset(&told, 0, sizeof(told));
	cfg = config_new();
	fake_config(cfg);
	memset(&ctx, 0, sizeof(ctx));
	ctx.base = base;
	ctx.config = cfg;
	ctx.generation = 1;
	ctx.sys = &fake_sys;
	ctx.ops = &ops;
	w = worker_new(&ctx, 0);
}

static int	 held = -1;	/* ready = probe: the held socket */

static void
teardown(void)
{
	if (held != -1)
		close(held);
	held = -1;
	worker_free(w);
	config_free(cfg);
	fake_teardown(base);
}

static void
start(void)
{
	struct spawn_params	 sp;

	memset(&sp, 0, sizeof(sp));
	ck_assert_int_eq(worker_start(w, &sp), 0);
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	ck_assert_int_eq(worker_pid(w), MAIN + (pid_t)fake.nspawned - 1);
}

/* Started, ready and active: the common ground of most tests. */
static void
serve(void)
{
	start();
	fake_say(base, fake.nspawned - 1, "READY=1");
	worker_activate(w);
	ck_assert_int_eq(worker_state(w), WORKER_ACTIVE);
}

static long
backoff(void)
{
	struct worker_saved	 ws;

	worker_save(w, &ws);
	return ws.backoff;
}

START_TEST(test_start_ready_active)
{
	start();
	ck_assert_uint_eq(fake_pending(base), 1);	/* ready_timeout */
	fake_say(base, 0, "STATUS=warming up");
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	ck_assert_str_eq(worker_status_text(w), "warming up");
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(worker_state(w), WORKER_READY);
	ck_assert_int_eq(told.ready, 1);
	ck_assert_uint_eq(fake_pending(base), 0);
	/* No start_priority: nothing to set back. */
	ck_assert_int_eq(fake.renices, 0);
	ck_assert_int_eq(fake.autogroups, 0);
	/* Saying it twice changes nothing. */
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(told.ready, 1);
	worker_activate(w);
	ck_assert_int_eq(worker_state(w), WORKER_ACTIVE);
}
END_TEST

/* start_priority: the whole group goes back to baton's nice at READY=1. */
START_TEST(test_start_priority)
{
	struct spawn_params	 sp;

	memset(&sp, 0, sizeof(sp));
	sp.start_priority = 10;
	sp.start_own = 1;
	ck_assert_int_eq(worker_start(w, &sp), 0);
	ck_assert_int_eq(fake.start_priority, 10);
	ck_assert_int_eq(fake.renices, 0);
	ck_assert_int_eq(fake.autogroups, 0);
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(worker_state(w), WORKER_READY);
	ck_assert_int_eq(fake.renices, 1);
	ck_assert_int_eq(fake.renice_pgid, MAIN);
	ck_assert_int_eq(fake.renice_nice, getpriority(PRIO_PROCESS, 0));
	ck_assert_int_eq(fake.autogroups, 1);
	ck_assert_int_eq(fake.autogroup_pid, MAIN);
	ck_assert_int_eq(fake.autogroup_nice, 0);
	/* Once only. */
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(fake.renices, 1);
	ck_assert_int_eq(fake.autogroups, 1);
}
END_TEST

/* Without the right to set its own nice back: its autogroup only. */
START_TEST(test_start_priority_autogroup)
{
	struct spawn_params	 sp;

	memset(&sp, 0, sizeof(sp));
	sp.start_priority = 10;
	ck_assert_int_eq(worker_start(w, &sp), 0);
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(fake.autogroups, 1);
	ck_assert_int_eq(fake.autogroup_nice, 0);
	ck_assert_int_eq(fake.renices, 0);
}
END_TEST

START_TEST(test_ready_delay)
{
	cfg->ready = READY_DELAY;
	start();
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(worker_state(w), WORKER_READY);
	ck_assert_int_eq(told.ready, 1);
	ck_assert_int_eq(told.not_ready, 0);
}
END_TEST

START_TEST(test_ready_listen)
{
	cfg->ready = READY_LISTEN;
	start();
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	fake_say(base, 0, "LISTENING=1");
	ck_assert_int_eq(worker_state(w), WORKER_READY);
	ck_assert_int_eq(told.ready, 1);
}
END_TEST

START_TEST(test_ready_timeout)
{
	start();
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(told.not_ready, 1);
	ck_assert_int_eq(told.ready, 0);
	/* What to do is the generation's: the worker only tells. */
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	ck_assert_uint_eq(fake.nkills, 0);
}
END_TEST

START_TEST(test_drain_main)
{
	serve();
	worker_drain(w, SIGTERM);
	ck_assert_int_eq(worker_state(w), WORKER_DRAINING);
	ck_assert_int_eq(fake_killed(MAIN, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(-MAIN, SIGTERM), 0);
	/* Dying of the signal it was sent is a clean exit. */
	ck_assert_int_eq(worker_reaped(w, MAIN, SIGTERM), 1);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert_int_eq(worker_exit_kind(w), WORKER_EXIT_CLEAN);
	ck_assert_int_eq(told.exited, 1);
	ck_assert(!worker_alive(w));
}
END_TEST

START_TEST(test_drain_group)
{
	cfg->drain_to_group = 1;
	serve();
	worker_drain(w, SIGQUIT);
	ck_assert_int_eq(fake_killed(-MAIN, SIGQUIT), 1);
	ck_assert_int_eq(fake_killed(MAIN, SIGQUIT), 0);
	/* Another signal than the one it was sent is a crash. */
	ck_assert_int_eq(worker_reaped(w, MAIN, SIGSEGV), 1);
	ck_assert_int_eq(worker_exit_kind(w), WORKER_EXIT_CRASHED);
	ck_assert_str_eq(worker_exit_reason(w),
	    "killed by signal 11 (SIGSEGV)");
}
END_TEST

/* An interposer that said LISTENING=1 gets DRAIN=1; the signal waits. */
START_TEST(test_drain_preload)
{
	char	 buf[128];

	serve();
	fake_say(base, 0, "LISTENING=1");
	worker_drain(w, SIGTERM);
	ck_assert_int_eq(worker_state(w), WORKER_DRAINING);
	ck_assert_int_gt(fake_heard(0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "DRAIN=1\nIDLE_WAIT_MS=4500");
	ck_assert_uint_eq(fake.nkills, 0);
	fake_say(base, 0, "IDLE=1");
	ck_assert_int_eq(fake_killed(MAIN, SIGTERM), 1);
}
END_TEST

/* A process that dies on the signal gets it while stopped in accept(). */
START_TEST(test_drain_park)
{
	fake.dies_on = 1;
	fake.state = 'T';
	fake.in_accept = 1;
	serve();
	worker_drain(w, SIGTERM);
	ck_assert_int_eq(fake_killed(MAIN, SIGSTOP), 1);
	ck_assert_int_eq(fake_killed(MAIN, SIGTERM), 0);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(fake_killed(MAIN, SIGTERM), 1);
	ck_assert_int_eq(fake_killed(MAIN, SIGCONT), 1);
	ck_assert_int_eq(fake.kills[fake.nkills - 1].sig, SIGCONT);
}
END_TEST

START_TEST(test_kill)
{
	serve();
	worker_kill(w);
	ck_assert_int_eq(fake_killed(-MAIN, SIGKILL), 1);
	ck_assert_uint_eq(fake.nroots, 1);
	ck_assert_int_eq(fake.roots[0], MAIN);
	ck_assert_int_eq(worker_reaped(w, MAIN, SIGKILL), 1);
	ck_assert_int_eq(worker_exit_kind(w), WORKER_EXIT_KILLED);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
}
END_TEST

/* 100 ms, doubling; a process that lived a minute starts it over. */
START_TEST(test_restart_backoff)
{
	serve();
	fake.now += 5;
	ck_assert_int_eq(worker_reaped(w, MAIN, EXIT(1)), 1);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert_int_eq(worker_exit_kind(w), WORKER_EXIT_CRASHED);
	ck_assert_str_eq(worker_exit_reason(w), "exited with status 1");
	ck_assert_int_eq(told.exited, 1);
	ck_assert_uint_eq(fake_pending(base), 0);
	worker_restart_later(w);
	ck_assert_int_eq(worker_restarts(w), 1);
	ck_assert_int_eq(backoff(), 2 * BACKOFF_MIN);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(told.restart, 1);

	start();
	ck_assert_int_eq(worker_reaped(w, MAIN + 1, EXIT(1)), 1);
	worker_restart_later(w);
	ck_assert_int_eq(worker_restarts(w), 2);
	ck_assert_int_eq(backoff(), 4 * BACKOFF_MIN);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(told.restart, 2);

	start();
	fake.now += BACKOFF_RESET;
	ck_assert_int_eq(worker_reaped(w, MAIN + 2, EXIT(1)), 1);
	worker_restart_later(w);
	ck_assert_int_eq(worker_restarts(w), 3);
	ck_assert_int_eq(backoff(), 2 * BACKOFF_MIN);
}
END_TEST

/* ERROR= before exec says why better than the status 127 does. */
START_TEST(test_spawn_error)
{
	start();
	fake_say(base, 0, "ERROR=exec nosuch: No such file or directory");
	ck_assert_int_eq(worker_reaped(w, MAIN, EXIT(127)), 1);
	ck_assert_str_eq(worker_exit_reason(w),
	    "exec nosuch: No such file or directory");
}
END_TEST

START_TEST(test_start_fails)
{
	struct spawn_params	 sp;

	memset(&sp, 0, sizeof(sp));
	fake.spawn_fails = 1;
	ck_assert_int_eq(worker_start(w, &sp), -1);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert_int_eq(worker_pid(w), 0);
}
END_TEST

START_TEST(test_socket_unknown)
{
	char	 buf[128];

	start();
	fake_say(base, 0, "SOCKET=web");
	ck_assert_int_gt(fake_heard(0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "ERROR=no socket named 'web'");
}
END_TEST

/*
 * Its main process exits 0 and leaves a process: no crash, the slot
 * drains it, SIGKILLs it at drain_timeout and is free once it is gone.
 */
START_TEST(test_remnants)
{
	serve();
	worker_adopt(w, 2000, MAIN, "its group");
	ck_assert_uint_eq(fake.nkills, 0);
	ck_assert(worker_owns(w, 2000));
	ck_assert_int_eq(worker_reaped(w, MAIN, EXIT(0)), 1);
	ck_assert_int_eq(worker_exit_kind(w), WORKER_EXIT_CLEAN);
	ck_assert_int_eq(worker_state(w), WORKER_DRAINING);
	ck_assert_int_eq(told.exited, 1);
	ck_assert(worker_alive(w));
	ck_assert_int_eq(fake_killed(2000, SIGTERM), 1);
	ck_assert_uint_eq(fake_fire(base), 1);		/* drain_timeout */
	ck_assert_int_eq(told.killed, 1);
	ck_assert_int_eq(fake_killed(2000, SIGKILL), 1);
	ck_assert_int_eq(fake_killed(-MAIN, SIGKILL), 1);
	ck_assert_uint_eq(fake.nroots, 1);
	ck_assert_int_eq(fake.roots[0], 2000);
	ck_assert_int_eq(worker_reaped(w, 2001, SIGKILL), 0);
	ck_assert_int_eq(worker_reaped(w, 2000, SIGKILL), 1);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert(!worker_alive(w));
}
END_TEST

/* A restart waits for what the last process left behind. */
START_TEST(test_remnants_delay_restart)
{
	serve();
	worker_adopt(w, 2000, MAIN, "its group");
	ck_assert_int_eq(worker_reaped(w, MAIN, EXIT(1)), 1);
	worker_restart_later(w);
	ck_assert_int_eq(worker_restarts(w), 0);
	ck_assert_int_eq(worker_reaped(w, 2000, SIGTERM), 1);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert_int_eq(worker_restarts(w), 1);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(told.restart, 1);
}
END_TEST

/* Found after the slot was thought free: the restart waits again. */
START_TEST(test_adopt_late)
{
	serve();
	ck_assert_int_eq(worker_reaped(w, MAIN, EXIT(1)), 1);
	worker_restart_later(w);
	ck_assert_int_eq(worker_restarts(w), 1);
	worker_adopt(w, 2000, 2000, "its environment");
	ck_assert_int_eq(worker_state(w), WORKER_DRAINING);
	ck_assert_int_eq(worker_restarts(w), 0);
	ck_assert_int_eq(fake_killed(2000, SIGTERM), 1);
	ck_assert_int_eq(worker_reaped(w, 2000, EXIT(0)), 1);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert_int_eq(worker_restarts(w), 1);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(told.restart, 1);
	ck_assert_int_eq(told.killed, 0);
}
END_TEST

/* Draining: what the signal missed gets it; killed: SIGKILL. */
START_TEST(test_adopt_draining_killed)
{
	cfg->drain_to_group = 1;
	serve();
	worker_drain(w, SIGTERM);
	worker_adopt(w, 2000, MAIN, "its group");
	ck_assert_int_eq(fake_killed(2000, SIGTERM), 0);	/* it had it */
	worker_adopt(w, 3000, 3000, "its session");
	ck_assert_int_eq(fake_killed(3000, SIGTERM), 1);
	worker_kill(w);
	worker_adopt(w, 4000, 4000, "its environment");
	ck_assert_int_eq(fake_killed(4000, SIGKILL), 1);
	ck_assert_uint_eq(worker_norphans(w), 3);
}
END_TEST

START_TEST(test_restore)
{
	struct worker_saved	 ws;

	memset(&ws, 0, sizeof(ws));
	ws.pid = 3000;
	ws.pgid = 3000;
	ws.channel = -1;
	ws.restarts = 4;
	ws.backoff = 800;
	ws.status = "serving";
	worker_restore(w, &ws);
	ck_assert_int_eq(worker_state(w), WORKER_ACTIVE);
	ck_assert_int_eq(worker_pid(w), 3000);
	ck_assert_int_eq(worker_restarts(w), 4);
	ck_assert_str_eq(worker_status_text(w), "serving");
	ck_assert_uint_eq(fake_pending(base), 0);
}
END_TEST

START_TEST(test_restore_empty)
{
	struct worker_saved	 ws;

	memset(&ws, 0, sizeof(ws));
	ws.channel = -1;
	ws.backoff = 800;
	worker_restore(w, &ws);
	ck_assert_int_eq(worker_state(w), WORKER_EXITED);
	ck_assert_uint_eq(fake_fire(base), 1);
	ck_assert_int_eq(told.restart, 1);
}
END_TEST

/* ready = probe over a held socket on 127.0.0.1, probed every 200 ms. */
static void
probe_config(int successes)
{
	struct sockaddr_in	 sin;
	char			*error = NULL;

	cfg->ready = READY_PROBE;
	cfg->probe_successes = successes;
	cfg->probe_timeout = 300;
	ck_assert_int_eq(config_set_probe(cfg, "http GET /healthz", &error),
	    0);
	ck_assert_int_eq(config_set_listen(cfg, "http=tcp://127.0.0.1:1",
	    &error), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(held = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    0), -1);
	ck_assert_int_eq(bind(held, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ctx.fds = &held;
	ctx.nsockets = 1;
}

static int
held_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	ck_assert_int_eq(getsockname(held, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static char	 logged[4096];

static void
tap(enum log_level level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	strncat(logged, line, sizeof(logged) - strlen(logged) - 2);
	strcat(logged, "\n");
}

static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

START_TEST(test_probe_ready)
{
	probe_config(1);
	start();
	/* Probed at once, at the held socket's own address. */
	ck_assert_int_eq(fake.probes, 1);
	ck_assert_int_eq(fake.probe_runs, 1);
	ck_assert_int_eq(fake.probe_family, AF_INET);
	ck_assert_int_eq(fake.probe_port, held_port());
	ck_assert_int_eq(fake.probe_generation, 1);
	ck_assert_int_eq(fake.probe_timeout, 300);
	/* READY=1 is not what this mode waits for. */
	fake_say(base, 0, "READY=1");
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);

	fake_probe_done(0, "HTTP 503");
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	ck_assert_str_eq(worker_probe_failure(w), "HTTP 503");
	/* The next attempt after probe_interval, before ready_timeout. */
	ck_assert_uint_eq(fake_pending(base), 2);
	fake_fire_first(base);
	ck_assert_int_eq(fake.probe_runs, 2);
	ck_assert_int_eq(told.not_ready, 0);

	fake_probe_done(1, "HTTP 200");
	ck_assert_int_eq(worker_state(w), WORKER_READY);
	ck_assert_int_eq(told.ready, 1);
	ck_assert_ptr_null(worker_probe_failure(w));
	/* Done with: freed, and no timer left. */
	ck_assert_int_eq(fake.probe_frees, 1);
	ck_assert_int_eq(fake.probe_live, 0);
	ck_assert_uint_eq(fake_pending(base), 0);
}
END_TEST

/* probe_successes in a row; a failure starts the count over. */
START_TEST(test_probe_successes)
{
	probe_config(3);
	start();
	fake_probe_done(1, "HTTP 200");
	fake_fire_first(base);
	fake_probe_done(1, "HTTP 200");
	fake_fire_first(base);
	fake_probe_done(0, "HTTP 500");
	fake_fire_first(base);
	fake_probe_done(1, "HTTP 200");
	fake_fire_first(base);
	fake_probe_done(1, "HTTP 200");
	ck_assert_int_eq(worker_state(w), WORKER_STARTING);
	fake_fire_first(base);
	fake_probe_done(1, "HTTP 200");
	ck_assert_int_eq(worker_state(w), WORKER_READY);
	ck_assert_int_eq(fake.probe_runs, 6);
}
END_TEST

/* A failure is logged when it changes, not at every attempt. */
START_TEST(test_probe_log_once)
{
	int	 i;

	probe_config(1);
	log_set_level(LOG_LEVEL_INFO);
	log_set_tap(tap, NULL);
	start();
	for (i = 0; i < 5; i++) {
		fake_probe_done(0, "connect 127.0.0.1:8080: Connection refused");
		fake_fire_first(base);
	}
	fake_probe_done(0, "HTTP 503");
	fake_fire_first(base);
	fake_probe_done(0, "HTTP 503");
	log_set_tap(NULL, NULL);
	ck_assert_int_eq(count(logged, "probe failed: connect "), 1);
	ck_assert_int_eq(count(logged, "probe failed: HTTP 503"), 1);
	ck_assert_int_eq(fake.probe_runs, 7);
}
END_TEST

/* Still failing at ready_timeout: not ready, and the probe says why. */
START_TEST(test_probe_timeout)
{
	probe_config(1);
	cfg->ready_timeout = 100;
	start();
	fake_probe_done(0, "HTTP 503");
	/* ready_timeout (100 ms) comes before probe_interval (200 ms). */
	fake_fire_first(base);
	ck_assert_int_eq(told.not_ready, 1);
	ck_assert_str_eq(worker_probe_failure(w), "HTTP 503");
	/* Dead, it is probed no more. */
	ck_assert_int_eq(worker_reaped(w, MAIN, EXIT(1)), 1);
	ck_assert_int_eq(fake.probe_live, 0);
	ck_assert_uint_eq(fake_pending(base), 0);
}
END_TEST

/* preload = yes: the probe starts once the worker listens. */
START_TEST(test_probe_preload)
{
	probe_config(1);
	cfg->preload = 1;
	start();
	ck_assert_int_eq(fake.probes, 0);
	fake_say(base, 0, "LISTENING=1");
	ck_assert_int_eq(fake.probes, 1);
	ck_assert_int_eq(fake.probe_runs, 1);
	/* Listening again starts no second probe. */
	fake_say(base, 0, "LISTENING=1");
	ck_assert_int_eq(fake.probes, 1);
	fake_probe_done(1, "HTTP 200");
	ck_assert_int_eq(worker_state(w), WORKER_READY);
}
END_TEST

/* A drained starting worker (a rollback) is probed no more. */
START_TEST(test_probe_drained)
{
	probe_config(1);
	start();
	worker_drain(w, SIGTERM);
	ck_assert_int_eq(fake.probe_live, 0);
	ck_assert_int_eq(told.ready, 0);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_start_ready_active, test_start_priority,
		test_start_priority_autogroup,
		test_ready_delay, test_ready_listen, test_ready_timeout, test_drain_main, test_drain_group,
		test_drain_preload, test_drain_park, test_kill,
		test_restart_backoff, test_spawn_error, test_start_fails,
		test_socket_unknown, test_remnants,
		test_remnants_delay_restart, test_adopt_late,
		test_adopt_draining_killed, test_restore, test_restore_empty,
		test_probe_ready, test_probe_successes, test_probe_log_once,
		test_probe_timeout, test_probe_preload, test_probe_drained,
		NULL
	};

	return check_main("worker", setup, teardown, tests);
}
