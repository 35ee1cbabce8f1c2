/*
 * state.c: the upgrade's state, written and read back by the same code,
 * and what the reader refuses. Nothing here opens a descriptor it names.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_run.h"
#include "config.h"
#include "state.h"
#include "xmalloc.h"

static const char good[] =
    STATE_FORMAT "\n"
    "from 0.1.0\n"
    "started 1700000000 12345\n"
    "counters 1 2 3 4 5\n"
    "last 2 300 1700000100 worker 0 exited\n"
    "next 3\n"
    "notify 7\n"
    "control 9 /run/app.sock\n"
    "config 11 /etc/app.ini\n"
    "generation 2 12000\n"
    "socket 12 0 0 0\n"
    "worker 100 100 13 1 200 12100 0 serving\n"
    "worker 0 0 -1 4 400 0 0 \n"
    "end\n";

START_TEST(test_parse_good)
{
	struct state	 st;
	char		*error = NULL;

	ck_assert_int_eq(state_parse(xstrdup(good), &st, &error), 0);
	ck_assert_str_eq(st.from, "0.1.0");
	ck_assert_int_eq(st.upgrades, 5);
	/* An image before "recycled" wrote none: 0. */
	ck_assert_int_eq(st.recycled, 0);
	/* Nor "nofile": the new image keeps the limit it inherits. */
	ck_assert_int_eq(st.nofile, 0);
	ck_assert_int_eq(st.last_outcome, 2);
	ck_assert_str_eq(st.last_reason, "worker 0 exited");
	ck_assert_int_eq(st.notify_fd, 7);
	ck_assert_int_eq(st.control_fd, 9);
	ck_assert_str_eq(st.control_path, "/run/app.sock");
	ck_assert_int_eq(st.pidfile_fd, -1);
	ck_assert_int_eq(st.config_fd, 11);
	ck_assert_str_eq(st.config_file, "/etc/app.ini");
	ck_assert_int_eq(st.generation, 2);
	ck_assert_uint_eq(st.nsockets, 1);
	ck_assert_int_eq(st.sockets[0].fd, 12);
	/* An image older than steering wrote no "steer" or "member" line. */
	ck_assert_int_eq(st.sockets[0].steered, 0);
	ck_assert_int_eq(st.members[0].index, -1);
	ck_assert_uint_eq(st.nworkers, 2);
	ck_assert_int_eq(st.workers[0].pid, 100);
	ck_assert_int_eq(st.workers[0].channel, 13);
	ck_assert_str_eq(st.workers[0].status, "serving");
	ck_assert_int_eq(st.workers[1].pid, 0);
	ck_assert_ptr_null(st.workers[1].status);
	state_clear(&st);
}
END_TEST

/*
 * The optional lines an image writes only when it has them: the pidfile,
 * the keeper; and a worker slot waiting for its restart (pid 0, no
 * channel). An older image without the keeper wrote none of its line.
 */
