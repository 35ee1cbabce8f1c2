/* Monotonic time, for durations that must not jump with the wall clock. */
#ifndef BATON_CLOCK_H
#define BATON_CLOCK_H

#include <sys/time.h>
#include <time.h>

static inline long long
clock_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same in microseconds: systemd's MONOTONIC_USEC. */
static inline unsigned long long
clock_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline struct timeval
clock_tv(long ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

#endif
