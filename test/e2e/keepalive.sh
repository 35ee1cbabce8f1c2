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
	http_conf "$T_DIR/baton.ini" "$PORT" "node $T_DIR/server.js $PORT $SEEN $1" \
	    "workers = 2" "preload = yes" "ready = listen" "ready_timeout = 20s" \
	    "drain_timeout = 10s"
}

# none_lost WHAT: no worker was killed at the drain deadline.
none_lost() {
	t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 \
	    "$1: no worker was killed at the deadline"
}

# drained_early WHAT: each old worker closed its connections and got
# SIGTERM within 3 s, not at the 9 s limit, and none was killed.
drained_early() {
	local d

	d=$(longest_drain)
	t_ok "$1: each old worker got SIGTERM within 3 s, not at the 9 s limit (longest: $d ms)" \
	    test "$d" -gt 0 -a "$d" -lt 3000
	none_lost "$1"
}

# --- A fast server, 8 keep-alive connections, 3 reloads.
conf 0
: >"$SEEN"
start_baton "$LOG" run -c "$T_DIR/baton.ini"
t_ok "node http server under preload becomes active" \
    wait_log 20 "$LOG" 'generation 1: active'
GEN=1
# None retried: no keep-alive connection closed under a request.
reload_under_load fast 3 -k -c 8 -p f
reloaded_well fast "keep-alive" 3 1000
drained_early "keep-alive"

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
	reload_each $((GEN + 1)) $((GEN + 3)) 1 "$LOG" 20
	GEN=$((GEN + 3))
	wait "$wk"
	t_is "$?" 0 "wrk ran to its end"
	t_diag "$(grep -E 'requests in|Socket errors|Non-2xx' "$T_DIR/wrk.out" | tr '\n' ' ')"
	t_is "$RELOADED" 3 "wrk: 3 reloads, each to an active generation"
	for k in connect read write timeout; do
		t_is "$(awk -v k=$k '$1 == k {print $2}' "$T_DIR/wrk.out")" 0 \
		    "wrk: no $k error"
	done
	t_is "$(awk '$1 == "status" {print $2}' "$T_DIR/wrk.out")" 0 \
	    "wrk: no answer had an error status (4xx, 5xx)"
	n=$(awk '$1 == "requests" {print $2}' "$T_DIR/wrk.out")
	t_ok "wrk: load ran (${n:-no} requests)" [ "${n:-0}" -gt 1000 ]
	t_ok "wrk: every old generation exits" wait_until 15 drained
	none_lost "wrk"
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
# Slow answers in flight during the drain all finish: none reaches a
# server twice.
reload_under_load slow 3 -k -c 8 -p s
reloaded_well slow "slow answers" 3 50
drained_early "slow answers"

stop_baton
t_is "$T_STATUS" 0 "baton stops cleanly"
t_done
