/*
 * The steering program is built here instruction by instruction and loaded
 * with bpf(2): no compiler, object file or library at build or run time.
 * What it does, in the terms of steer.h:
 *
 *	route = route_map[0]			(no route: drop)
 *	if (!migrating && route.candidate != NONE) {
 *		if (tcp && source port in route.probe)
 *			select candidate, else drop
 *		if (hash < route.canary)
 *			select candidate, or go on
 *	}
 *	select active[hash % nactive], or go on
 *	select the first of active[] that is in the map, or drop
 *	count_map[the index selected] += 1, and pass
 *
 * The helper bpf_sk_select_reuseport() only picks a socket that is in the
 * REUSEPORT_SOCKARRAY map, and the anchor never is. A closing socket has
 * already left the map when its queue migrates, so a migrating connection
 * can never be handed back to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "steer.h"
#include "xmalloc.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF	52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF		68
#endif
#ifndef BPF_ATOMIC
#define BPF_ATOMIC			0xc0	/* BPF_XADD before Linux 5.12 */
#endif

/* The route as the program reads it: every field on its natural boundary. */
struct steer_map_route {
	uint64_t	 canary;	/* hash < canary: candidate; 2^32: all */
	uint32_t	 candidate;	/* index, or STEER_MAP_NONE */
	uint32_t	 nactive;
	uint32_t	 probe[STEER_MAX_PROBES];	/* network order; 0 unused */
	uint32_t	 active[STEER_MAX_ACTIVE];
};
#define STEER_MAP_NONE		0xffffffffU

struct steer {
	int		 anchor;
	int		 backlog;
	int		 sockarray;
	int		 route;
	int		 counts;	/* connections picked, by index */
	int		 attached;	/* the program is the group's */
	int		 flushed;	/* the anchor's own queue handed on */
};

/* The program's registers that live across helper calls. */
#define R_CTX		6
#define R_ROUTE		7
#define R_INDEX		8
#define R_COUNT		9
#define STACK_KEY	(-4)	/* the map key the helpers read */

#define STEER_MAX_INSNS	128
#define STEER_MAX_JUMPS	32

enum steer_label {
	L_DROP,
	L_PASS,
	L_ACTIVE,
	L_CANARY,
	L_PROBE_HIT,
	L_LOOP,
	L_EXIT_PASS,
	L_NLABELS
};

/* A program under construction: jumps name a label, patched at the end. */
struct steer_asm {
	struct bpf_insn	 insn[STEER_MAX_INSNS];
	int		 n;
	int		 label[L_NLABELS];
	struct {
		int		 at;
		enum steer_label label;
	}		 jump[STEER_MAX_JUMPS];
	int		 njumps;
};

static long
steer_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static void
steer_emit(struct steer_asm *a, uint8_t code, uint8_t dst, uint8_t src,
    int16_t off, int32_t imm)
{
	struct bpf_insn	*i;

	if (a->n == STEER_MAX_INSNS)
		abort();	/* the program is fixed: a bug here */
	i = &a->insn[a->n++];
	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = dst;
	i->src_reg = src;
	i->off = off;
	i->imm = imm;
}

static void
steer_jump(struct steer_asm *a, uint8_t code, uint8_t dst, uint8_t src,
    int32_t imm, enum steer_label to)
{
	if (a->njumps == STEER_MAX_JUMPS)
		abort();
	a->jump[a->njumps].at = a->n;
	a->jump[a->njumps++].label = to;
	steer_emit(a, code, dst, src, 0, imm);
}

static void
steer_here(struct steer_asm *a, enum steer_label l)
{
	a->label[l] = a->n;
}

/* dst = the map fd, as a map pointer (two instructions). */
static void
steer_map(struct steer_asm *a, uint8_t dst, int fd)
{
	steer_emit(a, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
	steer_emit(a, 0, 0, 0, 0, 0);
}

/* r0 = bpf_sk_select_reuseport(ctx, sockarray, &key, 0); key on the stack. */
static void
steer_select(struct steer_asm *a, int sockarray, uint8_t key)
{
	steer_emit(a, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, key, STACK_KEY, 0);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, R_CTX, 0, 0);
	steer_map(a, BPF_REG_2, sockarray);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
	steer_emit(a, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, STACK_KEY);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0);
	steer_emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_select_reuseport);
}

