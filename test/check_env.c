/*
 * env.c: the exact environment a worker gets.
 */
#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "check_run.h"
#include "env.h"

static char *const base[] = {
	"PATH=/bin",
	"HOME=/root",
	/* Inherited from a supervisor above baton: all must go. */
	"LISTEN_FDS=9",
	"LISTEN_PID=1",
	"LISTEN_FDNAMES=x",
	"LISTEN_PIDFDID=5",
	"NOTIFY_SOCKET=/run/systemd/notify",
	"EINHORN_FD_COUNT=7",
	"EINHORN_FD_0=9",
	"EINHORN_SOCK_PATH=/x",
	"SERVER_STARTER_PORT=0.0.0.0:80=3",
	"SERVER_STARTER_GENERATION=9",
	"NGINX=9;",
	"BATON_FD=9",
	"BATON_OTHER=1",
	/* Look alike, but are not theirs. */
	"LISTENER=keep",
	"EINHORN=keep",
	"MY_BATON_FD=keep",
	/* Malformed or repeated: the first one is what getenv() sees. */
	"NOEQUALS",
	"PATH=/dup",
	"FOO=base",
	"EMPTY=",
	NULL
};

/* Three sockets and some [env], as spawn.c hands them over. */
static char *const names[] = { "http", "admin", "v6", NULL };
static char *const urls[] = { "tcp://0.0.0.0:3000",
    "unix:///run/app.sock", "tcp://[::1]:80" };
static struct address addr[3];
static const struct address *const addrs[] = { &addr[0], &addr[1],
    &addr[2] };
static char *const vars[] = { "FOO=env", "NEW=1", "FOO=later",
    "EMPTY=set", NULL };

static const struct env_params params = {
	.pid = 4242,
	.baton_pid = 100,
	.generation = 3,
	.worker = 1,
	.channel_fd = 6,
	.notify_socket = "/run/baton/notify",
	.vars = vars,
	.names = names,
	.addrs = addrs,
	.nsockets = 3,
};
/* The same without sockets or [env]: setup() fills it in. */
static struct env_params bare;

static void
setup(void)
{
	char	*error = NULL;
	size_t	 i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(address_parse(urls[i], &addr[i], &error), 0);
	bare = params;
	bare.vars = NULL;
	bare.names = NULL;
	bare.addrs = NULL;
	bare.nsockets = 0;
}

