/*
 * fakesd: a service manager as small as the descriptor-store tests need.
 *
 *	fakesd -s NOTIFY_PATH [-m MAX] [-r RESTARTS] [-p PIDFILE] [-o STORE]
 *	    -- COMMAND [ARG]...
 *
 * It speaks systemd's protocols as systemd does for a service with
 * Type=notify, NotifyAccess=main, FileDescriptorStoreMax=MAX (default 16,
 * at most 2048; fakesd raises its own soft RLIMIT_NOFILE for them),
 * Restart=always, RestartSec=100ms and KillMode=process:
 *
 * - COMMAND runs in a session of its own with NOTIFY_SOCKET=NOTIFY_PATH
 *   and, unless MAX is 0, FDSTORE=MAX: the variable by which systemd 254
 *   and later announce the store.
 * - A datagram from the main process with FDSTORE=1 stores the descriptors
 *   it carries under FDNAME= ("stored" if it is missing or invalid: more
 *   than 255 characters, a control character or ':'); one that is already
 *   stored (the same socket) is not stored twice, and past MAX they are
 *   closed. FDSTOREREMOVE=1 closes every stored descriptor of FDNAME=.
 *   Descriptors sent without FDSTORE=1, or by another process, are closed.
 * - When the main process exits or dies, other than after a stop, COMMAND
 *   runs again 100 ms later (at most RESTARTS times, default 10) with the
 *   stored descriptors at 3, 4, ... (newest first, as systemd lists them)
 *   and LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (its own pid: fakesd
 *   forks, sets them, then execs).
 * - SIGTERM or SIGINT is a stop: SIGTERM to the main process alone; once
 *   it has exited, fakesd reports what was left in the store, discards it
 *   (as systemd does unless FileDescriptorStorePreserve=) and exits 0.
 *
 * It is a child subreaper, as a service manager is, and reaps whatever
 * comes to it. One line per event on stderr; PIDFILE holds the main pid,
 * and STORE one line per stored descriptor, "NAME INODE", rewritten on
 * every change.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "listenfds.h"

#define FDNAME_MAX	255
#define MAXFDS		253	/* SCM_MAX_FD: the most in one message */
#define STOREMAX	2048	/* the most -m allows */
#define RESTART_MS	100

struct entry {
	int		 fd;
	char		 name[FDNAME_MAX + 1];
	dev_t		 dev;
	ino_t		 ino;
};

static struct entry	 store[STOREMAX];
static int		 nstore;	/* newest first */
static int		 store_max = 16;
static const char	*pidfile, *storefile, *notify_path;
static char		**command;
static pid_t		 main_pid;
static int		 stopping;
static sigset_t		 handled;

static void
vsay(const char *fmt, va_list ap)
{
	fprintf(stderr, "fakesd: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void
say(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn))
die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	exit(2);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fakesd -s NOTIFY_PATH [-m MAX] [-r RESTARTS] "
	    "[-p PIDFILE] [-o STORE] -- COMMAND [ARG]...\n");
	exit(64);
}

/* Write text to path through a temporary file, so readers see it whole. */
static void
write_file(const char *path, const char *text)
{
	char	 tmp[4096];
	FILE	*f;

	if (path == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		die("%s: %s", tmp, strerror(errno));
	fputs(text, f);
	if (fclose(f) == EOF || rename(tmp, path) == -1)
		die("%s: %s", path, strerror(errno));
}

static void
store_changed(void)
{
	static char	 text[STOREMAX * (FDNAME_MAX + 32)];
	size_t		 n = 0;
	int		 i;

	text[0] = '\0';
	for (i = 0; i < nstore; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s %lu\n",
		    store[i].name, (unsigned long)store[i].ino);
	write_file(storefile, text);
}

/* systemd's fdname_is_valid(). */
static int
fdname_ok(const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p < ' ' || *p >= 127 || *p == ':')
			return 0;
	return p - s <= FDNAME_MAX;
}

static void
store_add(int fd, const char *name)
{
	struct stat	 st;
	int		 i;

	if (fstat(fd, &st) == -1) {
		say("fstat fd %d: %s; closed", fd, strerror(errno));
		close(fd);
		return;
	}
	for (i = 0; i < nstore; i++) {
		if (store[i].dev == st.st_dev && store[i].ino == st.st_ino) {
			say("'%s' (inode %lu) is stored already, as '%s'",
			    name, (unsigned long)st.st_ino, store[i].name);
			close(fd);
			return;
		}
	}
	if (nstore >= store_max) {
		say("store full (%d): '%s' closed", store_max, name);
		close(fd);
		return;
	}
	memmove(&store[1], &store[0], nstore * sizeof(store[0]));
	store[0].fd = fd;
	snprintf(store[0].name, sizeof(store[0].name), "%s", name);
	store[0].dev = st.st_dev;
	store[0].ino = st.st_ino;
	nstore++;
	say("stored '%s' (inode %lu)", name, (unsigned long)st.st_ino);
	store_changed();
}

