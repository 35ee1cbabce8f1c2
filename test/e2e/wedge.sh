#!/bin/bash
# Nothing a worker sends and no reader that stops reading wedges baton:
# with stderr on a FIFO nobody reads, 100 reloads and status answer, a
# SIGKILLed worker is reaped and restarted, and once the FIFO is read
# again the lines come whole, with the count of those dropped. An empty
# record on BATON_FD is dropped, not taken for end of file. Bytes that
# are not UTF-8 (a worker's STATUS=, a configuration error) come out of
# status --json as U+FFFD, in JSON that python accepts.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
SOCK=$T_DIR/baton.sock
LOG=$T_DIR/baton.log

conf() {	# conf COMMAND [WORKERS]
	http_conf "$CONF" "$PORT" "$1" "workers = ${2:-1}" "ready = notify" \
	    "ready_timeout = 5s" "drain_timeout = 5s"
}

# state PID: the state letter of a process in /proc, or "gone".
state() {
	local s
	s=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)
	echo "${s:-gone}"
}

gone() {
	[ "$1" != 0 ] && [ "$(state "$1")" = gone ]
}

# slot_pid FILE SLOT: the pid of a worker of the active generation.
slot_pid() {
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
for g in s["generations"]:
    if g["state"] == "active":
        for w in g["workers"]:
            if w["slot"] == int(sys.argv[2]):
                print(w["pid"])
' "$1" "$2"
}

if ! python3 -c '' 2>/dev/null; then
	t_skip "python3 is not installed"
	t_done
	exit
fi

# --- 1. stderr on a FIFO that nobody reads.
FIFO=$T_DIR/stderr.fifo
mkfifo "$FIFO"
# Held open for reading and writing: baton's writes never see EPIPE, and
# nothing reads until the end. The pipe is made small so that it fills
# at once.
exec 7<>"$FIFO"
python3 -c 'import fcntl; fcntl.fcntl(7, 1031, 4096)'	# F_SETPIPE_SZ
conf "$TESTSERVER --notify --quiet" 3
${BATON_WRAPPER:-} "$BATON" run -c "$CONF" >/dev/null 2>"$FIFO" &
BATON_PID=$!
T_PIDS="$T_PIDS $BATON_PID"
wait_until 10 test -S "$SOCK"
ctl first status -c "$CONF"
t_is "$T_STATUS" 0 "stderr on a FIFO: baton starts and answers"

n=0
start=$(date +%s%N)
for i in $(seq 1 100); do
	timeout 10 "$BATON" reload -c "$CONF" >"$T_DIR/reload.out" 2>&1 ||
	    break
	timeout 10 "$BATON" status -c "$CONF" >/dev/null 2>&1 || break
	n=$i
done
ms=$((($(date +%s%N) - start) / 1000000))
t_is "$n" 100 "100 reloads, each followed by status, with nobody reading stderr"
t_diag "in $ms ms"
[ "$n" = 100 ] || t_diag "reload $((n + 1)): $(cat "$T_DIR/reload.out")"
ctl st status -c "$CONF" --json
t_is "$T_STATUS" 0 "status --json answers"
t_ok "it counts 100 reloads" grep -q '"reloads":100,' "$T_DIR/st.out"

victim=$(slot_pid "$T_DIR/st.out" 1 2>/dev/null)
[ -n "$victim" ] || victim=0	# no status: pid 0 is never gone
kill -KILL "$victim" 2>/dev/null
t_ok "a SIGKILLed worker is reaped: no zombie left" wait_until 5 gone "$victim"
t_diag "pid $victim: $(state "$victim")"
restarted() {
	ctl st2 status -c "$CONF" --json &&
	    p=$(slot_pid "$T_DIR/st2.out" 1) && [ -n "$p" ] &&
	    [ "$p" != "$victim" ] && ! gone "$p" &&
	    grep -q '"restarts":1' "$T_DIR/st2.out"
}
t_ok "and restarted in its slot" wait_until 10 restarted

