#!/bin/bash
# baton's own HTTP listener: /metrics in Prometheus text, /healthz and
# /readyz, on tcp and on a unix path. Every scrape is read with the strict
# parser test/promparse.py, and its counters move with real events, by
# exactly what happened: a reload, a rollback, a reload that fails, a
# crash, workers killed at the drain deadline, an upgrade in place (which
# they cross); workers by state and the active generation are what baton
# status says, and so are a canary's shares and steered connections.
# /readyz fails through stop_delay while the workers still serve; a bad
# listener is refused with FILE:LINE or the reason; with its descriptors
# run out, the listener pauses rather than spin.
. "$(dirname "$0")/lib.sh"

if ! command -v curl >/dev/null || ! command -v python3 >/dev/null; then
	t_skip "curl or python3 is not installed: they read the answers"
	t_done
	exit 0
fi

PORT=$(free_port)
MPORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log
M=http://127.0.0.1:$MPORT
PARSE="python3 $top_srcdir/test/promparse.py"
: >"$T_DIR/scrapes"
: >"$T_DIR/refused"

# code URL: the HTTP status of a GET (000: no answer).
code() {
	curl -s -m 3 -o /dev/null -w '%{http_code}' "$1"
}

# scrape NAME: a fresh /metrics in NAME.prom, read by the strict parser
# once, its samples in NAME.samples as the parser prints them; what it
# refuses (or an empty answer) goes to "refused", and every value of NAME
# is then "refused".
scrape() {
	curl -s -m 3 "$M/metrics" >"$T_DIR/$1.prom"
	echo "$1" >>"$T_DIR/scrapes"
	if [ ! -s "$T_DIR/$1.prom" ]; then
		echo "$1: no answer" >>"$T_DIR/refused"
		rm -f "$T_DIR/$1.samples"
	elif ! $PARSE --samples "$T_DIR/$1.prom" >"$T_DIR/$1.samples" \
	    2>>"$T_DIR/refused"; then
		rm -f "$T_DIR/$1.samples"
	fi
}

# val NAME SERIES: the value of SERIES (name{labels}, labels sorted by
# name as the parser prints them) in scrape NAME; "absent" when it has
# no such series.
val() {
	[ -f "$T_DIR/$1.samples" ] || { echo refused; return; }
	awk -v k="$2" '$1 == k {print $2; f = 1} END {if (!f) print "absent"}' \
	    "$T_DIR/$1.samples"
}

# metric SERIES: its value in a fresh scrape.
N=0
metric() {
	N=$((N + 1))
	scrape "m$N"
	val "m$N" "$1"
}

# moved WHAT BEFORE AFTER SERIES BY: SERIES went from BEFORE's value to
# AFTER's plus BY.
moved() {
	local b a
	b=$(val "$2" "$4")
	a=$(val "$3" "$4")
	if [ "$b" = refused ] || [ "$b" = absent ] || [ "$a" = refused ] ||
	    [ "$a" = absent ]; then
		t_result 1 "$1: $4 is $b then $a"
		return
	fi
	t_is "$a" "$((b + $5))" "$1: $4 +$5 ($b to $a)"
}

# counters NAME: the counters and histograms of scrape NAME that only
# events move (not CPU time), one series a line.
counters() {
	grep -E '^baton_(reloads|rollbacks|worker_crashes|workers_recycled|workers_killed|upgrades)_total|^baton_(reload|drain)_duration_seconds' "$T_DIR/$1.samples"
}

