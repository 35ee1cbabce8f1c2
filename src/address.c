/*
 * Listen addresses: parsing is pure and strict, so that a typo is reported
 * with the configuration line instead of surfacing later as a bind() error;
 * names are resolved only when the socket module binds.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "xmalloc.h"

#define SCHEMES		"(use tcp://, udp:// or unix://)"
#define PORT_MAX	65535

static int	address_parse_unix(const char *, const char *, struct address *,
		    char **);
static int	address_parse_inet(const char *, const char *, struct address *,
		    char **);
static int	address_check_host(const char *, const char *, char **);
static int	address_check_ipv6(const char *);
static int	address_parse_port(const char *, const char *, int *, char **);

int
address_parse(const char *url, struct address *a, char **error)
{
	const char	*sep, *rest;
	char		*scheme;
	size_t		 len;
	int		 rc;

	memset(a, 0, sizeof(*a));
	if (*url == '\0') {
		*error = xstrdup("empty address " SCHEMES);
		return -1;
	}
	if ((sep = strstr(url, "://")) == NULL) {
		*error = xprintf("'%s' has no scheme " SCHEMES, url);
		return -1;
	}
	len = sep - url;
	rest = sep + 3;
	scheme = xstrndup(url, len);
	if (strcasecmp(scheme, "tcp") == 0) {
		a->kind = ADDRESS_TCP;
		rc = address_parse_inet(url, rest, a, error);
	} else if (strcasecmp(scheme, "udp") == 0) {
		a->kind = ADDRESS_UDP;
		rc = address_parse_inet(url, rest, a, error);
	} else if (strcasecmp(scheme, "unix") == 0) {
		a->kind = ADDRESS_UNIX;
		rc = address_parse_unix(url, rest, a, error);
	} else {
		*error = xprintf("unknown scheme '%s' " SCHEMES, scheme);
		rc = -1;
	}
	free(scheme);
	if (rc == -1)
		address_clear(a);
	return rc;
}

static int
address_parse_unix(const char *url, const char *path, struct address *a,
    char **error)
{
	struct sockaddr_un	 sun;
	size_t			 len;

	if (*path == '\0') {
		*error = xprintf("empty unix socket path in '%s' "
		    "(unix:///PATH)", url);
		return -1;
	}
	if (*path != '/') {
		*error = xprintf("unix socket path '%s' is not absolute "
		    "(unix:///PATH)", path);
		return -1;
	}
	/* bind() refuses a path that does not fit sun_path with its NUL. */
	len = strlen(path);
	if (len >= sizeof(sun.sun_path)) {
		*error = xprintf("unix socket path is %zu bytes long, more "
		    "than the %zu a socket address holds", len,
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	a->path = xstrdup(path);
	a->url = xprintf("unix://%s", path);
	return 0;
}

static int
address_parse_inet(const char *url, const char *rest, struct address *a,
    char **error)
{
	const char	*scheme, *end, *colon, *port;
	char		*host;
	int		 bracketed = 0;

	scheme = a->kind == ADDRESS_TCP ? "tcp" : "udp";
	if (*rest == '[') {
		if ((end = strchr(rest, ']')) == NULL) {
			*error = xprintf("missing ']' in '%s'", url);
			return -1;
		}
		host = xstrndup(rest + 1, end - rest - 1);
		bracketed = 1;
		end++;
		if (*end != ':' && *end != '\0') {
			*error = xprintf("unexpected '%s' after ']' in '%s'",
			    end, url);
			free(host);
			return -1;
		}
		port = *end == ':' ? end + 1 : NULL;
	} else {
		colon = strchr(rest, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			*error = xprintf("IPv6 address in '%s' needs brackets "
			    "(%s://[V6]:PORT)", url, scheme);
			return -1;
		}
		if (colon == NULL) {
			host = xstrdup(rest);
			port = NULL;
		} else {
			host = xstrndup(rest, colon - rest);
			port = colon + 1;
		}
	}

	if (*host == '\0') {
		*error = xprintf("empty host in '%s' (use 0.0.0.0 or [::] for "
		    "every address)", url);
		free(host);
		return -1;
	}
	if (bracketed) {
		if (address_check_ipv6(host) == -1) {
			*error = xprintf("bad IPv6 address '%s' in '%s'", host,
			    url);
			free(host);
			return -1;
		}
	} else if (address_check_host(host, url, error) == -1) {
		free(host);
		return -1;
	}
	if (port == NULL || *port == '\0') {
		*error = xprintf("missing port in '%s' (%s://HOST:PORT)", url,
		    scheme);
		free(host);
		return -1;
	}
	if (address_parse_port(port, url, &a->port, error) == -1) {
		free(host);
		return -1;
	}

	a->host = host;
	if (bracketed)
		a->url = xprintf("%s://[%s]:%d", scheme, host, a->port);
	else
		a->url = xprintf("%s://%s:%d", scheme, host, a->port);
	return 0;
}

/*
 * An IPv4 literal or a host name. Anything made of digits and dots is
 * meant as an IPv4 address, and "1.2.3.999" must not go to the resolver.
 */
static int
address_check_host(const char *host, const char *url, char **error)
{
	struct in_addr	 in;
	const char	*p;
	int		 numeric = 1;

	for (p = host; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') {
			*error = xprintf("bad host name '%s' in '%s' (use "
			    "letters, digits, '-' and '.')", host, url);
			return -1;
		}
		if (!isdigit((unsigned char)*p) && *p != '.')
			numeric = 0;
	}
	if (numeric) {
		if (inet_pton(AF_INET, host, &in) != 1) {
			*error = xprintf("bad IPv4 address '%s' in '%s'", host,
			    url);
			return -1;
		}
		return 0;
	}
	if (strlen(host) > 253 || *host == '.' || strstr(host, "..") != NULL) {
		*error = xprintf("bad host name '%s' in '%s'", host, url);
		return -1;
	}
	return 0;
}

