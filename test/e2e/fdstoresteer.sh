#!/bin/bash
# A crash of baton with steered sockets (ready = probe) under a service
# manager with a descriptor store (test/fakesd): the new baton adopts the
# held socket, which is still in its SO_REUSEPORT group with the dead
# baton's program attached and its generation's socket held by the
# draining workers. SIGKILLed under load, it steers again at once: no
# connection is refused or fails, what queued for the old workers moves
# to the new generation, and a reload after it is steered as ever (a
# candidate whose probe fails is rolled back, a good one takes over).
. "$(dirname "$0")/lib.sh"

FAKESD=$top_builddir/test/fakesd
CONF=$T_DIR/app.ini
LOG=$T_DIR/fdstore.log
STORE=$T_DIR/store
MAINPID=$T_DIR/main.pid
PORT=$(free_port)

conf() {	# conf SERVER-ARGS
	steer_conf "$CONF" "$PORT" "--quiet $1" "ready_timeout = 3s"
}

conf ""
need_steer "$CONF"

# seen N PATTERN: PATTERN is in $LOG at least N times.
seen() {
	[ "$(grep -cE -- "$2" "$LOG")" -ge "$1" ]
}

# stored_inode NAME: the inode of the socket stored as NAME.
stored_inode() {
	awk -v n="$1" '$1 == n {print $2}' "$STORE"
}

# stored_member: the inodes of the generations' own sockets stored.
stored_member() {
	awk '$1 ~ /^http@/ {print $2}' "$STORE"
}

# member_replaced INODE: one member is stored, and it is not INODE.
member_replaced() {
	local now
	now=$(stored_member)
	[ -n "$now" ] && [ "$(echo "$now" | wc -l)" = 1 ] && [ "$now" != "$1" ]
}

main_pid() {
	cat "$MAINPID"
}

"$FAKESD" -s "$T_DIR/sd.sock" -m 8 -p "$MAINPID" -o "$STORE" -- \
    "$BATON" run -c "$CONF" >"$LOG" 2>&1 &
SD=$!
T_PIDS="$T_PIDS $SD"
t_ok "baton starts under fakesd" wait_log 10 "$LOG" 'generation 1: active'
t_ok "the socket is steered" log_has "$LOG" 'socket http: steered'
t_ok "and stored" wait_log 5 "$LOG" "socket http: kept in the service manager's descriptor store"
t_ok "its generation's own socket too, as http@INDEX" \
    wait_until 5 log_has "$STORE" '^http@[0-9]+ '
member=$(stored_member)
inode=$(stored_inode http)

# --- SIGKILL baton twice under load (new connections, Connection: close).
"$LOADGEN" -u "http://127.0.0.1:$PORT/" -c 8 -d 8s -t 5000 >"$T_DIR/load.out" &
LG=$!
sleep 1
old=$(gen_pids "$LOG" 1)
kill -KILL "$(main_pid)"
t_ok "crash 1: the new baton adopts http" \
    wait_until 10 seen 1 'socket http: adopted from the service manager'
t_ok "crash 1: it steers it again" wait_until 10 seen 2 'socket http: steered'
t_ok "crash 1: its first generation is active" \
    wait_until 10 seen 2 'generation 1: active'
t_ok "crash 1: the dead baton's member leaves the store, the new one's is in" \
    wait_until 5 member_replaced "$member"
t_ok "crash 1: the crashed baton's workers drain and exit" \
    wait_until 10 [ "$(alive $old)" = 0 ]
sleep 1
old=$(gen_pids "$LOG" 1 | tail -n 2)
kill -KILL "$(main_pid)"
t_ok "crash 2: adopted again" \
    wait_until 10 seen 2 'socket http: adopted from the service manager'
t_ok "crash 2: its first generation is active" \
    wait_until 10 seen 3 'generation 1: active'
t_ok "crash 2: the crashed baton's workers drain and exit" \
    wait_until 10 [ "$(alive $old)" = 0 ]
wait "$LG"
t_diag "$(tr '\n' ' ' <"$T_DIR/load.out")"
t_is "$(field refused "$T_DIR/load.out")" 0 "no connection refused across 2 crashes"
t_is "$(field failed "$T_DIR/load.out")" 0 "no request failed either"
load_ran load 500
t_is "$(stored_inode http)" "$inode" "the same socket was held throughout"
GEN1=$(gen_pids "$LOG" 1 | tail -n 2)
sample 10
t_ok "users reach the new baton's generation" only_from "$T_DIR/sample.10" $GEN1

# --- After the crashes, a candidate whose probe fails is rolled back: the
# probe reaches it alone. A good one takes over.
conf "--unhealthy"
kill -HUP "$(main_pid)"
t_ok "generation 2's probe fails" \
    wait_log 8 "$LOG" 'gen 2 worker [01] pid [0-9]+: probe failed: HTTP 503'
sample 10
t_ok "and it is rolled back" wait_log 10 "$LOG" 'generation 2: rolled back'
t_ok "meanwhile users reached generation 1 only" \
    only_from "$T_DIR/sample.10" $GEN1
conf ""
kill -HUP "$(main_pid)"
t_ok "generation 3 becomes active" wait_log 10 "$LOG" 'generation 3: active'
sample 10
t_ok "then users reach generation 3 only" \
    only_from "$T_DIR/sample.10" $(gen_pids "$LOG" 3)

kill -TERM "$SD"
wait_exit "$SD" 20
t_is "$T_STATUS" 0 "stop: fakesd and baton exit 0"
t_ok "stop: nothing was left in the store" \
    log_has "$LOG" 'fakesd: stopped; 0 descriptors left in the store'
t_done
