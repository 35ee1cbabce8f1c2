/*
 * libbaton-preload.so: baton's sockets for servers that bind their own.
 *
 * Loaded with LD_PRELOAD into a worker (preload = yes), it interposes
 * bind(): when the address is one baton holds (the same address, or a
 * wildcard one on the same port), the descriptor becomes baton's socket,
 * fetched over the channel and dup3()ed onto the application's descriptor
 * number. listen() on it only reports LISTENING=1 (ready = listen).
 *
 * Draining, for servers that cannot drain themselves: on DRAIN=1 from
 * baton, every held descriptor is replaced, number and flags kept, by a
 * listening socket that nothing can reach, so the server stops accepting
 * without noticing; once the connections it accepted from held sockets
 * are all closed it says IDLE=1, and baton sends the drain signal. To
 * know that, accept(), accept4(), close(), dup2() and dup3() keep a table
 * of tracked descriptors, and epoll_ctl() remembers the registrations of
 * held ones to move them onto the replacement.
 *
 * Keep-alive connections never close by themselves, and the drain signal
 * would cut the requests on them. So the reads and writes of accepted
 * connections (read, readv, recv, recvfrom, recvmsg, their _chk forms,
 * write, writev, send, sendto, sendmsg) note where each one stands: a
 * read of data starts a request, a write after it answers. While
 * draining, the first write of each answer that holds a whole HTTP/1.x
 * header block says "Connection: close" in it (preload_mark()): the
 * client closes once it has the answer, the only close of a keep-alive
 * connection that a client which sends its next request at once never
 * sees as an error. A connection that gets no such answer within
 * MARK_GRACE_MS (an idle one, or a server that writes its head in parts)
 * is shut for reading once it is between two requests (answered, nothing
 * unread, nothing unsent), so the server reads an end of file and closes
 * it itself; see preload_shut_idle(). Without HTTP's framing this is a
 * guess: a server that answers in several writes with a pause between
 * them can be taken for idle in that pause.
 *
 * O_NONBLOCK is a flag of the open file, which baton and every worker of
 * every generation share: a server that binds a blocking socket must not
 * clear it under an event loop of the generation before, which would then
 * block in accept() after losing a race for a connection. So a held
 * socket is always non-blocking, and a descriptor whose server asked for
 * a blocking one (fcntl(), ioctl(FIONBIO), or its socket's flags at bind)
 * gets a blocking accept() emulated with poll().
 *
 * The sockets baton passed at fds 3, 4, ... are held from the start, so
 * a server given its sockets (LISTEN_FDS, SERVER_STARTER_PORT) drains as
 * one that binds; it calls no listen(), so LISTENING=1 goes when a
 * process first waits on one (accept(), epoll_ctl()).
 *
 * Every process of the worker drains, not only the worker itself: the
 * children of a prefork server inherit the held descriptors and accept on
 * them. DRAIN=1 reaches one reader only (the channel is one SEQPACKET
 * socket), the worker's, which passes it on through a page that the
 * worker maps MAP_SHARED at exec and its children inherit (struct
 * preload_shared): a futex word that each child's watcher thread waits
 * on, the deadline, and a slot per child that says when it is idle. A
 * child joins (takes a slot, starts its watcher: a forked child has only
 * the thread that forked) when it first waits for connections on a held
 * descriptor, or serves a connection; one that forks with connections
 * open counts at once. Each process swaps its own descriptors for decoys,
 * since after fork descriptor tables are per process. The worker says
 * IDLE=1 once it and every child that joined is idle or gone. A process
 * whose LISTEN_PID is not its own (an exec'ed program) or that has no
 * BATON_FD is never touched; a forked child never takes a socket at
 * bind(). The reader thread (libbaton.c) starts when the worker first
 * takes or uses a held socket, or forks while it holds one.
 *
 * Descriptors the application closes with a raw system call (libuv does)
 * escape close(): while draining, a scan every SCAN_MS finds them by
 * their inode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* fcntl and fcntl64 are both defined here: neither may alias the other. */
#undef _FILE_OFFSET_BITS
#define BATON_PRIVATE

#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/sockios.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "baton.h"
#include "clock.h"
#include "sockaddr.h"

/* glibc declares the address argument as a transparent union for GNU C. */
#if defined(__USE_GNU) && defined(__GNUC__) && !defined(__cplusplus)
#define SA_CONST(a)	((a).__sockaddr__)
#define SA(a)		((a).__sockaddr__)
#else
#define SA_CONST(a)	(a)
#define SA(a)		(a)
#endif

#define PRELOAD_SOCKETS_MAX	64	/* sockets learned at exec; config.c
					   refuses more (CONFIG_MAX_PRELOAD_SOCKETS) */
#define PRELOAD_PROCS_MAX	1024	/* forked processes a drain waits for */
#define PRELOAD_NAME_MAX	256

/* The descriptor table: FDTAB_CHUNKS chunks of FDTAB_CHUNK, made on demand. */
#define FDTAB_CHUNK		1024
#define FDTAB_CHUNKS		4096
#define FDTAB_MAX		(FDTAB_CHUNK * FDTAB_CHUNKS)
#define FD_HELD			(UINT64_C(1) << 63)	/* holds baton's socket */
#define FD_CONN			(UINT64_C(1) << 62)	/* accepted from one */
/* What the server did on a connection, kept up to date by read and write. */
#define FD_READ			(UINT64_C(1) << 61)	/* it read a request */
#define FD_ANSWERED		(UINT64_C(1) << 60)	/* it wrote since */
#define FD_CYCLE		(UINT64_C(1) << 59)	/* read after answering */
#define FD_MULTI		(UINT64_C(1) << 58)	/* answered in >1 write */
#define FD_QUIET		(UINT64_C(1) << 57)	/* idle at the last scan */
#define FD_SHUT			(UINT64_C(1) << 56)	/* the drain shut it */
#define FD_EDIT			(UINT64_C(1) << 55)	/* preload_edits has one */
/* Socket inodes are 32-bit numbers (get_next_ino()): 55 bits are ample. */
#define FD_INO			((UINT64_C(1) << 55) - 1)
#define FD_ID			(FD_HELD | FD_CONN | FD_INO)

#define SCAN_MS			100
/*
 * A read whose end of file is hidden waits this long: a blocking one
 * before it looks again, a non-blocking one before its EAGAIN, so that a
 * level-triggered loop woken by the shutdown does not spin.
 */
#define HIDDEN_EOF_MS		1
/* Where our copy of the channel goes: out of the way of numbers in use. */
#define CHANNEL_FD_MIN		256
/*
 * A thread blocked in accept() on the held socket when the drain came
 * cannot be woken without touching the socket every worker shares: after
 * this long it is taken for idle.
 */
#define ACCEPT_GRACE_MS		1000
/*
 * How long a drain waits for a connection to carry an answer that says
 * "Connection: close" before it shuts the connection between requests (at
 * most half the time baton gives). A busy client asks again within
 * microseconds; one silent for this long is taken for idle.
 */
#define MARK_GRACE_MS		1000
/* The header block of an answer is looked for in this many bytes. */
#define HEAD_MAX		8192
/* A write with an edit goes out as at most this many pieces. */
#define EDIT_IOV		64

/*
 * A socket baton passed at exec; its address and type, what bind()
 * addresses are matched with, are in preload_addrs at the same index.
 */
struct preload_sock {
	char			 name[PRELOAD_NAME_MAX];
	int			 fd;		/* where baton passed it */
};

/* A process forked from the worker that a drain waits for. */
struct preload_proc {
	_Atomic pid_t		 pid;		/* 0: a free slot */
	_Atomic pid_t		 idle;		/* == pid once it drained, idle */
};

/*
 * What every process of one worker shares: an anonymous MAP_SHARED
 * mapping made at exec, before any fork, so each forked child inherits
 * it. The channel cannot carry the drain to them: it is one SEQPACKET
 * socket, and a message on it reaches only the one process that reads it.
 */
struct preload_shared {
	_Atomic uint32_t	 drain;		/* a futex: 1 once DRAIN=1 came */
	_Atomic long long	 deadline;	/* IDLE_WAIT_MS, CLOCK_MONOTONIC */
	_Atomic long long	 shut_from;	/* see preload_shut_idle() */
	atomic_int		 listening;	/* LISTENING=1 went */
	atomic_int		 reader;	/* the worker reads the channel */
	atomic_int		 nprocs;	/* slots of procs ever used */
	struct preload_proc	 procs[PRELOAD_PROCS_MAX];
};

/*
 * What a connection's next writes must carry that the application did not
 * write: "Connection: close\r\n" inserted before the blank line of an
 * answer's head, or "close" and spaces laid over a "keep-alive" token, as
 * long. at counts the application's bytes before it in the next write.
 * Kept in preload_edits only while the kernel has taken part of it.
 */
struct preload_edit {
	struct preload_edit	*next;
	int			 fd;
	uint64_t		 id;		/* FD_ID of the connection */
	size_t			 at;
	int			 overlay;	/* stands for len application bytes */
	size_t			 len;		/* of bytes, still to send */
	char			 bytes[32];
};

/* An epoll registration of a held descriptor, moved to its replacement. */
struct preload_reg {
	int			 epfd;
	struct epoll_event	 ev;
};

/* An application descriptor that holds one of baton's sockets. */
struct preload_held {
	int			 fd;
	int			 sock;		/* index in preload_socks */
	uint64_t		 ino;		/* what fd must still be */
	int			 nonblock;	/* what the application asked */
	int			 drained;	/* replaced by a decoy */
	struct preload_reg	*regs;
	size_t			 nregs;
};

