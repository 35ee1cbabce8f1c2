/*
 * baton: holds the listening sockets of a service and hands them to each
 * new generation of its server, so that restarts are invisible to clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include "address.h"
#include "command.h"
#include "config.h"
#include "control.h"
#include "env.h"
#include "envfile.h"
#include "log.h"
#include "signame.h"
#include "state.h"
#include "exitcode.h"
#include "supervisor.h"
#include "systemd.h"
#include "upgrade.h"
#include "xmalloc.h"

struct run_options {
	const char	 *file;
	char		**listens;
	size_t		  nlistens;
	int		  workers;	/* 0: from the file */
	int		  ready;	/* -1: from the file */
	const char	 *probe;	/* NULL: from the file */
	int		  drain_signal;	/* 0: from the file */
	long		  drain_timeout;/* 0: from the file */
	int		  preload;
	char		**argv;		/* after --, or NULL */
};

static const char usage_text[] =
"usage: baton run    [-c FILE] [--listen NAME=URL]... [--workers N] [--ready MODE]\n"
"                    [--probe SPEC] [--drain-signal SIG] [--drain-timeout DUR]\n"
"                    [--preload]\n"
"                    [--log-level LEVEL] [-- COMMAND [ARG]...]\n"
"       baton reload [-c FILE | -s CONTROL] [--timeout DUR]\n"
"                    [--canary P%] [--env KEY=VALUE]...\n"
"       baton promote [-c FILE | -s CONTROL] [--timeout DUR]\n"
"       baton rollback [-c FILE | -s CONTROL] [--timeout DUR]\n"
"       baton status [-c FILE | -s CONTROL] [--json] [--timeout DUR]\n"
"       baton stop   [-c FILE | -s CONTROL] [--timeout DUR]\n"
"       baton reopen [-c FILE | -s CONTROL] [--timeout DUR]\n"
"       baton scale  N [-c FILE | -s CONTROL] [--timeout DUR]\n"
"       baton check  [-c FILE]\n"
"       baton --help | --version\n";

static void __attribute__((noreturn))
usage(const char *fmt, ...)
{
	va_list	 ap;

	if (fmt != NULL) {
		fprintf(stderr, "baton: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\n");
	}
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

/* What is left of a getopt loop: -h asked for the usage, or an error. */
static void __attribute__((noreturn))
usage_other(int ch)
{
	if (ch == 'h') {
		fputs(usage_text, stdout);
		exit(0);
	}
	usage(NULL);
}

/* Build one configuration: the file, then the command line over it. */
static struct config *
run_load(void *arg, char **error)
{
	struct run_options	*o = arg;
	struct config		*c;
	size_t			 i;

	c = config_new();
	if (o->file != NULL && config_load(c, o->file, error) == -1)
		goto fail;
	for (i = 0; i < o->nlistens; i++)
		if (config_set_listen(c, o->listens[i], error) == -1)
			goto fail;
	if (o->workers > 0)
		c->workers = o->workers;
	if (o->ready >= 0)
		c->ready = (enum ready_mode)o->ready;
	if (o->probe != NULL && config_set_probe(c, o->probe, error) == -1)
		goto fail;
	if (o->drain_signal > 0 &&
	    config_set_drain_signal(c, o->drain_signal, error) == -1)
		goto fail;
	if (o->drain_timeout > 0)
		c->drain_timeout = o->drain_timeout;
	if (o->preload)
		c->preload = 1;
	if (o->argv != NULL && config_set_argv(c, o->argv, error) == -1)
		goto fail;
	if (config_finish(c, error) == -1)
		goto fail;
	if (c->preload && access(env_preload_path(), R_OK) == -1) {
		*error = xprintf("%s%spreload = yes, but %s: %s",
		    c->file != NULL ? c->file : "", c->file != NULL ? ": " : "",
		    env_preload_path(), strerror(errno));
		goto fail;
	}
	return c;
fail:
	config_free(c);
	return NULL;
}

enum {
	OPT_LISTEN = 256, OPT_WORKERS, OPT_READY, OPT_DRAIN_SIGNAL,
	OPT_DRAIN_TIMEOUT, OPT_PRELOAD, OPT_LOG_LEVEL, OPT_PROBE
};

static void
parse_run_options(int argc, char **argv, struct run_options *o)
{
	static const struct option longopts[] = {
		{ "config",		required_argument, NULL, 'c' },
		{ "listen",		required_argument, NULL, OPT_LISTEN },
		{ "workers",		required_argument, NULL, OPT_WORKERS },
		{ "ready",		required_argument, NULL, OPT_READY },
		{ "probe",		required_argument, NULL, OPT_PROBE },
		{ "drain-signal",	required_argument, NULL,
		    OPT_DRAIN_SIGNAL },
		{ "drain-timeout",	required_argument, NULL,
		    OPT_DRAIN_TIMEOUT },
		{ "preload",		no_argument,	   NULL, OPT_PRELOAD },
		{ "log-level",		required_argument, NULL, OPT_LOG_LEVEL },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct address		 a;
	enum ready_mode		 ready;
	enum log_level		 level;
	const char		*eq;
	char			*why, *end;
	long			 n;
	int			 ch;

	memset(o, 0, sizeof(*o));
	o->ready = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->file = optarg;
			break;
		case OPT_LISTEN:
			if ((eq = strchr(optarg, '=')) == NULL || eq == optarg)
				usage("--listen %s: expected NAME=URL", optarg);
			if (address_parse(eq + 1, &a, &why) == -1)
				usage("--listen %s: %s", optarg, why);
			address_clear(&a);
			o->listens = xreallocarray(o->listens, o->nlistens + 1,
			    sizeof(*o->listens));
			o->listens[o->nlistens++] = optarg;
			break;
		case OPT_WORKERS:
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    n < 1 || n > CONFIG_MAX_WORKERS)
				usage("--workers %s: not a number from 1 to %d",
				    optarg, CONFIG_MAX_WORKERS);
			o->workers = (int)n;
			break;
		case OPT_READY:
			if (config_parse_ready(optarg, &ready) == -1)
				usage("--ready %s: not one of notify, listen, "
				    "delay, probe", optarg);
			o->ready = ready;
			break;
		case OPT_PROBE:
			o->probe = optarg;
			break;
		case OPT_DRAIN_SIGNAL:
			if (signame_parse(optarg, &o->drain_signal) == -1)
				usage("--drain-signal %s: not a signal", optarg);
			break;
		case OPT_DRAIN_TIMEOUT:
			if (config_parse_duration(optarg,
			    &o->drain_timeout) == -1 || o->drain_timeout <= 0)
				usage("--drain-timeout %s: not a duration (use "
				    "500ms, 15s, 2m or seconds)", optarg);
			break;
		case OPT_PRELOAD:
			o->preload = 1;
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &level) == -1)
				usage("--log-level %s: not one of debug, info, "
				    "warn, error", optarg);
			log_set_level(level);
			break;
		default:
			usage_other(ch);
		}
	}
	if (optind < argc) {
		/* getopt stops at "--" or at the first word of the command. */
		if (strcmp(argv[optind - 1], "--") != 0)
			usage("unexpected '%s' (put the command after --)",
			    argv[optind]);
		o->argv = argv + optind;
	}
}

