/* The channel: descriptors really cross, messages keep their bounds. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_run.h"
#include "baton.h"
#include "channel.h"

static int	pair[2];

static void
setup(void)
{
	ck_assert_int_eq(channel_pair(pair), 0);
}

static void
teardown(void)
{
	close(pair[0]);
	close(pair[1]);
}

/* Our copy of p's write end was the last: closed, read sees EOF. */
static void
assert_last_copy(int p[2])
{
	char	 c;

	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
}

/*
 * The next record on fd, read into len bytes with room for max
 * descriptors, is refused with err: none is handed over.
 */
static void
assert_refused(int fd, size_t len, size_t max, int err)
{
	char	 buf[8];
	int	 got[2];
	size_t	 n = max;

	ck_assert_uint_le(len, sizeof(buf));
	ck_assert_uint_le(max, 2);
	errno = 0;
	ck_assert_int_eq(channel_recv(fd, buf, len, got, &n), -1);
	ck_assert_int_eq(errno, err);
	ck_assert_uint_eq(n, 0);
}

START_TEST(test_pair_flags)
{
	ck_assert(fcntl(pair[0], F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(pair[1], F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(pair[0], F_GETFL) & O_NONBLOCK);
	ck_assert(!(fcntl(pair[1], F_GETFL) & O_NONBLOCK));
}
END_TEST

START_TEST(test_fds_cross_and_work)
{
	int	 p1[2], p2[2], got[4];
	size_t	 n = 4;
	char	 buf[64], c;
	ssize_t	 r;

	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	int	 send_fds[2] = { p1[1], p2[1] };
	ck_assert_int_eq(channel_send(pair[0], "SOCKETS=2", 9, send_fds, 2), 0);
	r = channel_recv(pair[1], buf, sizeof(buf), got, &n);
	ck_assert_int_eq(r, 9);
	ck_assert_mem_eq(buf, "SOCKETS=2", 9);
	ck_assert_uint_eq(n, 2);
	/* Received close-on-exec, and they are the same pipes. */
	ck_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(got[1], F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(write(got[0], "a", 1), 1);
	ck_assert_int_eq(write(got[1], "b", 1), 1);
	ck_assert_int_eq(read(p1[0], &c, 1), 1);
	ck_assert_int_eq(c, 'a');
	ck_assert_int_eq(read(p2[0], &c, 1), 1);
	ck_assert_int_eq(c, 'b');
	close(got[0]); close(got[1]);
	close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
}
END_TEST

START_TEST(test_boundaries)
{
	char	 buf[64];
	size_t	 n = 0;

	ck_assert_int_eq(channel_send(pair[1], "READY=1", 7, NULL, 0), 0);
	ck_assert_int_eq(channel_send(pair[1], "STATUS=x", 8, NULL, 0), 0);
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), 7);
	n = 0;
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), 8);
	n = 0;
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(test_empty_message_is_not_eof)
{
	char	 buf[8];
	size_t	 n = 0;

	ck_assert_int_eq(channel_send(pair[1], "", 0, NULL, 0), 0);
	ck_assert_int_gt(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), 0);
}
END_TEST

/*
 * A worker may write an empty record itself: recvmsg() returns 0 for it as
 * for a hang-up. channel_recv() tells them apart, even when the hang-up
 * follows at once (then poll() already reports POLLHUP for the record).
 */
START_TEST(test_empty_record_is_not_eof)
{
	char	 buf[8];
	size_t	 n = 0;

	ck_assert_int_eq(send(pair[1], "", 0, 0), 0);
	ck_assert_int_eq(send(pair[1], "READY=1", 7, 0), 7);
	ck_assert_int_eq(send(pair[1], "", 0, 0), 0);
	assert_refused(pair[0], sizeof(buf), 0, ENOMSG);
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), 7);
	ck_assert_mem_eq(buf, "READY=1", 7);
	close(pair[1]);
	pair[1] = open("/dev/null", O_RDONLY);
	assert_refused(pair[0], sizeof(buf), 0, ENOMSG);
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), 0);
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), 0);
}
END_TEST

/*
 * A socket without SO_PASSCRED (a channel from an older baton, taken over
 * at an upgrade): an empty record is known as such while the peer is there.
 */
START_TEST(test_empty_record_without_passcred)
{
	char	 buf[8];
	size_t	 n = 0;
	int	 sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK,
	    0, sp), 0);
	ck_assert_int_eq(send(sp[1], "", 0, 0), 0);
	ck_assert_int_eq(send(sp[1], "READY=1", 7, 0), 7);
	assert_refused(sp[0], sizeof(buf), 0, ENOMSG);
	ck_assert_int_eq(channel_recv(sp[0], buf, sizeof(buf), NULL, &n), 7);
	close(sp[1]);
	ck_assert_int_eq(channel_recv(sp[0], buf, sizeof(buf), NULL, &n), 0);
	close(sp[0]);
}
END_TEST

