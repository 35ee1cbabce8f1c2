/*
 * The route of every steered socket (steer.h), from the generations'
 * states: new connections go to the active generation's socket; a probe
 * (by the source port it reported before connecting) goes to the
 * starting generation's. The supervisor asks for it again whenever a
 * generation changes state or a probe is about to connect.
 */
#ifndef BATON_ROLLOUT_H
#define BATON_ROLLOUT_H

#include <stddef.h>

struct generation;
struct rollout;

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
