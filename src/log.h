/*
 * One line per event on stderr: time, level, who it is about, message.
 * Callers log once, where the context is known; helpers return -1 instead.
 */
#ifndef BATON_LOG_H
#define BATON_LOG_H

#include <sys/types.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR
};

/*
 * Under journald (JOURNAL_STREAM names our stderr) lines carry a <N>
 * priority prefix and no time stamp of their own.
 */
void	log_init(void);
/*
 * baton's own lines never block it: a stderr that cannot take a line now
 * (a pipe nobody reads) gets it later, from a queue of 64 KiB; lines that
 * do not fit are counted and the count is logged once stderr drains. With
 * a base, the queue is flushed as soon as stderr becomes writable, not
 * only at the next line. NULL: stop watching (before the base is freed).
 */
struct event_base;
void	log_set_base(struct event_base *);
void	log_set_level(enum log_level);
/*
 * Every line logged is also given, without time stamp, to fn: the control
 * socket streams a reload's progress this way. NULL removes it.
 */
typedef void	(*log_tap_fn)(enum log_level, const char *line, void *arg);
void	log_set_tap(log_tap_fn fn, void *arg);
int	log_parse_level(const char *, enum log_level *);
void	log_at(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
#define log_debug(...)	log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)	log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)	log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...)	log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
/* A worker event: "gen 3 worker 1 pid 4242: message". */
void	log_worker(enum log_level, int, int, pid_t, const char *, ...)
	    __attribute__((format(printf, 5, 6)));
/*
 * For events a peer can cause at will (junk datagrams): at most
 * LOG_LIMIT_BURST lines a second; the rest are counted and reported in
 * one line when the next second allows again.
 */
#define LOG_LIMIT_BURST	10
struct log_limit {
	const char	*what;		/* "notify socket: datagrams" */
	long long	 second;
	int		 count;
	int		 dropped;
};
int	log_limit_allow(struct log_limit *);

/* libevent's own complaints, as baton's lines (event_set_log_callback). */
void	log_libevent(int severity, const char *msg);

/* A broken invariant or a failure at start-up: log and exit(code). */
void	fatal(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