static void
store_remove(const char *name)
{
	int	 i, j, n = 0;

	for (i = j = 0; i < nstore; i++) {
		if (strcmp(store[i].name, name) == 0) {
			close(store[i].fd);
			n++;
		} else
			store[j++] = store[i];
	}
	nstore = j;
	say("removed '%s' (%d descriptor%s)", name, n, n == 1 ? "" : "s");
	store_changed();
}

/* The value of KEY= among the lines of msg, or NULL. */
static const char *
field(char *const *lines, size_t n, const char *key)
{
	size_t	 i, len = strlen(key);

	for (i = 0; i < n; i++)
		if (strncmp(lines[i], key, len) == 0 && lines[i][len] == '=')
			return lines[i] + len + 1;
	return NULL;
}

static void
notified(int sfd)
{
	union {
		char		 buf[CMSG_SPACE(sizeof(struct ucred)) +
				    CMSG_SPACE(MAXFDS * sizeof(int))];
		struct cmsghdr	 align;
	}		 ctl;
	struct ucred	 cred = { 0, 0, 0 };
	struct cmsghdr	*c;
	struct msghdr	 mh;
	struct iovec	 iov;
	char		 msg[4096], *lines[64], *p, *line;
	const char	*name, *store_flag, *remove_flag;
	size_t		 nlines = 0;
	ssize_t		 r;
	size_t		 nfds, i;
	int		 fds[MAXFDS];

	fdpass_prepare(&mh, &iov, msg, sizeof(msg) - 1, ctl.buf,
	    sizeof(ctl.buf));
	if ((r = recvmsg(sfd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			say("recvmsg: %s", strerror(errno));
		return;
	}
	msg[r] = '\0';
	nfds = fdpass_take(&mh, fds, MAXFDS);
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(cred)))
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		say("datagram truncated");
	/* NotifyAccess=main. */
	if (main_pid == 0 || cred.pid != main_pid) {
		say("datagram from pid %ld, not the main process %ld: ignored",
		    (long)cred.pid, (long)main_pid);
		fdpass_close_all(fds, nfds);
		return;
	}
	for (p = msg; (line = strsep(&p, "\n")) != NULL;)
		if (*line != '\0' && nlines < sizeof(lines) / sizeof(lines[0]))
			lines[nlines++] = line;
	for (i = 0; i < nlines; i++)
		if (strncmp(lines[i], "FD", 2) != 0)
			say("%s", lines[i]);
	store_flag = field(lines, nlines, "FDSTORE");
	remove_flag = field(lines, nlines, "FDSTOREREMOVE");
	name = field(lines, nlines, "FDNAME");
	if (store_flag != NULL && strcmp(store_flag, "1") == 0) {
		if (name == NULL || !fdname_ok(name)) {
			say("FDNAME= missing or invalid: storing as 'stored'");
			name = "stored";
		}
		for (i = 0; i < nfds; i++)
			store_add(fds[i], name);
		nfds = 0;
	}
	if (remove_flag != NULL && strcmp(remove_flag, "1") == 0) {
		if (name == NULL || !fdname_ok(name))
			say("FDSTOREREMOVE=1 without a valid FDNAME=: ignored");
		else
			store_remove(name);
	}
	if (nfds > 0) {
		say("%zu descriptor%s without FDSTORE=1: closed", nfds,
		    nfds == 1 ? "" : "s");
		fdpass_close_all(fds, nfds);
	}
}

/*
 * A store of -m entries needs that many descriptors here, as systemd
 * raises its own limit; the service gets the soft limit fakesd started
 * with back, as systemd gives a service LimitNOFILE.
 */
static struct rlimit	 nofile_start;

static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &nofile_start) == -1)
		die("getrlimit: %s", strerror(errno));
	rl = nofile_start;
	/* Twice: exec_service() lifts them all before moving them down. */
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 2 * (rlim_t)store_max + 64) {
		rl.rlim_cur = 2 * (rlim_t)store_max + 64;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			die("setrlimit RLIMIT_NOFILE: %s", strerror(errno));
	}
}

