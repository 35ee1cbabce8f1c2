#!/bin/bash
# The preload interposer: servers that bind their own port get baton's
# socket instead, ready = listen sees their listen(), reloads under load
# fail nothing and lose no work, a server that dies on SIGTERM still
# finishes its requests (DRAIN=1, IDLE=1), and what is not baton's or
# runs without preload is left alone.
. "$(dirname "$0")/lib.sh"

need_preload

PORT=$(free_port)
WORK=$T_DIR/work.log
LOG=$T_DIR/baton.log

# conf COMMAND [PRELOAD [READY [WORKERS]]]
conf() {
	http_conf "$T_DIR/baton.ini" "$PORT" "$1" "workers = ${4:-2}" \
	    "preload = ${2:-yes}" "ready = ${3:-listen}" "ready_delay = 500ms" \
	    "ready_timeout = 5s" "drain_timeout = 10s"
}

# The socket inode behind fd N of process P ("" if none).
fd_inode() {
	readlink "/proc/$1/fd/$2" 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p'
}

# The descriptors of process P, other than FD, that are socket INODE.
fds_of_inode() {
	local p=$1 skip=$2 ino=$3 f
	for f in /proc/"$p"/fd/*; do
		[ "${f##*/}" = "$skip" ] && continue
		[ "$(readlink "$f" 2>/dev/null)" = "socket:[$ino]" ] && echo "${f##*/}"
	done
}

# --- A server that binds 127.0.0.1:PORT itself serves on baton's socket.
conf "$TESTSERVER --bind 127.0.0.1:$PORT --work-ms 300 --work-log $WORK"
start_baton "$LOG" run -c "$T_DIR/baton.ini"
t_ok "ready = listen: generation 1 becomes active" \
    wait_log 10 "$LOG" 'generation 1: active'
t_ok "no worker fell back to a bind of its own" \
    sh -c "! grep -q 'baton-preload:' '$LOG'"