/* An empty record with descriptors: they are closed, none leaks. */
START_TEST(test_empty_record_with_fds)
{
	int	 p[2], got[2];
	size_t	 n = 2;
	char	 buf[8];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(channel_send(pair[1], "X", 1, p, 1), 0);
	/* channel_send() never sends an empty record: build one by hand. */
	ck_assert_int_eq(check_sendmsg(pair[1], "", 0, p[1]), 0);
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), got, &n), 1);
	ck_assert_uint_eq(n, 1);
	close(got[0]);
	assert_refused(pair[0], sizeof(buf), 2, ENOMSG);
	/* Every other copy of the write end is closed. */
	assert_last_copy(p);
}
END_TEST

START_TEST(test_eof)
{
	char	 buf[8];
	size_t	 n = 0;

	close(pair[1]);
	pair[1] = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(channel_recv(pair[0], buf, sizeof(buf), NULL, &n), 0);
}
END_TEST

/* Too long a message, or more descriptors than asked for: refused, none leak. */
START_TEST(test_truncated_refused)
{
	int	 p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(channel_send(pair[1], "READY=1", 7, p, 1), 0);
	assert_refused(pair[0], 4, 1, EMSGSIZE);

	ck_assert_int_eq(channel_send(pair[1], "X=1", 3, p, 2), 0);
	assert_refused(pair[0], 4, 1, EMSGSIZE);
	/* Both copies were closed. */
	assert_last_copy(p);
}
END_TEST

START_TEST(test_send_limits)
{
	char	 big[BATON_MSG_MAX + 1];
	int	 fds[BATON_FDS_MAX + 1];

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(channel_send(pair[0], big, sizeof(big), NULL, 0), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	memset(fds, 0, sizeof(fds));
	ck_assert_int_eq(channel_send(pair[0], "x", 1, fds, BATON_FDS_MAX + 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

/* Room for n descriptors more than now, or 0 (the test says why). */
static int
room_for(size_t n)
{
	struct rlimit	 rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < n + 64) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n + 64) {
			printf("SKIP: a set of %zu descriptors: the hard "
			    "RLIMIT_NOFILE is %llu\n", n / 2,
			    (unsigned long long)rl.rlim_max);
			return 0;
		}
		rl.rlim_cur = n + 64;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	return 1;
}

/*
 * 1,024 descriptors, more than one message carries (SCM_MAX_FD 253),
 * arrive in order: each an eventfd that holds its own index.
 */
START_TEST(test_set_in_order)
{
	enum { N = 1024 };
	int		 sent[N], got[N], i;
	uint64_t	 v;

	if (!room_for(2 * N))
		return;
	for (i = 0; i < N; i++)
		ck_assert_int_ne(sent[i] = eventfd(i + 1, EFD_CLOEXEC), -1);
	ck_assert_int_eq(channel_send_set(pair[0], "SOCKETS=1024", 12, sent,
	    N), 0);
	for (i = 0; i < N; i++)
		close(sent[i]);
	ck_assert_int_eq(channel_recv_set(pair[1], got, N), 0);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(read(got[i], &v, sizeof(v)), sizeof(v));
		ck_assert_uint_eq(v, (uint64_t)i + 1);
		ck_assert_int_eq(fcntl(got[i], F_GETFD) & FD_CLOEXEC,
		    FD_CLOEXEC);
		close(got[i]);
	}
	/* Nothing left over: the next record is a fresh message. */
	ck_assert_int_eq(channel_send_set(pair[0], "X=1", 3, NULL, 0), 0);
	ck_assert_int_eq(channel_recv_set(pair[1], got, 0), 0);
}
END_TEST

/* A pipe, and its write end n times in fds. */
static void
pipe_copies(int p[2], int *fds, size_t n)
{
	size_t	 i;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < n; i++)
		fds[i] = p[1];
}

/* Receiving a set of n fails with err, and p's write end is all closed. */
static void
assert_set_refused(size_t n, int err, int p[2])
{
	int	 got[400];

	ck_assert_uint_le(n, 400);
	errno = 0;
	ck_assert_int_eq(channel_recv_set(pair[1], got, n), -1);
	ck_assert_int_eq(errno, err);
	assert_last_copy(p);
}

/*
 * A short or malformed sequence is refused and every descriptor that
 * came with it closed: p's write end, sent many times, has no copy left.
 */
