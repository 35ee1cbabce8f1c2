#!/bin/bash
# baton under systemd: what it tells a notify socket about itself (READY=1
# with STATUS=, RELOADING=1 with MONOTONIC_USEC=, READY=1 again after a
# reload or a rollback, STOPPING=1), received by test/notifyrecv; socket
# activation by test/activate, where baton adopts the socket it is given
# and serves through it across reloads; and the pidfile: written, held
# against a second baton, removed at stop.
. "$(dirname "$0")/lib.sh"

NOTIFYRECV=$top_builddir/test/notifyrecv
ACTIVATE=$top_builddir/test/activate

conf() {	# conf FILE PORT EXTRA-SERVER-ARGS [EXTRA-LINES]
	http_conf "$1" "$2" "$TESTSERVER --notify $3" "workers = 2" "ready = notify" \
	    "ready_timeout = 2s" "drain_timeout = 5s" "$4"
}

# notify_seq FILE: the datagrams received, one letter each: R for READY=1,
# L for RELOADING=1, S for STOPPING=1; others (STATUS= alone) are skipped.
notify_seq() {
	awk '/(^| )STOPPING=1( |$)/ {printf "S"; next}
	    /(^| )RELOADING=1( |$)/ {printf "L"; next}
	    /(^| )READY=1( |$)/ {printf "R"}
	    END {print ""}' "$1"
}

seq_is() {	# seq_is FILE WANT
	[ "$(notify_seq "$1")" = "$2" ]
}

# status_of FILE N: the STATUS= text of the Nth datagram with READY=1.
status_of() {
	grep -E '(^| )READY=1( |$)' "$1" | sed -n "$2p" | sed -n 's/.*STATUS=//p'
}

# has TEXT REGEX: grep -E in a string.
has() {
	printf '%s\n' "$1" | grep -qE -- "$2"
}

# names_number TEXT N: TEXT has the number N, not as part of another.
names_number() {
	has "$1" "(^|[^0-9])$2([^0-9]|\$)"
}

# lacks TEXT STRING: STRING is nowhere in TEXT.
lacks() {
	! printf '%s\n' "$1" | grep -qF -- "$2"
}

# --- The tools: notifyrecv turns each datagram into a line.
NS=$T_DIR/systemd-notify	# not notify.sock: notify.ini's control socket is there
NOUT=$T_DIR/notify.out
"$NOTIFYRECV" "$T_DIR/self.sock" "$T_DIR/self.out" &
NR=$!
T_PIDS="$T_PIDS $NR"
wait_until 5 test -S "$T_DIR/self.sock"
PORT=$(free_port)
NOTIFY_SOCKET=$T_DIR/self.sock "$TESTSERVER" --bind "127.0.0.1:$PORT" --notify \
    --status "two words" --quiet >/dev/null 2>&1 &
TS=$!
T_PIDS="$T_PIDS $TS"
wait_until 5 test -s "$T_DIR/self.out"
t_is "$(cat "$T_DIR/self.out")" "READY=1 STATUS=two words" "notifyrecv: one line a datagram, newlines as spaces"
kill -TERM "$TS"
wait_exit "$TS" 5
kill -TERM "$NR"
wait_exit "$NR" 5
t_is "$T_STATUS" 0 "notifyrecv: SIGTERM, exit 0"
t_ok "notifyrecv: the socket is removed" test ! -e "$T_DIR/self.sock"

# activate passes its sockets as systemd does.
PORT=$(free_port)
"$ACTIVATE" -l "web=tcp://127.0.0.1:$PORT" -l "app=unix://$T_DIR/app.sock" -- \
    "$TESTSERVER" --quiet >/dev/null 2>&1 &
AP=$!
T_PIDS="$T_PIDS $AP"
wait_until 5 listening "$PORT"
env=$(http_get "http://127.0.0.1:$PORT/env")
t_is "$(echo "$env" | grep -E '^LISTEN_(FDS|FDNAMES|PID)=' | sort | tr '\n' ' ')" \
    "LISTEN_FDNAMES=web:app LISTEN_FDS=2 LISTEN_PID=$AP " "activate: LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID of the command"
