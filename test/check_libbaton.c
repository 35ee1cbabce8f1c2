/*
 * libbaton: the environment it reads, the messages it sends, and sockets
 * asked of a fake baton on a socketpair, with DRAIN=1 never lost.
 * Each test runs in its own process (Check forks), so the environment and
 * the library's state start clean.
 */
#define BATON_PRIVATE

#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "baton.h"

static int	pair[2];	/* [0] the fake baton, [1] the worker's channel */

static void
setup_channel(void)
{
	char	 num[16];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    pair), 0);
	snprintf(num, sizeof(num), "%d", pair[1]);
	setenv(BATON_ENV_FD, num, 1);
	unsetenv("NOTIFY_SOCKET");
}

static void
teardown_channel(void)
{
	close(pair[0]);
	close(pair[1]);
}

/* What baton sends: a message with at most one descriptor. */
static void
baton_says(const char *msg, int fd)
{
	ck_assert_int_eq(check_sendmsg(pair[0], msg, strlen(msg), fd),
	    (ssize_t)strlen(msg));
}

/* What baton reads: the next message, as a string. */
static void
baton_reads(char *buf, size_t size)
{
	ssize_t	 n;

	n = recv(pair[0], buf, size - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

/* The fake baton of one request: reads it, then says the script's lines. */
struct script {
	const char	*want;		/* the request expected */
	const char	*say[3];	/* answers, in order */
	int		 fd[3];		/* the descriptor of each, or -1 */
	int		 hangup;	/* then close the channel */
	char		 got[256];
};

static void *
baton_main(void *arg)
{
	struct script	*s = arg;
	ssize_t		 n;
	int		 i;

	n = recv(pair[0], s->got, sizeof(s->got) - 1, 0);
	if (n > 0)
		s->got[n] = '\0';
	for (i = 0; i < 3 && s->say[i] != NULL; i++)
		baton_says(s->say[i], s->fd[i]);
	if (s->hangup)
		shutdown(pair[0], SHUT_RDWR);
	return NULL;
}

START_TEST(test_listen_fds)
{
	char	 pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	unsetenv("LISTEN_PID");
	setenv("LISTEN_FDS", "2", 1);
	ck_assert_int_eq(baton_listen_fds(), 0);

	setenv("LISTEN_PID", pid, 1);
	ck_assert_int_eq(baton_listen_fds(), 2);

	/* Meant for another process (a parent that exec'ed us, say). */
	setenv("LISTEN_PID", "1", 1);
	ck_assert_int_eq(baton_listen_fds(), 0);

	setenv("LISTEN_PID", pid, 1);
	unsetenv("LISTEN_FDS");
	ck_assert_int_eq(baton_listen_fds(), 0);

	setenv("LISTEN_FDS", "2x", 1);
	errno = 0;
	ck_assert_int_eq(baton_listen_fds(), -1);
	ck_assert_int_eq(errno, EINVAL);
	setenv("LISTEN_FDS", "-1", 1);
	ck_assert_int_eq(baton_listen_fds(), -1);
	setenv("LISTEN_FDS", "99999999999", 1);
	ck_assert_int_eq(baton_listen_fds(), -1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", "", 1);
	ck_assert_int_eq(baton_listen_fds(), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_listen_fd)
{
	char	 pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "3", 1);
	setenv("LISTEN_FDNAMES", "http:admin:h", 1);
	ck_assert_int_eq(baton_listen_fd("http"), 3);
	ck_assert_int_eq(baton_listen_fd("admin"), 4);
	ck_assert_int_eq(baton_listen_fd("h"), 5);
	errno = 0;
	ck_assert_int_eq(baton_listen_fd("htt"), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(baton_listen_fd("http:admin"), -1);
	ck_assert_int_eq(baton_listen_fd(""), -1);
	ck_assert_int_eq(baton_listen_fd(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);

	/* Only as many names as sockets count. */
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(baton_listen_fd("http"), 3);
	ck_assert_int_eq(baton_listen_fd("admin"), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* Another process's sockets are none of ours. */
	setenv("LISTEN_FDS", "3", 1);
	setenv("LISTEN_PID", "1", 1);
	ck_assert_int_eq(baton_listen_fd("http"), -1);
	ck_assert_int_eq(errno, ENOENT);

	setenv("LISTEN_PID", pid, 1);
	unsetenv("LISTEN_FDNAMES");
	ck_assert_int_eq(baton_listen_fd("http"), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_generation_worker)
{
	unsetenv(BATON_ENV_GENERATION);
	unsetenv(BATON_ENV_WORKER);
	errno = 0;
	ck_assert_int_eq(baton_generation(), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	ck_assert_int_eq(baton_worker(), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	setenv(BATON_ENV_GENERATION, "12", 1);
	setenv(BATON_ENV_WORKER, "0", 1);
	ck_assert_int_eq(baton_generation(), 12);
	ck_assert_int_eq(baton_worker(), 0);
	setenv(BATON_ENV_WORKER, "one", 1);
	ck_assert_int_eq(baton_worker(), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_channel_env)
{
	int	 p[2];
	char	 num[16];

	unsetenv(BATON_ENV_FD);
	errno = 0;
	ck_assert_int_eq(baton_channel(), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	setenv(BATON_ENV_FD, "four", 1);
	ck_assert_int_eq(baton_channel(), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Open, but not a channel: never written to. */
	ck_assert_int_eq(pipe(p), 0);
	snprintf(num, sizeof(num), "%d", p[1]);
	setenv(BATON_ENV_FD, num, 1);
	ck_assert_int_eq(baton_channel(), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(baton_ready(), -1);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(baton_channel(), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(test_ready_on_channel)
{
	char	 buf[BATON_MSG_MAX + 1];

	ck_assert_int_eq(baton_channel(), pair[1]);
	ck_assert_int_eq(baton_ready(), 1);
	baton_reads(buf, sizeof(buf));
	ck_assert_str_eq(buf, "READY=1");

	/* A status stays one value: its newlines become spaces. */
	ck_assert_int_eq(baton_status("%d requests\nserved", 42), 1);
	baton_reads(buf, sizeof(buf));
	ck_assert_str_eq(buf, "STATUS=42 requests served");

	ck_assert_int_eq(baton_notify("STOPPING=1"), 1);
	baton_reads(buf, sizeof(buf));
	ck_assert_str_eq(buf, "STOPPING=1");
}
END_TEST

START_TEST(test_notify_limits)
{
	char	*big;

	errno = 0;
	ck_assert_int_eq(baton_notify(""), -1);
	ck_assert_int_eq(errno, EINVAL);
	big = malloc(BATON_MSG_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', BATON_MSG_MAX + 1);
	big[BATON_MSG_MAX + 1] = '\0';
	ck_assert_int_eq(baton_notify(big), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	big[BATON_MSG_MAX] = '\0';
	ck_assert_int_eq(baton_notify(big), 1);
	big[BATON_MSG_MAX - 7] = '\0';
	ck_assert_int_eq(baton_status("%s", big), 1);
	memset(big, 'x', BATON_MSG_MAX);
	big[BATON_MSG_MAX - 6] = '\0';
	ck_assert_int_eq(baton_status("%s", big), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	free(big);
}
END_TEST

/* Bind a datagram socket at name (a path, or '@' for abstract). */
static int
notify_listener(const char *name)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, name);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(name);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

START_TEST(test_ready_on_notify_socket)
{
	char	 name[108], buf[64];
	ssize_t	 n;
	int	 fd;

	unsetenv(BATON_ENV_FD);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(baton_ready(), 0);	/* nobody to tell */

	snprintf(name, sizeof(name), "@check_libbaton-%d", (int)getpid());
	fd = notify_listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(baton_ready(), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, 7);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "READY=1");
	ck_assert_int_eq(baton_status("up"), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "STATUS=up");
	close(fd);

	snprintf(name, sizeof(name), "/tmp/check_libbaton-%d.sock",
	    (int)getpid());
	unlink(name);
	fd = notify_listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(baton_ready(), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, 7);
	close(fd);
	unlink(name);

	/* A channel, when there is one, wins. */
	setup_channel();
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(baton_ready(), 1);
	n = recv(pair[0], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, 7);
	teardown_channel();

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	unsetenv(BATON_ENV_FD);
	errno = 0;
	ck_assert_int_eq(baton_ready(), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* The descriptor works: what goes in at fd comes out of the pipe p. */
static void
assert_same_pipe(int fd, int p[2])
{
	char	 c;

	ck_assert_int_eq(write(fd, "x", 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
}

/*
 * The worker asks for the socket name while the fake baton plays s in a
 * thread: what baton_socket() returned, errno as it left it.
 */
static int
ask(struct script *s, const char *name)
{
	pthread_t	 t;
	int		 fd, saved;

	ck_assert_int_eq(pthread_create(&t, NULL, baton_main, s), 0);
	errno = 0;
	fd = baton_socket(name);
	saved = errno;
	pthread_join(t, NULL);
	errno = saved;
	return fd;
}

START_TEST(test_socket_received)
{
	struct script	 s = { "SOCKET=http", { "SOCKET=http" }, { -1 }, 0, "" };
	int		 p[2], fd;

	ck_assert_int_eq(pipe(p), 0);
	s.fd[0] = p[1];
	fd = ask(&s, "http");
	ck_assert_str_eq(s.got, s.want);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fd, p[1]);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_same_pipe(fd, p);
	ck_assert_int_eq(baton_drain_requested(), 0);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_socket_error)
{
	struct script	 s = { "SOCKET=nope",
	    { "ERROR=no socket named 'nope'" }, { -1 }, 0, "" };

	ck_assert_int_eq(ask(&s, "nope"), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(s.got, s.want);
}
END_TEST

/* DRAIN=1 before the answer is kept; an answer to another name is not ours. */
START_TEST(test_socket_drain_kept)
{
	struct script	 s = { "SOCKET=http",
	    { "DRAIN=1", "SOCKET=admin", "SOCKET=http" }, { -1, -1, -1 }, 0,
	    "" };
	int		 p[2], q[2], fd;
	char		 c;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	s.fd[1] = q[1];
	s.fd[2] = p[1];
	fd = ask(&s, "http");
	ck_assert_int_ge(fd, 0);
	assert_same_pipe(fd, p);
	ck_assert_int_eq(baton_drain_requested(), 1);
	/* The stray one was closed: only our copy of q's write end is left. */
	close(q[1]);
	ck_assert_int_eq(read(q[0], &c, 1), 0);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(q[0]);
}
END_TEST

START_TEST(test_socket_hangup)
{
	struct script	 s = { "SOCKET=http", { NULL }, { -1 }, 1, "" };

	ck_assert_int_eq(ask(&s, "http"), -1);
	ck_assert_int_eq(errno, ECONNRESET);
}
END_TEST

START_TEST(test_socket_refused_names)
{
	errno = 0;
	ck_assert_int_eq(baton_socket(""), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(baton_socket("a\nREADY=1"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(baton_socket(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	teardown_channel();
	unsetenv(BATON_ENV_FD);
	ck_assert_int_eq(baton_socket("http"), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	setup_channel();
}
END_TEST

/* An answer without its descriptor is a protocol error, not a hang. */
START_TEST(test_socket_without_fd)
{
	struct script	 s = { "SOCKET=http", { "SOCKET=http" }, { -1 }, 0,
	    "" };

	ck_assert_int_eq(ask(&s, "http"), -1);
	ck_assert_int_eq(errno, EPROTO);
}
END_TEST

/* With a reader thread: answers handed over, DRAIN=1 acted on at once. */
static pthread_mutex_t	drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	drain_cond = PTHREAD_COND_INITIALIZER;
static int		drains, ticks, drain_wait;

static void
on_drain(int wait)
{
	pthread_mutex_lock(&drain_lock);
	drains++;
	drain_wait = wait;
	pthread_cond_broadcast(&drain_cond);
	pthread_mutex_unlock(&drain_lock);
}

static int
on_tick(void)
{
	pthread_mutex_lock(&drain_lock);
	ticks++;
	pthread_mutex_unlock(&drain_lock);
	return -1;
}

START_TEST(test_reader_thread)
{
	struct script	 s = { "SOCKET=http", { "SOCKET=http" }, { -1 }, 0, "" };
	char		 buf[64];
	int		 p[2], fd;

	ck_assert_int_eq(baton_reader_start(on_drain, on_tick), 0);
	ck_assert_int_eq(baton_reader_start(on_drain, on_tick), 0);
	ck_assert_int_eq(pipe(p), 0);
	s.fd[0] = p[1];
	fd = ask(&s, "http");
	ck_assert_int_ge(fd, 0);
	assert_same_pipe(fd, p);

	baton_says("DRAIN=1", -1);
	pthread_mutex_lock(&drain_lock);
	while (drains == 0)
		pthread_cond_wait(&drain_cond, &drain_lock);
	ck_assert_int_ge(ticks, 1);
	ck_assert_int_eq(drain_wait, -1);
	pthread_mutex_unlock(&drain_lock);
	baton_says("DRAIN=1\nIDLE_WAIT_MS=2500", -1);
	pthread_mutex_lock(&drain_lock);
	while (drains == 1)
		pthread_cond_wait(&drain_cond, &drain_lock);
	ck_assert_int_eq(drain_wait, 2500);
	pthread_mutex_unlock(&drain_lock);
	ck_assert_int_eq(baton_drain_requested(), 1);

	/* Sending from any thread still works while the reader reads. */
	ck_assert_int_eq(baton_notify("IDLE=1"), 1);
	baton_reads(buf, sizeof(buf));
	ck_assert_str_eq(buf, "IDLE=1");

	/* Baton gone: a request fails at once, not at the timeout. */
	close(pair[0]);
	pair[0] = open("/dev/null", O_RDONLY);
	errno = 0;
	ck_assert_int_eq(baton_socket("http"), -1);
	ck_assert(errno == ECONNRESET || errno == EPIPE);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("libbaton");
	const TTest	*environment[] = {
		test_listen_fds, test_listen_fd, test_generation_worker,
		test_channel_env, test_ready_on_notify_socket, NULL
	};
	const TTest	*channel[] = {
		test_ready_on_channel, test_notify_limits,
		test_socket_received, test_socket_error, test_socket_drain_kept,
		test_socket_hangup, test_socket_refused_names,
		test_socket_without_fd, test_reader_thread, NULL
	};

	check_case(s, "environment", environment);
	tcase_add_checked_fixture(check_case(s, "channel", channel),
	    setup_channel, teardown_channel);
	return check_run(s);
}