static int	(*real_bind)(int, const struct sockaddr *, socklen_t);
static int	(*real_listen)(int, int);
static int	(*real_accept)(int, struct sockaddr *, socklen_t *);
static int	(*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int	(*real_close)(int);
static int	(*real_dup)(int);
static int	(*real_dup2)(int, int);
static int	(*real_dup3)(int, int, int);
static int	(*real_epoll_ctl)(int, int, int, struct epoll_event *);
static int	(*real_setsockopt)(int, int, int, const void *, socklen_t);
static int	(*real_fcntl)(int, int, ...);
static int	(*real_fcntl64)(int, int, ...);
static int	(*real_ioctl)(int, unsigned long, ...);
static int	(*real_unlink)(const char *);
static int	(*real_unlinkat)(int, const char *, int);

/*
 * What a program built with _FORTIFY_SOURCE calls instead of read(),
 * recv() and recvfrom(); glibc declares them only for such programs.
 */
ssize_t	__read_chk(int, void *, size_t, size_t);
ssize_t	__recv_chk(int, void *, size_t, size_t, int);
ssize_t	__recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *,
	    socklen_t *);

/*
 * The reads and writes of connections, resolved apart (preload_io_once):
 * preload_setup() itself may write, and must not wait on itself.
 */
static ssize_t	(*real_read)(int, void *, size_t);
static ssize_t	(*real_readv)(int, const struct iovec *, int);
static ssize_t	(*real_recv)(int, void *, size_t, int);
static ssize_t	(*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
		    socklen_t *);
static ssize_t	(*real_recvmsg)(int, struct msghdr *, int);
static ssize_t	(*real_read_chk)(int, void *, size_t, size_t);
static ssize_t	(*real_recv_chk)(int, void *, size_t, size_t, int);
static ssize_t	(*real_recvfrom_chk)(int, void *, size_t, size_t, int,
		    struct sockaddr *, socklen_t *);
static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static ssize_t	(*real_send)(int, const void *, size_t, int);
static ssize_t	(*real_sendto)(int, const void *, size_t, int,
		    const struct sockaddr *, socklen_t);
static ssize_t	(*real_sendmsg)(int, const struct msghdr *, int);

enum preload_mode {
	PRELOAD_OFF,		/* not baton's worker: pass everything through */
	PRELOAD_WORKER,		/* the worker: take, track, drain, report */
	PRELOAD_CHILD,		/* forked from it: track and drain what it has */
};

static pthread_once_t		 preload_once = PTHREAD_ONCE_INIT;
static pthread_once_t		 preload_io_once = PTHREAD_ONCE_INIT;
/* Set once by preload_setup(); PRELOAD_CHILD in a forked child. */
static atomic_int		 preload_mode;
static struct preload_sock	 preload_socks[PRELOAD_SOCKETS_MAX];
static struct sockaddr_held	 preload_addrs[PRELOAD_SOCKETS_MAX];
static int			 preload_nsocks;
static int			 preload_has_unix;
/* Shared with the worker's forked children; a private copy if mmap fails. */
static struct preload_shared	 preload_private;
static struct preload_shared	*preload_shared = &preload_private;
/* A child's slot in preload_shared->procs (-1: none), and its watcher. */
static int			 preload_slot = -1;
static atomic_int		 preload_watching;

/* preload_lock guards everything below it, and writes to preload_fdtab. */
static pthread_mutex_t		 preload_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(_Atomic uint64_t *) preload_fdtab[FDTAB_CHUNKS];
static int			 preload_fdtab_end;	/* past the last used */
static struct preload_held	*preload_held;
static size_t			 preload_nheld;
static long			 preload_nconn;		/* accepted, open */
static int			 preload_accepting;	/* threads in accept() */
static int			 preload_draining;
/* Close keep-alive connections between requests: read without the lock. */
static atomic_int		 preload_closing;
static int			 preload_idle_sent;
static long long		 preload_drain_start;
static struct preload_edit	*preload_edits;

static void __attribute__((format(printf, 1, 2)))
preload_log(const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 n;

	n = snprintf(buf, sizeof(buf), "baton-preload: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write, so that lines of several processes never interleave. */
	if (write(STDERR_FILENO, buf, n) == -1)
		return;
}

static uint64_t
preload_ino(int fd)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		return 0;
	return (uint64_t)st.st_ino & FD_INO;
}

/* Where the entry of fd is, lock-free; NULL if none was ever made. */
static _Atomic uint64_t *
fdtab_slot(int fd)
{
	_Atomic uint64_t	*chunk;

	if (fd < 0 || fd >= FDTAB_MAX)
		return NULL;
	chunk = atomic_load_explicit(&preload_fdtab[fd / FDTAB_CHUNK],
	    memory_order_acquire);
	if (chunk == NULL)
		return NULL;
	return &chunk[fd % FDTAB_CHUNK];
}

/* The entry of fd, lock-free: 0 for every descriptor never tracked. */
static uint64_t
fdtab_get(int fd)
{
	_Atomic uint64_t	*slot;

	if ((slot = fdtab_slot(fd)) == NULL)
		return 0;
	return atomic_load_explicit(slot, memory_order_relaxed);
}

/*
 * Note that the server read data from connection fd (wrote 0) or wrote
 * to it (wrote 1), lock-free: reads and writes are too frequent to take
 * preload_lock. A second write before the next read means this server
 * answers in parts on it. Returns the entry as it is now, 0 if untracked.
 */
static uint64_t
fdtab_io(int fd, int wrote)
{
	_Atomic uint64_t	*slot;
	uint64_t		 e, v;

	if ((slot = fdtab_slot(fd)) == NULL)
		return 0;
	e = atomic_load_explicit(slot, memory_order_relaxed);
	do {
		if (!(e & FD_CONN))
			return 0;
		if (wrote)
			v = e | FD_ANSWERED |
			    ((e & FD_ANSWERED) ? FD_MULTI : 0);
		else
			v = (e | FD_READ | ((e & FD_ANSWERED) ? FD_CYCLE : 0)) &
			    ~FD_ANSWERED;
		v &= ~FD_QUIET;
		if (v == e)
			return e;	/* the common case: no store */
	} while (!atomic_compare_exchange_weak_explicit(slot, &e, v,
	    memory_order_relaxed, memory_order_relaxed));
	return v;
}

/* Forget the edits owed to connection fd; preload_lock is held. */
static void
edit_drop_locked(int fd)
{
	struct preload_edit	**p, *ed;

	for (p = &preload_edits; (ed = *p) != NULL; ) {
		if (ed->fd == fd) {
			*p = ed->next;
			free(ed);
		} else
			p = &ed->next;
	}
}

/* Set the entry of fd; preload_lock is held. Returns 0, or -1. */
static int
fdtab_set(int fd, uint64_t v)
{
	_Atomic uint64_t	*chunk;
	size_t			 i;

	if (fd < 0 || fd >= FDTAB_MAX)
		return -1;
	/* An edit belongs to its connection, not to the number. */
	if (preload_edits != NULL &&
	    (fdtab_get(fd) & FD_ID) != (v & FD_ID))
		edit_drop_locked(fd);
	chunk = atomic_load_explicit(&preload_fdtab[fd / FDTAB_CHUNK],
	    memory_order_relaxed);
	if (chunk == NULL) {
		if (v == 0)
			return 0;
		if ((chunk = malloc(FDTAB_CHUNK * sizeof(*chunk))) == NULL)
			return -1;
		for (i = 0; i < FDTAB_CHUNK; i++)
			atomic_init(&chunk[i], 0);
		atomic_store_explicit(&preload_fdtab[fd / FDTAB_CHUNK], chunk,
		    memory_order_release);
	}
	atomic_store_explicit(&chunk[fd % FDTAB_CHUNK], v,
	    memory_order_relaxed);
	if (v != 0 && fd >= preload_fdtab_end)
		preload_fdtab_end = fd + 1;
	return 0;
}

static struct preload_held *
held_find(int fd)
{
	size_t	 i;

	for (i = 0; i < preload_nheld; i++) {
		if (preload_held[i].fd == fd)
			return &preload_held[i];
	}
	return NULL;
}

static void
held_remove(struct preload_held *h)
{
	free(h->regs);
	*h = preload_held[--preload_nheld];
}

/*
 * The held entry of fd, if fd still is what was installed there: an
 * application may close one with a raw system call and reuse the number.
 * A stale entry is dropped.
 */
static struct preload_held *
held_find_checked(int fd)
{
	struct preload_held	*h;

	if ((h = held_find(fd)) == NULL)
		return NULL;
	if (preload_ino(fd) != h->ino) {
		if (fdtab_get(fd) & FD_HELD)
			fdtab_set(fd, 0);
		held_remove(h);
		return NULL;
	}
	return h;
}

/*
 * newfd is now a copy of oldfd (dup(), F_DUPFD, dup2(), dup3()): if
 * oldfd is held, so is newfd, so that a server that accepts on a copy
 * (Python's socket.fromfd() makes one) drains too.
 */
static void
held_copy(int oldfd, int newfd)
{
	struct preload_held	 copy, *h;

	if (!(fdtab_get(oldfd) & FD_HELD))
		return;
	pthread_mutex_lock(&preload_lock);
	if ((h = held_find_checked(oldfd)) == NULL || held_find(newfd) != NULL) {
		pthread_mutex_unlock(&preload_lock);
		return;
	}
	copy = *h;
	copy.fd = newfd;
	copy.regs = NULL;
	copy.nregs = 0;
	if ((h = realloc(preload_held, (preload_nheld + 1) *
	    sizeof(*h))) != NULL) {
		preload_held = h;
		if (fdtab_set(newfd, FD_HELD | copy.ino) == 0)
			preload_held[preload_nheld++] = copy;
	}
	pthread_mutex_unlock(&preload_lock);
}

/* Forget what fd was (entry e), now that it was closed or replaced. */
static void
preload_forget_locked(int fd, uint64_t e)
{
	struct preload_held	*h;

	if ((e & FD_HELD) && (h = held_find(fd)) != NULL)
		held_remove(h);
	/* Unless an accept() in another thread got the number meanwhile. */
	if ((fdtab_get(fd) & FD_ID) == (e & FD_ID)) {
		fdtab_set(fd, 0);
		if (e & FD_CONN)
			preload_nconn--;
	}
}

