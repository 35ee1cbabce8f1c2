#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "config.h"
#include "fdpass.h"
#include "log.h"
#include "nofile.h"
#include "sockaddr.h"
#include "socket.h"
#include "systemd.h"
#include "xmalloc.h"

#define SD_LISTEN_FDS_START	3
#define SD_FDNAME_MAX		255	/* systemd's FDNAME_MAX */

static char	*systemd_socket;	/* baton's own NOTIFY_SOCKET */
static int	*passed_fds;
static char	**passed_names;
static size_t	 npassed;

/*
 * The service manager's descriptor store as baton left it: one entry a
 * name (FDSTOREREMOVE=1 takes out every entry of a name), each a socket
 * known by its inode, which stays the socket's while anyone holds it.
 */
struct systemd_stored {
	char	*name;
	dev_t	 dev;
	ino_t	 ino;
};
static struct systemd_stored	*stored;
static size_t			 nstored;
static long			 store_max;	/* $FDSTORE; 0: no store */

/* The socket fd is, by its inode: 0, or -1 with errno set. */
static int
systemd_inode(int fd, dev_t *dev, ino_t *ino)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

static void
systemd_stored_add(const char *name, dev_t dev, ino_t ino)
{
	stored = xreallocarray(stored, nstored + 1, sizeof(*stored));
	stored[nstored].name = xstrdup(name);
	stored[nstored].dev = dev;
	stored[nstored].ino = ino;
	nstored++;
}

