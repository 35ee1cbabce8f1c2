#!/bin/bash
# ready = probe: a worker is ready once its http probe passes, not before;
# a failure is logged once, not at each attempt, and status shows it; a
# reload whose probe keeps failing is rolled back, the reason naming the
# probe's failure, and the old generation goes on serving.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
ADMIN=$(free_port)
LOG=$T_DIR/baton.log
CONF=$T_DIR/baton.ini

conf() {	# conf SERVER-ARGS PROBE-SOCKET [MORE-LINES]
	write_conf "$CONF" <<CONF
[baton]
command = $TESTSERVER --protocol systemd $1
workers = 2
ready = probe
probe = http GET /healthz
probe_socket = $2
probe_interval = 100ms
probe_successes = 2
probe_timeout = 500ms
ready_timeout = 3s
drain_timeout = 5s

[socket:http]
listen = tcp://127.0.0.1:$PORT
$3
CONF
}

# --- Refused before anything starts: FILE:LINE, exit 78.
printf '[baton]\ncommand = %s\nready = probe\n' "$TESTSERVER" >"$T_DIR/bad.ini"
"$BATON" check -c "$T_DIR/bad.ini" >"$T_DIR/bad.out" 2>&1
t_is "$?" 78 "ready = probe without a probe: exit 78"
t_ok "it names FILE:LINE" grep -qF "$T_DIR/bad.ini:3: ready = probe needs a probe" "$T_DIR/bad.out"

# --- From the command line alone.
CLI=$(free_port)
start_baton "$T_DIR/cli.log" run --listen "http=tcp://127.0.0.1:$CLI" \
    --ready probe --probe 'http GET /healthz' -- \
    "$TESTSERVER" --protocol systemd --healthy-after-ms 300
t_ok "baton run --ready probe --probe: generation 1 becomes active" \
    wait_log 10 "$T_DIR/cli.log" 'generation 1: active'
t_ok "after the probe passed" log_has "$T_DIR/cli.log" 'probe passed: HTTP 200'
stop_baton
t_is "$T_STATUS" 0 "it stops: exit 0"

# --- The first generation: /healthz says 503 for 1.5 s, then 200.
conf "--healthy-after-ms 1500" http
ctl check check -c "$CONF"
t_is "$T_STATUS" 0 "baton check accepts the probe keys"
t_ok "it prints them back" grep -qx 'probe = http GET /healthz' "$T_DIR/check.out"
start_baton "$LOG" run -c "$CONF"
wait_log 5 "$LOG" 'probe failed: HTTP 503' || t_diag "$(cat "$LOG")"
ctl json1 status -c "$CONF" --json
t_diag "$(out json1)"
t_ok "status shows why the probe fails while it starts" \
    json_has "$T_DIR/json1.out" probe_failure '"HTTP 503"'
t_ok "generation 1 is not active yet" sh -c "! grep -q 'generation 1: active' '$LOG'"
t_ok "generation 1 becomes active" wait_log 10 "$LOG" 'generation 1: active'
t_diag "$(grep -E 'probe|ready in' "$LOG")"
slow=$(grep -oE 'gen 1 worker [0-9]+ pid [0-9]+: ready in [0-9]+ ms' "$LOG" |
    awk '$NF == "ms" && $(NF - 1) >= 1500 {n++} END {print n + 0}')
t_is "$slow" 2 "each worker is ready only after /healthz said 200 (1.5 s)"
n=$(grep -c 'probe failed: HTTP 503' "$LOG")
t_ok "the failure is logged once per worker, not per attempt ($n lines)" \
    [ "$n" -ge 1 ] && [ "$n" -le 2 ]
gen1=$(gen_pids "$LOG" 1)
now=$(http_get "http://127.0.0.1:$PORT/")
t_ok "generation 1 answers ($now)" answers_from "$now" $gen1
ctl json2 status -c "$CONF" --json
t_ok "status: no probe failure once ready" \
    sh -c "! grep -q '\"probe_failure\":\"' '$T_DIR/json2.out'"

# --- A reload whose /healthz never passes, probed through a socket only
# the new generation holds: rolled back at ready_timeout, saying why.
conf "--unhealthy" admin "[socket:admin]
listen = tcp://127.0.0.1:$ADMIN"
timeout 30 "$BATON" reload -c "$CONF" >"$T_DIR/rollback.out" 2>&1
t_is "$?" 1 "the reload fails: exit 1"
t_diag "$(cat "$T_DIR/rollback.out")"
t_ok "a streamed step names the probe's failure" \
    grep -q 'gen 2 worker [0-9]* pid [0-9]*: probe failed: HTTP 503' "$T_DIR/rollback.out"
t_ok "the last line says it rolled back because of the probe" \
    sh -c "tail -n 1 '$T_DIR/rollback.out' | grep -q '^error generation 2 rolled back: worker [0-9]* not ready after 3000 ms (the probe: HTTP 503)'"
t_is "$(alive $gen1)" 2 "generation 1's workers still run"
now=$(http_get "http://127.0.0.1:$PORT/")
t_ok "and answer ($now)" answers_from "$now" $gen1
ctl json3 status -c "$CONF" --json
t_ok "status: last_reload rolled back" json_has "$T_DIR/json3.out" outcome '"rolled back"'
t_ok "status: its reason names the probe's failure" \
    grep -qF '(the probe: HTTP 503)' "$T_DIR/json3.out"

stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_done
