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

#include <stddef.h>
#include <sys/types.h>

struct channel_msg;
struct config;
struct event_base;
struct probe;
struct probe_ops;
struct probe_params;
struct socket;
struct spawn_params;
struct worker;

enum worker_state {
	WORKER_STARTING,	/* spawned, not ready yet */
	WORKER_READY,		/* ready; its generation is still starting */
	WORKER_ACTIVE,		/* serving in the active generation */
	WORKER_DRAINING,	/* sent the drain signal, or its main process
				   exited and others that came from it live */
	WORKER_EXITED		/* no process (maybe waiting to restart) */
};

/* How the last process of a slot ended. */
enum worker_exit {
	WORKER_EXIT_NONE,
	WORKER_EXIT_CLEAN,	/* status 0, or the drain signal when asked */
	WORKER_EXIT_KILLED,	/* SIGKILL from baton at a deadline */
	WORKER_EXIT_CRASHED	/* anything else */
};

/* What a worker tells the generation it belongs to. */
struct worker_ops {
	/* It said it is ready (or ready_delay passed). */
	void	(*ready)(struct worker *, void *);
	/* Still starting at ready_timeout. */
	void	(*not_ready)(struct worker *, void *);
	/* Its main process exited: worker_exit_kind() says how. */
	void	(*exited)(struct worker *, void *);
	/* What its main process left was SIGKILLed at the deadline. */
	void	(*killed)(struct worker *, void *);
	/* Its restart backoff passed: spawn it again (worker_start()). */
	void	(*restart)(struct worker *, void *);
	/*
	 * Its probe connects from port next, or (a negative port) that
	 * attempt is over (NULL: not asked): steering sends that port's
	 * connections to the worker's generation meanwhile.
	 */
	void	(*probing)(struct worker *, int port, void *);
	/*
	 * On trial (worker_trial()), its probe failed probe_successes
	 * times in a row; worker_probe_failure() says why. NULL: not asked.
	 */
	void	(*probe_failed)(struct worker *, void *);
};

/*
 * The process side of a worker: spawning, signals, the clock and what
 * /proc says. worker_sys_real is the system's; the unit tests drive the
 * state machine with one that only records.
 */
struct worker_sys {
	pid_t		(*spawn)(const struct spawn_params *, int *channel);
	int		(*kill)(pid_t, int);
	int		(*kill_tree)(const pid_t *, size_t, int);
	int		(*dies_on)(pid_t, int);
	char		(*state)(pid_t);
	int		(*in_accept)(pid_t, const int *fds, size_t n);
	long long	(*now)(void);		/* monotonic ms */
	/* ready = probe: probe.c's, or what a test fakes. */
	struct probe	*(*probe_new)(struct event_base *,
			    const struct probe_params *,
			    const struct probe_ops *, void *);
	int		(*probe_run)(struct probe *);
	void		(*probe_free)(struct probe *);
	/* Resident bytes of a group and what descends from roots (proc.c). */
	long long	(*memory)(pid_t pgid, const pid_t *roots, size_t n);
	/* Nice of a group and what descends from roots (proc.c). */
	int		(*renice)(pid_t pgid, const pid_t *roots, size_t n,
			    int nice);
	int		(*autogroup_nice)(pid_t, int nice);
};
extern const struct worker_sys worker_sys_real;

/*
 * What a worker needs from above, handed down when it is created: the
 * generation keeps it, and it outlives each of its workers.
 */
struct worker_ctx {
	struct event_base	*base;
	const struct config	*config;
	int			 generation;	/* its number, for the log */
	struct socket *const	*sockets;	/* held, in configuration order */
	const int		*fds;		/* their descriptors */
	size_t			 nsockets;
	const struct worker_sys	*sys;
	const struct worker_ops	*ops;
	void			*arg;
};

struct worker		*worker_new(const struct worker_ctx *, int slot);
void			 worker_free(struct worker *);

/* Spawn the process. Returns 0, or -1 with errno set (not logged). */
int			 worker_start(struct worker *,
			    const struct spawn_params *);
/* Generation became active: a ready worker is now active. */
void			 worker_activate(struct worker *);
/*
 * Its generation is on trial (a canary): probe the ready worker on, every
 * probe_interval, until it is activated or stops; a run of failures is
 * told through ops->probe_failed. Nothing without a probe configured.
 */
void			 worker_trial(struct worker *);
/*
 * Send sig to the process group and to the processes it left to baton;
 * cancel a pending restart.
 */
void			 worker_drain(struct worker *, int sig);
/*
 * SIGKILL the process group and every process that came from the worker
 * now; lost work is counted by the caller.
 */
void			 worker_kill(struct worker *);
/*
 * The reaper saw pid exit: the main process or one it adopted. Returns
 * 1 if pid was the worker's, else 0.
 */
int			 worker_reaped(struct worker *, pid_t, int status);
/*
 * pid, of group pgid, came from this worker and was left to baton when
 * its parent died; how says how it was traced here. The slot is free
 * only once it is gone too; a draining worker sends it the drain signal.
 */
void			 worker_adopt(struct worker *, pid_t, pid_t pgid,
			    const char *how);
/* pid is the worker's main process or one it adopted. */
int			 worker_owns(const struct worker *, pid_t);
pid_t			 worker_pgid(const struct worker *);
/* The processes it left to baton that still live: how many, and each. */
size_t			 worker_norphans(const struct worker *);
pid_t			 worker_orphan(const struct worker *, size_t);
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
/* now() when its process was spawned; 0 if never. */
long long		 worker_started(const struct worker *);
/* The resident bytes of all its processes; -1 if it cannot say. */
long long		 worker_memory(const struct worker *);
int			 worker_restarts(const struct worker *);
enum worker_state	 worker_state(const struct worker *);
enum worker_exit	 worker_exit_kind(const struct worker *);
const char		*worker_state_name(enum worker_state);
/* The last STATUS= the worker sent, or NULL. */
const char		*worker_status_text(const struct worker *);
/* ready = probe: why its last attempt failed, or NULL if it passed. */
const char		*worker_probe_failure(const struct worker *);
/* On trial: its probe's failures in a row. */
int			 worker_probe_fails(const struct worker *);
/* "exited with status 1", "killed by signal 9 (SIGKILL)", ... */
const char		*worker_exit_reason(const struct worker *);

#endif
