#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "state.h"
#include "xmalloc.h"

/* One line of text: the rest of a state line. */
static void
state_put_text(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, fp);
	fputc('\n', fp);
}

/*
 * A worker's pipe, and the part of a line read from it, in hex ("-":
 * none): the bytes may be anything.
 */
static void
state_put_stream(FILE *fp, const struct output_saved *os)
{
	size_t	 i;

	fprintf(fp, "stream %d %d %d %ld %s ", os->fd, os->gen, os->slot,
	    (long)os->pid, os->stream);
	for (i = 0; i < os->npartial; i++)
		fprintf(fp, "%02x", (unsigned char)os->partial[i]);
	fprintf(fp, "%s\n", os->npartial == 0 ? "-" : "");
}

/* Parse a "stream" line in place (the hex becomes bytes): 0, or -1. */
static int
state_get_stream(char *line, struct output_saved *os)
{
	char	 name[8], *hex, *p;
	long	 pid;
	int	 n = -1;
	unsigned int byte;

	if (sscanf(line, "stream %d %d %d %ld %7s %n", &os->fd, &os->gen,
	    &os->slot, &pid, name, &n) != 5 || n == -1 || os->fd < 0 ||
	    pid <= 0)
		return -1;
	if (strcmp(name, "stdout") == 0)
		os->stream = "stdout";
	else if (strcmp(name, "stderr") == 0)
		os->stream = "stderr";
	else
		return -1;
	os->pid = (pid_t)pid;
	hex = line + n;
	os->partial = hex;
	os->npartial = 0;
	if (strcmp(hex, "-") == 0)
		return 0;
	if (strlen(hex) % 2 != 0 || strlen(hex) / 2 >= OUTPUT_LINE_MAX)
		return -1;
	for (p = hex; *p != '\0'; p += 2) {
		if (sscanf(p, "%2x", &byte) != 1 || !isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return -1;
		hex[os->npartial++] = (char)byte;
	}
	return 0;
}

/* "hist NAME COUNT SUM_MS LE..." */
static void
state_put_hist(FILE *fp, const char *name, const struct record_hist *h)
{
	size_t	 i;

	fprintf(fp, "hist %s %lld %lld", name, h->count, h->sum_ms);
	for (i = 0; i < RECORD_NBUCKETS; i++)
		fprintf(fp, " %lld", h->le[i]);
	fputc('\n', fp);
}

/*
 * Socket i's steering, after every socket line: "steer I SOCKARRAY ROUTE
 * ANCHOR_INDEX", and the generation's member, "member I INDEX FD".
 */
static void
state_put_steer(FILE *fp, const struct state *st, size_t i)
{
	const struct socket_saved	*ss = &st->sockets[i];

	if (!ss->steered)
		return;
	fprintf(fp, "steer %zu %d %d %d %d\n", i, ss->steer.sockarray_fd,
	    ss->steer.route_fd, ss->anchor_index, ss->steer.counts_fd);
	if (st->members != NULL && st->members[i].index != -1)
		fprintf(fp, "member %zu %d %d\n", i, st->members[i].index,
		    st->members[i].fd);
}

/* Read back a "steer" line into st: 0, or -1. */
static int
state_get_steer(const char *line, struct state *st)
{
	struct socket_saved	*ss;
	size_t			 i;
	int			 sa, rt, anchor, counts;

	if (sscanf(line, "steer %zu %d %d %d %d", &i, &sa, &rt, &anchor,
	    &counts) != 5 || i >= st->nsockets || st->sockets[i].steered ||
	    sa < 0 || rt < 0 || counts < 0 || anchor < -1 ||
	    anchor >= STEER_MAX_INDEX)
		return -1;
	ss = &st->sockets[i];
	ss->steered = 1;
	ss->steer.sockarray_fd = sa;
	ss->steer.route_fd = rt;
	ss->steer.counts_fd = counts;
	ss->anchor_index = anchor;
	return 0;
}

/* Index taken on socket i already, by the generation or a slot. */
static int
state_index_taken(const struct state *st, size_t i, int index)
{
	size_t	 k;

	if (index == st->sockets[i].anchor_index ||
	    (st->members != NULL && st->members[i].index == index))
		return 1;
	for (k = 0; k < st->nseats; k++)
		if (st->seats[k].socket == i && st->seats[k].index == index)
			return 1;
	return 0;
}

/*
 * Read back a "seat" line, after its worker's line and its socket's
 * "steer" line: 0, or -1.
 */
static int
state_get_seat(const char *line, struct state *st)
{
	struct state_seat	 ss;
	size_t			 k;

	if (sscanf(line, "seat %zu %zu %d %d", &ss.slot, &ss.socket,
	    &ss.index, &ss.fd) != 4 || ss.slot >= st->nworkers ||
	    ss.socket >= st->nsockets || !st->sockets[ss.socket].steered ||
	    ss.index < 0 || ss.index >= STEER_MAX_INDEX || ss.fd < 0 ||
	    state_index_taken(st, ss.socket, ss.index))
		return -1;
	for (k = 0; k < st->nseats; k++)
		if (st->seats[k].slot == ss.slot &&
		    st->seats[k].socket == ss.socket)
			return -1;
	st->seats = xreallocarray(st->seats, st->nseats + 1,
	    sizeof(*st->seats));
	st->seats[st->nseats++] = ss;
	return 0;
}

/* Read back a "member" line, after its socket's "steer" line: 0, or -1. */
static int
state_get_member(const char *line, struct state *st)
{
	size_t	 i;
	int	 index, fd;

	if (sscanf(line, "member %zu %d %d", &i, &index, &fd) != 3 ||
	    i >= st->nsockets || !st->sockets[i].steered || index < 0 ||
	    index >= STEER_MAX_INDEX || index == st->sockets[i].anchor_index ||
	    fd < 0 || st->members[i].index != -1)
		return -1;
	st->members[i].index = index;
	st->members[i].fd = fd;
	return 0;
}

/* A stream that writes fd anew from its start; fd stays open. */
static FILE *
state_stream(int fd)
{
	FILE	*fp;
	int	 d;

	if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1 ||
	    (d = dup(fd)) == -1)
		return NULL;
	if ((fp = fdopen(d, "w")) == NULL)
		close(d);
	return fp;
}

