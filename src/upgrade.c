#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "state.h"
#include "upgrade.h"
#include "xmalloc.h"

#define UPGRADE_ENV		"BATON_UPGRADE_FD"
#define UPGRADE_CHECK_MS	5000	/* for the candidate's dry run */

extern char	**environ;

static char	*exe;		/* the binary, as a path */
static char	**args;		/* the command line baton started with */

/*
 * The binary as baton was started: argv[0], made absolute, or found in
 * PATH as execvp() would. A path and not the inode, and symbolic links
 * left unresolved: a package upgrade replaces the file, a deployment
 * repoints a link, and either way the new binary is the one to run.
 */
static char *
upgrade_find(const char *name)
{
	const char	*path, *p, *end;
	char		*cwd, *try;

	if (strchr(name, '/') != NULL) {
		if (*name == '/')
			return xstrdup(name);
		if ((cwd = getcwd(NULL, 0)) == NULL)
			return NULL;
		try = xprintf("%s/%s", cwd, name);
		free(cwd);
		return try;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		try = xprintf("%.*s/%s", (int)(end - p), end > p ? p : ".",
		    name);
		if (access(try, X_OK) == 0) {
			if (*try == '/')
				return try;
			free(try);
			return upgrade_find(try);
		}
		free(try);
		if (*end == '\0')
			break;
	}
	return NULL;
}

void
upgrade_init(int argc, char **argv)
{
	char	 buf[PATH_MAX];
	ssize_t	 n;
	int	 i;

	if (argc > 0)
		exe = upgrade_find(argv[0]);
	if (exe == NULL &&
	    (n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		exe = xstrdup(buf);
	}
	args = xcalloc(argc + 1, sizeof(*args));
	for (i = 0; i < argc; i++)
		args[i] = xstrdup(argv[i]);
}

const char *
upgrade_binary(void)
{
	return exe;
}

int
upgrade_memfd(const char *name)
{
	/* Only the check and the exec get it, each clearing the flag. */
	return memfd_create(name, MFD_CLOEXEC);
}

/* What the check found, so that the exec runs the very file it checked. */
struct upgrade_binary {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
};

struct upgrade_check {
	pid_t			 pid;		/* 0 once reaped */
	int			 out;		/* its stdout and stderr */
	struct event		*readable;
	struct event		*deadline;
	char			 said[256];
	size_t			 len;
	int			 timed_out;
	struct upgrade_binary	 bin;
};

static struct upgrade_binary	 checked;	/* the last check that passed */
static int			 have_checked;

static int
upgrade_stat(struct upgrade_binary *b)
{
	struct stat	 st;

	if (stat(exe, &st) == -1)
		return -1;
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->size = st.st_size;
	b->mtime = st.st_mtim;
	return 0;
}

/* Read what it says; past said[]'s room, read on and drop it. */
static void
upgrade_check_read(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade_check	*c = arg;
	char			 drop[256];
	ssize_t			 n;

	for (;;) {
		if (c->len < sizeof(c->said) - 1)
			n = read(c->out, c->said + c->len,
			    sizeof(c->said) - 1 - c->len);
		else
			n = read(c->out, drop, sizeof(drop));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return;		/* EAGAIN: more later */
		if (n == 0) {
			event_del(c->readable);
			return;
		}
		if (c->len < sizeof(c->said) - 1)
			c->len += n;
	}
}

/* Out of time: its whole group goes, a shell script's children too. */
static void
upgrade_check_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade_check	*c = arg;

	c->timed_out = 1;
	if (c->pid > 0)
		kill(-c->pid, SIGKILL);
}

