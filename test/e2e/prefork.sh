#!/bin/bash
# Prefork servers under the preload interposer: every process of a worker
# stops accepting when its generation drains, and the drain signal goes
# once all of them are idle. A Python prefork server whose children die
# at once on SIGTERM (as Net::Server's do) and whose master, given SIGTERM
# (drain_to = main), passes it on to them and waits: under load, with
# Connection: close and keep-alive, across reloads, no request fails and
# none is cut. A server given its sockets (LISTEN_FDS) drains as one that
# binds. And starman --workers 2, if it is installed.
. "$(dirname "$0")/lib.sh"

need_preload

PORT=$(free_port)
LOG=$T_DIR/baton.log
SEEN=$T_DIR/seen.log

# conf COMMAND [DRAIN_SIGNAL]
conf() {
	http_conf "$T_DIR/baton.ini" "$PORT" "$1" "workers = 1" "preload = yes" \
	    "ready = listen" "ready_timeout = 20s" "drain_to = main" \
	    "drain_signal = ${2:-SIGTERM}" "drain_timeout = 10s"
}

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -z "$PY" ]; then
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17; do
		t_skip "python3 is not installed"
	done
else
	# The master binds its port, forks 2 children that accept in a loop
	# and answer after WORK ms, keep-alive included; they die at once on
	# SIGTERM. The master, on SIGTERM, sends it on and waits for them.
	cat >"$T_DIR/prefork.py" <<'PY'
import os, signal, socket, sys, time
port, work, seen = int(sys.argv[1]), int(sys.argv[2]) / 1000, sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', port))
s.listen(128)

def serve(c):
    f = c.makefile('rb')
    while True:
        line = f.readline()
        if not line:
            return
        head = {}
        while True:
            h = f.readline()
            if h in (b'\r\n', b'\n', b''):
                break
            k, _, v = h.decode().partition(':')
            head[k.strip().lower()] = v.strip()
        with open(seen, 'a') as w:
            w.write(head.get('x-request-id', '-') + '\n')
        time.sleep(work)
        close = head.get('connection', '').lower() == 'close'
        body = b'ok %d\n' % os.getpid()
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s' %
                  (len(body), b'Connection: close\r\n' if close else b'', body))
        if close:
            return

def child():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        c, _ = s.accept()
        try:
            serve(c)
        except OSError:
            pass
        c.close()

kids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        child()
        os._exit(0)
    kids.append(pid)

def term(sig, frame):
    for k in kids:
        os.kill(k, signal.SIGTERM)
    for k in kids:
        os.waitpid(k, 0)
    os._exit(0)

signal.signal(signal.SIGTERM, term)
while True:
    signal.pause()
PY
	conf "$PY $T_DIR/prefork.py $PORT 200 $SEEN"
	: >"$SEEN"
	start_baton "$LOG" run -c "$T_DIR/baton.ini"
	t_ok "prefork: the Python prefork server becomes active (ready = listen)" \
	    wait_log 20 "$LOG" 'generation 1: active'
	GEN=1
	reload_under_load close 5 -c 8 -p c
	reloaded_well close "prefork, Connection: close" 5 50
	: >"$SEEN"
	# One connection per child: a keep-alive one holds its child.
	reload_under_load keep 5 -c 2 -k -p k
	reloaded_well keep "prefork, keep-alive" 5 50
	t_ok "prefork: the master was asked to drain first (DRAIN=1)" \
	    log_has "$LOG" 'draining \(DRAIN=1; SIGTERM once idle, [0-9]+ ms at most\)'
	t_ok "prefork: and got SIGTERM once its children were idle" \
	    log_has "$LOG" 'draining \(SIGTERM, idle\)'
	d=$(longest_drain SIGTERM)
	t_ok "prefork: each master got it within 3 s of DRAIN=1, not at the 9 s limit (longest: $d ms)" \
	    test "$d" -gt 0 -a "$d" -lt 3000
	t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 \
	    "prefork: no worker was killed at the deadline"
	stop_baton
fi

# --- A server given its socket (LISTEN_FDS, fd 3) drains as one that
# binds: DRAIN=1, then its signal once idle; ready = listen sees it
# start accepting, since it never calls listen().
LOG=$T_DIR/fds.log
WORK=$T_DIR/work.log
conf "$TESTSERVER --protocol systemd --work-ms 300 --work-log $WORK"
start_baton "$LOG" run -c "$T_DIR/baton.ini"
t_ok "LISTEN_FDS: ready = listen: generation 1 becomes active" \
    wait_log 20 "$LOG" 'generation 1: active'
GEN=1
: >"$SEEN"
reload_under_load fds 5 -c 16 -p f -o "$T_DIR/fds.ids"
t_is "$RELOADED" 5 "LISTEN_FDS: 5 reloads, each to an active generation"
t_is "$(field failed "$T_DIR/fds.out")" 0 "LISTEN_FDS: no request failed"
sleep 1		# the active generation's last work ends 300 ms after its answer
sort -u "$T_DIR/fds.ids" >"$T_DIR/ids.sorted"
awk '{print $1}' "$WORK" | sort -u >"$T_DIR/done.sorted"
t_is "$(comm -23 "$T_DIR/ids.sorted" "$T_DIR/done.sorted" | wc -l)" 0 \
    "LISTEN_FDS: no work lost: every answered id is in the completion log"
t_ok "LISTEN_FDS: old workers were asked to drain first (DRAIN=1)" \
    log_has "$LOG" 'draining \(DRAIN=1; SIGTERM once idle, [0-9]+ ms at most\)'
t_ok "LISTEN_FDS: and got their signal once idle" \
    log_has "$LOG" 'draining \(SIGTERM, idle\)'
t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 \
    "LISTEN_FDS: no worker was killed at the deadline"
stop_baton

# --- starman --workers 2 binds its own port; SIGQUIT to its master.
LOG=$T_DIR/starman.log
if ! command -v starman >/dev/null; then
	for i in 1 2 3 4 5 6 7; do
		t_skip "starman is not installed"
	done
else
	cat >"$T_DIR/app.psgi" <<PSGI
use Time::HiRes ();
sub {
	my \$env = shift;
	open(my \$f, '>>', '$SEEN');
	print \$f (\$env->{HTTP_X_REQUEST_ID} // '-'), "\n";
	close(\$f);
	Time::HiRes::sleep(0.2);
	[200, ['Content-Type' => 'text/plain'], ["ok \$\$\n"]];
}
PSGI
	conf "starman --workers 2 --listen 127.0.0.1:$PORT $T_DIR/app.psgi" SIGQUIT
	: >"$SEEN"
	start_baton "$LOG" run -c "$T_DIR/baton.ini"
	t_ok "starman: becomes active" wait_log 20 "$LOG" 'generation 1: active'
	GEN=1
	reload_under_load starman 5 -c 16 -p s
	t_is "$RELOADED" 5 "starman: 5 reloads, each to an active generation"
	t_ok "starman: every old generation exits" drained
	t_is "$(field failed "$T_DIR/starman.out")" 0 "starman: no request failed"
	t_is "$(twice)" 0 "starman: no request was cut (none reached a server twice)"
	t_ok "starman: its master got SIGQUIT once its children were idle" \
	    log_has "$LOG" 'draining \(SIGQUIT, idle\)'
	d=$(longest_drain SIGQUIT)
	t_ok "starman: within 3 s of DRAIN=1 (longest: $d ms)" \
	    test "$d" -gt 0 -a "$d" -lt 3000
	stop_baton
fi
t_done
