/*
 * The configuration file, read with inih.
 *
 * Debian's inih gives the handler no line number, splits lines longer
 * than 199 characters without a word, calls the handler for nothing
 * about sections, and treats any indented line as the continuation of the
 * previous key. So the file is fed to ini_parse_stream() by our own line
 * reader, which counts lines, refuses long ones, and sees section headers
 * itself; the handler then knows where it is and whether a line continues
 * the one before.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "address.h"
#include "command.h"
#include "config.h"
#include "env.h"
#include "xmalloc.h"

/* Callers may turn a duration into microseconds without overflow. */
#define DURATION_MAX		(LONG_MAX / 1000)
#define SOCKET_NAME_MAX		255
#define BACKLOG_MAX		65535
#define DURATION_HINT		"(use 500ms, 15s, 2m or seconds)"
#define SOCKET_NAME_HINT	"(use letters, digits, '-', '_' and '.')"

enum baton_key {
	KEY_COMMAND,
	KEY_DIRECTORY,
	KEY_WORKERS,
	KEY_READY,
	KEY_READY_DELAY,
	KEY_READY_TIMEOUT,
	KEY_DRAIN_SIGNAL,
	KEY_DRAIN_TIMEOUT,
	KEY_CONTROL,
	KEY_PIDFILE,
	KEY_USER,
	KEY_GROUP,
	KEY_PRELOAD,
	KEY_DRAIN_TO,
	KEY_NBATON
};

static const char *const baton_keys[KEY_NBATON] = {
	"command",
	"directory",
	"workers",
	"ready",
	"ready_delay",
	"ready_timeout",
	"drain_signal",
	"drain_timeout",
	"control",
	"pidfile",
	"user",
	"group",
	"preload",
	"drain_to",
};

enum socket_key {
	SKEY_LISTEN,
	SKEY_BACKLOG,
	SKEY_MODE,
	SKEY_OWNER,
	SKEY_GROUP,
	SKEY_NONBLOCKING,
	SKEY_N
};

static const char *const socket_keys[SKEY_N] = {
	"listen",
	"backlog",
	"mode",
	"owner",
	"group",
	"nonblocking",
};

/*
 * Where the [baton] keys were set, so that config_finish(), which checks
 * what needs the whole configuration, can still name FILE:LINE.
 */
struct config_lines {
	int	 baton;			/* the [baton] header; 0: none */
	int	 key[KEY_NBATON];	/* 0: not in the file */
};

/* What config_print_value() may do with a long value. */
enum print_how {
	PRINT_COMMAND,	/* continue it; not before a [baton] key */
	PRINT_ENV,	/* continue it; not before a variable name */
	PRINT_LINE	/* one line: the key does not continue */
};

enum section {
	SECTION_NONE,
	SECTION_BATON,
	SECTION_SOCKET,
	SECTION_ENV
};

/* The state of one config_load(), shared by the reader and the handler. */
struct parse {
	struct config	*c;
	FILE		*fp;
	char		*folder;	/* of the file, for relative paths */
	char		*buf;		/* getline()'s */
	size_t		 bufsize;
	int		 line;		/* the line inih is looking at */
	int		 indented;	/* it starts with whitespace */
	enum section	 section;
	int		 section_line;
	int		 env_line;	/* the [env] header; 0: none yet */
	size_t		 socket;	/* the current [socket:NAME] */
	int		 skey[SKEY_N];	/* its keys' lines */
	char		*prev;		/* last key of this section: inih's */
	char		*error;		/* the first error */
	int		 error_line;
};

static const struct {
	int		 sig;
	const char	*name;
} signals[] = {
	{ SIGHUP,	"SIGHUP" },
	{ SIGINT,	"SIGINT" },
	{ SIGQUIT,	"SIGQUIT" },
	{ SIGILL,	"SIGILL" },
	{ SIGTRAP,	"SIGTRAP" },
	{ SIGABRT,	"SIGABRT" },
	{ SIGBUS,	"SIGBUS" },
	{ SIGFPE,	"SIGFPE" },
	{ SIGKILL,	"SIGKILL" },
	{ SIGUSR1,	"SIGUSR1" },
	{ SIGSEGV,	"SIGSEGV" },
	{ SIGUSR2,	"SIGUSR2" },
	{ SIGPIPE,	"SIGPIPE" },
	{ SIGALRM,	"SIGALRM" },
	{ SIGTERM,	"SIGTERM" },
#ifdef SIGSTKFLT
	{ SIGSTKFLT,	"SIGSTKFLT" },
#endif
	{ SIGCHLD,	"SIGCHLD" },
	{ SIGCONT,	"SIGCONT" },
	{ SIGSTOP,	"SIGSTOP" },
	{ SIGTSTP,	"SIGTSTP" },
	{ SIGTTIN,	"SIGTTIN" },
	{ SIGTTOU,	"SIGTTOU" },
	{ SIGURG,	"SIGURG" },
	{ SIGXCPU,	"SIGXCPU" },
	{ SIGXFSZ,	"SIGXFSZ" },
	{ SIGVTALRM,	"SIGVTALRM" },
	{ SIGPROF,	"SIGPROF" },
	{ SIGWINCH,	"SIGWINCH" },
	{ SIGIO,	"SIGIO" },
#ifdef SIGPWR
	{ SIGPWR,	"SIGPWR" },
#endif
	{ SIGSYS,	"SIGSYS" },
	/* Other names for the same signals: accepted, never printed. */
#ifdef SIGIOT
	{ SIGIOT,	"SIGIOT" },
#endif
#ifdef SIGPOLL
	{ SIGPOLL,	"SIGPOLL" },
#endif
#ifdef SIGCLD
	{ SIGCLD,	"SIGCLD" },
#endif
};

