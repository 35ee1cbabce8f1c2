/*
 * Upgrading baton in place (SIGUSR2): baton execs its own binary, which
 * may have been replaced since it started, keeping its pid, and with it
 * its children, its held sockets and its place under systemd. What the
 * new image must know travels in a memfd named by BATON_UPGRADE_FD; the
 * descriptors it names stay open across exec and nothing else does.
 *
 * This module is the mechanics: where the binary is, the check before
 * the jump, and the exec itself. What the state says is state.c's
 * business, and when to jump handover.c's.
 */
#ifndef BATON_UPGRADE_H
#define BATON_UPGRADE_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Remember the binary and the command line, at start: argv[0] made
 * absolute, or found in PATH as execvp() would; /proc/self/exe only if
 * neither works.
 */
void	upgrade_init(int argc, char **argv);

struct event_base;
struct upgrade_check;

/*
 * Start checking, beside the event loop, that the binary can take the
 * state in sfd (and the configuration in cfd, which it names) over:
 * `baton --upgrade-check sfd` reads it as the new image would, acting on
 * nothing, and must answer "ok FORMAT" and exit 0. It runs in its own
 * process group with the two memfds and nothing else of baton's; at the
 * deadline (5 s) the whole group is killed. The caller reaps it: the pid
 * it reaps as upgrade_check_pid() goes to upgrade_check_done(). Returns
 * NULL with *error set.
 */
struct upgrade_check	*upgrade_check_new(struct event_base *, int sfd,
			    int cfd, char **error);
pid_t			 upgrade_check_pid(const struct upgrade_check *);
/*
 * Its process exited with status: 0 if it passed (and the exec may run
 * that very file), or -1 with *error set to what it said or why not.
 */
int			 upgrade_check_done(struct upgrade_check *, int status,
			    char **error);
/* Kill and reap the check if it still runs (a cancel), and free it. */
void			 upgrade_check_free(struct upgrade_check *);

/* The binary an upgrade runs, as a path; or NULL if unknown. */
const char		*upgrade_binary(void);

/*
 * Exec the binary, if it is still the file whose check last passed, with
 * the command line baton started with, fds kept open and
 * BATON_UPGRADE_FD=state_fd in the environment. The caller blocks the
 * signals it handles first: one that comes during the jump stays pending
 * until the new image watches and unblocks it, never meeting its default
 * action. Returns only on failure: -1 with *error set, and everything as
 * it was.
 */
int			 upgrade_exec(int state_fd, const int *fds,
			    size_t nfds, char **error);

/*
 * In the new image: the state descriptor (and BATON_UPGRADE_FD gone from
 * the environment), or -1 when baton was started afresh.
 */
int	upgrade_inherited(void);

/* A memfd for the state, close-on-exec; -1 with errno set. */
int	upgrade_memfd(const char *name);

#endif
