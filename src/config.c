/*
 * One configuration snapshot: defaults, the command line's overrides,
 * validation of the whole, and the paths derived from the file. Reading
 * the file is config_load.c's; printing it back, config_print.c's.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "command.h"
#include "config.h"
#include "config_int.h"
#include "envfile.h"
#include "nofile.h"
#include "signame.h"
#include "steer.h"
#include "xmalloc.h"

/* Callers may turn a duration into microseconds without overflow. */
#define DURATION_MAX		(LONG_MAX / 1000)
#define SOCKET_NAME_MAX		255

static const char *const ready_names[] = {
	[READY_DELAY] = "delay",
	[READY_NOTIFY] = "notify",
	[READY_LISTEN] = "listen",
	[READY_PROBE] = "probe",
};

static const char *const rollout_names[] = {
	[ROLLOUT_ALL] = "all",
	[ROLLOUT_ROLLING] = "rolling",
};

static char    *config_where(const struct config *, int);
static int	config_check_sockets(const struct config *, char **);
static int	config_check_rollout(const struct config *, char **);

struct config *
config_new(void)
{
	struct config	*c;

	c = xmalloc(sizeof(*c));
	/* The defaults; what is not named here is zero, or NULL. */
	*c = (struct config){
		.workers = CONFIG_DEFAULT_WORKERS,
		.ready = READY_DELAY,
		.ready_delay = CONFIG_DEFAULT_READY_DELAY,
		.ready_timeout = CONFIG_DEFAULT_READY_TIMEOUT,
		.drain_signal = SIGTERM,
		.drain_timeout = CONFIG_DEFAULT_DRAIN_TIMEOUT,
		.probe_interval = CONFIG_DEFAULT_PROBE_INTERVAL,
		.probe_successes = CONFIG_DEFAULT_PROBE_SUCCESSES,
		.probe_timeout = CONFIG_DEFAULT_PROBE_TIMEOUT,
		.rollout = ROLLOUT_ALL,
		.canary_time = CONFIG_DEFAULT_CANARY_TIME,
		.output_keep = CONFIG_DEFAULT_OUTPUT_KEEP,
		.stop_delay = CONFIG_DEFAULT_STOP_DELAY,
		.start_priority = CONFIG_DEFAULT_START_PRIORITY,
		.lines = xcalloc(1, sizeof(*c->lines)),
	};
	return c;
}

void
config_free(struct config *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	free(c->file);
	free(c->command);
	command_free(c->argv);
	free(c->directory);
	free(c->control);
	free(c->pidfile);
	free(c->output);
	free(c->metrics);
	address_clear(&c->metrics_addr);
	free(c->user);
	free(c->group);
	config_probe_clear(&c->probe);
	free(c->probe_socket);
	for (i = 0; i < c->nsockets; i++) {
		free(c->sockets[i].name);
		address_clear(&c->sockets[i].addr);
		free(c->sockets[i].owner);
		free(c->sockets[i].group);
	}
	free(c->sockets);
	free(c->names);
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].key);
		free(c->env[i].value);
	}
	free(c->env);
	free(c->env_file);
	envfile_clear(c->file_env, c->nfile_env);
	envfile_clear(c->reload_env, c->nreload_env);
	free(c->lines);
	free(c);
}

struct config_socket *
config_add_socket(struct config *c, char *name)
{
	struct config_socket	*s;

	c->sockets = xreallocarray(c->sockets, c->nsockets + 1,
	    sizeof(*c->sockets));
	c->names = xreallocarray(c->names, c->nsockets + 2,
	    sizeof(*c->names));
	s = &c->sockets[c->nsockets];
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->backlog = -1;
	s->mode = -1;
	c->names[c->nsockets++] = name;
	c->names[c->nsockets] = NULL;
	return s;
}