/* An IPv6 literal, with an optional zone for link-local ("fe80::1%eth0"). */
static int
address_check_ipv6(const char *host)
{
	struct in6_addr	 in6;
	const char	*zone, *p;
	char		*addr;
	int		 rc;

	if ((zone = strchr(host, '%')) == NULL)
		return inet_pton(AF_INET6, host, &in6) == 1 ? 0 : -1;
	if (zone[1] == '\0')
		return -1;
	for (p = zone + 1; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL)
			return -1;
	}
	addr = xstrndup(host, zone - host);
	rc = inet_pton(AF_INET6, addr, &in6) == 1 ? 0 : -1;
	free(addr);
	return rc;
}

static int
address_parse_port(const char *s, const char *url, int *port, char **error)
{
	const char	*p;
	long		 n = 0;

	for (p = s; isdigit((unsigned char)*p); p++) {
		/* Stop early: a long run of digits must not overflow. */
		if (n <= PORT_MAX)
			n = n * 10 + (*p - '0');
	}
	if (p == s) {
		*error = xprintf("bad port '%s' in '%s' (a number from 1 to "
		    "65535)", s, url);
		return -1;
	}
	if (*p != '\0') {
		*error = xprintf("unexpected '%s' after the port in '%s'", p,
		    url);
		return -1;
	}
	if (n < 1 || n > PORT_MAX) {
		*error = xprintf("port %s is out of range (1 to 65535)", s);
		return -1;
	}
	*port = (int)n;
	return 0;
}

void
address_clear(struct address *a)
{
	free(a->host);
	free(a->path);
	free(a->url);
	memset(a, 0, sizeof(*a));
}

void
address_copy(struct address *dst, const struct address *src)
{
	dst->kind = src->kind;
	dst->port = src->port;
	dst->host = src->host != NULL ? xstrdup(src->host) : NULL;
	dst->path = src->path != NULL ? xstrdup(src->path) : NULL;
	dst->url = src->url != NULL ? xstrdup(src->url) : NULL;
}

static int
address_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
address_equal(const struct address *a, const struct address *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == ADDRESS_UNIX)
		return address_streq(a->path, b->path);
	return a->port == b->port && address_streq(a->host, b->host);
}

int
address_resolve(const struct address *a, struct sockaddr_storage *ss,
    socklen_t *len, char **error)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_un	*sun;
	char			 port[16];
	int			 rc;

	memset(ss, 0, sizeof(*ss));
	if (a->kind == ADDRESS_UNIX) {
		sun = (struct sockaddr_un *)ss;
		if (strlen(a->path) >= sizeof(sun->sun_path)) {
			*error = xprintf("%s: path too long", a->url);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, a->path, strlen(a->path) + 1);
		*len = offsetof(struct sockaddr_un, sun_path) +
		    strlen(a->path) + 1;
		return 0;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = a->kind == ADDRESS_TCP ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", a->port);
	if ((rc = getaddrinfo(a->host, port, &hints, &res)) != 0) {
		if (rc == EAI_SYSTEM)
			*error = xprintf("cannot resolve '%s': %s", a->host,
			    strerror(errno));
		else
			*error = xprintf("cannot resolve '%s': %s", a->host,
			    gai_strerror(rc));
		return -1;
	}
	if (res == NULL || res->ai_addrlen > sizeof(*ss)) {
		*error = xprintf("cannot resolve '%s': no usable address",
		    a->host);
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

char *
address_server_starter(const struct address *a)
{
	if (a->kind == ADDRESS_UNIX)
		return xstrdup(a->path);
	if (strchr(a->host, ':') != NULL)
		return xprintf("[%s]:%d", a->host, a->port);
	return xprintf("%s:%d", a->host, a->port);
}
