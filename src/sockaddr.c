#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sockaddr.h"

static int
sockaddr_inet_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)sa)->sin6_addr);
}

static in_port_t
sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_port;
	return ((const struct sockaddr_in6 *)sa)->sin6_port;
}

/* A unix address's name: a path stops at its NUL, an abstract name does not. */
static size_t
sockaddr_unix_len(const struct sockaddr_un *su, socklen_t len)
{
	size_t	 n;

	if (len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (n > sizeof(su->sun_path))
		n = sizeof(su->sun_path);
	return su->sun_path[0] != '\0' ? strnlen(su->sun_path, n) : n;
}

int
sockaddr_same(const struct sockaddr *a, socklen_t alen,
    const struct sockaddr *b, socklen_t blen)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;
	size_t				 al, bl;

	if (alen < sizeof(sa_family_t) || blen < sizeof(sa_family_t) ||
	    a->sa_family != b->sa_family)
		return 0;
	switch (a->sa_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return alen >= sizeof(*a4) && blen >= sizeof(*b4) &&
		    a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		return alen >= sizeof(*a6) && blen >= sizeof(*b6) &&
		    a6->sin6_port == b6->sin6_port &&
		    IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr) &&
		    (!IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr) ||
		    a6->sin6_scope_id == b6->sin6_scope_id);
	case AF_UNIX:
		al = sockaddr_unix_len((const struct sockaddr_un *)a, alen);
		bl = sockaddr_unix_len((const struct sockaddr_un *)b, blen);
		return al > 0 && al == bl &&
		    memcmp(((const struct sockaddr_un *)a)->sun_path,
		    ((const struct sockaddr_un *)b)->sun_path, al) == 0;
	}
	return 0;
}

int
sockaddr_held_of(int fd, struct sockaddr_held *h)
{
	socklen_t	 tlen = sizeof(h->type);

	h->len = sizeof(h->addr);
	if (getsockname(fd, (struct sockaddr *)&h->addr, &h->len) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &h->type, &tlen) == -1) {
		h->len = 0;
		h->type = -1;
		return -1;
	}
	return 0;
}

int
sockaddr_match_held(const struct sockaddr *sa, socklen_t len, int type,
    const struct sockaddr_held *held, size_t n)
{
	struct sockaddr_in	 v4;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr	*h;
	size_t			 i, pass;

	if (sa == NULL || len < sizeof(sa_family_t))
		return -1;
	if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)sa;
		/* ::ffff:a.b.c.d is a.b.c.d to a dual-stack socket. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memset(&v4, 0, sizeof(v4));
			v4.sin_family = AF_INET;
			v4.sin_port = sin6->sin6_port;
			memcpy(&v4.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
			sa = (const struct sockaddr *)&v4;
			len = sizeof(v4);
		}
	}
	if ((sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return -1;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6 &&
	    sa->sa_family != AF_UNIX)
		return -1;
	/* Port 0 asks the kernel for one: never one of ours. */
	if (sa->sa_family != AF_UNIX && sockaddr_port(sa) == 0)
		return -1;
	/* The exact address first, then a wildcard on the same port. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && (sa->sa_family == AF_UNIX ||
		    !sockaddr_inet_any(sa)))
			break;
		for (i = 0; i < n; i++) {
			h = (const struct sockaddr *)&held[i].addr;
			if (held[i].type != type || held[i].len == 0)
				continue;
			if (pass == 0 && sockaddr_same(sa, len, h, held[i].len))
				return (int)i;
			if (pass == 1 && (h->sa_family == AF_INET ||
			    h->sa_family == AF_INET6) &&
			    sockaddr_port(h) == sockaddr_port(sa))
				return (int)i;
		}
	}
	return -1;
}

int
sockaddr_match(const struct sockaddr *sa, socklen_t len, int type,
    const int *fds, size_t n)
{
	struct sockaddr_held	*held;
	size_t			 i;
	int			 r;

	if (n == 0)
		return -1;
	if ((held = calloc(n, sizeof(*held))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		(void)sockaddr_held_of(fds[i], &held[i]);
	r = sockaddr_match_held(sa, len, type, held, n);
	free(held);
	return r;
}
