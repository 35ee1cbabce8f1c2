/*
 * config.c: the INI file as Debian's inih reads it, the command-line
 * overrides, validation, and config_print() loading back.
 */
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "config.h"
#include "signame.h"

#ifndef TEST_DATA
#error "TEST_DATA must name the folder of the fixtures"
#endif

static void	roundtrip(const struct config *);

/* Load and finish file from TEST_DATA; fail the test on any error. */
static struct config *
load(const char *file)
{
	struct config	*c;
	char		*error = NULL, path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA, file);
	c = config_new();
	ck_assert_msg(config_load(c, path, &error) == 0, "load: %s", error);
	ck_assert_msg(config_finish(c, &error) == 0, "finish: %s", error);
	return c;
}

/* Load and finish; return the error of whichever failed, or NULL. */
static char *
load_error(struct config *c, const char *path)
{
	char	*error = NULL;

	if (config_load(c, path, &error) == -1)
		return error;
	if (config_finish(c, &error) == -1)
		return error;
	return NULL;
}

static void
assert_argv(char **argv, const char *const *want)
{
	size_t	 i;

	ck_assert_ptr_nonnull(argv);
	for (i = 0; want[i] != NULL; i++) {
		ck_assert_ptr_nonnull(argv[i]);
		ck_assert_str_eq(argv[i], want[i]);
	}
	ck_assert_ptr_null(argv[i]);
}

START_TEST(test_full)
{
	static const char *const argv[] = { "node", "app.js", "--port",
	    "{fd:http}", NULL };
	struct config	*c;

	c = load("good-full.ini");
	ck_assert_str_eq(c->file, TEST_DATA "/good-full.ini");
	ck_assert_str_eq(c->command, "node app.js --port {fd:http}");
	assert_argv(c->argv, argv);
	ck_assert_str_eq(c->directory, "/srv/app");
	ck_assert_int_eq(c->workers, 4);
	ck_assert_int_eq(c->ready, READY_NOTIFY);
	ck_assert_int_eq(c->ready_delay, 500);
	ck_assert_int_eq(c->ready_timeout, 120000);
	ck_assert_int_eq(c->drain_signal, SIGINT);
	ck_assert_int_eq(c->drain_to_group, 1);
	ck_assert_int_eq(c->drain_timeout, 15000);
	ck_assert_str_eq(c->control, "/run/baton/app.sock");
	ck_assert_str_eq(c->pidfile, "/run/baton/app.pid");
	ck_assert_str_eq(c->user, "root");
	ck_assert_str_eq(c->group, "root");
	ck_assert_int_eq(c->preload, 1);

	ck_assert_uint_eq(c->nsockets, 3);
	ck_assert_str_eq(c->sockets[0].name, "http");
	ck_assert_int_eq(c->sockets[0].addr.kind, ADDRESS_TCP);
	ck_assert_str_eq(c->sockets[0].addr.url, "tcp://0.0.0.0:3000");
	ck_assert_int_eq(c->sockets[0].backlog, 1024);
	ck_assert_int_eq(c->sockets[0].mode, -1);
	ck_assert_ptr_null(c->sockets[0].owner);
	ck_assert_ptr_null(c->sockets[0].group);
	ck_assert_int_eq(c->sockets[0].line, 18);
	ck_assert_str_eq(c->sockets[1].name, "admin");
	ck_assert_int_eq(c->sockets[1].addr.kind, ADDRESS_UNIX);
	ck_assert_str_eq(c->sockets[1].addr.path, "/run/app/admin.sock");
	ck_assert_int_eq(c->sockets[1].backlog, -1);
	ck_assert_int_eq(c->sockets[1].mode, 0660);
	ck_assert_str_eq(c->sockets[1].owner, "root");
	ck_assert_str_eq(c->sockets[1].group, "root");
	ck_assert_int_eq(c->sockets[1].line, 22);
	ck_assert_str_eq(c->sockets[2].name, "dns");
	ck_assert_int_eq(c->sockets[2].addr.kind, ADDRESS_UDP);
	ck_assert_str_eq(c->sockets[2].addr.url, "udp://[::1]:5353");
	ck_assert_int_eq(c->sockets[2].nonblocking, 1);
	ck_assert_int_eq(c->sockets[0].nonblocking, 0);
	ck_assert_int_eq(config_socket_index(c, "http"), 0);
	ck_assert_int_eq(config_socket_index(c, "admin"), 1);
	ck_assert_int_eq(config_socket_index(c, "dns"), 2);
	ck_assert_int_eq(config_socket_index(c, "nosuch"), -1);

	ck_assert_uint_eq(c->nenv, 3);
	ck_assert_str_eq(c->env[0].key, "NODE_ENV");
	ck_assert_str_eq(c->env[0].value, "production");
	ck_assert_int_eq(c->env[0].line, 33);
	ck_assert_str_eq(c->env[1].key, "EMPTY");
	ck_assert_str_eq(c->env[1].value, "");
	ck_assert_str_eq(c->env[2].key, "_UNDER_score9");
	ck_assert_str_eq(c->env[2].value, "a=b c");
	config_free(c);
}
END_TEST

START_TEST(test_defaults)
{
	static const char *const argv[] = { "./server", NULL };
	struct config	*c;

	c = load("good-minimal.ini");
	assert_argv(c->argv, argv);
	ck_assert_str_eq(c->directory, TEST_DATA);
	ck_assert_int_eq(c->workers, CONFIG_DEFAULT_WORKERS);
	ck_assert_int_eq(c->workers, 1);
	ck_assert_int_eq(c->ready, READY_DELAY);
	ck_assert_int_eq(c->ready_delay, 1000);
	ck_assert_int_eq(c->ready_timeout, 60000);
	ck_assert_int_eq(c->drain_signal, SIGTERM);
	ck_assert_int_eq(c->drain_to_group, 0);
	ck_assert_int_eq(c->drain_timeout, 30000);
	ck_assert_str_eq(c->control, TEST_DATA "/good-minimal.sock");
	ck_assert_ptr_null(c->pidfile);
	ck_assert_ptr_null(c->user);
	ck_assert_ptr_null(c->group);
	ck_assert_int_eq(c->preload, 0);
	ck_assert_uint_eq(c->nsockets, 0);
	ck_assert_uint_eq(c->nenv, 0);
	ck_assert_int_eq(c->probe.kind, PROBE_NONE);
	ck_assert_ptr_null(c->probe_socket);
	ck_assert_int_eq(c->probe_interval, 200);
	ck_assert_int_eq(c->probe_successes, 1);
	ck_assert_int_eq(c->probe_timeout, 1000);
	ck_assert_int_eq(c->rollout, ROLLOUT_ALL);
	ck_assert_int_eq(c->canary, 0);
	ck_assert_int_eq(c->canary_time, 60000);
	ck_assert_int_eq(c->warmup, 0);
	config_free(c);

	c = config_new();
	ck_assert_ptr_null(c->file);
	ck_assert_ptr_null(c->command);
	ck_assert_ptr_null(c->argv);
	ck_assert_ptr_null(c->directory);
	ck_assert_ptr_null(c->control);
	ck_assert_int_eq(c->workers, 1);
	ck_assert_int_eq(c->ready, READY_DELAY);
	ck_assert_int_eq(c->ready_delay, 1000);
	ck_assert_int_eq(c->ready_timeout, 60000);
	ck_assert_int_eq(c->drain_signal, SIGTERM);
	ck_assert_int_eq(c->drain_timeout, 30000);
	ck_assert_int_eq(c->preload, 0);
	config_free(c);
}
END_TEST

