/*
 * The main() of every unit test: a suite built from tables of tests, run
 * and reported in TAP.  A table is a NULL-terminated array of the
 * pointers START_TEST defines (Check 0.13 and later).
 */
#ifndef BATON_CHECK_RUN_H
#define BATON_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

#define CHECK_NITEMS(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Add a case named name holding tests to s; the caller adds loop tests. */
static inline TCase *
check_case(Suite *s, const char *name, const TTest *const *tests)
{
	TCase	*tc = tcase_create(name);

	for (; *tests != NULL; tests++)
		_tcase_add_test(tc, *tests, 0, 0, 0, 1);
	suite_add_tcase(s, tc);
	return tc;
}

static inline int
check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	/* TAP on stdout: the harness counts each case. */
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * A suite of one case, named name, whose tests each run between setup and
 * teardown (both may be NULL) in their own process.
 */
static inline int
check_main(const char *name, SFun setup, SFun teardown,
    const TTest *const *tests)
{
	Suite	*s = suite_create(name);
	TCase	*tc = check_case(s, name, tests);

	if (setup != NULL || teardown != NULL)
		tcase_add_checked_fixture(tc, setup, teardown);
	return check_run(s);
}

#endif
