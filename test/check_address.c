/*
 * address.c: what users write after listen = and --listen NAME=.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "address.h"

static const struct {
	const char		*in;
	enum address_kind	 kind;
	const char		*host;
	int			 port;
	const char		*path;
	const char		*url;		/* canonical */
	const char		*starter;	/* Server::Starter's form */
} good[] = {
	{ "tcp://127.0.0.1:8080", ADDRESS_TCP, "127.0.0.1", 8080, NULL,
	    "tcp://127.0.0.1:8080", "127.0.0.1:8080" },
	{ "tcp://0.0.0.0:1", ADDRESS_TCP, "0.0.0.0", 1, NULL,
	    "tcp://0.0.0.0:1", "0.0.0.0:1" },
	{ "tcp://[::1]:80", ADDRESS_TCP, "::1", 80, NULL,
	    "tcp://[::1]:80", "[::1]:80" },
	{ "tcp://[::]:65535", ADDRESS_TCP, "::", 65535, NULL,
	    "tcp://[::]:65535", "[::]:65535" },
	{ "tcp://[fe80::1%eth0]:80", ADDRESS_TCP, "fe80::1%eth0", 80, NULL,
	    "tcp://[fe80::1%eth0]:80", "[fe80::1%eth0]:80" },
	{ "tcp://localhost:3000", ADDRESS_TCP, "localhost", 3000, NULL,
	    "tcp://localhost:3000", "localhost:3000" },
	{ "tcp://my-host.example.com:443", ADDRESS_TCP,
	    "my-host.example.com", 443, NULL,
	    "tcp://my-host.example.com:443", "my-host.example.com:443" },
	{ "TCP://127.0.0.1:0080", ADDRESS_TCP, "127.0.0.1", 80, NULL,
	    "tcp://127.0.0.1:80", "127.0.0.1:80" },
	{ "udp://127.0.0.1:53", ADDRESS_UDP, "127.0.0.1", 53, NULL,
	    "udp://127.0.0.1:53", "127.0.0.1:53" },
	{ "udp://[2001:db8::5]:5353", ADDRESS_UDP, "2001:db8::5", 5353, NULL,
	    "udp://[2001:db8::5]:5353", "[2001:db8::5]:5353" },
	{ "unix:///run/app.sock", ADDRESS_UNIX, NULL, 0, "/run/app.sock",
	    "unix:///run/app.sock", "/run/app.sock" },
	{ "unix:///tmp/a b:c", ADDRESS_UNIX, NULL, 0, "/tmp/a b:c",
	    "unix:///tmp/a b:c", "/tmp/a b:c" },
};

static const struct {
	const char	*in;
	const char	*error;
} bad[] = {
	{ "http://127.0.0.1:80",
	    "unknown scheme 'http' (use tcp://, udp:// or unix://)" },
	{ "sctp://[::1]:80",
	    "unknown scheme 'sctp' (use tcp://, udp:// or unix://)" },
	{ "127.0.0.1:80",
	    "'127.0.0.1:80' has no scheme (use tcp://, udp:// or unix://)" },
	{ "", "empty address (use tcp://, udp:// or unix://)" },
	{ "tcp://127.0.0.1",
	    "missing port in 'tcp://127.0.0.1' (tcp://HOST:PORT)" },
	{ "tcp://127.0.0.1:",
	    "missing port in 'tcp://127.0.0.1:' (tcp://HOST:PORT)" },
	{ "udp://[::1]",
	    "missing port in 'udp://[::1]' (udp://HOST:PORT)" },
	{ "tcp://127.0.0.1:http",
	    "bad port 'http' in 'tcp://127.0.0.1:http' (a number from 1 to "
	    "65535)" },
	{ "tcp://127.0.0.1:-1",
	    "bad port '-1' in 'tcp://127.0.0.1:-1' (a number from 1 to "
	    "65535)" },
	{ "tcp://127.0.0.1:0", "port 0 is out of range (1 to 65535)" },
	{ "tcp://127.0.0.1:65536", "port 65536 is out of range (1 to 65535)" },
	{ "tcp://127.0.0.1:70000", "port 70000 is out of range (1 to 65535)" },
	{ "tcp://127.0.0.1:99999999999999999999",
	    "port 99999999999999999999 is out of range (1 to 65535)" },
	{ "tcp://127.0.0.1:80/x",
	    "unexpected '/x' after the port in 'tcp://127.0.0.1:80/x'" },
	{ "tcp://127.0.0.1:80 ",
	    "unexpected ' ' after the port in 'tcp://127.0.0.1:80 '" },
	{ "tcp://[::1]:80x",
	    "unexpected 'x' after the port in 'tcp://[::1]:80x'" },
	{ "tcp://[::1]x:80",
	    "unexpected 'x:80' after ']' in 'tcp://[::1]x:80'" },
	{ "tcp://::1:80",
	    "IPv6 address in 'tcp://::1:80' needs brackets (tcp://[V6]:PORT)" },
	{ "udp://fe80::1:53",
	    "IPv6 address in 'udp://fe80::1:53' needs brackets "
	    "(udp://[V6]:PORT)" },
	{ "tcp://[::1:80", "missing ']' in 'tcp://[::1:80'" },
	{ "tcp://[1.2.3.4]:80", "bad IPv6 address '1.2.3.4' in "
	    "'tcp://[1.2.3.4]:80'" },
	{ "tcp://[::g]:80", "bad IPv6 address '::g' in 'tcp://[::g]:80'" },
	{ "tcp://[fe80::1%]:80",
	    "bad IPv6 address 'fe80::1%' in 'tcp://[fe80::1%]:80'" },
	{ "tcp://:80",
	    "empty host in 'tcp://:80' (use 0.0.0.0 or [::] for every "
	    "address)" },
	{ "tcp://[]:80",
	    "empty host in 'tcp://[]:80' (use 0.0.0.0 or [::] for every "
	    "address)" },
	{ "tcp://1.2.3.999:80", "bad IPv4 address '1.2.3.999' in "
	    "'tcp://1.2.3.999:80'" },
	{ "tcp://1.2.3:80", "bad IPv4 address '1.2.3' in 'tcp://1.2.3:80'" },
	{ "tcp://my_host:80", "bad host name 'my_host' in 'tcp://my_host:80' "
	    "(use letters, digits, '-' and '.')" },
	{ "tcp://*:80", "bad host name '*' in 'tcp://*:80' "
	    "(use letters, digits, '-' and '.')" },
	{ "tcp://a..b:80", "bad host name 'a..b' in 'tcp://a..b:80'" },
	{ "tcp://host/x", "bad host name 'host/x' in 'tcp://host/x' "
	    "(use letters, digits, '-' and '.')" },
	{ "unix://", "empty unix socket path in 'unix://' (unix:///PATH)" },
	{ "unix://run/app.sock",
	    "unix socket path 'run/app.sock' is not absolute (unix:///PATH)" },
	{ "unix://./app.sock",
	    "unix socket path './app.sock' is not absolute (unix:///PATH)" },
};