/*
 * Has process pid exited? A zombie has: its descriptors are closed. No
 * lock, no allocation: preload_claim() may call it right after fork().
 */
static int
preload_proc_gone(pid_t pid)
{
	char	 path[64], buf[512], *p;
	ssize_t	 n;
	int	 fd;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT;
	n = pread(fd, buf, sizeof(buf) - 1, 0);	/* not our read() */
	real_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 0;
	return p[2] == 'Z' || p[2] == 'X';
}

/* Is every process that took part in the worker's serving idle or gone? */
static int
preload_procs_idle(void)
{
	struct preload_proc	*pp;
	pid_t			 pid;
	int			 i, n;

	n = atomic_load(&preload_shared->nprocs);
	if (n > PRELOAD_PROCS_MAX)
		n = PRELOAD_PROCS_MAX;
	for (i = 0; i < n; i++) {
		pp = &preload_shared->procs[i];
		if ((pid = atomic_load(&pp->pid)) == 0 ||
		    atomic_load(&pp->idle) == pid || preload_proc_gone(pid))
			continue;
		return 0;
	}
	return 1;
}

/*
 * In a child: take a slot, so that the worker waits for this process to
 * be idle before IDLE=1. A slot of a process gone is reused. No lock,
 * no allocation: it may run right after fork().
 */
static void
preload_claim(void)
{
	struct preload_proc	*pp;
	pid_t			 me, pid;
	int			 i, n;

	if (preload_slot != -1)
		return;
	me = getpid();
	n = atomic_load(&preload_shared->nprocs);
	if (n > PRELOAD_PROCS_MAX)
		n = PRELOAD_PROCS_MAX;
	for (i = 0; i < n; i++) {
		pp = &preload_shared->procs[i];
		pid = atomic_load(&pp->pid);
		if ((pid == 0 || preload_proc_gone(pid)) &&
		    atomic_compare_exchange_strong(&pp->pid, &pid, me)) {
			preload_slot = i;
			return;
		}
	}
	if ((i = atomic_fetch_add(&preload_shared->nprocs, 1)) >=
	    PRELOAD_PROCS_MAX) {
		preload_log("pid %d: more than %d processes: the drain will "
		    "not wait for this one", (int)me, PRELOAD_PROCS_MAX);
		return;
	}
	atomic_store(&preload_shared->procs[i].pid, me);
	preload_slot = i;
}

/* Should IDLE=1 go now? preload_lock is held; says yes once. */
static int
preload_idle_locked(void)
{
	long long	 now;

	long long	 deadline;

	if (!preload_draining || preload_idle_sent)
		return 0;
	now = clock_ms();
	deadline = atomic_load(&preload_shared->deadline);
	if (deadline == 0 || now < deadline) {
		if (preload_nconn > 0)
			return 0;
		if (preload_accepting > 0 &&
		    now - preload_drain_start < ACCEPT_GRACE_MS)
			return 0;
		if (atomic_load_explicit(&preload_mode, memory_order_relaxed) ==
		    PRELOAD_WORKER && !preload_procs_idle())
			return 0;
	}
	preload_idle_sent = 1;
	return 1;
}

/* The worker tells baton; a child tells the worker, in its slot. */
static void
preload_send_idle(void)
{
	if (atomic_load(&preload_mode) == PRELOAD_CHILD) {
		if (preload_slot != -1)
			atomic_store(&preload_shared->procs[preload_slot].idle,
			    getpid());
		return;
	}
	if (baton_notify("IDLE=1") != 1)
		preload_log("cannot say IDLE=1 to baton: %s", strerror(errno));
}

/* Count the connections still open: some may have escaped close(). */
static void
preload_scan_locked(void)
{
	uint64_t	 e;
	int		 fd;

	for (fd = 0; fd < preload_fdtab_end; fd++) {
		e = fdtab_get(fd);
		if ((e & FD_CONN) && preload_ino(fd) != (e & FD_INO)) {
			fdtab_set(fd, 0);
			preload_nconn--;
		}
	}
}

/* A new connection from a held socket; preload_lock is held. */
static void
preload_track_conn_locked(int fd)
{
	struct preload_held	*h;
	uint64_t		 old = fdtab_get(fd);

	/* What the number was before escaped close(): it is gone now. */
	if ((old & FD_HELD) && (h = held_find(fd)) != NULL)
		held_remove(h);
	if (fdtab_set(fd, FD_CONN | preload_ino(fd)) == -1) {
		/* Not counted: draining will not wait for it. */
		if (old & FD_CONN)
			preload_nconn--;
		return;
	}
	if (!(old & FD_CONN))
		preload_nconn++;
}

static void
preload_atfork_child(void)
{
	/*
	 * A lock another thread held at fork is held for ever. The child
	 * has the parent's descriptors, and tables: it drains them itself
	 * (preload_join()), since the drain of a process swaps descriptors
	 * of its own table only. One that got connections to finish counts
	 * at once (a server that forks for each connection).
	 */
	pthread_mutex_init(&preload_lock, NULL);
	preload_draining = 0;
	atomic_store(&preload_closing, 0);
	preload_idle_sent = 0;
	preload_slot = -1;
	atomic_store(&preload_watching, 0);
	atomic_store(&preload_mode, PRELOAD_CHILD);
	if (preload_nconn > 0)
		preload_claim();
}

static void
preload_learn(int n)
{
	struct preload_sock	*s;
	struct sockaddr_held	*a;
	const char		*names, *p, *colon;
	size_t			 nlen;
	int			 i;

	names = getenv("LISTEN_FDNAMES");
	p = names;
	for (i = 0; i < n && i < PRELOAD_SOCKETS_MAX; i++) {
		s = &preload_socks[preload_nsocks];
		memset(s, 0, sizeof(*s));
		nlen = 0;
		if (p != NULL) {
			colon = strchr(p, ':');
			nlen = colon != NULL ? (size_t)(colon - p) : strlen(p);
			if (nlen >= sizeof(s->name))
				nlen = 0;
			memcpy(s->name, p, nlen);
			p = colon != NULL ? colon + 1 : NULL;
		}
		/* Without a name baton cannot be asked for it. */
		if (nlen == 0)
			continue;
		a = &preload_addrs[preload_nsocks];
		if (sockaddr_held_of(BATON_LISTEN_FDS_START + i, a) == -1)
			continue;
		s->fd = BATON_LISTEN_FDS_START + i;
		if (a->addr.ss_family == AF_UNIX)
			preload_has_unix = 1;
		preload_nsocks++;
	}
}

/*
 * The sockets baton passed at fds 3, 4, ... are held from the start: a
 * server that uses them (LISTEN_FDS, SERVER_STARTER_PORT, einhorn) drains
 * as one that binds. Like every held socket they are non-blocking; the
 * application sees the O_NONBLOCK they came with.
 */
static void
preload_hold_passed(void)
{
	struct preload_held	*h;
	int			 i, fd, fl;

	for (i = 0; i < preload_nsocks; i++) {
		fd = preload_socks[i].fd;
		if ((fl = real_fcntl(fd, F_GETFL)) == -1 ||
		    (!(fl & O_NONBLOCK) &&
		    real_fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1))
			continue;
		if ((h = realloc(preload_held, (preload_nheld + 1) *
		    sizeof(*h))) == NULL)
			continue;
		preload_held = h;
		h = &preload_held[preload_nheld];
		memset(h, 0, sizeof(*h));
		h->fd = fd;
		h->sock = i;
		h->nonblock = (fl & O_NONBLOCK) != 0;
		h->ino = preload_ino(fd);
		if (fdtab_set(fd, FD_HELD | h->ino) == 0)
			preload_nheld++;
	}
}

static int	preload_start_reader(void);

/*
 * A worker that forks while it holds baton's sockets reads the channel
 * from then on, even if it never accepts itself: its children may, and
 * only it hears DRAIN=1 for them.
 */
static void
preload_atfork_parent(void)
{
	size_t	 n;

	pthread_mutex_lock(&preload_lock);
	n = preload_nheld;
	pthread_mutex_unlock(&preload_lock);
	if (n > 0 && atomic_load(&preload_mode) == PRELOAD_WORKER)
		(void)preload_start_reader();
}

/* The real functions, found with dlsym(RTLD_NEXT) by preload_resolve(). */
static const struct preload_sym {
	const char	 *name;
	void		**fn;
	int		  io;		/* resolved apart: see real_read */
	int		  optional;
} preload_syms[] = {
	{ "bind", (void **)&real_bind, 0, 0 },
	{ "listen", (void **)&real_listen, 0, 0 },
	{ "accept", (void **)&real_accept, 0, 0 },
	{ "accept4", (void **)&real_accept4, 0, 0 },
	{ "close", (void **)&real_close, 0, 0 },
	{ "dup", (void **)&real_dup, 0, 0 },
	{ "dup2", (void **)&real_dup2, 0, 0 },
	{ "dup3", (void **)&real_dup3, 0, 0 },
	{ "epoll_ctl", (void **)&real_epoll_ctl, 0, 0 },
	{ "setsockopt", (void **)&real_setsockopt, 0, 0 },
	{ "fcntl", (void **)&real_fcntl, 0, 0 },
	{ "fcntl64", (void **)&real_fcntl64, 0, 1 },	/* since glibc 2.28 */
	{ "ioctl", (void **)&real_ioctl, 0, 0 },
	{ "unlink", (void **)&real_unlink, 0, 0 },
	{ "unlinkat", (void **)&real_unlinkat, 0, 0 },
	{ "read", (void **)&real_read, 1, 0 },
	{ "readv", (void **)&real_readv, 1, 0 },
	{ "recv", (void **)&real_recv, 1, 0 },
	{ "recvfrom", (void **)&real_recvfrom, 1, 0 },
	{ "recvmsg", (void **)&real_recvmsg, 1, 0 },
	{ "__read_chk", (void **)&real_read_chk, 1, 0 },
	{ "__recv_chk", (void **)&real_recv_chk, 1, 0 },
	{ "__recvfrom_chk", (void **)&real_recvfrom_chk, 1, 0 },
	{ "write", (void **)&real_write, 1, 0 },
	{ "writev", (void **)&real_writev, 1, 0 },
	{ "send", (void **)&real_send, 1, 0 },
	{ "sendto", (void **)&real_sendto, 1, 0 },
	{ "sendmsg", (void **)&real_sendmsg, 1, 0 },
};

