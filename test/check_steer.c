/*
 * steer.c on real loopback sockets: which member of the group each new
 * connection lands on, seen by accepting from every member and the
 * anchor. No worker runs: nothing accepts unless the test does.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "config.h"
#include "socket.h"
#include "steer.h"

#define BACKLOG		4096
#define NMEMBERS	8

/* One group: the anchor, the members at index i (or -1), and its address. */
static struct {
	int			 anchor;
	int			 member[NMEMBERS];
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct steer		*steer;
} g;

static void
group_new(int family)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&g.addr;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&g.addr;
	char			*error = NULL;
	int			 one = 1, hold, i;

	memset(&g.addr, 0, sizeof(g.addr));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		g.addrlen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		g.addrlen = sizeof(*sin);
	}
	/*
	 * The anchor is bound to a port by number, as baton binds: one
	 * socket of the group takes a free port, the anchor then names it.
	 */
	hold = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(hold, -1);
	ck_assert_int_eq(setsockopt(hold, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)), 0);
	ck_assert_int_eq(bind(hold, (struct sockaddr *)&g.addr, g.addrlen), 0);
	ck_assert_int_eq(getsockname(hold, (struct sockaddr *)&g.addr,
	    &g.addrlen), 0);
	g.anchor = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	ck_assert_int_ne(g.anchor, -1);
	ck_assert_int_eq(setsockopt(g.anchor, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)), 0);
	ck_assert_int_eq(bind(g.anchor, (struct sockaddr *)&g.addr,
	    g.addrlen), 0);
	ck_assert_int_eq(listen(g.anchor, BACKLOG), 0);
	close(hold);
	g.steer = steer_new(g.anchor, BACKLOG, &error);
	if (g.steer == NULL)
		ck_abort_msg("steer_new: %s", error);
	for (i = 0; i < NMEMBERS; i++)
		g.member[i] = -1;
}

static void
member(unsigned i)
{
	char	*error = NULL;

	g.member[i] = steer_member(g.steer, i, &error);
	if (g.member[i] == -1)
		ck_abort_msg("steer_member %u: %s", i, error);
	/* The anchor's O_NONBLOCK, as the header promises. */
	ck_assert(fcntl(g.member[i], F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(g.member[i], F_GETFD) & FD_CLOEXEC);
}

/* active: indices ending with -1. */
static void
route(const int *active, int candidate, unsigned canary, uint16_t probe)
{
	struct steer_route	 r;
	char			*error = NULL;

	memset(&r, 0, sizeof(r));
	for (; *active != -1; active++)
		r.active[r.nactive++] = (unsigned)*active;
	r.candidate = candidate;
	r.canary = canary;
	r.probe[0] = probe;
	if (steer_route(g.steer, &r, &error) == -1)
		ck_abort_msg("steer_route: %s", error);
}

/* A client socket bound to a loopback port of its own; *port is it. */
static int
client(uint16_t *port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd;

	fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memcpy(&ss, &g.addr, g.addrlen);
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	else
		((struct sockaddr_in *)&ss)->sin_port = 0;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, g.addrlen), 0);
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static void
dial(int fd)
{
	ck_assert_msg(connect(fd, (struct sockaddr *)&g.addr, g.addrlen) == 0,
	    "connect: %s", strerror(errno));
}

/*
 * Accept the one connection that is waiting: the member index it was
 * queued on, NMEMBERS for the anchor, -1 for none within a second.
 */
static int
landed(void)
{
	struct pollfd	 pfd[NMEMBERS + 1];
	int		 i, fd;

	for (i = 0; i < NMEMBERS; i++) {
		pfd[i].fd = g.member[i];
		pfd[i].events = POLLIN;
	}
	pfd[NMEMBERS].fd = g.anchor;
	pfd[NMEMBERS].events = POLLIN;
	if (poll(pfd, NMEMBERS + 1, 1000) <= 0)
		return -1;
	for (i = 0; i <= NMEMBERS; i++) {
		if (pfd[i].revents & POLLIN) {
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			ck_assert_int_ne(fd, -1);
			close(fd);
			return i;
		}
	}
	return -1;
}

