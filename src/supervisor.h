/*
 * The supervisor: one event loop that owns the generations, the notify
 * socket and the signals, reaps every child in one place (reaper.c), and
 * decides when a generation starts, becomes active, drains and goes.
 */
#ifndef BATON_SUPERVISOR_H
#define BATON_SUPERVISOR_H

struct config;
struct event_base;
struct generation;
struct supervisor;

/*
 * Reads the configuration afresh: the file, then the command line's
 * overrides. Returns NULL with *error set ("FILE:LINE: message").
 */
typedef struct config	*(*supervisor_load_fn)(void *arg, char **error);

/*
 * Load the configuration and bind its sockets. Returns NULL with *error
 * set and *code the exit code (EXIT_CONFIG, or EXIT_FAILED).
 */
struct supervisor	*supervisor_new(supervisor_load_fn, void *arg,
			    char **error, int *code);
/*
 * baton upgraded in place (SIGUSR2) and this is the new image: take over
 * the sockets, the generation and its workers from the state the old
 * image left in sfd, as if they had been this one's all along. Returns
 * NULL with *error set.
 */
struct supervisor	*supervisor_restore(supervisor_load_fn, void *arg,
			    int sfd, char **error);
void			 supervisor_free(struct supervisor *);
/* Start the first generation and run until stopped; the exit code. */
int			 supervisor_run(struct supervisor *);

#endif
