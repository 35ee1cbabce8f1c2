/*
 * loadgen: a closed-loop HTTP/1.1 load generator for baton's tests and
 * benchmarks.  Each of -c clients sends one request at a time, until -n
 * requests were sent or -d has passed; then it waits for the answers in
 * flight (at most -t each) and prints a report of "key value" lines.
 *
 * With -a FILE, the first line of every OK response's body goes to FILE,
 * one a line: a test counts who answered (testserver says "ok PID").
 *
 * Every request carries a unique id (?id=PREFIXSEQ and X-Request-Id), and
 * every failure is counted by kind, so that a test can tell a refused
 * connection from a reset, a lost response or a timeout.  In -r timelines a
 * failure's status is -1 refused, -2 reset, -3 eof, -4 timeout, -5 other.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define MAXHEAD		65536	/* a longer response head is an error */
#define MAXCLIENTS	100000

enum kind {
	OK,
	BAD_STATUS,
	REFUSED,
	RESET,
	END_OF_FILE,
	TIMEOUT,
	OTHER,
	NKINDS
};

/* A failure's status in the -r timeline. */
static const int kind_status[NKINDS] = { 0, 0, -1, -2, -3, -4, -5 };

/* Where the chunked-body parser stands. */
enum chunk {
	CHUNK_SIZE,
	CHUNK_DATA,
	CHUNK_CRLF,
	CHUNK_TRAILER
};

struct sample {
	int64_t		 start_us;	/* since loadgen started */
	int64_t		 latency_us;
	int		 status;	/* HTTP status, or kind_status */
};

/* One client: one connection, one request at a time. */
struct client {
	int		 fd;
	struct event	*rev, *wev;
	struct event	*timer;		/* the request's timeout */
	struct event	*kick;		/* starts the next request */
	struct evbuffer	*in, *body;
	int		 connecting;
	int		 reused;	/* the connection carried a response */

	uint64_t	 seq;
	int64_t		 start_us;
	int		 retried;
	int		 got_bytes;
	char		 req[4096];
	size_t		 reqlen, sent;

	int		 status;
	int		 head_done;
	int		 keepalive;
	int		 chunked;
	enum chunk	 chunk;
	int64_t		 remaining;	/* body bytes to read, -1 until EOF */
};

static struct event_base *base;
static struct client	*clients;
static int		 nclients, running;

static struct sockaddr_storage addr;
static socklen_t	 addrlen;
static char		 hostport[300], path[2048];

static int		 opt_keepalive, opt_body, opt_quiet;
static long		 opt_requests = -1, opt_timeout_ms = 5000;
static const char	*opt_prefix = "";
static FILE		*ids_file, *timeline_file, *answers_file;

static int		 stopping, interrupts;
static uint64_t		 next_seq;
static int64_t		 t0_us, end_us;
static struct sample	*samples;
static size_t		 nsamples;
static uint64_t		 count[NKINDS], finished, retried;
static int		 last_errno;
static struct evbuffer	*last_body;

static void	read_cb(evutil_socket_t, short, void *);
static void	write_cb(evutil_socket_t, short, void *);
static void	send_request(struct client *);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -u http://HOST:PORT/PATH [-n N] [-d DURATION] "
	    "[-c N] [-k]\n"
	    "               [-t MS] [-p PREFIX] [-o IDS] [-r TIMELINE] "
	    "[-b] [-q] [-a ANSWERS]\n"
	    "HOST is an IPv4 literal, [IPv6] or localhost (127.0.0.1).  "
	    "-n or -d is required;\n"
	    "-d defaults to 60s.  DURATION: 500ms, 10s, 2m or seconds.\n");
	exit(64);
}

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long
number(const char *s, long min, long max, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "loadgen: %s: '%s' is not a number from %ld "
		    "to %ld\n", what, s, min, max);
		usage();
	}
	return v;
}

