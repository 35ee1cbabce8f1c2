/*
 * The channel between baton and one worker: an AF_UNIX SOCK_SEQPACKET
 * socketpair. Packets keep their boundaries, so one send is one message;
 * descriptors cross it with SCM_RIGHTS. Messages are text in the
 * sd_notify(3) form (see include/baton.h); channel_parse() also reads the
 * notify socket's datagrams, so both sources are checked by one parser.
 */
#ifndef BATON_CHANNEL_H
#define BATON_CHANNEL_H

#include <stddef.h>
#include <sys/types.h>

#define CHANNEL_STATUS_MAX	256
#define CHANNEL_TEXT_MAX	512
#define CHANNEL_NAME_MAX	256

/* What baton understands of one message; unknown keys are ignored. */
struct channel_msg {
	int	ready;				/* READY=1 */
	int	listening;			/* LISTENING=1 */
	int	idle;				/* IDLE=1, after DRAIN=1 */
	int	has_socket;
	char	socket[CHANNEL_NAME_MAX];	/* SOCKET=name: a request */
	int	has_status;
	char	status[CHANNEL_STATUS_MAX];	/* STATUS=... */
	int	has_error;
	char	error[CHANNEL_TEXT_MAX];	/* ERROR=..., before exec */
	int	trap;				/* TRAP=1: the bind() trap's
						   listener is attached */
	int	has_trap_error;
	char	trap_error[CHANNEL_TEXT_MAX];	/* TRAP=why not, before exec */
};

/*
 * A close-on-exec socketpair: fds[0] for baton (non-blocking, passing
 * credentials so that an empty record is not taken for end of file),
 * fds[1] for the worker. Returns 0, or -1 with errno set.
 */
int	 channel_pair(int fds[2]);
/*
 * Send one message with nfds descriptors attached. Returns 0, or -1 with
 * errno set (EMSGSIZE for too many descriptors or too long a message).
 */
int	 channel_send(int fd, const void *msg, size_t len, const int *fds,
	    size_t nfds);
/*
 * Receive one message into buf (len bytes at most) and up to *nfds
 * descriptors into fds, close-on-exec. On return *nfds is the number
 * received. A message or descriptor list that was truncated is refused:
 * every descriptor that came with it is closed and errno is EMSGSIZE.
 * An empty record is not end of file: it is refused the same way, with
 * errno ENOMSG; read on. Returns the length (0 only at end of file: the
 * peer hung up and nothing is left to read), or -1 with errno set.
 * (recvmsg() returns 0 for both; on fds[0] of channel_pair() they are told
 * apart for sure, on another socket only while the peer has not hung up.)
 */
ssize_t	 channel_recv(int fd, void *buf, size_t len, int *fds, size_t *nfds);
/*
 * A socket set larger than one message carries (BATON_FDS_MAX, the
 * kernel's SCM_MAX_FD): nfds descriptors in order, in as few messages as
 * hold them, each the text msg with at most BATON_FDS_MAX attached; one
 * message with none when nfds is 0. Returns 0, or -1 with errno set; on
 * a failure after the first message the receiver gets a short sequence.
 */
int	 channel_send_set(int fd, const char *msg, size_t len, const int *fds,
	    size_t nfds);
/*
 * Receive what channel_send_set() sent: exactly nfds descriptors into
 * fds, close-on-exec, every message but the last with BATON_FDS_MAX
 * attached. A short or malformed sequence (end of file, a message with
 * another count) is refused: every descriptor received so far is closed
 * and errno is EPIPE or EBADMSG. Blocks on a blocking socket. Returns 0,
 * or -1 with errno set.
 */
int	 channel_recv_set(int fd, int *fds, size_t nfds);
/*
 * Parse one message. Returns 0, or -1 if it is not text of KEY=VALUE
 * lines (a NUL byte, a line without '=', an empty key); the caller logs
 * and drops it.
 */
int	 channel_parse(const void *buf, size_t len, struct channel_msg *msg);

#endif