# Read the FIFO again: what was queued comes out, then the count.
DRAINED=$T_DIR/drained.log
cat <&7 >"$DRAINED" &
CAT_PID=$!
T_PIDS="$T_PIDS $CAT_PID"
t_ok "once stderr is read, baton says how many lines it dropped" \
    wait_log 10 "$DRAINED" 'warn: log: [0-9]+ lines dropped while stderr was blocked'
t_diag "$(grep -E 'lines dropped' "$DRAINED")"
ctl stop stop -c "$CONF"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "baton stops, exit 0"
sleep 0.2
kill "$CAT_PID" 2>/dev/null
wait "$CAT_PID" 2>/dev/null
exec 7<&-
bad=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3} baton\[[0-9]+\] (debug|info|warn|error): .' "$DRAINED")
t_is "$bad" 0 "every line that came out is whole ($(wc -l <"$DRAINED") lines)"
[ "$bad" = 0 ] || t_diag "$(grep -vE '^[0-9]{4}-.* baton\[' "$DRAINED" | head -n 5)"
# Dropping goes on until the queue is out, so that the gap is one, and
# the count comes right after it; then lines flow again.
after() {
	awk '/lines dropped while stderr was blocked/ { seen = 1; next }
	    seen && /info: stopping/ { found = 1 } END { exit !found }' "$1"
}
t_ok "lines logged after the count come out: the stop" after "$DRAINED"

# --- 2. An empty record on BATON_FD before READY=1.
WORKER=$T_DIR/empty.py
cat >"$WORKER" <<'PY'
import os, signal, socket, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
ch = socket.socket(fileno=int(os.environ["BATON_FD"]))
ch.send(b"")
ch.send(b"READY=1")
while True:
    signal.pause()
PY
conf "python3 $WORKER"
start_baton "$LOG" run -c "$CONF"
t_ok "a worker that sends an empty record first becomes ready" \
    wait_log 10 "$LOG" 'generation 1: active'
ctl empty reload -c "$CONF"
t_is "$T_STATUS" 0 "and so does generation 2: the reload succeeds"
t_diag "$(out empty)"
t_ok "the empty record is logged as dropped" \
    log_has "$LOG" 'gen 2 worker 0 pid [0-9]+: channel: empty message dropped'
t_ok "not as a channel that closed" sh -c "! grep -q 'not ready' '$LOG'"
ctl stop2 stop -c "$CONF"
wait_exit "$BATON_PID" 15

# --- 3. status --json with bytes that are not UTF-8.
conf "$TESTSERVER --notify --status $(printf 'bad\377\376end')"
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active'
json_ok() {	# json_ok FILE PYTHON-CHECK
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if eval(sys.argv[2]) else 1)
' "$1" "$2"
}
ctl utf1 status -c "$CONF" --json
t_is "$T_STATUS" 0 "status --json with a STATUS= that is not UTF-8"
t_ok "python reads it as JSON in UTF-8" json_ok "$T_DIR/utf1.out" True
t_ok "the two bad bytes are two U+FFFD" json_ok "$T_DIR/utf1.out" \
    's["generations"][0]["workers"][0]["status"] == "bad\ufffd\ufffdend"'
printf 'b\303\251\377d = 1\n' >>"$CONF"
# -s: with -c the client itself would refuse the file.
ctl utf2 reload -s "$SOCK"
t_is "$T_STATUS" 78 "a reload with a key that is not UTF-8: exit 78"
ctl utf3 status -s "$SOCK" --json
t_ok "status --json is still JSON in UTF-8" json_ok "$T_DIR/utf3.out" True
t_ok "the reason keeps the valid é and shows U+FFFD for the bad byte" \
    json_ok "$T_DIR/utf3.out" '"b\u00e9\ufffdd" in s["last_reload"]["reason"]'
t_diag "$(python3 -c 'import json,sys; print(ascii(json.load(sys.stdin)["last_reload"]["reason"]))' <"$T_DIR/utf3.out" 2>&1)"
ctl stop3 stop -s "$SOCK"
wait_exit "$BATON_PID" 15

t_done