/* Connect n clients one by one; count[i] is how many landed on member i. */
static void
spread(int n, int *count)
{
	uint16_t	 port;
	int		 i, fd, at;

	memset(count, 0, sizeof(int) * (NMEMBERS + 1));
	for (i = 0; i < n; i++) {
		fd = client(&port);
		dial(fd);
		at = landed();
		ck_assert_int_ne(at, -1);
		count[at]++;
		close(fd);
	}
}

/* One new connection lands on member i. */
static void
lands_on(int i)
{
	uint16_t	 port;
	int		 fd;

	fd = client(&port);
	dial(fd);
	ck_assert_int_eq(landed(), i);
	close(fd);
}

static void
assert_anchor_empty(void)
{
	int	 fd;

	fd = accept(g.anchor, NULL, NULL);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, EAGAIN);
}

static void
teardown(void)
{
	int	 i;

	steer_free(g.steer);
	for (i = 0; i < NMEMBERS; i++)
		if (g.member[i] != -1)
			close(g.member[i]);
	close(g.anchor);
}

static const int none[] = { -1 };
static const int first[] = { 0, -1 };
static const int second[] = { 1, -1 };

static void
only_active(int family)
{
	int	 count[NMEMBERS + 1];

	group_new(family);
	member(0);
	member(1);
	route(first, STEER_NONE, 0, 0);
	spread(100, count);
	ck_assert_int_eq(count[0], 100);
	assert_anchor_empty();
	/* Promotion: the route changes in place. */
	route(second, STEER_NONE, 0, 0);
	spread(100, count);
	ck_assert_int_eq(count[1], 100);
	assert_anchor_empty();
	teardown();
}

START_TEST(test_only_active)
{
	only_active(AF_INET);
}
END_TEST

START_TEST(test_only_active_ipv6)
{
	only_active(AF_INET6);
}
END_TEST

/* With no active member the SYN is refused, never queued on the anchor. */
START_TEST(test_no_route_refuses)
{
	uint16_t	 port;
	int		 fd;

	group_new(AF_INET);
	member(0);
	route(none, STEER_NONE, 0, 0);
	fd = client(&port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&g.addr, g.addrlen),
	    -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
	ck_assert_int_eq(landed(), -1);
	teardown();
}
END_TEST

static void
probe(int family)
{
	uint16_t	 port, other;
	int		 fd, busy[20], i;

	group_new(family);
	member(0);
	member(1);
	fd = client(&port);
	route(first, 1, 0, port);
	/* Others connecting at the same time stay on the active member. */
	for (i = 0; i < 10; i++) {
		busy[i] = client(&other);
		dial(busy[i]);
	}
	dial(fd);
	for (i = 10; i < 20; i++) {
		busy[i] = client(&other);
		dial(busy[i]);
	}
	ck_assert_int_eq(accept(g.member[1], NULL, NULL) != -1, 1);
	ck_assert_int_eq(accept(g.member[1], NULL, NULL), -1);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(landed(), 0);
		close(busy[i]);
	}
	assert_anchor_empty();
	close(fd);
	teardown();
}

START_TEST(test_probe)
{
	probe(AF_INET);
}
END_TEST

START_TEST(test_probe_ipv6)
{
	probe(AF_INET6);
}
END_TEST

/* A probe never reaches the active generation: no candidate, no connection. */
START_TEST(test_probe_without_candidate_member)
{
	uint16_t	 port;
	int		 fd;

	group_new(AF_INET);
	member(0);
	fd = client(&port);
	route(first, 5, 0, port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&g.addr, g.addrlen),
	    -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert_int_eq(landed(), -1);
	close(fd);
	teardown();
}
END_TEST

/* 1000 connections from distinct ports: 10% is 100 +- 9.5 (one sigma). */
START_TEST(test_canary)
{
	int	 count[NMEMBERS + 1];

	group_new(AF_INET);
	member(0);
	member(1);
	route(first, 1, 1000, 0);
	spread(1000, count);
	ck_assert_int_ge(count[1], 50);
	ck_assert_int_le(count[1], 150);
	ck_assert_int_eq(count[0] + count[1], 1000);
	/* The program counted each member's, exactly. */
	ck_assert_int_eq(steer_count(g.steer, 0), count[0]);
	ck_assert_int_eq(steer_count(g.steer, 1), count[1]);
	route(first, 1, 0, 0);
	spread(200, count);
	ck_assert_int_eq(count[0], 200);
	route(first, 1, STEER_CANARY_WHOLE, 0);
	spread(200, count);
	ck_assert_int_eq(count[1], 200);
	assert_anchor_empty();
	teardown();
}
END_TEST

