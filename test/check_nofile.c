/*
 * RLIMIT_NOFILE: baton raises its own soft limit only past what it was
 * started with, and a worker gets the start-up one unless its sockets
 * need more. Each test sets the limits it reasons about (Check forks).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "check_run.h"
#include "nofile.h"

/* Soft 1024 and the hard limit at 4096 at least; 0 if it cannot be. */
static int
limits_1024(void)
{
	struct rlimit	 rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 4096) {
		printf("SKIP: the hard RLIMIT_NOFILE is %llu, under 4096\n",
		    (unsigned long long)rl.rlim_max);
		return 0;
	}
	rl.rlim_cur = 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	nofile_set_start(1024);
	return 1;
}

START_TEST(test_worker_limit)
{
	if (!limits_1024())
		return;
	/* Sockets, channel and stdio under half of it: unchanged. */
	ck_assert_uint_eq(nofile_worker(1), 1024);
	ck_assert_uint_eq(nofile_worker(253), 1024);
	ck_assert_uint_eq(nofile_worker(508), 1024);
	/* More: twice those, as much room again for its own. */
	ck_assert_uint_eq(nofile_worker(509), 2 * (3 + 509 + 1));
	ck_assert_uint_eq(nofile_worker(1024), 2056);
}
END_TEST

START_TEST(test_raise)
{
	rlim_t	 got;

	if (!limits_1024())
		return;
	/* A configuration within the start-up limit changes nothing. */
	ck_assert_uint_eq(nofile_want(1, 4), 64 + 2 + 4 * (8 + 1));
	ck_assert_int_eq(nofile_raise(nofile_want(1, 4), &got), 0);
	ck_assert_uint_eq(got, 1024);
	ck_assert_uint_eq(nofile_soft(), 1024);
	/* 1,024 sockets: raised to what they need. */
	ck_assert_int_eq(nofile_raise(nofile_want(1024, 1), &got), 0);
	ck_assert_uint_eq(got, 64 + 2048 + 8 + 1024);
	ck_assert_uint_eq(nofile_soft(), got);
	/* Never lowered, and workers keep the start-up limit. */
	ck_assert_int_eq(nofile_raise(nofile_want(16, 1), &got), 0);
	ck_assert_uint_eq(got, 64 + 2048 + 8 + 1024);
	ck_assert_uint_eq(nofile_worker(1), 1024);
}
END_TEST

/* Lowered below the start-up limit by hand: a small config leaves it. */
START_TEST(test_lowered_stays)
{
	struct rlimit	 rl;
	rlim_t		 got;

	if (!limits_1024())
		return;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = 50;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(nofile_raise(nofile_want(1, 2), &got), 0);
	ck_assert_uint_eq(got, 50);
}
END_TEST

/* At most the hard limit, and how many sockets it allows. */
START_TEST(test_hard_limit)
{
	struct rlimit	 rl;
	rlim_t		 got;

	rl.rlim_cur = 1024;
	rl.rlim_max = 1500;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		printf("SKIP: setrlimit RLIMIT_NOFILE 1024:1500: %s\n",
		    strerror(errno));
		return;
	}
	nofile_set_start(1024);
	ck_assert_uint_eq(nofile_max_sockets(), (1500 - 64) / 2);
	ck_assert_int_eq(nofile_raise(nofile_want(1000, 1), &got), 0);
	ck_assert_uint_eq(got, 1500);
	ck_assert_uint_eq(nofile_worker(1024), 1500);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_worker_limit, test_raise, test_lowered_stays,
		test_hard_limit, NULL
	};

	return check_main("nofile", NULL, NULL, tests);
}
