/*
 * The resolved configuration, printed as an INI file that loads back:
 * what `baton check` shows, and what an upgrade hands the new image.
 * Long values are folded onto indented lines where the reader joins them
 * back exactly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "config_int.h"
#include "signame.h"
#include "xmalloc.h"

/* What config_print_value() may do with a long value. */
enum print_how {
	PRINT_COMMAND,	/* continue it; not before a [baton] key */
	PRINT_ENV,	/* continue it; not before a variable name */
	PRINT_LINE	/* one line: the key does not continue */
};

static int	config_print_fold_at(const char *, int);
static void	config_print_value(FILE *, const char *, const char *,
		    enum print_how);
static void	config_print_path(FILE *, const char *, const char *);
static void	config_print_env(FILE *, const char *,
		    const struct config_env *, size_t);
static void	config_print_all(const struct config *, FILE *, int);
static char    *config_print_text(const struct config *, int);

/*
 * Whether a value may be folded at p, a character inside it: only at a
 * lone space between two words, since the continuation is joined back
 * with exactly one space, and never before what would read as a comment,
 * a section or another key: in [baton] (BATON set) one of its keys, in
 * [env] any variable name.
 */
static int
config_print_fold_at(const char *p, int baton)
{
	return *p == ' ' && !isspace((unsigned char)p[-1]) &&
	    p[1] != '\0' && !isspace((unsigned char)p[1]) &&
	    strchr(";#[", p[1]) == NULL &&
	    !config_load_looks_like_key(p + 1, baton);
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
	for (seg = 1; seg < len && !config_print_fold_at(value + seg, baton);
	    seg++)
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
	    !config_load_looks_like_key(value, baton)) {
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
			if (config_print_fold_at(p, baton))
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

/* A section of variables, as [env] is written. */
static void
config_print_env(FILE *fp, const char *section, const struct config_env *v,
    size_t n)
{
	size_t	 i;

	fprintf(fp, "\n[%s]\n", section);
	for (i = 0; i < n; i++)
		config_print_value(fp, v[i].key, v[i].value, PRINT_ENV);
}

void
config_print(const struct config *c, FILE *fp)
{
	config_print_all(c, fp, 1);
}

/* config_print()'s words, with or without [env:reload]; allocated. */
static char *
config_print_text(const struct config *c, int reload)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	config_print_all(c, fp, reload);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int
config_same_files(const struct config *a, const struct config *b)
{
	char	*ta, *tb;
	int	 same;

	ta = config_print_text(a, 0);
	tb = config_print_text(b, 0);
	same = ta != NULL && tb != NULL && strcmp(ta, tb) == 0;
	free(ta);
	free(tb);
	return same;
}

/*
 * With reload, [env:reload] too: what `baton reload --env` added, which
 * is not the files' (config_same_files()).
 */
static void
config_print_all(const struct config *c, FILE *fp, int reload)
{
	const struct config_socket	*s;
	char				*cmd = NULL, *spec;
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
	if (strncmp(signame_name(c->drain_signal), "SIG", 3) == 0)
		fprintf(fp, "drain_signal = %s\n",
		    signame_name(c->drain_signal));
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
	/* The probe's keys apply only with a probe, canary_time with canary. */
	if (c->probe.kind != PROBE_NONE) {
		spec = config_probe_spec(&c->probe);
		config_print_value(fp, "probe", spec, PRINT_LINE);
		free(spec);
		if (c->probe_socket != NULL)
			fprintf(fp, "probe_socket = %s\n", c->probe_socket);
		fprintf(fp, "probe_interval = %ldms\n", c->probe_interval);
		fprintf(fp, "probe_successes = %d\n", c->probe_successes);
		fprintf(fp, "probe_timeout = %ldms\n", c->probe_timeout);
	}
	fprintf(fp, "rollout = %s\n", config_rollout_name(c->rollout));
	if (c->canary != 0) {
		if (c->canary % 100 == 0)
			fprintf(fp, "canary = %d%%\n", c->canary / 100);
		else if (c->canary % 10 == 0)
			fprintf(fp, "canary = %d.%d%%\n", c->canary / 100,
			    c->canary % 100 / 10);
		else
			fprintf(fp, "canary = %d.%02d%%\n", c->canary / 100,
			    c->canary % 100);
		fprintf(fp, "canary_time = %ldms\n", c->canary_time);
	}
	if (c->warmup > 0)
		fprintf(fp, "warmup = %ldms\n", c->warmup);
	/* Only when set: inherit, the default, prints as it always did. */
	if (c->output != NULL) {
		config_print_path(fp, "output", c->output);
		if (c->output_max_size > 0)
			fprintf(fp, "output_max_size = %lld\n",
			    c->output_max_size);
		fprintf(fp, "output_keep = %d\n", c->output_keep);
	}
	if (c->metrics != NULL)
		fprintf(fp, "metrics = %s\n", c->metrics);
	fprintf(fp, "stop_delay = %ldms\n", c->stop_delay);
	if (c->max_memory > 0)
		fprintf(fp, "max_memory = %lld\n", c->max_memory);
	if (c->max_age > 0)
		fprintf(fp, "max_age = %ldms\n", c->max_age);
	if (c->env_file != NULL)
		config_print_path(fp, "env_file", c->env_file);
	fprintf(fp, "start_priority = %d\n", c->start_priority);

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
		config_print_env(fp, "env", c->env, c->nenv);
	/* Even empty: it stands for the file, which is then not read. */
	if (c->env_file != NULL)
		config_print_env(fp, "env:file", c->file_env, c->nfile_env);
	if (reload && c->nreload_env > 0)
		config_print_env(fp, "env:reload", c->reload_env,
		    c->nreload_env);
}
