/*
 * Upgrading baton in place (SIGUSR2): baton execs its own binary, which
 * may have been replaced since it started, keeping its pid, and with it
 * its children, its held sockets and its place under systemd. What the
 * new image must know travels in a memfd named by BATON_UPGRADE_FD; the
 * descriptors it names stay open across exec and nothing else does.
 *
 * This module is the mechanics: where the binary is, the checks before
 * the jump, the signals held back across it, and the exec itself. What
 * the state says is the supervisor's business.
 */
#ifndef BATON_UPGRADE_H
#define BATON_UPGRADE_H

#include <signal.h>
#include <stddef.h>

/* Remember the binary (/proc/self/exe) and the command line, at start. */
void	upgrade_init(int argc, char **argv);

/*
 * Check that the binary still runs (`baton --version` answers), then exec
 * it with the command line baton started with, fds kept open and
 * BATON_UPGRADE_FD=state_fd in the environment. The signals in held,
 * the ones baton handles, are blocked across the exec: they wait for the
 * new image to watch them and unblock them, never meeting their default
 * action. Returns only on failure: -1 with *error set, and everything as
 * it was.
 */
int	upgrade_exec(int state_fd, const int *fds, size_t nfds,
	    const sigset_t *held, char **error);

/*
 * In the new image: the state descriptor (and BATON_UPGRADE_FD gone from
 * the environment), or -1 when baton was started afresh.
 */
int	upgrade_inherited(void);

/* A memfd for the state, not close-on-exec; -1 with errno set. */
int	upgrade_memfd(const char *name);

#endif
