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
	 * The ports of the probe attempts in flight, named until each is
	 * over (the kernel then gives the port to anyone). More attempts at
	 * once than places push out the oldest, whose SYN went long ago: a
	 * SYN is steered within its connect().
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
	size_t	 i;

	if (port < 0) {
		for (i = 0; i < STEER_MAX_PROBES; i++)
			if (r->probe[i] == (uint16_t)-port)
				r->probe[i] = 0;
		return;
	}
	for (i = 0; i < STEER_MAX_PROBES && r->probe[i] != 0; i++)
		;
	if (i == STEER_MAX_PROBES)
		i = r->next++ % STEER_MAX_PROBES;
	r->probe[i] = (uint16_t)port;
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

/* One steered socket's route. */
static void
rollout_socket(struct rollout *r, struct generation **gens, size_t n,
    struct socket *s)
{
	struct steer_route	*rt = &r->route;
	struct generation	*active, *starting;
	char			*error = NULL;
	size_t			 i;
	int			 ai = -1, si = -1, member, anchored = 0;

	active = rollout_find(gens, n, GENERATION_ACTIVE, s, &ai);
	starting = rollout_find(gens, n, GENERATION_STARTING, s, &si);
	memset(rt, 0, sizeof(*rt));
	rt->candidate = STEER_NONE;
	/* Nothing serves yet (the first generation, or a new socket). */
	if (active == NULL) {
		active = starting;
		ai = si;
	}
	if (active != NULL && (member = generation_member(active,
	    (size_t)ai)) != -1)
		rt->active[rt->nactive++] = (unsigned)member;
	if (starting != NULL &&
	    (member = generation_member(starting, (size_t)si)) != -1) {
		rt->candidate = member;
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