/*
 * rollout = rolling: one member per slot, spread by hash. Of 1000
 * connections each of 4 gets 250 +- 13.7 (one sigma); 150..350 is
 * over seven sigmas, so only a broken spread fails.
 */
START_TEST(test_rolling_even)
{
	static const int	 slots[] = { 0, 1, 2, 3, -1 };
	int			 count[NMEMBERS + 1], i;

	group_new(AF_INET);
	for (i = 0; i < 4; i++)
		member(i);
	route(slots, STEER_NONE, 0, 0);
	spread(1000, count);
	for (i = 0; i < 4; i++) {
		ck_assert_int_ge(count[i], 150);
		ck_assert_int_le(count[i], 350);
	}
	ck_assert_int_eq(count[NMEMBERS], 0);
	teardown();
}
END_TEST

/*
 * Counts are per member and start at 0 when an index gets a member,
 * though it had one before; an index out of range has none.
 */
START_TEST(test_counts)
{
	int	 count[NMEMBERS + 1];

	group_new(AF_INET);
	member(0);
	member(1);
	ck_assert_int_eq(steer_count(g.steer, 0), 0);
	route(first, STEER_NONE, 0, 0);
	spread(30, count);
	ck_assert_int_eq(steer_count(g.steer, 0), 30);
	ck_assert_int_eq(steer_count(g.steer, 1), 0);
	route(second, STEER_NONE, 0, 0);
	spread(20, count);
	ck_assert_int_eq(steer_count(g.steer, 1), 20);
	close(g.member[0]);
	member(0);
	ck_assert_int_eq(steer_count(g.steer, 0), 0);
	ck_assert_int_eq(steer_count(g.steer, 1), 20);
	ck_assert_int_eq(steer_count(g.steer, STEER_MAX_INDEX), -1);
	teardown();
}
END_TEST

/* An active member that is gone is skipped: the next one takes it all. */
START_TEST(test_forgotten_member)
{
	static const int	 both[] = { 0, 1, -1 };
	int			 count[NMEMBERS + 1];

	group_new(AF_INET);
	member(0);
	member(1);
	route(both, STEER_NONE, 0, 0);
	ck_assert_int_eq(steer_forget(g.steer, 0), 0);
	spread(100, count);
	ck_assert_int_eq(count[1], 100);
	assert_anchor_empty();
	teardown();
}
END_TEST

/*
 * Connections queued, not accepted, on a member that closes: every one is
 * accepted from the active member afterwards, with the bytes its client
 * sent, and no client sees a reset. None goes to the candidate, though
 * every new connection would.
 */
static void
migrate(int family)
{
	uint16_t	 port;
	int		 fd[50], i, a, err;
	socklen_t	 len;
	char		 c;

	group_new(family);
	member(0);
	member(1);
	member(2);
	route(first, 1, 0, 0);
	for (i = 0; i < 50; i++) {
		fd[i] = client(&port);
		dial(fd[i]);
		ck_assert_int_eq(write(fd[i], "x", 1), 1);
	}
	route(second, 2, 1000, 0);
	close(g.member[0]);
	g.member[0] = -1;
	for (i = 0; i < 50; i++) {
		a = accept4(g.member[1], NULL, NULL, SOCK_CLOEXEC);
		ck_assert_msg(a != -1, "accept %d: %s", i, strerror(errno));
		ck_assert_int_eq(read(a, &c, 1), 1);
		ck_assert_int_eq(c, 'x');
		close(a);
	}
	ck_assert_int_eq(accept(g.member[1], NULL, NULL), -1);
	ck_assert_int_eq(accept(g.member[2], NULL, NULL), -1);
	for (i = 0; i < 50; i++) {
		len = sizeof(err);
		ck_assert_int_eq(getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &err,
		    &len), 0);
		ck_assert_int_eq(err, 0);
		close(fd[i]);
	}
	assert_anchor_empty();
	teardown();
}

