#!/bin/bash
# Reloads under real load: no request fails, and no work that a request
# started after its answer is lost, across 20 reloads; plus rollbacks,
# the drain deadline, socket changes, a bad file and a SIGHUP storm.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
LOG=$T_DIR/baton.log
WORK=$T_DIR/work.log
SERVER="$TESTSERVER --notify --work-ms 300 --work-log $WORK"

conf() {	# conf EXTRA-SERVER-ARGS [EXTRA-LINES]
	write_conf "$T_DIR/baton.ini" <<CONF
[baton]
command = $SERVER $1
workers = 2
ready = notify
ready_timeout = 2s
drain_timeout = 10s

[socket:http]
listen = tcp://127.0.0.1:$PORT
$2
CONF
}

active_count() {
	grep -cE 'generation [0-9]+: active' "$T_DIR/baton.log"
}

conf ""
start_baton "$T_DIR/baton.log" run -c "$T_DIR/baton.ini"
wait_log 10 "$T_DIR/baton.log" 'generation 1: active' || t_diag "$(cat "$T_DIR/baton.log")"

# --- 20 reloads under 32 concurrent connections, Connection: close.
lg_start=$(date +%s%N)
load_start load "http://127.0.0.1:$PORT/" -c 32 -d 60s -p a -o "$T_DIR/ids" \
    -r "$T_DIR/timeline"
sleep 0.5
ok=0
for g in $(seq 2 21); do
	echo $(( ($(date +%s%N) - lg_start) / 1000 )) >>"$T_DIR/reload-times"
	reload_and_wait "$g" && ok=$((ok + 1))
	sleep 0.2
done
t_is "$ok" 20 "20 reloads, each to an active generation"
sleep 0.5
load_stop load
# Latency of requests started within 300 ms of a reload, and the others.
awk -v dir="$T_DIR" 'NR == FNR {r[n++] = $1; next} $3 == 200 {
	w = 0; for (i = 0; i < n; i++) if ($1 >= r[i] && $1 < r[i] + 300000) w = 1
	print $2 / 1000 > (dir (w ? "/lat.reload" : "/lat.steady")) }' \
    "$T_DIR/reload-times" "$T_DIR/timeline"
pct() {	# pct FILE FRACTION
	sort -n "$1" | awk -v p="$2" '{a[NR] = $1} END {i = int((NR - 1) * p) + 1; printf "%.2f", a[i]}'
}
for w in steady reload; do
	t_diag "$w: $(wc -l <"$T_DIR/lat.$w") requests, p50 $(pct "$T_DIR/lat.$w" 0.5) ms, p99 $(pct "$T_DIR/lat.$w" 0.99) ms, max $(pct "$T_DIR/lat.$w" 1) ms"
done
t_is "$(field failed "$T_DIR/load.out")" 0 "no request failed across 20 reloads"
load_ran load 1000

t_ok "every old generation exits" wait_until 20 drained "$T_DIR/baton.log"
sleep 1	# the active generation's last work, 300 ms after its answers
sort -u "$T_DIR/ids" >"$T_DIR/ids.sorted"
awk '{print $1}' "$WORK" | sort -u >"$T_DIR/done.sorted"
lost=$(comm -23 "$T_DIR/ids.sorted" "$T_DIR/done.sorted" | wc -l)
t_is "$lost" 0 "no work lost: every answered id is in the completion log"
t_is "$(grep -c 'unfinished work was lost' "$T_DIR/baton.log")" 0 "no worker was killed at a deadline"

# --- A worker of the new generation that crashes after ready restarts.
victim=$(grep -oE 'gen 21 worker 0 pid [0-9]+: started' "$T_DIR/baton.log" | awk '{print $6}' | tr -d ':')
kill -KILL "$victim"
t_ok "a crashed worker of a reloaded generation restarts in its slot" \
    wait_log 5 "$T_DIR/baton.log" 'gen 21 worker 0: restarting in 100 ms'
restarted() { [ "$(grep -cE 'gen 21 worker 0 pid [0-9]+: ready' "$T_DIR/baton.log")" = 2 ]; }
t_ok "and is ready again" wait_until 5 restarted

# --- The same socket, never rebound: fd 3 is one inode across generations.
inode_before=$(http_get "http://127.0.0.1:$PORT/fds" | awk '$1 == 3 {print $2}')

# --- Rollback: the new generation exits at start; the old one serves on.
old=$(http_get "http://127.0.0.1:$PORT/")
load_start rb "http://127.0.0.1:$PORT/" -c 8 -d 30s
conf "--exit-at-start 3"
kill -HUP "$BATON_PID"
t_ok "a generation that exits at start is rolled back" \
    wait_log 10 "$T_DIR/baton.log" 'generation 22: rolled back: worker [01] exited with status 3 before it was ready'
t_ok "the log says the old one keeps serving" log_has "$T_DIR/baton.log" 'generation 21 keeps serving'

# --- Rollback: never ready by ready_timeout.
conf "--never-ready"
kill -HUP "$BATON_PID"
t_ok "a generation not ready by ready_timeout is rolled back" \
    wait_log 10 "$T_DIR/baton.log" 'generation 23: rolled back: worker [01] not ready after 2000 ms'
