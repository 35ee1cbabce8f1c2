#include <stdlib.h>

#include "config.h"
#include "generation.h"
#include "log.h"
#include "socket.h"
#include "sockets.h"
#include "systemd.h"
#include "xmalloc.h"

/* A reference to the socket a live generation holds on c's address. */
static struct socket *
sockets_held(const struct config_socket *c, struct generation **gens,
    size_t ngens)
{
	struct socket	*s;
	size_t		 j, k;

	for (j = ngens; j-- > 0;) {
		for (k = 0; (s = generation_socket(gens[j], k)) != NULL; k++)
			if (socket_matches(s, c))
				return socket_ref(s);
	}
	return NULL;
}

struct socket **
sockets_open(const struct config *cfg, struct generation **gens,
    size_t ngens, char **error)
{
	struct socket	**out;
	const char	 *how;
	size_t		  i;
	int		  fd;

	out = xcalloc(cfg->nsockets, sizeof(*out));
	for (i = 0; i < cfg->nsockets; i++) {
		out[i] = sockets_held(&cfg->sockets[i], gens, ngens);
		if (out[i] == NULL &&
		    (fd = systemd_take_fd(cfg, i, &how)) != -1) {
			if ((out[i] = socket_adopt(&cfg->sockets[i], fd,
			    error)) != NULL)
				log_info("socket %s: adopted from the service "
				    "manager (fd %d, %s)", cfg->sockets[i].name,
				    fd, how);
		} else if (out[i] == NULL)
			out[i] = socket_open(&cfg->sockets[i], error);
		if (out[i] == NULL) {
			while (i-- > 0)
				socket_unref(out[i]);
			free(out);
			return NULL;
		}
	}
	/* Only once everything is bound, so a failed reload changes nothing. */
	for (i = 0; i < cfg->nsockets; i++) {
		if (socket_update(out[i], &cfg->sockets[i], error) == -1) {
			log_warn("%s", *error);
			free(*error);
			*error = NULL;
		}
	}
	return out;
}

void
sockets_store(struct generation **gens, size_t ngens)
{
	struct systemd_member	 *members = NULL, m;
	struct socket		**live = NULL, *s;
	size_t			  n = 0, nm = 0, j, k;

	for (j = 0; j < ngens; j++) {
		for (k = 0; (s = generation_socket(gens[j], k)) != NULL; k++) {
			live = xreallocarray(live, n + 1, sizeof(*live));
			live[n++] = s;
			m.socket = s;
			if ((m.fd = generation_own_member(gens[j], k,
			    &m.index)) == -1)
				continue;
			members = xreallocarray(members, nm + 1,
			    sizeof(*members));
			members[nm++] = m;
		}
	}
	systemd_store(live, n, members, nm);
	free(live);
	free(members);
}

void
sockets_unref(struct socket **sockets, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		socket_unref(sockets[i]);
	free(sockets);
}
