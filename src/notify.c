#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "baton.h"
#include "channel.h"
#include "fdpass.h"
#include "log.h"
#include "notify.h"
#include "xmalloc.h"

struct notify {
	struct log_limit limit;		/* a flood of junk is not a log flood */
	int		 fd;
	struct event	*ev;
	char		*path;
	notify_cb	 cb;
	void		*arg;
};

static void
notify_read(evutil_socket_t fd, short what, void *arg)
{
	struct notify	*n = arg;
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(struct ucred)) +
				    CMSG_SPACE(sizeof(int) * BATON_FDS_MAX)];
	} cmsg;
	struct cmsghdr	*c;
	struct ucred	 cred;
	struct channel_msg msg;
	char		 buf[BATON_MSG_MAX];
	ssize_t		 r;
	int		 have_cred, i, nfd;

	/* Read what is queued now; the next wake-up gets the rest. */
	for (i = 0; i < 64; i++) {
		fdpass_prepare(&mh, &iov, buf, sizeof(buf), cmsg.buf,
		    sizeof(cmsg.buf));
		r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("notify socket: recvmsg: %s",
				    strerror(errno));
			return;
		}
		have_cred = 0;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL;
		    c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(cred))) {
				memcpy(&cred, CMSG_DATA(c), sizeof(cred));
				have_cred = 1;
			} else if (c->cmsg_type == SCM_RIGHTS) {
				/* FDSTORE is not supported: never keep them. */
				nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				while (nfd-- > 0) {
					int	 fdx;

					memcpy(&fdx, CMSG_DATA(c) +
					    nfd * sizeof(int), sizeof(int));
					close(fdx);
				}
			}
		}
		if (!have_cred) {
			if (log_limit_allow(&n->limit))
				log_warn("notify socket: datagram without "
				    "credentials dropped");
			continue;
		}
		if ((mh.msg_flags & MSG_TRUNC) != 0) {
			if (log_limit_allow(&n->limit))
				log_warn("notify socket: datagram from pid "
				    "%ld longer than %d bytes dropped",
				    (long)cred.pid, BATON_MSG_MAX);
			continue;
		}
		if (channel_parse(buf, r, &msg) == -1) {
			if (log_limit_allow(&n->limit))
				log_warn("notify socket: malformed datagram "
				    "from pid %ld dropped", (long)cred.pid);
			continue;
		}
		n->cb(cred.pid, &msg, n->arg);
	}
}

struct notify *
notify_new(struct event_base *base, notify_cb cb, void *arg, int fd)
{
	struct notify		*n;
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 one = 1, saved;

	n = xcalloc(1, sizeof(*n));
	n->limit.what = "notify socket: dropped datagrams";
	n->cb = cb;
	n->arg = arg;
	/* Inherited across an upgrade without the flag: it needs it again. */
	if ((n->fd = fd) != -1) {
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
			goto fail;
	} else {
		n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (n->fd == -1)
			goto fail;
		if (setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one,
		    sizeof(one)) == -1)
			goto fail;
		/* Binding with only the family: the kernel picks a name. */
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (bind(n->fd, (struct sockaddr *)&sun,
		    sizeof(sa_family_t)) == -1)
			goto fail;
	}
	memset(&sun, 0, sizeof(sun));
	len = sizeof(sun);
	if (getsockname(n->fd, (struct sockaddr *)&sun, &len) == -1)
		goto fail;
	if (len <= offsetof(struct sockaddr_un, sun_path) + 1 ||
	    sun.sun_path[0] != '\0') {
		errno = EADDRNOTAVAIL;
		goto fail;
	}
	n->path = xprintf("@%.*s",
	    (int)(len - offsetof(struct sockaddr_un, sun_path) - 1),
	    sun.sun_path + 1);
	n->ev = event_new(base, n->fd, EV_READ | EV_PERSIST, notify_read, n);
	if (n->ev == NULL || event_add(n->ev, NULL) == -1) {
		errno = ENOMEM;
		goto fail;
	}
	return n;
fail:
	saved = errno;
	notify_free(n);
	errno = saved;
	return NULL;
}

void
notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	if (n->ev != NULL)
		event_free(n->ev);
	if (n->fd != -1)
		close(n->fd);
	free(n->path);
	free(n);
}

const char *
notify_path(const struct notify *n)
{
	return n->path;
}

int
notify_fd(const struct notify *n)
{
	return n->fd;
}
