/*
 * Comparing socket addresses as the kernel would bind them: which held
 * socket an application's bind() names.
 */
#ifndef BATON_SOCKADDR_H
#define BATON_SOCKADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* In libbaton-preload.so, never in place of a program's own symbols. */
#ifdef BATON_PRELOAD
#pragma GCC visibility push(hidden)
#endif

/*
 * Whether a (alen bytes) and b (blen bytes) are the same address: the
 * same family and, for IP, port and address (and scope for a link-local
 * IPv6 one); for unix sockets the same path, or abstract name.
 */
int	sockaddr_same(const struct sockaddr *a, socklen_t alen,
	    const struct sockaddr *b, socklen_t blen);
/* A held socket as sockaddr_match_held() sees it: its address and type. */
struct sockaddr_held {
	struct sockaddr_storage	 addr;
	socklen_t		 len;
	int			 type;		/* -1: matches nothing */
};

/*
 * Which of the n held sockets (of any type) a bind() to sa, on a socket
 * of this type, names: the same type and address, else a wildcard
 * address on the port of a TCP or UDP one. An IPv4-mapped IPv6 address
 * counts as its IPv4 one; port 0 never matches. Returns its index, or -1.
 */
int	sockaddr_match_held(const struct sockaddr *sa, socklen_t len, int type,
	    const struct sockaddr_held *held, size_t n);
/* The same, for held sockets given as descriptors. */
int	sockaddr_match(const struct sockaddr *sa, socklen_t len, int type,
	    const int *fds, size_t n);
/* Fill h from descriptor fd: 0, or -1 with errno (h then matches nothing). */
int	sockaddr_held_of(int fd, struct sockaddr_held *h);

#ifdef BATON_PRELOAD
#pragma GCC visibility pop
#endif

#endif