/* "500ms", "10s", "2m" or a bare number of seconds, in milliseconds. */
static long
duration_ms(const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno == 0 && end != s && v >= 0) {
		if (strcmp(end, "ms") == 0 && v <= 86400e3)
			return v;
		if ((strcmp(end, "s") == 0 || *end == '\0') && v <= 86400)
			return v * 1000;
		if (strcmp(end, "m") == 0 && v <= 1440)
			return v * 60000;
	}
	fprintf(stderr, "loadgen: -d: '%s' is not a duration (500ms, 10s, "
	    "2m)\n", s);
	usage();
}

/* http://HOST[:PORT][/PATH] into addr, hostport and path. */
static void
parse_url(const char *url)
{
	struct addrinfo	 hints, *ai;
	const char	*p, *rest;
	char		 host[256], port[8] = "80";
	size_t		 n;
	int		 rc;

	if (strncmp(url, "http://", 7) != 0)
		goto bad;
	p = url + 7;
	n = strcspn(p, "/");
	if (n == 0 || n >= sizeof(hostport))
		goto bad;
	memcpy(hostport, p, n);
	hostport[n] = '\0';
	rest = p + n;
	if (hostport[0] == '[') {
		if ((p = strchr(hostport, ']')) == NULL)
			goto bad;
		n = p - hostport - 1;
		memcpy(host, hostport + 1, n);
		p++;
	} else {
		n = strcspn(hostport, ":");
		memcpy(host, hostport, n);
		p = hostport + n;
	}
	host[n] = '\0';
	if (*p == ':') {
		if (strlen(p + 1) < 1 || strlen(p + 1) >= sizeof(port) ||
		    strspn(p + 1, "0123456789") != strlen(p + 1) ||
		    atoi(p + 1) < 1 || atoi(p + 1) > 65535)
			goto bad;
		strcpy(port, p + 1);
	} else if (*p != '\0')
		goto bad;
	if (strlen(rest) >= sizeof(path) - 64)
		goto bad;
	snprintf(path, sizeof(path), "%s", *rest != '\0' ? rest : "/");

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (strcmp(host, "localhost") == 0)
		hints.ai_family = AF_INET;
	else
		hints.ai_flags |= AI_NUMERICHOST;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", host, gai_strerror(rc));
		exit(2);
	}
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return;
bad:
	fprintf(stderr, "loadgen: -u: '%s' is not http://HOST:PORT/PATH\n",
	    url);
	usage();
}

static enum kind
errno_kind(int error)
{
	switch (error) {
	case ECONNREFUSED:
		return REFUSED;
	case ECONNRESET:
	case EPIPE:
		return RESET;
	case ETIMEDOUT:
		return TIMEOUT;
	default:
		last_errno = error;
		return OTHER;
	}
}

static void
conn_close(struct client *c)
{
	if (c->fd == -1)
		return;
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	c->fd = -1;
	c->reused = 0;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
}

static int
conn_open(struct client *c)
{
	int	 fd, on = 1, saved;

	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->connecting = 0;
	if (connect(fd, (struct sockaddr *)&addr, addrlen) == -1) {
		if (errno != EINPROGRESS) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		c->connecting = 1;
	}
	c->fd = fd;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE, write_cb, c);
	if (c->rev == NULL || c->wev == NULL) {
		fprintf(stderr, "loadgen: cannot allocate an event\n");
		exit(2);
	}
	return 0;
}

/* -a: the body's first line; what -b does not keep is dropped here. */
static void
record_answer(struct client *c)
{
	size_t	 len = evbuffer_get_length(c->body), n = 0;
	char	*p;

	p = (char *)evbuffer_pullup(c->body, -1);
	while (p != NULL && n < len && p[n] != '\r' && p[n] != '\n')
		n++;
	fprintf(answers_file, "%.*s\n", (int)n, p != NULL ? p : "");
	if (!opt_body)
		evbuffer_drain(c->body, len);
}

static void
record(struct client *c, enum kind k, int status)
{
	struct sample	*s = &samples[c->seq];
	int64_t		 now = now_us();

	s->start_us = c->start_us - t0_us;
	s->latency_us = now - c->start_us;
	s->status = k == OK || k == BAD_STATUS ? status : kind_status[k];
	count[k]++;
	finished++;
	end_us = now;
	if (k == OK && ids_file != NULL)
		fprintf(ids_file, "%s%llu\n", opt_prefix,
		    (unsigned long long)c->seq);
	if (k == OK && answers_file != NULL)
		record_answer(c);
	if (k == OK && opt_body) {
		evbuffer_drain(last_body, evbuffer_get_length(last_body));
		evbuffer_add_buffer(last_body, c->body);
	}
}

