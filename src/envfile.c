/*
 * env_file and `baton reload --env`.
 *
 * The file is read with our own reader, not inih: values may be longer
 * than inih's 199 characters, and the syntax is the one systemd's
 * EnvironmentFile= and docker's --env-file users already write:
 *
 *	# comment (also ';'), blank lines
 *	KEY=bare value          blanks around '=' and at the ends dropped
 *	export KEY=value        the shell's "export " is allowed
 *	KEY='literal'           nothing inside is special
 *	KEY="a \"b\" \\ \$ \n"  backslash escapes \ " $ ` n t only
 *
 * No expansion of $VAR, no line continuation. Anything else is an error
 * naming PATH:LINE, so a reload fails whole rather than run workers with
 * half a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "env.h"
#include "envfile.h"
#include "log.h"
#include "xmalloc.h"

#define ENVFILE_BLANKS	" \t"

static char	*envfile_names(char *const *);
static void	 envfile_add(struct config_env **, size_t *, const char *,
		    size_t, const char *);

int
envfile_parse_line(const char *line, char **key, char **value,
    const char **why)
{
	const char	*p, *name, *end;
	char		*v, *q;
	size_t		 nlen;

	p = line + strspn(line, ENVFILE_BLANKS);
	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	if (strncmp(p, "export", 6) == 0 && p[6] != '\0' &&
	    strchr(ENVFILE_BLANKS, p[6]) != NULL)
		p += 6 + strspn(p + 6, ENVFILE_BLANKS);
	name = p;
	nlen = strcspn(p, "=" ENVFILE_BLANKS);
	p += nlen;
	p += strspn(p, ENVFILE_BLANKS);
	if (*p != '=') {
		*why = "expected KEY=VALUE";
		return -1;
	}
	if (!env_name_ok(name, nlen)) {
		*why = "not a variable name (use letters, digits and '_', "
		    "not starting with a digit)";
		return -1;
	}
	p++;
	p += strspn(p, ENVFILE_BLANKS);

	v = q = xmalloc(strlen(p) + 1);
	if (*p == '\'') {
		if ((end = strchr(p + 1, '\'')) == NULL) {
			*why = "unterminated single quote";
			goto fail;
		}
		memcpy(q, p + 1, end - p - 1);
		q += end - p - 1;
		p = end + 1;
	} else if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0') {
				*why = "unterminated double quote";
				goto fail;
			}
			if (*p != '\\') {
				*q++ = *p;
				continue;
			}
			p++;
			if (*p != '\0' && strchr("\\\"$`", *p) != NULL)
				*q++ = *p;
			else if (*p == 'n')
				*q++ = '\n';
			else if (*p == 't')
				*q++ = '\t';
			else {
				*why = "unknown escape in double quotes (use "
				    "\\\\, \\\", \\$, \\`, \\n or \\t)";
				goto fail;
			}
		}
		p++;
	} else {
		end = p + strlen(p);
		while (end > p && strchr(ENVFILE_BLANKS, end[-1]) != NULL)
			end--;
		memcpy(q, p, end - p);
		q += end - p;
		p = end;
	}
	*q = '\0';
	/* After a closing quote: blanks, maybe a comment, nothing else. */
	p += strspn(p, ENVFILE_BLANKS);
	if (*p != '\0' && *p != '#') {
		*why = "text after the closing quote";
		goto fail;
	}
	*key = xstrndup(name, nlen);
	*value = v;
	return 1;

fail:
	free(v);
	return -1;
}

static void
envfile_add(struct config_env **vars, size_t *n, const char *key,
    size_t klen, const char *value)
{
	struct config_env	*e;

	*vars = xreallocarray(*vars, *n + 1, sizeof(**vars));
	e = &(*vars)[(*n)++];
	e->key = xstrndup(key, klen);
	e->value = xstrdup(value);
	e->line = 0;
}

