/*
 * baton's pidfile: written atomically (a temporary file moved into
 * place), locked with flock() for as long as baton runs, so a second
 * baton sees who holds it, and removed at stop if it is still ours (the
 * same inode, with the text baton wrote). Like a unix socket's path, it
 * replaces only what it knows to be stale: a pid file ("PID\n") that no
 * lock holds and whose process is gone. Never through a symbolic link.
 */
#ifndef BATON_PIDFILE_H
#define BATON_PIDFILE_H

struct pidfile;

/*
 * Returns NULL with *error set, naming the path and the reason ("pidfile
 * P: another baton (pid N) runs", "pidfile P: is a symbolic link"). With
 * fd >= 0, hold that one: the locked file baton wrote before it upgraded
 * in place (same pid, same lock).
 */
struct pidfile	*pidfile_new(const char *path, int fd, char **error);
void		 pidfile_free(struct pidfile *);
int		 pidfile_fd(const struct pidfile *);

#endif
