#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "record.h"
#include "state.h"
#include "status.h"
#include "xmalloc.h"

static const char *const record_outcome_names[] = {
	"none", "ok", "rolled back", "failed"
};

/* From a fast reload on one core to a drain that ran to a long deadline. */
const long long record_bucket_ms[RECORD_NBUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000,
	300000
};

void
record_observe(struct record_hist *h, long long ms)
{
	size_t	 i;

	if (ms < 0)
		ms = 0;
	h->count++;
	h->sum_ms += ms;
	for (i = 0; i < RECORD_NBUCKETS; i++)
		if (ms <= record_bucket_ms[i])
			h->le[i]++;
}

void
record_start(struct record *r)
{
	r->started = time(NULL);
	r->started_ms = clock_ms();
}

void
record_outcome(struct record *r, enum record_outcome outcome, long long t0,
    const char *reason)
{
	r->last_outcome = outcome;
	r->last_duration = clock_ms() - t0;
	r->outcomes[outcome]++;
	if (outcome != RECORD_FAILED)
		record_observe(&r->reload_time, r->last_duration);
	r->last_at = time(NULL);
	free(r->last_reason);
	r->last_reason = reason != NULL ? xstrdup(reason) : NULL;
}

/*
 * The fields an upgrade carries, named alike in the record and the
 * state: one list, for both ways.
 */
#define RECORD_FIELDS(X)						\
	X(started) X(started_ms) X(last_outcome) X(last_duration)	\
	X(last_at) X(reloads) X(rollbacks) X(crashes) X(killed) X(upgrades) \
	X(recycled)

void
record_save(const struct record *r, struct state *st)
{
#define RECORD_SAVE(f)	st->f = r->f;
	RECORD_FIELDS(RECORD_SAVE)
#undef RECORD_SAVE
	st->upgrades++;		/* this one */
	st->last_reason = r->last_reason;
	memcpy(st->outcomes, r->outcomes, sizeof(st->outcomes));
	st->reload_time = r->reload_time;
	st->drain_time = r->drain_time;
}

void
record_restore(struct record *r, const struct state *st)
{
#define RECORD_RESTORE(f)	r->f = st->f;
	RECORD_FIELDS(RECORD_RESTORE)
#undef RECORD_RESTORE
	if (st->last_reason != NULL)
		r->last_reason = xstrdup(st->last_reason);
	memcpy(r->outcomes, st->outcomes, sizeof(r->outcomes));
	r->reload_time = st->reload_time;
	r->drain_time = st->drain_time;
}

void
record_status(const struct record *r, struct status *st)
{
	*st = (struct status){
		.started_ms = r->started_ms,
		.last_outcome = r->last_outcome == RECORD_NONE ? NULL :
		    record_outcome_names[r->last_outcome],
		.last_duration = r->last_duration,
		.last_at = r->last_at,
		.last_reason = r->last_reason,
		.reloads = r->reloads,
		.rollbacks = r->rollbacks,
		.crashes = r->crashes,
		.killed = r->killed,
		.upgrades = r->upgrades,
		.recycled = r->recycled
	};
}

void
record_clear(struct record *r)
{
	free(r->last_reason);
	r->last_reason = NULL;
}