/* The request is over: start the next one from the loop, not from here. */
static void
finish(struct client *c)
{
	evtimer_del(c->timer);
	event_active(c->kick, EV_TIMEOUT, 1);
}

static void
fail(struct client *c, enum kind k)
{
	int	 reused = c->reused;

	conn_close(c);
	/*
	 * A server may close an idle keep-alive connection just as our request
	 * reaches it; like any HTTP client, try a GET again once, elsewhere.
	 */
	if (reused && !c->got_bytes && !c->retried &&
	    (k == END_OF_FILE || k == RESET)) {
		c->retried = 1;
		retried++;
		send_request(c);
		return;
	}
	record(c, k, 0);
	finish(c);
}

static void
complete(struct client *c, int closed)
{
	record(c, c->status == 200 ? OK : BAD_STATUS, c->status);
	if (closed || !opt_keepalive || !c->keepalive ||
	    evbuffer_get_length(c->in) != 0)
		conn_close(c);
	else {
		c->reused = 1;
		event_del(c->rev);
	}
	finish(c);
}

/* Whether header value S mentions WORD, in any case. */
static int
contains(const char *s, const char *word)
{
	size_t	 n = strlen(word);

	for (; *s != '\0'; s++) {
		if (strncasecmp(s, word, n) == 0)
			return 1;
	}
	return 0;
}

/* The status line and headers: 0, or -1 if they are not HTTP. */
static int
parse_head(struct client *c, char *head)
{
	char	*line, *next = head, *value;
	int	 major, minor, has_length = 0;

	line = strsep(&next, "\n");
	if (sscanf(line, "HTTP/%d.%d %3d", &major, &minor, &c->status) != 3)
		return -1;
	c->keepalive = major > 1 || (major == 1 && minor >= 1);
	c->remaining = -1;
	while ((line = strsep(&next, "\n")) != NULL) {
		line[strcspn(line, "\r")] = '\0';
		if ((value = strchr(line, ':')) == NULL)
			continue;
		*value++ = '\0';
		value += strspn(value, " \t");
		if (strcasecmp(line, "Content-Length") == 0) {
			c->remaining = strtoll(value, NULL, 10);
			has_length = 1;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0 &&
		    contains(value, "chunked") )
			c->chunked = 1;
		else if (strcasecmp(line, "Connection") == 0) {
			if (contains(value, "close"))
				c->keepalive = 0;
			else if (contains(value, "keep-alive"))
				c->keepalive = 1;
		}
	}
	if (c->status < 200 || c->status == 204 || c->status == 304)
		c->remaining = 0;
	else if (c->chunked)
		c->chunk = CHUNK_SIZE;
	else if (!has_length)
		c->keepalive = 0;	/* the body ends at EOF */
	if (c->remaining < -1)
		return -1;
	return 0;
}

/* Move up to N body bytes out of the input buffer. */
static void
take_body(struct client *c, size_t n)
{
	if (opt_body || answers_file != NULL)
		evbuffer_remove_buffer(c->in, c->body, n);
	else
		evbuffer_drain(c->in, n);
}

