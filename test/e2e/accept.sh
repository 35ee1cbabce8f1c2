#!/bin/bash
# A server whose main process dies on the drain signal (no handler, one
# thread) and accepts connections itself before handing them to a child,
# as busybox's httpd does: killed between accept() and fork(), it would
# take the connection it had just accepted with it. baton sends it the
# signal only while it is stopped in accept() on a held socket.
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null || ! python3 -c '' 2>/dev/null; then
	t_skip "python3 is not installed: the server of this test is Python"
	t_done
	exit
fi

# The interpreter itself, not a wrapper that runs it as a child (pyenv's
# shim is a shell script): the main process must be the server.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# Accept, hold the connection 150 ms (the window), fork a child to answer.
SERVER=$T_DIR/server.py
cat >"$SERVER" <<'PY'
import os, signal, socket, time

signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.socket(fileno=3)
s.setblocking(True)
while True:
    c, _ = s.accept()
    time.sleep(0.15)
    if os.fork() == 0:
        c.recv(4096)
        body = b"ok %d" % os.getppid()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" %
                  (len(body), body))
        c.close()
        os._exit(0)
    c.close()
PY

PORT=$(free_port)
LOG=$T_DIR/baton.log
http_conf "$T_DIR/baton.ini" "$PORT" "$PY $SERVER" "ready = delay" \
    "ready_delay = 300ms" "drain_timeout = 5s"
start_baton "$LOG" run --log-level debug -c "$T_DIR/baton.ini"
t_ok "generation 1 is active" wait_log 10 "$LOG" 'generation 1: active'
# One request at a time, 50 ms apart: the server waits in accept() most
# of the time, and holds a connection 150 ms of every 200.
client() {
	local i
	for i in $(seq 1 150); do
		[ -e "$T_DIR/stop" ] && break
		if http_get "http://127.0.0.1:$PORT/" >/dev/null 2>&1; then
			echo ok
		else
			echo failed
		fi
		sleep 0.05
	done >"$T_DIR/client.out"
}
client &
CL=$!
sleep 0.5
ok=0
for g in 2 3 4 5 6; do
	kill -HUP "$BATON_PID"
	wait_log 20 "$LOG" "generation $((g - 1)): exited after" && ok=$((ok + 1))
	sleep 0.4
done
t_is "$ok" 5 "5 reloads while a client sends requests"
touch "$T_DIR/stop"
wait "$CL"
t_is "$(grep -c failed "$T_DIR/client.out")" 0 \
    "no connection is lost with the main process ($(grep -c ok "$T_DIR/client.out") answered)"
t_is "$(grep -c 'SIGTERM sent while it waited in accept()' "$LOG")" 5 \
    "each old main process got SIGTERM while it waited in accept()"
stop_baton
t_is "$T_STATUS" 0 "baton stops"
t_done