int
config_set_listen(struct config *c, const char *name_eq_url, char **error)
{
	struct config_socket	*s;
	struct address		 a;
	const char		*eq;
	char			*name, *err;
	int			 i;

	if ((eq = strchr(name_eq_url, '=')) == NULL) {
		*error = xprintf("--listen %s: expected NAME=URL "
		    "(http=tcp://0.0.0.0:8080)", name_eq_url);
		return -1;
	}
	name = xstrndup(name_eq_url, eq - name_eq_url);
	if (!config_socket_name_ok(name)) {
		*error = xprintf("--listen %s: bad socket name '%s' "
		    SOCKET_NAME_HINT, name_eq_url, name);
		free(name);
		return -1;
	}
	if (address_parse(eq + 1, &a, &err) == -1) {
		*error = xprintf("--listen %s: %s", name_eq_url, err);
		free(err);
		free(name);
		return -1;
	}

	if ((i = config_socket_index(c, name)) != -1) {
		/* Only the address changes; drop options it cannot have. */
		s = &c->sockets[i];
		address_clear(&s->addr);
		free(name);
	} else {
		if (c->nsockets >= CONFIG_MAX_SOCKETS) {
			*error = xprintf("--listen %s: more than %d sockets",
			    name_eq_url, CONFIG_MAX_SOCKETS);
			address_clear(&a);
			free(name);
			return -1;
		}
		s = config_add_socket(c, name);
	}
	s->addr = a;
	s->line = 0;
	if (a.kind == ADDRESS_UDP)
		s->backlog = -1;
	if (a.kind != ADDRESS_UNIX) {
		s->mode = -1;
		free(s->owner);
		free(s->group);
		s->owner = s->group = NULL;
	}
	return 0;
}

int
config_set_argv(struct config *c, char *const *argv, char **error)
{
	if (argv == NULL || argv[0] == NULL) {
		*error = xstrdup("no command after --");
		return -1;
	}
	free(c->command);
	c->command = NULL;
	command_free(c->argv);
	c->argv = command_copy(argv);
	return 0;
}

int
config_set_probe(struct config *c, const char *spec, char **error)
{
	struct config_probe	 p;
	char			*err;

	if (config_parse_probe(spec, &p, &err) == -1) {
		*error = xprintf("--probe %s: %s", spec, err);
		free(err);
		return -1;
	}
	config_probe_clear(&c->probe);
	c->probe = p;
	return 0;
}

int
config_set_drain_signal(struct config *c, int sig, char **error)
{
	const char	*why;

	if ((why = config_drain_signal_why(sig)) != NULL) {
		*error = xprintf("--drain-signal %s cannot end a process (%s)",
		    signame_name(sig), why);
		return -1;
	}
	c->drain_signal = sig;
	return 0;
}

/*
 * A drain signal must end a worker that sets no handler for it: a worker
 * it only stops or leaves alone keeps the held sockets (and, after baton
 * dies, the port) forever. Returns NULL, or why sig cannot.
 */
const char *
config_drain_signal_why(int sig)
{
	switch (sig) {
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return "it stops the process, which keeps its sockets; use "
		    "SIGTERM, SIGINT, SIGQUIT or SIGUSR1";
	case SIGCONT:
		return "it only resumes a stopped process; use SIGTERM, "
		    "SIGINT, SIGQUIT or SIGUSR1";
	case SIGCHLD:
	case SIGURG:
	case SIGWINCH:
		return "a process ignores it by default; use SIGTERM, SIGINT, "
		    "SIGQUIT or SIGUSR1";
	default:
		return NULL;
	}
}

char *
config_default_control(const char *file)
{
	size_t	 len = strlen(file);

	if (len > 4 && strcmp(file + len - 4, ".ini") == 0)
		return xprintf("%.*s.sock", (int)(len - 4), file);
	return xprintf("%s.sock", file);
}

/*
 * The first `control = VALUE` of [baton] in file, read line by line with
 * none of config_load()'s checks, the way inih splits it: NULL if there is
 * none to be found.
 */