/* " ;" starts a comment, ";" alone does not; '#' only starts a line. */
START_TEST(test_comments)
{
	struct config	*c;

	c = load("good-comments.ini");
	ck_assert_str_eq(c->command, "server --opt=a;b --x");
	ck_assert_int_eq(c->workers, 3);
	ck_assert_int_eq(c->ready, READY_DELAY);
	ck_assert_int_eq(c->drain_signal, SIGTERM);
	ck_assert_int_eq(c->drain_timeout, 120000);
	ck_assert_uint_eq(c->nenv, 3);
	ck_assert_str_eq(c->env[0].value, "a;b;c");
	ck_assert_str_eq(c->env[1].value, "a #b");
	ck_assert_str_eq(c->env[2].value, "a");
	config_free(c);
}
END_TEST

START_TEST(test_crlf_bom)
{
	struct config	*c;

	c = load("good-crlf.ini");
	ck_assert_str_eq(c->command, "server --flag");
	ck_assert_int_eq(c->workers, 2);
	ck_assert_uint_eq(c->nsockets, 1);
	ck_assert_str_eq(c->sockets[0].addr.url, "tcp://127.0.0.1:8080");
	config_free(c);
}
END_TEST

START_TEST(test_continuation)
{
	static const char *const argv[] = { "python3", "-m", "gunicorn",
	    "--bind", "fd://{fd:http}", "--workers", "1", "--access-logfile",
	    "-", "app:create_app()", NULL };
	struct config	*c;
	char		 x[151], y[151], *want;

	c = load("good-continuation.ini");
	ck_assert_str_eq(c->command, "python3 -m gunicorn --bind "
	    "fd://{fd:http} --workers 1 --access-logfile - "
	    "'app:create_app()'");
	assert_argv(c->argv, argv);
	ck_assert_int_eq(c->workers, 2);
	/* An indented section header is a section, not a continuation. */
	ck_assert_uint_eq(c->nsockets, 1);
	ck_assert_str_eq(c->sockets[0].name, "http");
	ck_assert_int_eq(c->sockets[0].line, 10);
	ck_assert_uint_eq(c->nenv, 2);
	ck_assert_str_eq(c->env[0].value,
	    "-Xmx1g -Dfile.encoding=UTF-8 -Duser.timezone=UTC");
	memset(x, 'x', 150);
	memset(y, 'y', 150);
	x[150] = y[150] = '\0';
	want = malloc(302);
	snprintf(want, 302, "%s %s", x, y);
	ck_assert_str_eq(c->env[1].value, want);
	free(want);
	config_free(c);
}
END_TEST

/* inih reads 200 bytes: 199 characters and the NUL. */
START_TEST(test_line199)
{
	struct config	*c;
	char		 want[200];

	memset(want, 'a', 189);
	want[189] = '\0';
	c = load("good-line199.ini");
	ck_assert_int_eq(strlen(c->command) + strlen("command = "), 199);
	ck_assert_str_eq(c->command, want);
	config_free(c);
	c = load("good-line199-crlf.ini");
	ck_assert_str_eq(c->command, want);
	config_free(c);
}
END_TEST

START_TEST(test_relative)
{
	struct config	*c;

	c = load("good-relative.ini");
	ck_assert_str_eq(c->directory, TEST_DATA "/app/current");
	ck_assert_str_eq(c->control, TEST_DATA "/run/baton.sock");
	ck_assert_str_eq(c->pidfile, TEST_DATA "/../baton.pid");
	config_free(c);

	c = load("good-noext.conf");
	ck_assert_str_eq(c->control, TEST_DATA "/good-noext.conf.sock");
	ck_assert_ptr_null(c->output);
	ck_assert_int_eq(c->output_keep, 5);
	config_free(c);

	c = load("good-output.ini");
	ck_assert_str_eq(c->output, TEST_DATA "/logs/app.log");
	ck_assert_int_eq(c->output_max_size, 2 * 1024 * 1024);
	ck_assert_int_eq(c->output_keep, 3);
	/* Recycling: never unless set. */
	ck_assert_int_eq(c->max_memory, 0);
	ck_assert_int_eq(c->max_age, 0);
	ck_assert_int_eq(c->start_priority, CONFIG_DEFAULT_START_PRIORITY);
	config_free(c);

	c = load("good-recycle.ini");
	ck_assert_int_eq(c->max_memory, 512LL * 1024 * 1024);
	ck_assert_int_eq(c->max_age, 24L * 3600 * 1000);
	ck_assert_int_eq(c->start_priority, 7);
	config_free(c);

	/* warmup: at most an hour, with a canary; 0 is none, also rolling. */
	c = load("good-warmup.ini");
	ck_assert_int_eq(c->warmup, CONFIG_MAX_WARMUP);
	ck_assert_int_eq(c->warmup, 3600L * 1000);
	ck_assert_int_eq(c->canary, 1000);
	config_free(c);
	c = load("good-warmup-off.ini");
	ck_assert_int_eq(c->warmup, 0);
	ck_assert_int_eq(c->rollout, ROLLOUT_ROLLING);
	config_free(c);
}
END_TEST