int
envfile_read(const char *path, struct config_env **vars, size_t *n,
    char **error)
{
	FILE		*fp;
	char		*buf = NULL, *s, *key, *value;
	const char	*why;
	size_t		 cap = 0, len, i;
	ssize_t		 got;
	int		 line = 0, r;

	*vars = NULL;
	*n = 0;
	if ((fp = fopen(path, "re")) == NULL) {
		*error = xprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((got = getline(&buf, &cap, fp)) != -1) {
		line++;
		s = buf;
		len = got;
		if (len > 0 && s[len - 1] == '\n')
			s[--len] = '\0';
		if (len > 0 && s[len - 1] == '\r')
			s[--len] = '\0';
		if (line == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		if (memchr(buf, '\0', len) != NULL) {
			*error = xprintf("%s:%d: line contains a NUL byte", path,
			    line);
			goto fail;
		}
		if ((r = envfile_parse_line(s, &key, &value, &why)) == 0)
			continue;
		if (r == -1) {
			*error = xprintf("%s:%d: %s", path, line, why);
			goto fail;
		}
		for (i = 0; i < *n; i++)
			if (strcmp((*vars)[i].key, key) == 0)
				break;
		if (i < *n || env_reserved(key)) {
			*error = i < *n ? xprintf("%s:%d: duplicate key '%s' "
			    "(first at line %d)", path, line, key,
			    (*vars)[i].line) : xprintf("%s:%d: may not set %s: "
			    "baton sets it for each worker", path, line, key);
			free(key);
			free(value);
			goto fail;
		}
		envfile_add(vars, n, key, strlen(key), value);
		(*vars)[*n - 1].line = line;
		free(key);
		free(value);
	}
	if (ferror(fp)) {
		*error = xprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	free(buf);
	fclose(fp);
	return 0;

fail:
	free(buf);
	fclose(fp);
	envfile_clear(*vars, *n);
	*vars = NULL;
	*n = 0;
	return -1;
}

void
envfile_clear(struct config_env *vars, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(vars[i].key);
		free(vars[i].value);
	}
	free(vars);
}

const char *
envfile_assignment_why(const char *s)
{
	size_t	 len = strcspn(s, "=");
	char	*name;
	int	 reserved;

	if (s[len] != '=')
		return "expected KEY=VALUE";
	if (!env_name_ok(s, len))
		return "not a variable name (use letters, digits and '_', "
		    "not starting with a digit)";
	name = xstrndup(s, len);
	reserved = env_reserved(name);
	free(name);
	if (reserved)
		return "baton sets it for each worker";
	/* The control protocol is one line. */
	if (strchr(s, '\n') != NULL)
		return "a newline in the value (put it in env_file)";
	return NULL;
}

char *
envfile_request(char *const *assignments)
{
	char	**words, *line;
	size_t	  n, i;

	for (n = 0; assignments != NULL && assignments[n] != NULL; n++)
		;
	words = xcalloc(2 * n + 2, sizeof(*words));
	words[0] = xstrdup("reload");
	for (i = 0; i < n; i++) {
		words[1 + 2 * i] = xstrdup("--env");
		words[2 + 2 * i] = xstrdup(assignments[i]);
	}
	line = command_join(words);
	command_free(words);
	return line;
}

char **
envfile_request_parse(const char *args, char **error)
{
	char		**words, **out;
	const char	 *why;
	size_t		  i, n = 0;

	if ((words = command_split(args, error)) == NULL)
		return NULL;
	out = xcalloc(1, sizeof(*out));
	for (i = 0; words[i] != NULL; i += 2) {
		if (strcmp(words[i], "--env") != 0 || words[i + 1] == NULL) {
			*error = xprintf("reload takes --env KEY=VALUE only, "
			    "not '%s'", words[i]);
			goto fail;
		}
		if ((why = envfile_assignment_why(words[i + 1])) != NULL) {
			*error = xprintf("--env '%.*s': %s",
			    (int)strcspn(words[i + 1], "="), words[i + 1], why);
			goto fail;
		}
		out = xreallocarray(out, n + 2, sizeof(*out));
		out[n++] = xstrdup(words[i + 1]);
		out[n] = NULL;
	}
	command_free(words);
	return out;

fail:
	command_free(words);
	command_free(out);
	return NULL;
}

void
envfile_merge(char ***pending, char *const *assignments)
{
	size_t	 i, j, n, len;

	if (*pending == NULL)
		*pending = xcalloc(1, sizeof(**pending));
	for (n = 0; (*pending)[n] != NULL; n++)
		;
	for (i = 0; assignments != NULL && assignments[i] != NULL; i++) {
		len = strcspn(assignments[i], "=") + 1;
		for (j = 0; j < n; j++)
			if (strncmp((*pending)[j], assignments[i], len) == 0)
				break;
		if (j < n) {
			free((*pending)[j]);
			(*pending)[j] = xstrdup(assignments[i]);
			continue;
		}
		*pending = xreallocarray(*pending, n + 2, sizeof(**pending));
		(*pending)[n++] = xstrdup(assignments[i]);
		(*pending)[n] = NULL;
	}
}

/* "A, B and C": the names of "KEY=VALUE"s, allocated; values stay out. */
static char *
envfile_names(char *const *v)
{
	char	*s, *t;
	size_t	 i;

	s = xstrdup("");
	for (i = 0; v[i] != NULL; i++) {
		t = xprintf("%s%s%.*s", s, i == 0 ? "" : ", ",
		    (int)strcspn(v[i], "="), v[i]);
		free(s);
		s = t;
	}
	return s;
}

void
envfile_apply(const struct config *active, struct config *c,
    char *const *assignments)
{
	char	**kept = NULL, **vars, *names;
	size_t	  i;

	/* Kept while the files give what they gave the active generation. */
	if (active != NULL && active->nreload_env > 0) {
		if (config_same_files(active, c)) {
			vars = xcalloc(active->nreload_env + 1, sizeof(*vars));
			for (i = 0; i < active->nreload_env; i++)
				vars[i] = xprintf("%s=%s",
				    active->reload_env[i].key,
				    active->reload_env[i].value);
			envfile_merge(&kept, vars);
			names = envfile_names(vars);
			log_info("reload: the configuration is unchanged: "
			    "keeping --env %s", names);
			free(names);
			command_free(vars);
		} else {
			log_info("reload: the configuration changed: "
			    "dropping the --env of earlier reloads");
		}
	}
	/* A file's own [env:reload] comes first, as baton check printed it. */
	if (kept == NULL) {
		vars = xcalloc(c->nreload_env + 1, sizeof(*vars));
		for (i = 0; i < c->nreload_env; i++)
			vars[i] = xprintf("%s=%s", c->reload_env[i].key,
			    c->reload_env[i].value);
		envfile_merge(&kept, vars);
		command_free(vars);
	}
	if (assignments != NULL && assignments[0] != NULL) {
		names = envfile_names(assignments);
		log_info("reload: --env %s", names);
		free(names);
		envfile_merge(&kept, assignments);
	}
	envfile_clear(c->reload_env, c->nreload_env);
	c->reload_env = NULL;
	c->nreload_env = 0;
	for (i = 0; kept[i] != NULL; i++) {
		envfile_add(&c->reload_env, &c->nreload_env, kept[i],
		    strcspn(kept[i], "="), kept[i] + strcspn(kept[i], "=") + 1);
	}
	command_free(kept);
}

char **
envfile_vars(const struct config *c)
{
	char	**v;
	size_t	  i, n = 0;

	v = xcalloc(c->nenv + c->nfile_env + c->nreload_env + 1, sizeof(*v));
	for (i = 0; i < c->nenv; i++)
		v[n++] = xprintf("%s=%s", c->env[i].key, c->env[i].value);
	for (i = 0; i < c->nfile_env; i++)
		v[n++] = xprintf("%s=%s", c->file_env[i].key,
		    c->file_env[i].value);
	for (i = 0; i < c->nreload_env; i++)
		v[n++] = xprintf("%s=%s", c->reload_env[i].key,
		    c->reload_env[i].value);
	return v;
}
