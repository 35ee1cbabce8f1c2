/*
 * Starting one worker process. The child receives its listening sockets
 * over its channel with SCM_RIGHTS, like any later socket request, places
 * them at 3, 4, ... and the channel right after them, and execs. Nothing
 * else of baton's survives into it.
 */
#ifndef BATON_SPAWN_H
#define BATON_SPAWN_H

#include <sys/types.h>

struct config;

struct spawn_params {
	const struct config	 *config;	/* env, directory, user, argv */
	char *const		 *argv;		/* expanded for this worker */
	const int		 *fds;		/* listening sockets, in order */
	int			  nfds;
	int			  generation;
	int			  worker;	/* slot */
	int			  drain_signal;	/* for PR_SET_PDEATHSIG */
	const char		 *notify_socket;
	/* Its stdout and stderr (pipes to baton), or -1: baton's own. */
	int			  out_fd;
	int			  err_fd;
	/*
	 * Until it is ready (worker.c): its session's autogroup at this
	 * nice value, and, with start_own, this added to its own; 0: none.
	 */
	int			  start_priority;
	int			  start_own;
};

/*
 * Fork and exec one worker. Returns its pid and stores baton's end of the
 * channel in *channel, or returns -1 with errno set (nothing is left
 * behind). A failure after fork (chdir, setuid, exec) arrives later as an
 * ERROR= message on the channel, and the child exits with status 127.
 */
pid_t	spawn_worker(const struct spawn_params *, int *channel);
/* In a child: every handler back to its default, nothing blocked. */
void	spawn_reset_signals(void);
/* In a child: close every descriptor above stderr except keep. */
void	spawn_close_others(int keep);

#endif