/* A relative FILE is taken from the current directory. */
START_TEST(test_relative_file)
{
	struct config	*c;
	char		 cwd[PATH_MAX], data[PATH_MAX], want[PATH_MAX + 32];
	char		*error = NULL;

	/* getcwd() gives the canonical path, even in a VPATH build. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(TEST_DATA), 0);
	ck_assert_ptr_nonnull(getcwd(data, sizeof(data)));
	c = config_new();
	ck_assert_int_eq(config_load(c, "./good-minimal.ini", &error), 0);
	ck_assert_int_eq(config_finish(c, &error), 0);
	ck_assert_int_eq(chdir(cwd), 0);
	snprintf(want, sizeof(want), "%s/good-minimal.ini", data);
	ck_assert_str_eq(c->file, want);
	ck_assert_str_eq(c->directory, data);
	snprintf(want, sizeof(want), "%s/good-minimal.sock", data);
	ck_assert_str_eq(c->control, want);
	config_free(c);
}
END_TEST

START_TEST(test_values)
{
	struct config	*c;

	c = load("good-values.ini");
	ck_assert_int_eq(c->workers, 1024);
	ck_assert_int_eq(c->ready, READY_LISTEN);
	ck_assert_int_eq(c->preload, 1);
	ck_assert_int_eq(c->ready_delay, 1000);
	ck_assert_int_eq(c->ready_timeout, 3600000);
	ck_assert_int_eq(c->drain_signal, SIGUSR1);
	ck_assert_int_eq(c->drain_timeout, 2500);
	ck_assert_str_eq(c->sockets[0].addr.host, "localhost");
	ck_assert_int_eq(c->sockets[0].backlog, 65535);
	ck_assert_int_eq(c->sockets[1].mode, 0600);
	config_free(c);

	c = load("good-empty-env.ini");
	ck_assert_uint_eq(c->nenv, 0);
	config_free(c);
}
END_TEST

static const struct {
	const char	*file;
	const char	*error;		/* after the file's path */
} bad[] = {
	{ "bad-unknown-key.ini", ":3: unknown key 'x' in [baton]" },
	{ "bad-drain-to.ini", ":3: drain_to: 'children' is not main or group" },
	{ "bad-output-size.ini", ":4: output_max_size: '10X' is not a size "
	    "(use 100M, 512K, 1G or bytes)" },
	{ "bad-max-memory.ini", ":3: max_memory: '512MB' is not a size (use "
	    "512M, 1G, 800K or bytes)" },
	{ "bad-output-keep.ini", ":4: output_keep: '0' is not a number from 1 "
	    "to 1000" },
	{ "bad-nonblocking.ini", ":6: nonblocking: 'maybe' is not yes or no" },
	{ "bad-control-clash.ini", ":5: socket 'app' listens on "
	    "/run/baton-clash.sock, the control socket's path (set 'control' "
	    "in [baton])" },
	{ "bad-unknown-socket-key.ini",
	    ":3: unknown key 'port' in [socket:http]" },
	{ "bad-unknown-section.ini", ":4: unknown section [server]" },
	{ "bad-unknown-section-empty.ini", ":3: unknown section [foo]" },
	{ "bad-outside.ini",
	    ":2: 'command' is outside any section (put it under [baton])" },
	{ "bad-syntax.ini", ":3: expected 'key = value' or '[section]'" },
	{ "bad-syntax-first.ini", ":2: expected 'key = value' or '[section]'" },
	{ "bad-bracket.ini", ":1: missing ']' in '[baton'" },
	{ "bad-section-trailing.ini", ":1: unexpected 'x' after [baton]" },
	{ "bad-dup-baton.ini",
	    ":4: duplicate section [baton] (first at line 1)" },
	{ "bad-dup-env.ini", ":5: duplicate section [env] (first at line 3)" },
	{ "bad-dup-socket.ini",
	    ":4: duplicate socket 'http' (first at line 1)" },
	{ "bad-dup-key.ini",
	    ":5: duplicate key 'workers' in [baton] (first at line 3)" },
	{ "bad-dup-socket-key.ini",
	    ":3: duplicate key 'listen' in [socket:http] (first at line 2)" },
	{ "bad-dup-env-key.ini",
	    ":4: duplicate key 'A' in [env] (first at line 2)" },
	{ "bad-dup-address.ini", ":8: socket 'admin' listens on "
	    "tcp://127.0.0.1:8080 like socket 'http' (line 4)" },
	{ "bad-socket-empty.ini", ":1: socket 'http' has no listen address" },
	{ "bad-socket-empty-eof.ini",
	    ":4: socket 'http' has no listen address" },
	{ "bad-socket-name.ini", ":1: bad socket name 'a b' (use letters, "
	    "digits, '-', '_' and '.')" },
	{ "bad-socket-noname.ini", ":1: bad socket name '' (use letters, "
	    "digits, '-', '_' and '.')" },
	{ "bad-socket-colon.ini", ":1: bad socket name 'a:b' (use letters, "
	    "digits, '-', '_' and '.')" },
	{ "bad-listen-scheme.ini", ":2: socket 'http': unknown scheme 'http' "
	    "(use tcp://, udp:// or unix://)" },
	{ "bad-listen-port.ini", ":2: socket 'http': missing port in "
	    "'tcp://127.0.0.1' (tcp://HOST:PORT)" },
	{ "bad-listen-empty.ini", ":2: socket 'http': empty address "
	    "(use tcp://, udp:// or unix://)" },
	{ "bad-listen-v6.ini", ":2: socket 'http': IPv6 address in "
	    "'tcp://::1:80' needs brackets (tcp://[V6]:PORT)" },
	{ "bad-backlog.ini",
	    ":3: backlog: 'lots' is not a number from 1 to 65535" },
	{ "bad-backlog-udp.ini", ":2: socket 'dns': backlog does not apply "
	    "to udp://127.0.0.1:53 (udp has no accept queue)" },
	{ "bad-mode-tcp.ini", ":3: socket 'http': owner applies to unix "
	    "sockets only, not tcp://127.0.0.1:80" },
	{ "bad-mode.ini", ":3: mode: '0999' is not an octal mode like 0660" },
	{ "bad-owner.ini",
	    ":3: socket 'app': owner 'nosuch-baton-user' does not exist" },
	{ "bad-socket-group.ini",
	    ":3: socket 'app': group 'nosuch-baton-group' does not exist" },
	{ "bad-workers.ini",
	    ":3: workers: 'abc' is not a number from 1 to 1024" },
	{ "bad-workers-zero.ini",
	    ":2: workers: '0' is not a number from 1 to 1024" },
	{ "bad-workers-big.ini",
	    ":2: workers: '1025' is not a number from 1 to 1024" },
	{ "bad-workers-semicolon.ini",
	    ":2: workers: '2;3' is not a number from 1 to 1024" },
	{ "bad-duration.ini", ":3: drain_timeout: '5 parsecs' is not a "
	    "duration (use 500ms, 15s, 2m or seconds)" },
	{ "bad-duration-zero.ini", ":2: ready_delay: '0' is not a duration "
	    "(use 500ms, 15s, 2m or seconds)" },
	{ "bad-max-age.ini", ":3: max_age: '0' is not a duration "
	    "(use 500ms, 15s, 2m or seconds)" },
	{ "bad-start-priority.ini", ":3: start_priority: '20' is not a nice "
	    "increment from 0 to 19" },
	{ "bad-duration-float.ini", ":2: ready_timeout: '1.5s' is not a "
	    "duration (use 500ms, 15s, 2m or seconds)" },
	{ "bad-duration-huge.ini", ":2: drain_timeout: "
	    "'99999999999999999999h' is not a duration (use 500ms, 15s, 2m "
	    "or seconds)" },
	{ "bad-signal.ini", ":2: drain_signal: 'SIGFOO' is not a signal" },
	{ "bad-signal-number.ini", ":2: drain_signal: '65' is not a signal" },
	{ "bad-ready.ini",
	    ":2: ready: 'soon' is not one of notify, listen, delay, probe" },
	{ "bad-preload.ini", ":2: preload: 'maybe' is not yes or no" },
	{ "bad-ready-listen.ini", ":3: ready = listen needs preload = yes "
	    "(the preload library is what sees listen())" },
	{ "bad-ready-delay.ini", ":3: ready_delay (120000ms) must not exceed "
	    "ready_timeout (60000ms)" },
	{ "bad-user.ini", ":3: user 'nosuch-baton-user' does not exist" },
	{ "bad-group.ini", ":3: group 'nosuch-baton-group' does not exist" },
	{ "bad-no-command.ini", ":3: no command (set 'command' in [baton], "
	    "or give one after --)" },
	{ "bad-no-command-no-baton.ini", ":1: no command (set 'command' in "
	    "[baton], or give one after --)" },
	{ "bad-command-empty.ini", ":3: command is empty" },
	{ "bad-command-quote.ini", ":3: command: unterminated double quote" },
	{ "bad-command-fd.ini",
	    ":2: command: {fd:nosuch}: no socket named 'nosuch'" },
	{ "bad-line200.ini", ":2: line longer than 199 characters" },
	{ "bad-line200-comment.ini", ":3: line longer than 199 characters" },
	{ "bad-line-long.ini", ":3: line longer than 199 characters" },
	{ "bad-continue-workers.ini",
	    ":4: 'workers' does not continue on the next line" },
	{ "bad-continue-listen.ini",
	    ":3: 'listen' does not continue on the next line" },
	{ "bad-continue-bracket.ini", ":3: unknown section [--flag] (an "
	    "indented line starting with '[' is a section)" },
	{ "bad-indented-key.ini", ":3: 'workers' is indented, so it continues "
	    "'command' (remove the indentation)" },
	{ "bad-indented-env.ini", ":3: 'B' is indented, so it continues 'A' "
	    "(remove the indentation)" },
	{ "bad-env-name.ini", ":2: 'FOO-BAR' is not a variable name (use "
	    "letters, digits and '_', not starting with a digit)" },
	{ "bad-env-digit.ini", ":2: '1FOO' is not a variable name (use "
	    "letters, digits and '_', not starting with a digit)" },
	{ "bad-env-reserved.ini",
	    ":3: [env] may not set LISTEN_FDS: baton sets it for each worker" },
	{ "bad-env-reserved-prefix.ini", ":2: [env] may not set "
	    "BATON_WHATEVER: baton sets it for each worker" },
	{ "bad-empty-key.ini", ":2: unknown key '' in [baton]" },
	{ "bad-directory-empty.ini", ":3: directory: no value" },
	{ "bad-nul.ini", ":2: line contains a NUL byte" },
	{ "bad-probe-missing.ini", ":3: ready = probe needs a probe (probe = "
	    "http GET /healthz, tcp or exec COMMAND)" },
	{ "bad-probe-unused.ini", ":3: probe is used by ready = probe and by "
	    "canary only (set one of them, or remove probe)" },
	{ "bad-probe-kind.ini", ":4: probe: 'https' is not http METHOD PATH, "
	    "tcp or exec COMMAND" },
	{ "bad-probe-http.ini", ":4: probe: http needs a method and a path "
	    "(http GET /healthz)" },
	{ "bad-probe-method.ini", ":4: probe: 'get' is not an HTTP method "
	    "(use upper case: GET, HEAD, ...)" },
	{ "bad-probe-path.ini", ":4: probe: 'healthz' is not a path for a "
	    "request line (one that starts with '/', like /healthz)" },
	{ "bad-probe-words.ini", ":4: probe: http takes a method and a path "
	    "only, not 'HTTP/1.1'" },
	{ "bad-probe-tcp.ini",
	    ":4: probe: tcp takes nothing after it, not '8080'" },
	{ "bad-probe-exec.ini", ":4: probe: exec needs a command (exec "
	    "/usr/local/bin/check --quick)" },
	{ "bad-probe-exec-quote.ini",
	    ":4: probe: exec: unterminated single quote" },
	{ "bad-probe-nosocket.ini", ":4: probe = tcp needs a socket to go "
	    "through (add a [socket:NAME], or use exec)" },
	{ "bad-probe-udp.ini", ":4: the probe goes through the first socket, "
	    "'dns', which is udp://127.0.0.1:53; set probe_socket to a tcp or "
	    "unix socket" },
	{ "bad-probe-socket.ini", ":5: probe_socket: no socket named 'nosuch'" },
	{ "bad-probe-socket-udp.ini", ":5: probe_socket: socket 'dns' is "
	    "udp://127.0.0.1:53; a probe needs a stream socket (tcp or unix)" },
	{ "bad-probe-interval-alone.ini", ":3: probe_timeout applies only with "
	    "probe (set probe, or remove probe_timeout)" },
	{ "bad-probe-successes.ini",
	    ":5: probe_successes: '0' is not a number from 1 to 1000" },
	{ "bad-probe-interval.ini", ":5: probe_interval: '0' is not a "
	    "duration (use 500ms, 15s, 2m or seconds)" },
	{ "bad-rollout.ini", ":3: rollout: 'blue-green' is not all or rolling" },
	{ "bad-canary.ini", ":3: canary: '100%' is not a share from 0.01% to "
	    "99.99% (like 10% or 2.5%)" },
	{ "bad-canary-percent.ini", ":3: canary: '10' is not a share from "
	    "0.01% to 99.99% (like 10% or 2.5%)" },
	{ "bad-canary-decimals.ini", ":3: canary: '2.555%' is not a share "
	    "from 0.01% to 99.99% (like 10% or 2.5%)" },
	{ "bad-canary-time.ini", ":3: canary_time applies only with canary "
	    "(set canary, or remove canary_time)" },
	{ "bad-canary-rolling.ini", ":5: canary does not combine with "
	    "rollout = rolling, which gives each new slot its full share as "
	    "it comes (choose one)" },
	{ "bad-warmup.ini", ":3: warmup: '61m' is not a duration from 0 to 1h "
	    "(use 500ms, 15s, 2m or seconds)" },
	{ "bad-warmup-unit.ini", ":3: warmup: 'soon' is not a duration from 0 "
	    "to 1h (use 500ms, 15s, 2m or seconds)" },
	{ "bad-warmup-rolling.ini", ":5: warmup does not combine with "
	    "rollout = rolling, which gives each new slot its full share as "
	    "it comes (choose one)" },
};

