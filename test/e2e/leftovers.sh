#!/bin/bash
# What a worker leaves behind: a server whose main process exits while a
# child it forked goes on serving (in its group, in a session of its own,
# or with its environment wiped). baton is a child subreaper: each such
# process comes back to it, is traced to the worker it came from, drained
# and killed with that worker, and reaped; a slot restarts only once its
# old processes are gone, and `baton stop` returns only when every one of
# them is gone. Nothing keeps the port after baton.
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null || ! python3 -c '' 2>/dev/null; then
	t_skip "python3 is not installed: the servers of this test are Python"
	t_done
	exit
fi

# A server that forks a child to serve on fd 3 and exits 0 itself after
# EXIT_MS (or never, with 0). MODE: group (the child stays in the group),
# setsid (a session of its own), wiped (setsid, then an exec with an empty
# environment), deep (a child that forks a grandchild in a session of its
# own, then waits). With "stubborn" in MODE the server ignores SIGTERM.
# Each process writes "TERM pid" to the marker file when it gets SIGTERM.
SERVER=$T_DIR/server.py
cat >"$SERVER" <<'PY'
import os, signal, socket, sys, time

mode, exit_ms, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def on_term(*_):
    with open(marker, "a") as f:
        f.write("TERM %d\n" % os.getpid())
    if "stubborn" not in mode:
        os._exit(0)

def serve():
    signal.signal(signal.SIGTERM, on_term)
    s = socket.socket(fileno=3)
    s.setblocking(True)
    while True:
        try:
            c, _ = s.accept()
        except InterruptedError:
            continue
        c.recv(4096)
        body = b"child %d" % os.getpid()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" %
                  (len(body), body))
        c.close()

if len(sys.argv) > 4 and sys.argv[4] == "serve":
    serve()
signal.signal(signal.SIGTERM, on_term)
if os.fork() == 0:
    if "setsid" in mode or "wiped" in mode or "deep" in mode:
        os.setsid()
    if "deep" in mode:
        if os.fork() == 0:
            serve()
        while True:
            time.sleep(1)
    if "wiped" in mode:
        os.execve(sys.executable, [sys.executable, sys.argv[0], mode,
                  "0", marker, "serve"], {})
    serve()
if exit_ms > 0:
    time.sleep(exit_ms / 1000)
    sys.exit(0)
while True:
    time.sleep(1)
PY

# conf FILE PORT MODE EXIT-MS [DRAIN-TIMEOUT [DRAIN-TO]]
conf() {
	http_conf "$1" "$2" "python3 $SERVER $3 $4 $T_DIR/$3.term" "ready = delay" \
	    "ready_delay = 100ms" "drain_timeout = ${5:-2s}" "drain_to = ${6:-main}"
}

# children_of PID: the pids of its children.
children_of() {
	ps -o pid= --ppid "$1" | tr -d ' '
}

# marked MODE: pids of the test's processes of that mode still running.
marked() {
	pgrep -f "$SERVER $1 " | grep -v "^$$\$"
}

none_marked() {
	[ -z "$(marked "$1")" ]
}

child_answers() {
	http_get "http://127.0.0.1:$1/" | grep -q '^child '
}

# --- the main process exits 0; its child serves on in the group ----------
PORT=$(free_port)
CONF=$T_DIR/group.ini
LOG=$T_DIR/group.log
conf "$CONF" "$PORT" group-stubborn 400
start_baton "$LOG" run -c "$CONF"
t_ok "group: generation 1 is active" wait_log 10 "$LOG" 'generation 1: active'
t_ok "group: the main process exits 0" wait_log 5 "$LOG" 'exited with status 0'
t_ok "group: its child is traced to the worker by its process group" \
    log_has "$LOG" 'left to baton by its parent; it came from worker 0 \(by its process group\)'
t_ok "group: the slot waits for it, draining it" \
    log_has "$LOG" 'draining \(SIGTERM, its main process exited\)'
t_ok "group: it got the drain signal" wait_until 5 grep -q TERM "$T_DIR/group-stubborn.term"
t_ok "group: it ignores it and is killed at the deadline" \
    wait_log 5 "$LOG" 'still run 2000 ms after its main process exited: SIGKILL'
t_ok "group: then the slot is free and restarts" \
    wait_log 5 "$LOG" 'its last process is gone, [0-9]+ ms after its main process'
t_ok "group: restarting after the old processes are gone" \
    sh -c "grep -n -E 'its last process is gone|restarting in [0-9]+ ms' '$LOG' | head -2 | tail -1 | grep -q restarting"