body=$(http_get "http://127.0.0.1:$PORT/")
wpid=${body#ok }
t_ok "a worker answers on the held port ($body)" \
    log_has "$LOG" "gen 1 worker [01] pid $wpid: started"
held=$(fd_inode "$wpid" 3)
appfd=$(fds_of_inode "$wpid" 3 "$held" | head -1)
t_ok "the socket it bound (fd ${appfd:-none}) is baton's, fd 3 (socket $held)" \
    sh -c '[ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 4 ]' _ "$held" "$appfd"
bfd=$(fds_of_inode "$BATON_PID" -1 "$held")
t_ok "baton holds that very socket" \
    sh -c '[ -n "$1" ] && [ -n "$2" ]' _ "$held" "$bfd"
t_is "$(listener_inode "$PORT" | sort -u | wc -l)" 1 \
    "one socket listens on the port: nothing was bound twice"
env=$(http_get "http://127.0.0.1:$PORT/env")
t_ok "LD_PRELOAD names the interposer" \
    sh -c "echo '$env' | grep -qx 'LD_PRELOAD=.*$(basename "$BATON_PRELOAD_LIB")'"

# 20 reloads under 32 concurrent connections: nothing fails, nothing is lost.
load_start load "http://127.0.0.1:$PORT/" -c 32 -d 60s -p p -o "$T_DIR/ids"
sleep 0.5
reload_each 2 21 0.2
t_is "$RELOADED" 20 "20 reloads, each to an active generation"
sleep 0.5
load_stop load
t_is "$(field failed "$T_DIR/load.out")" 0 "no request failed across 20 reloads"
load_ran load 1000
t_ok "every old generation exits" wait_until 20 drained
sleep 1
sort -u "$T_DIR/ids" >"$T_DIR/ids.sorted"
awk '{print $1}' "$WORK" | sort -u >"$T_DIR/done.sorted"
t_is "$(comm -23 "$T_DIR/ids.sorted" "$T_DIR/done.sorted" | wc -l)" 0 \
    "no work lost: every answered id is in the completion log"
t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 \
    "no worker was killed at a deadline"
t_ok "old workers were asked to drain first (DRAIN=1)" \
    log_has "$LOG" 'draining \(DRAIN=1; SIGTERM once idle, [0-9]+ ms at most\)'
t_ok "and got their signal once idle" \
    log_has "$LOG" 'draining \(SIGTERM, idle\)'

# --- A bind to an address baton does not hold is the server's own (one
# worker: two could not both bind it).
OTHER=$(free_port)
conf "$TESTSERVER --bind 127.0.0.1:$PORT --bind 127.0.0.1:$OTHER" yes listen 1
reload_and_wait 22
t_ok "the other port listens" wait_until 5 listening "$OTHER"
body=$(http_get "http://127.0.0.1:$OTHER/")
wpid=${body#ok }
t_ok "and the worker of generation 22 answers there ($body)" \
    log_has "$LOG" "gen 22 worker 0 pid $wpid: started"
oino=$(listener_inode "$OTHER")
wfd=$(fds_of_inode "$wpid" -1 "$oino")
t_ok "that worker holds the other port's socket ($oino)" \
    sh -c '[ -n "$1" ] && [ -n "$2" ]' _ "$oino" "$wfd"
t_ok "baton does not" [ -z "$(fds_of_inode "$BATON_PID" -1 "$oino")" ]
body=$(http_get "http://127.0.0.1:$PORT/")
t_is "$body" "ok $wpid" "the held port serves, through the same worker"
conf "$TESTSERVER --bind 127.0.0.1:$PORT"
reload_and_wait 23
t_ok "its own socket closes with it once it drained" \
    wait_until 15 not_listening "$OTHER"
stop_baton
t_is "$T_STATUS" 0 "baton stops cleanly"

# --- A server that dies on SIGTERM: its requests in flight still finish.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -z "$PY" ]; then
	t_skip "python3 is not installed"
	t_skip "python3 is not installed"
	t_skip "python3 is not installed"
	t_skip "python3 is not installed"
else
	mkdir -p "$T_DIR/www"
	echo hello >"$T_DIR/www/index.html"
	conf "$PY -m http.server $PORT --bind 127.0.0.1 --directory $T_DIR/www"
	start_baton "$LOG.py" run -c "$T_DIR/baton.ini"
	t_ok "python3 -m http.server becomes active" \
	    wait_log 15 "$LOG.py" 'generation 1: active'
	load_start py "http://127.0.0.1:$PORT/" -c 16 -d 60s
	sleep 0.5
	reload_each 2 11 0.3 "$LOG.py" 15
	load_stop py
	t_is "$RELOADED" 10 "python: 10 reloads"
	t_is "$(field failed "$T_DIR/py.out")" 0 "python: no request failed under load"
	stop_baton

	# The same, with a page that answers after a second: only the
	# DRAIN/IDLE exchange keeps SIGTERM from cutting it.
	cat >"$T_DIR/slow.py" <<'PY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(1)
        self.send_response(200)
        self.send_header('Content-Length', '3')
        self.end_headers()
        self.wfile.write(b'ok\n')
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
	conf "$PY $T_DIR/slow.py $PORT"
	start_baton "$LOG.slow" run -c "$T_DIR/baton.ini"
	wait_log 15 "$LOG.slow" 'generation 1: active'
	load_start slow "http://127.0.0.1:$PORT/" -c 16 -d 60s
	sleep 0.5
	reload_each 2 6 0.5 "$LOG.slow" 15
	sleep 1.5
	load_stop slow
	t_is "$(field failed "$T_DIR/slow.out")/$RELOADED" 0/5 \
	    "1 s requests in flight finish across 5 reloads of a server that dies on SIGTERM"
	stop_baton
fi

# --- Without preload nothing changes: its own bind of the held port fails.
conf "$TESTSERVER --bind 127.0.0.1:$PORT" no delay
"$BATON" run -c "$T_DIR/baton.ini" >"$LOG.no" 2>&1
t_is "$?" 1 "without preload, a server binding the held port does not start"
t_ok "its bind fails as usual (Address already in use)" \
    grep -q "bind: Address already in use" "$LOG.no"
OTHER=$(free_port)
conf "$TESTSERVER --bind 127.0.0.1:$OTHER" no delay 1
start_baton "$LOG.no2" run -c "$T_DIR/baton.ini"
t_ok "without preload, its own free port works" \
    wait_log 10 "$LOG.no2" 'generation 1: active'
env=$(http_get "http://127.0.0.1:$OTHER/env")
t_ok "and LD_PRELOAD is not set" \
    sh -c "echo '$env' | grep -q '^LISTEN_FDS=1$' && ! echo '$env' | grep -q '^LD_PRELOAD='"
stop_baton

# --- A server that accepts on a copy of the socket baton passed (Python's
# socket.fromfd() dup()s it) and dies on SIGTERM mid-request: the copy is
# held too, so it stops accepting and is signalled only once idle.
if command -v python3 >/dev/null && python3 -c '' 2>/dev/null; then
	PY=python3
	[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
	cat >"$T_DIR/fromfd.py" <<'PY'
import socket, time
s = socket.fromfd(3, socket.AF_INET, socket.SOCK_STREAM)
s.setblocking(True)
while True:
    c, _ = s.accept()
    c.recv(4096)
    time.sleep(0.3)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c.close()
PY
	conf "$PY $T_DIR/fromfd.py" yes delay 1
	start_active "$LOG.dup" run -c "$T_DIR/baton.ini"
	load_start dup "http://127.0.0.1:$PORT/" -c 2 -d 30s
	sleep 0.5
	ok=0
	for g in 2 3 4; do
		kill -HUP "$BATON_PID"
		wait_log 20 "$LOG.dup" "generation $((g - 1)): exited after" &&
		    ok=$((ok + 1))
	done
	load_stop dup
	t_is "$ok" 3 "fromfd: 3 reloads under load"
	t_is "$(field failed "$T_DIR/dup.out")" 0 \
	    "fromfd: no request failed on the copied socket"
	t_is "$(grep -c 'draining (SIGTERM, idle)' "$LOG.dup")" 3 \
	    "fromfd: each old worker was signalled once idle"
	stop_baton
else
	t_skip "python3 is not installed: fromfd"
	t_skip "python3 is not installed: fromfd"
	t_skip "python3 is not installed: fromfd"
fi

# --- A child that is not the worker itself (LISTEN_PID is its parent's)
# is left alone: its bind of the held port fails as usual.
conf "/bin/sh -c \"$TESTSERVER --bind 127.0.0.1:$PORT; exit 3\"" yes delay
timeout 60 "$BATON" run -c "$T_DIR/baton.ini" >"$LOG.child" 2>&1
t_is "$?" 1 "with preload, a forked child binding the held port does not start"
t_ok "its bind failed untouched" \
    grep -q "bind: Address already in use" "$LOG.child"
t_done
