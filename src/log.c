#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level	 log_min = LOG_LEVEL_INFO;
static int		 log_journal;
static log_tap_fn	 log_tap;
static void		*log_tap_arg;
static int		 log_in_tap;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void
log_init(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return;
	if (fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev ==
	    dev && (unsigned long long)st.st_ino == ino)
		log_journal = 1;
}

void
log_set_tap(log_tap_fn fn, void *arg)
{
	log_tap = fn;
	log_tap_arg = arg;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

int
log_parse_level(const char *s, enum log_level *level)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
log_vwrite(enum log_level level, const char *who, const char *fmt, va_list ap)
{
	static const char	 prio[] = { '7', '6', '4', '3' };
	struct timeval		 tv;
	struct tm		 tm;
	char			 stamp[64], msg[1900], line[2048];
	int			 n;

	if (level < log_min)
		return;
	n = snprintf(msg, sizeof(msg), "%s", who != NULL ? who : "");
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%c>%s: %s\n", prio[level],
		    log_names[level], msg);
	else {
		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ld baton[%ld] %s: %s\n",
		    stamp, (long)tv.tv_usec / 1000, (long)getpid(),
		    log_names[level], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line so that lines from several processes never mix. */
	(void)write(STDERR_FILENO, line, n);
	if (log_tap != NULL && !log_in_tap) {
		log_in_tap = 1;
		log_tap(level, msg, log_tap_arg);
		log_in_tap = 0;
	}
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
}

int
log_limit_allow(struct log_limit *l)
{
	struct timespec	 ts;
	long long	 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec;
	if (now != l->second) {
		if (l->dropped > 0)
			log_warn("%s: %d more not logged in the last second",
			    l->what, l->dropped);
		l->second = now;
		l->count = 0;
		l->dropped = 0;
	}
	if (l->count++ < LOG_LIMIT_BURST)
		return 1;
	l->dropped++;
	return 0;
}

void
log_worker(enum log_level level, int generation, int slot, pid_t pid,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 who[96];

	if (pid > 0)
		snprintf(who, sizeof(who), "gen %d worker %d pid %ld: ",
		    generation, slot, (long)pid);
	else
		snprintf(who, sizeof(who), "gen %d worker %d: ",
		    generation, slot);
	va_start(ap, fmt);
	log_vwrite(level, who, fmt, ap);
	va_end(ap);
}

void
fatal(int code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(code);
}