/*
 * Find the real functions of one group (io or not). Without one, nothing
 * could be passed through; without those of I/O, nothing could be
 * written, not even a word about it.
 */
static void
preload_resolve(int io)
{
	const struct preload_sym	*s;
	size_t				 i;

	for (i = 0; i < sizeof(preload_syms) / sizeof(preload_syms[0]); i++) {
		s = &preload_syms[i];
		if (s->io != io)
			continue;
		if ((*s->fn = dlsym(RTLD_NEXT, s->name)) != NULL || s->optional)
			continue;
		if (!io)
			preload_log("dlsym: %s", dlerror());
		abort();
	}
}

static void
preload_setup(void)
{
	struct preload_shared	*sh;
	int			 n, ch, own;

	preload_resolve(0);
	if (real_fcntl64 == NULL)	/* before glibc 2.28 */
		real_fcntl64 = real_fcntl;

	/* Not baton's worker (LISTEN_PID is another's): never act. */
	if ((n = baton_listen_fds()) <= 0 || (ch = baton_channel()) == -1)
		return;
	preload_learn(n);
	if (preload_nsocks == 0)
		return;
	/*
	 * Our own copy of the channel, safe from an application that closes
	 * descriptors it does not know, such as BATON_FD.
	 */
	if ((own = real_fcntl(ch, F_DUPFD_CLOEXEC, CHANNEL_FD_MIN)) == -1 &&
	    (own = real_fcntl(ch, F_DUPFD_CLOEXEC, 0)) == -1) {
		preload_log("fcntl F_DUPFD_CLOEXEC %d: %s", ch,
		    strerror(errno));
		return;
	}
	baton_use_channel_fd(own);
	if ((sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		preload_log("mmap: %s: forked processes will not drain",
		    strerror(errno));
	else
		preload_shared = sh;	/* zeroed */
	preload_hold_passed();
	pthread_atfork(NULL, preload_atfork_parent, preload_atfork_child);
	atomic_store(&preload_mode, PRELOAD_WORKER);
}

static void
preload_io_setup(void)
{
	preload_resolve(1);
}

static void __attribute__((constructor))
preload_constructor(void)
{
	/* Before main() closes or reuses descriptors 3, 4, ... */
	pthread_once(&preload_once, preload_setup);
}

/* Resolve the real functions; say how this process is served. */
static int
preload_active(void)
{
	pthread_once(&preload_once, preload_setup);
	return atomic_load_explicit(&preload_mode, memory_order_relaxed);
}

/*
 * The held socket that a bind() of fd to sa names, or -1: see
 * sockaddr_match_held(). Its addresses were learned at exec.
 */
static int
preload_match(int fd, const struct sockaddr *sa, socklen_t len)
{
	socklen_t	 tlen;
	int		 type;

	if (sa == NULL || len < sizeof(sa_family_t) ||
	    (sa->sa_family == AF_UNIX && !preload_has_unix))
		return -1;
	tlen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1)
		return -1;
	return sockaddr_match_held(sa, len, type, preload_addrs,
	    preload_nsocks);
}

static void	preload_drain(int);
static int	preload_tick(void);

static int
preload_start_reader(void)
{
	/* Not preload_lock: the reader takes it under libbaton's lock. */
	static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
	static int		 started;
	int			 rc = 0;

	pthread_mutex_lock(&lock);
	if (!started && (rc = baton_reader_start(preload_drain,
	    preload_tick)) == 0) {
		started = 1;
		atomic_store(&preload_shared->reader, 1);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static void	preload_drain_local(void);

/* A child's watcher: waits for the drain, drains, reports idle, ends. */
static void *
preload_watch(void *arg)
{
	struct timespec	 ts = { 0, SCAN_MS * 1000000L };

	(void)arg;
	while (atomic_load(&preload_shared->drain) == 0)
		(void)syscall(SYS_futex, &preload_shared->drain, FUTEX_WAIT,
		    0, NULL, NULL, 0);
	preload_drain_local();
	while (preload_tick() >= 0)
		nanosleep(&ts, NULL);
	return NULL;
}

/*
 * Say LISTENING=1 once for the worker, when one of its processes first
 * waits for connections on a held descriptor: a server given its sockets
 * calls no listen(). Only once the worker reads the channel, else DRAIN=1
 * would go unheard.
 */
static void
preload_say_listening(void)
{
	if (atomic_load_explicit(&preload_shared->listening,
	    memory_order_relaxed) || !atomic_load(&preload_shared->reader) ||
	    atomic_load(&preload_shared->drain) != 0 ||
	    atomic_exchange(&preload_shared->listening, 1) != 0)
		return;
	if (baton_notify("LISTENING=1") != 1)
		preload_log("cannot say LISTENING=1 to baton: %s",
		    strerror(errno));
}

/*
 * A process of the worker waits for connections on a held descriptor,
 * or serves one: the worker starts reading the channel; a child takes a
 * slot and starts a thread that waits for the drain (a forked child has
 * only the thread that forked).
 */
static void
preload_join(void)
{
	pthread_attr_t	 attr;
	pthread_t	 tid;
	sigset_t	 all, old;
	int		 mode = atomic_load(&preload_mode);

	if (mode == PRELOAD_WORKER) {
		if (preload_start_reader() == 0)
			atomic_store(&preload_watching, 1);
	} else if (mode == PRELOAD_CHILD &&
	    atomic_exchange(&preload_watching, 1) == 0) {
		preload_claim();
		/* Never a signal meant for the application. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&tid, &attr, preload_watch, NULL) != 0)
			preload_log("pid %d: no thread to watch for the drain",
			    (int)getpid());
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	preload_say_listening();
}

/* A drain that began before this process joined: catch up now. */
static void
preload_catch_up(void)
{
	int	 draining;

	if (atomic_load(&preload_shared->drain) == 0)
		return;
	pthread_mutex_lock(&preload_lock);
	draining = preload_draining;
	pthread_mutex_unlock(&preload_lock);
	if (!draining)
		preload_drain_local();
}

/*
 * Make fd baton's socket number i, keeping its close-on-exec flag, and its
 * O_NONBLOCK as the application sees it. Returns 0, or -1 with errno.
 */
static int
preload_take(int fd, int i)
{
	struct preload_held	*h, *v;
	uint64_t		 old;
	int			 fdfl, fl, gfl, got, saved;

	if ((fdfl = real_fcntl(fd, F_GETFD)) == -1 ||
	    (fl = real_fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (preload_start_reader() == -1)
		return -1;
	if ((got = baton_socket(preload_socks[i].name)) == -1)
		return -1;
	/* Shared by every worker: see the file's comment. */
	if ((gfl = real_fcntl(got, F_GETFL)) == -1 ||
	    (!(gfl & O_NONBLOCK) &&
	    real_fcntl(got, F_SETFL, gfl | O_NONBLOCK) == -1) ||
	    real_dup3(got, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) == -1) {
		saved = errno;
		real_close(got);
		errno = saved;
		return -1;
	}
	real_close(got);

	pthread_mutex_lock(&preload_lock);
	old = fdtab_get(fd);
	if (old & FD_CONN)
		preload_nconn--;	/* a stale entry: that one is gone */
	if ((h = held_find(fd)) == NULL) {
		v = realloc(preload_held, (preload_nheld + 1) * sizeof(*v));
		if (v != NULL) {
			preload_held = v;
			h = &preload_held[preload_nheld++];
			memset(h, 0, sizeof(*h));
		}
	} else {
		free(h->regs);
		memset(h, 0, sizeof(*h));
	}
	if (h != NULL) {
		h->fd = fd;
		h->sock = i;
		h->nonblock = (fl & O_NONBLOCK) != 0;
		h->ino = preload_ino(fd);
		if (fdtab_set(fd, FD_HELD | h->ino) == -1)
			held_remove(h);
	} else
		fdtab_set(fd, 0);
	pthread_mutex_unlock(&preload_lock);
	/* Untracked, it still serves: only its drain is lost. */
	if (h == NULL)
		preload_log("fd %d: out of memory: it will not drain", fd);
	return 0;
}

int
bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr	*sa = SA_CONST(addr);
	int			 i;

	if (preload_active() != PRELOAD_WORKER ||
	    (i = preload_match(fd, sa, len)) == -1)
		return real_bind(fd, sa, len);
	if (preload_take(fd, i) == 0)
		return 0;
	preload_log("cannot take socket '%s' from baton (%s): binding fd %d "
	    "itself", preload_socks[i].name, strerror(errno), fd);
	return real_bind(fd, sa, len);
}

int
listen(int fd, int backlog)
{
	struct preload_held	*h;
	int			 mode, found, drained = 0;

	if ((mode = preload_active()) == PRELOAD_OFF ||
	    !(fdtab_get(fd) & FD_HELD))
		return real_listen(fd, backlog);
	pthread_mutex_lock(&preload_lock);
	if ((found = (h = held_find_checked(fd)) != NULL))
		drained = h->drained;
	pthread_mutex_unlock(&preload_lock);
	if (!found)
		return real_listen(fd, backlog);
	/*
	 * It listens already, with the backlog baton gave it; another
	 * listen() would set the backlog of the socket every worker shares.
	 */
	if (!drained)
		preload_join();
	return 0;
}

static int
preload_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags,
    int four)
{
	struct preload_held	*h;
	struct pollfd		 pfd;
	int			 r, saved, nonblock, counted, idle;

	if (preload_active() == PRELOAD_OFF || !(fdtab_get(fd) & FD_HELD))
		return four ? real_accept4(fd, sa, len, flags) :
		    real_accept(fd, sa, len);
	/* Joined before the drain is looked at: see preload_claim(). */
	if (!atomic_load_explicit(&preload_watching, memory_order_relaxed))
		preload_join();
	else
		preload_say_listening();	/* the worker reads only now */
	preload_catch_up();
	for (;;) {
		pthread_mutex_lock(&preload_lock);
		if ((h = held_find(fd)) == NULL) {
			pthread_mutex_unlock(&preload_lock);
			return four ? real_accept4(fd, sa, len, flags) :
			    real_accept(fd, sa, len);
		}
		nonblock = h->nonblock;
		/* Until it is counted, IDLE=1 must not go. */
		if ((counted = !h->drained))
			preload_accepting++;
		pthread_mutex_unlock(&preload_lock);

		r = four ? real_accept4(fd, sa, len, flags) :
		    real_accept(fd, sa, len);
		saved = errno;
		idle = 0;
		pthread_mutex_lock(&preload_lock);
		if (counted) {
			preload_accepting--;
			if (r != -1)
				preload_track_conn_locked(r);
			idle = preload_idle_locked();
		}
		/* A blocking accept() waits; a stale entry does not. */
		if (r == -1 && (saved == EAGAIN || saved == EWOULDBLOCK) &&
		    !nonblock && held_find_checked(fd) == NULL)
			nonblock = 1;
		pthread_mutex_unlock(&preload_lock);
		if (idle)
			preload_send_idle();
		if (r != -1 || nonblock ||
		    (saved != EAGAIN && saved != EWOULDBLOCK)) {
			errno = saved;
			return r;
		}
		/*
		 * Another worker took the connection. A signal ends the
		 * wait with EINTR, as it would end a blocking accept().
		 */
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1)
			return -1;
	}
}

int
accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	return preload_accept(fd, SA(addr), len, 0, 0);
}

int
accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
	return preload_accept(fd, SA(addr), len, flags, 1);
}

/* After fd (entry e) was closed or replaced: forget it, maybe say IDLE=1. */
static void
preload_gone(int fd, uint64_t e)
{
	int	 idle;

	pthread_mutex_lock(&preload_lock);
	preload_forget_locked(fd, e);
	idle = preload_idle_locked();
	pthread_mutex_unlock(&preload_lock);
	if (idle)
		preload_send_idle();
}

int
close(int fd)
{
	uint64_t	 e;
	int		 r, saved;

	/* The common case: one load for a descriptor never tracked. */
	if (preload_active() == PRELOAD_OFF || (e = fdtab_get(fd)) == 0)
		return real_close(fd);
	/* Closed first: IDLE=1 must not go while it is still open. */
	r = real_close(fd);
	saved = errno;
	preload_gone(fd, e);
	errno = saved;
	return r;
}

int
dup(int oldfd)
{
	int	 r, saved;

	if ((r = real_dup(oldfd)) == -1 || preload_active() == PRELOAD_OFF)
		return r;
	saved = errno;
	held_copy(oldfd, r);
	errno = saved;
	return r;
}

/* The real dup2(), or dup3() with flags when three is set. */
static int
preload_real_dup_to(int oldfd, int newfd, int flags, int three)
{
	if (three)
		return real_dup3(oldfd, newfd, flags);
	return real_dup2(oldfd, newfd);
}

/* dup2() and dup3(): what newfd was before is gone, oldfd's copy is held. */
static int
preload_dup_to(int oldfd, int newfd, int flags, int three)
{
	uint64_t	 e;
	int		 r, saved;

	if (preload_active() == PRELOAD_OFF || oldfd == newfd)
		return preload_real_dup_to(oldfd, newfd, flags, three);
	e = fdtab_get(newfd);
	if ((r = preload_real_dup_to(oldfd, newfd, flags, three)) == -1)
		return -1;
	saved = errno;
	if (e != 0)
		preload_gone(newfd, e);
	held_copy(oldfd, newfd);
	errno = saved;
	return r;
}

int
dup2(int oldfd, int newfd)
{
	return preload_dup_to(oldfd, newfd, 0, 0);
}

int
dup3(int oldfd, int newfd, int flags)
{
	return preload_dup_to(oldfd, newfd, flags, 1);
}

/*
 * Reads and writes of accepted connections tell the drain where each one
 * stands: a read of data means the server is on a request, a write after
 * it means it answered. Anything else passes through at the cost of a
 * table look-up.
 */
static int
preload_conn(int fd)
{
	int	 mode;

	pthread_once(&preload_io_once, preload_io_setup);
	mode = atomic_load_explicit(&preload_mode, memory_order_acquire);
	if (mode == PRELOAD_OFF || !(fdtab_get(fd) & FD_CONN))
		return 0;
	/* A child serving a connection it inherited or accepted. */
	if (mode == PRELOAD_CHILD &&
	    !atomic_load_explicit(&preload_watching, memory_order_relaxed))
		preload_join();
	return 1;
}

/* Has the client of connection fd closed its side, or is it gone? */
static int
preload_peer_closed(int fd)
{
	struct tcp_info	 ti;
	socklen_t	 len = sizeof(ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    ti.tcpi_state != TCP_ESTABLISHED;
}

/* Who asks preload_shut_idle(), which says how sure it can be. */
enum preload_shut_when {
	SHUT_AFTER_WRITE,	/* the server just wrote: its whole answer? */
	SHUT_BEFORE_READ,	/* it asks for the next request itself */
	SHUT_SCAN,		/* the drain's scan, every SCAN_MS */
};

/*
 * While draining: shut connection fd (entry e) for reading if the server
 * is between two requests on it. It read a request and wrote since (its
 * answer); the kernel holds nothing unread (no next request waits) and
 * nothing of the answer unsent; the client has not closed. The server's
 * next read then sees the end of file once nothing is queued (Linux keeps
 * delivering what arrives before it), and the server closes the
 * connection itself. A request that comes in just before that read is
 * still read and served: preload_read_end() hides the end of file until
 * the server has answered it.
 *
 * A write is taken for a whole answer only where every answer so far was
 * one write; a scan takes a connection whose answers came in parts only
 * once it has stayed idle from one scan to the next. Busy connections are
 * idle for microseconds between an answer and the next request, so only
 * the server's own read or write can catch them.
 *
 * None of this happens before preload_shut_from: a client that sends a
 * request meanwhile gets "Connection: close" in its answer and closes the
 * connection itself, while one shut just as it sent its request sees the
 * connection fail under it.
 */
static void
preload_shut_idle(int fd, uint64_t e, enum preload_shut_when when)
{
	_Atomic uint64_t	*slot;
	uint64_t		 v;
	int			 n, saved = errno;

	if ((e & (FD_CONN | FD_READ | FD_ANSWERED | FD_SHUT)) !=
	    (FD_CONN | FD_READ | FD_ANSWERED) ||
	    (when == SHUT_AFTER_WRITE &&
	    (e & (FD_CYCLE | FD_MULTI)) != FD_CYCLE) ||
	    clock_ms() < atomic_load_explicit(&preload_shared->shut_from,
	    memory_order_relaxed))
		return;
	/*
	 * TCP only (TCP_INFO fails on others): shutdown() of a unix socket
	 * would make the client's next request fail as it is written.
	 */
	if (preload_peer_closed(fd) ||
	    real_ioctl(fd, SIOCINQ, &n) == -1 || n != 0 ||
	    real_ioctl(fd, SIOCOUTQNSD, &n) == -1 || n != 0)
		goto out;
	/*
	 * Still the connection it was (a raw close() may have given the
	 * number to a socket of the server's own), in the same state: any
	 * read or write since makes the exchange fail.
	 */
	v = e | FD_SHUT;
	if (when == SHUT_SCAN && (e & FD_MULTI) && !(e & FD_QUIET))
		v = e | FD_QUIET;	/* once more at the next scan */
	if (preload_ino(fd) != (e & FD_INO) || (slot = fdtab_slot(fd)) ==
	    NULL || !atomic_compare_exchange_strong(slot, &e, v) ||
	    !(v & FD_SHUT))
		goto out;
	/* ENOTCONN: the client reset it just now; the server will see that. */
	(void)shutdown(fd, SHUT_RD);
out:
	errno = saved;
}

/* Before a read of connection fd, with flags. */
static void
preload_read_begin(int fd, int flags)
{
	if (atomic_load_explicit(&preload_closing, memory_order_relaxed) &&
	    !(flags & MSG_PEEK))
		preload_shut_idle(fd, fdtab_get(fd), SHUT_BEFORE_READ);
}

/*
 * After a read of want > 0 bytes from connection fd returned *r. Data
 * means the server is on a request until it writes. An end of file that
 * only the drain's shutdown() made, while it is, would make the server
 * drop that request (Node does): it is hidden, as EAGAIN from a
 * non-blocking read, or by waiting for data. Returns 1 to read again.
 */
static int
preload_read_end(int fd, ssize_t *r, size_t want, int flags)
{
	struct timespec	 ts = { 0, HIDDEN_EOF_MS * 1000000L };
	uint64_t	 e;
	int		 saved = errno, fl, n;

	if (*r > 0) {
		if (!(flags & MSG_PEEK))
			(void)fdtab_io(fd, 0);
		return 0;
	}
	e = fdtab_get(fd);
	if (*r != 0 || want == 0 ||
	    (e & (FD_CONN | FD_SHUT | FD_ANSWERED)) != (FD_CONN | FD_SHUT) ||
	    preload_peer_closed(fd)) {
		errno = saved;
		return 0;
	}
	nanosleep(&ts, NULL);
	if ((flags & MSG_DONTWAIT) ||
	    ((fl = real_fcntl(fd, F_GETFL)) != -1 && (fl & O_NONBLOCK))) {
		*r = -1;
		errno = EAGAIN;
		return 0;
	}
	/* Blocking: poll() would see the shutdown as readable at once. */
	while (real_ioctl(fd, SIOCINQ, &n) == 0 && n == 0 &&
	    !preload_peer_closed(fd))
		nanosleep(&ts, NULL);
	errno = saved;
	return 1;
}

static size_t
preload_iov_len(const struct iovec *iov, int n)
{
	size_t	 len = 0;
	int	 i;

	for (i = 0; iov != NULL && i < n; i++)
		len += iov[i].iov_len;
	return len;
}

static void
preload_wrote(int fd, ssize_t r)
{
	uint64_t	 e;

	if (r <= 0 || (e = fdtab_io(fd, 1)) == 0)
		return;
	if (atomic_load_explicit(&preload_closing, memory_order_relaxed))
		preload_shut_idle(fd, e, SHUT_AFTER_WRITE);
}

/* Copy up to len bytes from offset off of iov[n] to buf; returns how many. */
static size_t
preload_gather(const struct iovec *iov, int n, size_t off, char *buf,
    size_t len)
{
	size_t	 got = 0, k;
	int	 i;

	for (i = 0; i < n && got < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off;
		if (k > len - got)
			k = len - got;
		memcpy(buf + got, (const char *)iov[i].iov_base + off, k);
		got += k;
		off = 0;
	}
	return got;
}

/* The status of the answer head that buf[len] starts with, or -1. */
static int
preload_status(const char *buf, size_t len, int *minor)
{
	if (len < 13 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' || (buf[12] != ' ' &&
	    buf[12] != '\r'))
		return -1;
	*minor = buf[7] - '0';
	return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

/* Is p[len] token t, case aside? */
static int
preload_token(const char *p, size_t len, const char *t)
{
	return strlen(t) == len && strncasecmp(p, t, len) == 0;
}

/* What the first write of an answer is, to preload_mark(). */
enum preload_head {
	HEAD_OTHER,		/* not an answer head we can change */
	HEAD_INTERIM,		/* interim answers only (100 Continue) */
	HEAD_DONE,		/* one that closes the connection already */
	HEAD_EDIT,		/* ed says what to change */
};

/*
 * The first write of an answer on a connection, iov[n]: while closing,
 * make ed the edit that makes it say "Connection: close". Only an answer
 * whose head ends in this write is changed; interim answers (1xx but 101,
 * which hands the connection to another protocol) come before the final
 * one and are passed over. A "Connection:" header that says close needs
 * nothing; one that says keep-alive has that token overlaid by "close" and
 * five spaces (optional whitespace, which every parser skips), the same
 * length, since Node and most servers say keep-alive on every answer;
 * without one, an HTTP/1.1 answer gets the line inserted before its blank
 * line, and an HTTP/1.0 one needs nothing.
 */
static enum preload_head
preload_mark(const struct iovec *iov, int n, int closing,
    struct preload_edit *ed)
{
	char		 buf[HEAD_MAX];
	const char	*p, *end, *eol, *colon, *t, *tend, *ka = NULL;
	size_t		 total, off = 0, len, got;
	int		 status, minor, nka = 0, closes = 0;

	total = preload_iov_len(iov, n);
	for (;;) {
		len = preload_gather(iov, n, off, buf, 13);
		if ((status = preload_status(buf, len, &minor)) == -1)
			return HEAD_OTHER;
		if (!closing && (status >= 200 || status == 101))
			return HEAD_OTHER;
		got = preload_gather(iov, n, off, buf, sizeof(buf));
		if ((end = memmem(buf, got, "\r\n\r\n", 4)) == NULL)
			return HEAD_OTHER;
		end += 4;
		if (status == 101)
			return HEAD_OTHER;
		if (status >= 200)
			break;
		off += end - buf;
		if (off == total)
			return HEAD_INTERIM;
	}
	/* The header lines, between the status line and the blank line. */
	p = (const char *)memchr(buf, '\n', end - buf) + 1;
	for (; p < end - 2; p = eol + 2) {
		eol = memmem(p, end - p, "\r\n", 2);
		colon = memchr(p, ':', eol - p);
		if (colon == NULL || !preload_token(p, colon - p, "connection"))
			continue;
		for (t = colon + 1; t < eol; t = tend + 1) {
			while (t < eol && (*t == ' ' || *t == '\t'))
				t++;
			if ((tend = memchr(t, ',', eol - t)) == NULL)
				tend = eol;
			len = tend - t;
			while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
				len--;
			if (preload_token(t, len, "close"))
				closes = 1;
			else if (preload_token(t, len, "keep-alive")) {
				ka = t;
				nka++;
			}
		}
	}
	if (closes || (nka == 0 && minor == 0))
		return HEAD_DONE;
	if (nka > 1)
		return HEAD_OTHER;	/* left to preload_shut_idle() */
	memset(ed, 0, sizeof(*ed));
	if (nka == 1) {
		ed->at = off + (ka - buf);
		ed->overlay = 1;
		ed->len = strlen("keep-alive");
		memcpy(ed->bytes, "close     ", ed->len);
	} else {
		ed->at = off + (end - 2 - buf);
		ed->len = strlen("Connection: close\r\n");
		memcpy(ed->bytes, "Connection: close\r\n", ed->len);
	}
	return HEAD_EDIT;
}

/* Append bytes [from, to) of iov[n] to out[*m] (max pieces); all fit? */
static int
preload_pieces(const struct iovec *iov, int n, size_t from, size_t to,
    struct iovec *out, int *m, int max)
{
	size_t	 pos = 0, a, b;
	int	 i;

	for (i = 0; i < n && pos < to; pos += iov[i].iov_len, i++) {
		a = from > pos ? from - pos : 0;
		b = to - pos < iov[i].iov_len ? to - pos : iov[i].iov_len;
		if (a >= b)
			continue;
		if (*m == max)
			return 0;
		out[*m].iov_base = (char *)iov[i].iov_base + a;
		out[(*m)++].iov_len = b - a;
	}
	return 1;
}

/*
 * Lay out the application's iov[n] with ed in out[EDIT_IOV]: its bytes
 * before ed->at, ed's bytes (*r of them: 0 when the write stops before
 * ed->at), then the rest. What does not fit is left for the next write.
 */
static int
preload_splice(const struct iovec *iov, int n, const struct preload_edit *ed,
    struct iovec *out, size_t *r)
{
	size_t	 total = preload_iov_len(iov, n);
	int	 m = 0;

	*r = 0;
	if (!preload_pieces(iov, n, 0, ed->at < total ? ed->at : total, out,
	    &m, EDIT_IOV - 1) || ed->at >= total)
		return m;
	*r = ed->len;
	if (ed->overlay && *r > total - ed->at)
		*r = total - ed->at;
	out[m].iov_base = (void *)ed->bytes;
	out[m++].iov_len = *r;
	(void)preload_pieces(iov, n, ed->at + (ed->overlay ? *r : 0), total,
	    out, &m, EDIT_IOV);
	return m;
}

/* One write of out[m] to fd, as the application's call would have made it. */
static ssize_t
preload_send(int fd, const struct iovec *out, int m,
    const struct msghdr *msg, int flags)
{
	struct msghdr	 mh;

	if (msg == NULL)
		return real_writev(fd, out, m);
	mh = *msg;
	mh.msg_iov = (struct iovec *)out;
	mh.msg_iovlen = m;
	return real_sendmsg(fd, &mh, flags);
}

/*
 * Write iov[n] to fd with ed in it. Returns the count of the application's
 * bytes that went, as the application's call would, or -1 with errno; ed
 * is left with what is still to send (ed->len 0: all went). The kernel may
 * take only part of ed: ed's rest then goes first in the next write, and
 * a write that sent only bytes of ed has nothing of the application's to
 * count: EAGAIN if the socket does not block, else it goes on.
 */
static ssize_t
preload_write_edit(int fd, const struct iovec *iov, int n,
    const struct msghdr *msg, int flags, struct preload_edit *ed)
{
	struct iovec	 out[EDIT_IOV];
	size_t		 r, k, c, at;
	ssize_t		 w;
	int		 m, fl;

	for (;;) {
		if (ed->len == 0)
			return preload_send(fd, iov, n, msg, flags);
		m = preload_splice(iov, n, ed, out, &r);
		if ((w = preload_send(fd, out, m, msg, flags)) == -1)
			return -1;
		k = (size_t)w;
		if (r == 0 || k <= ed->at) {
			ed->at -= k;	/* none of ed went */
			return w;
		}
		at = ed->at;
		c = k - at < r ? k - at : r;
		memmove(ed->bytes, ed->bytes + c, ed->len - c);
		ed->len -= c;
		ed->at = 0;
		if (ed->overlay)
			return w;	/* byte for byte */
		if (k - c > 0 && (ed->len == 0 || at > 0))
			return ed->len == 0 ? k - c : at;
		/* Only bytes of ed went: the socket is full. */
		if ((flags & MSG_DONTWAIT) || (fl = real_fcntl(fd, F_GETFL)) ==
		    -1 || (fl & O_NONBLOCK)) {
			errno = EAGAIN;
			return -1;
		}
	}
}

/* The edit owed to connection fd (entry e), taken out of the list. */
static struct preload_edit *
edit_take(int fd, uint64_t e)
{
	struct preload_edit	**p, *ed;

	pthread_mutex_lock(&preload_lock);
	for (p = &preload_edits; (ed = *p) != NULL; p = &ed->next) {
		if (ed->fd == fd && ed->id == (e & FD_ID)) {
			*p = ed->next;
			break;
		}
	}
	pthread_mutex_unlock(&preload_lock);
	return ed;
}

/* Keep ed for the next write to its connection, or forget it: all went. */
static void
edit_keep(struct preload_edit *ed)
{
	_Atomic uint64_t	*slot;

	if (ed->len == 0 && !(fdtab_get(ed->fd) & FD_EDIT)) {
		free(ed);	/* the common case: it went whole */
		return;
	}
	pthread_mutex_lock(&preload_lock);
	slot = fdtab_slot(ed->fd);
	if (ed->len > 0 && slot != NULL &&
	    (atomic_load(slot) & FD_ID) == ed->id) {
		ed->next = preload_edits;
		preload_edits = ed;
		atomic_fetch_or(slot, FD_EDIT);
		ed = NULL;
	} else if (slot != NULL && (atomic_load(slot) & FD_ID) == ed->id)
		atomic_fetch_and(slot, ~FD_EDIT);
	pthread_mutex_unlock(&preload_lock);
	free(ed);
}

/*
 * A write of iov[n] to connection fd (sendmsg with msg and flags, or
 * writev when msg is NULL). The first write of an answer may get an edit
 * (preload_mark()); an edit the kernel took only part of goes first. An
 * interim answer alone is no answer: the request is still on.
 */
static ssize_t
preload_write(int fd, const struct iovec *iov, int n,
    const struct msghdr *msg, int flags)
{
	struct preload_edit	 fresh, *ed = NULL;
	enum preload_head	 head = HEAD_OTHER;
	uint64_t		 e = fdtab_get(fd);
	ssize_t			 r;
	int			 closing, saved;

	closing = atomic_load_explicit(&preload_closing, memory_order_relaxed);
	if (e & FD_EDIT)
		ed = edit_take(fd, e);
	else if ((e & (FD_READ | FD_ANSWERED)) == FD_READ &&
	    (head = preload_mark(iov, n, closing, &fresh)) == HEAD_EDIT) {
		/* Made first: once part of it went, it must be kept. */
		if ((ed = malloc(sizeof(*ed))) != NULL) {
			*ed = fresh;
			ed->fd = fd;
			ed->id = e & FD_ID;
		}
	}
	if (ed != NULL) {
		r = preload_write_edit(fd, iov, n, msg, flags, ed);
		saved = errno;
		edit_keep(ed);
		errno = saved;
	} else
		r = preload_send(fd, iov, n, msg, flags);
	if (head != HEAD_INTERIM) {
		saved = errno;
		preload_wrote(fd, r);
		errno = saved;
	}
	return r;
}

/* One call of the read family, as the application made it. */
struct preload_rd {
	enum {
		RD_READ, RD_READ_CHK, RD_READV, RD_RECV, RD_RECV_CHK,
		RD_RECVFROM, RD_RECVFROM_CHK, RD_RECVMSG
	}			 call;
	void			*buf;
	size_t			 len;
	size_t			 buflen;	/* the _chk calls' */
	int			 flags;
	struct sockaddr		*addr;
	socklen_t		*alen;
	const struct iovec	*iov;		/* readv() */
	int			 n;
	struct msghdr		*msg;		/* recvmsg() */
};

static ssize_t
preload_rd_real(int fd, const struct preload_rd *rd)
{
	switch (rd->call) {
	case RD_READ:
		return real_read(fd, rd->buf, rd->len);
	case RD_READ_CHK:
		return real_read_chk(fd, rd->buf, rd->len, rd->buflen);
	case RD_READV:
		return real_readv(fd, rd->iov, rd->n);
	case RD_RECV:
		return real_recv(fd, rd->buf, rd->len, rd->flags);
	case RD_RECV_CHK:
		return real_recv_chk(fd, rd->buf, rd->len, rd->buflen,
		    rd->flags);
	case RD_RECVFROM:
		return real_recvfrom(fd, rd->buf, rd->len, rd->flags, rd->addr,
		    rd->alen);
	case RD_RECVFROM_CHK:
		return real_recvfrom_chk(fd, rd->buf, rd->len, rd->buflen,
		    rd->flags, rd->addr, rd->alen);
	default:
		return real_recvmsg(fd, rd->msg, rd->flags);
	}
}

/* How many bytes the call asks for. */
static size_t
preload_rd_want(const struct preload_rd *rd)
{
	if (rd->call == RD_READV)
		return preload_iov_len(rd->iov, rd->n);
	if (rd->call == RD_RECVMSG)
		return rd->msg == NULL ? 0 :
		    preload_iov_len(rd->msg->msg_iov, (int)rd->msg->msg_iovlen);
	return rd->len;
}

/* The call on connection fd (see preload_read_end()), else passed on. */
static ssize_t
preload_read(int fd, const struct preload_rd *rd)
{
	ssize_t	 r;

	if (!preload_conn(fd))
		return preload_rd_real(fd, rd);
	preload_read_begin(fd, rd->flags);
	do {
		r = preload_rd_real(fd, rd);
	} while (preload_read_end(fd, &r, preload_rd_want(rd), rd->flags));
	return r;
}

ssize_t
read(int fd, void *buf, size_t len)
{
	struct preload_rd	 rd = { .call = RD_READ, .buf = buf, .len = len };

	return preload_read(fd, &rd);
}

ssize_t
__read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	struct preload_rd	 rd = { .call = RD_READ_CHK, .buf = buf,
				    .len = len, .buflen = buflen };

	return preload_read(fd, &rd);
}

ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	struct preload_rd	 rd = { .call = RD_READV, .iov = iov, .n = n };

	return preload_read(fd, &rd);
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	struct preload_rd	 rd = { .call = RD_RECV, .buf = buf, .len = len,
				    .flags = flags };

	return preload_read(fd, &rd);
}

ssize_t
__recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	struct preload_rd	 rd = { .call = RD_RECV_CHK, .buf = buf,
				    .len = len, .buflen = buflen, .flags = flags };

	return preload_read(fd, &rd);
}

ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG addr,
    socklen_t *alen)
{
	struct preload_rd	 rd = { .call = RD_RECVFROM, .buf = buf,
				    .len = len, .flags = flags,
				    .addr = SA(addr), .alen = alen };

	return preload_read(fd, &rd);
}