START_TEST(test_good)
{
	struct address	 a;
	char		*error = NULL, *s;

	ck_assert_msg(address_parse(good[_i].in, &a, &error) == 0,
	    "%s: %s", good[_i].in, error);
	ck_assert_int_eq(a.kind, good[_i].kind);
	ck_assert_pstr_eq(a.host, good[_i].host);
	ck_assert_int_eq(a.port, good[_i].port);
	ck_assert_pstr_eq(a.path, good[_i].path);
	ck_assert_str_eq(a.url, good[_i].url);
	s = address_server_starter(&a);
	ck_assert_str_eq(s, good[_i].starter);
	free(s);
	address_clear(&a);
	ck_assert_ptr_null(a.url);
}
END_TEST

START_TEST(test_bad)
{
	struct address	 a;
	char		*error = NULL;

	ck_assert_msg(address_parse(bad[_i].in, &a, &error) == -1,
	    "'%s' was accepted", bad[_i].in);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, bad[_i].error);
	ck_assert_ptr_null(a.host);
	ck_assert_ptr_null(a.url);
	free(error);
}
END_TEST

/* The canonical form parses back to itself. */
START_TEST(test_canonical)
{
	struct address	 a, b;
	char		*error = NULL;

	ck_assert_int_eq(address_parse(good[_i].in, &a, &error), 0);
	ck_assert_int_eq(address_parse(a.url, &b, &error), 0);
	ck_assert(address_equal(&a, &b));
	ck_assert_str_eq(a.url, b.url);
	address_clear(&a);
	address_clear(&b);
}
END_TEST

/* sun_path has 108 bytes: a path of 107 and its NUL fit, 108 do not. */
START_TEST(test_unix_length)
{
	struct address	 a;
	char		 url[256], *error = NULL;

	memset(url, 0, sizeof(url));
	memcpy(url, "unix:///", 8);
	memset(url + 8, 'a', 106);
	ck_assert_int_eq(strlen(url + 7), 107);
	ck_assert_msg(address_parse(url, &a, &error) == 0, "%s", error);
	ck_assert_str_eq(a.path, url + 7);
	address_clear(&a);

	url[8 + 106] = 'a';
	ck_assert_int_eq(strlen(url + 7), 108);
	ck_assert_int_eq(address_parse(url, &a, &error), -1);
	ck_assert_str_eq(error, "unix socket path is 108 bytes long, more "
	    "than the 107 a socket address holds");
	free(error);
}
END_TEST

