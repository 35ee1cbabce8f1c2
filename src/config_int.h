/*
 * What config.c, config_load.c and config_print.c share. No other module
 * includes this: the rest see config.h only.
 */
#ifndef BATON_CONFIG_INT_H
#define BATON_CONFIG_INT_H

#include <stddef.h>

#define SOCKET_NAME_HINT	"(use letters, digits, '-', '_' and '.')"

enum baton_key {
	KEY_COMMAND,
	KEY_DIRECTORY,
	KEY_WORKERS,
	KEY_READY,
	KEY_READY_DELAY,
	KEY_READY_TIMEOUT,
	KEY_DRAIN_SIGNAL,
	KEY_DRAIN_TIMEOUT,
	KEY_CONTROL,
	KEY_PIDFILE,
	KEY_USER,
	KEY_GROUP,
	KEY_PRELOAD,
	KEY_DRAIN_TO,
	KEY_PROBE,
	KEY_PROBE_SOCKET,
	KEY_PROBE_INTERVAL,
	KEY_PROBE_SUCCESSES,
	KEY_PROBE_TIMEOUT,
	KEY_ROLLOUT,
	KEY_CANARY,
	KEY_CANARY_TIME,
	KEY_OUTPUT,
	KEY_OUTPUT_MAX_SIZE,
	KEY_OUTPUT_KEEP,
	KEY_METRICS,
	KEY_STOP_DELAY,
	KEY_ENV_FILE,
	KEY_MAX_MEMORY,
	KEY_MAX_AGE,
	KEY_START_PRIORITY,
	KEY_WARMUP,
	KEY_NBATON
};

/*
 * Where the [baton] keys were set, so that config_finish(), which checks
 * what needs the whole configuration, can still name FILE:LINE.
 */
struct config_lines {
	int	 baton;			/* the [baton] header; 0: none */
	int	 key[KEY_NBATON];	/* 0: not in the file */
};

/* In config.c. */
/*
 * Add a socket named name (allocated, taken) with no options; the caller
 * sets its address. Returns it.
 */
struct config_socket *config_add_socket(struct config *, char *name);
/* Returns NULL, or why sig cannot be a drain signal. */
const char	*config_drain_signal_why(int sig);
/* Whether name is a good socket name. */
int		 config_socket_name_ok(const char *name);
/* The current directory, allocated; NULL with *error set. */
char		*config_cwd(char **error);
/* file made absolute and clean, allocated; NULL with *error set. */
char		*config_abs_path(const char *file, char **error);
/* The length of value s without an inline comment (" ;") and the
   whitespace before it, as inih takes them off. */
size_t		 config_value_len(const char *s);
/* path taken from dir unless absolute, cleaned; allocated. */
char		*config_path(const char *dir, const char *path);
/* The folder of an absolute, clean path; allocated. */
char		*config_folder(const char *file);

/* In config_load.c. */
/*
 * Does s start like "NAME =": a key that lost its place under another?
 * With baton_only, NAME must be a [baton] key; otherwise any variable name.
 */
int		 config_load_looks_like_key(const char *s, int baton_only);
/* A [baton] key's name. */
const char	*config_key_name(enum baton_key);

#endif
