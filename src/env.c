/*
 * The environment of one worker. Every protocol is spoken at once, so a
 * server written for systemd, einhorn, Server::Starter or baton itself
 * finds its sockets unchanged. Variables of these protocols inherited from
 * baton's own environment are dropped first: a baton started by systemd
 * must not hand its own LISTEN_PID or NOTIFY_SOCKET down to a worker.
 *
 * env_build() runs in the forked child before exec; baton is
 * single-threaded, so allocating there is safe.
 */
#include <sys/types.h>

#include <ctype.h>
#include <pwd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "command.h"
#include "env.h"
#include "xmalloc.h"

static const char *const env_names[] = {
	"LISTEN_FDS",
	"LISTEN_PID",
	"LISTEN_FDNAMES",
	"LISTEN_PIDFDID",
	"NOTIFY_SOCKET",
	"NGINX",
};

static const char *const env_prefixes[] = {
	"EINHORN_",
	"SERVER_STARTER_",
	"BATON_",
};

struct env {
	char	**v;
	size_t	  n;
};

static int	env_reserved_len(const char *, size_t);
static ssize_t	env_find(const struct env *, const char *, size_t);
static void	env_put(struct env *, char *);
static void	env_set(struct env *, const char *, const char *);
static void	env_append(char **, char *);

/* Is the name of length len one baton sets or strips? */
static int
env_reserved_len(const char *name, size_t len)
{
	size_t	 i, plen;

	for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) {
		if (strlen(env_names[i]) == len &&
		    strncmp(env_names[i], name, len) == 0)
			return 1;
	}
	for (i = 0; i < sizeof(env_prefixes) / sizeof(env_prefixes[0]); i++) {
		plen = strlen(env_prefixes[i]);
		if (len >= plen && strncmp(env_prefixes[i], name, plen) == 0)
			return 1;
	}
	return 0;
}

int
env_name_ok(const char *name, size_t len)
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

int
env_reserved(const char *name)
{
	return env_reserved_len(name, strlen(name));
}

/* Index of the entry "NAME=..." where NAME has length len, or -1. */
static ssize_t
env_find(const struct env *e, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=')
			return (ssize_t)i;
	}
	return -1;
}

/* Add the allocated "NAME=value" entry, replacing one of the same name. */
static void
env_put(struct env *e, char *entry)
{
	size_t	 len;
	ssize_t	 i;

	len = strcspn(entry, "=");
	if ((i = env_find(e, entry, len)) != -1) {
		free(e->v[i]);
		e->v[i] = entry;
		return;
	}
	e->v = xreallocarray(e->v, e->n + 2, sizeof(*e->v));
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
}

static void
env_set(struct env *e, const char *name, const char *value)
{
	env_put(e, xprintf("%s=%s", name, value));
}

/* Append piece, allocated, to the allocated string *s; piece is freed. */
static void
env_append(char **s, char *piece)
{
	char	*t;

	t = xprintf("%s%s", *s, piece);
	free(piece);
	free(*s);
	*s = t;
}

