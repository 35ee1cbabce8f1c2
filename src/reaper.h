/*
 * Reaping: every child of baton's is reaped here, in batches, and its
 * exit told to whom it belongs: a worker, the upgrade's check, the
 * keeper, or a stray. What the workers left to baton is traced to them
 * first (stray.c), and the keeper (keeper.c) is started again if it
 * dies; what belongs to the supervisor comes through the ops below.
 */
#ifndef BATON_REAPER_H
#define BATON_REAPER_H

#include <sys/types.h>

#include <stddef.h>

struct generation;
struct keeper;
struct reaper;
struct worker;

/* What the reaper asks of the one who made it, with its argument. */
struct reaper_ops {
	/* The live generations, newest last; asked afresh at each use. */
	struct generation	**(*gens)(void *arg, size_t *n);
	/* The worker one of whose processes pid is, or NULL. */
	struct worker		 *(*worker)(void *arg, pid_t pid);
	/* The upgrade's check: its pid (0: none runs), and its exit. */
	pid_t			  (*check_pid)(void *arg);
	void			  (*checked)(void *arg, int status);
};

struct reaper	*reaper_new(const struct reaper_ops *, void *arg);
/* Tells the keeper baton exits on purpose. */
void		 reaper_free(struct reaper *);
/* Fork the keeper with drain_ms for its wait (logged if it cannot be). */
void		 reaper_start_keeper(struct reaper *, long drain_ms);
/*
 * Take over the keeper of the image before an upgrade in place; start
 * one if it had none (fd -1) or it cannot be taken over.
 */
void		 reaper_restore_keeper(struct reaper *, pid_t pid, int fd,
		    long drain_ms);
/* The keeper, or NULL: its descriptor crosses an upgrade's exec. */
struct keeper	*reaper_keeper(const struct reaper *);
/* A generation came or went: the keeper waits the longest drain. */
void		 reaper_set_deadline(struct reaper *);
/*
 * Reap every child that has exited (with block, wait for one). Returns
 * how many, or -1 when baton has no child left to wait for.
 */
int		 reaper_reap(struct reaper *, int block);
/* Give what workers left to baton to them; keep the rest as strays. */
void		 reaper_adopt(struct reaper *);
/* Stopping: the strays get the drain signal sig, as the workers do. */
void		 reaper_signal_strays(struct reaper *, int sig);
/* Stopped, every generation gone: SIGKILL the strays, and reap them. */
void		 reaper_end_strays(struct reaper *);

#endif
