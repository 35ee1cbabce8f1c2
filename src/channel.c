#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "baton.h"
#include "channel.h"
#include "fdpass.h"

int
channel_pair(int fds[2])
{
	int	 flags, on = 1;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == -1)
		return -1;
	/*
	 * With SO_PASSCRED every record arrives with the sender's
	 * credentials, an empty one too; end of file brings none. That is
	 * how channel_recv() tells them apart: recvmsg() returns 0 for both.
	 */
	if (setsockopt(fds[0], SOL_SOCKET, SO_PASSCRED, &on,
	    sizeof(on)) == -1 || (flags = fcntl(fds[0], F_GETFL)) == -1 ||
	    fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) == -1) {
		int	 saved = errno;

		close(fds[0]);
		close(fds[1]);
		errno = saved;
		return -1;
	}
	return 0;
}

int
channel_send(int fd, const void *msg, size_t len, const int *fds, size_t nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * BATON_FDS_MAX)];
	} cmsg;
	struct cmsghdr	*c;
	ssize_t		 n;

	if (nfds > BATON_FDS_MAX || len > BATON_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	/* A zero-length SEQPACKET message would read as end of file. */
	iov.iov_base = (void *)(len > 0 ? msg : "\n");
	iov.iov_len = len > 0 ? len : 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	return 0;
}

/*
 * recvmsg() returned 0 with no control message: end of file, unless the
 * socket does not pass credentials (a channel made by an older baton,
 * taken over at an upgrade). There a record is known to be empty only if
 * the peer has not hung up; after a hang-up it is taken for end of file.
 */
static int
channel_is_eof(int fd)
{
	struct pollfd	 pfd;
	socklen_t	 len = sizeof(int);
	int		 on = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, &len) == 0 && on)
		return 1;
	pfd.fd = fd;
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR)) == 0)
		return 0;
	return 1;
}

ssize_t
channel_recv(int fd, void *buf, size_t len, int *fds, size_t *nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * BATON_FDS_MAX) +
				    CMSG_SPACE(sizeof(struct ucred))];
	} cmsg;
	size_t		 max = *nfds, got;
	int		 tmp[BATON_FDS_MAX];
	ssize_t		 r;

	*nfds = 0;
	fdpass_prepare(&mh, &iov, buf, len, cmsg.buf, sizeof(cmsg.buf));
	do {
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;

	/* Collect every descriptor first, so none leaks on a refusal. */
	got = fdpass_take(&mh, tmp, BATON_FDS_MAX);
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || got > max) {
		fdpass_close_all(tmp, got);
		errno = EMSGSIZE;
		return -1;
	}
	if (r == 0 && (mh.msg_controllen > 0 || !channel_is_eof(fd))) {
		fdpass_close_all(tmp, got);
		errno = ENOMSG;
		return -1;
	}
	if (got > 0)
		memcpy(fds, tmp, got * sizeof(int));
	*nfds = got;
	return r;
}

int
channel_send_set(int fd, const char *msg, size_t len, const int *fds,
    size_t nfds)
{
	size_t	 off = 0, n;

	do {
		n = nfds - off < BATON_FDS_MAX ? nfds - off : BATON_FDS_MAX;
		if (channel_send(fd, msg, len, fds + off, n) == -1)
			return -1;
		off += n;
	} while (off < nfds);
	return 0;
}

int
channel_recv_set(int fd, int *fds, size_t nfds)
{
	char	 buf[64];
	size_t	 off = 0, want, n;
	ssize_t	 r;
	int	 saved;

	do {
		want = nfds - off < BATON_FDS_MAX ? nfds - off : BATON_FDS_MAX;
		n = want;
		r = channel_recv(fd, buf, sizeof(buf), fds + off, &n);
		if (r <= 0) {
			/* More than the count says (EMSGSIZE) is malformed. */
			saved = r == 0 ? EPIPE : errno == EMSGSIZE ? EBADMSG :
			    errno;
			goto fail;
		}
		off += n;
		/* Fewer than a full message holds, before the end: short. */
		if (n != want) {
			saved = EBADMSG;
			goto fail;
		}
	} while (off < nfds);
	return 0;
fail:
	fdpass_close_all(fds, off);
	errno = saved;
	return -1;
}

/* Copy a value, refusing nothing but cutting at the field's size. */
static void
channel_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int
channel_parse(const void *buf, size_t len, struct channel_msg *msg)
{
	const char	*p = buf, *end = p + len, *eol, *eq;
	size_t		 klen, vlen;

	memset(msg, 0, sizeof(*msg));
	if (memchr(p, '\0', len) != NULL)
		return -1;
	while (p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			eol = end;
		if (eol == p) {		/* blank line */
			p++;
			continue;
		}
		if ((eq = memchr(p, '=', eol - p)) == NULL || eq == p)
			return -1;
		klen = eq - p;
		vlen = eol - eq - 1;
		if (klen == 5 && memcmp(p, "READY", 5) == 0)
			msg->ready = vlen == 1 && eq[1] == '1';
		else if (klen == 9 && memcmp(p, "LISTENING", 9) == 0)
			msg->listening = vlen == 1 && eq[1] == '1';
		else if (klen == 4 && memcmp(p, "IDLE", 4) == 0)
			msg->idle = vlen == 1 && eq[1] == '1';
		else if (klen == 6 && memcmp(p, "SOCKET", 6) == 0) {
			/* A name that does not fit names no socket: refuse. */
			if (vlen == 0 || vlen >= sizeof(msg->socket))
				return -1;
			msg->has_socket = 1;
			channel_copy(msg->socket, sizeof(msg->socket),
			    eq + 1, vlen);
		}
		else if (klen == 6 && memcmp(p, "STATUS", 6) == 0) {
			msg->has_status = 1;
			channel_copy(msg->status, sizeof(msg->status),
			    eq + 1, vlen);
		} else if (klen == 5 && memcmp(p, "ERROR", 5) == 0) {
			msg->has_error = 1;
			channel_copy(msg->error, sizeof(msg->error),
			    eq + 1, vlen);
		} else if (klen == 4 && memcmp(p, "TRAP", 4) == 0) {
			if (vlen == 1 && eq[1] == '1')
				msg->trap = 1;
			else {
				msg->has_trap_error = 1;
				channel_copy(msg->trap_error,
				    sizeof(msg->trap_error), eq + 1, vlen);
			}
		}
		p = eol + 1;
	}
	return 0;
}