START_TEST(test_probe)
{
	static const char *const exec_argv[] = { "/usr/bin/check", "--url",
	    "http://$HOST/x y", NULL };
	const struct config_socket	*s;
	struct config			*c;

	c = load("good-probe.ini");
	ck_assert_int_eq(c->ready, READY_PROBE);
	ck_assert_int_eq(c->probe.kind, PROBE_HTTP);
	ck_assert_str_eq(c->probe.method, "HEAD");
	ck_assert_str_eq(c->probe.path, "/healthz?full=1");
	ck_assert_str_eq(c->probe_socket, "admin");
	ck_assert_ptr_nonnull(s = config_probe_socket(c));
	ck_assert_str_eq(s->name, "admin");
	ck_assert_int_eq(c->probe_interval, 50);
	ck_assert_int_eq(c->probe_successes, 3);
	ck_assert_int_eq(c->probe_timeout, 2000);
	ck_assert_int_eq(c->rollout, ROLLOUT_ROLLING);
	ck_assert_int_eq(c->canary, 250);
	ck_assert_int_eq(c->canary_time, 300000);
	config_free(c);

	c = load("good-probe-exec.ini");
	ck_assert_int_eq(c->probe.kind, PROBE_EXEC);
	assert_argv(c->probe.argv, exec_argv);
	/* An exec probe needs no socket; it is only told one. */
	ck_assert_ptr_null(config_probe_socket(c));
	config_free(c);

	/* A probe may serve a canary alone; the first socket by default. */
	c = load("good-probe-canary.ini");
	ck_assert_int_eq(c->ready, READY_DELAY);
	ck_assert_int_eq(c->probe.kind, PROBE_TCP);
	ck_assert_int_eq(c->canary, 1000);
	ck_assert_ptr_nonnull(s = config_probe_socket(c));
	ck_assert_str_eq(s->name, "http");
	config_free(c);
}
END_TEST

static const struct {
	const char	*in;
	int		 canary;	/* -1: refused */
} canaries[] = {
	{ "10%", 1000 },
	{ "2.5%", 250 },
	{ "0.01%", 1 },
	{ "0.5%", 50 },
	{ "99.99%", 9999 },
	{ "50.00%", 5000 },
	{ "007%", 700 },
	{ "0%", -1 },
	{ "0.00%", -1 },
	{ "100%", -1 },
	{ "100.0%", -1 },
	{ "1000%", -1 },
	{ "99999999999%", -1 },
	{ "10", -1 },
	{ "10 %", -1 },
	{ "10%%", -1 },
	{ ".5%", -1 },
	{ "5.%", -1 },
	{ "2.555%", -1 },
	{ "-5%", -1 },
	{ "", -1 },
};

START_TEST(test_canary)
{
	int	 v = -42;

	if (canaries[_i].canary == -1) {
		ck_assert_msg(config_parse_canary(canaries[_i].in, &v) == -1,
		    "'%s' accepted as %d", canaries[_i].in, v);
		ck_assert_int_eq(v, -42);
	} else {
		ck_assert_msg(config_parse_canary(canaries[_i].in, &v) == 0,
		    "'%s' refused", canaries[_i].in);
		ck_assert_int_eq(v, canaries[_i].canary);
	}
}
END_TEST

/* What config_print() writes for a probe is what parses back to it. */
static const char *const probe_specs[] = {
	"http GET /",
	"http OPTIONS /a/b?c=d&e=%20",
	"tcp",
	"exec check",
	"exec /bin/sh -c 'exit 3'",
	"exec printf '%s ;x' \"it's\"",
};

START_TEST(test_probe_spec)
{
	struct config_probe	 p, q;
	char			*spec, *again, *error = NULL;

	ck_assert_msg(config_parse_probe(probe_specs[_i], &p, &error) == 0,
	    "%s: %s", probe_specs[_i], error);
	spec = config_probe_spec(&p);
	ck_assert_msg(config_parse_probe(spec, &q, &error) == 0, "%s: %s",
	    spec, error);
	again = config_probe_spec(&q);
	ck_assert_str_eq(spec, again);
	ck_assert_int_eq(p.kind, q.kind);
	if (p.kind == PROBE_EXEC)
		assert_argv(q.argv, (const char *const *)p.argv);
	free(spec);
	free(again);
	config_probe_clear(&p);
	config_probe_clear(&q);
	ck_assert_int_eq(p.kind, PROBE_NONE);
	ck_assert_ptr_null(p.argv);
}
END_TEST