void
systemd_init(void)
{
	const char	*s, *pid, *names;
	char		*copy, *p, *name, *end;
	dev_t		 dev;
	ino_t		 ino;
	long		 n, i;

	if ((s = getenv("NOTIFY_SOCKET")) != NULL && *s != '\0')
		systemd_socket = xstrdup(s);
	/* Set by systemd 254 and later to FileDescriptorStoreMax=, if not 0. */
	if (systemd_socket != NULL && (s = getenv("FDSTORE")) != NULL) {
		errno = 0;
		store_max = strtol(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || store_max < 0)
			store_max = 0;
	}
	unsetenv("NOTIFY_SOCKET");
	unsetenv("FDSTORE");

	pid = getenv("LISTEN_PID");
	s = getenv("LISTEN_FDS");
	names = getenv("LISTEN_FDNAMES");
	if (pid != NULL && s != NULL && strtol(pid, NULL, 10) == getpid() &&
	    (n = strtol(s, NULL, 10)) > 0 && n < 1024) {
		passed_fds = xcalloc(n, sizeof(*passed_fds));
		passed_names = xcalloc(n, sizeof(*passed_names));
		copy = xstrdup(names != NULL ? names : "");
		p = copy;
		for (i = 0; i < n; i++) {
			name = strsep(&p, ":");
			passed_fds[i] = SD_LISTEN_FDS_START + (int)i;
			passed_names[i] = xstrdup(name != NULL && *name != '\0' ?
			    name : "unknown");
			/* They arrive inheritable; nothing else may get them. */
			if (fcntl(passed_fds[i], F_SETFD, FD_CLOEXEC) == -1) {
				log_warn("passed fd %d: %s", passed_fds[i],
				    strerror(errno));
				passed_fds[i] = -1;
				continue;
			}
			/*
			 * What the store held is passed back: until told
			 * otherwise, it still holds it. A socket unit's fd
			 * counts too; taking out its name does it no harm.
			 */
			if (store_max > 0 && systemd_inode(passed_fds[i], &dev,
			    &ino) == 0)
				systemd_stored_add(passed_names[i], dev, ino);
		}
		npassed = n;
		free(copy);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("LISTEN_PIDFDID");
}

/*
 * One datagram to baton's NOTIFY_SOCKET, with fd in SCM_RIGHTS unless it
 * is -1. Returns 0, or -1 with errno set.
 */
static int
systemd_send(const char *msg, size_t len, int fd)
{
	struct sockaddr_un	 sun;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*c;
	union {
		char		 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	 align;
	}			 ctl;
	size_t			 plen = strlen(systemd_socket);
	int			 s, r, saved;

	if (plen >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, systemd_socket, plen);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	else
		plen++;
	memset(&ctl, 0, sizeof(ctl));
	fdpass_prepare(&mh, &iov, (void *)msg, len, fd != -1 ? ctl.buf : NULL,
	    fd != -1 ? sizeof(ctl.buf) : 0);
	mh.msg_name = &sun;
	mh.msg_namelen = offsetof(struct sockaddr_un, sun_path) + plen;
	if (fd != -1) {
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = sendmsg(s, &mh, MSG_NOSIGNAL) == -1 ? -1 : 0;
	saved = errno;
	close(s);
	errno = saved;
	return r;
}

void
systemd_notify(const char *fmt, ...)
{
	va_list			 ap;
	char			 msg[1024];
	int			 n;

	if (systemd_socket == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if (systemd_send(msg, n, -1) == -1)
		log_debug("NOTIFY_SOCKET %s: %s", systemd_socket,
		    strerror(errno));
}

/*
 * Whether fd is bound where addr says: the same socket type, and the same
 * path, or the same family, address and port as binding addr would give.
 */
static int
systemd_fd_at(int fd, const struct address *addr)
{
	struct sockaddr_storage	 have, want;
	socklen_t		 hlen, wlen, tlen;
	char			*error = NULL;
	int			 type;

	tlen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != (addr->kind == ADDRESS_UDP ? SOCK_DGRAM : SOCK_STREAM))
		return 0;
	memset(&have, 0, sizeof(have));
	hlen = sizeof(have);
	if (getsockname(fd, (struct sockaddr *)&have, &hlen) == -1)
		return 0;
	if (address_resolve(addr, &want, &wlen, &error) == -1) {
		log_debug("%s", error);
		free(error);
		return 0;
	}
	return sockaddr_same((struct sockaddr *)&have, hlen,
	    (struct sockaddr *)&want, wlen);
}

/*
 * The same socket may come twice: from its socket unit and from the
 * descriptor store. Once one is taken, the others go.
 */
static void
systemd_drop_copies(size_t taken)
{
	dev_t	 dev, d;
	ino_t	 ino, i;
	size_t	 j;

	if (systemd_inode(passed_fds[taken], &dev, &ino) == -1)
		return;
	for (j = 0; j < npassed; j++) {
		if (j == taken || passed_fds[j] == -1 ||
		    systemd_inode(passed_fds[j], &d, &i) == -1 ||
		    d != dev || i != ino)
			continue;
		log_debug("passed socket '%s' (fd %d) is '%s' again; closed",
		    passed_names[j], passed_fds[j], passed_names[taken]);
		close(passed_fds[j]);
		passed_fds[j] = -1;
	}
}

/* A generation's own socket in a steered group, stored as NAME@INDEX. */
static int
systemd_is_member(const char *name)
{
	return strchr(name, '@') != NULL;
}

int
systemd_take_fd(const struct config *cfg, size_t i, const char **how)
{
	const struct config_socket	*cs = &cfg->sockets[i];
	size_t				 j;
	int				 fd;

	for (j = 0; j < npassed; j++) {
		if (passed_fds[j] == -1 ||
		    strcmp(passed_names[j], cs->name) != 0)
			continue;
		if (systemd_fd_at(passed_fds[j], &cs->addr)) {
			*how = "by name";
			goto take;
		}
		/*
		 * Kept from before the file changed, or a socket unit that
		 * says otherwise: the file is what baton serves.
		 */
		log_warn("passed socket '%s' (fd %d) is not at %s; closed",
		    passed_names[j], passed_fds[j], cs->addr.url);
		close(passed_fds[j]);
		passed_fds[j] = -1;
	}
	/*
	 * Unit files name their sockets after the unit unless told
	 * otherwise (FileDescriptorName=); one whose name is no socket's
	 * here is matched by where it listens, or binding the same address
	 * would only find it in use.
	 */
	for (j = 0; j < npassed; j++) {
		if (passed_fds[j] != -1 &&
		    config_socket_index(cfg, passed_names[j]) == -1 &&
		    !systemd_is_member(passed_names[j]) &&
		    systemd_fd_at(passed_fds[j], &cs->addr)) {
			*how = "by address";
			goto take;
		}
	}
	return -1;
take:
	systemd_drop_copies(j);
	fd = passed_fds[j];
	passed_fds[j] = -1;
	return fd;
}

int
systemd_fdname_ok(const char *name)
{
	const char	*p;

	for (p = name; *p != '\0'; p++)
		if (*p < ' ' || *p >= 127 || *p == ':')
			return 0;
	return p - name <= SD_FDNAME_MAX;
}

/*
 * What the store should hold: a name and a descriptor, baton's own. A
 * steered socket's group has more sockets than the held one: each live
 * generation's own, stored as NAME@INDEX ('@' is in no socket's name),
 * so that after a crash of baton what the dead baton's program routed
 * there waits in its queue, not refused, until the next baton steers the
 * group; that baton takes the entry out once its own route is in place,
 * and the queue migrates through its program when the last copy closes.
 */
struct systemd_entry {
	char		*name;
	int		 fd;
	const char	*what;		/* for the log */
};

/* Whether stored entry e is one of want[n], the same socket. */
static int
systemd_stored_current(const struct systemd_stored *e,
    const struct systemd_entry *want, size_t n)
{
	dev_t	 dev;
	ino_t	 ino;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strcmp(want[i].name, e->name) != 0)
			continue;
		return systemd_inode(want[i].fd, &dev, &ino) == 0 &&
		    dev == e->dev && ino == e->ino;
	}
	return 0;
}

