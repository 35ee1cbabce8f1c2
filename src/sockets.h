/*
 * The sockets a configuration names, as one array in its order: each one
 * a live generation already holds on the same address is reused (its
 * descriptor and accept queue never touched), one the service manager
 * passed is adopted, and the rest are bound anew.
 */
#ifndef BATON_SOCKETS_H
#define BATON_SOCKETS_H

#include <stddef.h>

struct config;
struct generation;
struct socket;

/*
 * Bind what cfg needs, looking for held sockets in gens (newest last).
 * Returns an array of new references, or NULL with *error set, having
 * changed nothing.
 */
struct socket	**sockets_open(const struct config *cfg,
		    struct generation **gens, size_t ngens, char **error);
/*
 * Have the service manager's descriptor store hold the sockets of gens
 * (newest last), and nothing else: at start, after a reload binds, and
 * after a generation is freed (none left: the store is emptied).
 */
void		  sockets_store(struct generation **gens, size_t ngens);
/* Drop one reference of each of the n sockets, and the array. */
void		  sockets_unref(struct socket **, size_t n);

#endif
