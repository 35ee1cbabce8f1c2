/*
 * Receiving one message with descriptors (SCM_RIGHTS), as the channel,
 * the notify socket and libbaton do. Static inline: libbaton.so and
 * libbaton-preload.so link none of baton's objects.
 */
#ifndef BATON_FDPASS_H
#define BATON_FDPASS_H

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Point mh at buf[len] for the data and ctl[ctllen] for the control. */
static inline void
fdpass_prepare(struct msghdr *mh, struct iovec *iov, void *buf, size_t len,
    void *ctl, size_t ctllen)
{
	memset(mh, 0, sizeof(*mh));
	iov->iov_base = buf;
	iov->iov_len = len;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = ctl;
	mh->msg_controllen = ctllen;
}

/*
 * Copy the descriptors that mh carries into fds[max], in order; those
 * past max are not copied. Returns how many were.
 */
static inline size_t
fdpass_take(struct msghdr *mh, int *fds, size_t max)
{
	struct cmsghdr	*c;
	size_t		 got = 0, n;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > max - got)
			n = max - got;
		memcpy(fds + got, CMSG_DATA(c), n * sizeof(int));
		got += n;
	}
	return got;
}

static inline void
fdpass_close_all(const int *fds, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

#endif
