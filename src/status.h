/*
 * The status `baton status` prints: one JSON object, or a table for
 * people. The supervisor fills a plain struct with what only it knows
 * (counters, the last reload) and the generations it holds; rendering
 * reads the generations and their workers, and changes nothing.
 */
#ifndef BATON_STATUS_H
#define BATON_STATUS_H

#include <stddef.h>
#include <time.h>

#include "output.h"

struct evbuffer;
struct generation;

struct status {
	const char		 *state;	/* "running", "stopping" */
	long long		  started_ms;	/* clock_ms() */
	struct generation	**gens;		/* oldest first */
	size_t			  ngens;
	const char		 *last_outcome;	/* NULL: no reload yet */
	long long		  last_duration;
	time_t			  last_at;
	const char		 *last_reason;	/* or NULL */
	int			  reloads;
	int			  rollbacks;
	int			  crashes;
	int			  killed;
	int			  upgrades;
	int			  recycled;
	const char		 *output;	/* its file; NULL: inherit */
	struct output_counters	  output_counters;
};

/* Append st: one JSON object (json), or the table. */
void	status_render(const struct status *st, struct evbuffer *out,
	    int json);

#endif
