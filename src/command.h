/*
 * The worker command line: split once with shell-like quoting (no shell is
 * ever run), then expanded per worker.
 */
#ifndef BATON_COMMAND_H
#define BATON_COMMAND_H

#include <stddef.h>

/*
 * Split s into words: whitespace separates, '...' is literal, "..." keeps
 * backslash escapes for \ " $ ` only, a backslash outside quotes escapes
 * the next character. Returns a NULL-terminated argv, or NULL with *error
 * set to an allocated message (unterminated quote, empty command).
 */
char	**command_split(const char *s, char **error);
/*
 * Check every placeholder of argv against the n socket names, in
 * configuration order: {fd:NAME} must be one of them. Returns 0, or -1
 * with *error set.
 */
int	  command_check(char *const *argv, char *const *names, size_t n,
	    char **error);
/*
 * Copy argv with {fd:NAME} replaced by the socket's descriptor number in
 * the worker (3 + its index among the n names), {generation} and
 * {worker} by the numbers. Any other text in braces is left alone.
 */
char	**command_expand(char *const *argv, char *const *names, size_t n,
	    int generation, int worker);
char	**command_copy(char *const *argv);
void	  command_free(char **argv);
/* argv joined with spaces, quoted where needed so that it splits back. */
char	 *command_join(char *const *argv);

#endif
