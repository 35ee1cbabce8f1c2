#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "socket.h"
#include "steer.h"
#include "xmalloc.h"

struct socket {
	int		 refs;
	int		 fd;
	char		*name;
	struct address	 addr;
	int		 backlog;
	int		 mode;
	char		*owner;
	char		*group;
	int		 unlink_path;	/* baton created the unix path */
	dev_t		 dev;		/* ...and this is what it created */
	ino_t		 ino;
	struct steer	*steer;		/* NULL: one shared socket */
	int		 anchor_index;	/* the held socket's own, or -1 */
	unsigned char	 used[STEER_MAX_INDEX / 8];	/* member indices */
};

static int
socket_same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * A unix path may be reused only when what is there is a socket nobody
 * listens on. Anything else (a file, a directory, a symlink, a live
 * server) is refused without touching it.
 */
static int
socket_clear_path(const char *path, char **why)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, r, saved;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		*why = xprintf("%s", strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		*why = xstrdup("a symbolic link is in the way "
		    "(baton does not follow it; remove it yourself)");
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*why = xprintf("%s is in the way (baton only replaces "
		    "stale sockets; remove it yourself)",
		    S_ISDIR(st.st_mode) ? "a directory" : "a file");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*why = xprintf("socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	close(fd);
	if (r == 0) {
		*why = xstrdup("a running server listens there");
		return -1;
	}
	if (saved != ECONNREFUSED) {
		*why = xprintf("connect to the old socket: %s",
		    strerror(saved));
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		*why = xprintf("unlink the stale socket: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
socket_set_owner(const struct config_socket *cs, char **why)
{
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;
	struct passwd	*pw;
	struct group	*gr;

	/*
	 * Never through a symlink: whoever can write to the folder could
	 * swap one in, and root would change its target.
	 */
	if (cs->mode >= 0 && fchmodat(AT_FDCWD, cs->addr.path, cs->mode,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		*why = xprintf("chmod %04o: %s", cs->mode, strerror(errno));
		return -1;
	}
	if (cs->owner != NULL) {
		if ((pw = getpwnam(cs->owner)) == NULL) {
			*why = xprintf("owner '%s' does not exist", cs->owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (cs->group != NULL) {
		if ((gr = getgrnam(cs->group)) == NULL) {
			*why = xprintf("group '%s' does not exist", cs->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    lchown(cs->addr.path, uid, gid) == -1) {
		*why = xprintf("chown: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
socket_bind_unix(struct socket *s, const struct config_socket *cs,
    char **why)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 mask = 0;

	if (socket_clear_path(cs->addr.path, why) == -1)
		return -1;
	if ((s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*why = xprintf("socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, cs->addr.path, sizeof(sun.sun_path) - 1);
	/* Never let the path exist with wider permissions than asked. */
	if (cs->mode >= 0)
		mask = umask(0777 & ~cs->mode);
	if (bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*why = xprintf("bind %s: %s", cs->addr.url, strerror(errno));
		if (cs->mode >= 0)
			umask(mask);
		return -1;
	}
	if (cs->mode >= 0)
		umask(mask);
	if (lstat(cs->addr.path, &st) == 0) {
		s->unlink_path = 1;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	return socket_set_owner(cs, why);
}

static int
socket_bind_inet(struct socket *s, const struct config_socket *cs,
    int reuseport, char **why)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			*rerr = NULL;
	int			 one = 1;
	int			 type;

	if (address_resolve(&cs->addr, &ss, &sslen, &rerr) == -1) {
		*why = xprintf("resolve %s: %s", cs->addr.url, rerr);
		free(rerr);
		return -1;
	}
	type = cs->addr.kind == ADDRESS_UDP ? SOCK_DGRAM : SOCK_STREAM;
	if ((s->fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0)) == -1) {
		*why = xprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1) {
		*why = xprintf("setsockopt SO_REUSEADDR: %s", strerror(errno));
		return -1;
	}
	if (reuseport && setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1) {
		*why = xprintf("setsockopt SO_REUSEPORT: %s", strerror(errno));
		return -1;
	}
	/* [::]:80 must not take 0.0.0.0:80 from another socket. */
	if (ss.ss_family == AF_INET6 && setsockopt(s->fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) {
		*why = xprintf("setsockopt IPV6_V6ONLY: %s", strerror(errno));
		return -1;
	}
	if (bind(s->fd, (struct sockaddr *)&ss, sslen) == -1) {
		*why = xprintf("bind %s: %s", cs->addr.url, strerror(errno));
		return -1;
	}
	return 0;
}

/* A socket object for cs around fd, with one reference. */
static struct socket *
socket_new(const struct config_socket *cs, int fd)
{
	struct socket	*s;

	s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->fd = fd;
	s->name = xstrdup(cs->name);
	address_copy(&s->addr, &cs->addr);
	s->backlog = cs->backlog;
	s->mode = cs->mode;
	s->owner = cs->owner != NULL ? xstrdup(cs->owner) : NULL;
	s->group = cs->group != NULL ? xstrdup(cs->group) : NULL;
	s->anchor_index = -1;
	return s;
}

static struct socket *
socket_open_with(const struct config_socket *cs, int reuseport, char **error)
{
	struct socket	*s;
	char		*why = NULL;
	int		 r;

	s = socket_new(cs, -1);

	if (cs->addr.kind == ADDRESS_UNIX)
		r = socket_bind_unix(s, cs, &why);
	else
		r = socket_bind_inet(s, cs, reuseport, &why);
	if (r == 0 && cs->addr.kind != ADDRESS_UDP &&
	    listen(s->fd, cs->backlog >= 0 ? cs->backlog : SOMAXCONN) == -1) {
		why = xprintf("listen %s: %s", cs->addr.url, strerror(errno));
		r = -1;
	}
	if (r == -1) {
		*error = xprintf("socket %s: %s", cs->name, why);
		free(why);
		socket_unref(s);
		return NULL;
	}
	return s;
}

struct socket *
socket_open(const struct config_socket *cs, char **error)
{
	return socket_open_with(cs, 0, error);
}

struct socket *
socket_open_reuseport(const struct config_socket *cs, char **error)
{
	return socket_open_with(cs, cs->addr.kind == ADDRESS_TCP, error);
}

struct socket *
socket_adopt(const struct config_socket *cs, int fd, char **error)
{
	struct socket	*s;
	socklen_t	 len;
	int		 type, want, listening = 0;

	want = cs->addr.kind == ADDRESS_UDP ? SOCK_DGRAM : SOCK_STREAM;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != want) {
		*error = xprintf("socket %s: passed fd %d is not a %s socket",
		    cs->name, fd, want == SOCK_DGRAM ? "datagram" : "stream");
		close(fd);
		return NULL;
	}
	len = sizeof(listening);
	if (want == SOCK_STREAM &&
	    (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1 ||
	    !listening) &&
	    listen(fd, cs->backlog >= 0 ? cs->backlog : SOMAXCONN) == -1) {
		*error = xprintf("socket %s: listen on passed fd %d: %s",
		    cs->name, fd, strerror(errno));
		close(fd);
		return NULL;
	}
	s = socket_new(cs, fd);
	return s;
}

void
socket_save(const struct socket *s, struct socket_saved *ss)
{
	ss->fd = s->fd;
	ss->unlink_path = s->unlink_path;
	ss->dev = (unsigned long)s->dev;
	ss->ino = (unsigned long)s->ino;
	ss->steered = s->steer != NULL;
	ss->anchor_index = s->anchor_index;
	if (s->steer != NULL)
		steer_save(s->steer, &ss->steer);
}

/* Index i of s's group is taken (1), or free (0). */
static void
socket_mark(struct socket *s, int i, int taken)
{
	if (taken)
		s->used[i / 8] |= 1 << (i % 8);
	else
		s->used[i / 8] &= ~(1 << (i % 8));
}

static int
socket_marked(const struct socket *s, int i)
{
	return (s->used[i / 8] & (1 << (i % 8))) != 0;
}

/*
 * The old image's steering: its maps, and the held socket's index if it
 * is a member. The program, attached to the group, never left. Logged
 * if it cannot be: the socket then goes on as the program routes it.
 */
static void
socket_restore_steer(struct socket *s, const struct socket_saved *ss)
{
	char	*err = NULL;

	if ((s->steer = steer_restore(s->fd, s->backlog, &ss->steer,
	    &err)) == NULL) {
		log_error("socket %s: steering not taken over: %s", s->name,
		    err);
		free(err);
		close(ss->steer.sockarray_fd);
		close(ss->steer.route_fd);
		return;
	}
	if (ss->anchor_index >= 0 && ss->anchor_index < STEER_MAX_INDEX) {
		s->anchor_index = ss->anchor_index;
		socket_mark(s, s->anchor_index, 1);
	}
}

struct socket *
socket_restore(const struct config_socket *cs, const struct socket_saved *ss)
{
	struct socket	*s;

	/* Inherited across an upgrade without the flag: it needs it again. */
	if (fcntl(ss->fd, F_SETFD, FD_CLOEXEC) == -1)
		log_warn("socket %s: fcntl: %s; what baton runs may inherit "
		    "it", cs->name, strerror(errno));
	s = socket_new(cs, ss->fd);
	s->unlink_path = ss->unlink_path && cs->addr.kind == ADDRESS_UNIX;
	s->dev = (dev_t)ss->dev;
	s->ino = (ino_t)ss->ino;
	if (ss->steered && s->addr.kind == ADDRESS_TCP)
		socket_restore_steer(s, ss);
	return s;
}

struct socket *
socket_ref(struct socket *s)
{
	s->refs++;
	return s;
}

void
socket_unref(struct socket *s)
{
	struct stat	 st;

	if (s == NULL || --s->refs > 0)
		return;
	/* Only the socket baton made: never what someone put there since. */
	if (s->unlink_path && lstat(s->addr.path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == s->dev &&
	    st.st_ino == s->ino && unlink(s->addr.path) == -1)
		log_warn("socket %s: unlink %s: %s", s->name, s->addr.path,
		    strerror(errno));
	steer_free(s->steer);
	if (s->fd != -1)
		close(s->fd);
	free(s->name);
	free(s->owner);
	free(s->group);
	address_clear(&s->addr);
	free(s);
}

int
socket_fd(const struct socket *s)
{
	return s->fd;
}

const char *
socket_name(const struct socket *s)
{
	return s->name;
}

const struct address *
socket_address(const struct socket *s)
{
	return &s->addr;
}

int
socket_matches(const struct socket *s, const struct config_socket *cs)
{
	return address_equal(&s->addr, &cs->addr);
}

int
socket_update(struct socket *s, const struct config_socket *cs, char **error)
{
	char	*why = NULL;
	int	 fl;

	if (s->backlog != cs->backlog && s->addr.kind != ADDRESS_UDP) {
		/* listen() on a listening socket only changes its backlog. */
		if (listen(s->fd, cs->backlog >= 0 ? cs->backlog :
		    SOMAXCONN) == -1) {
			*error = xprintf("socket %s: listen %s: %s", cs->name,
			    s->addr.url, strerror(errno));
			return -1;
		}
		s->backlog = cs->backlog;
	}
	if (s->addr.kind == ADDRESS_UNIX && (s->mode != cs->mode ||
	    !socket_same_string(s->owner, cs->owner) ||
	    !socket_same_string(s->group, cs->group))) {
		if (socket_set_owner(cs, &why) == -1) {
			*error = xprintf("socket %s: %s: %s", cs->name,
			    s->addr.path, why);
			free(why);
			return -1;
		}
		s->mode = cs->mode;
		free(s->owner);
		free(s->group);
		s->owner = cs->owner != NULL ? xstrdup(cs->owner) : NULL;
		s->group = cs->group != NULL ? xstrdup(cs->group) : NULL;
	}
	/*
	 * Set, never cleared: O_NONBLOCK belongs to the open file that every
	 * generation shares, and an event loop still serving would block in
	 * accept() without it.
	 */
	if (cs->nonblocking && (fl = fcntl(s->fd, F_GETFL)) != -1 &&
	    !(fl & O_NONBLOCK) && fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		*error = xprintf("socket %s: O_NONBLOCK: %s", cs->name,
		    strerror(errno));
		return -1;
	}
	if (strcmp(s->name, cs->name) != 0) {
		free(s->name);
		s->name = xstrdup(cs->name);
	}
	return 0;
}

/* A listening socket on fd's address, in its SO_REUSEPORT group. */
static int
socket_primer(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 p, one = 1, saved;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (p = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (setsockopt(p, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    setsockopt(p, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0 &&
	    (ss.ss_family != AF_INET6 || setsockopt(p, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == 0) &&
	    bind(p, (struct sockaddr *)&ss, len) == 0 && listen(p, 1) == 0)
		return p;
	saved = errno;
	close(p);
	errno = saved;
	return -1;
}

int
socket_steer(struct socket *s, char **error)
{
	struct steer_route	*r;
	const char		*why;
	char			*err = NULL;
	int			 one = 1, i = -1, primer;

	if (s->steer != NULL || s->addr.kind != ADDRESS_TCP)
		return 0;
	if (steer_supported(&why) == -1) {
		*error = xprintf("socket %s: cannot steer: %s", s->name, why);
		return -1;
	}
	/*
	 * Bound and listening without SO_REUSEPORT, the held socket is in no
	 * group, and a program can only be attached to a group. With the
	 * option set, a second socket on its address makes one: the primer,
	 * closed once the program is there (what it queued meanwhile then
	 * migrates to the held socket). One adopted after a crash of baton
	 * is in its group already, with the dead baton's program: the primer
	 * is not needed there, and gets nothing, since that program never
	 * picks it and ours replaces it on the group.
	 */
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ==
	    -1 || (primer = socket_primer(s->fd)) == -1) {
		*error = xprintf("socket %s: SO_REUSEPORT: %s", s->name,
		    strerror(errno));
		return -1;
	}
	s->steer = steer_new(s->fd, s->backlog, &err);
	if (s->steer == NULL) {
		*error = xprintf("socket %s: %s", s->name, err);
		free(err);
		close(primer);
		return -1;
	}
	/*
	 * Until the supervisor routes it, the group goes on as it was: to
	 * the held socket, which its workers may be accepting on now.
	 */
	if ((r = xcalloc(1, sizeof(*r))) != NULL &&
	    (i = socket_member_anchor(s, error)) != -1) {
		r->active[r->nactive++] = (unsigned)i;
		r->candidate = STEER_NONE;
		i = socket_route(s, r, error);
	}
	free(r);
	close(primer);
	if (i == -1) {
		steer_free(s->steer);
		s->steer = NULL;
		return -1;
	}
	log_info("socket %s: steered: one socket per generation", s->name);
	return 0;
}

int
socket_steered(const struct socket *s)
{
	return s->steer != NULL;
}

static int
socket_index(struct socket *s)
{
	int	 i;

	for (i = 0; i < STEER_MAX_INDEX; i++) {
		if (!socket_marked(s, i)) {
			socket_mark(s, i, 1);
			return i;
		}
	}
	return -1;
}

int
socket_member_new(struct socket *s, int *index, char **error)
{
	char	*err = NULL;
	int	 fd;

	if ((*index = socket_index(s)) == -1) {
		*error = xprintf("socket %s: %d sockets in its group already",
		    s->name, STEER_MAX_INDEX);
		return -1;
	}
	if ((fd = steer_member(s->steer, (unsigned)*index, &err)) == -1) {
		socket_mark(s, *index, 0);
		*error = xprintf("socket %s: %s", s->name, err);
		free(err);
	}
	return fd;
}

int
socket_member_anchor(struct socket *s, char **error)
{
	char	*err = NULL;
	int	 i;

	if (s->anchor_index != -1)
		return s->anchor_index;
	if ((i = socket_index(s)) == -1 ||
	    steer_add(s->steer, (unsigned)i, s->fd, &err) == -1) {
		if (i != -1)
			socket_mark(s, i, 0);
		*error = xprintf("socket %s: %s", s->name, err != NULL ? err :
		    "no index left");
		free(err);
		return -1;
	}
	s->anchor_index = i;
	return i;
}

int
socket_member_restore(struct socket *s, int index, int fd, char **error)
{
	if (s->steer == NULL || index < 0 || index >= STEER_MAX_INDEX ||
	    socket_marked(s, index)) {
		*error = xprintf("socket %s: member %d cannot be taken over "
		    "(%s)", s->name, index, s->steer == NULL ? "not steered" :
		    "index out of range or taken");
		return -1;
	}
	/* Inherited across the exec without the flag, as the sockets are. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		*error = xprintf("socket %s: member %d: fcntl: %s", s->name,
		    index, strerror(errno));
		return -1;
	}
	socket_mark(s, index, 1);
	return 0;
}

void
socket_member_free(struct socket *s, int index, int fd)
{
	char	*err = NULL;

	if (index < 0 || s->steer == NULL)
		return;
	(void)steer_forget(s->steer, (unsigned)index);
	socket_mark(s, index, 0);
	if (index != s->anchor_index) {
		/* The last descriptor: its queue migrates to an active one. */
		close(fd);
		return;
	}
	s->anchor_index = -1;
	if (steer_flush(s->steer, &err) == -1) {
		log_warn("socket %s: %s", s->name, err);
		free(err);
	}
}

long long
socket_member_count(const struct socket *s, int index)
{
	if (s->steer == NULL)
		return -1;
	if (index == -1)
		index = s->anchor_index;
	return index < 0 ? -1 : steer_count(s->steer, (unsigned)index);
}

void
socket_release_anchor(struct socket *s)
{
	if (s->steer != NULL && s->anchor_index != -1)
		socket_member_free(s, s->anchor_index, s->fd);
}

int
socket_route(struct socket *s, const struct steer_route *r, char **error)
{
	char	*err = NULL;

	if (steer_route(s->steer, r, &err) == 0)
		return 0;
	*error = xprintf("socket %s: %s", s->name, err);
	free(err);
	return -1;
}