/*
 * Select route.active[R_INDEX] and pass if that works. The bound is for
 * the verifier: a map value is read only at an offset it can prove.
 */
static void
steer_try_active(struct steer_asm *a, int sockarray)
{
	steer_jump(a, BPF_JMP | BPF_JGE | BPF_K, R_INDEX, 0, STEER_MAX_ACTIVE,
	    L_DROP);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, R_INDEX, 0, 0);
	steer_emit(a, BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_2, 0, 0, 2);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, R_ROUTE, 0, 0);
	steer_emit(a, BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_1, BPF_REG_2, 0, 0);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_1,
	    offsetof(struct steer_map_route, active), 0);
	steer_select(a, sockarray, BPF_REG_1);
	steer_jump(a, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, L_PASS);
}

#define CTX(f)		((int16_t)offsetof(struct sk_reuseport_md, f))
#define ROUTE(f)	((int16_t)offsetof(struct steer_map_route, f))

static void
steer_build(struct steer_asm *a, int route, int sockarray, int counts)
{
	int	 k;

	memset(a, 0, sizeof(*a));
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, R_CTX, BPF_REG_1, 0, 0);

	/* route = route_map[0] */
	steer_emit(a, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, STACK_KEY, 0);
	steer_map(a, BPF_REG_1, route);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	steer_emit(a, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, STACK_KEY);
	steer_emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	steer_jump(a, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, L_DROP);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, R_ROUTE, BPF_REG_0, 0, 0);

	/* A connection leaving a closed socket goes to an active one. */
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, R_CTX,
	    CTX(migrating_sk), 0);
	steer_jump(a, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, 0, L_ACTIVE);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_W, R_INDEX, R_ROUTE,
	    ROUTE(candidate), 0);
	steer_jump(a, BPF_JMP32 | BPF_JEQ | BPF_K, R_INDEX, 0,
	    (int32_t)STEER_MAP_NONE, L_ACTIVE);

	/* A probe: its source port, the first field of the TCP header. */
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, R_CTX,
	    CTX(ip_protocol), 0);
	steer_jump(a, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, IPPROTO_TCP,
	    L_CANARY);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_2, R_CTX, CTX(data), 0);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_3, R_CTX,
	    CTX(data_end), 0);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_2, 0, 0);
	steer_emit(a, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 2);
	steer_jump(a, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_1, BPF_REG_3, 0,
	    L_CANARY);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_H, BPF_REG_1, BPF_REG_2, 0, 0);
	for (k = 0; k < STEER_MAX_PROBES; k++) {
		steer_emit(a, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, R_ROUTE,
		    ROUTE(probe) + 4 * k, 0);
		steer_jump(a, BPF_JMP | BPF_JEQ | BPF_X, BPF_REG_1, BPF_REG_2,
		    0, L_PROBE_HIT);
	}
	steer_jump(a, BPF_JMP | BPF_JA, 0, 0, 0, L_CANARY);
	/* ...reaches the candidate or nothing: never the active generation. */
	steer_here(a, L_PROBE_HIT);
	steer_select(a, sockarray, R_INDEX);
	steer_jump(a, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, L_PASS);
	steer_jump(a, BPF_JMP | BPF_JA, 0, 0, 0, L_DROP);

	/* The canary share, by the connection's hash. */
	steer_here(a, L_CANARY);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, R_CTX, CTX(hash), 0);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_2, R_ROUTE,
	    ROUTE(canary), 0);
	steer_jump(a, BPF_JMP | BPF_JGE | BPF_X, BPF_REG_1, BPF_REG_2, 0,
	    L_ACTIVE);
	steer_select(a, sockarray, R_INDEX);
	steer_jump(a, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, L_PASS);

	/* The rest spread over the active members by hash. */
	steer_here(a, L_ACTIVE);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_W, R_COUNT, R_ROUTE,
	    ROUTE(nactive), 0);
	steer_jump(a, BPF_JMP | BPF_JEQ | BPF_K, R_COUNT, 0, 0, L_DROP);
	steer_jump(a, BPF_JMP | BPF_JGT | BPF_K, R_COUNT, 0, STEER_MAX_ACTIVE,
	    L_DROP);
	steer_emit(a, BPF_LDX | BPF_MEM | BPF_W, R_INDEX, R_CTX, CTX(hash), 0);
	steer_emit(a, BPF_ALU64 | BPF_MOD | BPF_X, R_INDEX, R_COUNT, 0, 0);
	steer_try_active(a, sockarray);

	/* That one is gone (closed, or forgotten): the first that is not. */
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_K, R_INDEX, 0, 0, 0);
	steer_here(a, L_LOOP);
	steer_jump(a, BPF_JMP | BPF_JGE | BPF_X, R_INDEX, R_COUNT, 0, L_DROP);
	steer_try_active(a, sockarray);
	steer_emit(a, BPF_ALU64 | BPF_ADD | BPF_K, R_INDEX, 0, 0, 1);
	steer_jump(a, BPF_JMP | BPF_JA, 0, 0, 0, L_LOOP);

	/*
	 * Nothing to pick: refuse the SYN. Passing without a pick would let
	 * the kernel choose by hash, the anchor included, where the
	 * connection would wait for an accept() that never comes.
	 */
	steer_here(a, L_DROP);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_DROP);
	steer_emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/*
	 * Picked: count it for the member, whose index every select left
	 * on the stack. An atomic add (imm 0: BPF_ADD, which BPF_XADD was),
	 * since SYNs are steered on every CPU at once.
	 */
	steer_here(a, L_PASS);
	steer_map(a, BPF_REG_1, counts);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	steer_emit(a, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, STACK_KEY);
	steer_emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	steer_jump(a, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, L_EXIT_PASS);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1);
	steer_emit(a, BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0);
	steer_here(a, L_EXIT_PASS);
	steer_emit(a, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_PASS);
	steer_emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

	for (k = 0; k < a->njumps; k++)
		a->insn[a->jump[k].at].off =
		    a->label[a->jump[k].label] - a->jump[k].at - 1;
}