static const char *const ready_names[] = {
	[READY_DELAY] = "delay",
	[READY_NOTIFY] = "notify",
	[READY_LISTEN] = "listen",
};

static void	parse_error(struct parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static char    *config_reader(char *, int, void *);
static int	config_section(struct parse *, char *);
static int	config_end_section(struct parse *);
static int	config_handler(void *, const char *, const char *,
		    const char *);
static int	config_continue(struct parse *, const char *);
static int	config_baton_key(struct parse *, const char *, const char *);
static int	config_socket_key(struct parse *, const char *, const char *);
static int	config_env_key(struct parse *, const char *, const char *);
static int	config_parse_int(const char *, int, int, int *);
static int	config_parse_mode(const char *, int *);
static int	config_parse_bool(const char *, int *);
static const char *config_drain_signal_why(int);
static int	config_socket_name_ok(const char *);
static int	config_env_name_ok(const char *, size_t);
static int	config_looks_like_key(const char *, int);
static char    *config_cwd(char **);
static char    *config_path(const char *, const char *);
static char    *config_folder(const char *);
static char    *config_where(const struct config *, int);
static int	config_check_sockets(const struct config *, char **);
static int	config_fold_at(const char *, int);
static void	config_print_value(FILE *, const char *, const char *,
		    enum print_how);
static void	config_print_path(FILE *, const char *, const char *);

struct config *
config_new(void)
{
	struct config	*c;

	c = xcalloc(1, sizeof(*c));
	c->workers = CONFIG_DEFAULT_WORKERS;
	c->ready = READY_DELAY;
	c->ready_delay = CONFIG_DEFAULT_READY_DELAY;
	c->ready_timeout = CONFIG_DEFAULT_READY_TIMEOUT;
	c->drain_signal = SIGTERM;
	c->drain_timeout = CONFIG_DEFAULT_DRAIN_TIMEOUT;
	c->lines = xcalloc(1, sizeof(*c->lines));
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
	free(c->user);
	free(c->group);
	for (i = 0; i < c->nsockets; i++) {
		free(c->sockets[i].name);
		address_clear(&c->sockets[i].addr);
		free(c->sockets[i].owner);
		free(c->sockets[i].group);
	}
	free(c->sockets);
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].key);
		free(c->env[i].value);
	}
	free(c->env);
	free(c->lines);
	free(c);
}

/* Record the first error only: it is the one to fix first. */
static void
parse_error(struct parse *st, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 len;

	if (st->error != NULL)
		return;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = xmalloc(len > 0 ? len + 1 : 1);
	*msg = '\0';
	va_start(ap, fmt);
	if (len > 0)
		vsnprintf(msg, len + 1, fmt, ap);
	va_end(ap);
	if (line > 0)
		st->error = xprintf("%s:%d: %s", st->c->file, line, msg);
	else
		st->error = xprintf("%s: %s", st->c->file, msg);
	st->error_line = line;
	free(msg);
}

int
config_load(struct config *c, const char *file, char **error)
{
	struct parse	 st;
	char		*cwd;
	int		 rc;

	if (c->lines == NULL)
		c->lines = xcalloc(1, sizeof(*c->lines));
	free(c->file);
	c->file = NULL;
	if (*file == '/')
		c->file = config_path("/", file);
	else {
		if ((cwd = config_cwd(error)) == NULL)
			return -1;
		c->file = config_path(cwd, file);
		free(cwd);
	}

	memset(&st, 0, sizeof(st));
	st.c = c;
	if ((st.fp = fopen(c->file, "re")) == NULL) {
		*error = xprintf("%s: %s", c->file, strerror(errno));
		return -1;
	}
	st.folder = config_folder(c->file);

	rc = ini_parse_stream(config_reader, &st, config_handler, &st);
	/*
	 * inih reports the first line it could not make sense of; the reader
	 * and the handler stop at their first error, so whichever came
	 * first is the one to report.
	 */
	if (rc > 0 && (st.error == NULL || rc < st.error_line)) {
		free(st.error);
		st.error = NULL;
		parse_error(&st, rc, "expected 'key = value' or '[section]'");
	} else if (rc < 0)
		parse_error(&st, 0, "cannot be parsed");

	fclose(st.fp);
	free(st.buf);
	free(st.folder);
	free(st.prev);
	if (st.error != NULL) {
		*error = st.error;
		return -1;
	}
	return 0;
}

