/*
 * baton's worker protocol, and libbaton, the client library that speaks it.
 *
 * A worker of baton finds its listening sockets at descriptors 3, 4, ...
 * in configuration order (LISTEN_FDS, LISTEN_FDNAMES), and its channel to
 * baton right after them (BATON_FD). The channel is an AF_UNIX
 * SOCK_SEQPACKET socket: one message is one packet of text, newline-
 * separated KEY=VALUE assignments, the same form as an sd_notify(3)
 * datagram. A worker may write "READY=1" there instead of sending it to
 * NOTIFY_SOCKET, for languages without unix datagram sockets.
 *
 * Worker to baton: READY=1, STATUS=..., STOPPING=1; SOCKET=NAME (baton
 * answers SOCKET=NAME with the socket attached, or ERROR=...); LISTENING=1
 * (the preload interposer saw listen() on a held socket); IDLE=1 (the
 * answer to DRAIN=1: nothing accepted is open any more).
 * Baton to worker: the answers above, and DRAIN=1 (stop accepting, then
 * say IDLE=1), sent only to a worker that said LISTENING=1; with
 * IDLE_WAIT_MS=N in the same message, say IDLE=1 after N ms at the
 * latest, even with connections still open (keep-alive clients may never
 * leave on their own).
 *
 * libbaton (-lbaton, pkg-config baton) wraps this for C servers; see
 * libbaton(3). Every function is safe to call from any thread, returns -1
 * with errno set on error, and none of them keeps or changes the
 * environment.
 */
#ifndef BATON_H
#define BATON_H

#define BATON_ENV_FD		"BATON_FD"
#define BATON_ENV_GENERATION	"BATON_GENERATION"
#define BATON_ENV_WORKER	"BATON_WORKER"
#define BATON_ENV_PID		"BATON_PID"

/* The largest message baton reads from a channel or the notify socket. */
#define BATON_MSG_MAX		4096
/* The most descriptors one channel message carries. */
#define BATON_FDS_MAX		253

/* The first passed socket, as in sd_listen_fds(3). */
#define BATON_LISTEN_FDS_START	3
/* How long baton_socket() waits for baton's answer. */
#define BATON_SOCKET_TIMEOUT_MS	5000

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define BATON_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#else
#define BATON_PRINTF(f, a)
#endif

/*
 * The number of sockets passed to this process: LISTEN_FDS when LISTEN_PID
 * is our pid, so a child that inherited the environment sees 0. Returns
 * 0 when not run by baton or systemd, or -1 with errno EINVAL when
 * LISTEN_FDS or LISTEN_PID is not a number.
 */
int	baton_listen_fds(void);

/*
 * The descriptor (3, 4, ...) of the passed socket named name in
 * LISTEN_FDNAMES. Returns it, or -1 with errno ENOENT when no passed
 * socket has that name (or none was passed), EINVAL when name is NULL
 * or LISTEN_FDS is malformed.
 */
int	baton_listen_fd(const char *name);

/*
 * The channel to baton (BATON_FD). Returns the descriptor, or -1 with
 * errno ENOTCONN when BATON_FD is unset, EINVAL when it is not a number,
 * EBADF when it names no open SOCK_SEQPACKET socket.
 */
int	baton_channel(void);

/*
 * Send one message of KEY=VALUE lines, like sd_notify(3): on the channel
 * when there is one, else as a datagram to NOTIFY_SOCKET. Returns 1 when
 * sent, 0 when there is neither (not supervised: nothing to do), -1 with
 * errno on failure (EMSGSIZE: longer than BATON_MSG_MAX).
 */
int	baton_notify(const char *msg);

/* baton_notify("READY=1"): same returns. */
int	baton_ready(void);

/*
 * baton_notify("STATUS=..."), the text formatted by fmt, with newlines
 * turned into spaces so that it stays one value: same returns.
 */
int	baton_status(const char *fmt, ...) BATON_PRINTF(1, 2);

/*
 * Ask baton over the channel for its socket named name (as in
 * [socket:NAME]) and wait up to BATON_SOCKET_TIMEOUT_MS for it. Returns a
 * new descriptor for that listening socket (close-on-exec; a duplicate of
 * the one baton holds, so its file status flags such as O_NONBLOCK are
 * shared with every process that holds it), or -1 with errno: ENOENT
 * (baton has no such socket), ENOTCONN (no channel), EINVAL (an empty
 * name, or one with a newline), ETIMEDOUT (no answer), ECONNRESET (baton
 * closed the channel), EPROTO (an answer without its descriptor). Calls are serialized: one request is in flight at
 * a time. Call it from the worker itself: whichever process reads the
 * channel first gets the answer.
 */
int	baton_socket(const char *name);

/*
 * 1 once the library has read DRAIN=1 from the channel (baton_socket()
 * reads every message that arrives while it waits), else 0. A server
 * that sent LISTENING=1 itself should then stop accepting and send
 * IDLE=1 with baton_notify() once its connections are closed.
 */
int	baton_drain_requested(void);

/*
 * This worker's generation (1, 2, ...) and slot (0, 1, ...), from
 * BATON_GENERATION and BATON_WORKER. Return it, or -1 with errno ENOTCONN
 * when unset, EINVAL when not a number.
 */
int	baton_generation(void);
int	baton_worker(void);

#ifdef BATON_PRIVATE
/*
 * Between libbaton.c and preload.c only; not exported from either
 * library. baton_use_channel_fd: from now on use fd (the interposer's own
 * duplicate of BATON_FD, safe from an application that closes descriptors
 * it does not know). baton_reader_start: start a thread that owns every
 * read of the channel: it hands answers to baton_socket() and calls
 * drain() on DRAIN=1; before each wait it calls tick(), which returns how
 * long to wait at most (ms, -1 for ever). drain() gets the message's
 * IDLE_WAIT_MS, or -1. Returns 0, or -1 with errno.
 */
void	baton_use_channel_fd(int fd)
	    __attribute__((visibility("hidden")));
int	baton_reader_start(void (*drain)(int), int (*tick)(void))
	    __attribute__((visibility("hidden")));
#endif

#ifdef __cplusplus
}
#endif

#endif
