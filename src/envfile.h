/*
 * env_file and `baton reload --env`: the variables a worker gets after
 * [env]. The rule, in baton(1) and baton.ini(5): a worker's environment
 * is baton's own, then [env], then env_file, then every --env given to a
 * reload since baton.ini or env_file last changed, later winning; then
 * the variables baton sets itself.
 */
#ifndef BATON_ENVFILE_H
#define BATON_ENVFILE_H

#include <stddef.h>

struct config;
struct config_env;

/*
 * One line of an env file. Returns 1 with *key and *value allocated, 0
 * for a blank or comment line, or -1 with *why set to a static reason.
 */
int		 envfile_parse_line(const char *line, char **key, char **value,
		    const char **why);
/*
 * Read the env file at path into a fresh *vars (free with
 * envfile_clear()). Returns 0, or -1 with *error set to an allocated
 * "PATH:LINE: message" or "PATH: message".
 */
int		 envfile_read(const char *path, struct config_env **vars,
		    size_t *n, char **error);
void		 envfile_clear(struct config_env *vars, size_t n);

/* NULL if s is a "KEY=VALUE" that --env may give, else why not. */
const char	*envfile_assignment_why(const char *s);
/*
 * The control socket's reload line for the assignments (NULL-terminated,
 * or NULL): "reload", or "reload --env 'KEY=VALUE' ...", allocated.
 */
char		*envfile_request(char *const *assignments);
/*
 * What follows "reload " on that line: a fresh NULL-terminated vector of
 * the assignments, or NULL with *error set to an allocated message.
 */
char		**envfile_request_parse(const char *args, char **error);
/* Add the assignments to *pending (allocated, or NULL), later winning. */
void		 envfile_merge(char ***pending, char *const *assignments);

/*
 * The reload's choice, on c, just loaded: keep the --env that the active
 * generation's configuration carries if baton.ini and env_file give the
 * same as they gave it, else drop them; then add the assignments of this
 * reload. Logs which apply.
 */
void		 envfile_apply(const struct config *active, struct config *c,
		    char *const *assignments);
/* [env], env_file's and --env's "KEY=VALUE", in that order; allocated. */
char		**envfile_vars(const struct config *);

#endif