static int
steer_map_create(uint32_t type, uint32_t value_size, uint32_t entries,
    const char *name)
{
	union bpf_attr	 attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = sizeof(uint32_t);
	attr.value_size = value_size;
	attr.max_entries = entries;
	strncpy(attr.map_name, name, sizeof(attr.map_name) - 1);
	return (int)steer_bpf(BPF_MAP_CREATE, &attr);
}

static int
steer_map_update(int map, uint32_t key, const void *value)
{
	union bpf_attr	 attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = map;
	attr.key = (uint64_t)(uintptr_t)&key;
	attr.value = (uint64_t)(uintptr_t)value;
	attr.flags = BPF_ANY;
	return (int)steer_bpf(BPF_MAP_UPDATE_ELEM, &attr);
}

/* What a user can do about errno from bpf() or the attach. */
static const char *
steer_hint(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return ": baton needs root or CAP_BPF";
	case ENOSYS:
		return ": this kernel has no bpf() (CONFIG_BPF_SYSCALL)";
	case EINVAL:
	case ENOPROTOOPT:
		return ": steering needs Linux 5.14 or later "
		    "(BPF_SK_REUSEPORT_SELECT_OR_MIGRATE)";
	default:
		return "";
	}
}

/* Load the program; on failure *why says so, with the verifier's last word. */
static int
steer_load(int route, int sockarray, int counts, char **why)
{
	static char		 vlog[4096];
	struct steer_asm	 a;
	union bpf_attr		 attr;
	char			*line;
	size_t			 len;
	int			 fd, err;

	steer_build(&a, route, sockarray, counts);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
	attr.expected_attach_type = BPF_SK_REUSEPORT_SELECT_OR_MIGRATE;
	attr.insns = (uint64_t)(uintptr_t)a.insn;
	attr.insn_cnt = a.n;
	/* No helper it calls is GPL-only. */
	attr.license = (uint64_t)(uintptr_t)"BSD";
	strncpy(attr.prog_name, "baton_steer", sizeof(attr.prog_name) - 1);
	if ((fd = (int)steer_bpf(BPF_PROG_LOAD, &attr)) != -1)
		return fd;
	err = errno;
	/* Again with the verifier's log, for the reason. */
	vlog[0] = '\0';
	attr.log_buf = (uint64_t)(uintptr_t)vlog;
	attr.log_size = sizeof(vlog);
	attr.log_level = 1;
	if ((fd = (int)steer_bpf(BPF_PROG_LOAD, &attr)) != -1)
		return fd;
	len = strlen(vlog);
	while (len > 0 && vlog[len - 1] == '\n')
		vlog[--len] = '\0';
	line = strrchr(vlog, '\n');
	*why = xprintf("bpf(BPF_PROG_LOAD): %s%s%s%s", strerror(err),
	    steer_hint(err), len > 0 ? ": " : "",
	    line != NULL ? line + 1 : vlog);
	errno = err;
	return -1;
}