static char *
config_scan_control(const char *file)
{
	FILE	*fp;
	char	*line = NULL, *p, *end, *value = NULL;
	size_t	 cap = 0, len;
	int	 in_baton = 0, indented;

	if ((fp = fopen(file, "re")) == NULL)
		return NULL;
	while (value == NULL && getline(&line, &cap, fp) != -1) {
		p = line;
		if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
			p += 3;
		indented = isspace((unsigned char)*p);
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '[') {
			for (p++; isspace((unsigned char)*p); p++)
				;
			end = p + strcspn(p, "]");
			while (end > p && isspace((unsigned char)end[-1]))
				end--;
			in_baton = end - p == 5 && strncmp(p, "baton", 5) == 0;
			continue;
		}
		/* An indented line continues the key above it. */
		if (!in_baton || indented || strncmp(p, "control", 7) != 0)
			continue;
		for (p += 7; *p == ' ' || *p == '\t'; p++)
			;
		if (*p != '=' && *p != ':')
			continue;
		for (p++; isspace((unsigned char)*p); p++)
			;
		if ((len = config_value_len(p)) > 0)
			value = xstrndup(p, len);
	}
	free(line);
	fclose(fp);
	return value;
}

char *
config_control_path(const char *file, char **error)
{
	struct config	*c;
	char		*abs, *value, *folder, *path, *err = NULL;

	c = config_new();
	if (config_load(c, file, &err) == 0) {
		path = c->control != NULL ? xstrdup(c->control) :
		    config_default_control(c->file);
		config_free(c);
		return path;
	}
	free(err);
	config_free(c);

	/* As config_load() makes it absolute, so that baton agrees. */
	if ((abs = config_abs_path(file, error)) == NULL)
		return NULL;
	if ((value = config_scan_control(abs)) != NULL) {
		folder = config_folder(abs);
		path = config_path(folder, value);
		free(folder);
		free(value);
	} else
		path = config_default_control(abs);
	free(abs);
	return path;
}

/* "FILE:LINE: ", "FILE: " or "": where to say a problem is. */
static char *
config_where(const struct config *c, int line)
{
	if (c->file == NULL)
		return xstrdup("");
	if (line > 0)
		return xprintf("%s:%d: ", c->file, line);
	return xprintf("%s: ", c->file);
}

