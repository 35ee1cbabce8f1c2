/*
 * Steering a held TCP socket's new connections between generations.
 *
 * The held socket (the anchor) and one socket per generation, or per slot
 * with rollout = rolling (the members), form one SO_REUSEPORT group. A
 * BPF_PROG_TYPE_SK_REUSEPORT program attached to the group picks the
 * member for every new connection from a route the supervisor updates in
 * place: probe connections (by their source port) and a canary share (by
 * the connection's hash) to the candidate, the rest spread by hash over
 * the active members; it counts the connections it sends each member. The
 * anchor is never picked: with no member to pick
 * the SYN is refused, never queued where nobody accepts. When a member
 * closes, the connections queued on it migrate to an active member
 * (BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, Linux 5.14). The kernel stays the
 * only data path: baton never touches a connection.
 *
 * Only TCP: UDP and unix sockets stay one shared socket.
 */
#ifndef BATON_STEER_H
#define BATON_STEER_H

#include <stdint.h>

/* Members of one group: indices 0 .. STEER_MAX_INDEX - 1. */
#define STEER_MAX_INDEX		2048
/* Active members in a route: one per slot, so at most CONFIG_MAX_WORKERS. */
#define STEER_MAX_ACTIVE	1024
/* Probe source ports that reach the candidate at the same time. */
#define STEER_MAX_PROBES	4
/* No candidate. */
#define STEER_NONE		(-1)
/*
 * The canary share's unit: hundredths of a percent, as the configuration
 * keeps it (canary = 0.25% is 25), so no share is rounded on its way here.
 */
#define STEER_CANARY_WHOLE	10000

struct steer;

/*
 * Where new connections go. New connections spread by hash over
 * active[0 .. nactive - 1] (member indices; repeat an index to weight
 * it). If candidate is not STEER_NONE, connections from a source port in
 * probe[] (host order; 0 = unused) go to it and never to an active
 * member, and canary in STEER_CANARY_WHOLE of the others (chosen by
 * the connection's hash, so a client's retry of the same SYN lands in the
 * same place) go to it too. A connection migrating from a closed member
 * always goes to an active one.
 */
struct steer_route {
	unsigned	 active[STEER_MAX_ACTIVE];
	unsigned	 nactive;
	int		 candidate;
	unsigned	 canary;
	uint16_t	 probe[STEER_MAX_PROBES];
};

/*
 * 0 if this kernel lets baton steer: it creates the maps, loads the
 * program and attaches it to a throwaway SO_REUSEPORT socket on
 * 127.0.0.1:0, once; the answer is cached. Otherwise -1 and, if why is not
 * NULL, *why points to a static reason a user can act on ("bpf(BPF_PROG_LOAD):
 * Operation not permitted: baton needs root or CAP_BPF"). Never free it.
 */
int		 steer_supported(const char **why);

/*
 * Steer the group of anchor_fd, a listening TCP socket bound with
 * SO_REUSEPORT to a port given to bind(), never 0 (socket_open_reuseport()
 * does both: the kernel gives up an ephemeral port when the anchor
 * stops listening for an instant, see steer_route()); backlog is its listen() backlog,
 * which each member gets too (-1: SOMAXCONN). Creates the maps, loads the
 * program and attaches it to the group. The route is empty: until
 * steer_route() names an active member, every SYN is refused. anchor_fd
 * stays the caller's. Returns NULL with *error set
 * ("bpf(BPF_PROG_LOAD): reason").
 */
struct steer	*steer_new(int anchor_fd, int backlog, char **error);
/* Detach the program from the group and close what steer_new() made. */
void		 steer_free(struct steer *);

/*
 * A new listening socket in the group, on the anchor's address, with
 * SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY on IPv6, close-on-exec, the
 * backlog and the anchor's O_NONBLOCK, at index in the group's map (a
 * member already there is replaced). Returns its descriptor, which the
 * caller owns: it hands it to the workers of one generation (or slot)
 * and closes it when they are gone; its queue then migrates. -1 with
 * *error set.
 */
int		 steer_member(struct steer *, unsigned index, char **error);
/*
 * Put fd, a listening socket of the group that baton already holds, at
 * index: the anchor itself, for workers that were given it before the
 * group was steered. 0, or -1 with *error set.
 */
int		 steer_add(struct steer *, unsigned index, int fd,
		    char **error);
/*
 * Hand what waits in the anchor's queue to the active members: the
 * anchor stops listening for an instant (its queue migrates through the
 * program) and listens again. For the anchor once it leaves the map.
 */
int		 steer_flush(struct steer *, char **error);
/*
 * How many new connections the program sent member index since it was
 * put there (steer_member(), steer_add()): each SYN it picked the member
 * for, a probe's too, and one a closing member's queue handed on; -1 if
 * the map cannot be read.
 */
long long	 steer_count(const struct steer *, unsigned index);
/* How many connections wait in listening socket fd's accept queue; -1. */
int		 steer_queued(int fd);
/* Take index out of the map (closing a member does it too). 0 or -1. */
int		 steer_forget(struct steer *, unsigned index);
/*
 * Replace the route in place (no reload of the program). Every index
 * named should hold a member; one that does not is skipped (a connection
 * then goes to the next active member). The first route that names an
 * active member also hands on what queued on the anchor before steering
 * began: the anchor stops listening for an instant (shutdown(SHUT_RD)),
 * its queue migrates to the active members, and it listens again.
 * Returns 0, or -1 with *error set (out of range, the map update).
 */
int		 steer_route(struct steer *, const struct steer_route *,
		    char **error);

/*
 * Any process holding a socket of the group can detach the program
 * (SO_DETACH_REUSEPORT_BPF) or put its own in its place
 * (SO_ATTACH_REUSEPORT_CBPF needs no privilege): a worker, through the
 * member it was given. The anchor then receives connections, which it
 * never does while the program is in place; so a readable anchor means
 * exactly that. This attaches the program again and hands what queued on
 * the anchor to the active members. 0, or -1 with *error set.
 */
int		 steer_repair(struct steer *, char **error);

/*
 * Upgrading in place: the program lives as long as the group, but the new
 * image needs the maps to add members, change the route and read the
 * counts. Clear close-on-exec on each for the exec; steer_restore() sets
 * it again and takes them over (the route, members and counts stay as
 * they were).
 */
struct steer_saved {
	int		 sockarray_fd;
	int		 route_fd;
	int		 counts_fd;
};
void		 steer_save(const struct steer *, struct steer_saved *);
struct steer	*steer_restore(int anchor_fd, int backlog,
		    const struct steer_saved *, char **error);

#endif