ssize_t
__recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
    struct sockaddr *addr, socklen_t *alen)
{
	struct preload_rd	 rd = { .call = RD_RECVFROM_CHK, .buf = buf,
				    .len = len, .buflen = buflen, .flags = flags,
				    .addr = addr, .alen = alen };

	return preload_read(fd, &rd);
}

ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct preload_rd	 rd = { .call = RD_RECVMSG, .msg = msg,
				    .flags = flags };

	return preload_read(fd, &rd);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	struct iovec	 iov = { (void *)buf, len };

	if (!preload_conn(fd))
		return real_write(fd, buf, len);
	return preload_write(fd, &iov, 1, NULL, 0);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	if (!preload_conn(fd))
		return real_writev(fd, iov, n);
	return preload_write(fd, iov, n, NULL, 0);
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	struct iovec	 iov = { (void *)buf, len };
	struct msghdr	 msg;

	if (!preload_conn(fd))
		return real_send(fd, buf, len, flags);
	memset(&msg, 0, sizeof(msg));
	return preload_write(fd, &iov, 1, &msg, flags);
}

ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
	struct iovec	 iov = { (void *)buf, len };
	struct msghdr	 msg;

	if (!preload_conn(fd))
		return real_sendto(fd, buf, len, flags, SA_CONST(addr), alen);
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = (void *)SA_CONST(addr);
	msg.msg_namelen = alen;
	return preload_write(fd, &iov, 1, &msg, flags);
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!preload_conn(fd) || msg == NULL)
		return real_sendmsg(fd, msg, flags);
	return preload_write(fd, msg->msg_iov, (int)msg->msg_iovlen, msg,
	    flags);
}

