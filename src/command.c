/*
 * The worker command line. It is split once, the way a shell would split
 * it, and then executed directly: no shell is run, so there is nothing to
 * inject into and no extra process between baton and its workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "xmalloc.h"

/* A growing string: a word being split, or a command being joined. */
struct buf {
	char	*s;
	size_t	 len;
	size_t	 size;
};

/* What command_expand() puts in place of the placeholders. */
struct command_expansion {
	char *const	*names;		/* {fd:NAME}: 3 + its index */
	size_t		 n;
	int		 generation;
	int		 worker;
};

static void	buf_add(struct buf *, char);
static void	buf_adds(struct buf *, const char *, size_t);
static char    *buf_take(struct buf *);
static void	argv_add(char ***, size_t *, char *);
static int	command_fd_name(const char *, const char **, size_t *);
static int	command_socket_index(char *const *, size_t, const char *,
		    size_t);
static size_t	command_placeholder(const char *,
		    const struct command_expansion *, char *, size_t);
static int	command_needs_quotes(const char *);
static void	command_quote(struct buf *, const char *);

static void
buf_add(struct buf *b, char ch)
{
	if (b->len + 1 >= b->size) {
		b->size = b->size == 0 ? 64 : b->size * 2;
		b->s = xreallocarray(b->s, b->size, 1);
	}
	b->s[b->len++] = ch;
	b->s[b->len] = '\0';
}

static void
buf_adds(struct buf *b, const char *s, size_t n)
{
	while (n-- > 0)
		buf_add(b, *s++);
}

/* The string so far, allocated; the buffer starts over empty. */
static char *
buf_take(struct buf *b)
{
	char	*s;

	s = b->s != NULL ? b->s : xstrdup("");
	memset(b, 0, sizeof(*b));
	return s;
}

static void
argv_add(char ***argv, size_t *n, char *word)
{
	*argv = xreallocarray(*argv, *n + 2, sizeof(**argv));
	(*argv)[(*n)++] = word;
	(*argv)[*n] = NULL;
}

char **
command_split(const char *s, char **error)
{
	struct buf	 word;
	char		**argv = NULL;
	size_t		 n = 0;
	const char	*p;
	int		 inword = 0;

	memset(&word, 0, sizeof(word));
	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case ' ':
		case '\t':
		case '\n':
			if (inword) {
				argv_add(&argv, &n, buf_take(&word));
				inword = 0;
			}
			break;
		case '\'':
			inword = 1;
			for (p++; *p != '\'' && *p != '\0'; p++)
				buf_add(&word, *p);
			if (*p == '\0') {
				*error = xstrdup("unterminated single quote");
				goto fail;
			}
			break;
		case '"':
			inword = 1;
			for (p++; *p != '"' && *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0' &&
				    strchr("\\\"$`\n", p[1]) != NULL) {
					/* As in sh: backslash-newline goes. */
					if (*++p != '\n')
						buf_add(&word, *p);
				} else
					buf_add(&word, *p);
			}
			if (*p == '\0') {
				*error = xstrdup("unterminated double quote");
				goto fail;
			}
			break;
		case '\\':
			if (p[1] == '\0') {
				*error = xstrdup("backslash at the end of the "
				    "command");
				goto fail;
			}
			p++;
			/* A line continuation, not a character of the word. */
			if (*p == '\n')
				break;
			inword = 1;
			buf_add(&word, *p);
			break;
		default:
			inword = 1;
			buf_add(&word, *p);
			break;
		}
	}
	if (inword)
		argv_add(&argv, &n, buf_take(&word));
	if (n == 0) {
		*error = xstrdup("command is empty");
		goto fail;
	}
	return argv;

fail:
	free(word.s);
	command_free(argv);
	return NULL;
}

/*
 * If s starts with "{fd:NAME}", set the name and its length and return 1.
 * The name is everything up to the closing brace, so that a misspelled
 * one is reported rather than left in the command.
 */
static int
command_fd_name(const char *s, const char **name, size_t *len)
{
	const char	*end;

	if (strncmp(s, "{fd:", 4) != 0)
		return 0;
	if ((end = strchr(s + 4, '}')) == NULL)
		return 0;
	*name = s + 4;
	*len = end - *name;
	return 1;
}

