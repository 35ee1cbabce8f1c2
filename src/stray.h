/*
 * What workers leave to baton. baton is a child subreaper: a process
 * whose parent dies is given to it with no word. Among baton's children,
 * those it does not know are traced to the worker they came from (its
 * process group or session, else the BATON_* variables in their
 * environment) and given to it; the rest are strays, kept here and ended
 * when baton stops.
 */
#ifndef BATON_STRAY_H
#define BATON_STRAY_H

#include <stddef.h>
#include <sys/types.h>

struct generation;
struct strays;

struct strays	*stray_new(void);
void		 stray_free(struct strays *);

/*
 * Find baton's children that are none of the workers' processes of gens,
 * no stray already and none of also (baton's own helpers); give each to
 * its worker (worker_adopt()), or keep it as a stray.
 */
void		 stray_adopt(struct strays *, struct generation **gens,
		    size_t ngens, const pid_t *also, size_t nalso);
/* pid was reaped: 1 if it was a stray (and is forgotten), else 0. */
int		 stray_reaped(struct strays *, pid_t);
size_t		 stray_count(const struct strays *);
/* Send sig to every stray (kill_tree: and to what each started). */
void		 stray_kill(struct strays *, int sig, int tree);

#endif