struct upgrade_check *
upgrade_check_new(struct event_base *base, int sfd, int cfd, char **error)
{
	struct upgrade_check	*c;
	struct timeval		 tv;
	sigset_t		 all, old, none;
	char			 arg[16];
	pid_t			 pid;
	int			 p[2], null, sig;

	if (exe == NULL) {
		*error = xstrdup("the binary's path is unknown "
		    "(/proc/self/exe could not be read at start)");
		return NULL;
	}
	snprintf(arg, sizeof(arg), "%d", sfd);
	if (pipe2(p, O_CLOEXEC) == -1) {
		*error = xprintf("pipe: %s", strerror(errno));
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->out = p[0];
	c->readable = event_new(base, p[0], EV_READ | EV_PERSIST,
	    upgrade_check_read, c);
	c->deadline = evtimer_new(base, upgrade_check_timeout, c);
	if (c->readable == NULL || c->deadline == NULL ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		*error = xstrdup("event_new failed");
		goto fail;
	}
	/* What it is now; the exec must find the same (upgrade_exec()). */
	if (upgrade_stat(&c->bin) == -1)
		memset(&c->bin, 0, sizeof(c->bin));
	/* No handler of baton's may run in the child before its exec. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		*error = xprintf("fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		/*
		 * Only async-signal-safe calls from here to exec. Its own
		 * group, so that the deadline kills whatever it started.
		 */
		setpgid(0, 0);
		for (sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
		    dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1 || fcntl(sfd, F_SETFD, 0) == -1 ||
		    fcntl(cfd, F_SETFD, 0) == -1)
			_exit(127);
		execl(exe, exe, "--upgrade-check", arg, (char *)NULL);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Either of the two may run first; EACCES once it has exec'd. */
	setpgid(pid, pid);
	close(p[1]);
	c->pid = pid;
	tv = clock_tv(UPGRADE_CHECK_MS);
	event_add(c->readable, NULL);
	evtimer_add(c->deadline, &tv);
	return c;
fail:
	close(p[1]);
	upgrade_check_free(c);
	return NULL;
}

pid_t
upgrade_check_pid(const struct upgrade_check *c)
{
	return c->pid;
}

int
upgrade_check_done(struct upgrade_check *c, int status, char **error)
{
	const char	*want = "ok " STATE_FORMAT "\n";

	/* Whatever it left in its group goes with it. */
	kill(-c->pid, SIGKILL);
	c->pid = 0;
	upgrade_check_read(c->out, EV_READ, c);
	c->said[c->len] = '\0';
	if (c->timed_out) {
		*error = xprintf("%s --upgrade-check did not answer in %d ms",
		    exe, UPGRADE_CHECK_MS);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    strcmp(c->said, want) == 0) {
		checked = c->bin;
		have_checked = 1;
		return 0;
	}
	c->said[strcspn(c->said, "\n")] = '\0';
	if (WIFSIGNALED(status))
		*error = xprintf("%s --upgrade-check: killed by signal %d",
		    exe, WTERMSIG(status));
	else if (WEXITSTATUS(status) == 0)
		*error = xprintf("%s --upgrade-check: exit 0, but it said "
		    "'%s', not 'ok %s': it cannot take this state over", exe,
		    c->said, STATE_FORMAT);
	else
		*error = xprintf("%s --upgrade-check: exit %d, '%s'", exe,
		    WEXITSTATUS(status), c->said);
	return -1;
}

void
upgrade_check_free(struct upgrade_check *c)
{
	if (c == NULL)
		return;
	if (c->pid > 0) {
		/* Cancelled: it goes now, and is reaped here. */
		kill(-c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	if (c->readable != NULL)
		event_free(c->readable);
	if (c->deadline != NULL)
		event_free(c->deadline);
	close(c->out);
	free(c);
}

/* Set or clear close-on-exec on fds: 0, or -1 if one could not be. */
static int
upgrade_cloexec(const int *fds, size_t nfds, int on)
{
	size_t	 i;
	int	 flags, rc = 0;

	for (i = 0; i < nfds; i++) {
		if (fds[i] < 0 || (flags = fcntl(fds[i], F_GETFD)) == -1)
			continue;
		if (fcntl(fds[i], F_SETFD, on ? flags | FD_CLOEXEC :
		    flags & ~FD_CLOEXEC) == -1)
			rc = -1;
	}
	return rc;
}

int
upgrade_exec(int state_fd, const int *fds, size_t nfds, char **error)
{
	struct upgrade_binary	 now;
	char			 num[16];
	int			 saved;

	if (exe == NULL || args == NULL) {
		*error = xstrdup("the binary's path is unknown "
		    "(/proc/self/exe could not be read at start)");
		return -1;
	}
	/* Replaced while it was checked: what runs must be what passed. */
	if (!have_checked || upgrade_stat(&now) == -1 ||
	    now.dev != checked.dev || now.ino != checked.ino ||
	    now.size != checked.size ||
	    now.mtime.tv_sec != checked.mtime.tv_sec ||
	    now.mtime.tv_nsec != checked.mtime.tv_nsec) {
		have_checked = 0;
		*error = xprintf("%s changed after its check; send SIGUSR2 "
		    "again", exe);
		return -1;
	}
	have_checked = 0;
	snprintf(num, sizeof(num), "%d", state_fd);
	if (setenv(UPGRADE_ENV, num, 1) == -1) {
		*error = xprintf("setenv: %s", strerror(errno));
		return -1;
	}
	/* A descriptor that would not cross is a state the new image lacks. */
	if (upgrade_cloexec(fds, nfds, 0) == -1 ||
	    upgrade_cloexec(&state_fd, 1, 0) == -1) {
		saved = errno;
		*error = xprintf("fcntl: %s", strerror(saved));
	} else {
		execv(exe, args);
		saved = errno;
		*error = xprintf("exec %s: %s", exe, strerror(saved));
	}
	/* Still here: put everything back, and carry on as before. */
	(void)upgrade_cloexec(&state_fd, 1, 1);
	(void)upgrade_cloexec(fds, nfds, 1);
	unsetenv(UPGRADE_ENV);
	return -1;
}

int
upgrade_inherited(void)
{
	const char	*s;
	char		*end;
	long		 fd;

	if ((s = getenv(UPGRADE_ENV)) == NULL)
		return -1;
	errno = 0;
	fd = strtol(s, &end, 10);
	unsetenv(UPGRADE_ENV);
	/* Not close-on-exec across the exec: it is again now. */
	if (errno != 0 || *end != '\0' || end == s || fd < 3 || fd > INT_MAX ||
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return (int)fd;
}
