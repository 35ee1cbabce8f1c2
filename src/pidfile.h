/*
 * baton's pidfile: written atomically (a temporary file renamed into
 * place), locked with flock() for as long as baton runs, so a second
 * baton sees who holds it, and removed at stop if it is still ours.
 */
#ifndef BATON_PIDFILE_H
#define BATON_PIDFILE_H

struct pidfile;

/*
 * Returns NULL with *error set ("pidfile P is locked by pid N"). With
 * fd >= 0, hold that one: the locked file baton wrote before it upgraded
 * in place (same pid, same lock).
 */
struct pidfile	*pidfile_new(const char *path, int fd, char **error);
void		 pidfile_free(struct pidfile *);
int		 pidfile_fd(const struct pidfile *);

#endif
