/*
 * One worker slot of a generation and the process that fills it. The
 * process may be replaced (restart with backoff); the slot, its number
 * and its restart count stay.
 *
 *   starting -> ready -> active -> draining -> exited
 *
 * A worker moves only through worker_set_state(), which logs the change.
 */
#ifndef BATON_WORKER_H
#define BATON_WORKER_H

#include <sys/types.h>

struct channel_msg;
struct generation;
struct spawn_params;
struct worker;

enum worker_state {
	WORKER_STARTING,	/* spawned, not ready yet */
	WORKER_READY,		/* ready; its generation is still starting */
	WORKER_ACTIVE,		/* serving in the active generation */
	WORKER_DRAINING,	/* sent the drain signal */
	WORKER_EXITED		/* no process (maybe waiting to restart) */
};

/* How the last process of a slot ended. */
enum worker_exit {
	WORKER_EXIT_NONE,
	WORKER_EXIT_CLEAN,	/* status 0, or the drain signal when asked */
	WORKER_EXIT_KILLED,	/* SIGKILL from baton at a deadline */
	WORKER_EXIT_CRASHED	/* anything else */
};

struct worker		*worker_new(struct generation *, int slot);
void			 worker_free(struct worker *);

/* Spawn the process. Returns 0, or -1 with errno set (not logged). */
int			 worker_start(struct worker *,
			    const struct spawn_params *);
/* Generation became active: a ready worker is now active. */
void			 worker_activate(struct worker *);
/* Send sig to the process group; cancel a pending restart. */
void			 worker_drain(struct worker *, int sig);
/* SIGKILL the process group now; lost work is counted by the caller. */
void			 worker_kill(struct worker *);
/* The reaper saw the process exit with this wait status. */
void			 worker_exited(struct worker *, int status);
/* A message from the worker, by its channel or NOTIFY_SOCKET. */
void			 worker_message(struct worker *,
			    const struct channel_msg *);
/* Restart after the slot's backoff (100 ms doubling to 30 s). */
void			 worker_restart_later(struct worker *);

/*
 * Upgrading in place: what the new image needs to take a worker over,
 * and taking it over, in a generation that is active. A process goes on
 * as active; a slot without one (waiting for its restart) restarts after
 * the shortest backoff.
 */
struct worker_saved {
	pid_t		 pid;		/* 0: none */
	pid_t		 pgid;
	int		 channel;	/* baton's end, or -1 */
	int		 restarts;
	long		 backoff;
	long long	 started;	/* clock_ms(), monotonic: same after exec */
	int		 preload;
	const char	*status;	/* its last STATUS=, or NULL */
};
void			 worker_save(const struct worker *,
			    struct worker_saved *);
void			 worker_restore(struct worker *,
			    const struct worker_saved *);
pid_t			 worker_pid(const struct worker *);
int			 worker_slot(const struct worker *);
int			 worker_alive(const struct worker *);
int			 worker_restarts(const struct worker *);
enum worker_state	 worker_state(const struct worker *);
enum worker_exit	 worker_exit_kind(const struct worker *);
const char		*worker_state_name(enum worker_state);
const char		*worker_exit_name(enum worker_exit);
/* The last STATUS= the worker sent, or NULL. */
const char		*worker_status_text(const struct worker *);
/* "exited with status 1", "killed by signal 9 (SIGKILL)", ... */
const char		*worker_exit_reason(const struct worker *);

#endif
