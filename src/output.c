#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "output.h"
#include "xmalloc.h"

/* Reads of one pipe per wakeup, so that a chatty worker cannot starve. */
#define OUTPUT_READS	16
#define OUTPUT_MODE	0640	/* the group may read the logs, no one else */

struct output_line {
	STAILQ_ENTRY(output_line) entry;
	size_t			 len;
	char			 text[];
};
STAILQ_HEAD(output_queue, output_line);

/* One pipe of one worker, read on the loop. */
struct output_stream {
	struct output		*out;
	LIST_ENTRY(output_stream) entry;
	int			 fd;
	struct event		*ev;
	int			 gen;
	int			 slot;
	pid_t			 pid;
	char			 stream[8];
	char			 prefix[96];
	size_t			 len;		/* of a line not yet ended */
	char			 buf[OUTPUT_LINE_MAX];
};

struct output {
	struct event_base	*base;
	const struct output_ops	*ops;
	void			*arg;
	char			*path;
	long long		 max_size;	/* 0: never rotate */
	int			 keep;
	LIST_HEAD(, output_stream) streams;
	int			 wake[2];	/* the thread tells the loop */
	struct event		*wake_ev;

	/* Shared with the writer thread, under lock. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* to the thread: work */
	pthread_cond_t		 idle;		/* from it: queue written */
	pthread_t		 thread;
	int			 running;
	int			 stop;
	struct output_queue	 queue;
	size_t			 queued;	/* bytes */
	int			 busy;		/* writing a batch */
	int			 reopen;	/* asked */
	int			 reopened;	/* done, to tell the loop */
	char			*reopen_error;
	char			*error;		/* writes fail: why */
	int			 error_told;	/* the loop has said so */
	struct output_counters	 counters;

	/* The writer thread's own (the loop's only while it is stopped). */
	int			 fd;
	long long		 size;
};

static int	output_stream_drain(struct output_stream *);
static void	output_stream_lines(struct output_stream *, int eof);

/* Open path for appending: a new descriptor, or -1 with errno. */
static int
output_open(const char *path, long long *size)
{
	struct stat	 sb;
	int		 fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, OUTPUT_MODE);
	if (fd == -1)
		return -1;
	*size = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_size : 0;
	return fd;
}

/* From the thread: have the loop look at the shared state. */
static void
output_poke(struct output *out)
{
	char	 c = 0;

	(void)!write(out->wake[1], &c, 1);	/* full: a poke is pending */
}

/* path.N, allocated. */
static char *
output_numbered(const struct output *out, int n)
{
	return n == 0 ? xstrdup(out->path) : xprintf("%s.%d", out->path, n);
}

/*
 * path -> path.1 -> ... -> path.keep, the oldest replaced by rename(),
 * then a new path. Thread only. Returns 0, or -1 with *why set.
 */
static int
output_rotate(struct output *out, char **why)
{
	char	*from, *to;
	long long size;
	int	 n, fd;

	for (n = out->keep; n > 0; n--) {
		from = output_numbered(out, n - 1);
		to = output_numbered(out, n);
		if (rename(from, to) == -1 && errno != ENOENT) {
			*why = xprintf("rotate: rename %s %s: %s", from, to,
			    strerror(errno));
			free(from);
			free(to);
			return -1;
		}
		free(from);
		free(to);
	}
	if ((fd = output_open(out->path, &size)) == -1) {
		*why = xprintf("rotate: open %s: %s", out->path,
		    strerror(errno));
		return -1;
	}
	close(out->fd);
	out->fd = fd;
	out->size = size;
	return 0;
}

/* Thread only; the answer is for the loop. */
static char *
output_do_reopen(struct output *out)
{
	long long	 size;
	int		 fd;

	if ((fd = output_open(out->path, &size)) == -1)
		return xprintf("open %s: %s", out->path, strerror(errno));
	if (out->fd != -1)
		close(out->fd);
	out->fd = fd;
	out->size = size;
	return NULL;
}

/*
 * Write one line with one write(): O_APPEND makes it land whole after
 * whatever is there. Returns 0, or -1 with errno (a short write is
 * ENOSPC: the rest did not fit).
 */
static int
output_write_line(struct output *out, const struct output_line *l)
{
	ssize_t	 n;

	do
		n = write(out->fd, l->text, l->len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != l->len) {
		errno = ENOSPC;
		return -1;
	}
	out->size += n;
	return 0;
}