START_TEST(test_parse_optional)
{
	static const char	 text[] =
	    STATE_FORMAT "\n"
	    "from 0.2.0\n"
	    "started 1700000000 12345\n"
	    "counters 0 0 0 0 1\n"
	    "last 0 0 0 \n"
	    "next 2\n"
	    "notify 7\n"
	    "pidfile 8 /run/app.pid\n"
	    "keeper 4242 9\n"
	    "config 11 \n"
	    "generation 1 100\n"
	    "worker 0 0 -1 2 800 0 1 \n"
	    "end\n";
	struct state	 st;
	char		*error = NULL;
	size_t		 n;
	int		*fds;

	ck_assert_int_eq(state_parse(xstrdup(text), &st, &error), 0);
	ck_assert_int_eq(st.last_outcome, 0);
	ck_assert_ptr_null(st.last_reason);
	ck_assert_int_eq(st.control_fd, -1);
	ck_assert_int_eq(st.pidfile_fd, 8);
	ck_assert_str_eq(st.pidfile_path, "/run/app.pid");
	ck_assert_int_eq(st.keeper_pid, 4242);
	ck_assert_int_eq(st.keeper_fd, 9);
	ck_assert_ptr_null(st.config_file);
	ck_assert_uint_eq(st.nsockets, 0);
	ck_assert_int_eq(st.workers[0].backoff, 800);
	ck_assert_int_eq(st.workers[0].preload, 1);
	/* What must cross the exec: config, notify, pidfile, keeper. */
	fds = state_fds(&st, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(fds[0], 11);
	ck_assert_int_eq(fds[3], 9);
	free(fds);
	state_clear(&st);

	/* Without a keeper line, as an image before the keeper wrote it. */
	ck_assert_int_eq(state_parse(xstrdup(good), &st, &error), 0);
	ck_assert_int_eq(st.keeper_fd, -1);
	state_clear(&st);
}
END_TEST

/* Each of these, from good, must be refused. */
static const struct {
	const char	*from, *to;
} bad[] = {
	{ STATE_FORMAT, "baton-upgrade 2" },	/* a format it cannot read */
	{ "end\n", "" },			/* cut short */
	{ "notify 7\n", "" },
	{ "config 11 /etc/app.ini\n", "" },
	{ "generation 2 12000\n", "" },
	{ "next 3\n", "next 3\nsomething new\n" },
	{ "notify 7\n", "notify 7\nnotify 8\n" },
	{ "worker 100 100 13 1 200 12100 0 serving\n"
	  "worker 0 0 -1 4 400 0 0 \n", "" },
	{ "last 2", "last 9" },
	{ "socket 12", "socket x" },
	/* Steering: of a socket it names, with a member beside the anchor. */
	{ "socket 12 0 0 0\n", "socket 12 0 0 0\nsteer 1 30 31 -1 33\n" },
	{ "socket 12 0 0 0\n", "socket 12 0 0 0\nmember 0 1 32\n" },
	{ "socket 12 0 0 0\n", "socket 12 0 0 0\nsteer 0 30 31 -1\n" },
	{ "socket 12 0 0 0\n", "socket 12 0 0 0\nsteer 0 30 31 2 33\n"
	  "member 0 2 32\n" },
	{ "socket 12 0 0 0\n", "socket 12 0 0 0\nsteer 0 30 31 2048 33\n" },
	{ "socket 12 0 0 0\n", "socket 12 0 0 0\nsteer 0 30 31 -1 33\n"
	  "steer 0 30 31 -1 33\n" },
	/* A slot's own member: after its worker; "seated" once. */
	{ "socket 12 0 0 0\n", "socket 12 0 0 0\nsteer 0 30 31 2 33\n"
	  "seat 0 0 3 40\n" },
	{ "end\n", "seated\nseated\nend\n" },
};

/*
 * Slots' own members, after good's workers with its socket steered
 * (anchor 2, the generation's member 4): each must be refused.
 */
static const char *const bad_seat[] = {
	"seat 2 0 3 40\n",			/* no such slot */
	"seat 0 1 3 40\n",			/* no such socket */
	"seat 0 0 4 40\n",			/* the generation's index */
	"seat 0 0 2 40\n",			/* the anchor's */
	"seat 0 0 2048 40\n",			/* out of range */
	"seat 0 0 3 -1\n",			/* no descriptor */
	"seat 0 0 3 40\nseat 1 0 3 41\n",	/* two slots, one index */
	"seat 0 0 3 40\nseat 0 0 5 41\n",	/* one slot twice */
};

/* good, its socket steered, with lines before its end. */
static char *
steered(const char *lines)
{
	const char	*sock = strstr(good, "socket 12 0 0 0\n");
	const char	*end = strstr(good, "end\n");
	size_t		 n = strlen("socket 12 0 0 0\n");

	return xprintf("%.*ssteer 0 30 31 2 33\nmember 0 4 32\n%.*s%send\n",
	    (int)(sock - good + n), good, (int)(end - sock - n), sock + n,
	    lines);
}

START_TEST(test_parse_seat)
{
	struct state	 st;
	char		*error = NULL;

	ck_assert_int_eq(state_parse(steered("seat 1 0 3 40\n"
	    "seat 0 0 5 41\nseated\n"), &st, &error), 0);
	ck_assert_uint_eq(st.nseats, 2);
	ck_assert_uint_eq(st.seats[0].slot, 1);
	ck_assert_uint_eq(st.seats[0].socket, 0);
	ck_assert_int_eq(st.seats[0].index, 3);
	ck_assert_int_eq(st.seats[0].fd, 40);
	ck_assert_uint_eq(st.seats[1].slot, 0);
	ck_assert_int_eq(st.seated, 1);
	state_clear(&st);
	/* An image older than this wrote neither. */
	ck_assert_int_eq(state_parse(steered(""), &st, &error), 0);
	ck_assert_uint_eq(st.nseats, 0);
	ck_assert_int_eq(st.seated, 0);
	state_clear(&st);
}
END_TEST

START_TEST(test_parse_bad_seat)
{
	struct state	 st;
	char		*error = NULL;

	ck_assert_int_eq(state_parse(steered(bad_seat[_i]), &st, &error), -1);
	ck_assert_ptr_nonnull(error);
	free(error);
	state_clear(&st);
}
END_TEST

START_TEST(test_parse_bad)
{
	struct state	 st;
	const char	*at;
	char		*text, *error = NULL;
	size_t		 n;

	at = strstr(good, bad[_i].from);
	ck_assert_ptr_nonnull(at);
	n = (size_t)(at - good);
	text = xprintf("%.*s%s%s", (int)n, good, bad[_i].to,
	    at + strlen(bad[_i].from));
	ck_assert_int_eq(state_parse(text, &st, &error), -1);
	ck_assert_ptr_nonnull(error);
	free(error);
	state_clear(&st);
}
END_TEST

/* What state_write() writes, state_read() reads back, configuration too. */
START_TEST(test_roundtrip)
{
	static char *const	 argv[] = { "/bin/true", NULL };
	struct socket_saved	 ss[2] = { { 20, 0, 0, 0 }, { 21, 1, 5, 6 } };
	struct worker_saved	 ws[2] = {
		{ 100, 100, 30, 0, 100, 5000, 0, "up" },
		{ 0, 0, -1, 3, 800, 0, 0, NULL },
	};
	struct output_saved	 os[2] = {
		{ 40, 4, 0, 100, "stdout", "", 0 },
		{ 41, 3, 1, 99, "stderr", "half a\0line \xff", 13 },
	};
	struct state_member	 members[2] = { { 3, 52 }, { -1, -1 } };
	struct state_seat	 seats[1] = { { 1, 0, 5, 60 } };
	struct config		*c;
	struct state		 st, back;
	char			*error = NULL;
	size_t			 nfds;
	int			*fds, sfd, cfd;

	c = config_new();
	ck_assert_int_eq(config_set_listen(c, "http=tcp://127.0.0.1:1", &error),
	    0);
	ck_assert_int_eq(config_set_listen(c, "admin=unix:///tmp/a.sock",
	    &error), 0);
	ck_assert_int_eq(config_set_argv(c, argv, &error), 0);
	c->workers = 2;
	ck_assert_int_eq(config_finish(c, &error), 0);
	sfd = memfd_create("state", MFD_CLOEXEC);
	cfd = memfd_create("config", MFD_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_ge(cfd, 0);

	memset(&st, 0, sizeof(st));
	st.from = "9.9";
	st.upgrades = 2;
	st.recycled = 3;
	st.nofile = 1024;
	st.last_reason = "a\nb";
	st.notify_fd = 10;
	st.control_fd = -1;
	st.pidfile_fd = 11;
	st.pidfile_path = "/run/p.pid";
	st.keeper_pid = 77;
	st.keeper_fd = 12;
	st.config_fd = cfd;
	st.generation = 4;
	st.sockets = ss;
	st.nsockets = 2;
	st.workers = ws;
	st.nworkers = 2;
	st.output_fd = -1;
	st.outcomes[RECORD_OK] = 5;
	st.outcomes[RECORD_FAILED] = 1;
	record_observe(&st.reload_time, 700);
	record_observe(&st.drain_time, 40);
	record_observe(&st.drain_time, 400000);
	st.metrics = (struct socket_saved){ 13, 1, 7, 8 };
	st.metrics_url = "unix:///run/m.sock";
	ck_assert_msg(state_write(&st, c, sfd, &error) == 0, "%s", error);
	fds = state_fds(&st, &nfds);
	/* config, notify, pidfile, keeper, metrics, two sockets, a channel */
	ck_assert_uint_eq(nfds, 8);
	free(fds);
	ck_assert_int_eq(state_read(sfd, &back, &error), 0);
	ck_assert_int_eq(back.output_fd, -1);
	ck_assert_uint_eq(back.nstreams, 0);
	state_clear(&back);

	/* With output = FILE: the file, and each pipe with its half line. */
	st.output_fd = 14;
	st.output_path = "/var/log/app.log";
	st.output_max_size = 1048576;
	st.output_keep = 3;
	st.streams = os;
	st.nstreams = 2;
	ck_assert_msg(state_write(&st, c, sfd, &error) == 0, "%s", error);
	fds = state_fds(&st, &nfds);
	/* and the output file and two pipes */
	ck_assert_uint_eq(nfds, 11);
	free(fds);

	ck_assert_int_eq(state_read(sfd, &back, &error), 0);
	ck_assert_str_eq(back.from, "9.9");
	ck_assert_int_eq(back.upgrades, 2);
	ck_assert_int_eq(back.recycled, 3);
	ck_assert_int_eq(back.nofile, 1024);
	ck_assert_str_eq(back.last_reason, "a b");
	ck_assert_int_eq(back.control_fd, -1);
	ck_assert_str_eq(back.pidfile_path, "/run/p.pid");
	ck_assert_int_eq(back.keeper_pid, 77);
	ck_assert_int_eq(back.keeper_fd, 12);
	ck_assert_int_eq(back.generation, 4);
	ck_assert_uint_eq(back.nsockets, 2);
	ck_assert_int_eq(back.sockets[1].unlink_path, 1);
	ck_assert_uint_eq(back.sockets[1].ino, 6);
	ck_assert_str_eq(back.workers[0].status, "up");
	ck_assert_int_eq(back.workers[1].restarts, 3);
	ck_assert_ptr_nonnull(back.config);
	ck_assert_int_eq(back.config->workers, 2);
	ck_assert_int_eq(back.output_fd, 14);
	ck_assert_str_eq(back.output_path, "/var/log/app.log");
	ck_assert_int_eq(back.output_max_size, 1048576);
	ck_assert_int_eq(back.output_keep, 3);
	ck_assert_uint_eq(back.nstreams, 2);
	ck_assert_int_eq(back.streams[0].fd, 40);
	ck_assert_uint_eq(back.streams[0].npartial, 0);
	ck_assert_int_eq(back.streams[1].gen, 3);
	ck_assert_int_eq(back.streams[1].slot, 1);
	ck_assert_int_eq(back.streams[1].pid, 99);
	ck_assert_str_eq(back.streams[1].stream, "stderr");
	ck_assert_uint_eq(back.streams[1].npartial, 13);
	ck_assert_mem_eq(back.streams[1].partial, "half a\0line \xff", 13);
	ck_assert_int_eq(back.outcomes[RECORD_OK], 5);
	ck_assert_int_eq(back.outcomes[RECORD_ROLLED_BACK], 0);
	ck_assert_int_eq(back.outcomes[RECORD_FAILED], 1);
	ck_assert_int_eq(back.reload_time.count, 1);
	ck_assert_int_eq(back.reload_time.sum_ms, 700);
	ck_assert_int_eq(back.reload_time.le[3], 0);	/* 500 ms */
	ck_assert_int_eq(back.reload_time.le[4], 1);	/* 1 s */
	ck_assert_int_eq(back.drain_time.count, 2);
	ck_assert_int_eq(back.drain_time.le[0], 1);
	ck_assert_int_eq(back.drain_time.le[RECORD_NBUCKETS - 1], 1);
	ck_assert_int_eq(back.metrics.fd, 13);
	ck_assert_int_eq(back.metrics.unlink_path, 1);
	ck_assert_uint_eq(back.metrics.ino, 8);
	ck_assert_str_eq(back.metrics_url, "unix:///run/m.sock");
	state_clear(&back);

	/* No metrics listener: no line, no descriptor. */
	st.metrics.fd = -1;
	ck_assert_int_eq(state_write(&st, c, sfd, &error), 0);
	free(state_fds(&st, &nfds));
	ck_assert_uint_eq(nfds, 10);
	ck_assert_int_eq(state_read(sfd, &back, &error), 0);
	ck_assert_int_eq(back.metrics.fd, -1);
	state_clear(&back);

	/*
	 * Steered: the group's maps and the anchor's index with its socket,
	 * the generation's own member beside; four more descriptors.
	 */
	ss[0].steered = 1;
	ss[0].steer.sockarray_fd = 50;
	ss[0].steer.route_fd = 51;
	ss[0].steer.counts_fd = 53;
	ss[0].anchor_index = 0;
	st.members = members;
	ck_assert_int_eq(state_write(&st, c, sfd, &error), 0);
	fds = state_fds(&st, &nfds);
	ck_assert_uint_eq(nfds, 14);
	ck_assert_int_eq(fds[4], 20);
	ck_assert_int_eq(fds[5], 50);
	ck_assert_int_eq(fds[6], 51);
	ck_assert_int_eq(fds[7], 53);
	ck_assert_int_eq(fds[8], 52);
	ck_assert_int_eq(fds[9], 21);
	free(fds);
	ck_assert_int_eq(state_read(sfd, &back, &error), 0);
	ck_assert_int_eq(back.sockets[0].steered, 1);
	ck_assert_int_eq(back.sockets[0].steer.sockarray_fd, 50);
	ck_assert_int_eq(back.sockets[0].steer.route_fd, 51);
	ck_assert_int_eq(back.sockets[0].steer.counts_fd, 53);
	ck_assert_int_eq(back.sockets[0].anchor_index, 0);
	ck_assert_int_eq(back.sockets[1].steered, 0);
	ck_assert_ptr_nonnull(back.members);
	ck_assert_int_eq(back.members[0].index, 3);
	ck_assert_int_eq(back.members[0].fd, 52);
	ck_assert_int_eq(back.members[1].index, -1);
	state_clear(&back);

	/* Each slot's own member too, after the workers', and "seated". */
	st.seats = seats;
	st.nseats = 1;
	st.seated = 1;
	ck_assert_int_eq(state_write(&st, c, sfd, &error), 0);
	fds = state_fds(&st, &nfds);
	ck_assert_uint_eq(nfds, 15);
	ck_assert_int_eq(fds[11], 60);
	free(fds);
	ck_assert_int_eq(state_read(sfd, &back, &error), 0);
	ck_assert_uint_eq(back.nseats, 1);
	ck_assert_uint_eq(back.seats[0].slot, 1);
	ck_assert_uint_eq(back.seats[0].socket, 0);
	ck_assert_int_eq(back.seats[0].index, 5);
	ck_assert_int_eq(back.seats[0].fd, 60);
	ck_assert_int_eq(back.seated, 1);
	state_clear(&back);
	st.seats = NULL;
	st.nseats = 0;
	st.seated = 0;

	/* Only a TCP socket is steered: the unix one is refused. */
	ss[1].steered = 1;
	ss[1].anchor_index = -1;
	ck_assert_int_eq(state_write(&st, c, sfd, &error), 0);
	ck_assert_int_eq(state_read(sfd, &back, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not TCP"));
	free(error);
	ss[1].steered = 0;
	st.members = NULL;
	ss[0].steered = 0;

	/* Scaled (baton scale): fewer workers than the file's carry over. */
	st.nworkers = 1;
	ck_assert_int_eq(state_write(&st, c, sfd, &error), 0);
	ck_assert_msg(state_read(sfd, &back, &error) == 0, "%s", error);
	ck_assert_uint_eq(back.nworkers, 1);
	ck_assert_int_eq(back.config->workers, 2);
	state_clear(&back);
	st.nworkers = 2;

	/* A state whose sockets differ from its configuration's is refused. */
	st.nsockets = 1;
	ck_assert_int_eq(state_write(&st, c, sfd, &error), 0);
	ck_assert_int_eq(state_read(sfd, &back, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "1 sockets"));
	free(error);
	close(sfd);
	close(cfd);
	config_free(c);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("state");
	const TTest	*format[] = {
		test_parse_good, test_parse_optional, test_parse_seat,
		test_roundtrip, NULL
	};
	TCase		*tc = check_case(s, "format", format);

	tcase_add_loop_test(tc, test_parse_bad, 0, CHECK_NITEMS(bad));
	tcase_add_loop_test(tc, test_parse_bad_seat, 0,
	    CHECK_NITEMS(bad_seat));
	return check_run(s);
}
