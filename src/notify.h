/*
 * The NOTIFY_SOCKET baton gives its workers: an abstract-namespace
 * datagram socket with SO_PASSCRED, so every datagram comes with the
 * sender's pid, which the kernel vouches for. Nothing on the filesystem
 * to clean up, and the kernel picks a name no one else holds.
 */
#ifndef BATON_NOTIFY_H
#define BATON_NOTIFY_H

#include <sys/types.h>

struct event_base;
struct channel_msg;
struct notify;

typedef void	(*notify_cb)(pid_t sender, const struct channel_msg *,
		    void *arg);

/*
 * A new socket, or with fd >= 0 the one baton held before it upgraded in
 * place (its workers know its name). Returns NULL with errno set.
 */
struct notify	*notify_new(struct event_base *, notify_cb, void *arg, int fd);
void		 notify_free(struct notify *);
/* The value for NOTIFY_SOCKET: "@" and the abstract name. */
const char	*notify_path(const struct notify *);
int		 notify_fd(const struct notify *);

#endif