/* Write a batch taken off the queue, out of the lock; then count it. */
static void
output_write_batch(struct output *out, struct output_queue *batch)
{
	struct output_counters	 c;
	struct output_line	*l;
	char			*why = NULL;
	int			 rotated = 0;

	memset(&c, 0, sizeof(c));
	while ((l = STAILQ_FIRST(batch)) != NULL) {
		STAILQ_REMOVE_HEAD(batch, entry);
		if (out->fd == -1 || output_write_line(out, l) == -1) {
			if (why == NULL)
				why = out->fd == -1 ?
				    xprintf("%s is not open", out->path) :
				    xprintf("write %s: %s", out->path,
				    strerror(errno));
			c.dropped_lines++;
			c.dropped_bytes += l->len;
		} else {
			c.lines++;
			c.bytes += l->len;
			free(why);
			why = NULL;
		}
		free(l);
		if (out->fd != -1 && out->max_size > 0 &&
		    out->size >= out->max_size && why == NULL) {
			if (output_rotate(out, &why) == 0)
				rotated++;
		}
	}
	pthread_mutex_lock(&out->lock);
	out->counters.lines += c.lines;
	out->counters.bytes += c.bytes;
	out->counters.dropped_lines += c.dropped_lines;
	out->counters.dropped_bytes += c.dropped_bytes;
	out->counters.rotations += rotated;
	/* Tell the loop when it starts failing and when it works again. */
	if ((why != NULL) != (out->error != NULL)) {
		free(out->error);
		out->error = why;
		why = NULL;
		output_poke(out);
	}
	pthread_mutex_unlock(&out->lock);
	free(why);
}

static void *
output_thread(void *arg)
{
	struct output		*out = arg;
	struct output_queue	 batch;
	char			*error;

	pthread_mutex_lock(&out->lock);
	for (;;) {
		if (STAILQ_EMPTY(&out->queue) && !out->reopen) {
			pthread_cond_broadcast(&out->idle);
			if (out->stop)
				break;
			pthread_cond_wait(&out->cond, &out->lock);
			continue;
		}
		if (out->reopen) {
			out->reopen = 0;
			out->busy = 1;
			pthread_mutex_unlock(&out->lock);
			error = output_do_reopen(out);
			pthread_mutex_lock(&out->lock);
			out->busy = 0;
			free(out->reopen_error);
			out->reopen_error = error;
			out->reopened = 1;
			output_poke(out);
			continue;
		}
		/* The whole queue at once: the loop fills a new one meanwhile. */
		STAILQ_INIT(&batch);
		STAILQ_CONCAT(&batch, &out->queue);
		out->queued = 0;
		out->busy = 1;
		pthread_mutex_unlock(&out->lock);
		output_write_batch(out, &batch);
		pthread_mutex_lock(&out->lock);
		out->busy = 0;
	}
	pthread_mutex_unlock(&out->lock);
	return NULL;
}

/* What the thread left for the loop: a reopen's answer, a change of health. */
static void
output_woken(evutil_socket_t fd, short what, void *arg)
{
	struct output	*out = arg;
	char		 buf[64], *reopen_error = NULL, *error = NULL;
	int		 reopened = 0, tell = 0;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&out->lock);
	if (out->reopened) {
		reopened = 1;
		out->reopened = 0;
		reopen_error = out->reopen_error;
		out->reopen_error = NULL;
	}
	if ((out->error != NULL) != out->error_told) {
		tell = 1;
		out->error_told = out->error != NULL;
		error = out->error != NULL ? xstrdup(out->error) : NULL;
	}
	pthread_mutex_unlock(&out->lock);
	if (tell)
		out->ops->failing(out->arg, error);
	if (reopened)
		out->ops->reopened(out->arg, reopen_error);
	free(error);
	free(reopen_error);
}

static int
output_start(struct output *out)
{
	int	 r;

	out->stop = 0;
	if ((r = pthread_create(&out->thread, NULL, output_thread,
	    out)) != 0) {
		errno = r;
		return -1;
	}
	out->running = 1;
	return 0;
}

