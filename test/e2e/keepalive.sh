#!/bin/bash
# Keep-alive clients of a preloaded server that dies on its drain signal
# (a plain Node http server): while draining, the interposer marks the
# next answer on each keep-alive connection "Connection: close", so the
# client closes it and reconnects to the new generation; the signal cuts
# no request in flight, and the drain ends well before drain_timeout. A
# request that reaches a server twice was cut after the server read it,
# and retried. wrk, which sends its next request the instant it has read
# an answer, counts any other close by the server as a read error.
. "$(dirname "$0")/lib.sh"

if ! command -v node >/dev/null; then
	t_skip "node is not installed"
	t_done
	exit 0
fi
need_preload

PORT=$(free_port)
LOG=$T_DIR/baton.log
SEEN=$T_DIR/seen.log

# Node's own http server, with nothing for draining: it dies on SIGTERM.
# It writes each request's id as it gets it; MS > 0 answers after MS ms.
cat >"$T_DIR/server.js" <<'JS'
const fs = require('fs');
const [port, seen, ms] = process.argv.slice(2);
require('http').createServer((q, r) => {
	fs.appendFileSync(seen, q.headers['x-request-id'] + '\n');
	if (+ms > 0)
		setTimeout(() => r.end('ok\n'), +ms);
	else
		r.end('ok\n');
}).listen(+port);
JS

# conf MS
conf() {
	write_conf "$T_DIR/baton.ini" <<CONF
[baton]
command = node $T_DIR/server.js $PORT $SEEN $1
workers = 2
preload = yes
ready = listen
ready_timeout = 20s
drain_timeout = 10s

[socket:http]
listen = tcp://127.0.0.1:$PORT
CONF
}

# The longest time, in ms, from a worker's DRAIN=1 to its drain signal.
longest_drain() {
	awk '{
		split(substr($1, 12), t, ":")
		ms = (t[1] * 3600 + t[2] * 60 + t[3]) * 1000
		if (match($0, /pid [0-9]+: draining/) == 0)
			next
		pid = substr($0, RSTART, RLENGTH)
		if ($0 ~ /draining \(DRAIN=1/)
			start[pid] = ms
		else if ($0 ~ /draining \(SIGTERM, idle\)/ && pid in start &&
		    ms - start[pid] > max)
			max = ms - start[pid]
	} END { print max + 0 }' "$LOG"
}

# twice: the ids that reached a server more than once.
twice() {
	sort "$SEEN" | uniq -d | wc -l
}

# load NAME RELOADS LOADGEN-ARGS...: reload RELOADS times under keep-alive
# load, then wait for the old generations to exit.
load() {
	local name=$1 n=$2 g ok=0 lg
	shift 2
	"$LOADGEN" -u "http://127.0.0.1:$PORT/" -k -d 120s -n 100000000 \
	    -t 5000 "$@" >"$T_DIR/$name.out" &
	lg=$!
	sleep 1
	for g in $(seq "$((GEN + 1))" "$((GEN + n))"); do
		kill -HUP "$BATON_PID"
		wait_log 20 "$LOG" "generation $g: active" && ok=$((ok + 1))
		sleep 1
	done
	GEN=$((GEN + n))
	RELOADED=$ok
	wait_until 15 drained
	kill -INT "$lg"
	wait "$lg"
	t_diag "$(tr '\n' ' ' <"$T_DIR/$name.out")"
}

# --- A fast server, 8 keep-alive connections, 3 reloads.
conf 0
: >"$SEEN"
start_baton "$LOG" run -c "$T_DIR/baton.ini"
t_ok "node http server under preload becomes active" \
    wait_log 20 "$LOG" 'generation 1: active'
GEN=1
load fast 3 -c 8 -p f
t_is "$RELOADED" 3 "3 reloads under keep-alive load, each to an active generation"
t_ok "every old generation exits" drained
t_is "$(awk '$1 == "failed" {print $2}' "$T_DIR/fast.out")" 0 \
    "no request failed"
t_is "$(awk '$1 == "retried" {print $2}' "$T_DIR/fast.out")" 0 \
    "none was retried: no keep-alive connection closed under a request"
