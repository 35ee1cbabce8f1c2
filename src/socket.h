/*
 * The listening sockets baton holds for the life of the service. Each is
 * bound once; generations share it by reference and the last reference
 * closes it (and removes a unix socket's path). They are never added to
 * the event loop: the kernel hands connections straight to the workers.
 */
#ifndef BATON_SOCKET_H
#define BATON_SOCKET_H

#include "address.h"
#include "steer.h"

struct config_socket;
struct socket;

/*
 * Bind and listen as cs says: SO_REUSEADDR, IPV6_V6ONLY on IPv6,
 * close-on-exec, the backlog, and for a unix path its mode and owner.
 * Never SO_REUSEPORT: closing one socket of such a group drops the
 * connections queued on it. Returns the socket with one reference, or
 * NULL with *error set to "socket NAME: bind URL: reason".
 */
struct socket		*socket_open(const struct config_socket *cs,
			    char **error);
/*
 * The same, with SO_REUSEPORT on a TCP socket (set before bind(), as the
 * kernel requires of every socket of a group): the anchor of a group
 * that steer.c steers between generations. Only while the steering
 * program is attached is that safe: it hands a closing member's queue on
 * and never picks a socket baton did not put in its map. UDP and unix
 * sockets are opened as by socket_open().
 */
struct socket		*socket_open_reuseport(const struct config_socket *cs,
			    char **error);
/*
 * Hold fd, a socket passed by the service manager for cs, instead of
 * binding one. It must be of cs's type; a stream socket is made to listen
 * if it does not yet. Its path, if any, is the manager's: never unlinked.
 * Returns the socket, or NULL with *error set (fd is then closed).
 */
struct socket		*socket_adopt(const struct config_socket *cs, int fd,
			    char **error);
/*
 * Upgrading in place: what the new image needs to hold s again (its
 * descriptor, and whether baton made its unix path, which one; steered,
 * the group's two maps and the held socket's own index in it), and the
 * same turned back into a socket with one reference. The program stays
 * attached to the group across the exec: only the maps must cross.
 */
struct socket_saved {
	int			 fd;
	int			 unlink_path;
	unsigned long		 dev;
	unsigned long		 ino;
	int			 steered;	/* 0: the rest is unused */
	struct steer_saved	 steer;
	int			 anchor_index;	/* -1: not a member */
};
void			 socket_save(const struct socket *,
			    struct socket_saved *);
struct socket		*socket_restore(const struct config_socket *cs,
			    const struct socket_saved *);
struct socket		*socket_ref(struct socket *);
void			 socket_unref(struct socket *);
int			 socket_fd(const struct socket *);
const char		*socket_name(const struct socket *);
const struct address	*socket_address(const struct socket *);
/* Nonzero if s is bound where cs says: then s serves cs, never rebound. */
int			 socket_matches(const struct socket *s,
			    const struct config_socket *cs);
/*
 * Apply cs's options to s in place: a new backlog (listen() again), a unix
 * path's mode and owner. Returns 0, or -1 with *error set.
 */
int			 socket_update(struct socket *s,
			    const struct config_socket *cs, char **error);

/*
 * Steering (see steer.h): each generation, or slot, accepts on a socket
 * of its own in the held socket's SO_REUSEPORT group, and a program picks
 * the socket for every new connection. socket_steer() turns it on for a
 * TCP socket, once (the held socket gets SO_REUSEPORT then, listening as
 * it is); it stays on while the socket lives. Others are left alone.
 * Returns 0, or -1 with *error set (the kernel's refusal and why).
 */
int			 socket_steer(struct socket *, char **error);
int			 socket_steered(const struct socket *);
/* A new member socket; its map index in *index. fd, or -1 and *error. */
int			 socket_member_new(struct socket *, int *index,
			    char **error);
/*
 * The held socket itself as a member, for workers that were given it
 * before the group was steered: its index, or -1 with *error set.
 */
int			 socket_member_anchor(struct socket *, char **error);
/*
 * Upgrading in place: a member the old image made, at index, taken over
 * by the new one (its index is taken, fd is close-on-exec again). 0, or
 * -1 with *error set if s is not steered or index is out of range or
 * taken.
 */
int			 socket_member_restore(struct socket *, int index,
			    int fd, char **error);
/*
 * The member is gone from the route: out of the map, closed (its queue
 * then migrates); the held socket's own queue is handed on instead.
 */
void			 socket_member_free(struct socket *, int index,
			    int fd);
/* No worker accepts on the held socket itself: its queue is handed on. */
void			 socket_release_anchor(struct socket *);
/*
 * New connections steered to member index since it joined (steer_count());
 * index -1: the held socket's own place, while it has one. -1 when not
 * steered, or unknown.
 */
long long		 socket_member_count(const struct socket *, int index);
struct steer_route;
int			 socket_route(struct socket *,
			    const struct steer_route *, char **error);

#endif
