#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "generation.h"
#include "log.h"
#include "proc.h"
#include "stray.h"
#include "worker.h"
#include "xmalloc.h"

struct strays {
	pid_t			*pids;
	size_t			 n;
	struct log_limit	 limit;
};

struct strays *
stray_new(void)
{
	struct strays	*s;

	s = xcalloc(1, sizeof(*s));
	s->limit.what = "/proc: failed reads";
	return s;
}

void
stray_free(struct strays *s)
{
	if (s == NULL)
		return;
	free(s->pids);
	free(s);
}

static int
stray_pid_cmp(const void *a, const void *b)
{
	pid_t	 x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Every process baton knows, sorted; their count in *n. */
static pid_t *
stray_known_pids(struct strays *s, struct generation **gens, size_t ngens,
    const pid_t *also, size_t nalso, size_t *n)
{
	struct worker	*w;
	pid_t		*pids = NULL;
	size_t		 i, j, k, size = 0;

	*n = 0;
	for (i = 0; i < ngens; i++) {
		for (j = 0; (w = generation_worker(gens[i], j)) != NULL; j++) {
			if (*n + worker_norphans(w) + 1 > size) {
				size = (*n + worker_norphans(w) + 1) * 2;
				pids = xreallocarray(pids, size, sizeof(*pids));
			}
			if (worker_pid(w) != 0)
				pids[(*n)++] = worker_pid(w);
			for (k = 0; k < worker_norphans(w); k++)
				pids[(*n)++] = worker_orphan(w, k);
		}
	}
	pids = xreallocarray(pids, *n + s->n + nalso + 1, sizeof(*pids));
	for (i = 0; i < s->n; i++)
		pids[(*n)++] = s->pids[i];
	for (i = 0; i < nalso; i++)
		if (also[i] > 0)
			pids[(*n)++] = also[i];
	if (*n > 0)
		qsort(pids, *n, sizeof(*pids), stray_pid_cmp);
	return pids;
}

static struct worker *
stray_find_slot(struct generation **gens, size_t ngens, int number, int slot)
{
	size_t	 i;

	for (i = 0; i < ngens; i++)
		if (generation_number(gens[i]) == number)
			return generation_worker(gens[i], (size_t)slot);
	return NULL;
}

/*
 * Which worker a process left to baton came from: the one whose process
 * group or session it is in, else the one its environment names (a
 * daemon that left both still carries BATON_PID, BATON_GENERATION and
 * BATON_WORKER). NULL if none.
 */
static struct worker *
stray_trace(struct generation **gens, size_t ngens, const struct proc *p,
    const char **how)
{
	struct worker	*w;
	char		 buf[32];
	size_t		 i, j;
	int		 number, slot;

	for (i = 0; i < ngens; i++) {
		for (j = 0; (w = generation_worker(gens[i], j)) != NULL; j++) {
			/* A free slot's old group may be a new one's now. */
			if (worker_state(w) == WORKER_EXITED &&
			    !worker_alive(w))
				continue;
			if (p->pgid == worker_pgid(w)) {
				*how = "by its process group";
				return w;
			}
			if (p->sid == worker_pgid(w)) {
				*how = "by its session";
				return w;
			}
		}
	}
	if (proc_getenv(p->pid, "BATON_PID", buf, sizeof(buf)) == -1 ||
	    strtol(buf, NULL, 10) != (long)getpid() ||
	    proc_getenv(p->pid, "BATON_GENERATION", buf, sizeof(buf)) == -1 ||
	    (number = atoi(buf)) <= 0 ||
	    proc_getenv(p->pid, "BATON_WORKER", buf, sizeof(buf)) == -1 ||
	    (slot = atoi(buf)) < 0)
		return NULL;
	*how = "by its environment";
	return stray_find_slot(gens, ngens, number, slot);
}

void
stray_adopt(struct strays *s, struct generation **gens, size_t ngens,
    const pid_t *also, size_t nalso)
{
	struct worker	*w;
	struct proc	 p;
	const char	*how;
	pid_t		*children, *known;
	ssize_t		 n, i;
	size_t		 nknown;

	if ((n = proc_children(&children)) == -1) {
		if (log_limit_allow(&s->limit))
			log_warn("reading baton's children from /proc: %s; "
			    "what workers leave behind is not traced",
			    strerror(errno));
		return;
	}
	known = stray_known_pids(s, gens, ngens, also, nalso, &nknown);
	for (i = 0; i < n; i++) {
		if (nknown > 0 && bsearch(&children[i], known, nknown,
		    sizeof(*known), stray_pid_cmp) != NULL)
			continue;
		if (proc_stat(children[i], &p) == -1)
			continue;
		if ((w = stray_trace(gens, ngens, &p, &how)) != NULL) {
			worker_adopt(w, p.pid, p.pgid, how);
			continue;
		}
		log_warn("pid %ld was left to baton, but no worker it came "
		    "from is known; it is stopped with baton",
		    (long)children[i]);
		s->pids = xreallocarray(s->pids, s->n + 1, sizeof(*s->pids));
		s->pids[s->n++] = children[i];
	}
	free(known);
	free(children);
}

int
stray_reaped(struct strays *s, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < s->n; i++) {
		if (s->pids[i] == pid) {
			s->pids[i] = s->pids[--s->n];
			return 1;
		}
	}
	return 0;
}

size_t
stray_count(const struct strays *s)
{
	return s->n;
}

void
stray_kill(struct strays *s, int sig, int tree)
{
	size_t	 i;

	if (tree && s->n > 0)
		(void)proc_kill_tree(s->pids, s->n, sig);
	for (i = 0; !tree && i < s->n; i++)
		(void)kill(s->pids[i], sig);
}
