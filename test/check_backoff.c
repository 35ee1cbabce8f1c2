/*
 * backoff.h: how long a worker slot waits before each restart.
 */
#include <check.h>

#include "backoff.h"
#include "check_run.h"

/* A slot that keeps crashing at once: 100 ms, doubling, then 30 s. */
START_TEST(test_crash_loop)
{
	static const long	 want[] = { 100, 200, 400, 800, 1600, 3200,
	    6400, 12800, 25600, 30000, 30000, 30000 };
	long			 delay = BACKOFF_MIN;
	size_t			 i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		delay = backoff_exited(delay, 5);
		ck_assert_int_eq(delay, want[i]);
		delay = backoff_next(delay);
	}
	/* And it stays there, however long the loop goes on. */
	for (i = 0; i < 1000; i++)
		delay = backoff_next(backoff_exited(delay, 5));
	ck_assert_int_eq(delay, BACKOFF_MAX);
}
END_TEST

/* A minute of health forgives; 59.999 s does not. */
START_TEST(test_reset)
{
	ck_assert_int_eq(backoff_exited(30000, 59999), 30000);
	ck_assert_int_eq(backoff_exited(30000, 60000), BACKOFF_MIN);
	ck_assert_int_eq(backoff_exited(800, 3600000), BACKOFF_MIN);
	ck_assert_int_eq(backoff_exited(800, 0), 800);
	/* A clock that went nowhere (or backwards) forgives nothing. */
	ck_assert_int_eq(backoff_exited(800, -1), 800);
}
END_TEST

/* After a reset the count starts over from 100 ms. */
START_TEST(test_after_reset)
{
	long	 delay = BACKOFF_MAX;

	delay = backoff_exited(delay, 61000);
	ck_assert_int_eq(delay, 100);
	delay = backoff_next(delay);
	delay = backoff_exited(delay, 10);
	ck_assert_int_eq(delay, 200);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_crash_loop, test_reset, test_after_reset, NULL
	};

	return check_main("backoff", NULL, NULL, tests);
}