int
config_finish(struct config *c, char **error)
{
	static const struct config_lines	  none;
	const struct config_lines		 *lines;
	const int				 *line;
	const char				 *what;
	char					**argv, *where, *err, *folder;
	size_t					  i;

	/* A config that never loaded a file knows no lines. */
	lines = c->lines != NULL ? c->lines : &none;
	line = lines->key;
	where = config_where(c, line[KEY_COMMAND]);
	if (c->command != NULL) {
		if (strspn(c->command, " \t\n") == strlen(c->command)) {
			*error = xprintf("%scommand is empty", where);
			goto fail;
		}
		if ((argv = command_split(c->command, &err)) == NULL) {
			*error = xprintf("%scommand: %s", where, err);
			free(err);
			goto fail;
		}
		command_free(c->argv);
		c->argv = argv;
	} else if (c->argv == NULL) {
		free(where);
		where = config_where(c, lines->baton > 0 ? lines->baton : 1);
		*error = xprintf("%sno command (set 'command' in [baton], or "
		    "give one after --)", where);
		goto fail;
	}
	/* execvp("") can only fail, at every start and restart. */
	if (c->argv[0] == NULL || *c->argv[0] == '\0') {
		for (i = 0; c->argv[i] != NULL && *c->argv[i] == '\0'; i++)
			;
		what = c->argv[i] == NULL ? " is empty" : ": its first word, "
		    "the program to run, is empty";
		if (c->command != NULL)
			*error = xprintf("%scommand%s", where, what);
		else
			*error = xprintf("command after --%s", what);
		goto fail;
	}
	if (command_check(c->argv, c->names, c->nsockets, &err) == -1) {
		if (c->command != NULL)
			*error = xprintf("%scommand: %s", where, err);
		else
			*error = xprintf("command after --: %s", err);
		free(err);
		goto fail;
	}
	free(where);

	if (c->workers < 1 || c->workers > CONFIG_MAX_WORKERS) {
		where = config_where(c, line[KEY_WORKERS]);
		*error = xprintf("%sworkers: %d is not a number from 1 to %d",
		    where, c->workers, CONFIG_MAX_WORKERS);
		goto fail;
	}
	if (config_check_sockets(c, error) == -1)
		return -1;
	if (config_check_rollout(c, error) == -1)
		return -1;
	if (c->ready == READY_LISTEN && !c->preload) {
		where = config_where(c, line[KEY_READY] > 0 ?
		    line[KEY_READY] : line[KEY_PRELOAD]);
		*error = xprintf("%sready = listen needs preload = yes (the "
		    "preload library is what sees listen())", where);
		goto fail;
	}
	/*
	 * Under ready = delay only the delay is timed (worker_start()), so
	 * equal values cannot race: the bound is the documented one.
	 */
	if (c->ready == READY_DELAY && c->ready_delay > c->ready_timeout) {
		where = config_where(c, line[KEY_READY_DELAY] > 0 ?
		    line[KEY_READY_DELAY] : line[KEY_READY_TIMEOUT]);
		*error = xprintf("%sready_delay (%ldms) must not exceed "
		    "ready_timeout (%ldms)", where, c->ready_delay,
		    c->ready_timeout);
		goto fail;
	}
	if (c->user != NULL && getpwnam(c->user) == NULL) {
		where = config_where(c, line[KEY_USER]);
		*error = xprintf("%suser '%s' does not exist", where, c->user);
		goto fail;
	}
	if (c->group != NULL && getgrnam(c->group) == NULL) {
		where = config_where(c, line[KEY_GROUP]);
		*error = xprintf("%sgroup '%s' does not exist", where,
		    c->group);
		goto fail;
	}

	if (c->directory == NULL) {
		if (c->file != NULL)
			c->directory = config_folder(c->file);
		else if ((c->directory = config_cwd(error)) == NULL)
			return -1;
	} else if (*c->directory != '/') {
		if ((folder = config_cwd(error)) == NULL)
			return -1;
		err = config_path(folder, c->directory);
		free(folder);
		free(c->directory);
		c->directory = err;
	}
	if (c->control == NULL && c->file != NULL)
		c->control = config_default_control(c->file);
	/* sun_path holds 107 bytes and a NUL. */
	if (c->control != NULL && strlen(c->control) > 107) {
		where = config_where(c, line[KEY_CONTROL]);
		if (line[KEY_CONTROL] > 0)
			*error = xprintf("%scontrol: '%s' is too long for a "
			    "unix socket (at most 107 bytes; choose a shorter "
			    "path)", where, c->control);
		else
			*error = xprintf("%sthe default control socket '%s' "
			    "is too long for a unix socket (at most 107 bytes; "
			    "set 'control' in [baton] to a shorter path)",
			    where, c->control);
		goto fail;
	}
	/* baton would find its own control socket there, live. */
	for (i = 0; c->control != NULL && i < c->nsockets; i++) {
		if (c->sockets[i].addr.kind == ADDRESS_UNIX &&
		    strcmp(c->sockets[i].addr.path, c->control) == 0) {
			where = config_where(c, c->sockets[i].line);
			*error = xprintf("%ssocket '%s' listens on %s, the "
			    "control socket's path (set 'control' in [baton])",
			    where, c->sockets[i].name, c->control);
			goto fail;
		}
	}
	/* Workers would share baton's own HTTP listener's address. */
	for (i = 0; c->metrics != NULL && i < c->nsockets; i++) {
		if (address_equal(&c->sockets[i].addr, &c->metrics_addr)) {
			where = config_where(c, c->lines->key[KEY_METRICS]);
			*error = xprintf("%smetrics: %s is socket '%s''s address "
			    "too (choose another port or path)", where,
			    c->metrics, c->sockets[i].name);
			goto fail;
		}
	}
	if (c->metrics != NULL && c->control != NULL &&
	    c->metrics_addr.kind == ADDRESS_UNIX &&
	    strcmp(c->metrics_addr.path, c->control) == 0) {
		where = config_where(c, c->lines->key[KEY_METRICS]);
		*error = xprintf("%smetrics: %s is the control socket's path",
		    where, c->metrics);
		goto fail;
	}
	return 0;

fail:
	free(where);
	return -1;
}

/* Where socket s was set: "FILE:LINE: ", or its --listen. */
static char *
config_socket_where(const struct config *c, const struct config_socket *s)
{
	if (s->line > 0)
		return config_where(c, s->line);
	return xprintf("--listen %s=%s: ", s->name, s->addr.url);
}

/*
 * Two sockets on one address would fail at bind: say which. And more
 * than the descriptor limit or the interposer can carry.
 */
