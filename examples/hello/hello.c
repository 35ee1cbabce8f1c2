/*
 * hello: a server that baton reloads without dropping a request.  It serves
 * on the sockets baton passes in (the systemd LISTEN_FDS protocol, without
 * libsystemd), sends READY=1 to NOTIFY_SOCKET once it serves, and on SIGTERM
 * stops accepting, finishes the requests in flight and exits 0.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define MAXSOCKETS	16

static struct event_base	*base;
static struct evhttp		*http;
static struct evhttp_bound_socket *bound[MAXSOCKETS];
static int			 nbound, inflight, draining;
static const char		*generation;
static const struct timeval	 settle = { 0, 100000 };	/* 100 ms */

static void
done_cb(struct evhttp_request *req, void *arg)
{
	inflight--;
}

static void
hello_cb(struct evhttp_request *req, void *arg)
{
	inflight++;
	evhttp_request_set_on_complete_cb(req, done_cb, NULL);
	if (draining)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
	evbuffer_add_printf(evhttp_request_get_output_buffer(req),
	    "hello from pid %d, generation %s\n", (int)getpid(), generation);
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* Exit once no response is on its way; idle keep-alive clients reconnect. */
static void
settle_cb(evutil_socket_t fd, short what, void *arg)
{
	if (inflight == 0)
		event_base_loopexit(base, NULL);
	else
		event_base_once(base, -1, EV_TIMEOUT, settle_cb, NULL, &settle);
}

static void
term_cb(evutil_socket_t sig, short what, void *arg)
{
	/* Stop accepting; baton keeps the socket open for the new workers. */
	while (nbound > 0)
		evhttp_del_accept_socket(http, bound[--nbound]);
	draining = 1;
	/* A connection accepted just now may not have shown its request yet. */
	event_base_once(base, -1, EV_TIMEOUT, settle_cb, NULL, &settle);
}

/* sd_notify(0, "READY=1"): one datagram; '@' is the abstract namespace. */
static void
notify_ready(void)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	const char		*path = getenv("NOTIFY_SOCKET");
	int			 fd;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun,
	    offsetof(struct sockaddr_un, sun_path) + strlen(path));
	close(fd);
}

int
main(void)
{
	const char	*fds = getenv("LISTEN_FDS");
	const char	*pid = getenv("LISTEN_PID");
	struct event	*term;
	int		 fd, n;

	if (fds == NULL || pid == NULL || atoi(pid) != getpid() ||
	    (n = atoi(fds)) < 1 || n > MAXSOCKETS) {
		fprintf(stderr, "hello: no sockets passed; run me under baton: "
		    "baton run -c baton.ini\n");
		return 1;
	}
	if ((generation = getenv("BATON_GENERATION")) == NULL)
		generation = "?";
	signal(SIGPIPE, SIG_IGN);	/* a client that hangs up is no crash */

	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, hello_cb, NULL);
	for (fd = 3; fd < 3 + n; fd++) {
		evutil_make_socket_nonblocking(fd);
		if ((bound[nbound++] = evhttp_accept_socket_with_handle(http,
		    fd)) == NULL) {
			fprintf(stderr, "hello: cannot serve fd %d\n", fd);
			return 1;
		}
	}
	term = evsignal_new(base, SIGTERM, term_cb, NULL);
	evsignal_add(term, NULL);
	notify_ready();

	event_base_dispatch(base);
	event_free(term);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