/* 1: the response is complete; 0: more is needed; -1: it is not HTTP. */
static int
parse(struct client *c)
{
	struct evbuffer_ptr	 p;
	size_t			 avail, n;
	char			*head, *line;
	long long		 size;
	int			 rc;

	if (!c->head_done) {
		p = evbuffer_search(c->in, "\r\n\r\n", 4, NULL);
		if (p.pos == -1)
			return evbuffer_get_length(c->in) > MAXHEAD ? -1 : 0;
		if ((head = malloc(p.pos + 5)) == NULL)
			return -1;
		evbuffer_remove(c->in, head, p.pos + 4);
		head[p.pos + 4] = '\0';
		rc = parse_head(c, head);
		free(head);
		if (rc == -1)
			return -1;
		c->head_done = 1;
	}
	for (;;) {
		avail = evbuffer_get_length(c->in);
		if (!c->chunked || c->chunk == CHUNK_DATA) {
			if (c->remaining == -1) {
				take_body(c, avail);
				return 0;
			}
			n = (int64_t)avail < c->remaining ? avail :
			    (size_t)c->remaining;
			take_body(c, n);
			c->remaining -= n;
			if (c->remaining > 0)
				return 0;
			if (!c->chunked)
				return 1;
			c->chunk = CHUNK_CRLF;
		} else if (c->chunk == CHUNK_CRLF) {
			if (avail < 2)
				return 0;
			evbuffer_drain(c->in, 2);
			c->chunk = CHUNK_SIZE;
		} else {
			line = evbuffer_readln(c->in, NULL, EVBUFFER_EOL_CRLF);
			if (line == NULL)
				return avail > MAXHEAD ? -1 : 0;
			if (c->chunk == CHUNK_TRAILER) {
				rc = line[0] == '\0';	/* end of trailers */
				free(line);
				if (rc)
					return 1;
				continue;
			}
			size = strtoll(line, NULL, 16);
			free(line);
			if (size < 0)
				return -1;
			c->remaining = size;
			c->chunk = size == 0 ? CHUNK_TRAILER : CHUNK_DATA;
		}
	}
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	int		 n;

	n = evbuffer_read(c->in, fd, -1);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			fail(c, errno_kind(errno));
		return;
	}
	if (n == 0) {
		if (c->head_done && !c->chunked && c->remaining == -1)
			complete(c, 1);
		else
			fail(c, END_OF_FILE);
		return;
	}
	c->got_bytes = 1;
	switch (parse(c)) {
	case 1:
		complete(c, 0);
		break;
	case -1:
		last_errno = EPROTO;
		fail(c, OTHER);
		break;
	}
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	socklen_t	 len = sizeof(int);
	ssize_t		 n;
	int		 error;

	if (c->connecting) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
			error = errno;
		if (error != 0) {
			fail(c, errno_kind(error));
			return;
		}
		c->connecting = 0;
	}
	n = send(fd, c->req + c->sent, c->reqlen - c->sent, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			event_add(c->wev, NULL);
		else
			fail(c, errno_kind(errno));
		return;
	}
	c->sent += n;
	if (c->sent < c->reqlen)
		event_add(c->wev, NULL);
	else
		event_add(c->rev, NULL);
}

/* Send the current request, on a new connection unless one is open. */
static void
send_request(struct client *c)
{
	c->sent = 0;
	c->got_bytes = 0;
	c->head_done = 0;
	c->chunked = 0;
	c->status = 0;
	evbuffer_drain(c->body, evbuffer_get_length(c->body));
	if (c->fd == -1) {
		if (conn_open(c) == -1) {
			fail(c, errno_kind(errno));
			return;
		}
	}
	if (c->connecting)
		event_add(c->wev, NULL);
	else
		write_cb(c->fd, EV_WRITE, c);
}