/*
 * inih's fgets(): hand it one line at a time, without its newline, so
 * that a line of exactly 199 characters still fits its 200-byte buffer.
 */
static char *
config_reader(char *str, int num, void *stream)
{
	struct parse	*st = stream;
	ssize_t		 n;
	size_t		 len, limit;
	char		*s, *p;

	if (st->error != NULL)
		return NULL;
	errno = 0;
	if ((n = getline(&st->buf, &st->bufsize, st->fp)) == -1) {
		if (ferror(st->fp))
			parse_error(st, 0, "%s", strerror(errno));
		else
			config_end_section(st);
		return NULL;
	}
	st->line++;
	s = st->buf;
	len = n;
	if (len > 0 && s[len - 1] == '\n')
		s[--len] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (st->line == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		len -= 3;
	}
	if (memchr(s, '\0', len) != NULL) {
		parse_error(st, st->line, "line contains a NUL byte");
		return NULL;
	}
	limit = CONFIG_MAX_LINE;
	if (num > 0 && (size_t)num - 1 < limit)
		limit = num - 1;
	if (len > limit) {
		parse_error(st, st->line, "line longer than %zu characters",
		    limit);
		return NULL;
	}

	for (p = s; isspace((unsigned char)*p); p++)
		;
	st->indented = p > s;
	if (*p == '[') {
		if (config_section(st, p) == -1)
			return NULL;
		/*
		 * Unindented, or inih would take it for the continuation of
		 * the key above it.
		 */
		s = p;
	}
	memcpy(str, s, strlen(s) + 1);
	return str;
}

/* A "[name]" line: close the section before it and open this one. */
static int
config_section(struct parse *st, char *p)
{
	struct config		*c = st->c;
	struct config_socket	*s;
	char			*name, *end, *after;
	const char		*hint = "";
	size_t			 i;

	/* Where a continuation was meant, say why it was not one. */
	if (st->indented && st->prev != NULL)
		hint = " (an indented line starting with '[' is a section)";
	if (config_end_section(st) == -1)
		return -1;
	if ((end = strchr(p, ']')) == NULL) {
		parse_error(st, st->line, "missing ']' in '%s'%s", p, hint);
		return -1;
	}
	for (after = end + 1; isspace((unsigned char)*after); after++)
		;
	for (p++; isspace((unsigned char)*p); p++)
		;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	name = xstrndup(p, end - p);
	/* inih would ignore it; it is more likely a typo than a comment. */
	if (*after != '\0' && *after != ';' && *after != '#') {
		parse_error(st, st->line, "unexpected '%s' after [%s]%s",
		    after, name, hint);
		goto fail;
	}

	free(st->prev);
	st->prev = NULL;
	memset(st->skey, 0, sizeof(st->skey));
	st->section_line = st->line;
	if (strcmp(name, "baton") == 0) {
		if (c->lines->baton != 0) {
			parse_error(st, st->line, "duplicate section [baton] "
			    "(first at line %d)", c->lines->baton);
			goto fail;
		}
		c->lines->baton = st->line;
		st->section = SECTION_BATON;
	} else if (strcmp(name, "env") == 0) {
		if (st->env_line != 0) {
			parse_error(st, st->line, "duplicate section [env] "
			    "(first at line %d)", st->env_line);
			goto fail;
		}
		st->env_line = st->line;
		st->section = SECTION_ENV;
	} else if (strncmp(name, "socket:", 7) == 0) {
		if (!config_socket_name_ok(name + 7)) {
			parse_error(st, st->line, "bad socket name '%s' "
			    SOCKET_NAME_HINT, name + 7);
			goto fail;
		}
		for (i = 0; i < c->nsockets; i++) {
			if (strcmp(c->sockets[i].name, name + 7) == 0) {
				parse_error(st, st->line, "duplicate socket "
				    "'%s' (first at line %d)", name + 7,
				    c->sockets[i].line);
				goto fail;
			}
		}
		if (c->nsockets >= CONFIG_MAX_SOCKETS) {
			parse_error(st, st->line, "more than %d sockets",
			    CONFIG_MAX_SOCKETS);
			goto fail;
		}
		c->sockets = xreallocarray(c->sockets, c->nsockets + 1,
		    sizeof(*c->sockets));
		s = &c->sockets[c->nsockets];
		memset(s, 0, sizeof(*s));
		s->name = xstrdup(name + 7);
		s->backlog = -1;
		s->mode = -1;
		s->line = st->line;
		st->socket = c->nsockets++;
		st->section = SECTION_SOCKET;
	} else {
		parse_error(st, st->line, "unknown section [%s]%s", name,
		    hint);
		goto fail;
	}
	free(name);
	return 0;

fail:
	free(name);
	return -1;
}