static int
config_check_sockets(const struct config *c, char **error)
{
	const struct config_socket	*a, *b;
	char				*where, *other;
	size_t				 i, j, max;

	if (c->nsockets > CONFIG_MAX_SOCKETS) {
		*error = xprintf("more than %d sockets", CONFIG_MAX_SOCKETS);
		return -1;
	}
	if (c->nsockets > (max = nofile_max_sockets())) {
		b = &c->sockets[max];
		where = config_socket_where(c, b);
		*error = xprintf("%ssocket '%s': %zu sockets need %llu "
		    "descriptors, more than the hard limit RLIMIT_NOFILE "
		    "allows (%zu sockets at most; raise it: ulimit -Hn, "
		    "LimitNOFILE=)", where, b->name, c->nsockets,
		    (unsigned long long)(2 * c->nsockets + NOFILE_BASE), max);
		free(where);
		return -1;
	}
	/* preload.c learns PRELOAD_SOCKETS_MAX; more would go unheld. */
	if (c->preload && c->nsockets > CONFIG_MAX_PRELOAD_SOCKETS) {
		b = &c->sockets[CONFIG_MAX_PRELOAD_SOCKETS];
		where = config_socket_where(c, b);
		*error = xprintf("%ssocket '%s': preload = yes holds at most "
		    "%d sockets (this configuration has %zu)", where, b->name,
		    CONFIG_MAX_PRELOAD_SOCKETS, c->nsockets);
		free(where);
		return -1;
	}
	for (j = 0; j < c->nsockets; j++) {
		b = &c->sockets[j];
		for (i = 0; i < j; i++) {
			a = &c->sockets[i];
			if (!address_equal(&a->addr, &b->addr))
				continue;
			where = config_socket_where(c, b);
			if (a->line > 0)
				other = xprintf("line %d", a->line);
			else
				other = xstrdup("--listen");
			*error = xprintf("%ssocket '%s' listens on %s like "
			    "socket '%s' (%s)", where, b->name, b->addr.url,
			    a->name, other);
			free(where);
			free(other);
			return -1;
		}
	}
	return 0;
}

/*
 * The keys that go together: a probe and what uses it, the probe's own
 * keys and the probe, canary_time and canary; the socket a probe goes
 * through must carry a stream.
 */
/* The key that asks for steering, or -1: the first of them set. */
static int
config_steer_key(const struct config *c)
{
	if (c->ready == READY_PROBE)
		return KEY_READY;
	if (c->canary != 0)
		return KEY_CANARY;
	if (c->rollout == ROLLOUT_ROLLING && c->workers > 1)
		return KEY_ROLLOUT;
	return -1;
}

int
config_steers(const struct config *c)
{
	return config_steer_key(c) != -1;
}

