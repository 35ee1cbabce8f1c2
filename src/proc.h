/*
 * What the kernel says of processes, from /proc: who a process's parent,
 * group and session are, when it started, and which worker's environment
 * it carries. baton is a child subreaper, so every process that came from
 * a worker stays its descendant; these are the facts it tracks them by.
 */
#ifndef BATON_PROC_H
#define BATON_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc {
	pid_t			 pid;
	pid_t			 ppid;
	pid_t			 pgid;
	pid_t			 sid;
	unsigned long long	 start;	/* clock ticks after boot */
};

/*
 * One process, from /proc/PID/stat. Returns 0, or -1 with errno set
 * (ESRCH when it is gone; a zombie is still there).
 */
int	proc_stat(pid_t, struct proc *);
/* Parse the text of a stat file into p. Returns 0 or -1 (malformed). */
int	proc_parse_stat(const char *, struct proc *);
/*
 * The calling process's children (baton's, and the orphans it adopted as
 * subreaper), from /proc/self/task/TID/children or, where the kernel
 * has no such file, a walk of /proc. Returns how many, stored in a new
 * array at *pids, or -1 with errno set.
 */
ssize_t	proc_children(pid_t **pids);
/* Every process, in a new array at *procs. Returns how many, or -1. */
ssize_t	proc_table(struct proc **procs);
/*
 * The value of NAME in the environment pid started with, into buf.
 * Returns 0, or -1 (not set, not readable, or longer than len - 1).
 */
int	proc_getenv(pid_t, const char *name, char *buf, size_t len);
/*
 * Whether procs[i] descends from ancestor (ancestor itself does not),
 * following the parents in procs (n entries).
 */
int	proc_descends(const struct proc *, size_t n, size_t i, pid_t ancestor);

/*
 * Whether pid dies at once on sig: one thread, and neither a handler
 * for sig nor sig ignored (from /proc/PID/status). -1 if it cannot say.
 */
int	proc_dies_on(pid_t, int sig);
/*
 * pid's state letter (R, S, D, T, Z...) from /proc/PID/stat, or 0.
 */
char	proc_state(pid_t);
/*
 * The system call pid is blocked in, from /proc/PID/syscall, into *nr
 * and its first argument into *arg0. Returns 0, or -1 (running, gone,
 * or not readable).
 */
int	proc_syscall(pid_t, long *nr, long *arg0);
/*
 * Whether pid holds a connection accepted from one of the n listening
 * sockets fds (baton's copies): a stream socket of its own, not
 * listening, whose local address one of them would have accepted it on.
 * Each socket is looked at through a copy taken with pidfd_getfd().
 * Returns 1 or 0, or -1 (it cannot say: gone, or the kernel refuses).
 */
int	proc_holds_accepted(pid_t, const int *fds, size_t n);
/*
 * Whether pid is in accept() on one of fds (n of them: the same open
 * socket, by device and inode) and holds no connection accepted from
 * one. A process stopped just after an accept() that returned still
 * shows the call in /proc/PID/syscall, the connection in its hands.
 */
int	proc_in_accept(pid_t, const int *fds, size_t n);
/*
 * Send sig to p only if its pid still names the very process that p
 * describes (same start time; held by a pidfd meanwhile where the kernel
 * has them). Returns 0, or -1 with errno set.
 */
int	proc_kill(const struct proc *, int sig);
/*
 * Send sig to each of roots and every process that descends from one of
 * them, each with proc_kill().
 * Returns how many were signalled, or -1 with errno set.
 */
int	proc_kill_tree(const pid_t *roots, size_t nroots, int sig);
/*
 * The resident memory, in bytes, of every process of group pgid, of
 * roots and of what descends from them: one worker's processes, each
 * counted once. Returns -1 with errno set if /proc cannot be read.
 */
long long	proc_memory(pid_t pgid, const pid_t *roots, size_t nroots);

/*
 * Set the nice value of pid's session's autogroup (sched(7)): where the
 * CPU cgroup is the root one, the scheduler shares it between sessions
 * first, so a process's own nice weighs only against its session. Raising
 * it, or lowering it down to 0, needs no privilege. Returns 0 (also where
 * the kernel has no autogroups), or -1 with errno set.
 */
int	proc_autogroup_nice(pid_t, int nice);
/*
 * Whether this process may set nice values down to nice on its own
 * processes: CAP_SYS_NICE, or an RLIMIT_NICE that reaches it.
 */
int	proc_can_renice(int nice);
/*
 * Set nice on every thread of the process group pgid and of every process
 * that is, or descends from, one of roots (n of them) in another group.
 * Returns 0, or -1 with errno set (what is left is at its old value).
 */
int	proc_renice(pid_t pgid, const pid_t *roots, size_t n, int nice);

#endif
