/*
 * baton as a service of systemd (or anything speaking its protocols):
 * sd_notify(3) messages about baton itself, sockets passed to baton by
 * socket activation (sd_listen_fds(3)), adopted by name or by address, and
 * the held sockets kept in the service manager's descriptor store
 * (FDSTORE=1), so that they outlive a crash of baton and come back to the
 * next one as passed sockets.
 */
#ifndef BATON_SYSTEMD_H
#define BATON_SYSTEMD_H

#include <stddef.h>

/*
 * Take NOTIFY_SOCKET and LISTEN_* out of baton's environment (workers get
 * their own) and mark passed descriptors close-on-exec.
 */
void	systemd_init(void);
/* Send one datagram to baton's NOTIFY_SOCKET; nothing if there is none. */
void	systemd_notify(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
struct config;

/*
 * The passed socket for cfg's socket i: the one of its name, else one
 * that no socket of cfg is named after; either must listen at its
 * address (one of its name that does not is closed, with a warning, and
 * leaves the store at the next systemd_store()). -1 if none. *how says which ("by name", "by address"). The caller owns
 * the descriptor from then on.
 */
int	systemd_take_fd(const struct config *cfg, size_t i, const char **how);
/*
 * Put baton's NOTIFY_SOCKET and FDSTORE back in the environment (on) for
 * an exec of baton itself, or take them out again (off).
 */
void	systemd_export(int on);
/* Whether systemd takes name as FDNAME=: printable ASCII, no ':', <= 255. */
int	systemd_fdname_ok(const char *name);
struct socket;
/* A live generation's own socket in a steered socket's group (socket.h). */
struct systemd_member {
	struct socket	*socket;
	int		 index;
	int		 fd;
};
/*
 * Make the descriptor store hold exactly the n live sockets, each under
 * its name (of sockets of the same name, the last one), and the members,
 * each as NAME@INDEX: FDSTOREREMOVE=1 for what it holds and baton no
 * longer does, then FDSTORE=1 for what it lacks. Nothing unless the
 * service manager set FDSTORE (systemd 254 and later do when
 * FileDescriptorStoreMax= is not 0). Failures are logged.
 */
void	systemd_store(struct socket *const *live, size_t n,
	    const struct systemd_member *members, size_t nmembers);
/* Close what was passed but never taken, with a warning for each. */
void	systemd_close_unused(void);

#endif