/* Remember (op on epfd) for held fd; preload_lock is held. */
static void
preload_epoll_locked(struct preload_held *h, int epfd, int op,
    const struct epoll_event *ev)
{
	struct preload_reg	*v;
	size_t			 i;

	for (i = 0; i < h->nregs; i++) {
		if (h->regs[i].epfd == epfd)
			break;
	}
	if (op == EPOLL_CTL_DEL) {
		if (i < h->nregs)
			h->regs[i] = h->regs[--h->nregs];
		return;
	}
	if (ev == NULL)
		return;
	if (i == h->nregs) {
		if ((v = realloc(h->regs, (h->nregs + 1) * sizeof(*v))) ==
		    NULL)
			return;		/* a busy loop after the drain, at worst */
		h->regs = v;
		h->nregs++;
	}
	h->regs[i].epfd = epfd;
	h->regs[i].ev = *ev;
}

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct preload_held	*h;
	int			 on, r, saved, join;

	on = preload_active() != PRELOAD_OFF;
	if ((r = real_epoll_ctl(epfd, op, fd, ev)) == -1 || !on ||
	    !(fdtab_get(fd) & FD_HELD))
		return r;
	saved = errno;
	pthread_mutex_lock(&preload_lock);
	if ((h = held_find(fd)) != NULL)
		preload_epoll_locked(h, epfd, op, ev);
	join = h != NULL && !h->drained && op == EPOLL_CTL_ADD;
	pthread_mutex_unlock(&preload_lock);
	if (join)
		preload_join();
	errno = saved;
	return r;
}

