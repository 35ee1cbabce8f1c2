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

/*
 * A histogram of durations, in the buckets Prometheus scrapes: how many
 * took at most record_bucket_ms[i], cumulative, beside the count and sum.
 */
#define RECORD_NBUCKETS	12
extern const long long record_bucket_ms[RECORD_NBUCKETS];

struct record_hist {
	long long	 count;
	long long	 sum_ms;
	long long	 le[RECORD_NBUCKETS];
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
	int			 recycled;	/* successors started */
	int			 outcomes[4];	/* by enum record_outcome */

	struct record_hist	 reload_time;	/* reload to its outcome */
	struct record_hist	 drain_time;	/* drain signal to gone */
};

/* baton starts now. */
void	record_start(struct record *);
/* A reload that began at t0 (clock_ms()) ended so, for reason. */
void	record_outcome(struct record *, enum record_outcome, long long t0,
	    const char *reason);
/* Count one duration of ms into h. */
void	record_observe(struct record_hist *h, long long ms);
/* Into an upgrade's state (this upgrade counted); the string stays r's. */
void	record_save(const struct record *, struct state *);
/* Back from it, in the new image. */
void	record_restore(struct record *, const struct state *);
/* st filled with what r knows; the rest of it zero. */
void	record_status(const struct record *, struct status *st);
void	record_clear(struct record *);

#endif