sleep 0.5
load_stop rb
t_is "$(field failed "$T_DIR/rb.out")" 0 "no request failed across both rollbacks"
now=$(http_get "http://127.0.0.1:$PORT/")
t_ok "the old generation still answers ($old, $now)" \
    sh -c "grep -q 'gen 21 worker [01] pid ${now#ok }: started' '$T_DIR/baton.log'"

# --- An invalid file changes nothing.
printf '[baton]\ncommand = %s\nworkers = lots\n' "$SERVER" >"$T_DIR/baton.ini"
kill -HUP "$BATON_PID"
t_ok "an invalid file is reported with FILE:LINE" \
    wait_log 5 "$T_DIR/baton.log" "reload failed, nothing changed: $T_DIR/baton.ini:3: workers: 'lots'"
sleep 0.3
t_ok "and no generation starts" sh -c "! grep -q 'generation 24: starting' '$T_DIR/baton.log'"
now=$(http_get "http://127.0.0.1:$PORT/")
t_ok "generation 21 still answers" \
    sh -c "grep -q 'gen 21 worker [01] pid ${now#ok }: started' '$T_DIR/baton.log'"

# --- Sockets: one added on reload listens; fd 3 stays the same socket.
APORT=$(free_port)
conf "" "[socket:admin]
listen = tcp://127.0.0.1:$APORT"
reload_and_wait 24
t_ok "a socket added on reload listens" listening "$APORT"
t_ok "and serves" sh -c "'$LOADGEN' -u http://127.0.0.1:$APORT/ -n 1 -b -q >/dev/null"
inode_after=$(http_get "http://127.0.0.1:$PORT/fds" | awk '$1 == 3 {print $2}')
t_is "$inode_after" "$inode_before" "the unchanged socket is the same one throughout ($inode_before)"
# Removed: it stops listening once the generation that used it is gone.
conf ""
reload_and_wait 25
t_ok "a removed socket stops listening after the old generation exits" \
    wait_until 15 not_listening "$APORT"
t_ok "generation 24 exited first" log_has "$T_DIR/baton.log" 'generation 24: exited'

# --- An old worker that ignores the drain signal dies at the deadline.
http_conf "$T_DIR/baton.ini" "$PORT" "$SERVER --ignore-drain" "workers = 2" \
    "ready = notify" "drain_timeout = 1500ms"
reload_and_wait 26
conf ""
start=$(date +%s%N)
reload_and_wait 27
stubborn=$(grep -oE 'gen 26 worker [01] pid [0-9]+: started' "$T_DIR/baton.log" | awk '{print $6}' | tr -d ':')
sleep 1
n=0; for p in $stubborn; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
t_is "$n" 2 "before the deadline the stubborn workers run"
t_ok "at the deadline they are killed" \
    wait_log 5 "$T_DIR/baton.log" 'gen 26 worker [01] pid [0-9]+: still running at the drain deadline \(1500 ms\): SIGKILL; its unfinished work was lost'
end=$(date +%s%N)
t_ok "not before 1.5 s ($(( (end - start) / 1000000 )) ms)" [ $(( (end - start) / 1000000 )) -ge 1400 ]
t_ok "generation 26 exits" wait_log 5 "$T_DIR/baton.log" 'generation 26: exited'

# --- Keep-alive clients across 5 reloads: idle connections are closed
# by the draining server, and an HTTP client retries a request that a
# reused connection closed before answering.
load_start keepalive "http://127.0.0.1:$PORT/" -k -c 32 -d 60s
sleep 0.5
reload_each 28 32 0.3
load_stop keepalive
t_is "$(field failed "$T_DIR/keepalive.out")" 0 "keep-alive: no request failed across 5 reloads"

# --- A storm: 50 SIGHUPs in a second, each generation taking 100 ms to start.
conf "--startup-ms 100"
for i in $(seq 1 50); do kill -HUP "$BATON_PID"; sleep 0.02; done
settled() {
	[ "$(grep -c ': starting [0-9]* worker' "$T_DIR/baton.log")" = \
	  "$(grep -cE 'generation [0-9]+: (active after|rolled back)' "$T_DIR/baton.log")" ]
}
wait_until 20 settled
sleep 1
wait_until 20 settled
overlap=$(awk '/generation [0-9]+: starting [0-9]+ worker/ {n++; if (n > max) max = n}
	/generation [0-9]+: (active after|rolled back)/ {n--}
	END {print max}' "$T_DIR/baton.log")
t_is "$overlap" 1 "never more than one generation starting at a time"
storm=$(( $(grep -c ': starting [0-9]* worker' "$T_DIR/baton.log") - 32 ))
t_ok "the storm was coalesced ($storm reloads for 50 signals)" [ "$storm" -ge 1 -a "$storm" -lt 50 ]
drain_done() {
	[ "$(pgrep -f -- "--work-log $WORK" | wc -l)" = 2 ]
}
t_ok "it ends with exactly one active generation of 2 workers" wait_until 20 drain_done

stop_baton
t_is "$T_STATUS" 0 "baton stops cleanly"
t_done