/* Flush and close fp: 0, or -1 if anything written was lost. */
static int
state_close(FILE *fp)
{
	int	 ok;

	ok = fflush(fp) == 0 && !ferror(fp);
	if (fclose(fp) != 0 || !ok)
		return -1;
	return 0;
}

/* config_print()'s words for c, in memory. */
static char *
state_print(const struct config *c)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	config_print(c, fp);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The configuration in cfd, as config_print() wrote it for file. */
static struct config *
state_config(int cfd, const char *file, char **error)
{
	struct config	*c;
	char		*path;
	int		 rc;

	c = config_new();
	/* By path: config_load() opens a file, and this one has no other. */
	path = xprintf("/proc/self/fd/%d", cfd);
	rc = config_load(c, path, error);
	free(path);
	if (rc == -1) {
		config_free(c);
		return NULL;
	}
	free(c->file);
	c->file = file != NULL ? xstrdup(file) : NULL;
	if (config_finish(c, error) == -1) {
		config_free(c);
		return NULL;
	}
	return c;
}

int
state_write(const struct state *st, const struct config *c, int sfd,
    char **error)
{
	struct config	*back;
	FILE		*fp;
	char		*before, *after, *why = NULL;
	size_t		 i;
	int		 same;

	if ((fp = state_stream(st->config_fd)) == NULL)
		goto fail;
	config_print(c, fp);
	if (state_close(fp) == -1)
		goto fail;

	if ((fp = state_stream(sfd)) == NULL)
		goto fail;
	fprintf(fp, "%s\n", STATE_FORMAT);
	fprintf(fp, "from %s\n", st->from);
	fprintf(fp, "started %lld %lld\n", st->started, st->started_ms);
	fprintf(fp, "counters %d %d %d %d %d\n", st->reloads, st->rollbacks,
	    st->crashes, st->killed, st->upgrades);
	if (st->recycled > 0)
		fprintf(fp, "recycled %d\n", st->recycled);
	if (st->nofile > 0)
		fprintf(fp, "nofile %lld\n", st->nofile);
	fprintf(fp, "last %d %lld %lld ", st->last_outcome, st->last_duration,
	    st->last_at);
	state_put_text(fp, st->last_reason);
	fprintf(fp, "outcomes %d %d %d\n", st->outcomes[RECORD_OK],
	    st->outcomes[RECORD_ROLLED_BACK], st->outcomes[RECORD_FAILED]);
	state_put_hist(fp, "reload", &st->reload_time);
	state_put_hist(fp, "drain", &st->drain_time);
	if (st->metrics.fd != -1) {
		fprintf(fp, "metrics %d %d %lu %lu ", st->metrics.fd,
		    st->metrics.unlink_path, st->metrics.dev, st->metrics.ino);
		state_put_text(fp, st->metrics_url);
	}
	fprintf(fp, "next %d\n", st->next_number);
	fprintf(fp, "notify %d\n", st->notify_fd);
	if (st->control_fd != -1) {
		fprintf(fp, "control %d ", st->control_fd);
		state_put_text(fp, st->control_path);
	}
	if (st->pidfile_fd != -1) {
		fprintf(fp, "pidfile %d ", st->pidfile_fd);
		state_put_text(fp, st->pidfile_path);
	}
	if (st->keeper_fd != -1)
		fprintf(fp, "keeper %ld %d\n", st->keeper_pid, st->keeper_fd);
	fprintf(fp, "config %d ", st->config_fd);
	state_put_text(fp, st->config_file);
	fprintf(fp, "generation %d %lld\n", st->generation,
	    st->generation_started);
	for (i = 0; i < st->nsockets; i++)
		fprintf(fp, "socket %d %d %lu %lu\n", st->sockets[i].fd,
		    st->sockets[i].unlink_path, st->sockets[i].dev,
		    st->sockets[i].ino);
	for (i = 0; i < st->nsockets; i++)
		state_put_steer(fp, st, i);
	for (i = 0; i < st->nworkers; i++) {
		fprintf(fp, "worker %ld %ld %d %d %ld %lld %d ",
		    (long)st->workers[i].pid, (long)st->workers[i].pgid,
		    st->workers[i].channel, st->workers[i].restarts,
		    st->workers[i].backoff, st->workers[i].started,
		    st->workers[i].preload);
		state_put_text(fp, st->workers[i].status);
	}
	for (i = 0; i < st->nseats; i++)
		fprintf(fp, "seat %zu %zu %d %d\n", st->seats[i].slot,
		    st->seats[i].socket, st->seats[i].index, st->seats[i].fd);
	if (st->seated)
		fprintf(fp, "seated\n");
	if (st->output_fd != -1) {
		fprintf(fp, "output %d %lld %d ", st->output_fd,
		    st->output_max_size, st->output_keep);
		state_put_text(fp, st->output_path);
	}
	for (i = 0; i < st->nstreams; i++)
		state_put_stream(fp, &st->streams[i]);
	fprintf(fp, "end\n");
	if (state_close(fp) == -1)
		goto fail;

	/* What the new image will load must be what runs now. */
	if ((back = state_config(st->config_fd, c->file, &why)) == NULL) {
		*error = xprintf("the running configuration cannot be "
		    "carried over: as baton check prints it, it does not "
		    "load (%s)", why);
		free(why);
		return -1;
	}
	before = state_print(c);
	after = state_print(back);
	same = before != NULL && after != NULL && strcmp(before, after) == 0;
	free(before);
	free(after);
	config_free(back);
	if (!same) {
		*error = xstrdup("the running configuration does not load "
		    "back as it is");
		return -1;
	}
	return 0;
fail:
	*error = xprintf("writing the state: %s", strerror(errno));
	return -1;
}

