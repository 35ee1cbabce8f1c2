/*
 * One configuration snapshot: the [baton], [socket:NAME] and [env] sections
 * of the INI file, then the command line's overrides. A reload parses into
 * a fresh object and swaps only when it is whole and valid, so this struct
 * is read-only once config_finish() has accepted it; every module reads
 * it, which is why its fields are public.
 */
#ifndef BATON_CONFIG_H
#define BATON_CONFIG_H

#include <stdio.h>
#include <sys/types.h>

#include "address.h"

/* The defaults that baton.ini(5) documents (docs/baton.ini.5). */
#define CONFIG_DEFAULT_WORKERS		1
#define CONFIG_DEFAULT_READY_DELAY	1000	/* ms */
#define CONFIG_DEFAULT_READY_TIMEOUT	60000	/* ms */
#define CONFIG_DEFAULT_DRAIN_TIMEOUT	30000	/* ms */
#define CONFIG_DEFAULT_PROBE_INTERVAL	200	/* ms */
#define CONFIG_DEFAULT_PROBE_SUCCESSES	1
#define CONFIG_DEFAULT_PROBE_TIMEOUT	1000	/* ms */
#define CONFIG_DEFAULT_CANARY_TIME	60000	/* ms */
#define CONFIG_MAX_WARMUP		(60 * 60 * 1000)	/* ms */
#define CONFIG_MAX_PROBE_SUCCESSES	1000
/* canary is kept in hundredths of a percent: 2.5% is 250. */
#define CONFIG_CANARY_WHOLE		10000
#define CONFIG_DEFAULT_STOP_DELAY	0	/* ms */
#define CONFIG_MAX_WORKERS		1024
#define CONFIG_DEFAULT_START_PRIORITY	0	/* nice increment */
#define CONFIG_MAX_START_PRIORITY	19
#define CONFIG_DEFAULT_OUTPUT_KEEP	5
#define CONFIG_MAX_OUTPUT_KEEP		1000
/*
 * A worker gets its sockets in messages of SCM_MAX_FD (253) each; the
 * bound is what a worker and baton's descriptor limit (nofile.c) can take.
 */
#define CONFIG_MAX_SOCKETS		1024
/* What the preload interposer learns at exec (PRELOAD_SOCKETS_MAX). */
#define CONFIG_MAX_PRELOAD_SOCKETS	64
/* Debian's inih reads lines into a 200-byte buffer. */
#define CONFIG_MAX_LINE			199

enum ready_mode {
	READY_DELAY,
	READY_NOTIFY,
	READY_LISTEN,
	READY_PROBE
};

enum probe_kind {
	PROBE_NONE,
	PROBE_HTTP,	/* METHOD PATH; a 2xx status passes */
	PROBE_TCP,	/* the connection is accepted */
	PROBE_EXEC	/* the command exits 0 */
};

/* probe = ..., split; what probe.c runs. */
struct config_probe {
	enum probe_kind	 kind;
	char		*method;	/* http */
	char		*path;		/* http */
	char		**argv;		/* exec, split like command */
};

enum rollout_mode {
	ROLLOUT_ALL,
	ROLLOUT_ROLLING
};

struct config_socket {
	char		*name;
	struct address	 addr;
	int		 backlog;	/* -1: SOMAXCONN */
	int		 mode;		/* unix only; -1: as the umask gives */
	char		*owner;		/* unix only; NULL: unchanged */
	char		*group;		/* unix only; NULL: unchanged */
	int		 nonblocking;	/* O_NONBLOCK on the held socket */
	int		 line;		/* of its section; 0: command line */
};

struct config_env {
	char		*key;
	char		*value;
	int		 line;
};

struct config_lines;	/* private to config_*.c */

struct config {
	char			*file;		/* absolute; NULL: no file */
	char			*command;	/* as written; NULL: argv given */
	char			**argv;		/* split command, NULL-terminated */
	char			*directory;	/* absolute */
	int			 workers;
	enum ready_mode		 ready;
	long			 ready_delay;	/* ms */
	long			 ready_timeout;	/* ms */
	int			 drain_signal;
	int			 drain_to_group; /* the group, not the main process */
	long			 drain_timeout;	/* ms */
	char			*control;	/* absolute; NULL: none */
	char			*pidfile;	/* absolute; NULL: none */
	char			*user;
	char			*group;
	int			 preload;
	struct config_probe	 probe;		/* kind PROBE_NONE: none */
	char			*probe_socket;	/* NULL: the first socket */
	long			 probe_interval; /* ms */
	int			 probe_successes;
	long			 probe_timeout;	/* ms */
	enum rollout_mode	 rollout;
	int			 canary;	/* of CONFIG_CANARY_WHOLE; 0:
						   no canary */
	long			 canary_time;	/* ms */
	/* A new generation's share rises to all over this; 0: at once. */
	long			 warmup;	/* ms */
	/* The workers' stdout and stderr (output.c). */
	char			*output;	/* absolute; NULL: inherit */
	long long		 output_max_size; /* bytes; 0: never rotate */
	int			 output_keep;	/* rotated files kept */
	char			*metrics;	/* its URL; NULL: none */
	struct address		 metrics_addr;	/* parsed, when metrics */
	long			 stop_delay;	/* ms: /readyz fails first */
	/* Recycling (generation_recycle()): 0 for either is never. */
	long long		 max_memory;	/* bytes of RSS, all its processes */
	long			 max_age;	/* ms, plus up to a tenth more */
	/* Added to a new worker's nice value until it is ready; 0: none. */
	int			 start_priority;
	struct config_socket	*sockets;	/* in configuration order */
	size_t			 nsockets;
	char			**names;	/* the sockets' names, in that
						   order, NULL-terminated */
	struct config_env	*env;		/* in file order */
	size_t			 nenv;
	/*
	 * env_file (envfile.c): its path and what it held when this
	 * snapshot was taken; then what `baton reload --env` gave since
	 * the files last changed. Both apply after [env].
	 */
	char			*env_file;	/* absolute; NULL: none */
	struct config_env	*file_env;	/* line: of env_file */
	size_t			 nfile_env;
	struct config_env	*reload_env;	/* line: 0 */
	size_t			 nreload_env;
	struct config_lines	*lines;		/* where keys were set, for
						   config_finish()'s messages */
};

