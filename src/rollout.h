/*
 * The route of every steered socket (steer.h), from the generations'
 * states: new connections go to the active generation's socket; a probe
 * (by the source port it reported before connecting) goes to the
 * starting generation's, or the one in its canary, which also gets its
 * canary share of new connections. The supervisor asks for it again
 * whenever a generation changes state or a probe is about to connect: a
 * canary rolled back gets nothing from that moment.
 */
#ifndef BATON_ROLLOUT_H
#define BATON_ROLLOUT_H

#include <stddef.h>

#include "generation.h"

struct rollout;

/*
 * Who gets what, from the states of generations 0 .. n - 1 (oldest first)
 * and their canary shares alone: active is the newest active one, which
 * users reach (the candidate itself while none is: the first generation);
 * candidate the newest starting or in its canary, which probes reach;
 * canary its share of users (of STEER_CANARY_WHOLE) when in its canary.
 * -1: none.
 */
struct rollout_pick {
	int		 active;
	int		 candidate;
	unsigned	 canary;
};
void		 rollout_pick(const enum generation_state *states,
		    const unsigned *shares, size_t n, struct rollout_pick *);
/* Generation i's share of new connections in that pick (of the whole). */
unsigned	 rollout_share(const struct rollout_pick *, size_t i);
/* The same, for live generations: gens[i]'s share, for status. */
unsigned	 rollout_gen_share(struct generation **gens, size_t n,
		    size_t i);

struct rollout	*rollout_new(void);
void		 rollout_free(struct rollout *);
/* A probe connects from port next: it must reach the candidate; a
   negative port: that attempt is over. */
void		 rollout_probe(struct rollout *, int port);
/*
 * Route every steered socket the live generations gens (oldest first)
 * hold, and let go of a held socket's own place in its group once no
 * generation accepts on it. Errors are logged.
 */
void		 rollout_route(struct rollout *, struct generation **gens,
		    size_t n);

#endif