/*
 * What a [socket:NAME] section means is known only at its end: the keys
 * may come in any order, and an empty section never reaches the handler.
 */
static int
config_end_section(struct parse *st)
{
	struct config_socket	*s;
	enum socket_key		 k, worst = SKEY_N;

	if (st->section != SECTION_SOCKET) {
		st->section = SECTION_NONE;
		return 0;
	}
	st->section = SECTION_NONE;
	s = &st->c->sockets[st->socket];
	if (st->skey[SKEY_LISTEN] == 0) {
		parse_error(st, st->section_line, "socket '%s' has no listen "
		    "address", s->name);
		return -1;
	}
	/* Of the keys that do not apply, report the first in the file. */
	for (k = SKEY_BACKLOG; k < SKEY_N; k++) {
		if (st->skey[k] == 0 || k == SKEY_NONBLOCKING)
			continue;
		if (k == SKEY_BACKLOG ? s->addr.kind != ADDRESS_UDP :
		    s->addr.kind == ADDRESS_UNIX)
			continue;
		if (worst == SKEY_N || st->skey[k] < st->skey[worst])
			worst = k;
	}
	if (worst == SKEY_BACKLOG) {
		parse_error(st, st->skey[worst], "socket '%s': backlog does "
		    "not apply to %s (udp has no accept queue)", s->name,
		    s->addr.url);
		return -1;
	}
	if (worst != SKEY_N) {
		parse_error(st, st->skey[worst], "socket '%s': %s applies to "
		    "unix sockets only, not %s", s->name, socket_keys[worst],
		    s->addr.url);
		return -1;
	}
	return 0;
}

/*
 * inih calls this for "key = value" and for each line continuing one.
 * The section and line are ours, not inih's: its section name is cut at
 * 49 characters and it knows no line numbers.
 */
static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct parse	*st = user;
	int		 rc;

	if (st->error != NULL)
		return 0;
	/* inih continues a key exactly when its own prev_name is not empty. */
	if (st->indented && st->prev != NULL)
		return config_continue(st, value) == 0;

	free(st->prev);
	st->prev = *name != '\0' ? xstrdup(name) : NULL;
	switch (st->section) {
	case SECTION_BATON:
		rc = config_baton_key(st, name, value);
		break;
	case SECTION_SOCKET:
		rc = config_socket_key(st, name, value);
		break;
	case SECTION_ENV:
		rc = config_env_key(st, name, value);
		break;
	default:
		parse_error(st, st->line, "'%s' is outside any section (put "
		    "it under [baton])", name);
		rc = -1;
		break;
	}
	return rc == 0;
}

/* An indented line: the value of the key above goes on. */
static int
config_continue(struct parse *st, const char *value)
{
	struct config		*c = st->c;
	struct config_env	*e;
	char			*v, *end, *joined;
	int			 was_space = 0;

	/* inih strips " ; comment" from a first line only, not from these. */
	v = xstrdup(value);
	for (end = v; *end != '\0'; end++) {
		if (was_space && *end == ';')
			break;
		was_space = isspace((unsigned char)*end);
	}
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';

	if (st->section == SECTION_BATON && strcmp(st->prev, "command") == 0) {
		/* An indented "workers = 2" would silently become arguments. */
		if (config_looks_like_key(v, 1)) {
			parse_error(st, st->line, "'%.*s' is indented, so it "
			    "continues 'command' (remove the indentation)",
			    (int)strcspn(v, " \t="), v);
			goto fail;
		}
		joined = *c->command != '\0' ?
		    xprintf("%s %s", c->command, v) : xstrdup(v);
		free(c->command);
		c->command = joined;
	} else if (st->section == SECTION_ENV && c->nenv > 0) {
		e = &c->env[c->nenv - 1];
		if (config_looks_like_key(v, 0)) {
			parse_error(st, st->line, "'%.*s' is indented, so it "
			    "continues '%s' (remove the indentation)",
			    (int)strcspn(v, " \t="), v, e->key);
			goto fail;
		}
		joined = *e->value != '\0' ?
		    xprintf("%s %s", e->value, v) : xstrdup(v);
		free(e->value);
		e->value = joined;
	} else {
		parse_error(st, st->line, "'%s' does not continue on the next "
		    "line", st->prev);
		goto fail;
	}
	free(v);
	return 0;

fail:
	free(v);
	return -1;
}

