/*
 * The keeper: a small process that outlives baton to end what baton can
 * no longer end. PR_SET_PDEATHSIG gives each worker's main process its
 * drain signal when baton dies, and nothing more: a worker that ignores
 * it, and every process that came from a worker, would keep the port
 * forever. The keeper, forked at start with nothing of baton's but the
 * read end of a pipe, sees the pipe close; unless baton said goodbye
 * first (a clean exit, or an upgrade's exec, which keeps the pipe), it
 * waits drain_timeout and then SIGKILLs every process that carries this
 * baton's BATON_PID in its environment and started after baton did.
 */
#ifndef BATON_KEEPER_H
#define BATON_KEEPER_H

#include <sys/types.h>

struct keeper;

/*
 * Fork the keeper with the deadline it waits after baton's death.
 * Returns NULL with errno set if it cannot be started.
 */
struct keeper	*keeper_new(long drain_ms);
/* Take over the keeper of the image before an upgrade in place. */
struct keeper	*keeper_restore(pid_t pid, int fd);
/* A new deadline: the longest drain_timeout of any live generation. */
void		 keeper_set_deadline(struct keeper *, long drain_ms);
/* Tell it baton exits on purpose, and let it go. */
void		 keeper_free(struct keeper *);
pid_t		 keeper_pid(const struct keeper *);
int		 keeper_fd(const struct keeper *);

/* In the keeper: parse one line of the pipe. Exposed for the unit tests. */
int		 keeper_parse(const char *line, long *drain_ms, int *bye);

#endif