/* Take every entry of name out, from the store and from the list. */
static void
systemd_store_remove(const char *name)
{
	char	*msg, *gone;
	size_t	 i, j;

	msg = xprintf("FDSTOREREMOVE=1\nFDNAME=%s", name);
	if (systemd_send(msg, strlen(msg), -1) == -1)
		log_warn("descriptor store: take out '%s': %s", name,
		    strerror(errno));
	else
		log_info("descriptor store: '%s' taken out", name);
	free(msg);
	gone = xstrdup(name);
	for (i = j = 0; i < nstored; i++) {
		if (strcmp(stored[i].name, gone) == 0)
			free(stored[i].name);
		else
			stored[j++] = stored[i];
	}
	nstored = j;
	free(gone);
}

/*
 * Put e in the store under its name, unless it is there already. 0, or
 * -1 where it is left out to keep a restart possible (the caller says so).
 */
static int
systemd_store_add(const struct systemd_entry *e)
{
	char		*msg;
	dev_t		 dev;
	ino_t		 ino;
	size_t		 i;

	if (systemd_inode(e->fd, &dev, &ino) == -1)
		return 0;
	for (i = 0; i < nstored; i++)
		if (stored[i].dev == dev && stored[i].ino == ino &&
		    strcmp(stored[i].name, e->name) == 0)
			return 0;
	if (!systemd_fdname_ok(e->name)) {
		log_warn("%s: not kept in the descriptor store: systemd "
		    "takes names of at most %d printable characters, no ':'",
		    e->what, SD_FDNAME_MAX);
		return 0;
	}
	if (nstored >= (size_t)store_max) {
		log_warn("%s: not kept in the descriptor store: it is "
		    "full (FileDescriptorStoreMax=%ld); a crash of baton would "
		    "close it", e->what, store_max);
		return 0;
	}
	/*
	 * After a crash the service manager starts baton with every stored
	 * descriptor at 3, 4, ... under the soft limit baton was started
	 * with (LimitNOFILE=): with none free below it, not even the dynamic
	 * loader could open libc, and baton would never start again.
	 */
	if (nofile_start() != RLIM_INFINITY &&
	    nstored + NOFILE_BASE >= nofile_start())
		return -1;
	msg = xprintf("FDSTORE=1\nFDNAME=%s", e->name);
	if (systemd_send(msg, strlen(msg), e->fd) == -1)
		log_warn("%s: descriptor store: %s", e->what,
		    strerror(errno));
	else {
		log_info("%s: kept in the service manager's descriptor "
		    "store", e->what);
		systemd_stored_add(e->name, dev, ino);
	}
	free(msg);
	return 0;
}

