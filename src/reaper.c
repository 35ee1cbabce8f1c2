#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "generation.h"
#include "keeper.h"
#include "log.h"
#include "probe.h"
#include "reaper.h"
#include "stray.h"
#include "worker.h"
#include "xmalloc.h"

#define REAP_BATCH	64

struct reaper {
	const struct reaper_ops	*ops;
	void			*arg;
	/* Ends what came from the workers if baton dies. */
	struct keeper		*keeper;
	/* Left to baton by a worker's process, traced to no worker. */
	struct strays		*strays;
};

struct reaper *
reaper_new(const struct reaper_ops *ops, void *arg)
{
	struct reaper	*r;

	r = xcalloc(1, sizeof(*r));
	r->ops = ops;
	r->arg = arg;
	r->strays = stray_new();
	return r;
}

void
reaper_start_keeper(struct reaper *r, long drain_ms)
{
	if ((r->keeper = keeper_new(drain_ms)) == NULL)
		log_warn("cannot start the keeper (%s): if baton dies, what "
		    "ignores its drain signal outlives it", strerror(errno));
}

void
reaper_restore_keeper(struct reaper *r, pid_t pid, int fd, long drain_ms)
{
	if (fd != -1 && (r->keeper = keeper_restore(pid, fd)) == NULL)
		log_warn("upgrade: the keeper's pipe: %s", strerror(errno));
	/* An image before the keeper had none. */
	if (r->keeper == NULL)
		reaper_start_keeper(r, drain_ms);
}

struct keeper *
reaper_keeper(const struct reaper *r)
{
	return r->keeper;
}

/* The longest drain_timeout of a live generation: the keeper's wait. */
static long
reaper_drain_max(struct reaper *r)
{
	struct generation	**gens;
	long			  ms = 0, t;
	size_t			  i, n;

	gens = r->ops->gens(r->arg, &n);
	for (i = 0; i < n; i++)
		if ((t = generation_config(gens[i])->drain_timeout) > ms)
			ms = t;
	return ms;
}

void
reaper_set_deadline(struct reaper *r)
{
	keeper_set_deadline(r->keeper, reaper_drain_max(r));
}

void
reaper_adopt(struct reaper *r)
{
	struct generation	**gens;
	pid_t			 *ours;
	size_t			  n, nprobes;

	/* baton's own children: the keeper, the check, the exec probes. */
	ours = probe_pids(&nprobes);
	ours = xreallocarray(ours, nprobes + 2, sizeof(*ours));
	ours[nprobes] = r->keeper != NULL ? keeper_pid(r->keeper) : 0;
	ours[nprobes + 1] = r->ops->check_pid(r->arg);
	gens = r->ops->gens(r->arg, &n);
	stray_adopt(r->strays, gens, n, ours, nprobes + 2);
	free(ours);
}

/* A child that was no worker's: one stray fewer, if it was one. */
static void
reaper_other(struct reaper *r, pid_t pid, int status)
{

	if (r->keeper != NULL && pid == keeper_pid(r->keeper)) {
		log_warn("the keeper (pid %ld) exited (%s %d); starting another",
		    (long)pid, WIFEXITED(status) ? "status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		keeper_free(r->keeper);
		reaper_start_keeper(r, reaper_drain_max(r));
		return;
	}

	if (!stray_reaped(r->strays, pid))
		log_debug("reaped pid %ld, not a worker's", (long)pid);
}

void
reaper_signal_strays(struct reaper *r, int sig)
{
	stray_kill(r->strays, sig, 0);
}

void
reaper_end_strays(struct reaper *r)
{
	long long	 deadline;
	size_t		 n = stray_count(r->strays);
	pid_t		 pid;
	int		 status;

	if (n == 0)
		return;
	log_warn("stopping: killing %zu process%s that came from no known "
	    "worker", n, n == 1 ? "" : "es");
	stray_kill(r->strays, SIGKILL, 1);
	stray_kill(r->strays, SIGKILL, 0);
	/* Killed, they exit at once; bounded all the same. */
	deadline = clock_ms() + 5000;
	while (stray_count(r->strays) > 0 && clock_ms() < deadline) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			reaper_other(r, pid, status);
			continue;
		}
		if (pid == -1 && errno != EINTR)
			break;
		/* What they left is left to baton in turn. */
		reaper_adopt(r);
		stray_kill(r->strays, SIGKILL, 1);
		usleep(10000);
	}
}

int
reaper_reap(struct reaper *r, int block)
{
	struct {
		pid_t	 pid;
		int	 status;
	}			  dead[REAP_BATCH];
	struct generation	**gens;
	struct worker		 *w;
	pid_t			  pid;
	size_t			  i, n;
	int			  status, total = 0;

	do {
		for (n = 0; n < REAP_BATCH;) {
			pid = waitpid(-1, &status, block && total == 0 &&
			    n == 0 ? 0 : WNOHANG);
			if (pid == -1 && errno == EINTR)
				continue;
			if (pid == -1 && errno == ECHILD && block &&
			    total == 0 && n == 0)
				return -1;
			if (pid <= 0)
				break;
			dead[n].pid = pid;
			dead[n++].status = status;
		}
		if (n == 0)
			break;
		/*
		 * Those they left behind were given to baton before it was
		 * told of their exit: find them first, so that a worker whose
		 * main process exited knows it is not gone yet.
		 */
		reaper_adopt(r);
		for (i = 0; i < n; i++) {
			if (dead[i].pid == r->ops->check_pid(r->arg))
				r->ops->checked(r->arg, dead[i].status);
			else if ((w = r->ops->worker(r->arg,
			    dead[i].pid)) != NULL)
				worker_reaped(w, dead[i].pid, dead[i].status);
			else if (!probe_reaped(dead[i].pid, dead[i].status))
				reaper_other(r, dead[i].pid, dead[i].status);
		}
		total += (int)n;
	} while (n == REAP_BATCH);
	/* The last process of a draining generation may be gone. */
	gens = r->ops->gens(r->arg, &n);
	for (i = 0; total > 0 && i < n; i++)
		generation_recheck(gens[i]);
	return total;
}

void
reaper_free(struct reaper *r)
{
	keeper_free(r->keeper);
	stray_free(r->strays);
	free(r);
}