/*
 * Does s start like "NAME =": a key that lost its place under another?
 * With baton_only, NAME must be a [baton] key; otherwise any variable name.
 */
static int
config_looks_like_key(const char *s, int baton_only)
{
	size_t	 len, i;

	len = strcspn(s, " \t=");
	if (s[len + strspn(s + len, " \t")] != '=')
		return 0;
	if (!baton_only)
		return config_env_name_ok(s, len);
	for (i = 0; i < KEY_NBATON; i++) {
		if (strlen(baton_keys[i]) == len &&
		    strncmp(baton_keys[i], s, len) == 0)
			return 1;
	}
	return 0;
}

static int
config_baton_key(struct parse *st, const char *name, const char *value)
{
	struct config	*c = st->c;
	const char	 *why;
	char		**path;
	int		  k, n;

	for (k = 0; k < KEY_NBATON; k++) {
		if (strcmp(name, baton_keys[k]) == 0)
			break;
	}
	if (k == KEY_NBATON) {
		parse_error(st, st->line, "unknown key '%s' in [baton]", name);
		return -1;
	}
	if (c->lines->key[k] != 0) {
		parse_error(st, st->line, "duplicate key '%s' in [baton] "
		    "(first at line %d)", name, c->lines->key[k]);
		return -1;
	}
	c->lines->key[k] = st->line;

	switch (k) {
	case KEY_COMMAND:
		/* Split in config_finish(): --  may still replace it. */
		free(c->command);
		c->command = xstrdup(value);
		return 0;
	case KEY_WORKERS:
		if (config_parse_int(value, 1, CONFIG_MAX_WORKERS, &n) == -1) {
			parse_error(st, st->line, "workers: '%s' is not a "
			    "number from 1 to %d", value, CONFIG_MAX_WORKERS);
			return -1;
		}
		c->workers = n;
		return 0;
	case KEY_READY:
		if (config_parse_ready(value, &c->ready) == -1) {
			parse_error(st, st->line, "ready: '%s' is not one of "
			    "notify, listen, delay", value);
			return -1;
		}
		return 0;
	case KEY_READY_DELAY:
	case KEY_READY_TIMEOUT:
	case KEY_DRAIN_TIMEOUT:
		if (config_parse_duration(value, k == KEY_READY_DELAY ?
		    &c->ready_delay : k == KEY_READY_TIMEOUT ?
		    &c->ready_timeout : &c->drain_timeout) == -1) {
			parse_error(st, st->line, "%s: '%s' is not a duration "
			    DURATION_HINT, name, value);
			return -1;
		}
		return 0;
	case KEY_DRAIN_SIGNAL:
		if (config_parse_signal(value, &c->drain_signal) == -1) {
			parse_error(st, st->line, "drain_signal: '%s' is not a "
			    "signal", value);
			return -1;
		}
		if ((why = config_drain_signal_why(c->drain_signal)) != NULL) {
			parse_error(st, st->line, "drain_signal %s cannot end a "
			    "process (%s)", config_signal_name(c->drain_signal),
			    why);
			return -1;
		}
		return 0;
	case KEY_DRAIN_TO:
		if (strcmp(value, "main") == 0 || strcmp(value, "group") == 0) {
			c->drain_to_group = value[0] == 'g';
			return 0;
		}
		parse_error(st, st->line, "drain_to: '%s' is not main or group",
		    value);
		return -1;
	case KEY_PRELOAD:
		if (config_parse_bool(value, &c->preload) == -1) {
			parse_error(st, st->line, "preload: '%s' is not yes or "
			    "no", value);
			return -1;
		}
		return 0;
	default:
		break;
	}

	/* The rest are strings. */
	if (*value == '\0') {
		parse_error(st, st->line, "%s: no value", name);
		return -1;
	}
	switch (k) {
	case KEY_DIRECTORY:
		path = &c->directory;
		break;
	case KEY_CONTROL:
		path = &c->control;
		break;
	case KEY_PIDFILE:
		path = &c->pidfile;
		break;
	case KEY_USER:
		free(c->user);
		c->user = xstrdup(value);
		return 0;
	default:
		free(c->group);
		c->group = xstrdup(value);
		return 0;
	}
	free(*path);
	*path = config_path(st->folder, value);
	return 0;
}

