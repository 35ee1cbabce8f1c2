/*
 * baton as a service of systemd (or anything speaking its protocols):
 * sd_notify(3) messages about baton itself, and sockets passed to baton
 * by socket activation (sd_listen_fds(3)), adopted by name or by address.
 */
#ifndef BATON_SYSTEMD_H
#define BATON_SYSTEMD_H

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
 * that no socket of cfg is named after and that listens at its address;
 * -1 if none. *how says which ("by name", "by address"). The caller owns
 * the descriptor from then on.
 */
int	systemd_take_fd(const struct config *cfg, size_t i, const char **how);
/* baton's own NOTIFY_SOCKET, or NULL: for an upgrade in place to pass on. */
const char *systemd_socket_path(void);
/* Close what was passed but never taken, with a warning for each. */
void	systemd_close_unused(void);

#endif
