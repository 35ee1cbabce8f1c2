/*
 * Fuzz target: worker channel messages.
 *
 * The first byte of the input says how many descriptors to attach (its
 * low two bits: 0..3, each a fresh /dev/null) and whether baton's side
 * receives with room enough (bit 2 clear) or too little room for the
 * text or the descriptors (bit 2 set); the rest is the message.
 *
 * The message is parsed directly, then sent from the worker's end of a
 * real channel_pair() with channel_send() and read on baton's end with
 * channel_recv(): what arrives must be what was sent, parse the same,
 * and a refused message must close every descriptor that came with it.
 * The number of open descriptors is the same before and after.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton.h"
#include "channel.h"

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
	return n - 1;	/* the directory's own descriptor */
}

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "channel: %s (errno %d: %s)\n", what, errno,
	    strerror(errno));
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 buf[BATON_MSG_MAX + 1];
	struct channel_msg	 direct, received;
	const char		*msg;
	size_t			 len, nfds, room, want, i;
	int			 pair[2], fds[3], got[BATON_FDS_MAX];
	int			 before, after, small, prc, rrc;
	ssize_t			 r;

	if (size == 0)
		return 0;
	nfds = data[0] & 3;
	small = (data[0] & 4) != 0;
	msg = (const char *)data + 1;
	len = size - 1;

	prc = channel_parse(msg, len, &direct);

	before = fuzz_count_fds();
	if (channel_pair(pair) == -1)
		fuzz_fail("channel_pair");
	for (i = 0; i < nfds; i++)
		if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			fuzz_fail("open /dev/null");

	/* The worker's side: pair[1]. */
	if (channel_send(pair[1], msg, len, fds, nfds) == -1) {
		if (errno != EMSGSIZE || len <= BATON_MSG_MAX)
			fuzz_fail("channel_send");
		goto done;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);

	/* An empty message goes as one newline: see channel_send(). */
	want = len > 0 ? len : 1;
	if (small) {
		/* Too little room for the text, or for the descriptors. */
		room = nfds > 0 ? BATON_MSG_MAX : want - 1;
		i = nfds > 0 ? nfds - 1 : BATON_FDS_MAX;
	} else {
		room = BATON_MSG_MAX;
		i = BATON_FDS_MAX;
	}
	r = channel_recv(pair[0], buf, room, got, &i);
	if (small && (nfds > 0 || want > room)) {
		if (r != -1 || errno != EMSGSIZE || i != 0) {
			fprintf(stderr, "truncated message accepted: r %zd, "
			    "%zu fds\n", r, i);
			abort();
		}
		nfds = 0;
		goto check;
	}
	if (r == -1)
		fuzz_fail("channel_recv");
	if ((size_t)r != want || i != nfds ||
	    memcmp(buf, len > 0 ? msg : "\n", want) != 0) {
		fprintf(stderr, "sent %zu bytes and %zu fds, received %zd "
		    "bytes and %zu fds\n", want, nfds, r, i);
		abort();
	}
	for (i = 0; i < nfds; i++) {
		if ((fcntl(got[i], F_GETFD) & FD_CLOEXEC) == 0)
			fuzz_fail("a received descriptor is not close-on-exec");
		close(got[i]);
	}
	rrc = channel_parse(buf, r, &received);
	if (len > 0 && (rrc != prc ||
	    (prc == 0 && memcmp(&direct, &received, sizeof(direct)) != 0)))
		fuzz_fail("the message parses differently once received");
check:
	/* Nothing else is queued. */
	i = BATON_FDS_MAX;
	if (channel_recv(pair[0], buf, sizeof(buf), got, &i) != -1 ||
	    errno != EAGAIN)
		fuzz_fail("a second message arrived");
	close(pair[0]);
	close(pair[1]);
	after = fuzz_count_fds();
	if (after != before) {
		fprintf(stderr, "descriptors: %d before, %d after\n", before,
		    after);
		abort();
	}
	return 0;
done:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	close(pair[0]);
	close(pair[1]);
	if (fuzz_count_fds() != before)
		fuzz_fail("descriptors leak on a refused send");
	return 0;
}