START_TEST(test_bad)
{
	struct config	*c;
	char		*error, path[PATH_MAX], want[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA, bad[_i].file);
	snprintf(want, sizeof(want), "%s%s", path, bad[_i].error);
	c = config_new();
	error = load_error(c, path);
	ck_assert_msg(error != NULL, "%s was accepted", bad[_i].file);
	ck_assert_str_eq(error, want);
	free(error);
	config_free(c);
}
END_TEST

/* Every fixture is tested: good ones load, bad ones are in the table. */
START_TEST(test_fixtures)
{
	struct config	*c;
	struct dirent	*de;
	DIR		*dir;
	size_t		 i, ngood = 0, nbad = 0;
	char		*error, path[PATH_MAX];

	ck_assert_ptr_nonnull(dir = opendir(TEST_DATA));
	while ((de = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", TEST_DATA, de->d_name);
		if (strncmp(de->d_name, "good-", 5) == 0) {
			c = config_new();
			error = load_error(c, path);
			ck_assert_msg(error == NULL, "%s", error);
			config_free(c);
			ngood++;
		} else if (strncmp(de->d_name, "bad-", 4) == 0) {
			for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
				if (strcmp(bad[i].file, de->d_name) == 0)
					break;
			}
			ck_assert_msg(i < sizeof(bad) / sizeof(bad[0]),
			    "%s is not in the table", de->d_name);
			nbad++;
		}
	}
	closedir(dir);
	ck_assert_uint_eq(nbad, sizeof(bad) / sizeof(bad[0]));
	ck_assert_uint_ge(ngood, 10);
}
END_TEST

START_TEST(test_unreadable)
{
	struct config	*c;
	char		*error = NULL;

	c = config_new();
	ck_assert_int_eq(config_load(c, TEST_DATA "/nosuch.ini", &error), -1);
	ck_assert_str_eq(error,
	    TEST_DATA "/nosuch.ini: No such file or directory");
	free(error);
	config_free(c);

	c = config_new();
	ck_assert_int_eq(config_load(c, TEST_DATA, &error), -1);
	ck_assert_str_eq(error, TEST_DATA ": Is a directory");
	free(error);
	config_free(c);
}
END_TEST

START_TEST(test_listen_override)
{
	struct config	*c;
	char		*error = NULL, path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/good-full.ini", TEST_DATA);
	c = config_new();
	ck_assert_int_eq(config_load(c, path, &error), 0);
	/* Replaced in place: it keeps its descriptor number. */
	ck_assert_int_eq(config_set_listen(c, "http=tcp://127.0.0.1:9999",
	    &error), 0);
	/* A unix socket turned tcp loses its unix-only options. */
	ck_assert_int_eq(config_set_listen(c, "admin=tcp://127.0.0.1:9998",
	    &error), 0);
	ck_assert_int_eq(config_set_listen(c, "extra=unix:///run/x.sock",
	    &error), 0);
	ck_assert_int_eq(config_finish(c, &error), 0);
	ck_assert_uint_eq(c->nsockets, 4);
	ck_assert_str_eq(c->sockets[0].name, "http");
	ck_assert_str_eq(c->sockets[0].addr.url, "tcp://127.0.0.1:9999");
	ck_assert_int_eq(c->sockets[0].backlog, 1024);
	ck_assert_int_eq(c->sockets[0].line, 0);
	ck_assert_str_eq(c->sockets[1].addr.url, "tcp://127.0.0.1:9998");
	ck_assert_int_eq(c->sockets[1].mode, -1);
	ck_assert_ptr_null(c->sockets[1].owner);
	ck_assert_ptr_null(c->sockets[1].group);
	ck_assert_str_eq(c->sockets[3].name, "extra");
	ck_assert_str_eq(c->sockets[3].addr.path, "/run/x.sock");
	ck_assert_int_eq(c->sockets[3].backlog, -1);
	ck_assert_int_eq(c->sockets[3].mode, -1);
	ck_assert_int_eq(config_socket_index(c, "extra"), 3);
	config_free(c);
}
END_TEST

START_TEST(test_listen_errors)
{
	struct config	*c;
	char		*error = NULL, path[PATH_MAX], want[PATH_MAX + 128];
	char		 url[64];
	struct rlimit	 rl;
	pid_t		 pid;
	int		 i, status;

	c = config_new();
	ck_assert_int_eq(config_set_listen(c, "tcp://127.0.0.1:80", &error),
	    -1);
	ck_assert_str_eq(error, "--listen tcp://127.0.0.1:80: expected "
	    "NAME=URL (http=tcp://0.0.0.0:8080)");
	free(error);
	ck_assert_int_eq(config_set_listen(c, "a b=tcp://127.0.0.1:80",
	    &error), -1);
	ck_assert_str_eq(error, "--listen a b=tcp://127.0.0.1:80: bad socket "
	    "name 'a b' (use letters, digits, '-', '_' and '.')");
	free(error);
	ck_assert_int_eq(config_set_listen(c, "=tcp://127.0.0.1:80", &error),
	    -1);
	free(error);
	ck_assert_int_eq(config_set_listen(c, "http=http://127.0.0.1:80",
	    &error), -1);
	ck_assert_str_eq(error, "--listen http=http://127.0.0.1:80: unknown "
	    "scheme 'http' (use tcp://, udp:// or unix://)");
	free(error);
	ck_assert_uint_eq(c->nsockets, 0);

	/* 1,024 sockets, in messages of SCM_MAX_FD, no more. */
	for (i = 0; i < 1024; i++) {
		snprintf(url, sizeof(url), "s%d=tcp://127.0.0.1:%d", i,
		    1024 + i);
		ck_assert_int_eq(config_set_listen(c, url, &error), 0);
	}
	ck_assert_int_eq(config_set_listen(c, "s1024=tcp://127.0.0.1:3000",
	    &error), -1);
	ck_assert_str_eq(error, "--listen s1024=tcp://127.0.0.1:3000: more "
	    "than 1024 sockets");
	free(error);
	ck_assert_int_eq(config_set_argv(c, (char *const []){ "x", NULL },
	    &error), 0);
	/* The interposer learns 64: preload = yes with more is refused. */
	c->preload = 1;
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "--listen s64=tcp://127.0.0.1:1088: socket "
	    "'s64': preload = yes holds at most 64 sockets (this "
	    "configuration has 1024)");
	free(error);
	c->preload = 0;
	/* A hard RLIMIT_NOFILE too low for them, in a child: for good. */
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		rl.rlim_cur = rl.rlim_max = 1000;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(2);
		_exit(config_finish(c, &error) == -1 && strcmp(error,
		    "--listen s468=tcp://127.0.0.1:1492: socket 's468': 1024 "
		    "sockets need 2112 descriptors, more than the hard limit "
		    "RLIMIT_NOFILE allows (468 sockets at most; raise it: "
		    "ulimit -Hn, LimitNOFILE=)") == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WIFEXITED(status), 1);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	config_free(c);

	/* Two on one address: the later one is named, with --listen. */
	c = config_new();
	ck_assert_int_eq(config_set_listen(c, "a=tcp://127.0.0.1:80", &error),
	    0);
	ck_assert_int_eq(config_set_listen(c, "b=tcp://127.0.0.1:80", &error),
	    0);
	ck_assert_int_eq(config_set_argv(c, (char *const []){ "x", NULL },
	    &error), 0);
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "--listen b=tcp://127.0.0.1:80: socket 'b' "
	    "listens on tcp://127.0.0.1:80 like socket 'a' (--listen)");
	free(error);
	config_free(c);

	/* A file socket that now shares the address of an overridden one. */
	snprintf(path, sizeof(path), "%s/good-full.ini", TEST_DATA);
	c = config_new();
	ck_assert_int_eq(config_load(c, path, &error), 0);
	ck_assert_int_eq(config_set_listen(c, "http=unix:///run/app/admin.sock",
	    &error), 0);
	ck_assert_int_eq(config_finish(c, &error), -1);
	snprintf(want, sizeof(want), "%s:22: socket 'admin' listens on "
	    "unix:///run/app/admin.sock like socket 'http' (--listen)", path);
	ck_assert_str_eq(error, want);
	free(error);
	config_free(c);

	/* An override that collides with a file socket. */
	c = config_new();
	ck_assert_int_eq(config_load(c, path, &error), 0);
	ck_assert_int_eq(config_set_listen(c, "new=tcp://0.0.0.0:3000",
	    &error), 0);
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "--listen new=tcp://0.0.0.0:3000: socket 'new' "
	    "listens on tcp://0.0.0.0:3000 like socket 'http' (line 18)");
	free(error);
	config_free(c);
}
END_TEST

