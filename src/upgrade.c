#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "upgrade.h"
#include "xmalloc.h"

#define UPGRADE_ENV		"BATON_UPGRADE_FD"
#define UPGRADE_CHECK_MS	5000	/* for `baton --version` to answer */

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

int
upgrade_memfd(const char *name)
{
	return memfd_create(name, 0);
}

/*
 * Run `exe --version`: it must exit 0 within UPGRADE_CHECK_MS and say
 * "baton ...". A binary that is gone, truncated mid-copy or missing a
 * library fails here, while the running baton can still say so.
 */
static int
upgrade_check(char **error)
{
	struct pollfd	 pfd;
	sigset_t	 all, old, none;
	char		 out[64];
	long long	 until;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 p[2], status, rc, null, sig;

	if (pipe2(p, O_CLOEXEC) == -1) {
		*error = xprintf("pipe: %s", strerror(errno));
		return -1;
	}
	/* No handler of baton's may run in the child before its exec. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		*error = xprintf("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		for (sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
		    dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(null, 2) == -1)
			_exit(127);
		execl(exe, exe, "--version", (char *)NULL);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	/* Its answer, until it closes its end or the time is up. */
	until = clock_ms() + UPGRADE_CHECK_MS;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (clock_ms() < until) {
		rc = poll(&pfd, 1, (int)(until - clock_ms()));
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		n = read(p[0], out + len, sizeof(out) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (len == sizeof(out) - 1)
			break;
	}
	close(p[0]);
	out[len] = '\0';
	while ((rc = waitpid(pid, &status, WNOHANG)) == 0 ||
	    (rc == -1 && errno == EINTR)) {
		if (clock_ms() >= until) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
				;
			*error = xprintf("%s --version did not answer in %d ms",
			    exe, UPGRADE_CHECK_MS);
			return -1;
		}
		usleep(10000);
	}
	if (rc == -1) {
		*error = xprintf("waitpid: %s", strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    strncmp(out, "baton ", 6) != 0) {
		out[strcspn(out, "\n")] = '\0';
		if (WIFSIGNALED(status))
			*error = xprintf("%s --version: killed by signal %d",
			    exe, WTERMSIG(status));
		else
			*error = xprintf("%s --version: exit %d, '%s'", exe,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
		return -1;
	}
	return 0;
}

static void
upgrade_cloexec(const int *fds, size_t nfds, int on)
{
	size_t	 i;
	int	 flags;

	for (i = 0; i < nfds; i++) {
		if (fds[i] < 0 || (flags = fcntl(fds[i], F_GETFD)) == -1)
			continue;
		fcntl(fds[i], F_SETFD, on ? flags | FD_CLOEXEC :
		    flags & ~FD_CLOEXEC);
	}
}

int
upgrade_exec(int state_fd, const int *fds, size_t nfds, const sigset_t *held,
    char **error)
{
	char	 num[16];
	int	 saved;

	if (exe == NULL || args == NULL) {
		*error = xstrdup("the binary's path is unknown "
		    "(/proc/self/exe could not be read at start)");
		return -1;
	}
	if (upgrade_check(error) == -1)
		return -1;
	snprintf(num, sizeof(num), "%d", state_fd);
	if (setenv(UPGRADE_ENV, num, 1) == -1) {
		*error = xprintf("setenv: %s", strerror(errno));
		return -1;
	}
	upgrade_cloexec(fds, nfds, 0);
	upgrade_cloexec(&state_fd, 1, 0);
	sigprocmask(SIG_BLOCK, held, NULL);
	execv(exe, args);
	saved = errno;
	/* Still here: put everything back, and carry on as before. */
	sigprocmask(SIG_UNBLOCK, held, NULL);
	upgrade_cloexec(&state_fd, 1, 1);
	upgrade_cloexec(fds, nfds, 1);
	unsetenv(UPGRADE_ENV);
	*error = xprintf("exec %s: %s", exe, strerror(saved));
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
	if (errno != 0 || *end != '\0' || end == s || fd < 3 || fd > INT_MAX ||
	    fcntl((int)fd, F_GETFD) == -1)
		return -1;
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}
