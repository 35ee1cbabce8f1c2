#include <errno.h>
#include <sys/resource.h>

#include "baton.h"
#include "nofile.h"

static rlim_t	 nofile_start_soft = RLIM_INFINITY;
static int	 nofile_known;

static void
nofile_get(struct rlimit *rl)
{
	/* getrlimit() fails only for a bad resource or pointer. */
	if (getrlimit(RLIMIT_NOFILE, rl) == -1) {
		rl->rlim_cur = 1024;
		rl->rlim_max = 1024;
	}
}

void
nofile_init(void)
{
	struct rlimit	 rl;

	if (nofile_known)
		return;
	nofile_get(&rl);
	nofile_set_start(rl.rlim_cur);
}

void
nofile_set_start(rlim_t soft)
{
	nofile_start_soft = soft;
	nofile_known = 1;
}

rlim_t
nofile_start(void)
{
	nofile_init();
	return nofile_start_soft;
}

rlim_t
nofile_soft(void)
{
	struct rlimit	 rl;

	nofile_get(&rl);
	return rl.rlim_cur;
}

size_t
nofile_max_sockets(void)
{
	struct rlimit	 rl;

	nofile_get(&rl);
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max / 2 > (rlim_t)1 << 30)
		return (size_t)1 << 30;
	if (rl.rlim_max < NOFILE_BASE)
		return 0;
	return (size_t)(rl.rlim_max - NOFILE_BASE) / 2;
}

rlim_t
nofile_want(size_t nsockets, int workers)
{
	rlim_t	 w = workers > 0 ? (rlim_t)workers : 0;

	return NOFILE_BASE + 2 * (rlim_t)nsockets +
	    w * (NOFILE_PER_WORKER + (rlim_t)nsockets);
}

int
nofile_raise(rlim_t want, rlim_t *got)
{
	struct rlimit	 rl;

	nofile_init();
	nofile_get(&rl);
	*got = rl.rlim_cur;
	/* Not below what baton was started with: someone lowered it. */
	if (want <= nofile_start_soft || want <= rl.rlim_cur ||
	    rl.rlim_cur == rl.rlim_max)
		return 0;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	*got = rl.rlim_cur;
	return 0;
}

rlim_t
nofile_worker(size_t nfds)
{
	struct rlimit	 rl;
	rlim_t		 used, start = nofile_start();

	nofile_get(&rl);
	used = BATON_LISTEN_FDS_START + (rlim_t)nfds + 1;
	if (start != RLIM_INFINITY && 2 * used > start)
		start = 2 * used;
	return start < rl.rlim_max ? start : rl.rlim_max;
}

int
nofile_set_worker(size_t nfds)
{
	struct rlimit	 rl;

	nofile_get(&rl);
	rl.rlim_cur = nofile_worker(nfds);
	return setrlimit(RLIMIT_NOFILE, &rl);
}
