/*
 * A generation: the workers started from one configuration snapshot on
 * one set of held sockets.
 *
 *   starting -> active -> draining -> gone
 *   starting -> rolled back -> gone
 *   starting -> canary -> active		(generation_canary() set a share)
 *   canary -> rolled back
 *
 * A generation moves only through generation_set_state(), and tells its
 * owner about every move through the ops it was created with.
 */
#ifndef BATON_GENERATION_H
#define BATON_GENERATION_H

#include <stddef.h>
#include <sys/types.h>

struct config;
struct event_base;
struct generation;
struct output;
struct socket;
struct worker;
struct worker_sys;

enum generation_state {
	GENERATION_STARTING,	/* waiting for every worker to be ready */
	GENERATION_CANARY,	/* every worker ready; on trial with a share
				   of new connections until promoted */
	GENERATION_ACTIVE,	/* serving; crashed workers restart */
	GENERATION_DRAINING,	/* drain signal sent; deadline running */
	GENERATION_ROLLED_BACK,	/* never became ready; being stopped */
	GENERATION_GONE		/* every process exited */
};

/* What a generation tells its owner. */
struct generation_ops {
	/* It moved: generation_state() says where. */
	void	(*changed)(struct generation *, void *);
	/* A worker crashed while it started or served. */
	void	(*crashed)(struct generation *, void *);
	/* A process was SIGKILLed at a deadline: its work was lost. */
	void	(*killed)(struct generation *, void *);
	/* A probe of one of its workers connects from port next; -port:
	   that attempt is over (or NULL). */
	void	(*probing)(struct generation *, int port, void *);
};

/* What a generation needs from above, handed down when it is created. */
struct generation_env {
	struct event_base		*base;
	const char			*notify_path;	/* NOTIFY_SOCKET */
	const struct worker_sys		*sys;		/* NULL: worker_sys_real */
	struct output			*output;	/* NULL: output = inherit */
	const struct generation_ops	*ops;
	void				*arg;
};

/*
 * A new generation takes c, frees it with itself, and takes one
 * reference to each of sockets (in the order of c->sockets).
 */
struct generation	*generation_new(const struct generation_env *,
			    int number, struct config *c,
			    struct socket **sockets);
/*
 * The same, already active: the generation baton ran before it upgraded
 * in place, started at started (clock_ms()); its workers are then taken
 * over one by one (worker_restore()).
 */
struct generation	*generation_restore(const struct generation_env *,
			    int number, struct config *c,
			    struct socket **sockets, long long started);
void			 generation_free(struct generation *);

/*
 * Before it starts: once every worker is ready, go on trial for ms with
 * share (of STEER_CANARY_WHOLE) of new connections instead of becoming
 * active at once. The canary ends with generation_promote() (also when
 * ms pass) or a roll back: a worker exits, its probe fails
 * probe_successes times in a row (worker_trial()), or
 * generation_roll_back().
 */
void			 generation_canary(struct generation *,
			    unsigned share, long ms);
/* Its share of new connections while in its canary, else 0. */
unsigned		 generation_canary_share(const struct generation *);
/* In its canary: the ms left before it is promoted; else -1. */
long long		 generation_canary_left(const struct generation *);
/* End its canary: active now (why goes to the log). 0, or -1 if not in one. */
int			 generation_promote(struct generation *,
			    const char *why);
/* Spawn every worker. Returns 0, or -1 (logged) if one cannot be. */
int			 generation_start(struct generation *);
/* Send the drain signal everywhere and start the deadline. */
void			 generation_drain(struct generation *);
/* Never became ready, or failed its canary: stop it like a drain, but say why. */
void			 generation_roll_back(struct generation *,
			    const char *why);
/* SIGKILL every process group now (fast stop). */
void			 generation_kill(struct generation *);

struct worker		*generation_find_pid(struct generation *, pid_t);
/* A draining generation none of whose processes lives is gone. */
void			 generation_recheck(struct generation *);

int			 generation_number(const struct generation *);
enum generation_state	 generation_state(const struct generation *);
const char		*generation_state_name(enum generation_state);
const struct config	*generation_config(const struct generation *);
size_t			 generation_nworkers(const struct generation *);
struct worker		*generation_worker(const struct generation *,
			    size_t);
struct socket		*generation_socket(const struct generation *,
			    size_t);
/*
 * Socket i steered (see socket.h): the index in its group of the socket
 * this generation's workers accept on (the held one too, when they were
 * given it before steering began); -1 when not steered.
 */
int			 generation_member(struct generation *, size_t i);
/*
 * Upgrading in place: socket i's member of its own, its descriptor (the
 * index in *index); -1 when it has none (not steered, or on the held
 * socket). And in the new image, the same taken over by the generation
 * generation_restore() made: 0, or -1 (logged, fd closed: its workers
 * keep theirs, and its queue migrates when they close it).
 */
int			 generation_own_member(const struct generation *,
			    size_t i, int *index);
int			 generation_restore_member(struct generation *,
			    size_t i, int index, int fd);
/* Its workers accept on socket i itself, not on a socket of their own. */
int			 generation_on_anchor(const struct generation *,
			    size_t i);
/*
 * New connections steered to it (its members' counts, socket.h), while
 * those sockets are held; -1 if none of its sockets is steered.
 */
long long		 generation_connections(const struct generation *);
/* Why it was rolled back, or NULL. */
const char		*generation_failure(const struct generation *);
long long		 generation_started(const struct generation *);
/* Gone after serving: ms from its drain signal to its last process gone;
   -1 if it never drained (rolled back, or not gone yet). */
long long		 generation_drained(const struct generation *);
/* Workers killed at the drain deadline. */
int			 generation_killed(const struct generation *);

#endif