/* The rest of a line after n words, or "". */
static const char *
state_text(const char *line, int words)
{
	while (words-- > 0) {
		line += strcspn(line, " ");
		if (*line == ' ')
			line++;
	}
	return line;
}

/* The rest of a line after n words, or NULL when there is none. */
static const char *
state_text_or_null(const char *line, int words)
{
	const char	*s = state_text(line, words);

	return *s != '\0' ? s : NULL;
}

/* Whether line is "word ..." (or just "word"). */
static int
state_is(const char *line, const char *word)
{
	size_t	 n = strlen(word);

	return strncmp(line, word, n) == 0 &&
	    (line[n] == ' ' || line[n] == '\0');
}

/* Read back state_put_hist()'s line into st. Returns 0, or -1. */
static int
state_get_hist(const char *line, struct state *st)
{
	struct record_hist	 h, *to;
	long long		*v[2 + RECORD_NBUCKETS];
	const char		*p = line + 5;
	char			*end;
	size_t			 i;

	if (strncmp(p, "reload ", 7) == 0)
		to = &st->reload_time;
	else if (strncmp(p, "drain ", 6) == 0)
		to = &st->drain_time;
	else
		return -1;
	v[0] = &h.count;
	v[1] = &h.sum_ms;
	for (i = 0; i < RECORD_NBUCKETS; i++)
		v[2 + i] = &h.le[i];
	p += strcspn(p, " ");
	for (i = 0; i < 2 + RECORD_NBUCKETS; i++) {
		if (*p != ' ')
			return -1;
		errno = 0;
		*v[i] = strtoll(p + 1, &end, 10);
		if (errno != 0 || end == p + 1 || *v[i] < 0)
			return -1;
		p = end;
	}
	if (*p != '\0')
		return -1;
	*to = h;
	return 0;
}

