/*
 * Listen addresses as users write them:
 *   tcp://HOST:PORT  tcp://[V6]:PORT  udp://HOST:PORT  unix:///PATH
 * Parsing is pure; host names are resolved only by address_resolve(), which
 * the socket module calls once, at bind time.
 */
#ifndef BATON_ADDRESS_H
#define BATON_ADDRESS_H

#include <sys/socket.h>

enum address_kind {
	ADDRESS_TCP,
	ADDRESS_UDP,
	ADDRESS_UNIX
};

struct address {
	enum address_kind	 kind;
	char			*host;	/* tcp, udp: without brackets */
	int			 port;	/* tcp, udp: 1..65535 */
	char			*path;	/* unix: absolute path */
	char			*url;	/* canonical form, for messages */
};

/*
 * Parse url into *a. Returns 0, or -1 with *error set to an allocated
 * message that says what is wrong ("port 70000 is out of range").
 */
int	 address_parse(const char *url, struct address *a, char **error);
void	 address_clear(struct address *);
void	 address_copy(struct address *dst, const struct address *src);
/* Same kind, host and port (or path), as written. */
int	 address_equal(const struct address *, const struct address *);
/*
 * Resolve a tcp or udp address to the first address getaddrinfo() gives.
 * Returns 0, or -1 with *error set (the resolver's own words).
 */
int	 address_resolve(const struct address *, struct sockaddr_storage *,
	    socklen_t *, char **error);
/* "HOST:PORT" ("[V6]:PORT") or PATH, as Server::Starter writes it. */
char	*address_server_starter(const struct address *);

#endif