static int
config_socket_key(struct parse *st, const char *name, const char *value)
{
	struct config		*c = st->c;
	struct config_socket	*s = &c->sockets[st->socket];
	struct address		 a;
	char			*err;
	size_t			 i;
	int			 k;

	for (k = 0; k < SKEY_N; k++) {
		if (strcmp(name, socket_keys[k]) == 0)
			break;
	}
	if (k == SKEY_N) {
		parse_error(st, st->line, "unknown key '%s' in [socket:%s]",
		    name, s->name);
		return -1;
	}
	if (st->skey[k] != 0) {
		parse_error(st, st->line, "duplicate key '%s' in [socket:%s] "
		    "(first at line %d)", name, s->name, st->skey[k]);
		return -1;
	}
	st->skey[k] = st->line;

	switch (k) {
	case SKEY_LISTEN:
		if (address_parse(value, &a, &err) == -1) {
			parse_error(st, st->line, "socket '%s': %s", s->name,
			    err);
			free(err);
			return -1;
		}
		for (i = 0; i < st->socket; i++) {
			if (address_equal(&c->sockets[i].addr, &a)) {
				parse_error(st, st->line, "socket '%s' listens "
				    "on %s like socket '%s' (line %d)",
				    s->name, a.url, c->sockets[i].name,
				    c->sockets[i].line);
				address_clear(&a);
				return -1;
			}
		}
		s->addr = a;
		return 0;
	case SKEY_BACKLOG:
		if (config_parse_int(value, 1, BACKLOG_MAX, &s->backlog) ==
		    -1) {
			parse_error(st, st->line, "backlog: '%s' is not a "
			    "number from 1 to %d", value, BACKLOG_MAX);
			return -1;
		}
		return 0;
	case SKEY_MODE:
		if (config_parse_mode(value, &s->mode) == -1) {
			parse_error(st, st->line, "mode: '%s' is not an octal "
			    "mode like 0660", value);
			return -1;
		}
		return 0;
	case SKEY_NONBLOCKING:
		if (config_parse_bool(value, &s->nonblocking) == -1) {
			parse_error(st, st->line, "nonblocking: '%s' is not "
			    "yes or no", value);
			return -1;
		}
		return 0;
	case SKEY_OWNER:
		/* Checked now, while the line is known; chown is at bind. */
		if (getpwnam(value) == NULL) {
			parse_error(st, st->line, "socket '%s': owner '%s' "
			    "does not exist", s->name, value);
			return -1;
		}
		s->owner = xstrdup(value);
		return 0;
	default:
		if (getgrnam(value) == NULL) {
			parse_error(st, st->line, "socket '%s': group '%s' "
			    "does not exist", s->name, value);
			return -1;
		}
		s->group = xstrdup(value);
		return 0;
	}
}

