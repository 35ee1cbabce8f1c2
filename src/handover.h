/*
 * Upgrading in place (SIGUSR2), from the ask to the exec: waiting for the
 * service to settle, the candidate's dry run of the state beside the
 * loop, leaving the loop, and the exec with the state; and in the new
 * image, taking the generation back from that state. upgrade.c is the
 * mechanics (the binary, the check's process, the exec), state.c the
 * format; what only the supervisor knows comes through the ops below.
 *
 * The upgrade's phase moves only through handover_set(), which logs:
 *
 *   none --asked, not settled--> waiting --settled--> checking
 *   none --asked, settled--> checking --passed--> jumping --> exec
 */
#ifndef BATON_HANDOVER_H
#define BATON_HANDOVER_H

#include <sys/types.h>

#include <signal.h>

struct event_base;
struct generation;
struct generation_env;
struct handover;
struct state;

/* What the handover asks of the one who made it, with its argument. */
struct handover_ops {
	/* baton runs, and is not stopping. */
	int			 (*running)(void *arg);
	/*
	 * The generation to hand over, if the service is settled enough
	 * for it; else NULL, and *why says what is under way.
	 */
	struct generation	*(*ready)(void *arg, const char **why);
	/*
	 * Fill in st what is the supervisor's own: counters, the last
	 * reload, its descriptors. The strings stay the supervisor's.
	 */
	void			 (*save)(void *arg, struct state *st);
	/*
	 * Right before the exec (resume 0): leave nothing in memory that
	 * the state does not carry. Then, if the exec failed (resume 1),
	 * carry on as before.
	 */
	void			 (*quiesce)(void *arg, int resume);
	/*
	 * The jump is near (on 1): take no new connection on baton's own
	 * HTTP listener, so that none is cut by the exec (they wait in its
	 * queue for the new image); or the jump is off (on 0).
	 */
	void			 (*pause)(void *arg, int on);
};

/*
 * handled: the signals the supervisor watches, blocked from the jump out
 * of the loop to the exec. Returns NULL if its timer cannot be made.
 */
struct handover	*handover_new(struct event_base *, const sigset_t *handled,
		    const struct handover_ops *, void *arg);
/* Cancels a check under way (handover_cancel()). */
void		 handover_free(struct handover *);
/* SIGUSR2: upgrade once settled; asked again meanwhile, the same one. */
void		 handover_ask(struct handover *);
/* baton is stopping: the check goes, with its memfds. */
void		 handover_cancel(struct handover *);
/* The check's pid, 0 when none runs: one of baton's own children. */
pid_t		 handover_check_pid(const struct handover *);
/*
 * The check's process exited. If it passed, the signals are blocked and
 * the loop left: the caller then runs handover_jump().
 */
void		 handover_checked(struct handover *, int status);
/* The loop was left for the jump. */
int		 handover_jumping(const struct handover *);
/*
 * Out of the loop: act on what came before the signals were blocked,
 * then exec if the service is still what was checked. Returns if the
 * exec failed or did not happen, with the signals unblocked.
 */
void		 handover_jump(struct handover *);

/*
 * In the new image: read the state the old one left in sfd into st, and
 * close sfd and the configuration's memfd. Returns 0, or -1 with *error
 * set (sfd closed all the same).
 */
int			 handover_read(int sfd, struct state *st,
			    char **error);
/*
 * The generation st names, taken over with its sockets and workers as if
 * they had been this image's all along. It takes st's configuration.
 */
struct generation	*handover_restore(struct state *st,
			    const struct generation_env *);

#endif
