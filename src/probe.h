/*
 * Readiness probes: one attempt at a time, on the event loop. An http
 * probe sends "METHOD PATH HTTP/1.1" and reads the status line only; a
 * tcp probe connects; an exec probe runs a command in its own process
 * group. tcp and http connect from a port bound first, which is reported
 * before the connection is made, so that it can be told apart from a
 * client's by the kernel's steering.
 */
#ifndef BATON_PROBE_H
#define BATON_PROBE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

struct config_probe;
struct event_base;
struct probe;

struct probe_params {
	const struct config_probe *spec;	/* copied */
	/*
	 * The held socket's own address (getsockname()): tcp, tcp6 or unix.
	 * A wildcard one is probed on loopback. NULL: none (exec only).
	 */
	const struct sockaddr	*target;
	socklen_t		 target_len;
	const char		*directory;	/* exec: where; NULL: baton's */
	int			 generation;	/* exec: BATON_GENERATION */
	long			 timeout;	/* ms, one attempt */
};

struct probe_ops {
	/* tcp, http: the attempt's local port, bound, not yet connected. */
	void	(*bound)(void *arg, int port);
	/*
	 * The attempt is over: passed, or not and reason ("HTTP 503",
	 * "timed out after 1s", "exit status 2"). It may free the probe.
	 */
	void	(*done)(void *arg, int passed, const char *reason);
};

/* Returns NULL with errno EINVAL if tcp or http has no target. */
struct probe	*probe_new(struct event_base *, const struct probe_params *,
		    const struct probe_ops *, void *arg);
/* Cancels an attempt in flight: no done; an exec's group is killed. */
void		 probe_free(struct probe *);
/*
 * Start one attempt. Returns 0; its end comes through done, never from
 * within probe_run(). -1 with errno EBUSY while one is in flight.
 */
int		 probe_run(struct probe *);
/* Whether an attempt is in flight. */
int		 probe_busy(const struct probe *);

/*
 * For the one reaper: whether pid was an exec probe's process, which is
 * then told its status (status as waitpid() gives it). A probe freed or
 * timed out still owns its killed process until it is reaped.
 */
int		 probe_reaped(pid_t pid, int status);
/* The exec probes' processes not reaped yet: n of them, allocated. */
pid_t		*probe_pids(size_t *n);

#endif