/* A configuration with every default and no file. */
struct config	*config_new(void);
void		 config_free(struct config *);

/*
 * Read FILE into c. Returns 0, or -1 with *error set to an allocated
 * "FILE:LINE: message". Relative paths in the file (control, pidfile,
 * directory) are taken from the file's folder.
 */
int		 config_load(struct config *c, const char *file, char **error);

/*
 * Command-line overrides, applied after config_load(). Each returns 0, or
 * -1 with *error set to a message that names the option.
 */
int		 config_set_listen(struct config *, const char *name_eq_url,
		    char **error);
int		 config_set_argv(struct config *, char *const *argv,
		    char **error);
/* probe = SPEC, as --probe gives it. */
int		 config_set_probe(struct config *, const char *spec,
		    char **error);
/* Refuses a signal that cannot end a process (SIGSTOP, SIGCHLD, ...). */
int		 config_set_drain_signal(struct config *, int sig,
		    char **error);

/*
 * Validate the whole and fill in what is derived (directory, control,
 * the split command). Returns 0, or -1 with *error set to "FILE:LINE:
 * message" (no command, a {fd:NAME} naming no socket, two sockets on one
 * address, ...).
 */
int		 config_finish(struct config *, char **error);

/*
 * The control socket of an absolute file that sets no `control`: FILE
 * with .ini replaced by .sock, or .sock appended. Allocated.
 */
char		*config_default_control(const char *file);

/*
 * Where a client finds the baton run with file: its `control`, or the
 * default. A file that does not load is still read for `control`, line
 * by line: a reload of a broken file must reach the running baton, which
 * then reports what is wrong. Returns an allocated absolute path, or NULL
 * with *error set (the current directory cannot be known).
 */
char		*config_control_path(const char *file, char **error);

/*
 * Print the resolved configuration as an INI file that loads back
 * (config_print.c).
 */
void		 config_print(const struct config *, FILE *);

/*
 * Whether c asks the kernel to steer connections between generations
 * (steer.h): ready = probe, canary, or rollout = rolling with more than
 * one worker. config_finish() refuses it where the kernel does.
 */
int		 config_steers(const struct config *);

/*
 * Whether a and b are the same but for reload_env: baton.ini and env_file
 * gave the same (config_print.c).
 */
int		 config_same_files(const struct config *a,
		    const struct config *b);

/* Index of the socket named name, or -1. */
int		 config_socket_index(const struct config *, const char *name);
/*
 * The socket a probe goes through (probe_socket, or the first), or NULL
 * when there is none. Valid once config_finish() accepted c.
 */
const struct config_socket *config_probe_socket(const struct config *);

/*
 * Values shared with the command line. Each returns 0, or -1 if s is not
 * of the form: durations "500ms", "15s", "2m", or bare seconds. Signals
 * are signame.c's.
 */
int		 config_parse_duration(const char *s, long *ms);
/* Sizes: bytes, or with K, M, G (powers of 1024); at least 1. */
int		 config_parse_size(const char *s, long long *bytes);
const char	*config_ready_name(enum ready_mode);
int		 config_parse_ready(const char *, enum ready_mode *);
/*
 * probe = SPEC into *p (cleared first; free with config_probe_clear()).
 * Returns 0, or -1 with *error set to an allocated message without the
 * key's name ("'http GET' needs a path ...").
 */
int		 config_parse_probe(const char *spec, struct config_probe *p,
		    char **error);
void		 config_probe_clear(struct config_probe *);
/* "http GET /healthz", "tcp", "exec COMMAND"; allocated. */
char		*config_probe_spec(const struct config_probe *);
/* canary = "10%" or "2.5%" into hundredths of a percent; 0 or -1. */
int		 config_parse_canary(const char *, int *);
const char	*config_rollout_name(enum rollout_mode);

#endif