char **
env_build(char *const *base, const struct env_params *p)
{
	struct env	 e;
	char		 num[32], *s, *entry;
	const char	*eq;
	size_t		 i, len;
	ssize_t		 at;

	memset(&e, 0, sizeof(e));
	e.v = xcalloc(1, sizeof(*e.v));

	for (i = 0; base != NULL && base[i] != NULL; i++) {
		if ((eq = strchr(base[i], '=')) == NULL)
			continue;
		len = eq - base[i];
		if (env_reserved_len(base[i], len))
			continue;
		/* getenv() sees the first of duplicates: keep that one. */
		if (env_find(&e, base[i], len) != -1)
			continue;
		env_put(&e, xstrdup(base[i]));
	}

	/*
	 * A worker dropped to another user must not look for its files in
	 * baton's HOME (/root): as su and systemd's User= do, it gets the
	 * user's own. Before [env], which may still set them.
	 */
	if (p->user != NULL) {
		env_set(&e, "HOME", *p->user->pw_dir != '\0' ?
		    p->user->pw_dir : "/");
		env_set(&e, "USER", p->user->pw_name);
		env_set(&e, "LOGNAME", p->user->pw_name);
		env_set(&e, "SHELL", *p->user->pw_shell != '\0' ?
		    p->user->pw_shell : "/bin/sh");
	}

	for (i = 0; p->vars != NULL && p->vars[i] != NULL; i++) {
		/* config.c refuses these; never let one shadow a protocol. */
		if (env_reserved_len(p->vars[i], strcspn(p->vars[i], "=")))
			continue;
		env_put(&e, xstrdup(p->vars[i]));
	}

	/* After whatever the user preloads already. */
	if (p->preload) {
		if ((at = env_find(&e, "LD_PRELOAD", 10)) != -1 &&
		    e.v[at][11] != '\0')
			env_put(&e, xprintf("LD_PRELOAD=%s:%s", e.v[at] + 11,
			    env_preload_path()));
		else
			env_set(&e, "LD_PRELOAD", env_preload_path());
	}

	/*
	 * With no socket, say nothing of sockets: servers take LISTEN_FDS or
	 * SERVER_STARTER_PORT being set as "do not bind yourself", and
	 * systemd leaves them unset too when it passes no descriptor.
	 */
	if (p->nsockets > 0) {
		snprintf(num, sizeof(num), "%zu", p->nsockets);
		env_set(&e, "LISTEN_FDS", num);
		snprintf(num, sizeof(num), "%ld", (long)p->pid);
		env_set(&e, "LISTEN_PID", num);
		s = xstrdup("");
		for (i = 0; i < p->nsockets; i++)
			env_append(&s, xprintf("%s%s", i > 0 ? ":" : "",
			    p->names[i]));
		env_set(&e, "LISTEN_FDNAMES", s);
		free(s);

		snprintf(num, sizeof(num), "%zu", p->nsockets);
		env_set(&e, "EINHORN_FD_COUNT", num);
		for (i = 0; i < p->nsockets; i++)
			env_put(&e, xprintf("EINHORN_FD_%zu=%zu", i, 3 + i));

		s = xstrdup("");
		for (i = 0; i < p->nsockets; i++) {
			entry = address_server_starter(p->addrs[i]);
			env_append(&s, xprintf("%s%s=%zu", i > 0 ? ";" : "",
			    entry, 3 + i));
			free(entry);
		}
		env_set(&e, "SERVER_STARTER_PORT", s);
		free(s);
		snprintf(num, sizeof(num), "%d", p->generation);
		env_set(&e, "SERVER_STARTER_GENERATION", num);

		/* nginx's own binary upgrade: "3;4;" are inherited sockets. */
		s = xstrdup("");
		for (i = 0; i < p->nsockets; i++)
			env_append(&s, xprintf("%zu;", 3 + i));
		env_set(&e, "NGINX", s);
		free(s);
	}

	if (p->notify_socket != NULL)
		env_set(&e, "NOTIFY_SOCKET", p->notify_socket);

	snprintf(num, sizeof(num), "%d", p->channel_fd);
	env_set(&e, "BATON_FD", num);
	snprintf(num, sizeof(num), "%d", p->generation);
	env_set(&e, "BATON_GENERATION", num);
	snprintf(num, sizeof(num), "%d", p->worker);
	env_set(&e, "BATON_WORKER", num);
	snprintf(num, sizeof(num), "%ld", (long)p->baton_pid);
	env_set(&e, "BATON_PID", num);

	return e.v;
}

const char *
env_preload_path(void)
{
	static char	 beside[PATH_MAX];
	const char	*s = getenv("BATON_PRELOAD_LIB");
	char		 exe[PATH_MAX], *slash;
	ssize_t		 n;

	if (s != NULL && *s != '\0')
		return s;
	/*
	 * A baton run from its build folder has its own interposer beside
	 * it, where libtool builds it; an installed one has none there.
	 */
	if (beside[0] == '\0' && (n = readlink("/proc/self/exe", exe,
	    sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(beside, sizeof(beside),
			    "%s/.libs/libbaton-preload.so", exe) >=
			    sizeof(beside) || access(beside, R_OK) == -1)
				snprintf(beside, sizeof(beside), "%s",
				    PRELOAD_PATH);
		}
	}
	return beside[0] != '\0' ? beside : PRELOAD_PATH;
}

/* An environment is a vector like an argv. */
void
env_free(char **env)
{
	command_free(env);
}
