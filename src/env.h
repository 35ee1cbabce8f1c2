/*
 * The environment of one worker: baton's own, less every variable of the
 * protocols below, with HOME, USER, LOGNAME and SHELL of `user` when
 * baton changes the user, plus [env], plus the protocols themselves, all
 * at once:
 * systemd (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES; LISTEN_PIDFDID removed),
 * einhorn (EINHORN_FD_COUNT, EINHORN_FD_n), Server::Starter
 * (SERVER_STARTER_PORT, SERVER_STARTER_GENERATION), NOTIFY_SOCKET and
 * baton's (BATON_FD, BATON_GENERATION, BATON_WORKER, BATON_PID).
 */
#ifndef BATON_ENV_H
#define BATON_ENV_H

#include <sys/types.h>

struct address;
struct passwd;

struct env_params {
	pid_t		 pid;		/* the worker itself: LISTEN_PID */
	pid_t		 baton_pid;
	int		 generation;
	int		 worker;	/* slot */
	int		 channel_fd;	/* BATON_FD: 3 + number of sockets */
	const char	*notify_socket;	/* NULL: no NOTIFY_SOCKET */
	int		 preload;	/* add the interposer to LD_PRELOAD */
	const struct passwd *user;	/* `user` set: its HOME, USER, LOGNAME,
					   SHELL; NULL: baton's own kept */
	char *const	*vars;		/* [env]: "KEY=value", in order,
					   NULL-terminated; or NULL */
	char *const	*names;		/* the sockets', in order */
	const struct address *const *addrs; /* theirs, in the same order */
	size_t		 nsockets;
};

/* Returns a NULL-terminated, allocated environment; free with env_free(). */
char	**env_build(char *const *base, const struct env_params *p);
void	  env_free(char **);
/*
 * The bind() interposer: $BATON_PRELOAD_LIB in baton's environment if
 * set, else the one built beside the running binary (.libs/ of a build
 * folder), else where `make install` puts it.
 */
const char	 *env_preload_path(void);
/* Nonzero if the len bytes at name are a variable name: [A-Za-z_][A-Za-z0-9_]*. */
int	  env_name_ok(const char *name, size_t len);
/* Nonzero if name is one baton sets itself, so [env] may not set it. */
int	  env_reserved(const char *name);

#endif
