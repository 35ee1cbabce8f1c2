/*
 * What baton remembers of its own life: when it started, how its last
 * reload ended, and its counters. `baton status` shows it, and an
 * upgrade in place carries it over to the new image. A plain struct: the
 * supervisor counts in it directly.
 */
#ifndef BATON_RECORD_H
#define BATON_RECORD_H

#include <time.h>

struct state;
struct status;

enum record_outcome {
	RECORD_NONE,
	RECORD_OK,
	RECORD_ROLLED_BACK,
	RECORD_FAILED		/* bad file or socket: nothing started */
};

struct record {
	time_t			 started;	/* wall clock, for status */
	long long		 started_ms;
	enum record_outcome	 last_outcome;	/* the last reload's */
	long long		 last_duration;
	time_t			 last_at;
	char			*last_reason;	/* or NULL */

	int			 reloads;
	int			 rollbacks;
	int			 crashes;
	int			 killed;
	int			 upgrades;
};

/* baton starts now. */
void	record_start(struct record *);
/* A reload that began at t0 (clock_ms()) ended so, for reason. */
void	record_outcome(struct record *, enum record_outcome, long long t0,
	    const char *reason);
/* Into an upgrade's state (this upgrade counted); the string stays r's. */
void	record_save(const struct record *, struct state *);
/* Back from it, in the new image. */
void	record_restore(struct record *, const struct state *);
/* st filled with what r knows; the rest of it zero. */
void	record_status(const struct record *, struct status *st);
void	record_clear(struct record *);

#endif