START_TEST(test_argv)
{
	static char *const argv[] = { "python3", "-m", "http.server",
	    "--fd", "{fd:http}", NULL };
	struct config	*c;
	char		*error = NULL, path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/good-full.ini", TEST_DATA);
	c = config_new();
	ck_assert_int_eq(config_load(c, path, &error), 0);
	ck_assert_int_eq(config_set_argv(c, argv, &error), 0);
	ck_assert_ptr_null(c->command);
	ck_assert_int_eq(config_finish(c, &error), 0);
	assert_argv(c->argv, (const char *const *)argv);
	ck_assert_ptr_ne(c->argv[0], argv[0]);
	config_free(c);

	c = config_new();
	ck_assert_int_eq(config_set_argv(c, (char *const []){ NULL }, &error),
	    -1);
	ck_assert_str_eq(error, "no command after --");
	free(error);
	ck_assert_int_eq(config_set_argv(c, (char *const []){ "x", "{fd:no}",
	    NULL }, &error), 0);
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error,
	    "command after --: {fd:no}: no socket named 'no'");
	free(error);
	config_free(c);
}
END_TEST

/* baton run --listen ... -- cmd: no file at all. */
START_TEST(test_no_file)
{
	struct config	*c;
	char		*error = NULL, cwd[PATH_MAX];

	c = config_new();
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error,
	    "no command (set 'command' in [baton], or give one after --)");
	free(error);
	ck_assert_int_eq(config_set_listen(c, "http=tcp://127.0.0.1:8080",
	    &error), 0);
	ck_assert_int_eq(config_set_argv(c, (char *const []){ "python3",
	    "app.py", NULL }, &error), 0);
	ck_assert_int_eq(config_finish(c, &error), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_str_eq(c->directory, cwd);
	ck_assert_ptr_null(c->control);
	ck_assert_ptr_null(c->file);
	ck_assert_int_eq(c->sockets[0].line, 0);

	/* What main sets from its own options is checked too. */
	c->ready = READY_LISTEN;
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "ready = listen needs preload = yes (the "
	    "preload library is what sees listen())");
	free(error);
	c->preload = 1;
	c->workers = 0;
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "workers: 0 is not a number from 1 to 1024");
	free(error);

	/* baton run --ready probe [--probe SPEC]: no file, no line. */
	c->workers = 1;
	c->ready = READY_PROBE;
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "ready = probe needs a probe (probe = http "
	    "GET /healthz, tcp or exec COMMAND)");
	free(error);
	ck_assert_int_eq(config_set_probe(c, "http GET", &error), -1);
	ck_assert_str_eq(error, "--probe http GET: http needs a method and a "
	    "path (http GET /healthz)");
	free(error);
	ck_assert_int_eq(config_set_probe(c, "http GET /healthz", &error), 0);
	ck_assert_int_eq(config_finish(c, &error), 0);
	ck_assert_str_eq(config_probe_socket(c)->name, "http");
	roundtrip(c);
	config_free(c);
}
END_TEST

static void
assert_same(const struct config *a, const struct config *b)
{
	size_t	 i;

	if (a->command != NULL)
		ck_assert_str_eq(a->command, b->command);
	assert_argv(b->argv, (const char *const *)a->argv);
	ck_assert_str_eq(a->directory, b->directory);
	ck_assert_int_eq(a->workers, b->workers);
	ck_assert_int_eq(a->ready, b->ready);
	ck_assert_int_eq(a->ready_delay, b->ready_delay);
	ck_assert_int_eq(a->ready_timeout, b->ready_timeout);
	ck_assert_int_eq(a->drain_signal, b->drain_signal);
	ck_assert_int_eq(a->drain_timeout, b->drain_timeout);
	/* With no file there is no control socket; with one, there is. */
	if (a->control != NULL || a->file != NULL)
		ck_assert_pstr_eq(a->control, b->control);
	ck_assert_pstr_eq(a->pidfile, b->pidfile);
	ck_assert_pstr_eq(a->user, b->user);
	ck_assert_pstr_eq(a->group, b->group);
	ck_assert_int_eq(a->preload, b->preload);
	ck_assert_int_eq(a->probe.kind, b->probe.kind);
	ck_assert_pstr_eq(a->probe.method, b->probe.method);
	ck_assert_pstr_eq(a->probe.path, b->probe.path);
	if (a->probe.argv != NULL)
		assert_argv(b->probe.argv, (const char *const *)a->probe.argv);
	ck_assert_pstr_eq(a->probe_socket, b->probe_socket);
	ck_assert_int_eq(a->probe_interval, b->probe_interval);
	ck_assert_int_eq(a->probe_successes, b->probe_successes);
	ck_assert_int_eq(a->probe_timeout, b->probe_timeout);
	ck_assert_int_eq(a->rollout, b->rollout);
	ck_assert_int_eq(a->canary, b->canary);
	if (a->canary != 0)
		ck_assert_int_eq(a->canary_time, b->canary_time);
	ck_assert_int_eq(a->warmup, b->warmup);
	ck_assert_uint_eq(a->nsockets, b->nsockets);
	for (i = 0; i < a->nsockets; i++) {
		ck_assert_str_eq(a->sockets[i].name, b->sockets[i].name);
		ck_assert_str_eq(a->sockets[i].addr.url,
		    b->sockets[i].addr.url);
		ck_assert(address_equal(&a->sockets[i].addr,
		    &b->sockets[i].addr));
		ck_assert_int_eq(a->sockets[i].backlog, b->sockets[i].backlog);
		ck_assert_int_eq(a->sockets[i].mode, b->sockets[i].mode);
		ck_assert_pstr_eq(a->sockets[i].owner, b->sockets[i].owner);
		ck_assert_pstr_eq(a->sockets[i].group, b->sockets[i].group);
	}
	ck_assert_uint_eq(a->nenv, b->nenv);
	for (i = 0; i < a->nenv; i++) {
		ck_assert_str_eq(a->env[i].key, b->env[i].key);
		ck_assert_str_eq(a->env[i].value, b->env[i].value);
	}
}