int
state_parse(char *text, struct state *st, char **error)
{
	struct socket_saved	 ss;
	struct worker_saved	 ws;
	struct output_saved	 os;
	long long		 a, b;
	long			 pid, pgid;
	char			*line, *next;
	int			 fd, k, end = 0, seen_notify = 0, seen_config = 0;

	memset(st, 0, sizeof(*st));
	st->text = text;
	st->notify_fd = st->control_fd = st->pidfile_fd = st->config_fd = -1;
	st->keeper_fd = st->output_fd = -1;
	st->keeper_fd = st->metrics.fd = -1;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line == text) {
			if (strcmp(line, STATE_FORMAT) != 0) {
				*error = xprintf("not the format '%s' but "
				    "'%.40s'", STATE_FORMAT, line);
				return -1;
			}
		} else if (state_is(line, "from") && st->from == NULL) {
			st->from = state_text(line, 1);
		} else if (sscanf(line, "started %lld %lld", &a, &b) == 2) {
			st->started = a;
			st->started_ms = b;
		} else if (sscanf(line, "recycled %d", &k) == 1 && k > 0 &&
		    st->recycled == 0) {
			st->recycled = k;
		} else if (sscanf(line, "nofile %lld", &a) == 1 && a > 0 &&
		    st->nofile == 0) {
			st->nofile = a;
		} else if (sscanf(line, "counters %d %d %d %d %d",
		    &st->reloads, &st->rollbacks, &st->crashes, &st->killed,
		    &st->upgrades) == 5) {
			;
		} else if (sscanf(line, "last %d %lld %lld",
		    &st->last_outcome, &st->last_duration,
		    &st->last_at) == 3 && st->last_outcome >= 0 &&
		    st->last_outcome <= 3) {
			st->last_reason = state_text_or_null(line, 4);
		} else if (sscanf(line, "outcomes %d %d %d",
		    &st->outcomes[RECORD_OK], &st->outcomes[RECORD_ROLLED_BACK],
		    &st->outcomes[RECORD_FAILED]) == 3) {
			;
		} else if (state_is(line, "hist") &&
		    state_get_hist(line, st) == 0) {
			;
		} else if (sscanf(line, "metrics %d %d %lu %lu", &ss.fd,
		    &ss.unlink_path, &ss.dev, &ss.ino) == 4 &&
		    st->metrics.fd == -1 && ss.fd >= 0) {
			st->metrics = ss;
			st->metrics_url = state_text(line, 5);
		} else if (sscanf(line, "next %d", &st->next_number) == 1) {
			;
		} else if (sscanf(line, "notify %d", &fd) == 1 &&
		    !seen_notify && fd >= 0) {
			st->notify_fd = fd;
			seen_notify = 1;
		} else if (sscanf(line, "control %d", &fd) == 1 &&
		    st->control_fd == -1 && fd >= 0) {
			st->control_fd = fd;
			st->control_path = state_text(line, 2);
		} else if (sscanf(line, "pidfile %d", &fd) == 1 &&
		    st->pidfile_fd == -1 && fd >= 0) {
			st->pidfile_fd = fd;
			st->pidfile_path = state_text(line, 2);
		} else if (sscanf(line, "keeper %ld %d", &pid, &fd) == 2 &&
		    st->keeper_fd == -1 && fd >= 0 && pid > 0) {
			st->keeper_pid = pid;
			st->keeper_fd = fd;
		} else if (sscanf(line, "config %d", &fd) == 1 &&
		    !seen_config && fd >= 0) {
			st->config_fd = fd;
			st->config_file = state_text_or_null(line, 2);
			seen_config = 1;
		} else if (sscanf(line, "generation %d %lld", &st->generation,
		    &a) == 2 && st->generation >= 1) {
			st->generation_started = a;
		} else if (sscanf(line, "socket %d %d %lu %lu", &ss.fd,
		    &ss.unlink_path, &ss.dev, &ss.ino) == 4 && ss.fd >= 0) {
			ss.steered = 0;
			ss.anchor_index = -1;
			st->sockets = xreallocarray(st->sockets,
			    st->nsockets + 1, sizeof(*st->sockets));
			st->members = xreallocarray(st->members,
			    st->nsockets + 1, sizeof(*st->members));
			st->members[st->nsockets].index = -1;
			st->members[st->nsockets].fd = -1;
			st->sockets[st->nsockets++] = ss;
		} else if (state_is(line, "steer") &&
		    state_get_steer(line, st) == 0) {
			;
		} else if (state_is(line, "member") &&
		    state_get_member(line, st) == 0) {
			;
		} else if (sscanf(line, "worker %ld %ld %d %d %ld %lld %d",
		    &pid, &pgid, &ws.channel, &ws.restarts, &ws.backoff,
		    &ws.started, &ws.preload) == 7 && pid >= 0 && pgid >= 0) {
			ws.pid = (pid_t)pid;
			ws.pgid = (pid_t)pgid;
			ws.status = state_text_or_null(line, 8);
			st->workers = xreallocarray(st->workers,
			    st->nworkers + 1, sizeof(*st->workers));
			st->workers[st->nworkers++] = ws;
		} else if (state_is(line, "seat") &&
		    state_get_seat(line, st) == 0) {
			;
		} else if (strcmp(line, "seated") == 0 && !st->seated) {
			st->seated = 1;
		} else if (sscanf(line, "output %d %lld %d", &fd, &a, &k) == 3 &&
		    st->output_fd == -1 && fd >= 0 && a >= 0 && k >= 1 &&
		    *state_text(line, 4) == '/') {
			st->output_fd = fd;
			st->output_max_size = a;
			st->output_keep = k;
			st->output_path = state_text(line, 4);
		} else if (state_is(line, "stream") &&
		    state_get_stream(line, &os) == 0) {
			st->streams = xreallocarray(st->streams,
			    st->nstreams + 1, sizeof(*st->streams));
			st->streams[st->nstreams++] = os;
		} else if (strcmp(line, "end") == 0) {
			end = 1;
			break;
		} else {
			*error = xprintf("at '%.60s'", line);
			return -1;
		}
	}
	if (!end)
		*error = xstrdup("it ends before its 'end' line");
	else if (!seen_notify || !seen_config || st->generation == 0)
		*error = xstrdup("it lacks its notify, config or generation "
		    "line");
	else if (st->nworkers == 0)
		*error = xstrdup("it names no worker");
	else
		return 0;
	return -1;
}