static int
config_env_key(struct parse *st, const char *name, const char *value)
{
	struct config		*c = st->c;
	struct config_env	*e;
	size_t			 i;

	if (!config_env_name_ok(name, strlen(name))) {
		parse_error(st, st->line, "'%s' is not a variable name (use "
		    "letters, digits and '_', not starting with a digit)",
		    name);
		return -1;
	}
	if (env_reserved(name)) {
		parse_error(st, st->line, "[env] may not set %s: baton sets "
		    "it for each worker", name);
		return -1;
	}
	for (i = 0; i < c->nenv; i++) {
		if (strcmp(c->env[i].key, name) == 0) {
			parse_error(st, st->line, "duplicate key '%s' in [env] "
			    "(first at line %d)", name, c->env[i].line);
			return -1;
		}
	}
	c->env = xreallocarray(c->env, c->nenv + 1, sizeof(*c->env));
	e = &c->env[c->nenv++];
	e->key = xstrdup(name);
	e->value = xstrdup(value);
	e->line = st->line;
	return 0;
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
		c->sockets = xreallocarray(c->sockets, c->nsockets + 1,
		    sizeof(*c->sockets));
		s = &c->sockets[c->nsockets++];
		memset(s, 0, sizeof(*s));
		s->name = name;
		s->backlog = -1;
		s->mode = -1;
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
config_set_drain_signal(struct config *c, int sig, char **error)
{
	const char	*why;

	if ((why = config_drain_signal_why(sig)) != NULL) {
		*error = xprintf("--drain-signal %s cannot end a process (%s)",
		    config_signal_name(sig), why);
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
static const char *
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
	size_t	 cap = 0;
	int	 in_baton = 0, indented, was_space;

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
		/* " ;" starts an inline comment. */
		was_space = 0;
		for (end = p; *end != '\0'; end++) {
			if (was_space && *end == ';')
				break;
			was_space = isspace((unsigned char)*end);
		}
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if (end > p)
			value = xstrndup(p, end - p);
	}
	free(line);
	fclose(fp);
	return value;
}

char *
config_control_path(const char *file, char **error)
{
	struct config	*c;
	char		*abs, *cwd, *value, *folder, *path, *err = NULL;

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
	if (*file == '/')
		abs = config_path("/", file);
	else {
		if ((cwd = config_cwd(error)) == NULL)
			return NULL;
		abs = config_path(cwd, file);
		free(cwd);
	}
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
	if (command_check(c->argv, c, &err) == -1) {
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
	return 0;

fail:
	free(where);
	return -1;
}

/* Two sockets on one address would fail at bind: say which. */
static int
config_check_sockets(const struct config *c, char **error)
{
	const struct config_socket	*a, *b;
	char				*where, *other;
	size_t				 i, j;

	if (c->nsockets > CONFIG_MAX_SOCKETS) {
		*error = xprintf("more than %d sockets", CONFIG_MAX_SOCKETS);
		return -1;
	}
	for (j = 0; j < c->nsockets; j++) {
		b = &c->sockets[j];
		for (i = 0; i < j; i++) {
			a = &c->sockets[i];
			if (!address_equal(&a->addr, &b->addr))
				continue;
			if (b->line > 0)
				where = config_where(c, b->line);
			else
				where = xprintf("--listen %s=%s: ", b->name,
				    b->addr.url);
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

/* Digits only: "1e3", " 5" or "+5" are typos, not numbers. */
static int
config_parse_int(const char *s, int min, int max, int *n)
{
	const char	*p;
	long		 v = 0;

	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*n = (int)v;
	return 0;
}

/* Permission bits in octal: "0660", "660". */
static int
config_parse_mode(const char *s, int *mode)
{
	const char	*p;
	int		 v = 0;

	if (*s == '\0' || strlen(s) > 4)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		v = v * 8 + (*p - '0');
	}
	if (v > 0777)
		return -1;
	*mode = v;
	return 0;
}

static int
config_parse_bool(const char *s, int *b)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	return -1;
}

int
config_parse_duration(const char *s, long *ms)
{
	const char	*p;
	long		 n = 0, unit;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (p = s; isdigit((unsigned char)*p); p++) {
		if (n > (DURATION_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
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
config_parse_signal(const char *s, int *sig)
{
	const char	*p;
	size_t		 i;
	int		 n = 0;

	if (isdigit((unsigned char)*s)) {
		for (p = s; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			n = n * 10 + (*p - '0');
			if (n > SIGRTMAX)
				return -1;
		}
		if (n < 1)
			return -1;
		*sig = n;
		return 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(s, signals[i].name + 3) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	return -1;
}

const char *
config_signal_name(int sig)
{
	static char	 buf[32];
	size_t		 i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i].sig == sig)
			return signals[i].name;
	}
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
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
	size_t	 i;

	for (i = 0; i < sizeof(ready_names) / sizeof(ready_names[0]); i++) {
		if (strcmp(s, ready_names[i]) == 0) {
			*mode = (enum ready_mode)i;
			return 0;
		}
	}
	return -1;
}

/*
 * A socket's name goes into LISTEN_FDNAMES, which is colon-separated, and
 * into {fd:NAME}: keep it to characters that are safe in both.
 */
static int
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

static int
config_env_name_ok(const char *name, size_t len)
{
	size_t	 i;

	if (len == 0 || isdigit((unsigned char)name[0]))
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	}
	return 1;
}

static char *
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

/*
 * path taken from dir unless it is absolute, without "." components or
 * doubled slashes. ".." stays: a symbolic link may make it mean anything.
 */
static char *
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
static char *
config_folder(const char *file)
{
	const char	*slash;

	slash = strrchr(file, '/');
	if (slash == NULL || slash == file)
		return xstrdup("/");
	return xstrndup(file, slash - file);
}

/*
 * Whether a value may be folded at p, a character inside it: only at a
 * lone space between two words, since the continuation is joined back
 * with exactly one space, and never before what would read as a comment,
 * a section or another key: in [baton] (BATON set) one of its keys, in
 * [env] any variable name.
 */
static int
config_fold_at(const char *p, int baton)
{
	return *p == ' ' && !isspace((unsigned char)p[-1]) &&
	    p[1] != '\0' && !isspace((unsigned char)p[1]) &&
	    strchr(";#[", p[1]) == NULL && !config_looks_like_key(p + 1, baton);
}

/*
 * "key = value", continued on indented lines when longer than inih reads:
 * HOW is PRINT_COMMAND or PRINT_ENV for the values that may continue, and
 * the keys a continuation must not look like; PRINT_LINE for the others.
 */
static void
config_print_value(FILE *fp, const char *key, const char *value,
    enum print_how how)
{
	const char	*start, *p, *brk;
	size_t		 room, klen, len, seg;
	int		 baton = how == PRINT_COMMAND;

	if (*value == '\0') {
		fprintf(fp, "%s =\n", key);
		return;
	}
	/* What has to go on the first line: up to the first fold, or all. */
	len = strlen(value);
	for (seg = 1; seg < len && !config_fold_at(value + seg, baton); seg++)
		;
	/*
	 * " ;" starts a comment, and a line may hold 199 characters: a value
	 * that starts with ';', or one that fits "key=" and not "key = ",
	 * whole or up to its first fold, is written "key=value", as the file
	 * it came from must have had it. Too long even for that, it starts
	 * on a line of its own, as it must have there too.
	 */
	klen = strlen(key);
	if (*value == ';' ||
	    (klen + 3 + len > CONFIG_MAX_LINE &&
	    klen + 1 + len <= CONFIG_MAX_LINE) ||
	    (klen + 3 + seg > CONFIG_MAX_LINE &&
	    klen + 1 + seg <= CONFIG_MAX_LINE)) {
		fprintf(fp, "%s=", key);
		room = CONFIG_MAX_LINE - klen - 1;
	} else if (how != PRINT_LINE && klen + 1 + seg > CONFIG_MAX_LINE &&
	    1 + seg <= CONFIG_MAX_LINE && strchr(";#[", *value) == NULL &&
	    !config_looks_like_key(value, baton)) {
		fprintf(fp, "%s =\n\t", key);
		room = CONFIG_MAX_LINE - 1;
	} else {
		fprintf(fp, "%s = ", key);
		room = CONFIG_MAX_LINE - klen - 3;
	}
	start = value;
	while (how != PRINT_LINE && strlen(start) > room) {
		brk = NULL;
		for (p = start + 1; p[1] != '\0' && (size_t)(p - start) <= room;
		    p++)
			if (config_fold_at(p, baton))
				brk = p;
		if (brk == NULL)
			break;
		fprintf(fp, "%.*s\n\t", (int)(brk - start), start);
		start = brk + 1;
		room = CONFIG_MAX_LINE - 1;
	}
	fprintf(fp, "%s\n", start);
}

/*
 * A path, which config_path() made clean: one that ends in a space
 * (a folder named " ") would lose it to inih's trimming, so it keeps a
 * slash after it, which config_path() takes off again.
 */
static void
config_print_path(FILE *fp, const char *key, const char *path)
{
	char	*slashed;

	if (*path != '\0' && isspace((unsigned char)path[strlen(path) - 1])) {
		slashed = xprintf("%s/", path);
		config_print_value(fp, key, slashed, PRINT_LINE);
		free(slashed);
	} else
		config_print_value(fp, key, path, PRINT_LINE);
}

void
config_print(const struct config *c, FILE *fp)
{
	const struct config_socket	*s;
	char				*cmd = NULL;
	size_t				 i;

	fprintf(fp, "[baton]\n");
	if (c->command != NULL)
		cmd = xstrdup(c->command);
	else if (c->argv != NULL)
		cmd = command_join(c->argv);
	if (cmd != NULL)
		config_print_value(fp, "command", cmd, PRINT_COMMAND);
	free(cmd);
	if (c->directory != NULL)
		config_print_path(fp, "directory", c->directory);
	fprintf(fp, "workers = %d\n", c->workers);
	fprintf(fp, "ready = %s\n", config_ready_name(c->ready));
	fprintf(fp, "ready_delay = %ldms\n", c->ready_delay);
	fprintf(fp, "ready_timeout = %ldms\n", c->ready_timeout);
	if (strncmp(config_signal_name(c->drain_signal), "SIG", 3) == 0)
		fprintf(fp, "drain_signal = %s\n",
		    config_signal_name(c->drain_signal));
	else
		fprintf(fp, "drain_signal = %d\n", c->drain_signal);
	fprintf(fp, "drain_to = %s\n", c->drain_to_group ? "group" : "main");
	fprintf(fp, "drain_timeout = %ldms\n", c->drain_timeout);
	if (c->control != NULL)
		config_print_path(fp, "control", c->control);
	if (c->pidfile != NULL)
		config_print_path(fp, "pidfile", c->pidfile);
	if (c->user != NULL)
		fprintf(fp, "user = %s\n", c->user);
	if (c->group != NULL)
		fprintf(fp, "group = %s\n", c->group);
	fprintf(fp, "preload = %s\n", c->preload ? "yes" : "no");

	for (i = 0; i < c->nsockets; i++) {
		s = &c->sockets[i];
		fprintf(fp, "\n[socket:%s]\n", s->name);
		fprintf(fp, "listen = %s\n", s->addr.url);
		if (s->backlog != -1)
			fprintf(fp, "backlog = %d\n", s->backlog);
		if (s->mode != -1)
			fprintf(fp, "mode = %04o\n", (unsigned)s->mode);
		if (s->owner != NULL)
			fprintf(fp, "owner = %s\n", s->owner);
		if (s->group != NULL)
			fprintf(fp, "group = %s\n", s->group);
		if (s->nonblocking)
			fprintf(fp, "nonblocking = yes\n");
	}

	if (c->nenv > 0)
		fprintf(fp, "\n[env]\n");
	for (i = 0; i < c->nenv; i++)
		config_print_value(fp, c->env[i].key, c->env[i].value,
		    PRINT_ENV);
}