/* Print c, check inih can read every line, load it back, compare. */
static void
roundtrip(const struct config *c)
{
	struct config	*d;
	FILE		*fp;
	char		 path[] = "/tmp/check_config-XXXXXX.ini", *line = NULL;
	char		*error = NULL;
	size_t		 size = 0;
	ssize_t		 n;
	int		 fd;

	ck_assert_int_ne(fd = mkstemps(path, 4), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w+"));
	config_print(c, fp);
	ck_assert_int_eq(fflush(fp), 0);
	rewind(fp);
	while ((n = getline(&line, &size, fp)) != -1)
		ck_assert_msg(n - 1 <= CONFIG_MAX_LINE, "printed %zd: %s",
		    n - 1, line);
	free(line);
	fclose(fp);

	d = config_new();
	error = load_error(d, path);
	unlink(path);
	ck_assert_msg(error == NULL, "printed config: %s", error);
	assert_same(c, d);
	config_free(d);
}

static const char *const printable[] = {
	"good-full.ini",
	"good-minimal.ini",
	"good-comments.ini",
	"good-crlf.ini",
	"good-continuation.ini",
	"good-line199.ini",
	"good-print-double-space.ini",
	"good-print-env-full-line.ini",
	"good-print-key-like.ini",
	"good-print-long-word.ini",
	"good-print-space-folder.ini",
	"good-relative.ini",
	"good-values.ini",
	"good-probe.ini",
	"good-probe-exec.ini",
	"good-probe-canary.ini",
	"good-warmup.ini",
};

START_TEST(test_print)
{
	struct config	*c;

	c = load(printable[_i]);
	roundtrip(c);
	config_free(c);
}
END_TEST

/* A command given after --: joined, quoted, folded over long lines. */
START_TEST(test_print_argv)
{
	char		*words[64], word[64], *error = NULL;
	struct config	*c;
	size_t		 i;

	c = config_new();
	for (i = 0; i < 40; i++) {
		snprintf(word, sizeof(word), i % 3 == 0 ? "--opt%zu=a ;b" :
		    i % 3 == 1 ? "it's #%zu" : "plain%zu", i);
		words[i] = strdup(word);
	}
	words[i] = NULL;
	ck_assert_int_eq(config_set_argv(c, words, &error), 0);
	ck_assert_int_eq(config_set_listen(c, "http=tcp://[::1]:8080", &error),
	    0);
	c->drain_signal = 40;
	ck_assert_int_eq(config_finish(c, &error), 0);
	roundtrip(c);
	for (i = 0; words[i] != NULL; i++)
		free(words[i]);
	config_free(c);
}
END_TEST

static const struct {
	const char	*in;
	long		 ms;		/* -1: refused */
} durations[] = {
	{ "500ms", 500 },
	{ "15s", 15000 },
	{ "2m", 120000 },
	{ "1h", 3600000 },
	{ "30", 30000 },
	{ "1", 1000 },
	{ "007s", 7000 },
	{ "0", -1 },
	{ "0ms", -1 },
	{ "", -1 },
	{ "s", -1 },
	{ "-1", -1 },
	{ "1.5s", -1 },
	{ "15 s", -1 },
	{ " 15s", -1 },
	{ "15S", -1 },
	{ "15sec", -1 },
	{ "1d", -1 },
	{ "99999999999999999999", -1 },
	{ "9223372036854775807ms", -1 },
};

START_TEST(test_duration)
{
	long	 ms = -42;

	if (durations[_i].ms == -1) {
		ck_assert_msg(config_parse_duration(durations[_i].in,
		    &ms) == -1, "'%s' accepted", durations[_i].in);
		ck_assert_int_eq(ms, -42);
	} else {
		ck_assert_msg(config_parse_duration(durations[_i].in, &ms) == 0,
		    "'%s' refused", durations[_i].in);
		ck_assert_int_eq(ms, durations[_i].ms);
	}
}
END_TEST

/*
 * Write text to a fresh file, load and finish it: the error of whichever
 * failed, with the file's path replaced by "FILE", or NULL.
 */
static char *
text_error(const char *text)
{
	struct config	*c;
	char		 path[] = "/tmp/check_config-XXXXXX.ini";
	char		*error, *out;
	size_t		 len;
	int		 fd;

	ck_assert_int_ne(fd = mkstemps(path, 4), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = config_new();
	error = load_error(c, path);
	config_free(c);
	unlink(path);
	if (error == NULL)
		return NULL;
	len = strlen(path);
	if (strncmp(error, path, len) != 0)
		return error;
	out = malloc(strlen(error) - len + 5);
	ck_assert_ptr_nonnull(out);
	sprintf(out, "FILE%s", error + len);
	free(error);
	return out;
}

/* A drain signal that only stops a worker, or that it ignores, never ends it. */
static const struct {
	const char	*name;
	int		 sig;
	const char	*why;		/* NULL: accepted */
} drain_signals[] = {
	{ "SIGSTOP", SIGSTOP, "it stops the process, which keeps its sockets; "
	    "use SIGTERM, SIGINT, SIGQUIT or SIGUSR1" },
	{ "TSTP", SIGTSTP, "it stops the process, which keeps its sockets; "
	    "use SIGTERM, SIGINT, SIGQUIT or SIGUSR1" },
	{ "SIGTTIN", SIGTTIN, "it stops the process, which keeps its sockets; "
	    "use SIGTERM, SIGINT, SIGQUIT or SIGUSR1" },
	{ "SIGTTOU", SIGTTOU, "it stops the process, which keeps its sockets; "
	    "use SIGTERM, SIGINT, SIGQUIT or SIGUSR1" },
	{ "SIGCONT", SIGCONT, "it only resumes a stopped process; use SIGTERM, "
	    "SIGINT, SIGQUIT or SIGUSR1" },
	{ "SIGCHLD", SIGCHLD, "a process ignores it by default; use SIGTERM, "
	    "SIGINT, SIGQUIT or SIGUSR1" },
	{ "URG", SIGURG, "a process ignores it by default; use SIGTERM, "
	    "SIGINT, SIGQUIT or SIGUSR1" },
	{ "28", SIGWINCH, "a process ignores it by default; use SIGTERM, "
	    "SIGINT, SIGQUIT or SIGUSR1" },
	{ "SIGTERM", SIGTERM, NULL },
	{ "SIGINT", SIGINT, NULL },
	{ "SIGQUIT", SIGQUIT, NULL },
	{ "SIGHUP", SIGHUP, NULL },
	{ "SIGUSR1", SIGUSR1, NULL },
	{ "SIGUSR2", SIGUSR2, NULL },
	{ "SIGPIPE", SIGPIPE, NULL },
	{ "SIGALRM", SIGALRM, NULL },
	/* Ends the worker without letting it drain: see baton.ini(5). */
	{ "SIGKILL", SIGKILL, NULL },
	/* Real-time signals end a process by default. */
	{ "34", 34, NULL },
	{ "64", 64, NULL },
};

START_TEST(test_drain_signal)
{
	struct config	*c;
	char		*text, *error = NULL, *want;

	text = malloc(128);
	ck_assert_ptr_nonnull(text);
	snprintf(text, 128, "[baton]\ncommand = x\ndrain_signal = %s\n",
	    drain_signals[_i].name);
	error = text_error(text);
	free(text);
	if (drain_signals[_i].why == NULL) {
		ck_assert_msg(error == NULL, "%s", error);
	} else {
		ck_assert_ptr_nonnull(error);
		want = malloc(256);
		ck_assert_ptr_nonnull(want);
		snprintf(want, 256, "FILE:3: drain_signal %s cannot end a "
		    "process (%s)", signame_name(drain_signals[_i].sig),
		    drain_signals[_i].why);
		ck_assert_str_eq(error, want);
		free(want);
		free(error);
	}

	/* --drain-signal: the same rule, the option named. */
	c = config_new();
	if (drain_signals[_i].why == NULL) {
		ck_assert_int_eq(config_set_drain_signal(c,
		    drain_signals[_i].sig, &error), 0);
		ck_assert_int_eq(c->drain_signal, drain_signals[_i].sig);
	} else {
		ck_assert_int_eq(config_set_drain_signal(c,
		    drain_signals[_i].sig, &error), -1);
		ck_assert_int_eq(c->drain_signal, SIGTERM);
		ck_assert_ptr_nonnull(strstr(error, "--drain-signal "));
		ck_assert_ptr_nonnull(strstr(error, " cannot end a process ("));
		free(error);
	}
	config_free(c);
}
END_TEST

/* Write text to path. */
static void
write_text(const char *path, const char *text)
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

/*
 * Where a client looks for baton: the file's control, even when the file
 * is broken elsewhere (a reload must reach baton, which says what is
 * wrong), else the same default as config_finish().
 */
START_TEST(test_control_path)
{
	struct config	*c;
	char		 dir[] = "/tmp/check_config-XXXXXX", path[PATH_MAX];
	char		 want[PATH_MAX], *got, *error = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app.ini", dir);

	/* Valid, no control: the default, as baton run computes it. */
	write_text(path, "[baton]\ncommand = x\n");
	c = config_new();
	ck_assert_int_eq(config_load(c, path, &error), 0);
	ck_assert_int_eq(config_finish(c, &error), 0);
	got = config_control_path(path, &error);
	ck_assert_pstr_eq(got, c->control);
	snprintf(want, sizeof(want), "%s/app.sock", dir);
	ck_assert_pstr_eq(got, want);
	free(got);
	config_free(c);

	/* Valid, with control. */
	write_text(path, "[baton]\ncommand = x\ncontrol = run/b.sock ; here\n");
	got = config_control_path(path, &error);
	snprintf(want, sizeof(want), "%s/run/b.sock", dir);
	ck_assert_pstr_eq(got, want);
	free(got);

	/* Broken before and after control: control still counts. */
	write_text(path, "[baton]\nworkers = lots\n\ncontrol=/run/x.sock\n"
	    "[socket:http]\nlisten = http://nowhere\n");
	got = config_control_path(path, &error);
	ck_assert_pstr_eq(got, "/run/x.sock");
	free(got);

	/* Broken, control elsewhere than [baton] or continued: not it. */
	write_text(path, "[env]\ncontrol = /run/env.sock\n[baton]\n"
	    "command = x\n  control = /run/cont.sock\nbogus\n");
	got = config_control_path(path, &error);
	snprintf(want, sizeof(want), "%s/app.sock", dir);
	ck_assert_pstr_eq(got, want);
	free(got);

	/* Missing: the default too; a relative name from the cwd. */
	unlink(path);
	got = config_control_path(path, &error);
	ck_assert_pstr_eq(got, want);
	free(got);
	ck_assert_int_eq(chdir(dir), 0);
	got = config_control_path("./other.conf", &error);
	snprintf(want, sizeof(want), "%s/other.conf.sock", dir);
	ck_assert_pstr_eq(got, want);
	free(got);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/*
 * A control path too long for sun_path: set in the file, choose a shorter
 * one; the default from a long file name, set one.
 */
START_TEST(test_control_too_long)
{
	struct config	*c;
	char		 dir[] = "/tmp/check_config-XXXXXX", sub[PATH_MAX];
	char		 path[PATH_MAX + 16], want[3 * PATH_MAX], *error;
	char		 text[256];

	memset(text, 0, sizeof(text));
	snprintf(text, sizeof(text), "[baton]\ncommand = x\ncontrol = /run/%0100d"
	    ".sock\n", 0);
	error = text_error(text);
	snprintf(want, sizeof(want), "FILE:3: control: '/run/%0100d.sock' is "
	    "too long for a unix socket (at most 107 bytes; choose a shorter "
	    "path)", 0);
	ck_assert_pstr_eq(error, want);
	free(error);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/%0100d", dir, 0);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/app.ini", sub);
	write_text(path, "[baton]\ncommand = x\n");
	c = config_new();
	error = load_error(c, path);
	snprintf(want, sizeof(want), "%s: the default control socket "
	    "'%s/app.sock' is too long for a unix socket (at most 107 bytes; "
	    "set 'control' in [baton] to a shorter path)", path, sub);
	ck_assert_pstr_eq(error, want);
	free(error);
	config_free(c);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

/* A command that splits into no program: execvp("") could only fail. */
START_TEST(test_command_empty_word)
{
	struct config	*c;
	char		*error;

	error = text_error("[baton]\ncommand = \"\"\n");
	ck_assert_pstr_eq(error, "FILE:2: command is empty");
	free(error);
	error = text_error("[baton]\nworkers = 2\ncommand = '' \"\"\n");
	ck_assert_pstr_eq(error, "FILE:3: command is empty");
	free(error);
	error = text_error("[baton]\ncommand = '' app.js\n");
	ck_assert_pstr_eq(error, "FILE:2: command: its first word, the "
	    "program to run, is empty");
	free(error);
	/* An empty argument after the program is the program's business. */
	error = text_error("[baton]\ncommand = printf '%s' ''\n");
	ck_assert_msg(error == NULL, "%s", error);

	c = config_new();
	ck_assert_int_eq(config_set_argv(c, (char *const []){ "", NULL },
	    &error), 0);
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "command after -- is empty");
	free(error);
	ck_assert_int_eq(config_set_argv(c, (char *const []){ "", "app.js",
	    NULL }, &error), 0);
	ck_assert_int_eq(config_finish(c, &error), -1);
	ck_assert_str_eq(error, "command after --: its first word, the "
	    "program to run, is empty");
	free(error);
	config_free(c);
}
END_TEST

/* baton.ini(5): ready_delay "must not exceed" ready_timeout. */
START_TEST(test_ready_delay_bound)
{
	char	*error;

	error = text_error("[baton]\ncommand = x\nready_delay = 5s\n"
	    "ready_timeout = 5000ms\n");
	ck_assert_msg(error == NULL, "equal refused: %s", error);
	error = text_error("[baton]\ncommand = x\nready_delay = 5001ms\n"
	    "ready_timeout = 5s\n");
	ck_assert_pstr_eq(error, "FILE:3: ready_delay (5001ms) must not "
	    "exceed ready_timeout (5000ms)");
	free(error);
}
END_TEST

/* Each readiness mode's name, both ways. */
static const struct {
	const char	*name;
	enum ready_mode	 mode;
} ready_names[] = {
	{ "delay", READY_DELAY },
	{ "notify", READY_NOTIFY },
	{ "listen", READY_LISTEN },
	{ "probe", READY_PROBE },
};

START_TEST(test_ready_names)
{
	enum ready_mode	 r;

	ck_assert_str_eq(config_ready_name(ready_names[_i].mode),
	    ready_names[_i].name);
	ck_assert_msg(config_parse_ready(ready_names[_i].name, &r) == 0,
	    "'%s' refused", ready_names[_i].name);
	ck_assert_int_eq(r, ready_names[_i].mode);
}
END_TEST

START_TEST(test_ready_refused)
{
	enum ready_mode	 r;

	ck_assert_int_eq(config_parse_ready("soon", &r), -1);
	ck_assert_int_eq(config_parse_ready("", &r), -1);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("config");
	const TTest	*good[] = {
		test_full, test_defaults, test_comments, test_crlf_bom,
		test_continuation, test_line199, test_relative,
		test_relative_file, test_values, test_probe, NULL
	};
	const TTest	*bad_files[] = { test_fixtures, test_unreadable, NULL };
	const TTest	*override[] = {
		test_listen_override, test_listen_errors, test_argv,
		test_no_file, NULL
	};
	const TTest	*print[] = { test_print_argv, NULL };
	const TTest	*values[] = {
		test_ready_refused, test_ready_delay_bound,
		test_command_empty_word, test_control_path,
		test_control_too_long, NULL
	};
	TCase		*tc;

	check_case(s, "good", good);
	tc = check_case(s, "bad", bad_files);
	tcase_add_loop_test(tc, test_bad, 0, CHECK_NITEMS(bad));
	check_case(s, "override", override);
	tc = check_case(s, "print", print);
	tcase_add_loop_test(tc, test_print, 0, CHECK_NITEMS(printable));
	tc = check_case(s, "values", values);
	tcase_add_loop_test(tc, test_duration, 0, CHECK_NITEMS(durations));
	tcase_add_loop_test(tc, test_ready_names, 0, CHECK_NITEMS(ready_names));
	tcase_add_loop_test(tc, test_canary, 0, CHECK_NITEMS(canaries));
	tcase_add_loop_test(tc, test_probe_spec, 0, CHECK_NITEMS(probe_specs));
	tcase_add_loop_test(tc, test_drain_signal, 0,
	    CHECK_NITEMS(drain_signals));
	return check_run(s);
}