/* Index of the socket named by the len bytes at name, or -1. */
static int
command_socket_index(char *const *names, size_t n, const char *name,
    size_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strlen(names[i]) == len &&
		    strncmp(names[i], name, len) == 0)
			return (int)i;
	}
	return -1;
}

int
command_check(char *const *argv, char *const *names, size_t n, char **error)
{
	const char	*p, *name;
	size_t		 i, len;

	for (i = 0; argv[i] != NULL; i++) {
		for (p = argv[i]; (p = strchr(p, '{')) != NULL; p++) {
			if (!command_fd_name(p, &name, &len))
				continue;
			if (command_socket_index(names, n, name, len) == -1) {
				*error = xprintf("{fd:%.*s}: no socket named "
				    "'%.*s'", (int)len, name, (int)len, name);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * If p starts with a placeholder that x knows, write its value into num
 * and return the length of the placeholder; otherwise return 0.
 */
static size_t
command_placeholder(const char *p, const struct command_expansion *x,
    char *num, size_t size)
{
	const char	*name;
	size_t		 len;
	int		 idx;

	if (strncmp(p, "{generation}", 12) == 0) {
		snprintf(num, size, "%d", x->generation);
		return 12;
	}
	if (strncmp(p, "{worker}", 8) == 0) {
		snprintf(num, size, "%d", x->worker);
		return 8;
	}
	if (!command_fd_name(p, &name, &len))
		return 0;
	idx = command_socket_index(x->names, x->n, name, len);
	if (idx == -1)
		return 0;
	/* The worker finds its sockets at 3, 4, ... in configuration order. */
	snprintf(num, size, "%d", 3 + idx);
	return len + 5;		/* "{fd:" NAME "}" */
}

char **
command_expand(char *const *argv, char *const *names, size_t nnames,
    int generation, int worker)
{
	struct command_expansion x = { names, nnames, generation, worker };
	struct buf	 word;
	char		**out = NULL, num[32];
	const char	*p;
	size_t		 i, n = 0, len;

	memset(&word, 0, sizeof(word));
	for (i = 0; argv[i] != NULL; i++) {
		for (p = argv[i]; *p != '\0'; p++) {
			len = 0;
			if (*p == '{')
				len = command_placeholder(p, &x, num,
				    sizeof(num));
			if (len == 0) {
				buf_add(&word, *p);
				continue;
			}
			buf_adds(&word, num, strlen(num));
			p += len - 1;
		}
		argv_add(&out, &n, buf_take(&word));
	}
	if (out == NULL)
		out = xcalloc(1, sizeof(*out));
	return out;
}

char **
command_copy(char *const *argv)
{
	char	**out;
	size_t	  i, n;

	for (n = 0; argv[n] != NULL; n++)
		;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(argv[i]);
	return out;
}

void
command_free(char **argv)
{
	size_t	 i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/*
 * Words made only of these characters need no quotes. Anything else is
 * quoted, including ';', '#' and '[' so that a joined command also
 * survives being written into the INI file (see command_quote()).
 */
static int
command_needs_quotes(const char *w)
{
	const char	*p;

	if (*w == '\0')
		return 1;
	for (p = w; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			continue;
		if (strchr("-_./:=,+@%{}", *p) == NULL)
			return 1;
	}
	return 0;
}

/*
 * Single quotes keep everything literal; a quote itself is written '\''.
 * inih takes " ;" as the start of a comment even inside quotes, so a ';'
 * after whitespace gets the quote closed and reopened in between ('a '';b')
 * which splits back to the same word.
 */
static void
command_quote(struct buf *b, const char *w)
{
	const char	*p;

	buf_add(b, '\'');
	for (p = w; *p != '\0'; p++) {
		if (*p == '\'')
			buf_adds(b, "'\\''", 4);
		else {
			if (*p == ';' && p > w && strchr(" \t\n\r\v\f",
			    p[-1]) != NULL)
				buf_adds(b, "''", 2);
			buf_add(b, *p);
		}
	}
	buf_add(b, '\'');
}

char *
command_join(char *const *argv)
{
	struct buf	 b;
	size_t		 i;

	memset(&b, 0, sizeof(b));
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			buf_add(&b, ' ');
		if (command_needs_quotes(argv[i]))
			command_quote(&b, argv[i]);
		else
			buf_adds(&b, argv[i], strlen(argv[i]));
	}
	return buf_take(&b);
}