/* In the child: the stored descriptors at 3.., the variables, exec. */
static void __attribute__((noreturn))
exec_service(void)
{
	static const char	*names[STOREMAX];
	static int		 fds[STOREMAX];
	char			 num[32];
	int			 i;

	sigprocmask(SIG_UNBLOCK, &handled, NULL);
	if (setsid() == -1)
		_exit(2);
	for (i = 0; i < nstore; i++) {
		fds[i] = store[i].fd;
		names[i] = store[i].name;
	}
	if (listenfds_pass(fds, nstore, names) == -1) {
		fprintf(stderr, "fakesd: passing the store: %s\n",
		    strerror(errno));
		_exit(2);
	}
	/* Past the limit, the passed descriptors stay open (as systemd's). */
	(void)setrlimit(RLIMIT_NOFILE, &nofile_start);
	setenv("NOTIFY_SOCKET", notify_path, 1);
	unsetenv("FDSTORE");
	if (store_max > 0) {
		snprintf(num, sizeof(num), "%d", store_max);
		setenv("FDSTORE", num, 1);
	}
	execvp(command[0], command);
	fprintf(stderr, "fakesd: exec %s: %s\n", command[0], strerror(errno));
	_exit(127);
}

static void
start_service(void)
{
	char	 text[32];
	int	 i;

	if ((main_pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (main_pid == 0)
		exec_service();
	snprintf(text, sizeof(text), "%ld\n", (long)main_pid);
	write_file(pidfile, text);
	if (nstore == 0) {
		say("started pid %ld", (long)main_pid);
		return;
	}
	fprintf(stderr, "fakesd: started pid %ld with LISTEN_FDS=%d "
	    "LISTEN_FDNAMES=", (long)main_pid, nstore);
	for (i = 0; i < nstore; i++)
		fprintf(stderr, "%s%s", i > 0 ? ":" : "", store[i].name);
	fputc('\n', stderr);
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Reap everything; 1 if the main process is gone. */
static int
reap(int *status)
{
	pid_t	 pid;
	int	 st, gone = 0;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid != main_pid)
			continue;
		*status = st;
		gone = 1;
	}
	return gone;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	char			*end;
	int			 ch, sfd, sigfd, on = 1, status = 0, i;
	int			 restarts = 0, max_restarts = 10;

	while ((ch = getopt(argc, argv, "+m:o:p:r:s:")) != -1) {
		switch (ch) {
		case 'm':
			store_max = strtol(optarg, &end, 10);
			if (*end != '\0' || store_max < 0 ||
			    store_max > STOREMAX)
				usage();
			break;
		case 'o':
			storefile = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'r':
			max_restarts = strtol(optarg, &end, 10);
			if (*end != '\0' || max_restarts < 0)
				usage();
			break;
		case 's':
			notify_path = optarg;
			break;
		default:
			usage();
		}
	}
	argv += optind;
	if (*argv == NULL || notify_path == NULL)
		usage();
	command = argv;
	raise_nofile();

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(notify_path) >= sizeof(sun.sun_path))
		die("%s: path too long", notify_path);
	strcpy(sun.sun_path, notify_path);
	if ((sfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	unlink(notify_path);
	if (bind(sfd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("bind %s: %s", notify_path, strerror(errno));
	/* Who sent a datagram: NotifyAccess=main needs to know. */
	if (setsockopt(sfd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1)
		die("SO_PASSCRED: %s", strerror(errno));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	sigemptyset(&handled);
	sigaddset(&handled, SIGCHLD);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	if ((sigfd = signalfd(-1, &handled, SFD_CLOEXEC)) == -1)
		die("signalfd: %s", strerror(errno));
	store_changed();
	start_service();

	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = sigfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		/* Datagrams first, as systemd does: the last ones of a
		   process that just exited still count. */
		if (pfd[0].revents & POLLIN) {
			notified(sfd);
			continue;
		}
		if (!(pfd[1].revents & POLLIN) ||
		    read(sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			say("stop: SIGTERM to pid %ld", (long)main_pid);
			stopping = 1;
			if (main_pid > 0)
				kill(main_pid, SIGTERM);
			continue;
		}
		if (!reap(&status))
			continue;
		/* Drain what it sent before it died. */
		while (recv(sfd, NULL, 0, MSG_PEEK | MSG_DONTWAIT) >= 0)
			notified(sfd);
		if (WIFSIGNALED(status))
			say("pid %ld killed by signal %d", (long)main_pid,
			    WTERMSIG(status));
		else
			say("pid %ld exited %d", (long)main_pid,
			    WEXITSTATUS(status));
		main_pid = 0;
		if (stopping || restarts >= max_restarts)
			break;
		restarts++;
		sleep_ms(RESTART_MS);
		start_service();
	}
	fprintf(stderr, "fakesd: stopped; %d descriptor%s left in the store%s",
	    nstore, nstore == 1 ? "" : "s", nstore > 0 ? ":" : "\n");
	for (i = 0; i < nstore; i++)
		fprintf(stderr, " %s%s", store[i].name,
		    i == nstore - 1 ? "\n" : "");
	/* Discarded, as systemd does on a stop. */
	for (i = 0; i < nstore; i++)
		close(store[i].fd);
	unlink(notify_path);
	return 0;
}
