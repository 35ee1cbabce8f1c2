/*
 * signame.c: signal names both ways, as the configuration, the command
 * line and the logs write them.
 */
#include <check.h>
#include <signal.h>
#include <string.h>

#include "check_run.h"
#include "signame.h"

static const struct {
	const char	*in;
	int		 sig;		/* 0: refused */
} signals[] = {
	{ "SIGTERM", SIGTERM },
	{ "TERM", SIGTERM },
	{ "sigterm", SIGTERM },
	{ "Int", SIGINT },
	{ "SIGINT", SIGINT },
	{ "SIGQUIT", SIGQUIT },
	{ "HUP", SIGHUP },
	{ "USR1", SIGUSR1 },
	{ "SIGUSR2", SIGUSR2 },
	{ "SIGKILL", SIGKILL },
	{ "SIGWINCH", SIGWINCH },
	{ "SIGIOT", SIGABRT },
	{ "15", 15 },
	{ "1", 1 },
	{ "64", 64 },
	{ "0", 0 },
	{ "65", 0 },
	{ "-1", 0 },
	{ "SIG", 0 },
	{ "", 0 },
	{ "SIGFOO", 0 },
	{ "SIG TERM", 0 },
	{ "15x", 0 },
	{ "SIGSIGTERM", 0 },
};

START_TEST(test_signal)
{
	int	 sig = -42;

	if (signals[_i].sig == 0) {
		ck_assert_msg(signame_parse(signals[_i].in, &sig) == -1,
		    "'%s' accepted", signals[_i].in);
		ck_assert_int_eq(sig, -42);
	} else {
		ck_assert_msg(signame_parse(signals[_i].in, &sig) == 0,
		    "'%s' refused", signals[_i].in);
		ck_assert_int_eq(sig, signals[_i].sig);
	}
}
END_TEST

START_TEST(test_names)
{
	int	 sig;

	ck_assert_str_eq(signame_name(SIGTERM), "SIGTERM");
	ck_assert_str_eq(signame_name(SIGINT), "SIGINT");
	ck_assert_str_eq(signame_name(SIGKILL), "SIGKILL");
	ck_assert_str_eq(signame_name(SIGABRT), "SIGABRT");
	ck_assert_str_eq(signame_name(SIGCHLD), "SIGCHLD");
	ck_assert_str_eq(signame_name(42), "signal 42");
	/* Every name reads back as its signal. */
	for (sig = 1; sig < 32; sig++) {
		int	 back = 0;

		if (strncmp(signame_name(sig), "SIG", 3) != 0)
			continue;
		ck_assert_int_eq(signame_parse(signame_name(sig),
		    &back), 0);
		ck_assert_int_eq(back, sig);
	}
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("signame");
	const TTest	*names[] = { test_names, NULL };

	tcase_add_loop_test(check_case(s, "signame", names), test_signal, 0,
	    CHECK_NITEMS(signals));
	return check_run(s);
}
