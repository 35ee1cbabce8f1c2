/*
 * Signal names, both ways: for the configuration, the command line and
 * every log line that names a signal.
 */
#ifndef BATON_SIGNAME_H
#define BATON_SIGNAME_H

/*
 * "SIGINT", "INT" (any case) or a number from 1 to SIGRTMAX into *sig.
 * Returns 0, or -1 if s is none of these.
 */
int		 signame_parse(const char *s, int *sig);
/* "SIGTERM" for SIGTERM; "signal 42" for what has no name. */
const char	*signame_name(int sig);

#endif
