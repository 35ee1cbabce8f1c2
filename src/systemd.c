#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include "address.h"
#include "config.h"
#include "log.h"
#include "sockaddr.h"
#include "systemd.h"
#include "xmalloc.h"

#define SD_LISTEN_FDS_START	3

static char	*systemd_socket;	/* baton's own NOTIFY_SOCKET */
static int	*passed_fds;
static char	**passed_names;
static size_t	 npassed;

void
systemd_init(void)
{
	const char	*s, *pid, *names;
	char		*copy, *p, *name;
	long		 n, i;

	if ((s = getenv("NOTIFY_SOCKET")) != NULL && *s != '\0')
		systemd_socket = xstrdup(s);
	unsetenv("NOTIFY_SOCKET");

	pid = getenv("LISTEN_PID");
	s = getenv("LISTEN_FDS");
	names = getenv("LISTEN_FDNAMES");
	if (pid != NULL && s != NULL && strtol(pid, NULL, 10) == getpid() &&
	    (n = strtol(s, NULL, 10)) > 0 && n < 1024) {
		passed_fds = xcalloc(n, sizeof(*passed_fds));
		passed_names = xcalloc(n, sizeof(*passed_names));
		copy = xstrdup(names != NULL ? names : "");
		p = copy;
		for (i = 0; i < n; i++) {
			name = strsep(&p, ":");
			passed_fds[i] = SD_LISTEN_FDS_START + (int)i;
			passed_names[i] = xstrdup(name != NULL && *name != '\0' ?
			    name : "unknown");
			/* They arrive inheritable; nothing else may get them. */
			if (fcntl(passed_fds[i], F_SETFD, FD_CLOEXEC) == -1) {
				log_warn("passed fd %d: %s", passed_fds[i],
				    strerror(errno));
				passed_fds[i] = -1;
			}
		}
		npassed = n;
		free(copy);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("LISTEN_PIDFDID");
}

void
systemd_notify(const char *fmt, ...)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	va_list			 ap;
	char			 msg[1024];
	int			 fd, n;

	if (systemd_socket == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(systemd_socket) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, systemd_socket, strlen(systemd_socket));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(systemd_socket);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, msg, n, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    len) == -1)
		log_debug("NOTIFY_SOCKET %s: %s", systemd_socket,
		    strerror(errno));
	close(fd);
}

/*
 * Whether fd is bound where addr says: the same socket type, and the same
 * path, or the same family, address and port as binding addr would give.
 */
static int
systemd_fd_at(int fd, const struct address *addr)
{
	struct sockaddr_storage	 have, want;
	socklen_t		 hlen, wlen, tlen;
	char			*error = NULL;
	int			 type;

	tlen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != (addr->kind == ADDRESS_UDP ? SOCK_DGRAM : SOCK_STREAM))
		return 0;
	memset(&have, 0, sizeof(have));
	hlen = sizeof(have);
	if (getsockname(fd, (struct sockaddr *)&have, &hlen) == -1)
		return 0;
	if (address_resolve(addr, &want, &wlen, &error) == -1) {
		log_debug("%s", error);
		free(error);
		return 0;
	}
	return sockaddr_same((struct sockaddr *)&have, hlen,
	    (struct sockaddr *)&want, wlen);
}

int
systemd_take_fd(const struct config *cfg, size_t i, const char **how)
{
	const struct config_socket	*cs = &cfg->sockets[i];
	size_t				 j;
	int				 fd;

	for (j = 0; j < npassed; j++) {
		if (passed_fds[j] != -1 &&
		    strcmp(passed_names[j], cs->name) == 0) {
			*how = "by name";
			goto take;
		}
	}
	/*
	 * Unit files name their sockets after the unit unless told
	 * otherwise (FileDescriptorName=); one whose name is no socket's
	 * here is matched by where it listens, or binding the same address
	 * would only find it in use.
	 */
	for (j = 0; j < npassed; j++) {
		if (passed_fds[j] != -1 &&
		    config_socket_index(cfg, passed_names[j]) == -1 &&
		    systemd_fd_at(passed_fds[j], &cs->addr)) {
			*how = "by address";
			goto take;
		}
	}
	return -1;
take:
	fd = passed_fds[j];
	passed_fds[j] = -1;
	return fd;
}

const char *
systemd_socket_path(void)
{
	return systemd_socket;
}

void
systemd_close_unused(void)
{
	size_t	 i;

	for (i = 0; i < npassed; i++) {
		if (passed_fds[i] != -1) {
			log_warn("passed socket '%s' (fd %d) matches no "
			    "[socket:NAME]; closed", passed_names[i],
			    passed_fds[i]);
			close(passed_fds[i]);
			passed_fds[i] = -1;
		}
		free(passed_names[i]);
	}
	free(passed_fds);
	free(passed_names);
	passed_fds = NULL;
	passed_names = NULL;
	npassed = 0;
}