static int
config_check_rollout(const struct config *c, char **error)
{
	static const struct config_lines	  none;
	const int				 *line;
	const struct config_socket		 *s;
	const char				 *why;
	char					 *where;
	int					  k, first = -1;

	line = (c->lines != NULL ? c->lines : &none)->key;
	if (c->ready == READY_PROBE && c->probe.kind == PROBE_NONE) {
		where = config_where(c, line[KEY_READY]);
		*error = xprintf("%sready = probe needs a probe (probe = http "
		    "GET /healthz, tcp or exec COMMAND)", where);
		goto fail;
	}
	if (c->probe.kind != PROBE_NONE && c->ready != READY_PROBE &&
	    c->canary == 0) {
		where = config_where(c, line[KEY_PROBE]);
		*error = xprintf("%sprobe is used by ready = probe and by "
		    "canary only (set one of them, or remove probe)", where);
		goto fail;
	}
	if ((k = config_steer_key(c)) != -1 && steer_supported(&why) == -1) {
		where = config_where(c, line[k]);
		*error = xprintf("%s%s needs the kernel to steer connections "
		    "between generations, which this machine refuses: %s "
		    "(without it baton shares one socket; remove %s)", where,
		    k == KEY_READY ? "ready = probe" : k == KEY_ROLLOUT ?
		    "rollout = rolling" : "canary", why, config_key_name(k));
		goto fail;
	}
	if ((c->canary != 0 || c->warmup > 0) &&
	    c->rollout == ROLLOUT_ROLLING && c->workers > 1) {
		k = c->canary != 0 ? KEY_CANARY : KEY_WARMUP;
		where = config_where(c, line[k]);
		*error = xprintf("%s%s does not combine with rollout = "
		    "rolling, which gives each new slot its full share as it "
		    "comes (choose one)", where, config_key_name(k));
		goto fail;
	}
	/* Of the keys that do not apply, report the first in the file. */
	for (k = KEY_PROBE_SOCKET; k <= KEY_CANARY_TIME; k++) {
		if (line[k] == 0 || k == KEY_ROLLOUT || k == KEY_CANARY)
			continue;
		if (k == KEY_CANARY_TIME ? c->canary != 0 :
		    c->probe.kind != PROBE_NONE)
			continue;
		if (first == -1 || line[k] < line[first])
			first = k;
	}
	if (first != -1) {
		where = config_where(c, line[first]);
		*error = xprintf("%s%s applies only with %s (set %s, or remove "
		    "%s)", where, config_key_name(first),
		    first == KEY_CANARY_TIME ? "canary" : "probe",
		    first == KEY_CANARY_TIME ? "canary" : "probe",
		    config_key_name(first));
		goto fail;
	}
	if (c->probe.kind == PROBE_NONE)
		return 0;

	if (c->probe_socket != NULL) {
		where = config_where(c, line[KEY_PROBE_SOCKET]);
		if ((k = config_socket_index(c, c->probe_socket)) == -1) {
			*error = xprintf("%sprobe_socket: no socket named "
			    "'%s'", where, c->probe_socket);
			goto fail;
		}
		s = &c->sockets[k];
		if (s->addr.kind == ADDRESS_UDP) {
			*error = xprintf("%sprobe_socket: socket '%s' is %s; "
			    "a probe needs a stream socket (tcp or unix)",
			    where, s->name, s->addr.url);
			goto fail;
		}
		free(where);
		return 0;
	}
	/* An exec probe can do without the socket: it is only told it. */
	if (c->probe.kind == PROBE_EXEC)
		return 0;
	where = config_where(c, line[KEY_PROBE]);
	if (c->nsockets == 0) {
		*error = xprintf("%sprobe = %s needs a socket to go through "
		    "(add a [socket:NAME], or use exec)", where,
		    c->probe.kind == PROBE_HTTP ? "http" : "tcp");
		goto fail;
	}
	if (c->sockets[0].addr.kind == ADDRESS_UDP) {
		*error = xprintf("%sthe probe goes through the first socket, "
		    "'%s', which is %s; set probe_socket to a tcp or unix "
		    "socket", where, c->sockets[0].name, c->sockets[0].addr.url);
		goto fail;
	}
	free(where);
	return 0;

fail:
	free(where);
	return -1;
}

const struct config_socket *
config_probe_socket(const struct config *c)
{
	const struct config_socket	*s;
	int				 i;

	if (c->probe_socket != NULL) {
		if ((i = config_socket_index(c, c->probe_socket)) == -1)
			return NULL;
		s = &c->sockets[i];
	} else if (c->nsockets > 0)
		s = &c->sockets[0];
	else
		return NULL;
	return s->addr.kind == ADDRESS_UDP ? NULL : s;
}

