/*
 * The restart policy of a worker slot: the first restart waits 100 ms,
 * each one after it twice as long as the one before, up to 30 s; a
 * process that ran a minute or more was healthy, and its exit starts the
 * count over.
 */
#ifndef BATON_BACKOFF_H
#define BATON_BACKOFF_H

#define BACKOFF_MIN	100		/* ms */
#define BACKOFF_MAX	30000		/* ms */
#define BACKOFF_RESET	60000		/* ms of health that forgive */

/* The delay before the next restart, once a process ran RAN ms. */
static inline long
backoff_exited(long delay, long long ran)
{
	return ran >= BACKOFF_RESET ? BACKOFF_MIN : delay;
}

/* The delay after this one, once a restart waited DELAY. */
static inline long
backoff_next(long delay)
{
	return delay >= BACKOFF_MAX / 2 ? BACKOFF_MAX : delay * 2;
}

#endif
