#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "generation.h"
#include "log.h"
#include "rollout.h"
#include "socket.h"
#include "steer.h"
#include "xmalloc.h"

_Static_assert(CONFIG_CANARY_WHOLE == STEER_CANARY_WHOLE,
    "canary is kept in the unit the program reads");

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

void
rollout_pick(const enum generation_state *states, const unsigned *shares,
    size_t n, struct rollout_pick *p)
{
	size_t	 i;

	p->active = p->candidate = -1;
	p->canary = 0;
	for (i = n; i-- > 0;) {
		if (states[i] == GENERATION_ACTIVE && p->active == -1)
			p->active = (int)i;
		if ((states[i] == GENERATION_STARTING ||
		    states[i] == GENERATION_CANARY) && p->candidate == -1)
			p->candidate = (int)i;
	}
	/* Nothing serves yet (the first generation, or a new socket). */
	if (p->active == -1) {
		p->active = p->candidate;
		return;
	}
	if (p->candidate != -1 && states[p->candidate] == GENERATION_CANARY)
		p->canary = shares[p->candidate] < STEER_CANARY_WHOLE ?
		    shares[p->candidate] : STEER_CANARY_WHOLE;
}

unsigned
rollout_share(const struct rollout_pick *p, size_t i)
{
	if ((int)i == p->active)
		return p->candidate == p->active ? STEER_CANARY_WHOLE :
		    STEER_CANARY_WHOLE - p->canary;
	if ((int)i == p->candidate)
		return p->canary;
	return 0;
}

/* The pick among gens, those that do not hold s (if not NULL) left out. */
static void
rollout_pick_gens(struct generation **gens, size_t n, struct socket *s,
    struct rollout_pick *p)
{
	enum generation_state	*states;
	unsigned		*shares;
	size_t			 i;

	states = xcalloc(n + 1, sizeof(*states));
	shares = xcalloc(n + 1, sizeof(*shares));
	for (i = 0; i < n; i++) {
		states[i] = s == NULL || rollout_index(gens[i], s) != -1 ?
		    generation_state(gens[i]) : GENERATION_GONE;
		shares[i] = generation_canary_share(gens[i]);
	}
	rollout_pick(states, shares, n, p);
	free(states);
	free(shares);
}

unsigned
rollout_gen_share(struct generation **gens, size_t n, size_t i)
{
	struct rollout_pick	 p;

	rollout_pick_gens(gens, n, NULL, &p);
	return rollout_share(&p, i);
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
	struct rollout_pick	 p;
	char			*error = NULL;
	size_t			 i;
	struct generation	*ag, *cg;
	int			 ai, member, anchored = 0, cand = -1, c;

	rollout_pick_gens(gens, n, s, &p);
	memset(rt, 0, sizeof(*rt));
	rt->candidate = STEER_NONE;
	ag = p.active != -1 ? gens[p.active] : NULL;
	cg = p.candidate != -1 && p.candidate != p.active ?
	    gens[p.candidate] : NULL;
	/* Users: every slot that serves (all started, when nothing did). */
	if (ag != NULL)
		rt->nactive += generation_route(ag, (size_t)rollout_index(ag, s),
		    p.active == p.candidate, rt->active, STEER_MAX_ACTIVE, &cand);
	if (cg != NULL && generation_state(cg) == GENERATION_CANARY) {
		/* A canary: its share of new connections, by hash. */
		if ((member = generation_member(cg,
		    (size_t)rollout_index(cg, s))) != -1) {
			cand = member;
			rt->canary = p.canary;
		}
	} else if (cg != NULL) {
		/* Starting: a rolling reload's slots that serve take users. */
		rt->nactive += generation_route(cg, (size_t)rollout_index(cg, s),
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