void
systemd_store(struct socket *const *live, size_t n,
    const struct systemd_member *members, size_t nmembers)
{
	struct systemd_entry	*want;
	size_t			 i, j, nwant = 0, left = 0, first = 0;

	if (systemd_socket == NULL || store_max <= 0)
		return;
	want = xcalloc(n + nmembers, sizeof(*want));
	for (i = 0; i < n; i++) {
		/* A newer socket of the same name has it. */
		for (j = i + 1; j < n; j++)
			if (strcmp(socket_name(live[j]),
			    socket_name(live[i])) == 0)
				break;
		if (j < n)
			continue;
		want[nwant].name = xstrdup(socket_name(live[i]));
		want[nwant].fd = socket_fd(live[i]);
		want[nwant].what = xprintf("socket %s", want[nwant].name);
		nwant++;
	}
	for (i = 0; i < nmembers; i++) {
		want[nwant].name = xprintf("%s@%d",
		    socket_name(members[i].socket), members[i].index);
		want[nwant].fd = members[i].fd;
		want[nwant].what = xprintf("socket %s: member %d",
		    socket_name(members[i].socket), members[i].index);
		nwant++;
	}
	/* Out first: systemd keeps one entry a socket, whatever its name. */
	for (i = 0; i < nstored;) {
		if (systemd_stored_current(&stored[i], want, nwant))
			i++;
		else {
			/* Every entry of the name goes: look again. */
			systemd_store_remove(stored[i].name);
			i = 0;
		}
	}
	for (i = 0; i < nwant; i++) {
		if (systemd_store_add(&want[i]) == -1 && left++ == 0)
			first = i;
	}
	if (left > 0)
		log_warn("%s%s not kept in the descriptor store (%zu of "
		    "them): %zu are, and a restart after a crash gets them "
		    "all under the soft RLIMIT_NOFILE of %llu baton was "
		    "started with; raise it (LimitNOFILE=) to keep more",
		    want[first].what, left > 1 ? " and those after it" : "",
		    left, nstored, (unsigned long long)nofile_start());
	for (i = 0; i < nwant; i++) {
		free(want[i].name);
		free((char *)want[i].what);
	}
	free(want);
}

void
systemd_export(int on)
{
	char	 num[32];

	if (systemd_socket == NULL)
		return;
	if (!on) {
		unsetenv("NOTIFY_SOCKET");
		unsetenv("FDSTORE");
		return;
	}
	setenv("NOTIFY_SOCKET", systemd_socket, 1);
	if (store_max > 0) {
		snprintf(num, sizeof(num), "%ld", store_max);
		setenv("FDSTORE", num, 1);
	}
}

void
systemd_close_unused(void)
{
	size_t	 i;

	for (i = 0; i < npassed; i++) {
		if (passed_fds[i] != -1 && systemd_is_member(passed_names[i])) {
			/*
			 * The store keeps its copy until the first
			 * systemd_store(), after this baton steers the group.
			 */
			log_info("passed socket '%s' (fd %d): a dead baton's "
			    "generation's socket; it leaves the store once "
			    "the group is steered again", passed_names[i],
			    passed_fds[i]);
			close(passed_fds[i]);
		} else if (passed_fds[i] != -1) {
			log_warn("passed socket '%s' (fd %d) matches no "
			    "[socket:NAME]; closed", passed_names[i],
			    passed_fds[i]);
			close(passed_fds[i]);
			passed_fds[i] = -1;
		}
		free(passed_names[i]);
	}
	free(passed_fds);
	free(passed_names);
	passed_fds = NULL;
	passed_names = NULL;
	npassed = 0;
}