/* The state, read whole from the start of its memfd. */
static char *
state_slurp(int fd)
{
	char	*buf = NULL;
	size_t	 len = 0, size = 0;
	ssize_t	 n;

	for (;;) {
		if (size - len < 4096) {
			size = size * 2 + 4096;
			buf = xreallocarray(buf, size, 1);
		}
		n = pread(fd, buf + len, size - len - 1, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return buf;
}

int
state_read(int sfd, struct state *st, char **error)
{
	char	*text, *why = NULL;
	size_t	 i;

	memset(st, 0, sizeof(*st));
	if ((text = state_slurp(sfd)) == NULL) {
		*error = xprintf("reading the state: %s", strerror(errno));
		return -1;
	}
	if (state_parse(text, st, &why) == -1) {
		*error = xprintf("the state makes no sense to baton %s: %s",
		    PACKAGE_VERSION, why);
		goto fail;
	}
	if ((st->config = state_config(st->config_fd, st->config_file,
	    &why)) == NULL) {
		*error = xprintf("the generation's configuration: %s", why);
		goto fail;
	}
	/* Its workers may be more or fewer than the file's: baton scale. */
	if (st->nsockets != st->config->nsockets) {
		*error = xprintf("the state has %zu sockets, its configuration "
		    "%zu", st->nsockets, st->config->nsockets);
		goto fail;
	}
	if (st->nworkers > CONFIG_MAX_WORKERS) {
		*error = xprintf("the state has %zu workers, more than %d",
		    st->nworkers, CONFIG_MAX_WORKERS);
		goto fail;
	}
	for (i = 0; i < st->nsockets; i++) {
		if (st->sockets[i].steered &&
		    st->config->sockets[i].addr.kind != ADDRESS_TCP) {
			*error = xprintf("the state steers socket %s, which "
			    "is not TCP", st->config->sockets[i].name);
			goto fail;
		}
	}
	return 0;
fail:
	free(why);
	state_clear(st);
	return -1;
}

int *
state_fds(const struct state *st, size_t *n)
{
	int	*fds;
	size_t	 i;

	fds = xcalloc(7 + 5 * st->nsockets + st->nworkers + st->nseats +
	    st->nstreams, sizeof(*fds));
	*n = 0;
	fds[(*n)++] = st->config_fd;
	fds[(*n)++] = st->notify_fd;
	if (st->control_fd != -1)
		fds[(*n)++] = st->control_fd;
	if (st->pidfile_fd != -1)
		fds[(*n)++] = st->pidfile_fd;
	if (st->keeper_fd != -1)
		fds[(*n)++] = st->keeper_fd;
	if (st->metrics.fd != -1)
		fds[(*n)++] = st->metrics.fd;
	for (i = 0; i < st->nsockets; i++) {
		fds[(*n)++] = st->sockets[i].fd;
		if (!st->sockets[i].steered)
			continue;
		fds[(*n)++] = st->sockets[i].steer.sockarray_fd;
		fds[(*n)++] = st->sockets[i].steer.route_fd;
		fds[(*n)++] = st->sockets[i].steer.counts_fd;
		if (st->members != NULL && st->members[i].index != -1)
			fds[(*n)++] = st->members[i].fd;
	}
	for (i = 0; i < st->nworkers; i++)
		if (st->workers[i].channel != -1)
			fds[(*n)++] = st->workers[i].channel;
	for (i = 0; i < st->nseats; i++)
		fds[(*n)++] = st->seats[i].fd;
	if (st->output_fd != -1)
		fds[(*n)++] = st->output_fd;
	for (i = 0; i < st->nstreams; i++)
		fds[(*n)++] = st->streams[i].fd;
	return fds;
}

void
state_clear(struct state *st)
{
	config_free(st->config);
	free(st->sockets);
	free(st->members);
	free(st->workers);
	free(st->seats);
	free(st->streams);
	free(st->text);
	memset(st, 0, sizeof(*st));
}
