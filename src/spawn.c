#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "baton.h"
#include "channel.h"
#include "config.h"
#include "env.h"
#include "envfile.h"
#include "nofile.h"
#include "proc.h"
#include "spawn.h"
#include "trap.h"
#include "xmalloc.h"

extern char	**environ;

/* Everything below runs in the child, between fork() and exec(). */

static void __attribute__((noreturn))
spawn_fail(int ch, const char *what, const char *arg, int err)
{
	char	 msg[BATON_MSG_MAX];
	int	 n;

	n = snprintf(msg, sizeof(msg), "ERROR=%s%s%s: %s", what,
	    arg != NULL ? " " : "", arg != NULL ? arg : "", strerror(err));
	if (n > 0 && ch >= 0)
		(void)channel_send(ch, msg, (size_t)n < sizeof(msg) ?
		    (size_t)n : sizeof(msg) - 1, NULL, 0);
	_exit(127);
}

void
spawn_close_others(int keep)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3, keep - 1, 0) == 0 &&
	    syscall(SYS_close_range, keep + 1, ~0U, 0) == 0)
		return;
#endif
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;		/* everything is close-on-exec anyway */
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (fd > 2 && fd != keep && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

void
spawn_reset_signals(void)
{
	struct sigaction	 sa;
	sigset_t		 none;
	int			 sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Receive the sockets and lay out 3..3+n-1 = sockets, 3+n = channel.
 * Everything is first moved above the target range so that no dup2()
 * clobbers a descriptor still to be moved. dup2() clears close-on-exec
 * on exactly the descriptors the worker keeps.
 */
static int
spawn_layout(int ch, int nfds, int *chout)
{
	int	 got[CONFIG_MAX_SOCKETS + 1], tmp[CONFIG_MAX_SOCKETS + 1];
	int	 i, total;

	/* In as many messages as SCM_MAX_FD makes: channel_send_set(). */
	if (nfds < 0 || nfds > CONFIG_MAX_SOCKETS)
		spawn_fail(ch, "receive sockets", NULL, EBADMSG);
	if (channel_recv_set(ch, got, (size_t)nfds) == -1)
		spawn_fail(ch, "receive sockets", NULL, errno);
	got[nfds] = ch;
	total = nfds + 1;
	for (i = 0; i < total; i++) {
		tmp[i] = fcntl(got[i], F_DUPFD_CLOEXEC, 3 + total);
		if (tmp[i] == -1)
			spawn_fail(ch, "dup", NULL, errno);
		close(got[i]);
	}
	for (i = 0; i < total; i++) {
		if (dup2(tmp[i], 3 + i) == -1)
			spawn_fail(tmp[nfds], "dup2", NULL, errno);
	}
	for (i = 0; i < total; i++)
		close(tmp[i]);
	*chout = 3 + nfds;
	return 0;
}

/*
 * Returns the passwd entry of `user` (getpwnam()'s static storage: valid
 * until the next lookup), or NULL when no user is set.
 */
static const struct passwd *
spawn_drop_privileges(int ch, const struct config *c)
{
	struct passwd	*pw = NULL;
	struct group	*gr;
	gid_t		 gid;

	if (c->user == NULL && c->group == NULL)
		return NULL;
	errno = 0;
	if (c->user != NULL && (pw = getpwnam(c->user)) == NULL)
		spawn_fail(ch, "getpwnam", c->user, errno ? errno : ENOENT);
	if (c->group != NULL) {
		errno = 0;
		if ((gr = getgrnam(c->group)) == NULL)
			spawn_fail(ch, "getgrnam", c->group,
			    errno ? errno : ENOENT);
		gid = gr->gr_gid;
	} else
		gid = pw->pw_gid;
	if (pw != NULL) {
		if (initgroups(pw->pw_name, gid) == -1)
			spawn_fail(ch, "initgroups", c->user, errno);
	} else if (setgroups(1, &gid) == -1)
		spawn_fail(ch, "setgroups", c->group, errno);
	if (setgid(gid) == -1)
		spawn_fail(ch, "setgid", c->group ? c->group : c->user, errno);
	if (pw != NULL && setuid(pw->pw_uid) == -1)
		spawn_fail(ch, "setuid", c->user, errno);
	return pw;
}

/*
 * The bind() trap, for programs the LD_PRELOAD interposer cannot reach:
 * its listener goes to baton over the channel. Installed before the
 * privileges go, so that root needs no no_new_privs. A kernel that
 * refuses it leaves the worker as it was; baton logs why.
 */
static void
spawn_trap(int ch)
{
	char	 msg[BATON_MSG_MAX];
	int	 fd, n;

	if ((fd = trap_install()) == -1) {
		n = snprintf(msg, sizeof(msg), "TRAP=seccomp: %s",
		    strerror(errno));
		(void)channel_send(ch, msg, (size_t)n < sizeof(msg) ?
		    (size_t)n : sizeof(msg) - 1, NULL, 0);
		return;
	}
	if (channel_send(ch, "TRAP=1", 6, &fd, 1) == -1)
		spawn_fail(ch, "send the seccomp listener", NULL, errno);
	close(fd);
}

/* Put fd at target, kept across exec; -1 leaves target as baton had it. */
static void
spawn_stdio(int ch, int fd, int target)
{
	if (fd == -1)
		return;
	if (fd == target ? fcntl(fd, F_SETFD, 0) == -1 :
	    dup2(fd, target) == -1)
		spawn_fail(ch, "dup2 output", NULL, errno);
}

static void __attribute__((noreturn))
spawn_child(const struct spawn_params *sp, int ch, pid_t parent)
{
	const struct config	 *c = sp->config;
	struct env_params	  ep;
	const struct passwd	 *pw;
	const struct address	**addrs;
	char			**envp, **vars;
	size_t			  i;

	spawn_reset_signals();
	if (setsid() == -1)
		spawn_fail(ch, "setsid", NULL, errno);
	/*
	 * setsid() made it an autogroup of its own, which is what the
	 * scheduler weighs against the serving generation's where the CPU
	 * cgroup is the root one. One thread yet: whatever it starts
	 * inherits its own value, until baton sets both back on readiness
	 * (and says so if the autogroup refused: nothing to stop for).
	 */
	if (sp->start_priority > 0) {
		(void)proc_autogroup_nice(getpid(), sp->start_priority);
		if (sp->start_own && setpriority(PRIO_PROCESS, 0,
		    getpriority(PRIO_PROCESS, 0) + sp->start_priority) == -1)
			spawn_fail(ch, "setpriority", NULL, errno);
	}
	spawn_stdio(ch, sp->out_fd, STDOUT_FILENO);
	spawn_stdio(ch, sp->err_fd, STDERR_FILENO);
	spawn_close_others(ch);
	spawn_layout(ch, sp->nfds, &ch);
	/* Not baton's own, raised for all its sockets and workers. */
	if (nofile_set_worker((size_t)sp->nfds) == -1)
		spawn_fail(ch, "setrlimit RLIMIT_NOFILE", NULL, errno);
	if (sp->config->preload)
		spawn_trap(ch);
	pw = spawn_drop_privileges(ch, sp->config);
	/*
	 * After the credential change, which clears it. If baton died
	 * before this point the signal would never come: check by hand.
	 */
	if (prctl(PR_SET_PDEATHSIG, sp->drain_signal) == -1)
		spawn_fail(ch, "prctl PR_SET_PDEATHSIG", NULL, errno);
	if (getppid() != parent)
		_exit(127);
	if (chdir(sp->config->directory) == -1)
		spawn_fail(ch, "chdir", sp->config->directory, errno);

	memset(&ep, 0, sizeof(ep));
	ep.pid = getpid();
	ep.baton_pid = parent;
	ep.generation = sp->generation;
	ep.worker = sp->worker;
	ep.channel_fd = ch;
	ep.notify_socket = sp->notify_socket;
	ep.preload = sp->config->preload;
	ep.user = pw;
	/* The child's own: its exec, or its _exit(), frees them. */
	vars = envfile_vars(c);
	addrs = xcalloc(c->nsockets + 1, sizeof(*addrs));
	for (i = 0; i < c->nsockets; i++)
		addrs[i] = &c->sockets[i].addr;
	ep.vars = vars;
	ep.names = c->names;
	ep.addrs = addrs;
	ep.nsockets = c->nsockets;
	envp = env_build(environ, &ep);
	/* execvp() searches the PATH of the worker's own environment. */
	environ = envp;
	execvp(sp->argv[0], sp->argv);
	spawn_fail(ch, "exec", sp->argv[0], errno);
}

pid_t
spawn_worker(const struct spawn_params *sp, int *channel)
{
	sigset_t	 all, old;
	char		 msg[32];
	int		 pair[2], saved, n;
	pid_t		 pid, parent = getpid();

	if (channel_pair(pair) == -1)
		return -1;
	/*
	 * Queued before fork: the child reads them first thing. A
	 * socketpair's peer has no queue limit (max_dgram_qlen binds only
	 * other senders), so every message of the set fits.
	 */
	n = snprintf(msg, sizeof(msg), "SOCKETS=%d", sp->nfds);
	if (channel_send_set(pair[0], msg, n, sp->fds, sp->nfds) == -1)
		goto fail;

	/* No handler of baton's may run in the child before it resets. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(pair[0]);
		spawn_child(sp, pair[1], parent);
	}
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		errno = saved;
		goto fail;
	}
	close(pair[1]);
	*channel = pair[0];
	return pid;
fail:
	saved = errno;
	close(pair[0]);
	close(pair[1]);
	errno = saved;
	return -1;
}