int
config_socket_index(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nsockets; i++) {
		if (strcmp(c->sockets[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* The digits s starts with, at most max, in *n; *rest: what follows. */
static int
config_parse_digits(const char *s, long long max, long long *n,
    const char **rest)
{
	const char	*p;

	*n = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (p = s; isdigit((unsigned char)*p); p++) {
		if (*n > (max - (*p - '0')) / 10)
			return -1;
		*n = *n * 10 + (*p - '0');
	}
	*rest = p;
	return 0;
}

int
config_parse_duration(const char *s, long *ms)
{
	const char	*p;
	long long	 n;
	long		 unit;

	if (config_parse_digits(s, DURATION_MAX, &n, &p) == -1)
		return -1;
	if (*p == '\0' || strcmp(p, "s") == 0)
		unit = 1000;
	else if (strcmp(p, "ms") == 0)
		unit = 1;
	else if (strcmp(p, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		unit = 60 * 60 * 1000;
	else
		return -1;
	if (n == 0 || n > DURATION_MAX / unit)
		return -1;
	*ms = n * unit;
	return 0;
}

int
config_parse_size(const char *s, long long *bytes)
{
	const char	*p;
	long long	 n, unit;

	if (config_parse_digits(s, LLONG_MAX, &n, &p) == -1)
		return -1;
	if (*p == '\0')
		unit = 1;
	else if (strcasecmp(p, "k") == 0)
		unit = 1024;
	else if (strcasecmp(p, "m") == 0)
		unit = 1024 * 1024;
	else if (strcasecmp(p, "g") == 0)
		unit = 1024 * 1024 * 1024;
	else
		return -1;
	if (n == 0 || n > LLONG_MAX / unit)
		return -1;
	*bytes = n * unit;
	return 0;
}

const char *
config_ready_name(enum ready_mode mode)
{
	if ((size_t)mode >= sizeof(ready_names) / sizeof(ready_names[0]))
		return "unknown";
	return ready_names[mode];
}

int
config_parse_ready(const char *s, enum ready_mode *mode)
{
	enum ready_mode	 m = READY_DELAY;

	while (strcmp(s, config_ready_name(m)) != 0)
		if (m++ == READY_PROBE)
			return -1;
	*mode = m;
	return 0;
}

const char *
config_rollout_name(enum rollout_mode mode)
{
	if ((size_t)mode >= sizeof(rollout_names) / sizeof(rollout_names[0]))
		return "unknown";
	return rollout_names[mode];
}

/* An HTTP method as servers take it: upper case letters only. */
static int
config_probe_method_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 'A' || *s > 'Z')
			return 0;
	return 1;
}

/* What may stand in a request line: visible ASCII, no spaces. */
static int
config_probe_path_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

int
config_parse_probe(const char *spec, struct config_probe *p, char **error)
{
	const char	*rest;
	char		**words, *err;
	size_t		  len, n;

	memset(p, 0, sizeof(*p));
	spec += strspn(spec, " \t");
	len = strcspn(spec, " \t");
	rest = spec + len + strspn(spec + len, " \t");
	if (len == 3 && strncmp(spec, "tcp", 3) == 0) {
		if (*rest != '\0') {
			*error = xprintf("tcp takes nothing after it, not "
			    "'%s'", rest);
			return -1;
		}
		p->kind = PROBE_TCP;
		return 0;
	}
	if (len == 4 && strncmp(spec, "exec", 4) == 0) {
		if (*rest == '\0') {
			*error = xstrdup("exec needs a command (exec "
			    "/usr/local/bin/check --quick)");
			return -1;
		}
		if ((words = command_split(rest, &err)) == NULL) {
			*error = xprintf("exec: %s", err);
			free(err);
			return -1;
		}
		if (words[0] == NULL || *words[0] == '\0') {
			command_free(words);
			*error = xstrdup("exec: its first word, the program to "
			    "run, is empty");
			return -1;
		}
		p->kind = PROBE_EXEC;
		p->argv = words;
		return 0;
	}
	if (len != 4 || strncmp(spec, "http", 4) != 0) {
		*error = xprintf("'%.*s' is not http METHOD PATH, tcp or exec "
		    "COMMAND", (int)len, spec);
		return -1;
	}
	/* Split on blanks only: a path is one word, never quoted. */
	words = xcalloc(4, sizeof(*words));
	for (n = 0; *rest != '\0' && n < 3; n++) {
		len = strcspn(rest, " \t");
		words[n] = xstrndup(rest, len);
		rest += len + strspn(rest + len, " \t");
	}
	if (n < 2) {
		*error = xstrdup("http needs a method and a path (http GET "
		    "/healthz)");
		goto fail;
	}
	if (n > 2) {
		*error = xprintf("http takes a method and a path only, not "
		    "'%s'", words[2]);
		goto fail;
	}
	if (!config_probe_method_ok(words[0])) {
		*error = xprintf("'%s' is not an HTTP method (use upper case: "
		    "GET, HEAD, ...)", words[0]);
		goto fail;
	}
	if (words[1][0] != '/' || !config_probe_path_ok(words[1])) {
		*error = xprintf("'%s' is not a path for a request line (one "
		    "that starts with '/', like /healthz)", words[1]);
		goto fail;
	}
	p->kind = PROBE_HTTP;
	p->method = words[0];
	p->path = words[1];
	free(words);
	return 0;

fail:
	command_free(words);
	return -1;
}

void
config_probe_clear(struct config_probe *p)
{
	free(p->method);
	free(p->path);
	command_free(p->argv);
	memset(p, 0, sizeof(*p));
}

char *
config_probe_spec(const struct config_probe *p)
{
	char	*cmd, *spec;

	switch (p->kind) {
	case PROBE_HTTP:
		return xprintf("http %s %s", p->method, p->path);
	case PROBE_TCP:
		return xstrdup("tcp");
	case PROBE_EXEC:
		cmd = command_join(p->argv);
		spec = xprintf("exec %s", cmd);
		free(cmd);
		return spec;
	default:
		return xstrdup("none");
	}
}

/* "10%", "2.5%", "0.25%": at most two decimals, the BPF side's unit. */
int
config_parse_canary(const char *s, int *canary)
{
	const char	*p = s;
	long		 v = 0;
	int		 decimals = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p) && v < CONFIG_CANARY_WHOLE; p++)
		v = v * 10 + (*p - '0');
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p) && decimals < 2; p++) {
			v = v * 10 + (*p - '0');
			decimals++;
		}
		if (decimals == 0)
			return -1;
	}
	for (; decimals < 2; decimals++)
		v *= 10;
	if (strcmp(p, "%") != 0 || v <= 0 || v >= CONFIG_CANARY_WHOLE)
		return -1;
	*canary = (int)v;
	return 0;
}

