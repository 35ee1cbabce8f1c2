/*
 * notifyrecv: a fake systemd notify socket for the end-to-end tests.
 *
 *	notifyrecv PATH OUTFILE
 *
 * Binds an AF_UNIX datagram socket at PATH (a file system path, replaced if
 * something is there; "@NAME" for the abstract namespace) and appends one
 * line to OUTFILE for each datagram it receives: the datagram with every
 * newline turned into a space, so that "READY=1\nSTATUS=x" becomes the line
 * "READY=1 STATUS=x". Each line is one write() to a descriptor opened with
 * O_APPEND, so a test that reads OUTFILE sees whole lines only. Runs until
 * SIGTERM or SIGINT (then removes PATH and exits 0), or for 120 s at most,
 * so that a test that forgets it leaves nothing behind for long.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIFETIME_MS	120000
#define MAXDATAGRAM	65536

static volatile sig_atomic_t	 stop;

static void
usage(void)
{
	fprintf(stderr, "usage: notifyrecv PATH OUTFILE\n");
	exit(64);
}

static void
on_signal(int sig)
{
	stop = 1;
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append one datagram to OUT as a single line, in a single write(). */
static int
append_line(int out, char *buf, size_t len)
{
	size_t	 i;

	while (len > 0 && buf[len - 1] == '\n')
		len--;
	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[len++] = '\n';
	if (write(out, buf, len) != (ssize_t)len)
		return -1;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct sigaction	 sa;
	struct pollfd		 pfd;
	struct timespec		 timeout;
	struct stat		 st;
	sigset_t		 block, waitmask;
	socklen_t		 sunlen;
	const char		*path, *outfile;
	static char		 buf[MAXDATAGRAM + 1];
	long long		 deadline, left;
	ssize_t			 n;
	int			 fd, out, abstract, status;

	if (argc != 3 || argv[1][0] == '\0' || argv[2][0] == '\0')
		usage();
	path = argv[1];
	outfile = argv[2];
	abstract = path[0] == '@';

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "notifyrecv: %s: path longer than %zu bytes\n",
		    path, sizeof(sun.sun_path) - 1);
		return 2;
	}
	memcpy(sun.sun_path, path, strlen(path));
	sunlen = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (abstract)
		sun.sun_path[0] = '\0';
	else
		sunlen++;

	if ((out = open(outfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1) {
		fprintf(stderr, "notifyrecv: %s: %s\n", outfile,
		    strerror(errno));
		return 2;
	}

	/*
	 * The signals stay blocked except inside ppoll(), so that one that
	 * arrives between the check of stop and the wait cannot be missed.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "notifyrecv: socket: %s\n", strerror(errno));
		return 2;
	}
	/* Replace what a previous run left, but never a file or a folder. */
	if (!abstract && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sunlen) == -1) {
		fprintf(stderr, "notifyrecv: bind %s: %s\n", path,
		    strerror(errno));
		return 2;
	}

	pfd.fd = fd;
	pfd.events = POLLIN;
	deadline = now_ms() + LIFETIME_MS;
	status = 0;
	while (!stop) {
		if ((left = deadline - now_ms()) <= 0)
			break;
		timeout.tv_sec = left / 1000;
		timeout.tv_nsec = (left % 1000) * 1000000;
		if (ppoll(&pfd, 1, &timeout, &waitmask) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notifyrecv: poll: %s\n",
			    strerror(errno));
			status = 2;
			break;
		}
		if ((pfd.revents & POLLIN) == 0)
			continue;
		if ((n = recv(fd, buf, MAXDATAGRAM, MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "notifyrecv: recv: %s\n",
			    strerror(errno));
			status = 2;
			break;
		}
		if (append_line(out, buf, (size_t)n) == -1) {
			fprintf(stderr, "notifyrecv: write %s: %s\n", outfile,
			    strerror(errno));
			status = 2;
			break;
		}
	}

	close(fd);
	if (!abstract)
		unlink(path);
	close(out);
	return status;
}
