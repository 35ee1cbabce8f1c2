/*
 * Signal names. The table lists each signal once under the name printed,
 * then the other names that are accepted for the same signals.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signame.h"

static const struct {
	int		 sig;
	const char	*name;
} signals[] = {
	{ SIGHUP,	"SIGHUP" },
	{ SIGINT,	"SIGINT" },
	{ SIGQUIT,	"SIGQUIT" },
	{ SIGILL,	"SIGILL" },
	{ SIGTRAP,	"SIGTRAP" },
	{ SIGABRT,	"SIGABRT" },
	{ SIGBUS,	"SIGBUS" },
	{ SIGFPE,	"SIGFPE" },
	{ SIGKILL,	"SIGKILL" },
	{ SIGUSR1,	"SIGUSR1" },
	{ SIGSEGV,	"SIGSEGV" },
	{ SIGUSR2,	"SIGUSR2" },
	{ SIGPIPE,	"SIGPIPE" },
	{ SIGALRM,	"SIGALRM" },
	{ SIGTERM,	"SIGTERM" },
#ifdef SIGSTKFLT
	{ SIGSTKFLT,	"SIGSTKFLT" },
#endif
	{ SIGCHLD,	"SIGCHLD" },
	{ SIGCONT,	"SIGCONT" },
	{ SIGSTOP,	"SIGSTOP" },
	{ SIGTSTP,	"SIGTSTP" },
	{ SIGTTIN,	"SIGTTIN" },
	{ SIGTTOU,	"SIGTTOU" },
	{ SIGURG,	"SIGURG" },
	{ SIGXCPU,	"SIGXCPU" },
	{ SIGXFSZ,	"SIGXFSZ" },
	{ SIGVTALRM,	"SIGVTALRM" },
	{ SIGPROF,	"SIGPROF" },
	{ SIGWINCH,	"SIGWINCH" },
	{ SIGIO,	"SIGIO" },
#ifdef SIGPWR
	{ SIGPWR,	"SIGPWR" },
#endif
	{ SIGSYS,	"SIGSYS" },
	/* Other names for the same signals: accepted, never printed. */
#ifdef SIGIOT
	{ SIGIOT,	"SIGIOT" },
#endif
#ifdef SIGPOLL
	{ SIGPOLL,	"SIGPOLL" },
#endif
#ifdef SIGCLD
	{ SIGCLD,	"SIGCLD" },
#endif
};

int
signame_parse(const char *s, int *sig)
{
	size_t		 i;
	long		 n;

	if (isdigit((unsigned char)*s)) {
		/* Digits only; too many of them come back as LONG_MAX. */
		if (s[strspn(s, "0123456789")] != '\0')
			return -1;
		n = strtol(s, NULL, 10);
		if (n < 1 || n > SIGRTMAX)
			return -1;
		*sig = (int)n;
		return 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(s, signals[i].name + 3) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	return -1;
}

const char *
signame_name(int sig)
{
	static char	 buf[32];
	size_t		 i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (signals[i].sig == sig)
			return signals[i].name;
	}
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}