ctl status status -c "$CONF" --json
t_is "$(counter "$T_DIR/status.out" crashes)" 0 "group: an exit 0 that leaves a child behind is not a crash"
t_ok "group: the kill at the deadline is counted" \
    [ "$(counter "$T_DIR/status.out" killed)" -ge 1 ]
ctl stop stop -c "$CONF"
t_is "$T_STATUS" 0 "group: baton stop succeeds"
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 0 "group: baton exits 0"
t_is "$(marked group-stubborn | wc -l)" 0 "group: no process of the server outlives baton stop"
t_ok "group: nothing answers on the port" not_listening "$PORT"

# --- the issue's case: a child in a session of its own, serving forever ---
PORT=$(free_port)
CONF=$T_DIR/setsid.ini
LOG=$T_DIR/setsid.log
conf "$CONF" "$PORT" setsid-stubborn 500 5s
start_baton "$LOG" run -c "$CONF"
t_ok "setsid: generation 1 is active" wait_log 10 "$LOG" 'generation 1: active'
t_ok "setsid: its child is traced by its environment" \
    wait_log 5 "$LOG" 'came from worker 0 \(by its environment\)'
t_ok "setsid: the child answers on the port" wait_until 5 child_answers "$PORT"
child=$(marked setsid-stubborn | while read -r p; do
	[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$BATON_PID" ] && echo "$p"
done | head -1)
t_ok "setsid: the child is baton's now (pid $child)" [ -n "$child" ]
t_ok "setsid: it left the worker's session" \
    [ "$(ps -o sid= -p "$child" | tr -d ' ')" = "$child" ]
ctl status status -c "$CONF" --json
t_is "$(counter "$T_DIR/status.out" crashes)" 0 "setsid: no crash is counted"
t_ok "setsid: the slot is draining, not restarted" \
    json_has "$T_DIR/status.out" state '"draining"'
start=$(date +%s%N)
ctl stop stop -c "$CONF"
t_is "$T_STATUS" 0 "setsid: baton stop succeeds"
t_ok "setsid: the child got the drain signal" grep -q "TERM $child" "$T_DIR/setsid-stubborn.term"
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 0 "setsid: baton exits 0"
t_is "$(alive "$child")" 0 "setsid: the child is gone when baton stop returns"
t_ok "setsid: nothing answers on the port" not_listening "$PORT"
start_baton "$T_DIR/setsid2.log" run -c "$CONF"
t_ok "setsid: the next baton run binds the port" \
    wait_log 10 "$T_DIR/setsid2.log" 'generation 1: active'
t_ok "setsid: ...with no Address already in use" \
    sh -c "! grep -q 'in use' '$T_DIR/setsid2.log'"
kill -QUIT "$BATON_PID"
wait_exit "$BATON_PID" 10
t_ok "setsid: SIGQUIT leaves nothing either" wait_until 5 none_marked setsid-stubborn

# --- a helper in a session of its own, with its environment wiped --------
# The helper has no group, no session and no environment of baton's: once
# the main process that forked it exits, nothing says where it came from.
# baton names it, and still ends it at stop; the port is free after.
PORT=$(free_port)
CONF=$T_DIR/wiped.ini
LOG=$T_DIR/wiped.log
conf "$CONF" "$PORT" wiped-stubborn 300 1s
start_baton "$LOG" run -c "$CONF"
t_ok "wiped: generation 1 is active" wait_log 10 "$LOG" 'generation 1: active'
t_ok "wiped: the helper answers" wait_until 5 child_answers "$PORT"
t_ok "wiped: an untraceable helper is named in the log" \
    wait_log 5 "$LOG" 'was left to baton, but no worker it came from is known'
helpers=$(marked wiped-stubborn | wc -l)
ctl stop stop -c "$CONF"
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 0 "wiped: baton exits 0"
t_ok "wiped: it says it killed what no worker claimed" \
    log_has "$LOG" 'killing [0-9]+ process(es)? that came from no known worker'
t_is "$(marked wiped-stubborn | wc -l)" 0 "wiped: nothing of the $helpers processes is left"
t_ok "wiped: nothing answers on the port" not_listening "$PORT"

# --- a grandchild in a session of its own, under a live middle process ----
# While the worker runs, the grandchild is no child of baton; at the drain
# deadline everything that descends from the worker is killed, whatever
# its group.
PORT=$(free_port)
CONF=$T_DIR/deep.ini
LOG=$T_DIR/deep.log
conf "$CONF" "$PORT" deep-stubborn 0 1s
start_baton "$LOG" run -c "$CONF"
t_ok "deep: generation 1 is active" wait_log 10 "$LOG" 'generation 1: active'
t_ok "deep: the grandchild answers" wait_until 5 child_answers "$PORT"
old=$(marked deep-stubborn)
t_is "$(echo $old | wc -w)" 3 "deep: three processes: main, middle, grandchild"
kill -HUP "$BATON_PID"
t_ok "deep: generation 1 is killed at its deadline" \
    wait_log 10 "$LOG" 'generation 1: exited after'
t_is "$(alive $old)" 0 "deep: none of generation 1's processes is left"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 0 "deep: baton exits 0"
t_ok "deep: no process is left after stop" wait_until 2 none_marked deep-stubborn
t_ok "deep: nothing answers on the port" not_listening "$PORT"

# --- drain_to: the main process only, or the whole group ----------------
# A main process that serves nothing and its child that serves, both in
# the worker's group. With main, only the main process gets the signal;
# the child runs on until the deadline. With group, both get it.
for to in main group; do
	PORT=$(free_port)
	CONF=$T_DIR/to-$to.ini
	LOG=$T_DIR/to-$to.log
	conf "$CONF" "$PORT" "group-to$to" 0 1s "$to"
	start_baton "$LOG" run -c "$CONF"
	wait_log 10 "$LOG" 'generation 1: active'
	wait_until 5 child_answers "$PORT"
	main=$(gen_pids "$LOG" 1)
	child=$(marked "group-to$to" | grep -vx "$main" | head -1)
	kill -HUP "$BATON_PID"
	t_ok "drain_to = $to: generation 1 exits" wait_log 10 "$LOG" 'generation 1: exited after'
	t_ok "drain_to = $to: the main process got the drain signal" \
	    grep -qx "TERM $main" "$T_DIR/group-to$to.term"
	if [ "$to" = main ]; then
		t_ok "drain_to = main: its child did not" \
		    sh -c "! grep -qx 'TERM $child' '$T_DIR/group-to$to.term'"
		t_ok "drain_to = main: ...and was killed at the deadline" \
		    log_has "$LOG" 'still running at the drain deadline'
		t_ok "drain_to = main: the log names the main process" \
		    log_has "$LOG" "pid $main: draining \(SIGTERM\)"
	else
		t_ok "drain_to = group: its child did too" \
		    grep -qx "TERM $child" "$T_DIR/group-to$to.term"
		t_ok "drain_to = group: the log says so" \
		    log_has "$LOG" "pid $main: draining \(SIGTERM to its group\)"
	fi
	ctl check check -c "$CONF"
	t_ok "drain_to = $to: baton check prints it" grep -qx "drain_to = $to" "$T_DIR/check.out"
	kill -TERM "$BATON_PID"
	wait_exit "$BATON_PID" 10
done

# --- baton is SIGKILLed: the keeper ends what ignores the drain signal ---
# PR_SET_PDEATHSIG gives the main process its drain signal, which it
# ignores; its child gets nothing. drain_timeout after baton's death, the
# keeper kills every process that carries baton's BATON_PID.
PORT=$(free_port)
CONF=$T_DIR/keeper.ini
LOG=$T_DIR/keeper.log
conf "$CONF" "$PORT" group-stubborn-keeper 0 1500ms
start_baton "$LOG" run -c "$CONF"
t_ok "keeper: generation 1 is active" wait_log 10 "$LOG" 'generation 1: active'
t_ok "keeper: the child answers" wait_until 5 child_answers "$PORT"
old=$(marked group-stubborn-keeper)
keeper=$(ps -o pid=,args= --ppid "$BATON_PID" | awk '$2 ~ /baton$/ {print $1}')
t_ok "keeper: baton has a keeper (pid $keeper)" [ -n "$keeper" ]
t_is "$(ls -l /proc/$keeper/fd 2>/dev/null | grep -c socket)" 0 "keeper: it holds no socket"
kill -KILL "$BATON_PID"
wait_exit "$BATON_PID" 5
t_ok "keeper: the main process got its drain signal" \
    wait_until 5 grep -q TERM "$T_DIR/group-stubborn-keeper.term"
sleep 0.5
t_is "$(alive $old)" 2 "keeper: both ignore it and still run"
t_diag "$(ps -o pid=,ppid=,stat=,args= -p "$(echo $old | tr ' ' ,)")"
t_ok "keeper: drain_timeout later they are killed" wait_until 5 none_marked group-stubborn-keeper
t_ok "keeper: it says so" wait_log 2 "$LOG" 'keeper: baton \(pid [0-9]+\) died; 2 processes that came from its workers still ran 1500 ms later: SIGKILL'
t_ok "keeper: and exits" wait_until 2 sh -c "! kill -0 $keeper"
t_ok "keeper: nothing answers on the port" not_listening "$PORT"

t_done