t_is "$(http_get "http://127.0.0.1:$PORT/fds" | awk '$1 >= 3 {print $1, substr($2, 1, 7)}' | tr '\n' ' ')" \
    "3 socket: 4 socket: " "activate: the sockets at 3 and 4, nothing else"
t_ok "activate: the unix socket is there" test -S "$T_DIR/app.sock"
"$ACTIVATE" -l "web=tcp://127.0.0.1:$PORT" -- true 2>"$T_DIR/busy.err"
t_is "$?" 2 "activate: an address in use, exit 2 ($(cat "$T_DIR/busy.err"))"
"$ACTIVATE" -- true 2>/dev/null
t_is "$?" 64 "activate: no socket, exit 64"
kill -TERM "$AP"
wait_exit "$AP" 5

# --- baton's own notifications, in order.
"$NOTIFYRECV" "$NS" "$NOUT" &
NR=$!
T_PIDS="$T_PIDS $NR"
wait_until 5 test -S "$NS"
PORT=$(free_port)
CONF=$T_DIR/notify.ini
LOG=$T_DIR/notify.log
conf "$CONF" "$PORT" ""
NOTIFY_SOCKET=$NS start_baton "$LOG" run -c "$CONF"
t_ok "READY=1 when the first generation is ready" \
    wait_until 10 grep -qE '(^| )READY=1( |$)' "$NOUT"
t_ok "not before it is active" log_has "$LOG" 'generation 1: active'
t_diag "$(cat "$NOUT")"
t_is "$(notify_seq "$NOUT")" R "nothing but READY=1 yet"
t_ok "with a STATUS= line in the same datagram" grep -qE '(^| )READY=1( |$).*STATUS=|STATUS=.* READY=1( |$)' "$NOUT"
st=$(status_of "$NOUT" 1)
t_ok "that names generation 1 ($st)" names_number "$st" 1
wenv=$(http_get "http://127.0.0.1:$PORT/env")
wns=$(echo "$wenv" | sed -n 's/^NOTIFY_SOCKET=//p')
t_ok "a worker gets baton's own notify socket ($wns), not systemd's" [ "${wns:0:1}" = @ ]
t_ok "systemd's path appears nowhere in a worker's environment" lacks "$wenv" "$NS"