static void
teardown(void)
{
	size_t	 i;

	for (i = 0; i < 3; i++)
		address_clear(&addr[i]);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* env must hold exactly want, in any order. */
static void
assert_env(char **env, const char *const *want)
{
	size_t	  n, m, i;
	char	**a, **b;

	for (n = 0; env[n] != NULL; n++)
		;
	for (m = 0; want[m] != NULL; m++)
		;
	a = calloc(n + 1, sizeof(*a));
	b = calloc(m + 1, sizeof(*b));
	memcpy(a, env, n * sizeof(*a));
	memcpy(b, want, m * sizeof(*b));
	qsort(a, n, sizeof(*a), cmp);
	qsort(b, m, sizeof(*b), cmp);
	for (i = 0; i < n && i < m; i++)
		ck_assert_str_eq(a[i], b[i]);
	ck_assert_msg(n == m, "%zu variables, want %zu (first extra: %s)", n,
	    m, n > m ? a[m] : b[n]);
	free(a);
	free(b);
}

START_TEST(test_exact)
{
	static const char *const want[] = {
		"PATH=/bin",
		"HOME=/root",
		"LISTENER=keep",
		"EINHORN=keep",
		"MY_BATON_FD=keep",
		"FOO=later",
		"NEW=1",
		"EMPTY=set",
		"LISTEN_FDS=3",
		"LISTEN_PID=4242",
		"LISTEN_FDNAMES=http:admin:v6",
		"EINHORN_FD_COUNT=3",
		"EINHORN_FD_0=3",
		"EINHORN_FD_1=4",
		"EINHORN_FD_2=5",
		"SERVER_STARTER_PORT=0.0.0.0:3000=3;/run/app.sock=4;[::1]:80=5",
		"SERVER_STARTER_GENERATION=3",
		"NGINX=3;4;5;",
		"NOTIFY_SOCKET=/run/baton/notify",
		"BATON_FD=6",
		"BATON_GENERATION=3",
		"BATON_WORKER=1",
		"BATON_PID=100",
		NULL
	};
	char		**env;

	env = env_build(base, &params);
	assert_env(env, want);
	env_free(env);
}
END_TEST

/*
 * env, freed here, must hold exactly a login's HOME, USER, LOGNAME (the
 * same as USER) and SHELL, the PATH of rootenv below and what baton adds.
 */
static void
assert_login(char **env, const char *home, const char *user,
    const char *shell)
{
	char		 h[64], u[64], l[64], sh[64];
	const char	*want[] = { h, u, l, sh, "PATH=/bin", "BATON_FD=6",
		"BATON_GENERATION=3", "BATON_WORKER=1", "BATON_PID=100",
		"NOTIFY_SOCKET=/run/baton/notify", NULL };

	snprintf(h, sizeof(h), "HOME=%s", home);
	snprintf(u, sizeof(u), "USER=%s", user);
	snprintf(l, sizeof(l), "LOGNAME=%s", user);
	snprintf(sh, sizeof(sh), "SHELL=%s", shell);
	assert_env(env, want);
	env_free(env);
}

/*
 * With `user`, a worker gets that user's HOME, USER, LOGNAME and SHELL
 * (baton's own were root's), as under su or systemd's User=; [env] may
 * still set them.
 */
START_TEST(test_user)
{
	struct passwd		 pw = {
		.pw_name = "www",
		.pw_dir = "/var/www",
		.pw_shell = "/usr/sbin/nologin",
	};
	struct env_params	 p = bare;
	char *const		 home[] = { "HOME=/srv/app", NULL };
	char *const		 rootenv[] = { "HOME=/root", "USER=root",
	    "LOGNAME=root", "SHELL=/bin/bash", "PATH=/bin", NULL };

	p.user = &pw;
	assert_login(env_build(rootenv, &p), "/var/www", "www",
	    "/usr/sbin/nologin");

	/* An empty home or shell in passwd means / and /bin/sh (login(1)). */
	pw.pw_dir = "";
	pw.pw_shell = "";
	assert_login(env_build(rootenv, &p), "/", "www", "/bin/sh");

	pw.pw_dir = "/var/www";
	pw.pw_shell = "/usr/sbin/nologin";
	p.vars = home;
	assert_login(env_build(rootenv, &p), "/srv/app", "www",
	    "/usr/sbin/nologin");

	/* No user: baton's own are kept. */
	p.vars = NULL;
	p.user = NULL;
	assert_login(env_build(rootenv, &p), "/root", "root", "/bin/bash");
}
END_TEST

START_TEST(test_no_duplicates)
{
	char		**env;
	size_t		  i, j, len;

	env = env_build(base, &params);
	for (i = 0; env[i] != NULL; i++) {
		ck_assert_ptr_nonnull(strchr(env[i], '='));
		len = strcspn(env[i], "=") + 1;
		for (j = i + 1; env[j] != NULL; j++)
			ck_assert_msg(strncmp(env[i], env[j], len) != 0,
			    "%s and %s", env[i], env[j]);
	}
	env_free(env);
}
END_TEST

START_TEST(test_listen_pid)
{
	struct env_params	 p = params;
	char			**env;
	size_t			  i;
	int			  found = 0;

	p.pid = 31337;
	env = env_build(NULL, &p);
	for (i = 0; env[i] != NULL; i++) {
		if (strncmp(env[i], "LISTEN_PID=", 11) == 0) {
			ck_assert_str_eq(env[i] + 11, "31337");
			found++;
		}
	}
	ck_assert_int_eq(found, 1);
	env_free(env);
}
END_TEST

/* No notify socket: none is set, and the inherited one is still gone. */
START_TEST(test_no_notify)
{
	static char *const mine[] = { "NOTIFY_SOCKET=/run/systemd/notify",
	    "A=1", NULL };
	static const char *const want[] = {
		"A=1",
		"BATON_FD=3",
		"BATON_GENERATION=1",
		"BATON_WORKER=0",
		"BATON_PID=1",
		NULL
	};
	struct env_params	 p = { .pid = 2, .baton_pid = 1,
	    .generation = 1, .worker = 0, .channel_fd = 3 };
	char			**env;

	/* No socket either: no socket protocol is spoken. */
	env = env_build(mine, &p);
	assert_env(env, want);
	env_free(env);
}
END_TEST

START_TEST(test_reserved)
{
	static const char *const yes[] = { "LISTEN_FDS", "LISTEN_PID",
	    "LISTEN_FDNAMES", "LISTEN_PIDFDID", "NOTIFY_SOCKET",
	    "EINHORN_FD_COUNT", "EINHORN_FD_0", "EINHORN_", "EINHORN_X",
	    "SERVER_STARTER_PORT", "SERVER_STARTER_GENERATION", "NGINX",
	    "SERVER_STARTER_", "BATON_FD", "BATON_PID", "BATON_GENERATION",
	    "BATON_WORKER", "BATON_", "BATON_ANYTHING", NULL };
	static const char *const no[] = { "PATH", "LISTEN", "LISTEN_FDS2",
	    "LISTENFDS", "NOTIFY", "NOTIFY_SOCKET_X", "EINHORN", "BATON",
	    "MY_BATON_FD", "baton_fd", "listen_fds", "SERVER_STARTER",
	    "LD_PRELOAD", "", NULL };
	size_t	 i;

	for (i = 0; yes[i] != NULL; i++)
		ck_assert_msg(env_reserved(yes[i]), "%s", yes[i]);
	for (i = 0; no[i] != NULL; i++)
		ck_assert_msg(!env_reserved(no[i]), "%s", no[i]);
}
END_TEST

/* A reserved [env] key that slipped past config.c still loses. */
START_TEST(test_env_cannot_shadow)
{
	static char *const shadow[] = { "FOO=env", "LISTEN_FDS=99",
	    "BATON_FD=99", NULL };
	struct env_params	 p = params;
	char			**env;
	size_t			  i;

	p.vars = shadow;
	env = env_build(base, &p);
	for (i = 0; env[i] != NULL; i++) {
		ck_assert_str_ne(env[i], "LISTEN_FDS=99");
		ck_assert_str_ne(env[i], "BATON_FD=99");
	}
	env_free(env);
}
END_TEST

/* preload = yes: the interposer goes after what the user preloads. */
START_TEST(test_preload)
{
	char *const		 plain[] = { "PATH=/bin", NULL };
	char *const		 user[] = { "LD_PRELOAD=/opt/mine.so", NULL };
	struct env_params	 p = { .pid = 2, .baton_pid = 1,
	    .generation = 1, .channel_fd = 3, .preload = 1 };
	char			**env;
	size_t			 i;
	const char		*got;

	setenv("BATON_PRELOAD_LIB", "/build/libbaton-preload.so", 1);
	ck_assert_str_eq(env_preload_path(), "/build/libbaton-preload.so");
	env = env_build(plain, &p);
	for (i = 0, got = NULL; env[i] != NULL; i++)
		if (strncmp(env[i], "LD_PRELOAD=", 11) == 0)
			got = env[i];
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "LD_PRELOAD=/build/libbaton-preload.so");
	env_free(env);
	env = env_build(user, &p);
	for (i = 0, got = NULL; env[i] != NULL; i++)
		if (strncmp(env[i], "LD_PRELOAD=", 11) == 0)
			got = env[i];
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got,
	    "LD_PRELOAD=/opt/mine.so:/build/libbaton-preload.so");
	env_free(env);
	/* Without preload, LD_PRELOAD is the user's alone. */
	p.preload = 0;
	env = env_build(plain, &p);
	for (i = 0; env[i] != NULL; i++)
		ck_assert(strncmp(env[i], "LD_PRELOAD=", 11) != 0);
	env_free(env);
	unsetenv("BATON_PRELOAD_LIB");
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("env");
	const TTest	*build[] = {
		test_exact, test_user, test_no_duplicates, test_listen_pid,
		test_no_notify, test_env_cannot_shadow, test_reserved,
		test_preload, NULL
	};

	/* The addresses are parsed once, for every test. */
	tcase_add_unchecked_fixture(check_case(s, "build", build), setup,
	    teardown);
	return check_run(s);
}
