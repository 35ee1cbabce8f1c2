/*
 * A generation: the workers started from one configuration snapshot on
 * one set of held sockets.
 *
 *   starting -> active -> draining -> gone
 *   starting -> rolled back -> gone
 *
 * A generation moves only through generation_set_state(), and tells the
 * supervisor about every move.
 */
#ifndef BATON_GENERATION_H
#define BATON_GENERATION_H

#include <stddef.h>
#include <sys/types.h>

struct config;
struct event_base;
struct socket;
struct supervisor;
struct worker;

enum generation_state {
	GENERATION_STARTING,	/* waiting for every worker to be ready */
	GENERATION_ACTIVE,	/* serving; crashed workers restart */
	GENERATION_DRAINING,	/* drain signal sent; deadline running */
	GENERATION_ROLLED_BACK,	/* never became ready; being stopped */
	GENERATION_GONE		/* every process exited */
};

/*
 * A new generation takes c, frees it with itself, and takes one
 * reference to each of sockets (in the order of c->sockets).
 */
struct generation	*generation_new(struct supervisor *, int number,
			    struct config *c, struct socket **sockets);
/*
 * The same, already active: the generation baton ran before it upgraded
 * in place, started at started (clock_ms()); its workers are then taken
 * over one by one (worker_restore()).
 */
struct generation	*generation_restore(struct supervisor *, int number,
			    struct config *c, struct socket **sockets,
			    long long started);
void			 generation_free(struct generation *);

/* Spawn every worker. Returns 0, or -1 (logged) if one cannot be. */
int			 generation_start(struct generation *);
/* Send the drain signal everywhere and start the deadline. */
void			 generation_drain(struct generation *);
/* Never became ready: stop it like a drain, but say why. */
void			 generation_roll_back(struct generation *,
			    const char *why);
/* SIGKILL every process group now (fast stop). */
void			 generation_kill(struct generation *);

struct worker		*generation_find_pid(struct generation *, pid_t);
/* A draining generation none of whose processes lives is gone. */
void			 generation_recheck(struct generation *);

/* Called by worker.c. */
void			 generation_worker_ready(struct generation *,
			    struct worker *);
void			 generation_worker_not_ready(struct generation *,
			    struct worker *);
void			 generation_worker_exited(struct generation *,
			    struct worker *);
/* Its leftover processes were killed at their deadline: count it. */
void			 generation_worker_killed(struct generation *,
			    struct worker *);
void			 generation_restart_worker(struct generation *,
			    struct worker *);

int			 generation_number(const struct generation *);
enum generation_state	 generation_state(const struct generation *);
const char		*generation_state_name(enum generation_state);
const struct config	*generation_config(const struct generation *);
struct event_base	*generation_base(const struct generation *);
size_t			 generation_nworkers(const struct generation *);
struct worker		*generation_worker(const struct generation *,
			    size_t);
struct socket		*generation_socket(const struct generation *,
			    size_t);
/* Its held sockets' descriptors, in configuration order; n of them. */
const int		*generation_fds(const struct generation *, size_t *n);
/* Why it was rolled back, or NULL. */
const char		*generation_failure(const struct generation *);
long long		 generation_started(const struct generation *);
/* Workers killed at the drain deadline. */
int			 generation_killed(const struct generation *);

#endif
