/*
 * baton as a service of systemd (or anything speaking its protocols):
 * sd_notify(3) messages about baton itself, and sockets passed to baton
 * by socket activation (sd_listen_fds(3)), adopted by name.
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
/* The passed socket named name, or -1. The caller owns it from then on. */
int	systemd_take_fd(const char *name);
/* Close what was passed but never taken, with a warning for each. */
void	systemd_close_unused(void);

#endif