START_TEST(test_equal_copy)
{
	struct address	 a, b, c, d;
	char		*error = NULL;

	ck_assert_int_eq(address_parse("tcp://127.0.0.1:80", &a, &error), 0);
	ck_assert_int_eq(address_parse("TCP://127.0.0.1:080", &b, &error), 0);
	ck_assert(address_equal(&a, &b));
	address_clear(&b);

	/* Same host and port, other kind or port or spelling. */
	ck_assert_int_eq(address_parse("udp://127.0.0.1:80", &b, &error), 0);
	ck_assert(!address_equal(&a, &b));
	address_clear(&b);
	ck_assert_int_eq(address_parse("tcp://127.0.0.1:81", &b, &error), 0);
	ck_assert(!address_equal(&a, &b));
	address_clear(&b);
	ck_assert_int_eq(address_parse("tcp://localhost:80", &b, &error), 0);
	ck_assert(!address_equal(&a, &b));

	address_copy(&c, &b);
	ck_assert(address_equal(&b, &c));
	ck_assert_str_eq(c.url, b.url);
	ck_assert_ptr_ne(c.url, b.url);
	ck_assert_ptr_ne(c.host, b.host);
	address_clear(&b);
	ck_assert_str_eq(c.host, "localhost");
	address_clear(&c);

	ck_assert_int_eq(address_parse("unix:///run/a.sock", &b, &error), 0);
	ck_assert_int_eq(address_parse("unix:///run/b.sock", &c, &error), 0);
	ck_assert(!address_equal(&b, &c));
	ck_assert(!address_equal(&a, &b));
	address_copy(&d, &b);
	ck_assert(address_equal(&b, &d));
	ck_assert_str_eq(d.path, "/run/a.sock");
	ck_assert_ptr_ne(d.path, b.path);
	address_clear(&a);
	address_clear(&b);
	address_clear(&c);
	address_clear(&d);
}
END_TEST

/* Parse and resolve url, which must work, into *ss and *len. */
static void
resolve(const char *url, struct sockaddr_storage *ss, socklen_t *len)
{
	struct address	 a;
	char		*error = NULL;

	ck_assert_msg(address_parse(url, &a, &error) == 0, "%s: %s", url,
	    error);
	ck_assert_msg(address_resolve(&a, ss, len, &error) == 0, "%s: %s",
	    url, error);
	address_clear(&a);
}

/* Numeric addresses resolve to themselves, of their family. */
static const struct {
	const char	*url;
	int		 family;
	const char	*host;		/* as inet_ntop() writes it */
	int		 port;
} numeric[] = {
	{ "tcp://127.0.0.1:8080", AF_INET, "127.0.0.1", 8080 },
	{ "udp://0.0.0.0:53", AF_INET, "0.0.0.0", 53 },
	{ "tcp://[::1]:443", AF_INET6, "::1", 443 },
};

START_TEST(test_resolve_numeric)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	char			 host[INET6_ADDRSTRLEN] = "";
	int			 port = -1;

	resolve(numeric[_i].url, &ss, &len);
	ck_assert_msg(ss.ss_family == numeric[_i].family, "%s: family %d",
	    numeric[_i].url, ss.ss_family);
	if (ss.ss_family == AF_INET) {
		ck_assert_int_eq(len, sizeof(struct sockaddr_in));
		port = ntohs(sin->sin_port);
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
	} else {
		ck_assert_int_eq(len, sizeof(struct sockaddr_in6));
		port = ntohs(sin6->sin6_port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
	}
	ck_assert_msg(port == numeric[_i].port, "%s: port %d",
	    numeric[_i].url, port);
	ck_assert_str_eq(host, numeric[_i].host);
}
END_TEST

START_TEST(test_resolve_name)
{
	struct address		 a;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			*error = NULL;

	resolve("tcp://localhost:3000", &ss, &len);
	ck_assert(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	if (ss.ss_family == AF_INET)
		ck_assert_int_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port),
		    3000);
	else
		ck_assert_int_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port),
		    3000);

	/* .invalid never resolves (RFC 6761). */
	ck_assert_int_eq(address_parse("tcp://nosuch.invalid:80", &a, &error),
	    0);
	ck_assert_int_eq(address_resolve(&a, &ss, &len, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "cannot resolve 'nosuch.invalid'"));
	free(error);
	address_clear(&a);
}
END_TEST

START_TEST(test_resolve_unix)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		 len;

	resolve("unix:///run/app.sock", &ss, &len);
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/run/app.sock");
	ck_assert_int_eq(len, offsetof(struct sockaddr_un, sun_path) +
	    strlen("/run/app.sock") + 1);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("address");
	const TTest	*parse[] = { test_unix_length, test_equal_copy, NULL };
	const TTest	*resolves[] = { test_resolve_name, test_resolve_unix,
		NULL };
	TCase		*tc;

	tc = check_case(s, "parse", parse);
	tcase_add_loop_test(tc, test_good, 0, CHECK_NITEMS(good));
	tcase_add_loop_test(tc, test_bad, 0, CHECK_NITEMS(bad));
	tcase_add_loop_test(tc, test_canonical, 0, CHECK_NITEMS(good));
	tc = check_case(s, "resolve", resolves);
	tcase_add_loop_test(tc, test_resolve_numeric, 0, CHECK_NITEMS(numeric));
	return check_run(s);
}
