/*
 * The bind() trap: held sockets for programs whose bind() never goes
 * through libc (statically linked ones, Go), where the LD_PRELOAD
 * interposer cannot reach. A seccomp filter, installed in the worker
 * before exec, stops each bind() and listen() in a user notification;
 * baton answers from its event loop. A bind() to the address of a held
 * socket gets that socket installed at the application's descriptor
 * (SECCOMP_IOCTL_NOTIF_ADDFD) and returns 0; a listen() on a held socket
 * returns 0 without touching its backlog and reports readiness; anything
 * else continues into the kernel untouched. A notification baton cannot
 * answer (the target died, an address it cannot read) continues too, so
 * no worker ever hangs on it.
 */
#ifndef BATON_TRAP_H
#define BATON_TRAP_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct trap;

/*
 * In the child, before exec: install the filter for this process and all
 * it starts. baton as root installs it with CAP_SYS_ADMIN, before the
 * worker's privileges are dropped, so setuid programs keep working in the
 * worker; otherwise the kernel requires no_new_privs, which is set first.
 * Returns the notification listener (close-on-exec), or -1 with errno set.
 */
int		 trap_install(void);

/* What a trap tells its owner. */
struct trap_ops {
	/* A listen() on a held socket: the worker is listening. */
	void	(*listening)(void *arg);
	/* A line for the log: "bind 0.0.0.0:8080 (fd 3): held socket http". */
	void	(*log)(void *arg, int warn, const char *line);
};

/*
 * Answer the notifications of listener from base, against the n held
 * sockets fds (which must outlive the trap). Only main, the worker's own
 * process, is given held sockets, as with the interposer: a program it
 * runs as a child binds on its own. Takes listener. Returns the trap, or
 * NULL with errno set (listener is then closed).
 */
struct trap	*trap_new(struct event_base *, int listener, pid_t main,
		    const int *fds, size_t n, const struct trap_ops *,
		    void *arg);
void		 trap_free(struct trap *);
/* Whether fd is a seccomp notification listener (checked before trap_new). */
int		 trap_is_listener(int fd);

#endif
