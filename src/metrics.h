/*
 * baton's own HTTP listener (`metrics = tcp://HOST:PORT | unix:///PATH`),
 * served from the supervisor's event loop with evhttp, never in the
 * workers' data path:
 *   /metrics  Prometheus text format 0.0.4, every name under baton_
 *   /healthz  200 while the loop runs
 *   /readyz   200 while an active generation serves; 503 before the
 *             first one is ready and from the moment baton stops (its
 *             stop_delay included), so load balancers stop sending first
 * The listening socket is bound once, at start, and crosses an upgrade in
 * place like the held sockets, so the answers never stop.
 */
#ifndef BATON_METRICS_H
#define BATON_METRICS_H

struct address;
struct event_base;
struct evbuffer;
struct metrics;
struct record;
struct socket_saved;
struct status;

/* What the listener asks of the one who made it, with its argument. */
struct metrics_ops {
	/* The status, as `baton status` has it (its strings stay arg's). */
	void			 (*status)(void *arg, struct status *st);
	/* Counters and histograms. */
	const struct record	*(*record)(void *arg);
	/* NULL when ready; else why not, for /readyz's body. */
	const char		*(*unready)(void *arg);
};

/*
 * Listen at a, or on saved (the previous image's socket after an upgrade
 * in place; NULL: bind anew). Returns NULL with *error set ("metrics
 * tcp://127.0.0.1:9101: bind: Address already in use").
 */
struct metrics	*metrics_new(struct event_base *, const struct address *a,
		    const struct socket_saved *saved,
		    const struct metrics_ops *, void *arg, char **error);
/* Closes the listener and every connection; unlinks a path it made. */
void		 metrics_free(struct metrics *);
/*
 * An upgrade in place is about to exec (on 1): accept nothing more, so
 * that no connection is cut; they wait in the queue for the new image.
 */
void		 metrics_pause(struct metrics *, int on);
/* For an upgrade in place: what the new image needs to listen on. */
void		 metrics_save(const struct metrics *, struct socket_saved *);
const char	*metrics_url(const struct metrics *);

/*
 * The /metrics text for st and r, with each worker's processes read from
 * /proc (their RSS and CPU time) and baton's own RSS.
 */
void		 metrics_render(const struct status *st, const struct record *r,
		    int ready, struct evbuffer *out);

#endif
