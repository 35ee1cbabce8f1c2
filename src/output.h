/*
 * The workers' stdout and stderr in one file (`output = FILE`), rotated
 * by size and reopened on request (SIGUSR1, `baton reopen`).
 *
 * Each worker's stdout and stderr is a pipe whose read end baton watches
 * on its loop: what comes out is cut into lines, each line prefixed
 *
 *   gen 3 worker 0 pid 1234 stdout: the line
 *
 * and queued whole. A writer thread takes the queue and writes each line
 * with one write() to the file, opened O_APPEND, so lines never mix. A
 * line longer than OUTPUT_LINE_MAX is written in pieces, every piece but
 * the last marked "stdout+" instead of "stdout:". The queue is bounded:
 * when the file is slow, a line that does not fit is dropped and counted,
 * and a write that fails (a full disk) drops its line and counts it too;
 * neither the loop nor the workers ever wait for the file.
 */
#ifndef BATON_OUTPUT_H
#define BATON_OUTPUT_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct output;

/* The longest piece of a line written as one line, prefix not counted. */
#define OUTPUT_LINE_MAX		8192
/* The most bytes queued for the writer thread; beyond, lines drop. */
#define OUTPUT_QUEUE_MAX	(4 * 1024 * 1024)

/* The counters `baton status` shows. */
struct output_counters {
	unsigned long long	 lines;		/* written */
	unsigned long long	 bytes;
	unsigned long long	 dropped_lines;	/* queue full, or write failed */
	unsigned long long	 dropped_bytes;
	unsigned long long	 rotations;
};

/*
 * What the writer thread has to say, told on the loop: the outcome of a
 * reopen (error NULL: done), and writes failing (error set) or working
 * again (error NULL).
 */
struct output_ops {
	void	(*reopened)(void *arg, const char *error);
	void	(*failing)(void *arg, const char *error);
};

/*
 * The file at path (absolute), appended to, created with mode 0640;
 * max_size 0 never rotates, else it rotates once it reaches max_size,
 * keeping keep files (path.1 the newest). With fd >= 0, that file is
 * taken as it is (an upgrade in place). Returns NULL with *error set.
 */
struct output	*output_new(struct event_base *, const char *path,
		    long long max_size, int keep, int fd,
		    const struct output_ops *, void *arg, char **error);
/* Write what is queued, stop the thread, close every pipe and the file. */
void		 output_free(struct output *);

/*
 * Watch fd, the read end of a worker's pipe, and take it: its lines are
 * prefixed with gen, slot, pid and stream ("stdout", "stderr"). It is
 * read until end of file (the last process holding the other end, which
 * may outlive the worker's main process, is gone), then closed.
 */
void		 output_watch(struct output *, int fd, int gen, int slot,
		    pid_t pid, const char *stream);
/* Reopen the file at its path; the answer comes through ops->reopened. */
void		 output_reopen(struct output *);
void		 output_counters(struct output *, struct output_counters *);

/*
 * Upgrading in place: each pipe as it is, with the part of a line read
 * and not yet ended, and the file. output_quiesce() writes what is
 * queued and stops the thread first, so that nothing is left in memory
 * but what output_save() returns; output_resume() starts it again if the
 * exec failed.
 */
struct output_saved {
	int		 fd;
	int		 gen;
	int		 slot;
	pid_t		 pid;
	const char	*stream;
	const char	*partial;	/* bytes, not a string */
	size_t		 npartial;
};
void		 output_quiesce(struct output *);
void		 output_resume(struct output *);
/* A new array of every pipe, its length in *n; it points into out. */
struct output_saved *output_save(struct output *, size_t *n);
int		 output_fd(struct output *);
const char	*output_path(const struct output *);
long long	 output_max_size(const struct output *);
int		 output_keep(const struct output *);
/* In the new image: watch a pipe again, with what was read of its line. */
void		 output_adopt(struct output *, const struct output_saved *);

/*
 * One line through the writer, as the pipes send theirs: for the tests.
 * Returns 0 if queued, -1 if dropped.
 */
int		 output_line(struct output *, const char *prefix,
		    const char *text, size_t len);
/* Block until the queue is written (tests only). */
void		 output_sync(struct output *);

#endif
