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

#include <stddef.h>

/* Remember the binary (/proc/self/exe) and the command line, at start. */
void	upgrade_init(int argc, char **argv);

/*
 * Check that the binary still runs (`baton --version` answers), then exec
 * it with the command line baton started with, fds kept open and
 * BATON_UPGRADE_FD=state_fd in the environment. Returns only on failure:
 * -1 with *error set, and everything as it was.
 */
int	upgrade_exec(int state_fd, const int *fds, size_t nfds, char **error);

/*
 * In the new image: the state descriptor (and BATON_UPGRADE_FD gone from
 * the environment), or -1 when baton was started afresh.
 */
int	upgrade_inherited(void);

/*
 * The signals baton handles, held back from just before the exec until
 * the new image watches them: blocked, they wait; they are never lost to
 * a default action. The new image unblocks them once its handlers are in.
 */
void	upgrade_block_signals(void);
void	upgrade_unblock_signals(void);

/* A memfd for the state, not close-on-exec; -1 with errno set. */
int	upgrade_memfd(const char *name);

#endif