# A reload: RELOADING=1 with MONOTONIC_USEC, then READY=1.
kill -HUP "$BATON_PID"
wait_log 10 "$LOG" 'generation 2: active'
t_ok "a reload: RELOADING=1, then READY=1" wait_until 5 seq_is "$NOUT" RLR
t_diag "$(cat "$NOUT")"
reloading=$(grep -E '(^| )RELOADING=1( |$)' "$NOUT" | head -n 1)
t_ok "RELOADING=1 comes with MONOTONIC_USEC=<digits>" has "$reloading" '(^| )MONOTONIC_USEC=[0-9]+( |$)'
usec=$(echo "$reloading" | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
if command -v python3 >/dev/null && python3 -c '' 2>/dev/null; then
	now=$(python3 -c 'import time; print(int(time.monotonic() * 1000000))')
	t_ok "MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds ($usec, now $now)" \
	    [ "${usec:-0}" -le "$now" -a $((now - ${usec:-0})) -lt 60000000 ]
else
	t_skip "python3 is not installed: MONOTONIC_USEC against CLOCK_MONOTONIC"
fi
st=$(status_of "$NOUT" 2)
t_ok "the STATUS= after the reload names generation 2 ($st)" names_number "$st" 2

# A rollback ends the reload too: READY=1 again, generation 2 still active.
conf "$CONF" "$PORT" "--exit-at-start 3"
kill -HUP "$BATON_PID"
wait_log 10 "$LOG" 'generation 3: rolled back'
t_ok "a rolled-back reload: RELOADING=1, then READY=1" wait_until 5 seq_is "$NOUT" RLRLR
st=$(status_of "$NOUT" 3)
t_ok "its STATUS= names generation 2 ($st)" names_number "$st" 2
n=$(grep -cE '(^| )RELOADING=1( |$).*MONOTONIC_USEC=[0-9]+|MONOTONIC_USEC=[0-9]+.*(^| )RELOADING=1( |$)' "$NOUT")
t_is "$n" 2 "each RELOADING=1 has its MONOTONIC_USEC"

# Stop: STOPPING=1, last.
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "baton stops: exit 0"
sleep 0.2
t_is "$(notify_seq "$NOUT")" RLRLRS "STOPPING=1, last: READY, RELOADING, READY, RELOADING, READY, STOPPING"
t_diag "$(cat "$NOUT")"
kill -TERM "$NR"
wait_exit "$NR" 5

# --- Socket activation: baton adopts the socket it is given.
PORT=$(free_port)
CONF=$T_DIR/activated.ini
LOG=$T_DIR/activated.log
conf "$CONF" "$PORT" ""
"$ACTIVATE" -l "http=tcp://127.0.0.1:$PORT" -- "$BATON" run -c "$CONF" >"$LOG" 2>&1 &
BATON_PID=$!	# exec keeps the pid
T_PIDS="$T_PIDS $BATON_PID"
t_ok "an activated baton starts" wait_log 10 "$LOG" 'generation 1: active'
t_ok "it logs that it adopted the socket" log_has "$LOG" 'adopted'
t_diag "$(grep -i adopt "$LOG")"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "it serves through it ($body)" [ "${body#ok }" != "$body" ]
inode=$(listener_inode "$PORT")
t_is "$(echo "$inode" | grep -c .)" 1 "one socket listens on the port"
fd3=$(http_get "http://127.0.0.1:$PORT/fds" | awk '$1 == 3 {print $2}')
t_is "$fd3" "socket:[$inode]" "the worker's fd 3 is that socket"
wenv=$(http_get "http://127.0.0.1:$PORT/env")
t_is "$(echo "$wenv" | grep -E '^LISTEN_(FDS|FDNAMES)=' | sort | tr '\n' ' ')" \
    "LISTEN_FDNAMES=http LISTEN_FDS=1 " "a worker gets one socket named http"
wpid=$(echo "$wenv" | sed -n 's/^LISTEN_PID=//p')
t_ok "with its own LISTEN_PID ($wpid), not baton's" [ -n "$wpid" -a "$wpid" != "$BATON_PID" ]
t_is "$(http_get "http://127.0.0.1:$PORT/fds" | awk '$1 >= 3' | wc -l)" 2 "and nothing of baton's but the socket and its channel"

"$LOADGEN" -u "http://127.0.0.1:$PORT/" -c 8 -d 4s -t 5000 >"$T_DIR/activated.out" &
LG=$!
sleep 0.3
reload_each 2 4 0.5
t_is "$RELOADED" 3 "3 reloads, each to an active generation"
wait "$LG"
t_diag "$(cat "$T_DIR/activated.out")"
t_is "$(field failed "$T_DIR/activated.out")" 0 "no request failed across 3 reloads"
load_ran activated 100
fd3=$(http_get "http://127.0.0.1:$PORT/fds" | awk '$1 == 3 {print $2}')
t_is "$fd3" "socket:[$inode]" "generation 4 serves on the same adopted socket"
t_is "$(listener_inode "$PORT")" "$inode" "and it is still the only one"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "an activated baton stops: exit 0"
t_ok "the port is closed" not_listening "$PORT"

# --- Sockets named after their unit (no FileDescriptorName=): adopted by
# address. One passed socket matches nothing and is closed with a warning.
PORT=$(free_port)
STRAY=$(free_port)
CONF=$T_DIR/byaddr.ini
LOG=$T_DIR/byaddr.log
conf "$CONF" "$PORT" ""
cat >>"$CONF" <<CONF

[socket:admin]
listen = unix://$T_DIR/byaddr-admin.sock
CONF
"$ACTIVATE" -l "app.socket=unix://$T_DIR/byaddr-admin.sock" \
    -l "app.socket=tcp://127.0.0.1:$PORT" \
    -l "other.socket=tcp://127.0.0.1:$STRAY" \
    -- "$BATON" run -c "$CONF" >"$LOG" 2>&1 &
BATON_PID=$!
T_PIDS="$T_PIDS $BATON_PID"
t_ok "by address: baton starts" wait_log 10 "$LOG" 'generation 1: active'
t_diag "$(grep -iE 'adopt|passed' "$LOG")"
t_ok "by address: the tcp socket is adopted" \
    log_has "$LOG" 'socket http: adopted from the service manager \(fd 4, by address\)'
t_ok "by address: the unix socket is adopted" \
    log_has "$LOG" 'socket admin: adopted from the service manager \(fd 3, by address\)'
t_ok "by address: the stray one is named and closed" \
    log_has "$LOG" "passed socket 'other.socket' \\(fd 5\\) matches no"
t_ok "by address: nothing listens on the stray port any more" not_listening "$STRAY"
inode=$(listener_inode "$PORT")
t_is "$(echo "$inode" | grep -c .)" 1 "by address: one socket listens on the port"
fd3=$(http_get "http://127.0.0.1:$PORT/fds" | awk '$1 == 3 {print $2}')
t_is "$fd3" "socket:[$inode]" "by address: the worker's fd 3 (http, first in the file) is the passed socket"
kill -HUP "$BATON_PID"
t_ok "by address: a reload keeps them" wait_log 10 "$LOG" 'generation 2: active'
t_is "$(listener_inode "$PORT")" "$inode" "by address: still the same tcp socket"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "by address: baton stops: exit 0"
t_ok "by address: an adopted unix socket's path is left to its owner" \
    test -S "$T_DIR/byaddr-admin.sock"

# --- The pidfile: relative to the file's folder, held, removed at stop.
mkdir "$T_DIR/etc"
cd "$T_DIR" || exit 1
PORT=$(free_port)
CONF=$T_DIR/etc/app.ini
LOG=$T_DIR/pid.log
PIDFILE=$T_DIR/etc/baton.pid
conf "$CONF" "$PORT" "" "pidfile = baton.pid"
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active' || t_diag "$(cat "$LOG")"
t_ok "the pidfile is written beside the configuration file" wait_until 5 test -s "$PIDFILE"
t_ok "not in the current folder" test ! -e "$T_DIR/baton.pid"
t_is "$(cat "$PIDFILE" 2>/dev/null)" "$BATON_PID" "it holds baton's pid"
t_is "$(wc -c <"$PIDFILE" 2>/dev/null)" "$(( ${#BATON_PID} + 1 ))" "and a newline, nothing else"

PORT2=$(free_port)
conf "$T_DIR/etc/other.ini" "$PORT2" "" "pidfile = $PIDFILE"
timeout 10 "$BATON" run -c "$T_DIR/etc/other.ini" >"$T_DIR/other.out" 2>&1
t_is "$?" 1 "a second baton with the same pidfile: exit 1"
t_diag "$(cat "$T_DIR/other.out")"
t_ok "the message names the pidfile" grep -qF "$PIDFILE" "$T_DIR/other.out"
t_ok "and the first baton's pid" grep -qw "$BATON_PID" "$T_DIR/other.out"
t_is "$(cat "$PIDFILE")" "$BATON_PID" "the pidfile is untouched"
t_ok "the second one does not serve" not_listening "$PORT2"
t_ok "nor leave its control socket" test ! -e "$T_DIR/etc/other.sock"
t_ok "the first one still runs" kill -0 "$BATON_PID"

kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_ok "the pidfile is removed at stop" test ! -e "$PIDFILE"

# A pidfile left by a killed baton holds nothing: a new one starts.
start_baton "$LOG.2" run -c "$CONF"
wait_log 10 "$LOG.2" 'generation 1: active'
wait_until 5 test -s "$PIDFILE"
kill -KILL "$BATON_PID"
wait_exit "$BATON_PID" 5
t_ok "a killed baton leaves its pidfile" test -e "$PIDFILE"
wait_until 10 not_listening "$PORT"	# its orphans drain
start_baton "$LOG.3" run -c "$CONF"
t_ok "a new baton starts over a stale pidfile" wait_log 10 "$LOG.3" 'generation 1: active'
t_ok "and writes its own pid" wait_until 5 sh -c "[ \"\$(cat '$PIDFILE')\" = '$BATON_PID' ]"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "it stops: exit 0"
t_ok "and removes the pidfile" test ! -e "$PIDFILE"

t_done