struct output *
output_new(struct event_base *base, const char *path, long long max_size,
    int keep, int fd, const struct output_ops *ops, void *arg, char **error)
{
	struct output	*out;
	struct stat	 sb;

	out = xcalloc(1, sizeof(*out));
	out->base = base;
	out->ops = ops;
	out->arg = arg;
	out->path = xstrdup(path);
	out->max_size = max_size;
	out->keep = keep;
	out->wake[0] = out->wake[1] = -1;
	LIST_INIT(&out->streams);
	STAILQ_INIT(&out->queue);
	pthread_mutex_init(&out->lock, NULL);
	pthread_cond_init(&out->cond, NULL);
	pthread_cond_init(&out->idle, NULL);
	if (fd >= 0) {
		out->fd = fd;
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		out->size = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ?
		    sb.st_size : 0;
	} else if ((out->fd = output_open(path, &out->size)) == -1) {
		*error = xprintf("output %s: %s", path, strerror(errno));
		goto fail;
	}
	if (pipe2(out->wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (out->wake_ev = event_new(base, out->wake[0], EV_READ | EV_PERSIST,
	    output_woken, out)) == NULL || event_add(out->wake_ev, NULL) == -1) {
		*error = xprintf("output: %s", strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	if (output_start(out) == -1) {
		*error = xprintf("output: pthread_create: %s", strerror(errno));
		goto fail;
	}
	return out;
fail:
	output_free(out);
	return NULL;
}

static void
output_stream_free(struct output_stream *s)
{
	LIST_REMOVE(s, entry);
	if (s->ev != NULL)
		event_free(s->ev);
	close(s->fd);
	free(s);
}

void
output_quiesce(struct output *out)
{
	if (!out->running)
		return;
	pthread_mutex_lock(&out->lock);
	out->stop = 1;
	pthread_cond_signal(&out->cond);
	pthread_mutex_unlock(&out->lock);
	pthread_join(out->thread, NULL);
	out->running = 0;
}

void
output_resume(struct output *out)
{
	if (!out->running && output_start(out) == -1)
		log_error("output: pthread_create: %s; the workers' lines are "
		    "dropped", strerror(errno));
}

void
output_free(struct output *out)
{
	struct output_line	*l;
	struct output_stream	*s;

	if (out == NULL)
		return;
	/* What the last workers wrote before baton stopped still goes out. */
	while (!LIST_EMPTY(&out->streams)) {
		s = LIST_FIRST(&out->streams);
		if (output_stream_drain(s) == 0) {
			output_stream_lines(s, 1);
			output_stream_free(s);
		}
	}
	output_quiesce(out);
	while ((l = STAILQ_FIRST(&out->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&out->queue, entry);
		free(l);
	}
	if (out->wake_ev != NULL)
		event_free(out->wake_ev);
	if (out->wake[0] != -1)
		close(out->wake[0]);
	if (out->wake[1] != -1)
		close(out->wake[1]);
	if (out->fd != -1)
		close(out->fd);
	pthread_mutex_destroy(&out->lock);
	pthread_cond_destroy(&out->cond);
	pthread_cond_destroy(&out->idle);
	free(out->reopen_error);
	free(out->error);
	free(out->path);
	free(out);
}

/* Queue prefix, sep, text, newline as one line; or drop and count it. */
static int
output_queue_line(struct output *out, const char *prefix, const char *sep,
    const char *text, size_t len)
{
	struct output_line	*l;
	size_t			 plen = strlen(prefix), slen = strlen(sep);
	size_t			 total = plen + slen + len + 1;
	int			 queued = 0;

	/* Built out of the lock, which only links it. */
	l = xmalloc(sizeof(*l) + total);
	memcpy(l->text, prefix, plen);
	memcpy(l->text + plen, sep, slen);
	memcpy(l->text + plen + slen, text, len);
	l->text[total - 1] = '\n';
	l->len = total;
	pthread_mutex_lock(&out->lock);
	if (out->queued + total <= OUTPUT_QUEUE_MAX) {
		out->queued += total;
		STAILQ_INSERT_TAIL(&out->queue, l, entry);
		pthread_cond_signal(&out->cond);
		queued = 1;
	} else {
		out->counters.dropped_lines++;
		out->counters.dropped_bytes += total;
	}
	pthread_mutex_unlock(&out->lock);
	if (!queued) {
		free(l);
		return -1;
	}
	return 0;
}

int
output_line(struct output *out, const char *prefix, const char *text,
    size_t len)
{
	return output_queue_line(out, prefix, ": ", text, len);
}

void
output_sync(struct output *out)
{
	pthread_mutex_lock(&out->lock);
	while (out->running && (!STAILQ_EMPTY(&out->queue) || out->busy ||
	    out->reopen))
		pthread_cond_wait(&out->idle, &out->lock);
	pthread_mutex_unlock(&out->lock);
}

/*
 * Every ended line in the buffer goes out; a buffer full without an end
 * goes out as a piece marked to continue. What is left moves to the start.
 */
static void
output_stream_lines(struct output_stream *s, int eof)
{
	char	*p = s->buf, *nl;
	size_t	 left = s->len;

	while ((nl = memchr(p, '\n', left)) != NULL) {
		(void)output_queue_line(s->out, s->prefix, ": ", p, nl - p);
		left -= nl + 1 - p;
		p = nl + 1;
	}
	if (left == sizeof(s->buf)) {
		(void)output_queue_line(s->out, s->prefix, "+ ", p, left);
		left = 0;
	} else if (eof && left > 0) {
		/* Its last line, without a newline. */
		(void)output_queue_line(s->out, s->prefix, ": ", p, left);
		left = 0;
	}
	if (left > 0 && p != s->buf)
		memmove(s->buf, p, left);
	s->len = left;
}

/* Read what is there; returns 1 if s reached its end and is freed. */
static int
output_stream_drain(struct output_stream *s)
{
	ssize_t			 n;
	int			 i;

	for (i = 0; i < OUTPUT_READS; i++) {
		n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			/* Every process that held the other end is gone. */
			if (n == -1)
				log_worker(LOG_LEVEL_WARN, s->gen, s->slot,
				    s->pid, "output: read %s: %s", s->stream,
				    strerror(errno));
			output_stream_lines(s, 1);
			output_stream_free(s);
			return 1;
		}
		s->len += n;
		output_stream_lines(s, 0);
	}
	return 0;
}

static void
output_stream_read(evutil_socket_t fd, short what, void *arg)
{
	(void)output_stream_drain(arg);
}

static struct output_stream *
output_stream_new(struct output *out, int fd, int gen, int slot, pid_t pid,
    const char *stream)
{
	struct output_stream	*s;

	s = xcalloc(1, sizeof(*s));
	s->out = out;
	s->fd = fd;
	s->gen = gen;
	s->slot = slot;
	s->pid = pid;
	snprintf(s->stream, sizeof(s->stream), "%s", stream);
	snprintf(s->prefix, sizeof(s->prefix), "gen %d worker %d pid %ld %s",
	    gen, slot, (long)pid, s->stream);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	LIST_INSERT_HEAD(&out->streams, s, entry);
	if ((s->ev = event_new(out->base, fd, EV_READ | EV_PERSIST,
	    output_stream_read, s)) == NULL || event_add(s->ev, NULL) == -1)
		fatal(70, "event_add: cannot watch a worker's output");
	return s;
}

void
output_watch(struct output *out, int fd, int gen, int slot, pid_t pid,
    const char *stream)
{
	(void)output_stream_new(out, fd, gen, slot, pid, stream);
}

void
output_adopt(struct output *out, const struct output_saved *os)
{
	struct output_stream	*s;

	s = output_stream_new(out, os->fd, os->gen, os->slot, os->pid,
	    os->stream);
	s->len = os->npartial < sizeof(s->buf) ? os->npartial : 0;
	memcpy(s->buf, os->partial, s->len);
}

void
output_reopen(struct output *out)
{
	pthread_mutex_lock(&out->lock);
	out->reopen = 1;
	pthread_cond_signal(&out->cond);
	pthread_mutex_unlock(&out->lock);
}

void
output_counters(struct output *out, struct output_counters *c)
{
	pthread_mutex_lock(&out->lock);
	*c = out->counters;
	pthread_mutex_unlock(&out->lock);
}

struct output_saved *
output_save(struct output *out, size_t *n)
{
	struct output_stream	*s;
	struct output_saved	*saved;
	size_t			 i = 0;

	*n = 0;
	LIST_FOREACH(s, &out->streams, entry)
		(*n)++;
	saved = xcalloc(*n + 1, sizeof(*saved));
	LIST_FOREACH(s, &out->streams, entry)
		saved[i++] = (struct output_saved){ s->fd, s->gen, s->slot,
		    s->pid, s->stream, s->buf, s->len };
	return saved;
}

int
output_fd(struct output *out)
{
	int	 fd;

	/* The thread's, which a rotation changes. */
	pthread_mutex_lock(&out->lock);
	fd = out->fd;
	pthread_mutex_unlock(&out->lock);
	return fd;
}

const char *
output_path(const struct output *out)
{
	return out->path;
}

long long
output_max_size(const struct output *out)
{
	return out->max_size;
}

int
output_keep(const struct output *out)
{
	return out->keep;
}