static int
steer_check_anchor(int fd, char **why)
{
	socklen_t	 len;
	int		 v;

	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == -1) {
		*why = xprintf("getsockopt SO_TYPE: %s", strerror(errno));
		return -1;
	}
	if (v != SOCK_STREAM) {
		*why = xstrdup("only a TCP socket is steered");
		return -1;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, &len) == -1 || !v) {
		*why = xstrdup("the socket was bound without SO_REUSEPORT");
		return -1;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 || !v) {
		*why = xstrdup("the socket does not listen");
		return -1;
	}
	return 0;
}

/* The empty route: no candidate, no member, every SYN refused. */
static void
steer_route_empty(struct steer_map_route *r)
{
	memset(r, 0, sizeof(*r));
	r->candidate = STEER_MAP_NONE;
}

/* Load the program on the maps and make it the group's. */
static int
steer_attach(struct steer *s, char **error)
{
	int	 prog, err;

	if ((prog = steer_load(s->route, s->sockarray, s->counts,
	    error)) == -1)
		return -1;
	/* The group holds the program from here on: its fd is not needed. */
	if (setsockopt(s->anchor, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog,
	    sizeof(prog)) == -1) {
		err = errno;
		*error = xprintf("setsockopt SO_ATTACH_REUSEPORT_EBPF: %s%s",
		    strerror(err), steer_hint(err));
		close(prog);
		return -1;
	}
	close(prog);
	s->attached = 1;
	return 0;
}

struct steer *
steer_new(int anchor_fd, int backlog, char **error)
{
	struct steer_map_route	*r;
	struct steer		*s;
	char			*why = NULL;
	int			 err;

	if (steer_check_anchor(anchor_fd, &why) == -1) {
		*error = xprintf("steer: %s", why);
		free(why);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->anchor = anchor_fd;
	s->backlog = backlog;
	s->route = s->sockarray = s->counts = -1;
	r = xmalloc(sizeof(*r));
	steer_route_empty(r);
	if ((s->route = steer_map_create(BPF_MAP_TYPE_ARRAY, sizeof(*r), 1,
	    "baton_route")) == -1 ||
	    (s->sockarray = steer_map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
	    sizeof(uint64_t), STEER_MAX_INDEX, "baton_members")) == -1 ||
	    (s->counts = steer_map_create(BPF_MAP_TYPE_ARRAY,
	    sizeof(uint64_t), STEER_MAX_INDEX, "baton_counts")) == -1) {
		err = errno;
		*error = xprintf("bpf(BPF_MAP_CREATE): %s%s", strerror(err),
		    steer_hint(err));
		goto fail;
	}
	if (steer_map_update(s->route, 0, r) == -1) {
		*error = xprintf("bpf(BPF_MAP_UPDATE_ELEM): %s",
		    strerror(errno));
		goto fail;
	}
	if (steer_attach(s, error) == -1)
		goto fail;
	free(r);
	return s;
fail:
	free(r);
	steer_free(s);
	return NULL;
}

void
steer_free(struct steer *s)
{
	int	 zero = 0;

	if (s == NULL)
		return;
	/* The group is the anchor's again: by hash, as without steering. */
	if (s->attached)
		(void)setsockopt(s->anchor, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF,
		    &zero, sizeof(zero));
	if (s->route != -1)
		close(s->route);
	if (s->sockarray != -1)
		close(s->sockarray);
	if (s->counts != -1)
		close(s->counts);
	free(s);
}

/* A new member's count starts at 0: an index is used again and again. */
static int
steer_count_reset(struct steer *s, unsigned index, char **error)
{
	uint64_t	 zero = 0;

	if (steer_map_update(s->counts, index, &zero) == -1) {
		*error = xprintf("steer: bpf(BPF_MAP_UPDATE_ELEM) count %u: %s",
		    index, strerror(errno));
		return -1;
	}
	return 0;
}

