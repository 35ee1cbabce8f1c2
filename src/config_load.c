/*
 * Reading the configuration file, with inih.
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

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "address.h"
#include "config.h"
#include "config_int.h"
#include "env.h"
#include "envfile.h"
#include "signame.h"
#include "xmalloc.h"

#define BACKLOG_MAX		65535
#define DURATION_HINT		"(use 500ms, 15s, 2m or seconds)"
#define DURATION_EXPECT		"a duration " DURATION_HINT

/* How a key's value is read. */
enum key_kind {
	KIND_OWN,		/* by its section's own code */
	KIND_INT,		/* int, a number from 1 to max */
	KIND_DURATION,		/* long, in ms */
	KIND_DELAY,		/* long, in ms; 0 too */
	KIND_MODE,		/* int, permission bits in octal */
	KIND_BOOL,		/* int, yes or no */
	KIND_READY,		/* enum ready_mode */
	KIND_PATH,		/* char *, from the file's folder */
	KIND_STRING		/* char * */
};

struct key {
	const char	*name;
	enum key_kind	 kind;
	size_t		 field;		/* offset in its section's struct */
	const char	*expect;	/* "%s: '%s' is not <expect>" */
	int		 max;		/* KIND_INT */
};

static const struct key baton_keys[KEY_NBATON] = {
	[KEY_COMMAND] = { "command", KIND_OWN, 0, NULL, 0 },
	[KEY_DIRECTORY] = { "directory", KIND_PATH,
	    offsetof(struct config, directory), NULL, 0 },
	[KEY_WORKERS] = { "workers", KIND_INT,
	    offsetof(struct config, workers), NULL, CONFIG_MAX_WORKERS },
	[KEY_READY] = { "ready", KIND_READY, offsetof(struct config, ready),
	    "one of notify, listen, delay, probe", 0 },
	[KEY_READY_DELAY] = { "ready_delay", KIND_DURATION,
	    offsetof(struct config, ready_delay), DURATION_EXPECT, 0 },
	[KEY_READY_TIMEOUT] = { "ready_timeout", KIND_DURATION,
	    offsetof(struct config, ready_timeout), DURATION_EXPECT, 0 },
	[KEY_DRAIN_SIGNAL] = { "drain_signal", KIND_OWN, 0, NULL, 0 },
	[KEY_DRAIN_TIMEOUT] = { "drain_timeout", KIND_DURATION,
	    offsetof(struct config, drain_timeout), DURATION_EXPECT, 0 },
	[KEY_CONTROL] = { "control", KIND_PATH,
	    offsetof(struct config, control), NULL, 0 },
	[KEY_PIDFILE] = { "pidfile", KIND_PATH,
	    offsetof(struct config, pidfile), NULL, 0 },
	[KEY_USER] = { "user", KIND_STRING,
	    offsetof(struct config, user), NULL, 0 },
	[KEY_GROUP] = { "group", KIND_STRING,
	    offsetof(struct config, group), NULL, 0 },
	[KEY_PRELOAD] = { "preload", KIND_BOOL,
	    offsetof(struct config, preload), "yes or no", 0 },
	[KEY_DRAIN_TO] = { "drain_to", KIND_OWN, 0, NULL, 0 },
	[KEY_PROBE] = { "probe", KIND_OWN, 0, NULL, 0 },
	[KEY_PROBE_SOCKET] = { "probe_socket", KIND_STRING,
	    offsetof(struct config, probe_socket), NULL, 0 },
	[KEY_PROBE_INTERVAL] = { "probe_interval", KIND_DURATION,
	    offsetof(struct config, probe_interval), DURATION_EXPECT, 0 },
	[KEY_PROBE_SUCCESSES] = { "probe_successes", KIND_INT,
	    offsetof(struct config, probe_successes), NULL,
	    CONFIG_MAX_PROBE_SUCCESSES },
	[KEY_PROBE_TIMEOUT] = { "probe_timeout", KIND_DURATION,
	    offsetof(struct config, probe_timeout), DURATION_EXPECT, 0 },
	[KEY_ROLLOUT] = { "rollout", KIND_OWN, 0, NULL, 0 },
	[KEY_CANARY] = { "canary", KIND_OWN, 0, NULL, 0 },
	[KEY_CANARY_TIME] = { "canary_time", KIND_DURATION,
	    offsetof(struct config, canary_time), DURATION_EXPECT, 0 },
	[KEY_OUTPUT] = { "output", KIND_OWN, 0, NULL, 0 },
	[KEY_OUTPUT_MAX_SIZE] = { "output_max_size", KIND_OWN, 0, NULL, 0 },
	[KEY_OUTPUT_KEEP] = { "output_keep", KIND_INT,
	    offsetof(struct config, output_keep), NULL,
	    CONFIG_MAX_OUTPUT_KEEP },
	[KEY_METRICS] = { "metrics", KIND_OWN, 0, NULL, 0 },
	[KEY_STOP_DELAY] = { "stop_delay", KIND_DELAY,
	    offsetof(struct config, stop_delay), DURATION_EXPECT, 0 },
	[KEY_ENV_FILE] = { "env_file", KIND_PATH,
	    offsetof(struct config, env_file), NULL, 0 },
	[KEY_MAX_MEMORY] = { "max_memory", KIND_OWN, 0, NULL, 0 },
	[KEY_MAX_AGE] = { "max_age", KIND_DURATION,
	    offsetof(struct config, max_age), DURATION_EXPECT, 0 },
	[KEY_START_PRIORITY] = { "start_priority", KIND_OWN, 0, NULL, 0 },
	[KEY_WARMUP] = { "warmup", KIND_OWN, 0, NULL, 0 },
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

static const struct key socket_keys[SKEY_N] = {
	[SKEY_LISTEN] = { "listen", KIND_OWN, 0, NULL, 0 },
	[SKEY_BACKLOG] = { "backlog", KIND_INT,
	    offsetof(struct config_socket, backlog), NULL, BACKLOG_MAX },
	[SKEY_MODE] = { "mode", KIND_MODE,
	    offsetof(struct config_socket, mode), "an octal mode like 0660",
	    0 },
	[SKEY_OWNER] = { "owner", KIND_OWN, 0, NULL, 0 },
	[SKEY_GROUP] = { "group", KIND_OWN, 0, NULL, 0 },
	[SKEY_NONBLOCKING] = { "nonblocking", KIND_BOOL,
	    offsetof(struct config_socket, nonblocking), "yes or no", 0 },
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
	/* [env], [env:file], [env:reload]: their headers; 0: none yet. */
	int		 env_line[3];
	int		 env_in;	/* which of them this one is */
	size_t		 socket;	/* the current [socket:NAME] */
	int		 skey[SKEY_N];	/* its keys' lines */
	char		*prev;		/* last key of this section: inih's */
	char		*error;		/* the first error */
	int		 error_line;
};

static void	parse_error(struct parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static char    *config_load_reader(char *, int, void *);
static int	config_load_section(struct parse *, char *);
static int	config_load_end_section(struct parse *);
static int	config_load_handler(void *, const char *, const char *,
		    const char *);
static int	config_load_continue(struct parse *, const char *);
static int	config_load_baton_key(struct parse *, const char *,
		    const char *);
static int	config_load_socket_key(struct parse *, const char *,
		    const char *);
static int	config_load_env_key(struct parse *, const char *,
		    const char *);
static void	config_load_env_list(struct parse *, struct config_env ***,
		    size_t **);
static int	config_load_env_file(struct parse *);
static int	config_load_int(const char *, int, int, int *);
static int	config_load_mode(const char *, int *);
static int	config_load_bool(const char *, int *);
static int	config_load_key(struct parse *, const struct key *, int, int *,
		    const char *, const char *);
static int	config_load_value(struct parse *, const struct key *, void *,
		    const char *);

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
	int		 rc;

	if (c->lines == NULL)
		c->lines = xcalloc(1, sizeof(*c->lines));
	free(c->file);
	if ((c->file = config_abs_path(file, error)) == NULL)
		return -1;

	memset(&st, 0, sizeof(st));
	st.c = c;
	if ((st.fp = fopen(c->file, "re")) == NULL) {
		*error = xprintf("%s: %s", c->file, strerror(errno));
		return -1;
	}
	st.folder = config_folder(c->file);

	rc = ini_parse_stream(config_load_reader, &st, config_load_handler,
	    &st);
	if (rc == 0 && st.error == NULL)
		config_load_env_file(&st);
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
config_load_reader(char *str, int num, void *stream)
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
			config_load_end_section(st);
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
		if (config_load_section(st, p) == -1)
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
config_load_section(struct parse *st, char *p)
{
	struct config		*c = st->c;
	struct config_socket	*s;
	char			*name, *end, *after;
	const char		*hint = "";
	size_t			 i;

	/* Where a continuation was meant, say why it was not one. */
	if (st->indented && st->prev != NULL)
		hint = " (an indented line starting with '[' is a section)";
	if (config_load_end_section(st) == -1)
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
	} else if (strcmp(name, "env") == 0 || strcmp(name, "env:file") == 0 ||
	    strcmp(name, "env:reload") == 0) {
		st->env_in = name[3] == '\0' ? 0 : name[4] == 'f' ? 1 : 2;
		if (st->env_line[st->env_in] != 0) {
			parse_error(st, st->line, "duplicate section [%s] "
			    "(first at line %d)", name,
			    st->env_line[st->env_in]);
			goto fail;
		}
		st->env_line[st->env_in] = st->line;
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
		s = config_add_socket(c, xstrdup(name + 7));
		s->line = st->line;
		st->socket = c->nsockets - 1;
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
config_load_end_section(struct parse *st)
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
		    "unix sockets only, not %s", s->name, socket_keys[worst].name,
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
config_load_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct parse	*st = user;
	int		 rc;

	if (st->error != NULL)
		return 0;
	/* inih continues a key exactly when its own prev_name is not empty. */
	if (st->indented && st->prev != NULL)
		return config_load_continue(st, value) == 0;

	free(st->prev);
	st->prev = *name != '\0' ? xstrdup(name) : NULL;
	switch (st->section) {
	case SECTION_BATON:
		rc = config_load_baton_key(st, name, value);
		break;
	case SECTION_SOCKET:
		rc = config_load_socket_key(st, name, value);
		break;
	case SECTION_ENV:
		rc = config_load_env_key(st, name, value);
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
config_load_continue(struct parse *st, const char *value)
{
	struct config		*c = st->c;
	struct config_env	*e, **list;
	size_t			*n;
	char			*v, *joined;

	/* inih strips " ; comment" from a first line only, not from these. */
	v = xstrndup(value, config_value_len(value));

	if (st->section == SECTION_BATON && strcmp(st->prev, "command") == 0) {
		/* An indented "workers = 2" would silently become arguments. */
		if (config_load_looks_like_key(v, 1)) {
			parse_error(st, st->line, "'%.*s' is indented, so it "
			    "continues 'command' (remove the indentation)",
			    (int)strcspn(v, " \t="), v);
			goto fail;
		}
		joined = *c->command != '\0' ?
		    xprintf("%s %s", c->command, v) : xstrdup(v);
		free(c->command);
		c->command = joined;
	} else if (st->section == SECTION_ENV &&
	    (config_load_env_list(st, &list, &n), *n > 0)) {
		e = &(*list)[*n - 1];
		if (config_load_looks_like_key(v, 0)) {
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
int
config_load_looks_like_key(const char *s, int baton_only)
{
	size_t	 len, i;

	len = strcspn(s, " \t=");
	if (s[len + strspn(s + len, " \t")] != '=')
		return 0;
	if (!baton_only)
		return env_name_ok(s, len);
	for (i = 0; i < KEY_NBATON; i++) {
		if (strlen(baton_keys[i].name) == len &&
		    strncmp(baton_keys[i].name, s, len) == 0)
			return 1;
	}
	return 0;
}

const char *
config_key_name(enum baton_key k)
{
	return baton_keys[k].name;
}

/* metrics = tcp://HOST:PORT or unix:///PATH: an HTTP listener of baton's. */
static int
config_load_metrics(struct parse *st, const char *value)
{
	struct config	*c = st->c;
	struct address	 a;
	char		*err;

	if (address_parse(value, &a, &err) == -1) {
		parse_error(st, st->line, "metrics: %s", err);
		free(err);
		return -1;
	}
	if (a.kind == ADDRESS_UDP) {
		parse_error(st, st->line, "metrics: '%s' is not tcp:// or "
		    "unix:// (HTTP needs a stream socket)", value);
		address_clear(&a);
		return -1;
	}
	free(c->metrics);
	address_clear(&c->metrics_addr);
	c->metrics = xstrdup(a.url);
	c->metrics_addr = a;
	return 0;
}

static int	config_load_delay(const char *, long *);

static int
config_load_baton_key(struct parse *st, const char *name, const char *value)
{
	struct config	*c = st->c;
	const char	*why;
	char		*err;
	int		 k, r;

	if ((k = config_load_key(st, baton_keys, KEY_NBATON, c->lines->key,
	    name, "[baton]")) == -1)
		return -1;
	if ((r = config_load_value(st, &baton_keys[k], c, value)) != 1)
		return r;
	switch (k) {
	case KEY_COMMAND:
		/* Split in config_finish(): --  may still replace it. */
		free(c->command);
		c->command = xstrdup(value);
		return 0;
	case KEY_DRAIN_SIGNAL:
		if (signame_parse(value, &c->drain_signal) == -1) {
			parse_error(st, st->line, "drain_signal: '%s' is not a "
			    "signal", value);
			return -1;
		}
		if ((why = config_drain_signal_why(c->drain_signal)) != NULL) {
			parse_error(st, st->line, "drain_signal %s cannot end a "
			    "process (%s)", signame_name(c->drain_signal), why);
			return -1;
		}
		return 0;
	case KEY_PROBE:
		config_probe_clear(&c->probe);
		if (config_parse_probe(value, &c->probe, &err) == -1) {
			parse_error(st, st->line, "probe: %s", err);
			free(err);
			return -1;
		}
		return 0;
	case KEY_ROLLOUT:
		if (strcmp(value, "all") == 0 || strcmp(value, "rolling") == 0) {
			c->rollout = value[0] == 'a' ? ROLLOUT_ALL :
			    ROLLOUT_ROLLING;
			return 0;
		}
		parse_error(st, st->line, "rollout: '%s' is not all or rolling",
		    value);
		return -1;
	case KEY_CANARY:
		if (config_parse_canary(value, &c->canary) == 0)
			return 0;
		parse_error(st, st->line, "canary: '%s' is not a share from "
		    "0.01%% to 99.99%% (like 10%% or 2.5%%)", value);
		return -1;
	case KEY_OUTPUT:
		if (*value == '\0') {
			parse_error(st, st->line, "output: no value (inherit "
			    "or a file)");
			return -1;
		}
		free(c->output);
		c->output = strcmp(value, "inherit") == 0 ? NULL :
		    config_path(st->folder, value);
		return 0;
	case KEY_OUTPUT_MAX_SIZE:
		if (config_parse_size(value, &c->output_max_size) == 0)
			return 0;
		parse_error(st, st->line, "output_max_size: '%s' is not a size "
		    "(use 100M, 512K, 1G or bytes)", value);
		return -1;
	case KEY_METRICS:
		return config_load_metrics(st, value);
	case KEY_START_PRIORITY:
		if (config_load_int(value, 0, CONFIG_MAX_START_PRIORITY,
		    &c->start_priority) == 0)
			return 0;
		parse_error(st, st->line, "start_priority: '%s' is not a nice "
		    "increment from 0 to %d", value, CONFIG_MAX_START_PRIORITY);
		return -1;
	case KEY_WARMUP:
		if (config_load_delay(value, &c->warmup) == 0 &&
		    c->warmup <= CONFIG_MAX_WARMUP)
			return 0;
		parse_error(st, st->line, "warmup: '%s' is not a duration from "
		    "0 to 1h " DURATION_HINT, value);
		return -1;
	case KEY_MAX_MEMORY:
		if (config_parse_size(value, &c->max_memory) == 0)
			return 0;
		parse_error(st, st->line, "max_memory: '%s' is not a size "
		    "(use 512M, 1G, 800K or bytes)", value);
		return -1;
	default:	/* KEY_DRAIN_TO */
		if (strcmp(value, "main") == 0 || strcmp(value, "group") == 0) {
			c->drain_to_group = value[0] == 'g';
			return 0;
		}
		parse_error(st, st->line, "drain_to: '%s' is not main or group",
		    value);
		return -1;
	}
}

static int
config_load_socket_key(struct parse *st, const char *name, const char *value)
{
	struct config		*c = st->c;
	struct config_socket	*s = &c->sockets[st->socket];
	struct address		 a;
	char			*err, *where;
	size_t			 i;
	int			 k, r;

	(void)xasprintf(&where, "[socket:%s]", s->name);
	k = config_load_key(st, socket_keys, SKEY_N, st->skey, name, where);
	free(where);
	if (k == -1)
		return -1;
	if ((r = config_load_value(st, &socket_keys[k], s, value)) != 1)
		return r;
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
	default:	/* SKEY_OWNER, SKEY_GROUP */
		/* Checked now, while the line is known; chown is at bind. */
		if (k == SKEY_OWNER ? getpwnam(value) == NULL :
		    getgrnam(value) == NULL) {
			parse_error(st, st->line, "socket '%s': %s '%s' does "
			    "not exist", s->name, name, value);
			return -1;
		}
		*(k == SKEY_OWNER ? &s->owner : &s->group) = xstrdup(value);
		return 0;
	}
}

/* The list the current [env], [env:file] or [env:reload] adds to. */
static void
config_load_env_list(struct parse *st, struct config_env ***list, size_t **n)
{
	struct config	*c = st->c;

	*list = st->env_in == 0 ? &c->env : st->env_in == 1 ? &c->file_env :
	    &c->reload_env;
	*n = st->env_in == 0 ? &c->nenv : st->env_in == 1 ? &c->nfile_env :
	    &c->nreload_env;
}

/*
 * After the whole file: read env_file, unless [env:file] holds what it
 * held (baton check's output, or an upgrade's), which is then taken as
 * it is.
 */
static int
config_load_env_file(struct parse *st)
{
	struct config	*c = st->c;
	char		*err;

	if (st->env_line[1] != 0) {
		if (c->env_file != NULL)
			return 0;
		parse_error(st, st->env_line[1], "[env:file] holds what "
		    "env_file read: set env_file in [baton]");
		return -1;
	}
	if (c->env_file == NULL)
		return 0;
	if (envfile_read(c->env_file, &c->file_env, &c->nfile_env,
	    &err) == -1) {
		parse_error(st, c->lines->key[KEY_ENV_FILE], "env_file: %s",
		    err);
		free(err);
		return -1;
	}
	return 0;
}

static int
config_load_env_key(struct parse *st, const char *name, const char *value)
{
	static const char *const sect[] = { "env", "env:file", "env:reload" };
	struct config_env	*e, **list;
	size_t			 i, *n;

	if (!env_name_ok(name, strlen(name))) {
		parse_error(st, st->line, "'%s' is not a variable name (use "
		    "letters, digits and '_', not starting with a digit)",
		    name);
		return -1;
	}
	if (env_reserved(name)) {
		parse_error(st, st->line, "[%s] may not set %s: baton sets "
		    "it for each worker", sect[st->env_in], name);
		return -1;
	}
	config_load_env_list(st, &list, &n);
	for (i = 0; i < *n; i++) {
		if (strcmp((*list)[i].key, name) == 0) {
			parse_error(st, st->line, "duplicate key '%s' in [%s] "
			    "(first at line %d)", name, sect[st->env_in],
			    (*list)[i].line);
			return -1;
		}
	}
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	e = &(*list)[(*n)++];
	e->key = xstrdup(name);
	e->value = xstrdup(value);
	e->line = st->line;
	return 0;
}

/* Digits only: "1e3", " 5" or "+5" are typos, not numbers. */
static int
config_load_int(const char *s, int min, int max, int *n)
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
config_load_mode(const char *s, int *mode)
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
config_load_bool(const char *s, int *b)
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

/*
 * Which of keys[n] name is, its line noted in lines[]; -1 after an error
 * that names the section, where ("[baton]").
 */
static int
config_load_key(struct parse *st, const struct key *keys, int n, int *lines,
    const char *name, const char *where)
{
	int	 k;

	for (k = 0; k < n; k++) {
		if (strcmp(name, keys[k].name) == 0)
			break;
	}
	if (k == n) {
		parse_error(st, st->line, "unknown key '%s' in %s", name, where);
		return -1;
	}
	if (lines[k] != 0) {
		parse_error(st, st->line, "duplicate key '%s' in %s "
		    "(first at line %d)", name, where, lines[k]);
		return -1;
	}
	lines[k] = st->line;
	return k;
}

/* A duration that may be none at all: "0", "0s", "0ms". */
static int
config_load_delay(const char *s, long *ms)
{
	const char	*unit = s + strspn(s, "0");

	if (unit != s && (*unit == '\0' || strcmp(unit, "s") == 0 ||
	    strcmp(unit, "ms") == 0 || strcmp(unit, "m") == 0 ||
	    strcmp(unit, "h") == 0)) {
		*ms = 0;
		return 0;
	}
	return config_parse_duration(s, ms);
}

/*
 * Set the field of key in the section's struct at base from value: 0, or
 * -1 after an error. 1: the key is KIND_OWN, for the caller to read.
 */
static int
config_load_value(struct parse *st, const struct key *key, void *base,
    const char *value)
{
	void	 *field = (char *)base + key->field;
	char	**str = field;
	int	  r;

	switch (key->kind) {
	case KIND_INT:
		if (config_load_int(value, 1, key->max, field) == 0)
			return 0;
		parse_error(st, st->line, "%s: '%s' is not a number from 1 to "
		    "%d", key->name, value, key->max);
		return -1;
	case KIND_DURATION:
	case KIND_DELAY:
	case KIND_MODE:
	case KIND_BOOL:
	case KIND_READY:
		r = key->kind == KIND_DURATION ?
		    config_parse_duration(value, field) :
		    key->kind == KIND_DELAY ? config_load_delay(value, field) :
		    key->kind == KIND_MODE ? config_load_mode(value, field) :
		    key->kind == KIND_BOOL ? config_load_bool(value, field) :
		    config_parse_ready(value, field);
		break;
	case KIND_PATH:
	case KIND_STRING:
		if (*value == '\0') {
			parse_error(st, st->line, "%s: no value", key->name);
			return -1;
		}
		free(*str);
		*str = key->kind == KIND_PATH ? config_path(st->folder, value) :
		    xstrdup(value);
		return 0;
	default:
		return 1;
	}
	if (r == -1) {
		parse_error(st, st->line, "%s: '%s' is not %s", key->name, value,
		    key->expect);
		return -1;
	}
	return 0;
}
