/*
 * The state one image of baton leaves the next when it upgrades in place
 * (SIGUSR2), and its format. Two memfds: the state, lines of text that
 * start with the format line and name every descriptor that crosses the
 * exec, and the generation's configuration as `baton check` prints it.
 *
 * Parsing only parses: it fills a plain struct, descriptors as numbers,
 * and never touches one. The new image then acts on that struct
 * (supervisor_restore(), handover_restore()), and a candidate binary
 * reads a dry run of the very same state with the very same parser
 * (`baton --upgrade-check`) before baton jumps to it.
 */
#ifndef BATON_STATE_H
#define BATON_STATE_H

#include <stddef.h>

#include "output.h"
#include "record.h"
#include "socket.h"
#include "worker.h"

struct config;

/*
 * The generation's own socket in a steered socket's group (socket.h):
 * its index there, and the descriptor its workers were given.
 */
struct state_member {
	int	 index;		/* -1: none (not steered, or its workers
				   accept on the held socket itself) */
	int	 fd;
};

/*
 * A worker's own socket in a steered group (each slot of a rolling
 * generation, a recycled worker): "seat SLOT I INDEX FD".
 */
struct state_seat {
	size_t	 slot;
	size_t	 socket;
	int	 index;
	int	 fd;
};

/* The first line; a reader refuses any other. */
#define STATE_FORMAT	"baton-upgrade 1"

struct state {
	const char		*from;		/* the writer's version */
	long long		 started;	/* wall clock, seconds */
	long long		 started_ms;	/* clock_ms(): same after exec */
	int			 reloads;
	int			 rollbacks;
	int			 crashes;
	int			 killed;
	int			 upgrades;	/* this one included */
	int			 recycled;	/* optional ("recycled"): 0 */
	long long		 nofile;	/* optional ("nofile"): the
						   start-up soft RLIMIT_NOFILE,
						   what workers get; 0 */
	int			 last_outcome;	/* 0 none, 1 ok, 2 rolled back,
						   3 failed */
	long long		 last_duration;
	long long		 last_at;
	const char		*last_reason;	/* or NULL */
	/* Optional: an image older than metrics wrote none of these. */
	int			 outcomes[4];	/* by enum record_outcome */
	struct record_hist	 reload_time;
	struct record_hist	 drain_time;
	struct socket_saved	 metrics;	/* fd -1: no metrics listener */
	const char		*metrics_url;
	int			 next_number;
	int			 notify_fd;
	int			 control_fd;	/* -1: no control socket */
	const char		*control_path;
	int			 pidfile_fd;	/* -1: no pidfile */
	const char		*pidfile_path;
	long			 keeper_pid;	/* keeper.c's process */
	int			 keeper_fd;	/* -1: no keeper */
	int			 config_fd;
	const char		*config_file;	/* or NULL */
	int			 generation;
	long long		 generation_started;
	struct socket_saved	*sockets;	/* in configuration order */
	size_t			 nsockets;
	/*
	 * Optional ("steer" and "member" lines): an image older than
	 * steering wrote none. One a socket, or NULL: none.
	 */
	struct state_member	*members;
	struct worker_saved	*workers;	/* in slot order */
	size_t			 nworkers;
	/* Optional ("seat" lines, "seated"): as members, for the slots. */
	struct state_seat	*seats;
	size_t			 nseats;
	int			 seated;	/* generation_seated() */
	int			 output_fd;	/* -1: output = inherit */
	const char		*output_path;
	long long		 output_max_size;
	int			 output_keep;
	struct output_saved	*streams;	/* the workers' pipes */
	size_t			 nstreams;

	/* Read back: the configuration, and the text the strings are in. */
	struct config		*config;
	char			*text;
};

/*
 * Write st into sfd and the configuration c into st->config_fd (both
 * memfds, written anew from their start), then load c back from there as the new image will: if it
 * does not print the same, the generation could not carry on as it is.
 * Returns 0, or -1 with *error set.
 */
int	state_write(const struct state *st, const struct config *c, int sfd,
	    char **error);

/*
 * Parse a state's text, which becomes st's (modified, and freed by
 * state_clear()), into st. Every line must make sense and every required
 * one be there; no descriptor is touched. Returns 0, or -1 with *error
 * set (the line at fault).
 */
int	state_parse(char *text, struct state *st, char **error);

/*
 * Read the state from sfd, parse it, and load its configuration from the
 * descriptor it names, which must match it (sockets, workers). Neither
 * descriptor is closed or changed. Returns 0, or -1 with *error set.
 */
int	state_read(int sfd, struct state *st, char **error);

/*
 * The descriptors st names, which must stay open across the exec: a new
 * array, its length in *n.
 */
int	*state_fds(const struct state *st, size_t *n);

/* Free what state_parse() and state_read() allocated. */
void	 state_clear(struct state *st);

#endif