START_TEST(test_migrate)
{
	migrate(AF_INET);
}
END_TEST

START_TEST(test_migrate_ipv6)
{
	migrate(AF_INET6);
}
END_TEST

/* What queued on the anchor before steering goes to the first active member. */
START_TEST(test_anchor_queue_handed_on)
{
	uint16_t	 port;
	int		 fd[5], i, a;
	char		 c;

	group_new(AF_INET);
	steer_free(g.steer);
	for (i = 0; i < 5; i++) {
		fd[i] = client(&port);
		dial(fd[i]);
		ck_assert_int_eq(write(fd[i], "y", 1), 1);
	}
	g.steer = steer_new(g.anchor, BACKLOG, &(char *){ NULL });
	ck_assert_ptr_nonnull(g.steer);
	member(0);
	route(first, STEER_NONE, 0, 0);
	for (i = 0; i < 5; i++) {
		ck_assert_int_ne(a = accept(g.member[0], NULL, NULL), -1);
		ck_assert_int_eq(read(a, &c, 1), 1);
		close(a);
		close(fd[i]);
	}
	assert_anchor_empty();
	/* The anchor still holds the port and is still in the group. */
	close(g.member[0]);
	g.member[0] = -1;
	member(0);
	ck_assert_int_eq(landed(), -1);
	lands_on(0);
	teardown();
}
END_TEST

/* An anchor on an ephemeral port would lose it: steer_route() says so. */
START_TEST(test_anchor_ephemeral_port)
{
	struct sockaddr_in	 sin;
	char			*error = NULL;
	int			 one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g.anchor = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(setsockopt(g.anchor, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)), 0);
	ck_assert_int_eq(bind(g.anchor, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_eq(listen(g.anchor, BACKLOG), 0);
	g.steer = steer_new(g.anchor, BACKLOG, &error);
	ck_assert_ptr_nonnull(g.steer);
	for (one = 0; one < NMEMBERS; one++)
		g.member[one] = -1;
	member(0);
	ck_assert_int_eq(steer_route(g.steer, &(struct steer_route){
	    .active = { 0 }, .nactive = 1, .candidate = STEER_NONE }, &error),
	    -1);
	ck_assert_str_eq(error, "steer: the anchor lost its port: it must be "
	    "bound to a port of its own, not 0");
	free(error);
	teardown();
}
END_TEST

/*
 * Another socket of the same user may join the group (the kernel lets
 * it), but the program never picks a socket that is not in its map.
 */
START_TEST(test_stranger_gets_nothing)
{
	int		 stranger, one = 1, i;

	group_new(AF_INET);
	member(0);
	route(first, STEER_NONE, 0, 0);
	stranger = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ne(stranger, -1);
	ck_assert_int_eq(setsockopt(stranger, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)), 0);
	ck_assert_int_eq(bind(stranger, (struct sockaddr *)&g.addr,
	    g.addrlen), 0);
	ck_assert_int_eq(listen(stranger, BACKLOG), 0);
	for (i = 0; i < 50; i++)
		lands_on(0);
	ck_assert_int_eq(accept(stranger, NULL, NULL), -1);
	close(stranger);
	teardown();
}
END_TEST

/*
 * What a worker can do with the member it was given, without privilege:
 * take the program away, or put its own classic BPF in its place.
 */
