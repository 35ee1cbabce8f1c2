/*
 * activate: a minimal stand-in for systemd's socket activation.
 *
 *	activate -l NAME=URL [-l NAME=URL]... -- COMMAND [ARG]...
 *
 * URL is tcp://A.B.C.D:PORT, tcp://[V6]:PORT or unix:///PATH. Each socket is
 * bound (SO_REUSEADDR for TCP, IPV6_V6ONLY for IPv6; a socket already at a
 * unix path is replaced, anything else there is refused) and listens; they
 * are placed at descriptors 3, 4, ... in the order given, without
 * close-on-exec, and COMMAND is executed with LISTEN_FDS, LISTEN_FDNAMES and
 * LISTEN_PID set as systemd sets them. exec keeps the pid, so LISTEN_PID is
 * our own. Every other descriptor above stderr is closed, as under systemd.
 * Errors exit 2, usage errors 64.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listenfds.h"

#define MAXSOCKETS	32
#define MAXNAME		255	/* systemd's limit on FileDescriptorName= */

struct listener {
	const char	*name;
	const char	*url;
	int		 fd;
};

static struct listener	 listeners[MAXSOCKETS];
static int		 nlisteners;

static void
usage(void)
{
	fprintf(stderr, "usage: activate -l NAME=tcp://HOST:PORT "
	    "[-l NAME=unix:///PATH]... -- COMMAND [ARG]...\n");
	exit(64);
}

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "activate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Parse PORT, 1 to 65535, the whole string. */
static int
parse_port(const char *s)
{
	char	*end;
	long	 port;

	errno = 0;
	port = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || port < 1 || port > 65535)
		return -1;
	return (int)port;
}

/* tcp://A.B.C.D:PORT or tcp://[V6]:PORT: a listening socket, or die. */
static int
listen_tcp(const struct listener *l, const char *hostport)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	char			 host[INET6_ADDRSTRLEN];
	const char		*colon, *start;
	size_t			 hostlen;
	int			 fd, port, on = 1;

	if (hostport[0] == '[') {
		start = hostport + 1;
		if ((colon = strstr(start, "]:")) == NULL)
			die("%s: not tcp://[V6]:PORT", l->url);
		hostlen = colon - start;
		colon++;
	} else {
		start = hostport;
		if ((colon = strrchr(start, ':')) == NULL)
			die("%s: not tcp://HOST:PORT", l->url);
		hostlen = colon - start;
	}
	if (hostlen == 0 || hostlen >= sizeof(host))
		die("%s: bad host", l->url);
	memcpy(host, start, hostlen);
	host[hostlen] = '\0';
	if ((port = parse_port(colon + 1)) == -1)
		die("%s: '%s' is not a port from 1 to 65535", l->url, colon + 1);

	memset(&ss, 0, sizeof(ss));
	if (hostport[0] == '[') {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			die("%s: '%s' is not an IPv6 address", l->url, host);
		sslen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			die("%s: '%s' is not an IPv4 address", l->url, host);
		sslen = sizeof(*sin);
	}

	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("%s: socket: %s", l->url, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		die("%s: SO_REUSEADDR: %s", l->url, strerror(errno));
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		die("%s: IPV6_V6ONLY: %s", l->url, strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		die("bind %s: %s", l->url, strerror(errno));
	return fd;
}

/* unix:///PATH: a listening socket, or die. */
static int
listen_unix(const struct listener *l, const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd;

	if (path[0] != '/')
		die("%s: not unix:///PATH", l->url);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("%s: path longer than %zu bytes", l->url,
		    sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path));

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("%s: socket: %s", l->url, strerror(errno));
	/* Replace a stale socket, never a file, a folder or a symlink. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			die("%s: something other than a socket is there",
			    l->url);
		if (unlink(path) == -1)
			die("unlink %s: %s", path, strerror(errno));
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("bind %s: %s", l->url, strerror(errno));
	return fd;
}

static void
add_listener(char *arg)
{
	struct listener	*l;
	char		*eq;

	if (nlisteners == MAXSOCKETS)
		die("more than %d sockets", MAXSOCKETS);
	if ((eq = strchr(arg, '=')) == NULL || eq == arg) {
		fprintf(stderr, "activate: -l %s: not NAME=URL\n", arg);
		usage();
	}
	*eq = '\0';
	l = &listeners[nlisteners++];
	l->name = arg;
	l->url = eq + 1;
	/* LISTEN_FDNAMES is ':'-separated: systemd refuses these too. */
	if (strlen(l->name) > MAXNAME || strpbrk(l->name, ":\n") != NULL)
		die("-l %s: a name has at most %d characters and no ':'",
		    l->name, MAXNAME);
	if (strncmp(l->url, "tcp://", 6) == 0)
		l->fd = listen_tcp(l, l->url + 6);
	else if (strncmp(l->url, "unix://", 7) == 0)
		l->fd = listen_unix(l, l->url + 7);
	else
		die("-l %s=%s: not tcp:// or unix://", l->name, l->url);
	if (listen(l->fd, SOMAXCONN) == -1)
		die("listen %s: %s", l->url, strerror(errno));
}

int
main(int argc, char *argv[])
{
	const char	**names;
	int		 ch, i, *fds;

	/* '+': stop at COMMAND, whose options are its own. */
	while ((ch = getopt(argc, argv, "+l:")) != -1) {
		switch (ch) {
		case 'l':
			add_listener(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || nlisteners == 0)
		usage();

	fds = calloc(nlisteners, sizeof(*fds));
	names = calloc(nlisteners, sizeof(*names));
	if (fds == NULL || names == NULL)
		die("out of memory");
	for (i = 0; i < nlisteners; i++) {
		fds[i] = listeners[i].fd;
		names[i] = listeners[i].name;
	}
	if (listenfds_pass(fds, nlisteners, names) == -1)
		die("passing the sockets: %s", strerror(errno));

	execvp(argv[0], argv);
	die("exec %s: %s", argv[0], strerror(errno));
	return 2;
}