/* A worker must never find a socket of baton's at fd 0, 1 or 2. */
static void
open_stdio(void)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int
cmd_run(int argc, char **argv)
{
	struct run_options	 o;
	struct supervisor	*sup;
	char			*error = NULL;
	int			 code, fd;

	parse_run_options(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	systemd_init();
	if ((fd = upgrade_inherited()) != -1) {
		code = 1;
		sup = supervisor_restore(run_load, &o, fd, &error);
	} else
		sup = supervisor_new(run_load, &o, &error, &code);
	if (sup == NULL) {
		log_error("%s", error);
		free(error);
		free(o.listens);
		return code;
	}
	if (fd != -1)
		log_info("baton %s upgraded in place", PACKAGE_VERSION);
	else
		log_info("baton %s started", PACKAGE_VERSION);
	code = supervisor_run(sup);
	supervisor_free(sup);
	free(o.listens);
	return code;
}

/*
 * The control path for a client: -s, or where the baton run with FILE
 * listens. The file need not be valid: a reload of a broken file must
 * reach baton, which re-reads it and says what is wrong, and status and
 * stop must work while someone is mid-edit.
 */
static char *
client_path(const char *file, const char *control)
{
	char	*path, *error = NULL;

	if (control != NULL)
		return xstrdup(control);
	if ((path = config_control_path(file, &error)) == NULL) {
		fprintf(stderr, "baton: %s\n", error);
		free(error);
		exit(EXIT_UNREACHABLE);
	}
	return path;
}

/* Wait (bounded) until pid is gone or a zombie. */
static void
client_wait_exit(pid_t pid)
{
	char	 path[64], buf[256], *p;
	FILE	*f;
	int	 i;

	for (i = 0; i < 600 && pid > 0; i++) {
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		if ((f = fopen(path, "r")) != NULL) {
			p = fgets(buf, sizeof(buf), f);
			fclose(f);
			if (p != NULL && (p = strrchr(buf, ')')) != NULL &&
			    p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
				return;
		}
		usleep(50000);
	}
}

/* "baton (pid N) at PATH", or "baton at PATH" when the pid is unknown. */
static char *
client_who(const char *path, pid_t pid)
{
	if (pid > 0)
		return xprintf("baton (pid %ld) at %s", (long)pid, path);
	return xprintf("baton at %s", path);
}

/*
 * baton scale's operand, wherever it is among the options: "scale N", a
 * new string, and argv without it. NULL if there is none; two are a
 * usage error.
 */
static char *
client_scale_arg(int *argc, char **argv)
{
	char	*n = NULL;
	int	 i, j, opt = 0;

	for (i = j = 1; i < *argc; i++) {
		/* The value of -c, -s, --timeout is no operand. */
		if (!opt && strcmp(argv[i], "--") != 0 && (argv[i][0] != '-' ||
		    (argv[i][1] >= '0' && argv[i][1] <= '9'))) {
			if (n != NULL)
				usage("scale: one number of workers, not '%s' "
				    "and '%s'", n + 6, argv[i]);
			n = xprintf("scale %s", argv[i]);
			continue;
		}
		opt = !opt && (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "-s") == 0 || strcmp(argv[i],
		    "--config") == 0 || strcmp(argv[i], "--control") == 0 ||
		    strcmp(argv[i], "--timeout") == 0);
		argv[j++] = argv[i];
	}
	*argc = j;
	argv[j] = NULL;
	return n;
}

/*
 * Send one command and copy the answer to stdout as it comes. The last
 * line says how it went: "ok ...", or "error ..." (also on stderr).
 * timeout bounds the connection and the wait for baton's first line,
 * which it sends as soon as it takes the command; what follows (a
 * reload's drain, a stop) may rightly take up to drain_timeout.
 */
static int
cmd_client(const char *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument, NULL, 'c' },
		{ "control",	required_argument, NULL, 's' },
		{ "json",	no_argument,	   NULL, 'j' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "env",	required_argument, NULL, 'e' },
		{ "canary",	required_argument, NULL, 'C' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char		**env = NULL, *scale = NULL, *error = NULL;
	const char	 *canary = NULL;
	int		  share;
	const char	 *why;
	const char	*file = NULL, *control = NULL, *timeout_arg = "10s";
	char		*path, *who, *line = NULL, *last = NULL, *req;
	size_t		 cap = 0;
	ssize_t		 n;
	struct pollfd	 pfd;
	FILE		*in;
	long		 timeout = 10000;
	pid_t		 pid;
	int		 ch, fd, json = 0, code, sent, r;

	/* scale's N, taken out first: getopt would read -1 as an option. */
	if (strcmp(cmd, "scale") == 0 && (scale = client_scale_arg(&argc,
	    argv)) != NULL && control_parse_scale(scale, strlen(scale), &share,
	    &error) == -1)
		usage("%s", error);
	if (strcmp(cmd, "scale") == 0 && scale == NULL)
		usage("scale: how many workers? (baton scale N, N from 1 to %d)",
		    CONFIG_MAX_WORKERS);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 's':
			control = optarg;
			break;
		case 'j':
			if (strcmp(cmd, "status") != 0)
				usage("--json goes with status only");
			json = 1;
			break;
		case 't':
			if (config_parse_duration(optarg, &timeout) == -1)
				usage("--timeout %s: not a duration (use 500ms, "
				    "15s, 2m or seconds)", optarg);
			timeout_arg = optarg;
			break;
		case 'e':
			if (strcmp(cmd, "reload") != 0)
				usage("--env goes with reload only");
			if ((why = envfile_assignment_why(optarg)) != NULL)
				usage("--env '%.*s': %s",
				    (int)strcspn(optarg, "="), optarg, why);
			envfile_merge(&env, (char *const []){ optarg, NULL });
			break;
		case 'C':
			if (strcmp(cmd, "reload") != 0)
				usage("--canary goes with reload only");
			if (config_parse_canary(optarg, &share) == -1)
				usage("--canary %s: not a share from 0.01%% to "
				    "99.99%% (10%%, 2.5%%)", optarg);
			canary = optarg;
			break;
		default:
			usage_other(ch);
		}
	}
	if (optind < argc)
		usage("unexpected '%s'", argv[optind]);
	if ((file == NULL) == (control == NULL))
		usage("%s: give either -c FILE or -s CONTROL", cmd);
	path = client_path(file, control);
	if ((fd = control_connect(path, timeout, &pid)) == -1) {
		if (errno == ETIMEDOUT)
			fprintf(stderr, "baton: the baton at %s did not accept "
			    "the connection within %s (stopped, or too busy?)\n",
			    path, timeout_arg);
		else
			fprintf(stderr, "baton: cannot reach baton at %s: %s%s\n",
			    path, strerror(errno), errno == ENOENT ||
			    errno == ECONNREFUSED ? " (is baton run running?)" :
			    "");
		free(path);
		return EXIT_UNREACHABLE;
	}
	who = client_who(path, pid);
	if (env != NULL || canary != NULL) {
		/* "reload --canary P% --env ...": the share first. */
		line = env != NULL ? envfile_request(env) : xstrdup("reload");
		req = canary != NULL ? xprintf("reload --canary %s%s\n", canary,
		    line + strlen("reload")) : xprintf("%s\n", line);
		free(line);
		line = NULL;
		command_free(env);
	} else if (scale != NULL)
		req = xprintf("%s\n", scale);
	else
		req = xprintf("%s\n", strcmp(cmd, "status") == 0 && !json ?
		    "status text" : cmd);
	/*
	 * baton may refuse us (permission) and close before we write: no
	 * SIGPIPE, and read its answer all the same.
	 */
	sent = send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req);
	if (!sent)
		fprintf(stderr, "baton: %s: %s\n", path, strerror(errno));
	free(req);
	shutdown(fd, SHUT_WR);

	/* A stopped or wedged baton: say so rather than wait forever. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, (int)(timeout < INT_MAX ? timeout : INT_MAX));
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		fprintf(stderr, "baton: %s did not answer within %s\n", who,
		    timeout_arg);
		close(fd);
		free(who);
		free(path);
		return EXIT_UNREACHABLE;
	}

	if ((in = fdopen(fd, "r")) == NULL)
		fatal(EXIT_FAILED, "fdopen: %s", strerror(errno));
	while ((n = getline(&line, &cap, in)) > 0) {
		if (strncmp(line, "error ", 6) == 0)
			fputs(line, stderr);
		else {
			fputs(line, stdout);
			fflush(stdout);
		}
		free(last);
		last = xstrdup(line);
	}
	fclose(in);
	free(line);

	if ((last != NULL &&
	    strncmp(last, "error permission denied", 23) == 0) ||
	    (last == NULL && !sent))
		code = EXIT_UNREACHABLE;
	else if (last != NULL && strncmp(last, "error config: ", 14) == 0)
		code = EXIT_CONFIG;
	else if (last != NULL && strncmp(last, "error ", 6) == 0)
		code = EXIT_FAILED;
	else if (strcmp(cmd, "stop") == 0) {
		client_wait_exit(pid);
		code = 0;
	} else if ((strcmp(cmd, "reload") == 0 || scale != NULL) &&
	    (last == NULL || strncmp(last, "ok", 2) != 0)) {
		fprintf(stderr, "baton: the connection closed before the "
		    "%s ended\n", cmd);
		code = EXIT_FAILED;
	} else
		code = last != NULL ? 0 : EXIT_FAILED;
	free(last);
	free(who);
	free(path);
	free(scale);
	return code;
}

static int
cmd_check(int argc, char **argv)
{
	struct run_options	 o;
	struct config		*c;
	char			*error = NULL;

	parse_run_options(argc, argv, &o);
	if ((c = run_load(&o, &error)) == NULL) {
		fprintf(stderr, "baton: %s\n", error);
		free(error);
		free(o.listens);
		return EXIT_CONFIG;
	}
	config_print(c, stdout);
	config_free(c);
	free(o.listens);
	return 0;
}

/*
 * baton --upgrade-check FD: the dry run a running baton asks of the binary
 * it is about to exec. Read the state in FD, and the configuration it
 * names, with the same reader the upgrade uses, and act on nothing; print
 * "ok FORMAT" and exit 0 only if all of it makes sense to this binary.
 */