/*
 * A socket's name goes into LISTEN_FDNAMES, which is colon-separated, and
 * into {fd:NAME}: keep it to characters that are safe in both.
 */
int
config_socket_name_ok(const char *name)
{
	const char	*p;

	if (*name == '\0' || strlen(name) > SOCKET_NAME_MAX)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL)
			return 0;
	}
	return 1;
}

/*
 * How much of a value is left once inih would have taken off an inline
 * comment (" ;" starts one) and the whitespace before it.
 */
size_t
config_value_len(const char *s)
{
	const char	*end;
	int		 was_space = 0;

	for (end = s; *end != '\0'; end++) {
		if (was_space && *end == ';')
			break;
		was_space = isspace((unsigned char)*end);
	}
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	return end - s;
}

char *
config_cwd(char **error)
{
	char	 buf[PATH_MAX];

	if (getcwd(buf, sizeof(buf)) == NULL) {
		*error = xprintf("cannot get the current directory: %s",
		    strerror(errno));
		return NULL;
	}
	return xstrdup(buf);
}

/* file made absolute from the current directory, and clean. */
char *
config_abs_path(const char *file, char **error)
{
	char	*cwd, *abs;

	if (*file == '/')
		return config_path("/", file);
	if ((cwd = config_cwd(error)) == NULL)
		return NULL;
	abs = config_path(cwd, file);
	free(cwd);
	return abs;
}

/*
 * path taken from dir unless it is absolute, without "." components or
 * doubled slashes. ".." stays: a symbolic link may make it mean anything.
 */
char *
config_path(const char *dir, const char *path)
{
	char	*full, *out, *p, *q, *end;
	size_t	 len;

	full = *path == '/' ? xstrdup(path) : xprintf("%s/%s", dir, path);
	out = xmalloc(strlen(full) + 2);
	q = out;
	for (p = full; *p != '\0'; p = end) {
		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		len = end - p;
		if (len == 0 || (len == 1 && *p == '.'))
			continue;
		*q++ = '/';
		memcpy(q, p, len);
		q += len;
	}
	if (q == out)
		*q++ = '/';
	*q = '\0';
	free(full);
	return out;
}

/* The folder of an absolute, clean path. */
char *
config_folder(const char *file)
{
	const char	*slash;

	slash = strrchr(file, '/');
	if (slash == NULL || slash == file)
		return xstrdup("/");
	return xstrndup(file, slash - file);
}