static void
tamper(int how)
{
	/* No socket by that number: the kernel spreads by hash over all. */
	struct sock_filter	 by_hash[] = { { BPF_RET | BPF_K, 0, 0, 9999 } };
	struct sock_fprog	 fprog = { 1, by_hash };
	pid_t			 pid;
	int			 status, zero = 0, r;

	if ((pid = fork()) == 0) {
		if (getuid() == 0 && (setgid(65534) == -1 ||
		    setuid(65534) == -1))
			_exit(2);
		if (how == 0)
			r = setsockopt(g.member[0], SOL_SOCKET,
			    SO_DETACH_REUSEPORT_BPF, &zero, sizeof(zero));
		else
			r = setsockopt(g.member[0], SOL_SOCKET,
			    SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof(fprog));
		_exit(r == 0 ? 0 : 1);
	}
	ck_assert_int_ne(pid, -1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
}

/*
 * After tampering the anchor gets connections (so baton can tell);
 * steer_repair() steers again and hands the anchor's queue on.
 */
START_TEST(test_repair)
{
	struct pollfd	 pfd;
	uint16_t	 port;
	int		 fd[40], how, i, a, n;

	group_new(AF_INET);
	member(0);
	route(first, STEER_NONE, 0, 0);
	for (how = 0; how < 2; how++) {
		tamper(how);
		for (i = 0; i < 40; i++) {
			fd[i] = client(&port);
			dial(fd[i]);
		}
		pfd.fd = g.anchor;
		pfd.events = POLLIN;
		ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
		ck_assert_int_eq(steer_repair(g.steer, &(char *){ NULL }), 0);
		for (n = 0; (a = accept(g.member[0], NULL, NULL)) != -1; n++)
			close(a);
		ck_assert_int_eq(n, 40);
		assert_anchor_empty();
		for (i = 0; i < 40; i++)
			close(fd[i]);
		lands_on(0);
	}
	teardown();
}
END_TEST

/* Upgrading in place: the maps alone are enough to go on steering. */
START_TEST(test_save_restore)
{
	struct steer_saved	 saved;
	struct steer		*old;
	char			*error = NULL;
	int			 count[NMEMBERS + 1];

	group_new(AF_INET);
	member(0);
	member(1);
	route(first, STEER_NONE, 0, 0);
	steer_save(g.steer, &saved);
	ck_assert_int_eq(fcntl(saved.route_fd, F_SETFD, 0), 0);
	/* The exec ends the old image's memory, never its descriptors. */
	old = g.steer;
	g.steer = steer_restore(g.anchor, BACKLOG, &saved, &error);
	free(old);
	ck_assert_ptr_nonnull(g.steer);
	ck_assert(fcntl(saved.route_fd, F_GETFD) & FD_CLOEXEC);
	route(second, STEER_NONE, 0, 0);
	spread(50, count);
	ck_assert_int_eq(count[1], 50);
	ck_assert_int_eq(steer_count(g.steer, 1), 50);
	teardown();
}
END_TEST

/* The anchor as baton opens it: SO_REUSEPORT only when asked, TCP only. */
START_TEST(test_socket_open_reuseport)
{
	struct config_socket	 cs;
	struct socket		*s, *t;
	char			*error = NULL, url[64];
	uint16_t		 port;
	socklen_t		 len;
	int			 fd, v;

	group_new(AF_INET);
	fd = client(&port);
	close(fd);
	teardown();
	memset(&cs, 0, sizeof(cs));
	cs.name = "web";
	cs.backlog = -1;
	cs.mode = -1;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
	ck_assert_int_eq(address_parse(url, &cs.addr, &error), 0);
	s = socket_open_reuseport(&cs, &error);
	ck_assert_ptr_nonnull(s);
	len = sizeof(v);
	ck_assert_int_eq(getsockopt(socket_fd(s), SOL_SOCKET, SO_REUSEPORT,
	    &v, &len), 0);
	ck_assert_int_eq(v, 1);
	g.steer = steer_new(socket_fd(s), -1, &error);
	ck_assert_ptr_nonnull(g.steer);
	steer_free(g.steer);
	/* Without it, steer_new() says why. */
	socket_unref(s);
	t = socket_open(&cs, &error);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(steer_new(socket_fd(t), -1, &error));
	ck_assert_str_eq(error,
	    "steer: the socket was bound without SO_REUSEPORT");
	free(error);
	socket_unref(t);
	address_clear(&cs.addr);
}
END_TEST

int
main(void)
{
	const TTest	*tests[] = {
		test_only_active, test_only_active_ipv6, test_no_route_refuses,
		test_probe, test_probe_ipv6,
		test_probe_without_candidate_member, test_canary, test_counts,
		test_rolling_even, test_forgotten_member, test_migrate,
		test_migrate_ipv6, test_anchor_queue_handed_on,
		test_anchor_ephemeral_port,
		test_stranger_gets_nothing, test_repair, test_save_restore,
		test_socket_open_reuseport, NULL
	};
	const char	*why;

	if (steer_supported(&why) == -1)
		return check_skip("steer", tests, why);
	return check_main("steer", NULL, NULL, tests);
}
