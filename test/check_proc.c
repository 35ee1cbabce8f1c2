/*
 * proc.c: reading processes from /proc, and keeper.c's pipe protocol.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "keeper.h"
#include "proc.h"

/* A command name may hold spaces and parentheses: the last ')' ends it. */
START_TEST(test_parse_stat)
{
	static const char	*line = "4242 (a (b) c) S 17 4242 4200 0 -1 "
	    "4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1234 56";
	struct proc		 p;

	ck_assert_int_eq(proc_parse_stat(line, &p), 0);
	ck_assert_int_eq(p.pid, 4242);
	ck_assert_int_eq(p.ppid, 17);
	ck_assert_int_eq(p.pgid, 4242);
	ck_assert_int_eq(p.sid, 4200);
	ck_assert(p.start == 987654ULL);
}
END_TEST

START_TEST(test_parse_stat_bad)
{
	struct proc	 p;

	ck_assert_int_eq(proc_parse_stat("", &p), -1);
	ck_assert_int_eq(proc_parse_stat("12 (x S 1 2 3", &p), -1);
	ck_assert_int_eq(proc_parse_stat("12 (x) S 1 2 3", &p), -1);
	ck_assert_int_eq(proc_parse_stat("-3 (x) S 1 2 3 0 -1 0 0 0 0 0 0 "
	    "0 0 0 20 0 1 0 5", &p), -1);
	ck_assert_int_eq(proc_parse_stat("12 (x) S 1 2 3 0 -1 0 0 0 0 0 0 "
	    "0 0 0 20 0 1 0 x", &p), -1);
}
END_TEST

/* This process, as the kernel sees it. */
START_TEST(test_stat_self)
{
	struct proc	 p;

	ck_assert_int_eq(proc_stat(getpid(), &p), 0);
	ck_assert_int_eq(p.pid, getpid());
	ck_assert_int_eq(p.ppid, getppid());
	ck_assert_int_eq(p.pgid, getpgrp());
	ck_assert_int_eq(p.sid, getsid(0));
	ck_assert(p.start > 0);
}
END_TEST

/* Children, the table, descent and the environment of a real child. */
START_TEST(test_children)
{
	struct proc	*procs;
	pid_t		*pids, child, grandchild = 0;
	ssize_t		 n, i;
	char		 buf[32];
	int		 p[2], found = 0, status;

	ck_assert_int_eq(pipe(p), 0);
	if ((child = fork()) == 0) {
		setenv("CHECK_PROC_MARK", "here", 1);
		if ((grandchild = fork()) == 0) {
			execlp("sleep", "sleep", "30", (char *)NULL);
			_exit(127);
		}
		(void)write(p[1], &grandchild, sizeof(grandchild));
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(child, 0);
	ck_assert_int_eq(read(p[0], &grandchild, sizeof(grandchild)),
	    (ssize_t)sizeof(grandchild));
	usleep(100000);		/* both have exec'd */

	n = proc_children(&pids);
	ck_assert_int_ge(n, 1);
	for (i = 0; i < n; i++)
		found += pids[i] == child;
	ck_assert_int_eq(found, 1);
	free(pids);

	n = proc_table(&procs);
	ck_assert_int_gt(n, 2);
	for (i = found = 0; i < n; i++) {
		if (procs[i].pid == grandchild) {
			found = 1;
			ck_assert(proc_descends(procs, n, i, child));
			ck_assert(proc_descends(procs, n, i, getpid()));
			ck_assert(!proc_descends(procs, n, i, grandchild));
		}
		if (procs[i].pid == getpid())
			ck_assert(!proc_descends(procs, n, i, child));
	}
	ck_assert_int_eq(found, 1);

	ck_assert_int_eq(proc_getenv(grandchild, "CHECK_PROC_MARK", buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "here");
	ck_assert_int_eq(proc_getenv(grandchild, "CHECK_PROC_NONE", buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(proc_getenv(grandchild, "CHECK_PROC_MARK", buf, 4),
	    -1);

	/* Killing the child's tree takes the grandchild too. */
	ck_assert_int_eq(proc_kill_tree(&child, 1, SIGKILL), 2);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	free(procs);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A pid that names another process by now is never signalled. */
START_TEST(test_kill_checks_start)
{
	struct proc	 p;
	pid_t		 child;
	int		 status;

	if ((child = fork()) == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(proc_stat(child, &p), 0);
	p.start++;
	ck_assert_int_eq(proc_kill(&p, SIGKILL), -1);
	p.start--;
	ck_assert_int_eq(proc_kill(&p, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status));
}
END_TEST

/*
 * A connection accepted from a held listener counts; the listener, the
 * client's end and a socket on another port do not.
 */
START_TEST(test_holds_accepted)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 l, other, c, a, r;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(l = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_ne(other = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(bind(other, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(listen(other, 4), 0);
	r = proc_holds_accepted(getpid(), &l, 1);
	if (r == -1 && errno == ENOSYS) {
		fprintf(stderr, "# SKIP holds_accepted: the kernel has no "
		    "pidfd_getfd()\n");
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ne(c = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, len), 0);
	ck_assert_int_eq(proc_holds_accepted(getpid(), &l, 1), 0);
	ck_assert_int_ne(a = accept(l, NULL, NULL), -1);
	ck_assert_int_eq(proc_holds_accepted(getpid(), &l, 1), 1);
	ck_assert_int_eq(proc_holds_accepted(getpid(), &other, 1), 0);
	close(a);
	ck_assert_int_eq(proc_holds_accepted(getpid(), &l, 1), 0);
	close(c);
	close(other);
	close(l);
}
END_TEST

START_TEST(test_keeper_parse)
{
	long	 ms = 7;
	int	 bye = 0;

	ck_assert_int_eq(keeper_parse("drain 1500", &ms, &bye), 0);
	ck_assert_int_eq(ms, 1500);
	ck_assert_int_eq(bye, 0);
	ck_assert_int_eq(keeper_parse("bye", &ms, &bye), 0);
	ck_assert_int_eq(bye, 1);
	ck_assert_int_eq(keeper_parse("drain", &ms, &bye), -1);
	ck_assert_int_eq(keeper_parse("drain -1", &ms, &bye), -1);
	ck_assert_int_eq(keeper_parse("drain 12x", &ms, &bye), -1);
	ck_assert_int_eq(keeper_parse("drain 99999999999999999999", &ms,
	    &bye), -1);
	ck_assert_int_eq(keeper_parse("byebye", &ms, &bye), -1);
	ck_assert_int_eq(ms, 1500);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_parse_stat, test_parse_stat_bad, test_stat_self,
		test_children, test_kill_checks_start, test_holds_accepted,
		test_keeper_parse, NULL
	};

	return check_main("proc", NULL, NULL, tests);
}