static int
cmd_upgrade_check(int argc, char **argv)
{
	struct state	 st;
	char		*error = NULL, *end;
	long		 fd;

	if (argc != 2)
		usage("--upgrade-check FD: internal, for baton's upgrade");
	errno = 0;
	fd = strtol(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[1] || fd < 0 ||
	    fd > INT_MAX || fcntl((int)fd, F_GETFD) == -1)
		usage("--upgrade-check %s: not an open descriptor", argv[1]);
	if (state_read((int)fd, &st, &error) == -1) {
		fprintf(stderr, "baton: %s\n", error);
		free(error);
		return EXIT_FAILED;
	}
	state_clear(&st);
	printf("ok %s\n", STATE_FORMAT);
	return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}

int
main(int argc, char **argv)
{
	const char	*cmd;

	open_stdio();
	log_init();
	upgrade_init(argc, argv);
	if (argc < 2)
		usage(NULL);
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("baton %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--upgrade-check") == 0)
		return cmd_upgrade_check(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "status") == 0 ||
	    strcmp(cmd, "stop") == 0 || strcmp(cmd, "reopen") == 0 ||
	    strcmp(cmd, "promote") == 0 || strcmp(cmd, "rollback") == 0 ||
	    strcmp(cmd, "scale") == 0)
		return cmd_client(cmd, argc - 1, argv + 1);
	usage("unknown command '%s'", cmd);
}
