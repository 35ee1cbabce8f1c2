#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"
#include "log.h"
#include "proc.h"
#include "spawn.h"
#include "xmalloc.h"

#define KEEPER_LINE_MAX	64

struct keeper {
	pid_t	 pid;
	int	 fd;		/* the pipe's write end */
	long	 drain_ms;	/* last sent */
};

int
keeper_parse(const char *line, long *drain_ms, int *bye)
{
	char	*end;
	long	 ms;

	if (strcmp(line, "bye") == 0) {
		*bye = 1;
		return 0;
	}
	if (strncmp(line, "drain ", 6) != 0)
		return -1;
	errno = 0;
	ms = strtol(line + 6, &end, 10);
	if (errno != 0 || *end != '\0' || end == line + 6 || ms < 0)
		return -1;
	*drain_ms = ms;
	return 0;
}

/* Everything that came from baton's workers, and started after baton. */
static int
keeper_sweep(pid_t baton, unsigned long long since)
{
	struct proc		*procs, now;
	unsigned long long	 until = ~0ULL;
	ssize_t			 n, i;
	char			 buf[32];
	int			 killed = 0;

	/* baton's pid may be another's already: spare what that one started. */
	if (proc_stat(baton, &now) == 0)
		until = now.start;
	if ((n = proc_table(&procs)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (procs[i].pid == getpid() || procs[i].start < since ||
		    procs[i].start >= until)
			continue;
		if (proc_getenv(procs[i].pid, "BATON_PID", buf,
		    sizeof(buf)) == -1 || strtol(buf, NULL, 10) != (long)baton)
			continue;
		if (proc_kill(&procs[i], SIGKILL) == 0)
			killed++;
	}
	free(procs);
	return killed;
}

static void
keeper_sleep(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The keeper's whole life: read the pipe until it closes. */
static void __attribute__((noreturn))
keeper_main(int fd, pid_t baton, unsigned long long since, long drain_ms)
{
	char	 buf[KEEPER_LINE_MAX], *nl;
	size_t	 n = 0;
	ssize_t	 r;
	int	 bye = 0, killed;

	for (;;) {
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			(void)keeper_parse(buf, &drain_ms, &bye);
			n -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, n + 1);
		}
		if (n == sizeof(buf) - 1)
			n = 0;		/* no line is this long: junk */
	}
	if (bye)
		_exit(0);
	/* baton died: its workers got their drain signal; give them time. */
	keeper_sleep(drain_ms);
	if ((killed = keeper_sweep(baton, since)) > 0)
		log_warn("keeper: baton (pid %ld) died; %d process%s that came "
		    "from its workers still ran %ld ms later: SIGKILL",
		    (long)baton, killed, killed == 1 ? "" : "es", drain_ms);
	_exit(0);
}

/* In the keeper: nothing of baton's but fd and stderr; deaf to stops. */
static void
keeper_child(int fd)
{
	static const int	 deaf[] = {
		SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE
	};
	struct sigaction	 sa;
	sigset_t		 none;
	size_t			 i;
	int			 sig;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		sa.sa_handler = SIG_DFL;
		for (i = 0; i < sizeof(deaf) / sizeof(deaf[0]); i++)
			if (deaf[i] == sig)
				sa.sa_handler = SIG_IGN;
		(void)sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Above all the listening sockets: they must close with baton. */
	spawn_close_others(fd);
	/* The log's own descriptor of stderr was among them. */
	log_init();
}

struct keeper *
keeper_new(long drain_ms)
{
	struct keeper	*k;
	struct proc	 self;
	int		 p[2];
	pid_t		 pid, baton = getpid();

	if (proc_stat(baton, &self) == -1)
		return NULL;
	if (pipe2(p, O_CLOEXEC) == -1)
		return NULL;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		close(p[1]);
		keeper_child(p[0]);
		keeper_main(p[0], baton, self.start, drain_ms);
	}
	close(p[0]);
	/* A keeper that stops reading must never block baton. */
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	k = xcalloc(1, sizeof(*k));
	k->pid = pid;
	k->fd = p[1];
	k->drain_ms = drain_ms;
	return k;
}

struct keeper *
keeper_restore(pid_t pid, int fd)
{
	struct keeper	*k;

	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	k->pid = pid;
	k->fd = fd;
	k->drain_ms = -1;
	return k;
}

static void
keeper_send(struct keeper *k, const char *line)
{
	ssize_t	 r;

	do
		r = write(k->fd, line, strlen(line));
	while (r == -1 && errno == EINTR);
}

void
keeper_set_deadline(struct keeper *k, long drain_ms)
{
	char	 line[KEEPER_LINE_MAX];

	if (k == NULL || drain_ms == k->drain_ms)
		return;
	k->drain_ms = drain_ms;
	snprintf(line, sizeof(line), "drain %ld\n", drain_ms);
	keeper_send(k, line);
}

void
keeper_free(struct keeper *k)
{
	if (k == NULL)
		return;
	keeper_send(k, "bye\n");
	close(k->fd);
	free(k);
}

pid_t
keeper_pid(const struct keeper *k)
{
	return k != NULL ? k->pid : 0;
}

int
keeper_fd(const struct keeper *k)
{
	return k != NULL ? k->fd : -1;
}