int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int	 on, r;

	on = preload_active();
	if ((r = real_setsockopt(fd, level, name, val, len)) == 0 ||
	    !on || (level != IPPROTO_IP && level != IPPROTO_IPV6) ||
	    !(fdtab_get(fd) & FD_HELD))
		return r;
	/*
	 * The socket baton gave may be of the other family (an IPv6 server
	 * on baton's IPv4 socket), and IPV6_V6ONLY cannot change after bind:
	 * baton chose both, so the application's wish is moot, not an error.
	 */
	return 0;
}

/*
 * O_NONBLOCK of a held descriptor as the application set it: remembered
 * for accept(), never cleared on the file every worker shares.
 */
static int
preload_fcntl(int is64, int fd, int cmd, void *arg)
{
	int			(*fn)(int, int, ...);
	struct preload_held	*h;
	int			 mode, found, nonblock = 0, r;

	mode = preload_active();
	fn = is64 ? real_fcntl64 : real_fcntl;
	if (mode != PRELOAD_OFF && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
	    (fdtab_get(fd) & FD_HELD)) {
		if ((r = fn(fd, cmd, arg)) != -1)
			held_copy(fd, r);
		return r;
	}
	if (mode == PRELOAD_OFF || (cmd != F_GETFL && cmd != F_SETFL) ||
	    !(fdtab_get(fd) & FD_HELD))
		return fn(fd, cmd, arg);
	pthread_mutex_lock(&preload_lock);
	if ((found = (h = held_find_checked(fd)) != NULL))
		nonblock = h->nonblock;
	pthread_mutex_unlock(&preload_lock);
	if (!found)
		return fn(fd, cmd, arg);
	if (cmd == F_GETFL) {
		if ((r = fn(fd, F_GETFL)) == -1)
			return -1;
		return nonblock ? r | O_NONBLOCK : r & ~O_NONBLOCK;
	}
	nonblock = ((int)(intptr_t)arg & O_NONBLOCK) != 0;
	if ((r = fn(fd, F_SETFL, (int)(intptr_t)arg | O_NONBLOCK)) == -1)
		return -1;
	pthread_mutex_lock(&preload_lock);
	if ((h = held_find(fd)) != NULL)
		h->nonblock = nonblock;
	pthread_mutex_unlock(&preload_lock);
	return r;
}

