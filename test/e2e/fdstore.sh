#!/bin/bash
# A crash of baton under a service manager with a descriptor store
# (test/fakesd, which speaks systemd's protocols): baton keeps its sockets
# in the store (FDSTORE=1, FDNAME= the socket's name); SIGKILLed twice
# under load, it is restarted with them (LISTEN_FDS, LISTEN_FDNAMES),
# adopts them back, and no connection is refused or fails meanwhile. A
# socket removed from the file leaves the store once no generation holds
# it; a stored socket whose address the file changed is closed and
# replaced; a clean stop leaves nothing stored.
. "$(dirname "$0")/lib.sh"

FAKESD=$top_builddir/test/fakesd
CONF=$T_DIR/app.ini
LOG=$T_DIR/fdstore.log
STORE=$T_DIR/store
MAINPID=$T_DIR/main.pid
ADMIN=$T_DIR/admin.sock

conf() {	# conf PORT [admin]: http on PORT, and admin if asked
	http_conf "$CONF" "$1" "$TESTSERVER --notify --quiet" "workers = 2" \
	    "ready = notify" "ready_timeout = 5s" "drain_timeout = 5s"
	[ -z "${2:-}" ] || printf '\n[socket:admin]\nlisten = unix://%s\n' \
	    "$ADMIN" >>"$CONF"
}

# stored: the names in the store, sorted, on one line.
stored() {
	awk '{print $1}' "$STORE" | sort | tr '\n' ' '
}

stored_is() {
	[ "$(stored)" = "$1" ]
}

# stored_inode NAME: the inode of the socket stored as NAME.
stored_inode() {
	awk -v n="$1" '$1 == n {print $2}' "$STORE"
}

# seen N PATTERN: PATTERN is in $LOG at least N times.
seen() {
	[ "$(grep -cE -- "$2" "$LOG")" -ge "$1" ]
}

main_pid() {
	cat "$MAINPID"
}

# --- Without FDSTORE (FileDescriptorStoreMax=0, or systemd before 254),
# baton stores nothing.
PORT=$(free_port)
conf "$PORT" admin
"$FAKESD" -s "$T_DIR/sd.sock" -m 0 -p "$MAINPID" -o "$STORE" -- \
    "$BATON" run -c "$CONF" >"$T_DIR/nostore.log" 2>&1 &
SD=$!
T_PIDS="$T_PIDS $SD"
t_ok "no store: baton starts" wait_log 10 "$T_DIR/nostore.log" 'generation 1: active'
kill -TERM "$SD"
wait_exit "$SD" 15
t_is "$T_STATUS" 0 "no store: a stop, exit 0"
t_is "$(grep -cE 'stored|descriptor store' "$T_DIR/nostore.log")" 0 \
    "no store: nothing was sent to it"
t_diag "$(grep fakesd "$T_DIR/nostore.log")"

# --- With a store: both sockets go there, under their names.
"$FAKESD" -s "$T_DIR/sd.sock" -m 8 -p "$MAINPID" -o "$STORE" -- \
    "$BATON" run -c "$CONF" >"$LOG" 2>&1 &
SD=$!
T_PIDS="$T_PIDS $SD"
t_ok "baton starts under fakesd" wait_log 10 "$LOG" 'generation 1: active'
t_ok "both sockets are stored, by name" wait_until 5 stored_is "admin http "
t_ok "baton says so" log_has "$LOG" "socket http: kept in the service manager's descriptor store"
inode=$(listener_inode "$PORT")
t_is "$(stored_inode http)" "$inode" "the stored http is the socket that listens"
t_is "$(http_get "http://127.0.0.1:$PORT/env" | grep -c '^FDSTORE=')" 0 \
    "a worker does not see FDSTORE"

# --- SIGKILL baton twice under load (new connections, Connection: close).
"$LOADGEN" -u "http://127.0.0.1:$PORT/" -c 8 -d 7s -t 5000 >"$T_DIR/load.out" &
LG=$!
sleep 1
old=$(gen_pids "$LOG" 1)
crashed=$(main_pid)
kill -KILL "$crashed"
t_ok "crash 1: restarted with the stored sockets" \
    wait_log 5 "$LOG" 'started pid [0-9]+ with LISTEN_FDS=2 LISTEN_FDNAMES=(http:admin|admin:http)$'
t_ok "crash 1: the new baton adopts http by name" \
    wait_until 10 seen 1 'socket http: adopted from the service manager \(fd [34], by name\)'
t_ok "crash 1: and admin" \
    log_has "$LOG" 'socket admin: adopted from the service manager \(fd [34], by name\)'
t_ok "crash 1: its first generation is active" \
    wait_until 10 seen 2 'generation 1: active'
t_ok "crash 1: the crashed baton's workers drain and exit" \
    wait_until 10 [ "$(alive $old)" = 0 ]
sleep 1
old=$(gen_pids "$LOG" 1)
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
load_ran load 100
t_is "$(listener_inode "$PORT")" "$inode" "the same socket listened throughout"
t_is "$(stored_inode http)" "$inode" "and is still the one stored"
t_is "$(grep -c 'stored already' "$LOG")" 0 "nothing was stored twice"
t_is "$(grep -c "socket http: kept in the service" "$LOG")" 1 \
    "the adopted sockets are not sent again"
t_diag "$(grep -E 'fakesd|adopted|descriptor store' "$LOG")"

# --- A reload without admin: it leaves the store once generation 1 exits.
conf "$PORT"
kill -HUP "$(main_pid)"
t_ok "reload: generation 2 is active" wait_log 10 "$LOG" 'generation 2: active'
t_ok "reload: admin is taken out of the store" wait_until 10 stored_is "http "
t_ok "reload: baton says so" log_has "$LOG" "descriptor store: 'admin' taken out"
t_ok "reload: not before generation 1 exited" \
    [ "$(grep -nE "generation 1: exited|'admin' taken out" "$LOG" | tail -n 2 |
    head -n 1 | grep -c 'exited')" = 1 ]
t_is "$(stored_inode http)" "$inode" "reload: http stays, the same socket"

# --- The file moves http to another port, then baton crashes: the stored
# socket no longer matches, and is closed and replaced.
PORT2=$(free_port)
conf "$PORT2"
old=$(gen_pids "$LOG" 2)
kill -KILL "$(main_pid)"
t_ok "moved: the new baton starts" wait_until 10 seen 4 'generation 1: active'
t_ok "moved: the stale socket is named and closed" \
    log_has "$LOG" "passed socket 'http' \\(fd 3\\) is not at tcp://127.0.0.1:$PORT2; closed"
t_ok "moved: it serves on the new port" listening "$PORT2"
t_ok "moved: the new socket is stored" \
    wait_until 5 [ "$(stored_inode http)" = "$(listener_inode "$PORT2")" ]
t_ok "moved: the old port closes once the crashed workers are gone" \
    wait_until 10 not_listening "$PORT"

# --- A clean stop takes everything out of the store.
kill -TERM "$SD"
wait_exit "$SD" 20
t_is "$T_STATUS" 0 "stop: fakesd and baton exit 0"
t_ok "stop: baton exited 0" log_has "$LOG" 'fakesd: pid [0-9]+ exited 0'
t_ok "stop: nothing was left in the store" \
    log_has "$LOG" 'fakesd: stopped; 0 descriptors left in the store'
t_ok "stop: the port is closed" not_listening "$PORT2"
t_diag "$(grep -E 'fakesd: (stored|removed|stopped)' "$LOG")"

t_done
