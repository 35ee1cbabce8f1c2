/*
 * Fuzz target: NOTIFY_SOCKET datagrams.
 *
 * Datagrams and channel messages share channel_parse(); this target
 * drives it through the real notify socket: notify_new() on an event
 * base, the input sent as one datagram to its abstract name, one turn of
 * the loop. The first byte of the input is how many descriptors to
 * attach (low two bits: 0..3 fresh /dev/null descriptors; baton never
 * keeps them), the rest is the datagram.
 *
 * The callback must run exactly when the datagram fits BATON_MSG_MAX and
 * channel_parse() accepts it, with our own pid as the kernel reports it,
 * and with what channel_parse() makes of it; no descriptor may stay
 * open in the receiver.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "baton.h"
#include "channel.h"
#include "log.h"
#include "notify.h"

static struct event_base	*base;
static struct notify		*notify;
static struct sockaddr_un	 addr;
static socklen_t		 addrlen;
static int			 sender = -1;

static int			 calls;
static pid_t			 last_pid;
static struct channel_msg	 last_msg;

static void
fuzz_notified(pid_t pid, const struct channel_msg *msg, void *arg)
{
	calls++;
	last_pid = pid;
	last_msg = *msg;
}

static int
fuzz_count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static void
fuzz_setup(void)
{
	const char	*path;
	size_t		 len;
	int		 sndbuf = 1 << 20;

	/* Every dropped datagram is logged as a warning: keep quiet. */
	log_set_level(LOG_LEVEL_ERROR);
	if ((base = event_base_new()) == NULL)
		abort();
	if ((notify = notify_new(base, fuzz_notified, NULL, -1)) == NULL) {
		perror("notify_new");
		abort();
	}
	path = notify_path(notify);
	if (path[0] != '@')
		abort();
	len = strlen(path);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path + 1, path + 1, len - 1);
	addrlen = offsetof(struct sockaddr_un, sun_path) + len;
	if ((sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		abort();
	/* Room for the largest input libFuzzer is given (-max_len). */
	(void)setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct channel_msg	 direct;
	struct msghdr		 mh;
	struct iovec		 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 3)];
	} cmsg;
	struct cmsghdr		*c;
	const char		*msg;
	size_t			 len, nfds, i;
	int			 fds[3], before, after, expect;

	if (base == NULL)
		fuzz_setup();
	if (size == 0)
		return 0;
	nfds = data[0] & 3;
	msg = (const char *)data + 1;
	len = size - 1;
	expect = len <= BATON_MSG_MAX && channel_parse(msg, len, &direct) == 0;

	before = fuzz_count_fds();
	for (i = 0; i < nfds; i++)
		if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			abort();
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)msg;
	iov.iov_len = len;
	mh.msg_name = &addr;
	mh.msg_namelen = addrlen;
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
	if (sendmsg(sender, &mh, 0) == -1) {
		/* Larger than the socket takes: nothing to test. */
		if (errno != EMSGSIZE && errno != ENOBUFS) {
			perror("sendmsg");
			abort();
		}
		expect = -1;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);

	calls = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	if (expect != -1 && calls != expect) {
		fprintf(stderr, "notify: %d callbacks for a datagram of %zu "
		    "bytes (expected %d)\n", calls, len, expect);
		abort();
	}
	if (calls > 0 && (last_pid != getpid() ||
	    memcmp(&last_msg, &direct, sizeof(direct)) != 0)) {
		fprintf(stderr, "notify: sender %ld, or the message differs "
		    "from channel_parse()\n", (long)last_pid);
		abort();
	}
	after = fuzz_count_fds();
	if (after != before) {
		fprintf(stderr, "notify: descriptors %d before, %d after\n",
		    before, after);
		abort();
	}
	return 0;
}