/*
 * fcntl() and fcntl64() differ only in the real function they call (on
 * 32-bit glibc, in how it reads a lock), and C cannot hand "..." on: one
 * definition makes both. The third argument is read as a pointer, as
 * glibc's own fcntl() does.
 */
#define PRELOAD_FCNTL(name, is64)					\
int									\
name(int fd, int cmd, ...)						\
{									\
	va_list	 ap;							\
	void	*arg;							\
									\
	va_start(ap, cmd);						\
	arg = va_arg(ap, void *);					\
	va_end(ap);							\
	return preload_fcntl(is64, fd, cmd, arg);			\
}

PRELOAD_FCNTL(fcntl, 0)
PRELOAD_FCNTL(fcntl64, 1)

/* ioctl(FIONBIO) is how CPython and others set O_NONBLOCK: as fcntl(). */
int
ioctl(int fd, unsigned long req, ...)
{
	struct preload_held	*h;
	va_list			 ap;
	void			*arg;
	int			 found, nonblock;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (preload_active() == PRELOAD_OFF || req != FIONBIO || arg == NULL ||
	    !(fdtab_get(fd) & FD_HELD))
		return real_ioctl(fd, req, arg);
	pthread_mutex_lock(&preload_lock);
	found = held_find_checked(fd) != NULL;
	pthread_mutex_unlock(&preload_lock);
	if (!found)
		return real_ioctl(fd, req, arg);
	nonblock = *(int *)arg != 0;
	if (nonblock && real_ioctl(fd, req, arg) == -1)
		return -1;
	pthread_mutex_lock(&preload_lock);
	if ((h = held_find(fd)) != NULL)
		h->nonblock = nonblock;
	pthread_mutex_unlock(&preload_lock);
	return 0;
}

/* Is path that of a held unix socket? */
static int
preload_held_path(const char *path)
{
	struct sockaddr_un	 sun;
	size_t			 len;
	int			 i;

	if (path == NULL)
		return 0;	/* the real call says EFAULT */
	if ((len = strlen(path)) > sizeof(sun.sun_path))
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	for (i = 0; i < preload_nsocks; i++) {
		if (sockaddr_same((const struct sockaddr *)&sun,
		    offsetof(struct sockaddr_un, sun_path) + len,
		    (const struct sockaddr *)&preload_addrs[i].addr,
		    preload_addrs[i].len))
			return 1;
	}
	return 0;
}

/*
 * Servers unlink their socket's path before bind() or at exit; the path
 * of a socket baton holds is baton's to remove, at its final stop.
 */
int
unlink(const char *path)
{
	if (preload_active() != PRELOAD_OFF && preload_has_unix &&
	    preload_held_path(path))
		return 0;
	return real_unlink(path);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	if (preload_active() != PRELOAD_OFF && preload_has_unix &&
	    (flags & AT_REMOVEDIR) == 0 && preload_held_path(path) &&
	    (dirfd == AT_FDCWD || path[0] == '/'))
		return 0;
	return real_unlinkat(dirfd, path, flags);
}

/*
 * A listening socket that never delivers a connection: bound to loopback,
 * port 0, with a filter that drops every packet, SYNs included.
 */
static int
preload_decoy(int family, int type)
{
	struct sock_filter	 drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog	 prog = { 1, &drop };
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	int			 s, saved;

	s = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s == -1)
		return -1;
	/* Best effort: the address alone keeps all but local peers out. */
	(void)real_setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = family;
	switch (family) {
	case AF_INET:
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
		break;
	case AF_INET6:
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
		break;
	default:
		len = sizeof(sa_family_t);	/* unix: an abstract name */
		break;
	}
	/* With no IPv6 loopback, listen() binds a wildcard port itself. */
	if (real_bind(s, (struct sockaddr *)&ss, len) == -1 &&
	    family != AF_INET6)
		goto fail;
	if (type != SOCK_DGRAM && real_listen(s, 1) == -1)
		goto fail;
	return s;
fail:
	saved = errno;
	real_close(s);
	errno = saved;
	return -1;
}

/* Replace held descriptor h by a decoy; preload_lock is held. */
static int
preload_replace_locked(struct preload_held *h)
{
	struct sockaddr_held	*s = &preload_addrs[h->sock];
	size_t			 i;
	int			 fdfl, decoy, saved;
	char			*deleted;

	/* Non-blocking like every held socket; accept() emulates the rest. */
	if ((fdfl = real_fcntl(h->fd, F_GETFD)) == -1 ||
	    (decoy = preload_decoy(s->addr.ss_family, s->type)) == -1)
		return -1;
	/*
	 * epoll keys on the open file, which baton still holds: left
	 * registered, the old socket would wake a level-triggered loop for
	 * ever with connections it can no longer accept.
	 */
	if ((deleted = calloc(h->nregs + 1, 1)) == NULL) {
		saved = errno;
		real_close(decoy);
		errno = saved;
		return -1;
	}
	for (i = 0; i < h->nregs; i++)
		deleted[i] = real_epoll_ctl(h->regs[i].epfd, EPOLL_CTL_DEL,
		    h->fd, NULL) == 0;
	if (real_dup3(decoy, h->fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) ==
	    -1) {
		saved = errno;
		real_close(decoy);
		errno = saved;
		free(deleted);
		return -1;
	}
	real_close(decoy);
	/* Only where it was: a number reused since may be another set. */
	for (i = 0; i < h->nregs; i++) {
		if (deleted[i])
			(void)real_epoll_ctl(h->regs[i].epfd, EPOLL_CTL_ADD,
			    h->fd, &h->regs[i].ev);
	}
	free(deleted);
	h->drained = 1;
	h->ino = preload_ino(h->fd);
	fdtab_set(h->fd, FD_HELD | h->ino);
	return 0;
}

/* Shut every connection that is between requests; below end. */
static void
preload_shut_all(int end)
{
	uint64_t	 e;
	int		 fd;

	for (fd = 0; fd < end; fd++) {
		if ((e = fdtab_get(fd)) & FD_CONN)
			preload_shut_idle(fd, e, SHUT_SCAN);
	}
}

/*
 * With preload_lock held: look at every descriptor, shut the connections
 * between requests, and say whether the process is now idle. The lock is
 * let go for the shutdowns: the server's own close() must not wait on it.
 */
static int
preload_sweep_locked(void)
{
	int	 end;

	preload_scan_locked();
	end = preload_fdtab_end;
	pthread_mutex_unlock(&preload_lock);
	preload_shut_all(end);
	pthread_mutex_lock(&preload_lock);
	return preload_idle_locked();
}

/*
 * DRAIN=1, in the worker's reader thread: tell every process of the
 * worker through the shared page (each one's watcher wakes on its futex),
 * then drain this one: stop accepting, close keep-alive connections
 * between requests, then wait to be idle, or wait ms at most when baton
 * gave IDLE_WAIT_MS. IDLE=1 goes once the children are idle too.
 */
static void
preload_drain(int wait)
{
	struct preload_shared	*sh = preload_shared;
	long long		 now = clock_ms();

	if (atomic_load(&sh->drain) == 0) {
		atomic_store(&sh->deadline, wait >= 0 ? now + wait : 0);
		atomic_store(&sh->shut_from, now + (wait >= 0 &&
		    wait / 2 < MARK_GRACE_MS ? wait / 2 : MARK_GRACE_MS));
		atomic_store(&sh->drain, 1);
		/* Not FUTEX_PRIVATE_FLAG: the waiters are other processes. */
		(void)syscall(SYS_futex, &sh->drain, FUTEX_WAKE, INT32_MAX,
		    NULL, NULL, 0);
	}
	preload_drain_local();
}

/* The drain of this process's own descriptors and connections. */
static void
preload_drain_local(void)
{
	struct preload_held	*h;
	size_t			 i;
	int			 idle;

	pthread_mutex_lock(&preload_lock);
	if (preload_draining) {
		pthread_mutex_unlock(&preload_lock);
		return;
	}
	preload_draining = 1;
	preload_drain_start = clock_ms();
	atomic_store(&preload_closing, 1);
	for (i = 0; i < preload_nheld; ) {
		h = &preload_held[i];
		if (h->drained) {
			i++;
			continue;
		}
		if (preload_ino(h->fd) != h->ino) {
			held_remove(h);	/* closed behind our back */
			continue;
		}
		if (preload_replace_locked(h) == -1)
			preload_log("fd %d: cannot stop accepting on it: %s",
			    h->fd, strerror(errno));
		i++;
	}
	idle = preload_sweep_locked();
	pthread_mutex_unlock(&preload_lock);
	if (idle)
		preload_send_idle();
}

/* Before each wait of the reader: while draining, look again every SCAN_MS. */
static int
preload_tick(void)
{
	int	 idle, wait;

	pthread_mutex_lock(&preload_lock);
	if (!preload_draining || preload_idle_sent) {
		pthread_mutex_unlock(&preload_lock);
		return -1;
	}
	idle = preload_sweep_locked();
	wait = preload_idle_sent ? -1 : SCAN_MS;
	pthread_mutex_unlock(&preload_lock);
	if (idle)
		preload_send_idle();
	return wait;
}