# like_status NAME WHAT [QUIET]: in scrape NAME, baton_workers by state
# and baton_active_generation are what baton status --json says now;
# with QUIET, only the exit status says so.
like_status() {
	local want got
	ctl "st$1" status -c "$CONF" --json
	want=$(python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
n = dict.fromkeys(("starting", "ready", "active", "draining", "exited"), 0)
for g in st["generations"]:
	for w in g["workers"]:
		n[w["state"]] += 1
print(" ".join("%s=%d" % kv for kv in n.items()),
    "active=%d" % max([g["number"] for g in st["generations"]
    if g["state"] == "active"] or [0]))' "$T_DIR/st$1.out")
	got=
	for s in starting ready active draining exited; do
		got="$got$s=$(val "$1" "baton_workers{state=\"$s\"}") "
	done
	got="${got}active=$(val "$1" baton_active_generation)"
	if [ -n "${3:-}" ]; then
		[ "$got" = "$want" ]
		return
	fi
	t_is "$got" "$want" "$2: workers by state and the active generation are baton status's"
}

# snapshot NAME: a scrape and baton status of the same moment, checked
# against each other. A worker may change state between the two reads
# (a rolled-back generation's last exits, say): up to 5 pairs, 200 ms
# apart, until one agrees; the last is shown when none does.
snapshot() {
	local i
	for i in 1 2 3 4 5; do
		scrape "$1"
		if like_status "$1" "$2" quiet; then
			t_result 0 "$2: workers by state and the active generation are baton status's"
			return
		fi
		sleep 0.2
	done
	like_status "$1" "$2"
}

http_conf "$CONF" "$PORT" "$TESTSERVER --notify --quiet" "ready = notify" \
    "workers = 2" "drain_timeout = 5s" "metrics = tcp://127.0.0.1:$MPORT" \
    "stop_delay = 5s"
start_active "$LOG" run -c "$CONF"

t_is "$(code "$M/healthz")" 200 "/healthz answers 200"
t_is "$(code "$M/readyz")" 200 "/readyz answers 200 while generation 1 serves"
t_is "$(code "$M/nothing")" 404 "another path is 404"
t_is "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -X POST "$M/metrics")" 405 \
    "a POST is 405"
curl -s -m 3 -D "$T_DIR/headers" "$M/metrics" >"$T_DIR/first.prom"
t_ok "/metrics is Prometheus text 0.0.4" \
    grep -qi '^content-type: text/plain; version=0.0.4' "$T_DIR/headers"
t_ok "the strict parser reads it ($(grep -vc '^#' "$T_DIR/first.prom") samples)" \
    $PARSE "$T_DIR/first.prom"
t_diag "$(cat "$T_DIR/first.prom" 2>&1 | head -12)"
t_ok "every family has HELP and TYPE, and a baton_ name" python3 -c '
import json, sys
for s in json.load(sys.stdin):
	if not s["family"].startswith("baton_") or s["type"] == "untyped":
		sys.exit(s["name"])' < <($PARSE --json "$T_DIR/first.prom")
t_is "$(grep -c '^# HELP' "$T_DIR/first.prom")" \
    "$(grep -c '^# TYPE' "$T_DIR/first.prom")" "as many HELP lines as TYPE lines"
snapshot s1 "at start"
t_is "$(val s1 'baton_workers{state="active"}')" 2 "two workers active"
t_is "$(val s1 baton_active_generation)" 1 "generation 1 is active"
t_is "$(val s1 'baton_reloads_total{outcome="ok"}')" 0 "no reload yet"
t_is "$(val s1 baton_ready)" 1 "baton_ready is 1"
t_is "$(grep -c '^# TYPE baton_generation_' "$T_DIR/s1.prom")" 0 \
    "no steering, no share nor steered connections"
rss=$(val s1 baton_resident_memory_bytes)
t_ok "baton's own RSS is there ($rss bytes)" test "${rss:-0}" -gt 100000
for p in $(gen_pids "$LOG" 1); do
	v=$(awk -v p="pid=\"$p\"" 'index($1, "baton_worker_resident_memory_bytes{") == 1 &&
	    index($1, p) {print $2}' "$T_DIR/s1.samples")
	t_ok "worker $p's RSS is counted ($v bytes)" test "${v:-0}" -gt 100000
	v=$(awk -v p="pid=\"$p\"" 'index($1, "baton_worker_cpu_seconds_total{") == 1 &&
	    index($1, p) {print $2}' "$T_DIR/s1.samples")
	t_ok "and its CPU time ($v s)" test -n "$v"
done

# --- A reload: counted once, timed; the answers never stop.
load_start probe "$M/readyz" -c 1 -d 120 -t 3000
reload_and_wait 2
wait_until 10 drained
snapshot s2 "after a reload"
moved "a reload" s1 s2 'baton_reloads_total{outcome="ok"}' 1
moved "a reload" s1 s2 baton_reload_duration_seconds_count 1
moved "a reload" s1 s2 'baton_reload_duration_seconds_bucket{le="+Inf"}' 1
moved "generation 1's drain" s1 s2 baton_drain_duration_seconds_count 1
for k in 'baton_reloads_total{outcome="rolled_back"}' \
    'baton_reloads_total{outcome="failed"}' baton_rollbacks_total \
    baton_worker_crashes_total baton_workers_killed_total; do
	moved "a reload" s1 s2 "$k" 0
done
t_is "$(val s2 baton_active_generation)" 2 "generation 2 is active"

# --- A reload whose command exits: rolled back, counted so.
cp "$CONF" "$T_DIR/good.ini"
sed -i "s|^command = .*|command = /bin/false|" "$CONF"
kill -HUP "$BATON_PID"
t_ok "a reload that cannot start rolls back" \
    wait_log 10 "$LOG" 'generation 2 keeps serving'
snapshot s3 "after a rollback"
moved "a rollback" s2 s3 'baton_reloads_total{outcome="rolled_back"}' 1
moved "a rollback" s2 s3 baton_rollbacks_total 1
moved "a rollback" s2 s3 baton_reload_duration_seconds_count 1
moved "a rollback" s2 s3 'baton_reloads_total{outcome="ok"}' 0
moved "a rollback" s2 s3 'baton_reloads_total{outcome="failed"}' 0

# --- A reload of a broken file: failed, nothing started, nothing timed.
printf '[baton]\nno such key\n' >"$CONF"
kill -HUP "$BATON_PID"
t_ok "a reload of a broken file fails" \
    wait_log 10 "$LOG" 'reload failed, nothing changed'
scrape s4
moved "a failed reload" s3 s4 'baton_reloads_total{outcome="failed"}' 1
moved "a failed reload" s3 s4 baton_rollbacks_total 0
moved "a failed reload" s3 s4 baton_reload_duration_seconds_count 0
moved "a failed reload" s3 s4 'baton_reloads_total{outcome="rolled_back"}' 0
cp "$T_DIR/good.ini" "$CONF"

# --- A worker killed from outside is a crash; its slot restarts.
victim=$(gen_pids "$LOG" 2 | head -1)
kill -KILL "$victim"
t_ok "the crash is seen" \
    wait_log 5 "$LOG" "pid $victim: killed by signal 9 \\(SIGKILL\\)"
t_ok "its slot restarts" wait_log 5 "$LOG" 'restarting in 100 ms \(restart 1\)'
two_active() { [ "$(metric 'baton_workers{state="active"}')" = 2 ]; }
t_ok "two workers active again" wait_until 5 two_active
snapshot s5 "after a crash"
moved "a crash" s4 s5 baton_worker_crashes_total 1
moved "a crash" s4 s5 baton_workers_killed_total 0
moved "a crash" s4 s5 'baton_reloads_total{outcome="ok"}' 0

# --- Workers that ignore the drain signal: SIGKILLed at the deadline.
http_conf "$CONF" "$PORT" "$TESTSERVER --notify --quiet --ignore-drain" \
    "ready = notify" "workers = 2" "drain_timeout = 1s" \
    "metrics = tcp://127.0.0.1:$MPORT" "stop_delay = 5s"
reload_and_wait 4
t_ok "generation 2 drains" wait_until 10 drained
scrape s5b
cp "$T_DIR/good.ini" "$CONF"
reload_and_wait 5
t_ok "generation 4 is killed at its deadline" wait_until 10 drained
snapshot s6 "after a drain to the deadline"
moved "two workers killed at the deadline" s5b s6 baton_workers_killed_total 2
moved "two reloads" s5 s6 'baton_reloads_total{outcome="ok"}' 2
moved "a drain" s5b s6 baton_drain_duration_seconds_count 1
moved "a drain to a 1 s deadline" s5b s6 \
    'baton_drain_duration_seconds_bucket{le="0.5"}' 0
moved "a drain to a 1 s deadline" s5b s6 \
    'baton_drain_duration_seconds_bucket{le="2.5"}' 1
moved "two reloads" s5 s6 baton_worker_crashes_total 0

# --- An upgrade in place keeps the listener and every counter.
counters s6 >"$T_DIR/before"
kill -USR2 "$BATON_PID"
t_ok "baton upgrades in place" wait_log 15 "$LOG" 'upgraded in place'
t_is "$(code "$M/readyz")" 200 "/readyz answers after the upgrade"
snapshot s7 "after an upgrade"
moved "an upgrade" s6 s7 baton_upgrades_total 1
counters s7 >"$T_DIR/after"
t_ok "every other counter and histogram crosses it ($(wc -l <"$T_DIR/before") series)" \
    diff <(grep -v '^baton_upgrades_total' "$T_DIR/before") \
    <(grep -v '^baton_upgrades_total' "$T_DIR/after")
t_is "$(val s7 baton_start_time_seconds)" "$(val s6 baton_start_time_seconds)" \
    "so does the start time"
load_stop probe
t_is "$(field failed "$T_DIR/probe.out")" 0 "no /readyz request failed across reloads, rollback, crash and upgrade ($(field requests "$T_DIR/probe.out") requests)"

# --- Stop: /readyz is 503 for stop_delay while the workers still serve.
kill -TERM "$BATON_PID"
t_ok "the stop says it waits" wait_log 5 "$LOG" 'readyz fails for 5000 ms'
t_is "$(code "$M/readyz")" 503 "/readyz is 503 during stop_delay"
t_is "$(metric baton_ready)" 0 "baton_ready is 0 then"
t_is "$(code "$M/healthz")" 200 "/healthz still 200"
t_is "$(code "http://127.0.0.1:$PORT/")" 200 "the workers still serve"
t_ok "then baton drains and exits 0" wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "exit status 0"
t_ok "the listener is closed" not_listening "$MPORT"
t_is "$(cat "$T_DIR/refused")" "" \
    "all $(wc -l <"$T_DIR/scrapes") scrapes parse strictly"

# --- A unix path.
MSOCK=$T_DIR/metrics.sock
http_conf "$CONF" "$PORT" "$TESTSERVER --notify --quiet" "ready = notify" \
    "metrics = unix://$MSOCK"
start_active "$LOG.unix" run -c "$CONF"
t_is "$(curl -s -m 3 --unix-socket "$MSOCK" http://x/healthz)" ok "/healthz on a unix path"
stop_baton
t_ok "its path is removed at stop" test ! -e "$MSOCK"

# --- Refused: UDP, and the address of a held socket.
http_conf "$CONF" "$PORT" "$TESTSERVER" "metrics = udp://127.0.0.1:$MPORT"
ctl check check -c "$CONF"
t_is "$T_STATUS" 78 "metrics on udp is a configuration error"
t_ok "naming FILE:LINE" grep -qE "$CONF:[0-9]+: metrics: .* is not tcp:// or unix://" "$T_DIR/check.err"
http_conf "$CONF" "$PORT" "$TESTSERVER" "metrics = tcp://127.0.0.1:$PORT"
ctl check2 check -c "$CONF"
t_is "$T_STATUS" 78 "metrics on a held socket's address is refused"
t_ok "saying which" grep -q "is socket 'http''s address too" "$T_DIR/check2.err"

# --- Taken: baton does not start, and says why.
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(8)' "$MPORT" &
T_PIDS="$T_PIDS $!"
wait_until 5 listening "$MPORT"
http_conf "$CONF" "$PORT" "$TESTSERVER" "metrics = tcp://127.0.0.1:$MPORT"
run_fails "$T_DIR/taken.out" "a metrics port in use" run -c "$CONF"
t_ok "the error names metrics and the reason" grep -q "socket metrics: .*Address already in use" "$T_DIR/taken.out"
t_ok "and no worker ran" sh -c "! grep -q 'started' '$T_DIR/taken.out'"

# --- Steering: each generation's share and steered connections, as
# baton status shows them, through a canary and its promotion.
CONF=$T_DIR/canary.ini
LOG=$T_DIR/canary.log
MPORT=$(free_port)	# the last one may still be held by the test above
M=http://127.0.0.1:$MPORT
: >"$T_DIR/scrapes"
steer_conf "$CONF" "$PORT" "--quiet" "canary = 10%" "canary_time = 60s" \
    "control = $T_DIR/canary.sock" "metrics = tcp://127.0.0.1:$MPORT"
need_steer "$CONF"
t_ok "baton starts, steering" start_active "$LOG" run -c "$CONF"
scrape c1
t_is "$(val c1 'baton_generation_share{generation="1"}')" 1 \
    "steered: generation 1's share is 1"
n1=$(val c1 'baton_generation_connections_total{generation="1"}')
t_ok "and the connections steered to it are counted ($n1, its probes')" \
    test "$n1" -ge 0
timeout 30 "$BATON" reload -c "$CONF" >"$T_DIR/canary.reload" 2>&1 &
RPID=$!
t_ok "generation 2 enters its canary" \
    wait_log 10 "$LOG" 'generation 2: canary after [0-9]+ ms: 10.00% of new'
"$LOADGEN" -u "http://127.0.0.1:$PORT/" -n 400 -c 4 -t 3000 \
    >"$T_DIR/canary.load"
t_is "$(field ok "$T_DIR/canary.load")" 400 "400 connections answered"
scrape c2
ctl cst status -c "$CONF" --json
# gen_status N KEY: generation N's KEY in that status.
gen_status() {
	python3 -c 'import json, sys
for g in json.load(open(sys.argv[1]))["generations"]:
	if g["number"] == int(sys.argv[2]):
		print("%g" % g[sys.argv[3]])' "$T_DIR/cst.out" "$1" "$2"
}
t_is "$(val c2 'baton_generation_share{generation="2"}')" 0.1 \
    "in its canary generation 2's share is 0.1"
t_is "$(val c2 'baton_generation_share{generation="1"}')" 0.9 \
    "generation 1's 0.9"
t_is "$(gen_status 2 share)/$(gen_status 1 share)" 10/90 \
    "as status says, in percent"
c1=$(val c2 'baton_generation_connections_total{generation="1"}')
c2=$(val c2 'baton_generation_connections_total{generation="2"}')
t_diag "steered connections: generation 1 $n1 to $c1, generation 2 $c2 (its probes' included)"
t_is "$c1" "$(gen_status 1 connections)" \
    "generation 1's steered connections are status's"
s2=$(gen_status 2 connections)
t_ok "generation 2's too, but for probes since ($c2, then $s2)" \
    test "$s2" -ge "$c2"
t_ok "the 400 connections are all counted ($((c1 - n1)) + $c2)" \
    test $((c1 - n1 + c2)) -ge 400
t_ok "generation 2 has its share of them at least" test "$c2" -ge 10
ctl promote promote -c "$CONF"
t_is "$T_STATUS" 0 "baton promote"
wait_exit "$RPID" 20
t_ok "generation 1 drains" wait_until 10 drained
scrape c3
t_is "$(val c3 'baton_generation_share{generation="2"}')" 1 \
    "promoted, generation 2's share is 1"
t_is "$(val c3 'baton_generation_share{generation="1"}')" absent \
    "generation 1, gone, has no series"
t_ok "generation 2 keeps its count" \
    test "$(val c3 'baton_generation_connections_total{generation="2"}')" -ge "$c2"
stop_baton
t_is "$(cat "$T_DIR/refused")" "" \
    "all $(wc -l <"$T_DIR/scrapes") scrapes of the canary parse strictly"

# --- Clients that hold more connections than baton has descriptors: the
# listener pauses on accept's error instead of retrying at once, baton
# stays idle meanwhile, and the listener serves again once they let go.
http_conf "$T_DIR/fds.ini" "$(free_port)" "$TESTSERVER --notify --quiet" \
    "ready = notify" "metrics = tcp://127.0.0.1:$MPORT"
BATON_WRAPPER="prlimit --nofile=200: ${BATON_WRAPPER:-}" \
    start_active "$T_DIR/fds.log" run -c "$T_DIR/fds.ini"
t_is "$?" 0 "descriptors: baton at a soft limit of 200 is active"
python3 - "$MPORT" "$T_DIR/held" <<'PY' &
import socket, sys, time
held = []
for _ in range(300):
    try:
        held.append(socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1))
    except OSError:
        pass
open(sys.argv[2], 'w').write(f'{len(held)}\n')
time.sleep(8)
PY
HOLDER=$!
T_PIDS="$T_PIDS $HOLDER"
ticks() {
	awk '{print $14 + $15}' "/proc/$BATON_PID/stat"
}
t_ok "descriptors: 300 connections are held" \
    wait_until 10 test -s "$T_DIR/held"
t0=$(ticks)
sleep 2
used=$(($(ticks) - t0))
hz=$(getconf CLK_TCK)
t_result "$([ "$used" -lt $((hz / 2)) ]; echo $?)" \
    "descriptors: baton used $used of $((2 * hz)) ticks in 2 s with $(cat "$T_DIR/held") connections held (under a quarter)"
t_ok "descriptors: accept failed, and baton said it pauses" \
    log_has "$T_DIR/fds.log" 'metrics: accept: Too many open files; pausing it for 1 s'
wait "$HOLDER"
t_ok "descriptors: once they let go, /healthz answers again" \
    wait_until 10 eval '[ "$(code "$M/healthz")" = 200 ]'
stop_baton

t_done
