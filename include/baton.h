/*
 * baton's worker protocol.
 *
 * A worker of baton finds its listening sockets at descriptors 3, 4, ...
 * in configuration order (LISTEN_FDS, LISTEN_FDNAMES), and its channel to
 * baton right after them (BATON_FD). The channel is an AF_UNIX
 * SOCK_SEQPACKET socket: one message is one packet of text, newline-
 * separated KEY=VALUE assignments, the same form as an sd_notify(3)
 * datagram. A worker may write "READY=1" there instead of sending it to
 * NOTIFY_SOCKET, for languages without unix datagram sockets.
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

#endif
