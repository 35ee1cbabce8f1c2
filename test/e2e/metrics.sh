#!/bin/bash
# baton's own HTTP listener: /metrics in Prometheus text, /healthz and
# /readyz, on tcp and on a unix path; the same answers across a reload and
# an upgrade in place; /readyz fails through stop_delay while the workers
# still serve; a bad listener is refused with FILE:LINE or the reason.
. "$(dirname "$0")/lib.sh"

if ! command -v curl >/dev/null; then
	t_skip "curl is not installed: it reads status codes"
	t_done
	exit 0
fi

PORT=$(free_port)
MPORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log
M=http://127.0.0.1:$MPORT

# code URL: the HTTP status of a GET (000: no answer).
code() {
	curl -s -m 3 -o /dev/null -w '%{http_code}' "$1"
}

# metric NAME-WITH-LABELS: its value in a fresh scrape.
metric() {
	curl -s -m 3 "$M/metrics" | awk -v k="$1" '$1 == k {print $2}'
}

http_conf "$CONF" "$PORT" "$TESTSERVER --notify --quiet" "ready = notify" \
    "workers = 2" "drain_timeout = 5s" "metrics = tcp://127.0.0.1:$MPORT" \
    "stop_delay = 2s"
start_active "$LOG" run -c "$CONF"

t_is "$(code "$M/healthz")" 200 "/healthz answers 200"
t_is "$(code "$M/readyz")" 200 "/readyz answers 200 while generation 1 serves"
t_is "$(code "$M/nothing")" 404 "another path is 404"
t_is "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -X POST "$M/metrics")" 405 \
    "a POST is 405"
curl -s -m 3 -D "$T_DIR/headers" "$M/metrics" >"$T_DIR/scrape1"
t_ok "/metrics is Prometheus text 0.0.4" \
    grep -qi '^content-type: text/plain; version=0.0.4' "$T_DIR/headers"
t_diag "$(head -20 "$T_DIR/scrape1")"
# Every sample's family has its HELP and TYPE, and names are baton_.
t_ok "every sample has HELP and TYPE lines" awk '
	/^# HELP / {help[$3] = 1; next}
	/^# TYPE / {type[$3] = $4; next}
	{ name = $1; sub(/\{.*/, "", name); fam = name
	  if (!(fam in type)) sub(/_(bucket|sum|count)$/, "", fam)
	  if (!(fam in help) || !(fam in type) || fam !~ /^baton_/) exit 1 }
	' "$T_DIR/scrape1"
t_ok "no line is malformed" awk '
	/^#/ {next}
	NF != 2 || $2 !~ /^-?[0-9.e+]+$/ {exit 1}' "$T_DIR/scrape1"
t_is "$(metric 'baton_workers{state="active"}')" 2 "two workers active"
t_is "$(metric baton_active_generation)" 1 "generation 1 is active"
t_is "$(metric 'baton_reloads_total{outcome="ok"}')" 0 "no reload yet"
rss=$(metric baton_resident_memory_bytes)
t_ok "baton's own RSS is there ($rss bytes)" test "${rss:-0}" -gt 100000
pids=$(gen_pids "$LOG" 1 | tr '\n' ' ')
for p in $pids; do
	v=$(awk -v p="pid=\"$p\"" 'index($1, "baton_worker_resident_memory_bytes{") == 1 && index($1, p) {print $2}' "$T_DIR/scrape1")
	t_ok "worker $p's RSS is counted ($v bytes)" test "${v:-0}" -gt 100000
done

# --- A reload: counted, timed; the answers never stop.
load_start probe "$M/readyz" -c 1 -d 20 -t 3000
reload_and_wait 2
wait_until 10 drained
t_is "$(metric 'baton_reloads_total{outcome="ok"}')" 1 "the reload is counted ok"
t_is "$(metric baton_reload_duration_seconds_count)" 1 "and timed"
t_is "$(metric baton_drain_duration_seconds_count)" 1 "generation 1's drain is timed"
t_is "$(metric baton_active_generation)" 2 "generation 2 is active"

# --- A rollback is counted by its outcome.
cp "$CONF" "$T_DIR/good.ini"
sed -i "s|^command = .*|command = /bin/false|" "$CONF"
kill -HUP "$BATON_PID"
t_ok "a reload that cannot start rolls back" \
    wait_log 10 "$LOG" 'generation 2 keeps serving'
t_is "$(metric 'baton_reloads_total{outcome="rolled_back"}')" 1 "a rolled-back reload is counted so"
cp "$T_DIR/good.ini" "$CONF"

# --- An upgrade in place keeps the listener: no refused probe.
kill -USR2 "$BATON_PID"
t_ok "baton upgrades in place" wait_log 15 "$LOG" 'upgraded in place'
t_is "$(code "$M/readyz")" 200 "/readyz answers after the upgrade"
t_is "$(metric baton_upgrades_total)" 1 "the upgrade is counted"
t_is "$(metric 'baton_reloads_total{outcome="ok"}')" 1 "counters cross it"
t_is "$(metric baton_reload_duration_seconds_count)" 2 "histograms cross it"
load_stop probe
t_is "$(field failed "$T_DIR/probe.out")" 0 "no /readyz request failed across reload, rollback and upgrade ($(field requests "$T_DIR/probe.out") requests)"

# --- Stop: /readyz is 503 for stop_delay while the workers still serve.
kill -TERM "$BATON_PID"
t_ok "the stop says it waits" wait_log 5 "$LOG" 'readyz fails for 2000 ms'
t_is "$(code "$M/readyz")" 503 "/readyz is 503 during stop_delay"
t_is "$(code "$M/healthz")" 200 "/healthz still 200"
t_is "$(code "http://127.0.0.1:$PORT/")" 200 "the workers still serve"
t_ok "then baton drains and exits 0" wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "exit status 0"
t_ok "the listener is closed" not_listening "$MPORT"

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

t_done
