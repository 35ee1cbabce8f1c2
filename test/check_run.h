/*
 * The main() of every unit test: a suite built from tables of tests, run
 * and reported in TAP.  A table is a NULL-terminated array of the
 * pointers START_TEST defines (Check 0.13 and later).
 */
#ifndef BATON_CHECK_RUN_H
#define BATON_CHECK_RUN_H

#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Send len bytes of msg on sock as one record, with the descriptor fd
 * unless it is -1, built by hand: what a peer may send that
 * channel_send() never would (an empty record with a descriptor), and
 * what a fake baton says. sendmsg()'s result.
 */
static inline ssize_t
check_sendmsg(int sock, const char *msg, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsg;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)msg;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = sizeof(cmsg.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
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
 * Where the system refuses what the tests need: each of tests reported
 * as skipped with why, in TAP (a TAP test that exits 77 is an error to
 * the harness, so this exits 0 and the summary counts the skips).
 */
static inline int
check_skip(const char *name, const TTest *const *tests, const char *why)
{
	int	 n;

	for (n = 0; tests[n] != NULL; n++)
		;
	printf("1..%d\n", n);
	for (n = 0; tests[n] != NULL; n++)
		printf("ok %d - %s:%s # SKIP %s\n", n + 1, name,
		    tests[n]->name, why);
	return EXIT_SUCCESS;
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
