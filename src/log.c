#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level	 log_min = LOG_LEVEL_INFO;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

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
	struct timeval	 tv;
	struct tm	 tm;
	char		 stamp[64], line[2048];
	int		 n;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ld baton[%ld] %s: %s",
	    stamp, (long)tv.tv_usec / 1000, (long)getpid(), log_names[level],
	    who != NULL ? who : "");
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so that lines from several processes never mix. */
	(void)write(STDERR_FILENO, line, n);
}

#define LOG_FUNC(name, level)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list	 ap;					\
							\
	va_start(ap, fmt);				\
	log_vwrite(level, NULL, fmt, ap);		\
	va_end(ap);					\
}

LOG_FUNC(log_debug, LOG_LEVEL_DEBUG)
LOG_FUNC(log_info, LOG_LEVEL_INFO)
LOG_FUNC(log_warn, LOG_LEVEL_WARN)
LOG_FUNC(log_error, LOG_LEVEL_ERROR)

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