START_TEST(test_set_short_refused)
{
	int	 p[2], fds[400];

	if (!room_for(2 * 400))
		return;
	/* 300 (253 + 47) where 400 are expected: the second is short. */
	pipe_copies(p, fds, 400);
	ck_assert_int_eq(channel_send_set(pair[0], "S=1", 3, fds, 300), 0);
	assert_set_refused(400, EBADMSG, p);

	/* A first message with more than a message's share: malformed. */
	pipe_copies(p, fds, 400);
	ck_assert_int_eq(channel_send(pair[0], "S=1", 3, fds, 20), 0);
	assert_set_refused(10, EBADMSG, p);

	/* The sender goes after one full message: end of file. */
	pipe_copies(p, fds, 400);
	ck_assert_int_eq(channel_send(pair[0], "S=1", 3, fds,
	    BATON_FDS_MAX), 0);
	close(pair[0]);
	pair[0] = -1;
	assert_set_refused(400, EPIPE, p);
}
END_TEST

START_TEST(test_parse)
{
	struct channel_msg	 m;
	static const char	 good[] = "READY=1\nSTATUS=serving 12 requests\nX-Other=ignored\n";

	ck_assert_int_eq(channel_parse(good, strlen(good), &m), 0);
	ck_assert_int_eq(m.ready, 1);
	ck_assert_int_eq(m.has_status, 1);
	ck_assert_str_eq(m.status, "serving 12 requests");
	ck_assert_int_eq(m.has_error, 0);

	ck_assert_int_eq(channel_parse("READY=0", 7, &m), 0);
	ck_assert_int_eq(m.ready, 0);
	ck_assert_int_eq(channel_parse("READY=10", 8, &m), 0);
	ck_assert_int_eq(m.ready, 0);
	ck_assert_int_eq(channel_parse("LISTENING=1\nSTOPPING=1", 22, &m), 0);
	ck_assert_int_eq(m.listening, 1);
	ck_assert_int_eq(channel_parse("ERROR=exec x: No such file", 26, &m), 0);
	ck_assert_str_eq(m.error, "exec x: No such file");
	ck_assert_int_eq(channel_parse("\n\nREADY=1\n\n", 11, &m), 0);
	ck_assert_int_eq(m.ready, 1);
	ck_assert_int_eq(channel_parse("", 0, &m), 0);
}
END_TEST

START_TEST(test_parse_requests)
{
	struct channel_msg	 m;
	char			 big[CHANNEL_NAME_MAX + 16];

	ck_assert_int_eq(channel_parse("SOCKET=http", 11, &m), 0);
	ck_assert_int_eq(m.has_socket, 1);
	ck_assert_str_eq(m.socket, "http");
	ck_assert_int_eq(channel_parse("IDLE=1", 6, &m), 0);
	ck_assert_int_eq(m.idle, 1);
	ck_assert_int_eq(m.has_socket, 0);
	/* An empty or over-long name names no socket: refused whole. */
	ck_assert_int_eq(channel_parse("SOCKET=", 7, &m), -1);
	memcpy(big, "SOCKET=", 7);
	memset(big + 7, 'n', sizeof(big) - 7);
	ck_assert_int_eq(channel_parse(big, sizeof(big), &m), -1);
}
END_TEST

START_TEST(test_parse_malformed)
{
	struct channel_msg	 m;

	ck_assert_int_eq(channel_parse("READY", 5, &m), -1);
	ck_assert_int_eq(channel_parse("=1", 2, &m), -1);
	ck_assert_int_eq(channel_parse("READY=1\ngarbage", 15, &m), -1);
	ck_assert_int_eq(channel_parse("READY=1\0X=1", 11, &m), -1);
}
END_TEST

START_TEST(test_parse_long_status_is_cut)
{
	struct channel_msg	 m;
	char			 buf[1024];

	memcpy(buf, "STATUS=", 7);
	memset(buf + 7, 'y', sizeof(buf) - 7);
	ck_assert_int_eq(channel_parse(buf, sizeof(buf), &m), 0);
	ck_assert_uint_eq(strlen(m.status), CHANNEL_STATUS_MAX - 1);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_pair_flags, test_fds_cross_and_work, test_boundaries,
		test_empty_message_is_not_eof, test_empty_record_is_not_eof,
		test_empty_record_without_passcred,
		test_empty_record_with_fds, test_eof, test_truncated_refused,
		test_send_limits, test_set_in_order, test_set_short_refused,
		test_parse, test_parse_requests,
		test_parse_malformed, test_parse_long_status_is_cut, NULL
	};

	return check_main("channel", setup, teardown, tests);
}
