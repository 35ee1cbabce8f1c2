#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "generation.h"
#include "log.h"
#include "rollout.h"
#include "socket.h"
#include "steer.h"
#include "xmalloc.h"

struct rollout {
	struct steer_route	 route;		/* built afresh each time */
	/*
	 * The last few probes' ports. A probe's SYN is steered within its
	 * connect(), right after it reported its port, so a port that is
	 * pushed out of this ring has been used already.
	 */
	uint16_t		 probe[STEER_MAX_PROBES];
	size_t			 next;
};

struct rollout *
rollout_new(void)
{
	return xcalloc(1, sizeof(struct rollout));
}

void
rollout_free(struct rollout *r)
{
	free(r);
}

void
rollout_probe(struct rollout *r, int port)
{
	r->probe[r->next++ % STEER_MAX_PROBES] = (uint16_t)port;
}

/* Where generation g holds socket s: its index there, or -1. */
static int
rollout_index(struct generation *g, struct socket *s)
{
	size_t	 i;

	for (i = 0; generation_socket(g, i) != NULL; i++)
		if (generation_socket(g, i) == s)
			return (int)i;
	return -1;
}

/*
 * The newest generation in state that holds s, and s's index in it; NULL
 * when none does.
 */
static struct generation *
rollout_find(struct generation **gens, size_t n, enum generation_state state,
    struct socket *s, int *index)
{
	size_t	 i;

	for (i = n; i-- > 0;) {
		if (generation_state(gens[i]) == state &&
		    (*index = rollout_index(gens[i], s)) != -1)
			return gens[i];
	}
	return NULL;
}

/*
 * One steered socket's route: users to the slots that serve in the
 * newest active generation and, during a rolling reload, in the starting
 * one; the one worker starting beside them is the candidate.
 */
static void
rollout_socket(struct rollout *r, struct generation **gens, size_t n,
    struct socket *s)
{
	struct steer_route	*rt = &r->route;
	struct generation	*active, *starting;
	char			*error = NULL;
	size_t			 i;
	int			 ai = -1, si = -1, anchored = 0, cand = -1, c;

	active = rollout_find(gens, n, GENERATION_ACTIVE, s, &ai);
	starting = rollout_find(gens, n, GENERATION_STARTING, s, &si);
	memset(rt, 0, sizeof(*rt));
	rt->candidate = STEER_NONE;
	if (active != NULL)
		rt->nactive += generation_route(active, (size_t)ai, 0,
		    rt->active, STEER_MAX_ACTIVE, &cand);
	if (starting != NULL) {
		/* Nothing serves yet (the first generation, or a new socket). */
		rt->nactive += generation_route(starting, (size_t)si,
		    rt->nactive == 0, rt->active + rt->nactive,
		    STEER_MAX_ACTIVE - rt->nactive, &c);
		if (c != -1)
			cand = c;
	}
	if (cand != -1) {
		rt->candidate = cand;
		memcpy(rt->probe, r->probe, sizeof(rt->probe));
	}
	if (socket_route(s, rt, &error) == -1) {
		log_error("%s", error);
		free(error);
		return;
	}
	/* The held socket's own queue, once no live worker accepts on it. */
	for (i = 0; i < n; i++) {
		if (generation_state(gens[i]) != GENERATION_GONE &&
		    (ai = rollout_index(gens[i], s)) != -1 &&
		    generation_on_anchor(gens[i], (size_t)ai))
			anchored = 1;
	}
	if (!anchored)
		socket_release_anchor(s);
}

void
rollout_route(struct rollout *r, struct generation **gens, size_t n)
{
	struct socket	*s, **done = NULL;
	size_t		 i, j, k, ndone = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; (s = generation_socket(gens[i], j)) != NULL; j++) {
			if (!socket_steered(s))
				continue;
			for (k = 0; k < ndone && done[k] != s; k++)
				;
			if (k < ndone)
				continue;
			done = xreallocarray(done, ndone + 1, sizeof(*done));
			done[ndone++] = s;
			rollout_socket(r, gens, n, s);
		}
	}
	free(done);
}