t_ok "load ran ($(awk '$1 == "ok" {print $2}' "$T_DIR/fast.out") answered)" \
    [ "$(awk '$1 == "ok" {print $2}' "$T_DIR/fast.out")" -gt 1000 ]
t_is "$(twice)" 0 "no request was cut after the server read it (none reached a server twice)"
d=$(longest_drain)
t_ok "each old worker closed its connections and got SIGTERM within 3 s, not at the 9 s limit (longest: $d ms)" \
    test "$d" -gt 0 -a "$d" -lt 3000
t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 \
    "no worker was killed at the deadline"

# --- wrk: 8 keep-alive connections, 3 reloads. wrk never retries: a
# connection the server closes instead of saying so in an answer is a read
# error (or a write error, or a reset). Its done() prints every counter.
if command -v wrk >/dev/null; then
	cat >"$T_DIR/count.lua" <<'LUA'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("requests %d\nconnect %d\nread %d\nwrite %d\n" ..
	    "timeout %d\nstatus %d\n", summary.requests, e.connect, e.read,
	    e.write, e.timeout, e.status))
end
LUA
	wrk -c8 -t2 -d6s -s "$T_DIR/count.lua" "http://127.0.0.1:$PORT/" \
	    >"$T_DIR/wrk.out" 2>&1 &
	wk=$!
	sleep 1
	ok=0
	for g in $(seq "$((GEN + 1))" "$((GEN + 3))"); do
		kill -HUP "$BATON_PID"
		wait_log 20 "$LOG" "generation $g: active" && ok=$((ok + 1))
		sleep 1
	done
	GEN=$((GEN + 3))
	wait "$wk"
	t_is "$?" 0 "wrk ran to its end"
	t_diag "$(grep -E 'requests in|Socket errors|Non-2xx' "$T_DIR/wrk.out" | tr '\n' ' ')"
	t_is "$ok" 3 "wrk: 3 reloads, each to an active generation"
	for k in connect read write timeout; do
		t_is "$(awk -v k=$k '$1 == k {print $2}' "$T_DIR/wrk.out")" 0 \
		    "wrk: no $k error"
	done
	t_is "$(awk '$1 == "status" {print $2}' "$T_DIR/wrk.out")" 0 \
	    "wrk: no answer had an error status (4xx, 5xx)"
	n=$(awk '$1 == "requests" {print $2}' "$T_DIR/wrk.out")
	t_ok "wrk: load ran (${n:-no} requests)" [ "${n:-0}" -gt 1000 ]
	t_ok "wrk: every old generation exits" wait_until 15 drained
	t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 \
	    "wrk: no worker was killed at the deadline"
else
	t_skip "wrk is not installed: its keep-alive run is skipped"
fi

# --- A server that answers after 500 ms: the requests in flight when the
# drain starts finish on their keep-alive connections.
conf 500
kill -HUP "$BATON_PID"
GEN=$((GEN + 1))
wait_log 20 "$LOG" "generation $GEN: active"
wait_until 15 drained
: >"$SEEN"
load slow 3 -c 8 -p s
t_is "$RELOADED" 3 "slow answers: 3 reloads, each to an active generation"
t_ok "every old generation exits" drained
t_is "$(awk '$1 == "failed" {print $2}' "$T_DIR/slow.out")" 0 \
    "slow answers: no request failed"
t_is "$(awk '$1 == "retried" {print $2}' "$T_DIR/slow.out")" 0 \
    "slow answers: none was retried"
t_is "$(twice)" 0 "slow answers in flight during the drain all finish: none reached a server twice"
t_ok "slow answers: load ran ($(awk '$1 == "ok" {print $2}' "$T_DIR/slow.out") answered)" \
    [ "$(awk '$1 == "ok" {print $2}' "$T_DIR/slow.out")" -gt 50 ]
d=$(longest_drain)
t_ok "slow answers: each old worker got SIGTERM within 3 s (longest: $d ms)" \
    test "$d" -gt 0 -a "$d" -lt 3000
t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 \
    "slow answers: no worker was killed at the deadline"

stop_baton
t_is "$T_STATUS" 0 "baton stops cleanly"
t_done
