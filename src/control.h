/*
 * The control socket: AF_UNIX stream, mode 0600, peers checked with
 * SO_PEERCRED (baton's uid or root). One command a connection, one line:
 *   reload        stream the reload's log lines, end with "ok ..." or
 *                 "error ..." ("error config: FILE:LINE: ..." for a bad file)
 *   reload --env 'KEY=VALUE' ...
 *                 the same, with variables for this and later reloads,
 *                 the words quoted as command_join() does (envfile.c)
 *   reload --canary P% [--env ...]
 *                 the same, with a canary of P% for this reload
 *   promote       end the canary under way: its generation is active now;
 *                 "ok ..." or "error nothing to promote ..."
 *   rollback      roll back the generation starting or in its canary;
 *                 "ok ..." or "error ..."
 *   status        one JSON object
 *   status text   the same as a table
 *   stop          stream the stop's log lines; closed when baton exits
 *   reopen        reopen the workers' output file: "ok ..." or "error ..."
 *   scale N       give the active generation N workers without a reload:
 *                 stream the log lines until the new ones serve or the
 *                 retired ones exited, end with "ok ..." or "error ..."
 * Anything else gets one "error ..." line and the connection is closed.
 */
#ifndef BATON_CONTROL_H
#define BATON_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct evbuffer;
struct control;

enum control_cmd {
	CONTROL_RELOAD,
	CONTROL_STATUS,		/* JSON */
	CONTROL_STATUS_TEXT,
	CONTROL_STOP,
	CONTROL_REOPEN,
	CONTROL_PROMOTE,
	CONTROL_ROLLBACK
};

/* The longest command line a client may send. */
#define CONTROL_LINE_MAX	256
/* ... and the longest "reload --env ...": values may be long. */
#define CONTROL_RELOAD_LINE_MAX	65536

/*
 * Parse one command line (without its '\n'; a trailing '\r' is allowed).
 * Returns 0, or -1 for anything else: unknown words, a NUL byte, too long.
 */
int		 control_parse(const char *line, size_t len,
		    enum control_cmd *cmd);
/*
 * Parse "scale N" (as control_parse() takes a line): N from 1 to
 * CONFIG_MAX_WORKERS into *n. Returns 0, or -1 with *error set ("scale:
 * 'abc' is not a number of workers from 1 to 1024").
 */
int		 control_parse_scale(const char *line, size_t len, int *n,
		    char **error);

/*
 * What the commands ask of the one who made the control socket, with the
 * argument given to control_new(). A reload's and a stop's progress come
 * back through the log and control_reload_*().
 */
struct control_ops {
	/*
	 * env: reload --env's "KEY=VALUE"s, NULL-terminated; or NULL.
	 * canary: reload --canary's share (config.h's unit); 0: none.
	 */
	void	(*reload)(void *arg, char *const *env, int canary);
	void	(*stop)(void *arg);
	/* Append the status: one JSON object (json), or a table. */
	void	(*status)(void *arg, struct evbuffer *out, int json);
	/* Reopen the output; answer with control_reopen_finished(). */
	void	(*reopen)(void *arg);
	/* The answer to promote, rollback: "ok ..." or "error ...", freed. */
	char	*(*promote)(void *arg);
	char	*(*rollback)(void *arg);
	/*
	 * Scale to n workers: the answer ("ok ..." or "error ...", freed),
	 * or NULL while under way: then control_scale_finished() ends it.
	 */
	char	*(*scale)(void *arg, int n);
};

/*
 * Listen at path. A socket there with a live baton behind it is refused
 * ("another baton (pid N) is already running ..."), one with another
 * program behind it too ("a socket that is not baton's ..."); a stale
 * one is replaced; anything else there is left alone and refused. With fd >= 0,
 * listen on that one instead: the socket baton held at path before it
 * upgraded in place. Returns NULL with *error set.
 */
struct control	*control_new(struct event_base *, const struct control_ops *,
		    void *arg, const char *path, int fd, char **error);
/* The listening descriptor, for an upgrade in place. */
int		 control_fd(const struct control *);
/* Close every connection (a stop client sees end of file), unlink. */
void		 control_free(struct control *);

/* Reload clients waiting for the next reload follow generation gen. */
void		 control_reload_started(struct control *, int gen);
/* The next reload failed before starting a generation. */
void		 control_reload_failed(struct control *, const char *line);
/* Clients following generation gen (ok: or any older one) are done. */
void		 control_reload_finished(struct control *, int gen, int ok,
		    const char *line);

/* Answer the client following a scale with line. */
void		 control_scale_finished(struct control *, const char *line);

/* Answer every client waiting for a reopen with line. */
void		 control_reopen_finished(struct control *, const char *line);

/*
 * Connect to the baton listening at path, waiting at most timeout_ms (0:
 * no bound) for a place in its queue, and ask the kernel for its pid
 * (SO_PEERCRED; 0 if unknown). Returns the connected socket, or -1 with
 * errno (ETIMEDOUT when the queue stayed full).
 */
int		 control_connect(const char *path, long timeout_ms,
		    pid_t *pid);

#endif
