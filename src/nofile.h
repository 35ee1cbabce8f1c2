/*
 * RLIMIT_NOFILE for many sockets. baton raises its own soft limit when a
 * configuration needs more descriptors than it was started with, never
 * past the hard limit; a worker gets the soft limit baton was started
 * with, raised only as far as its sockets need (a select() program
 * breaks on descriptors at FD_SETSIZE and above, so no larger limit than
 * that is handed out unasked).
 */
#ifndef BATON_NOFILE_H
#define BATON_NOFILE_H

#include <stddef.h>
#include <sys/resource.h>

/* baton's own descriptors besides its sockets and workers. */
#define NOFILE_BASE		64
/* Per worker while two generations overlap: channel, pipes, pidfd. */
#define NOFILE_PER_WORKER	8

/*
 * Remember the soft limit baton was started with, what workers get; the
 * first call counts (an upgrade in place passes on the first image's).
 */
void	 nofile_init(void);
void	 nofile_set_start(rlim_t);
rlim_t	 nofile_start(void);
/* The soft limit now. */
rlim_t	 nofile_soft(void);
/*
 * The most sockets a configuration can have under the hard limit: a new
 * worker lays its sockets out above their final places before moving
 * them, so twice the sockets, and NOFILE_BASE.
 */
size_t	 nofile_max_sockets(void);
/*
 * What a configuration may use: the sockets twice, NOFILE_PER_WORKER for
 * each worker and, for each, its sockets once more: a generation's
 * workers are spawned together and the sockets queued for each count
 * against the sender's soft limit until its child takes them (the
 * kernel's per-user count of descriptors in flight, ETOOMANYREFS, for a
 * baton without CAP_SYS_RESOURCE). And NOFILE_BASE.
 */
rlim_t	 nofile_want(size_t nsockets, int workers);
/*
 * Raise the soft limit to want (at most the hard limit) when want is
 * more than the start-up soft limit and the soft limit now. *got is the
 * soft limit after. Returns 0, or -1 with errno set (setrlimit()).
 */
int	 nofile_raise(rlim_t want, rlim_t *got);
/*
 * A worker's soft limit: the start-up one, or, when its nfds sockets,
 * channel and stdio take more than half of it, twice those (at most the
 * hard limit).
 */
rlim_t	 nofile_worker(size_t nfds);
/* In a child before exec: set nofile_worker(nfds). 0, or -1 with errno. */
int	 nofile_set_worker(size_t nfds);

#endif
