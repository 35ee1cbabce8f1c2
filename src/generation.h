/*
 * A generation: the workers started from one configuration snapshot on
 * one set of held sockets.
 *
 *   starting -> active -> draining -> gone
 *   starting -> rolled back -> gone
 *   starting -> canary -> active		(generation_canary() set a share,
 *					 or generation_warmup() a warm-up)
 *   canary -> rolled back
 *
 * A generation moves only through generation_set_state(), and tells its
 * owner about every move through the ops it was created with.
 *
 * Within a generation, one slot at a time may change hands while the
 * generation keeps its state: with rollout = rolling its slots start one
 * after the other, each serving as soon as it is ready; the owner retires
 * the older generation's worker in that slot (it drains, and is not
 * restarted), and may put it back (start it again). Recycling starts a
 * successor beside a slot's worker, which takes the slot once ready
 * while the worker it replaces drains.
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
	/*
	 * Slot k changed hands without a change of state: a rolling
	 * generation's slot serves, a successor took over, or the last
	 * process of a retired (or rolled back, or drained) worker is gone;
	 * or an active generation's worker died, or serves again once
	 * restarted. The route is to be made again; generation_slot() says
	 * the rest.
	 */
	void	(*slot)(struct generation *, int k, void *);
	/*
	 * The scale generation_scale() began is over: every new slot
	 * serves, or every retired one is gone (why NULL); or it failed
	 * (why says how) and the generation has the count it had. Or NULL.
	 */
	void	(*scaled)(struct generation *, const char *why, void *);
};

/* What a slot holds, for the owner of a rollout. */
enum generation_slot {
	SLOT_NONE,	/* no such slot */
	SLOT_WAITING,	/* rolling: not started yet */
	SLOT_STARTING,	/* its worker is on its way up */
	SLOT_SERVING,	/* its worker is active */
	SLOT_DOWN,	/* its worker exited (a restart may be due) */
	SLOT_RETIRING,	/* handed over: its worker drains */
	SLOT_RETIRED	/* handed over, and its processes are gone */
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
 * in place, started at started (clock_ms()), with slots workers (c's, or
 * what baton scale made it); they are then taken over one by one
 * (worker_restore()).
 */
struct generation	*generation_restore(const struct generation_env *,
			    int number, struct config *c,
			    struct socket **sockets, long long started,
			    size_t slots);
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
/*
 * Before it starts: once every worker is ready and its canary (if any)
 * is promoted, warm up for ms, beside generation beside: still on trial
 * (in GENERATION_CANARY), its share of new connections rises from the
 * canary's (or 5%) to the whole in steps, each told to the owner through
 * ops->changed without a change of state; then it is active. With none
 * of its sockets steered it gets no share: both accept meanwhile.
 */
void			 generation_warmup(struct generation *, long ms,
			    int beside);
/* Its share of new connections while in its canary or warm-up, else 0. */
unsigned		 generation_canary_share(const struct generation *);
/* In its canary: the ms left before it is promoted; else -1. */
long long		 generation_canary_left(const struct generation *);
/* Warming up: the ms left before it is active; else -1. */
long long		 generation_warmup_left(const struct generation *);
/*
 * End its canary (why goes to the log): active now, 0; or, with a
 * warm-up to come, warming up, 1. Warming up: active now, 0. -1 if in
 * neither.
 */
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

/*
 * Rolling: start the next slot that never started. Returns 1, 0 if every
 * slot started, or -1 (rolled back, logged).
 */
int			 generation_start_next(struct generation *);
int			 generation_rolling(const struct generation *);
enum generation_slot	 generation_slot(const struct generation *, int k);
/* Some process of a worker in slot k (serving, successor, retiring) lives. */
int			 generation_slot_alive(const struct generation *,
			    int k);
/*
 * Slot k serves no more (a newer generation serves it): route it away,
 * then its worker drains as a generation's would, and is not restarted.
 */
void			 generation_retire(struct generation *, int k);
/*
 * A retired slot whose processes are gone starts again, like a restart.
 * Returns 0, or -1 if k is not such a slot of an active generation.
 */
int			 generation_put_back(struct generation *, int k);
/*
 * Recycle slot k of an active generation: a successor starts (why is
 * logged), takes the slot once ready, and the worker drains. One at a
 * time. Returns 0, or -1 with errno (EBUSY: one is under way; EINVAL: k
 * does not serve; EAGAIN: it could not start, logged).
 */
int			 generation_recycle(struct generation *, int k,
			    const char *why);
/*
 * Recycle the first serving worker over max_age (plus what was drawn at
 * its start) or max_memory. Returns 1 if one started.
 */
int			 generation_recycle_due(struct generation *);
/* A successor under way stops: the worker it was to replace serves on. */
void			 generation_recycle_cancel(struct generation *);
/*
 * Give an active generation n slots (1 to CONFIG_MAX_WORKERS) without a
 * reload. Fewer: the highest slots are routed away and retire (their
 * workers drain as an old generation's do); the scale is over once their
 * processes are gone. More: the new slots start (one at a time with
 * rollout = rolling), each serving once ready; the scale is over once
 * all are, and fails if one exits or misses ready_timeout before: then
 * every new slot retires again. ops->scaled says when it is over.
 * Returns 1 (under way), 0 (n slots already), or -1 with errno: EINVAL
 * (not active, or n out of range), EBUSY (a scale is under way), EAGAIN
 * (a worker could not be started: logged, and nothing changed).
 */
int			 generation_scale(struct generation *, size_t n);
/* The scale under way: 1 up, -1 down, 0 none. */
int			 generation_scaling(const struct generation *);
/* Workers recycled in place. */
int			 generation_recycled(const struct generation *);
/*
 * Socket i's route from this generation: the member of each slot that
 * serves appended to active (at most max; with users, every slot started,
 * for a generation that nothing else serves before it); the member of
 * the one worker starting beside others (a successor, a rolling slot, or
 * the generation's own while it starts) in *candidate, or -1. Returns how
 * many were appended.
 */
size_t			 generation_route(struct generation *, size_t i,
			    int users, unsigned *active, size_t max,
			    int *candidate);

struct worker		*generation_find_pid(struct generation *, pid_t);
/* A draining generation none of whose processes lives is gone. */
void			 generation_recheck(struct generation *);

int			 generation_number(const struct generation *);
enum generation_state	 generation_state(const struct generation *);
const char		*generation_state_name(enum generation_state);
const struct config	*generation_config(const struct generation *);
/*
 * Every worker: slot i's in i, for i below generation_slots(), then
 * successors and retiring ones; generation_worker_role() says which.
 */
size_t			 generation_nworkers(const struct generation *);
size_t			 generation_slots(const struct generation *);
/* "serving", "successor", "retiring", or "waiting" (rolling, not started). */
const char		*generation_worker_role(const struct generation *,
			    size_t);
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
/*
 * The same for the worker in slot's own member of socket i (a rolling
 * generation's slots, a recycled worker's): its descriptor, or -1. In the
 * new image, a slot's taken over: 0, or -1 (logged, fd closed).
 */
int			 generation_slot_member(const struct generation *,
			    size_t slot, size_t i, int *index);
int			 generation_restore_slot_member(struct generation *,
			    size_t slot, size_t i, int index, int fd);
/*
 * Every slot on members of its own, none of the generation's (a rolling
 * one's): so is a restarted worker. Set back by the new image.
 */
int			 generation_seated(const struct generation *);
void			 generation_restore_seated(struct generation *);
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