static void
start_next(struct client *c)
{
	struct timeval	 tv;
	struct sample	*grown;
	size_t		 n;

	if (stopping || (opt_requests != -1 &&
	    next_seq >= (uint64_t)opt_requests)) {
		conn_close(c);
		if (--running == 0)
			event_base_loopexit(base, NULL);
		return;
	}
	if (next_seq == nsamples) {
		n = nsamples == 0 ? 4096 : nsamples * 2;
		if ((grown = realloc(samples, n * sizeof(*samples))) == NULL) {
			fprintf(stderr, "loadgen: out of memory after %llu "
			    "requests\n", (unsigned long long)next_seq);
			exit(2);
		}
		memset(grown + nsamples, 0, (n - nsamples) * sizeof(*grown));
		samples = grown;
		nsamples = n;
	}
	c->seq = next_seq++;
	c->start_us = now_us();
	c->retried = 0;
	c->reqlen = snprintf(c->req, sizeof(c->req),
	    "GET %s%cid=%s%llu HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: baton-loadgen\r\n"
	    "X-Request-Id: %s%llu\r\n"
	    "%s\r\n",
	    path, strchr(path, '?') != NULL ? '&' : '?', opt_prefix,
	    (unsigned long long)c->seq, hostport, opt_prefix,
	    (unsigned long long)c->seq,
	    opt_keepalive ? "" : "Connection: close\r\n");
	tv.tv_sec = opt_timeout_ms / 1000;
	tv.tv_usec = opt_timeout_ms % 1000 * 1000;
	evtimer_add(c->timer, &tv);
	send_request(c);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	start_next(arg);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	fail(arg, TIMEOUT);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	stopping = 1;
	/* A second ^C does not wait for the requests in flight. */
	if (fd != -1 && ++interrupts > 1)
		event_base_loopexit(base, NULL);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
percentile_ms(const int64_t *v, size_t n, double p)
{
	size_t	 i;

	if (n == 0)
		return 0;
	i = (size_t)ceil(p / 100 * n);
	return v[i > 0 ? i - 1 : 0] / 1000.0;
}

static void
write_timeline(FILE *f)
{
	size_t	 i;

	for (i = 0; i < next_seq; i++) {
		if (samples[i].status != 0)
			fprintf(f, "%lld %lld %d\n",
			    (long long)samples[i].start_us,
			    (long long)samples[i].latency_us,
			    samples[i].status);
	}
}

static void
report(void)
{
	int64_t		*lat;
	size_t		 i, n = 0;
	double		 secs = (end_us - t0_us) / 1e6;

	/* Latency percentiles are those of the requests answered 200. */
	if ((lat = calloc(count[OK] + 1, sizeof(*lat))) == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(2);
	}
	for (i = 0; i < next_seq; i++) {
		if (samples[i].status == 200)
			lat[n++] = samples[i].latency_us;
	}
	qsort(lat, n, sizeof(*lat), cmp_int64);

	printf("requests %llu\n", (unsigned long long)finished);
	printf("ok %llu\n", (unsigned long long)count[OK]);
	printf("failed %llu\n", (unsigned long long)(finished - count[OK]));
	printf("refused %llu\n", (unsigned long long)count[REFUSED]);
	printf("reset %llu\n", (unsigned long long)count[RESET]);
	printf("eof %llu\n", (unsigned long long)count[END_OF_FILE]);
	printf("timeout %llu\n", (unsigned long long)count[TIMEOUT]);
	printf("bad_status %llu\n", (unsigned long long)count[BAD_STATUS]);
	printf("other %llu\n", (unsigned long long)count[OTHER]);
	printf("retried %llu\n", (unsigned long long)retried);
	printf("duration_ms %lld\n", (long long)(end_us - t0_us) / 1000);
	printf("rps %.1f\n", secs > 0 ? finished / secs : 0.0);
	printf("p50_ms %.2f\n", percentile_ms(lat, n, 50));
	printf("p90_ms %.2f\n", percentile_ms(lat, n, 90));
	printf("p99_ms %.2f\n", percentile_ms(lat, n, 99));
	printf("max_ms %.2f\n", n > 0 ? lat[n - 1] / 1000.0 : 0.0);
	free(lat);
}

int
main(int argc, char *argv[])
{
	struct event_config *cfg;
	struct event	*deadline, *sigint, *sigterm;
	struct timeval	 tv;
	struct rlimit	 rl;
	const char	*url = NULL, *ids = NULL, *timeline = NULL;
	const char	*answers = NULL;
	long		 run_ms = -1;
	int		 ch, i;

	nclients = 1;
	while ((ch = getopt(argc, argv, "a:bc:d:kn:o:p:qr:t:u:")) != -1) {
		switch (ch) {
		case 'a':
			answers = optarg;
			break;
		case 'b':
			opt_body = 1;
			break;
		case 'c':
			nclients = number(optarg, 1, MAXCLIENTS, "-c");
			break;
		case 'd':
			run_ms = duration_ms(optarg);
			break;
		case 'k':
			opt_keepalive = 1;
			break;
		case 'n':
			opt_requests = number(optarg, 1, LONG_MAX, "-n");
			break;
		case 'o':
			ids = optarg;
			break;
		case 'p':
			opt_prefix = optarg;
			break;
		case 'q':
			opt_quiet = 1;
			break;
		case 'r':
			timeline = optarg;
			break;
		case 't':
			opt_timeout_ms = number(optarg, 1, 86400000, "-t");
			break;
		case 'u':
			url = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || url == NULL || (opt_requests == -1 &&
	    run_ms == -1))
		usage();
	if (strlen(opt_prefix) > 256) {
		fprintf(stderr, "loadgen: -p: the prefix is too long\n");
		usage();
	}
	parse_url(url);
	if (run_ms == -1)
		run_ms = 60000;		/* -n alone still stops by itself */
	if (opt_requests != -1 && nclients > opt_requests)
		nclients = opt_requests;

	if (ids != NULL && (ids_file = fopen(ids, "w")) == NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", ids, strerror(errno));
		return 2;
	}
	if (answers != NULL && (answers_file = fopen(answers, "w")) == NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", answers, strerror(errno));
		return 2;
	}
	if (timeline != NULL && (timeline_file = fopen(timeline, "w")) ==
	    NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", timeline,
		    strerror(errno));
		return 2;
	}
	/* Each client needs a descriptor: use the whole hard limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);

	/* The coarse clock would end -d and -t up to a few ms early. */
	if ((cfg = event_config_new()) == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) == -1 ||
	    (base = event_base_new_with_config(cfg)) == NULL ||
	    (last_body = evbuffer_new()) == NULL ||
	    (clients = calloc(nclients, sizeof(*clients))) == NULL) {
		fprintf(stderr, "loadgen: cannot set up the event loop\n");
		return 2;
	}
	event_config_free(cfg);
	t0_us = end_us = now_us();
	deadline = evtimer_new(base, stop_cb, NULL);
	sigint = evsignal_new(base, SIGINT, stop_cb, NULL);
	sigterm = evsignal_new(base, SIGTERM, stop_cb, NULL);
	tv.tv_sec = run_ms / 1000;
	tv.tv_usec = run_ms % 1000 * 1000;
	if (deadline == NULL || sigint == NULL || sigterm == NULL ||
	    evtimer_add(deadline, &tv) == -1 || evsignal_add(sigint, NULL) ==
	    -1 || evsignal_add(sigterm, NULL) == -1) {
		fprintf(stderr, "loadgen: cannot set up the event loop\n");
		return 2;
	}
	for (i = 0; i < nclients; i++) {
		struct client	*c = &clients[i];

		c->fd = -1;
		c->in = evbuffer_new();
		c->body = evbuffer_new();
		c->timer = evtimer_new(base, timeout_cb, c);
		c->kick = evtimer_new(base, kick_cb, c);
		if (c->in == NULL || c->body == NULL || c->timer == NULL ||
		    c->kick == NULL) {
			fprintf(stderr, "loadgen: cannot allocate client %d\n",
			    i);
			return 2;
		}
		event_active(c->kick, EV_TIMEOUT, 1);
	}
	running = nclients;

	event_base_dispatch(base);

	if (opt_body) {
		while (evbuffer_get_length(last_body) > 0 &&
		    evbuffer_write(last_body, STDOUT_FILENO) > 0)
			;
	}
	if (!opt_quiet)
		report();
	if (count[OTHER] > 0)
		fprintf(stderr, "loadgen: %llu other failures, the last: %s\n",
		    (unsigned long long)count[OTHER], strerror(last_errno));
	if (timeline_file != NULL) {
		write_timeline(timeline_file);
		fclose(timeline_file);
	}
	if (ids_file != NULL)
		fclose(ids_file);
	if (answers_file != NULL)
		fclose(answers_file);

	for (i = 0; i < nclients; i++) {
		conn_close(&clients[i]);
		event_free(clients[i].timer);
		event_free(clients[i].kick);
		evbuffer_free(clients[i].in);
		evbuffer_free(clients[i].body);
	}
	free(clients);
	free(samples);
	evbuffer_free(last_body);
	event_free(deadline);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(base);
	return finished > count[OK] ? 1 : 0;
}