long long
steer_count(const struct steer *s, unsigned index)
{
	union bpf_attr	 attr;
	uint32_t	 key = index;
	uint64_t	 value;

	if (index >= STEER_MAX_INDEX)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = s->counts;
	attr.key = (uint64_t)(uintptr_t)&key;
	attr.value = (uint64_t)(uintptr_t)&value;
	if (steer_bpf(BPF_MAP_LOOKUP_ELEM, &attr) == -1)
		return -1;
	return (long long)value;
}

int
steer_member(struct steer *s, unsigned index, char **error)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	uint64_t		 value;
	int			 fd, one = 1, fl;

	if (index >= STEER_MAX_INDEX) {
		*error = xprintf("steer: member %u is out of range (0-%d)",
		    index, STEER_MAX_INDEX - 1);
		return -1;
	}
	if (getsockname(s->anchor, (struct sockaddr *)&ss, &len) == -1) {
		*error = xprintf("steer: getsockname: %s", strerror(errno));
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*error = xprintf("steer: socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1 || (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ==
	    -1)) {
		*error = xprintf("steer: setsockopt: %s", strerror(errno));
		goto fail;
	}
	/* Never picked until it is in the map, so it may listen first. */
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, s->backlog >= 0 ? s->backlog : SOMAXCONN) == -1) {
		*error = xprintf("steer: join the group: %s", strerror(errno));
		goto fail;
	}
	if ((fl = fcntl(s->anchor, F_GETFL)) != -1 && (fl & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		*error = xprintf("steer: O_NONBLOCK: %s", strerror(errno));
		goto fail;
	}
	if (steer_count_reset(s, index, error) == -1)
		goto fail;
	value = (uint64_t)fd;
	if (steer_map_update(s->sockarray, index, &value) == -1) {
		*error = xprintf("steer: bpf(BPF_MAP_UPDATE_ELEM) member %u: %s",
		    index, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
steer_add(struct steer *s, unsigned index, int fd, char **error)
{
	uint64_t	 value = (uint64_t)fd;

	if (index >= STEER_MAX_INDEX) {
		*error = xprintf("steer: member %u is out of range (0-%d)",
		    index, STEER_MAX_INDEX - 1);
		return -1;
	}
	if (steer_count_reset(s, index, error) == -1)
		return -1;
	if (steer_map_update(s->sockarray, index, &value) == -1) {
		*error = xprintf("steer: bpf(BPF_MAP_UPDATE_ELEM) member %u: %s",
		    index, strerror(errno));
		return -1;
	}
	/* Its queue is served from now on: nothing to hand on. */
	if (fd == s->anchor)
		s->flushed = 1;
	return 0;
}

int
steer_queued(int fd)
{
	struct tcp_info	 ti;
	socklen_t	 len = sizeof(ti);

	/* Of a listening socket, the kernel reports its accept queue here. */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    ti.tcpi_state != TCP_LISTEN)
		return -1;
	return (int)ti.tcpi_unacked;
}

int
steer_forget(struct steer *s, unsigned index)
{
	union bpf_attr	 attr;
	uint32_t	 key = index;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = s->sockarray;
	attr.key = (uint64_t)(uintptr_t)&key;
	if (steer_bpf(BPF_MAP_DELETE_ELEM, &attr) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * One update of the array map: a connection arriving during the copy
 * may read some fields old and some new, so it lands on a member of the
 * old route or of the new one (or on the next active member if its pick
 * is not in the map); never on the anchor.
 */
/*
 * What queued on the anchor before the program was attached would wait
 * there for an accept() that never comes. shutdown(SHUT_RD) stops the
 * anchor's listening as close() would, so the kernel migrates its queue
 * through the program to an active member, and listen() puts it back in
 * the group (Linux 5.14); it never gave up its port.
 */
int
steer_flush(struct steer *s, char **error)
{
	struct sockaddr_storage	 before, after;
	socklen_t		 len;

	len = sizeof(before);
	if (getsockname(s->anchor, (struct sockaddr *)&before, &len) == -1) {
		*error = xprintf("steer: getsockname: %s", strerror(errno));
		return -1;
	}
	if (shutdown(s->anchor, SHUT_RD) == -1) {
		*error = xprintf("steer: shutdown the anchor: %s",
		    strerror(errno));
		return -1;
	}
	if (listen(s->anchor, s->backlog >= 0 ? s->backlog : SOMAXCONN) ==
	    -1) {
		*error = xprintf("steer: listen on the anchor again: %s",
		    strerror(errno));
		return -1;
	}
	/* Only a port bind() was given is kept: an ephemeral one is let go. */
	len = sizeof(after);
	if (getsockname(s->anchor, (struct sockaddr *)&after, &len) == -1 ||
	    memcmp(&before, &after, len) != 0) {
		*error = xstrdup("steer: the anchor lost its port: it must be "
		    "bound to a port of its own, not 0");
		return -1;
	}
	s->flushed = 1;
	return 0;
}

int
steer_route(struct steer *s, const struct steer_route *route, char **error)
{
	struct steer_map_route	*r;
	unsigned		 i;
	int			 rc = -1;

	if (route->nactive > STEER_MAX_ACTIVE) {
		*error = xprintf("steer: %u active members (at most %d)",
		    route->nactive, STEER_MAX_ACTIVE);
		return -1;
	}
	if (route->canary > STEER_CANARY_WHOLE || (route->candidate != STEER_NONE &&
	    (route->candidate < 0 || route->candidate >= STEER_MAX_INDEX))) {
		*error = xstrdup("steer: candidate or canary out of range");
		return -1;
	}
	r = xmalloc(sizeof(*r));
	steer_route_empty(r);
	for (i = 0; i < route->nactive; i++) {
		if (route->active[i] >= STEER_MAX_INDEX) {
			*error = xprintf("steer: member %u is out of range",
			    route->active[i]);
			goto out;
		}
		r->active[i] = route->active[i];
	}
	r->nactive = route->nactive;
	if (route->candidate != STEER_NONE) {
		r->candidate = (uint32_t)route->candidate;
		/* A share of 2^32, rounded down; the whole is every hash. */
		r->canary = ((uint64_t)route->canary << 32) /
		    STEER_CANARY_WHOLE;
		for (i = 0; i < STEER_MAX_PROBES; i++)
			r->probe[i] = htons(route->probe[i]);
	}
	if (steer_map_update(s->route, 0, r) == -1) {
		*error = xprintf("steer: bpf(BPF_MAP_UPDATE_ELEM) route: %s",
		    strerror(errno));
		goto out;
	}
	if (!s->flushed && route->nactive > 0 && steer_flush(s, error) == -1)
		goto out;
	rc = 0;
out:
	free(r);
	return rc;
}

int
steer_repair(struct steer *s, char **error)
{
	if (steer_attach(s, error) == -1)
		return -1;
	return steer_flush(s, error);
}

void
steer_save(const struct steer *s, struct steer_saved *saved)
{
	saved->sockarray_fd = s->sockarray;
	saved->route_fd = s->route;
	saved->counts_fd = s->counts;
}

struct steer *
steer_restore(int anchor_fd, int backlog, const struct steer_saved *saved,
    char **error)
{
	struct steer	*s;
	char		*why = NULL;

	if (steer_check_anchor(anchor_fd, &why) == -1) {
		*error = xprintf("steer: %s", why);
		free(why);
		return NULL;
	}
	if (fcntl(saved->sockarray_fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(saved->route_fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(saved->counts_fd, F_SETFD, FD_CLOEXEC) == -1) {
		*error = xprintf("steer: fcntl: %s", strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->anchor = anchor_fd;
	s->backlog = backlog;
	s->sockarray = saved->sockarray_fd;
	s->route = saved->route_fd;
	s->counts = saved->counts_fd;
	s->attached = 1;
	s->flushed = 1;		/* the old image did, if there was anything */
	return s;
}

int
steer_supported(const char **why)
{
	static int		 known, answer;
	static char		 reason[512];
	struct sockaddr_in	 sin;
	struct steer		*s;
	char			*error = NULL;
	int			 fd, one = 1;

	if (!known) {
		known = 1;
		answer = -1;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
		    sizeof(one)) == -1 || bind(fd, (struct sockaddr *)&sin,
		    sizeof(sin)) == -1 || listen(fd, 1) == -1)
			error = xprintf("a test socket on 127.0.0.1: %s",
			    strerror(errno));
		else if ((s = steer_new(fd, 1, &error)) != NULL) {
			steer_free(s);
			answer = 0;
		}
		if (fd != -1)
			close(fd);
		if (error != NULL) {
			strncpy(reason, error, sizeof(reason) - 1);
			free(error);
		}
	}
	if (answer == -1 && why != NULL)
		*why = reason;
	return answer;
}
