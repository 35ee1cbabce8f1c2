#!/bin/bash
# rollout = rolling: a reload replaces one slot at a time, each new slot
# ready (its probe passed) before the old one in its place drains, so
# that 4 workers never have more than 5 processes alive, no request under
# load fails, and new connections spread over the slots. A new generation
# whose slot 2 fails stops there: slots 0 and 1 go back to the old
# generation, which serves with 4 workers again, and the reload says so.
# An upgrade in place keeps each slot on its own socket, and a slot whose
# worker was killed serves again once it is restarted.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log
# In every worker's command line, so that only this test's are counted.
TAG=rolling-$T_DIR

conf() {	# conf SERVER-ARGS
	http_conf "$CONF" "$PORT" \
	    "$TESTSERVER --protocol systemd --status $TAG $1" \
	    "workers = 4" "rollout = rolling" "ready = probe" \
	    "probe = http GET /healthz" "probe_interval = 50ms" \
	    "ready_timeout = 5s" "drain_timeout = 5s"
}

conf ""
need_steer "$CONF"

# spread N: N answers of /, one a connection; every pid answers at least
# a tenth of them, and there are 4 of them.
spread() {
	local i body
	: >"$T_DIR/spread"
	for i in $(seq "$1"); do
		body=$(http_get "http://127.0.0.1:$PORT/") || body="failed"
		echo "${body#ok }" >>"$T_DIR/spread"
	done
	t_diag "answered by: $(sort "$T_DIR/spread" | uniq -c | tr '\n' ' ')"
	[ "$(sort -u "$T_DIR/spread" | wc -l)" = 4 ] &&
	    ! grep -q failed "$T_DIR/spread" &&
	    [ "$(sort "$T_DIR/spread" | uniq -c |
	    awk -v min=$(($1 / 10)) '$1 < min' | wc -l)" = 0 ]
}

# serving GEN: the only generation in status is GEN, its 4 workers active.
serving() {
	ctl status status --json -c "$CONF"
	[ "$(grep -o '"number":[0-9]*' "$T_DIR/status.out")" = "\"number\":$1" ] &&
	    [ "$(grep -o '"state":"active","restarts"' "$T_DIR/status.out" |
	    wc -l)" = 4 ]
}

not_in_log() {
	! log_has "$LOG" "$1"
}

start_active "$LOG" run -c "$CONF"
t_ok "generation 1 starts one slot at a time" \
    log_has "$LOG" 'generation 1: starting slot 3 of 4'
t_ok "new connections spread over the 4 slots" spread 80

alive_start "--status $TAG"

# --- A rolling reload under load (Connection: close).
load_start load "http://127.0.0.1:$PORT/" -c 8 -d 30s
sleep 0.5
ctl reload reload -c "$CONF"
t_is "$T_STATUS" 0 "the rolling reload succeeds ($(out reload | tail -1))"
t_ok "slot 0 of generation 2 served before slot 1 started" \
    awk '/generation 2: slot 0 serving/ {s = 1} /gen 2 worker 1 pid [0-9]+: started/ {exit !s}' "$LOG"
t_ok "each old slot drained after its successor was ready" \
    awk '/generation 2: slot 2 serving/ {s = 1} /gen 1 worker 2 pid [0-9]+: draining/ {exit !s}' "$LOG"
t_ok "slot 3 of generation 2 started only once the old slot 2 was gone" \
    awk '/gen 1 worker 2: its last process is gone|gen 1 worker 2 pid [0-9]+: killed|gen 1 worker 2 pid [0-9]+: exited/ {s = 1} /gen 2 worker 3 pid [0-9]+: started/ {exit !s}' "$LOG"
wait_until 10 serving 2
t_ok "generation 2 alone serves with 4 workers" serving 2
sleep 0.3
load_stop load
t_is "$(field failed "$T_DIR/load.out")" 0 "no request failed"
load_ran load 200
t_ok "new connections spread over the new slots" spread 80

# --- Slot 2 of generation 3 fails: the rollout stops there.
conf "--fail-slot 2"
load_start fail "http://127.0.0.1:$PORT/" -c 8 -d 30s
sleep 0.3
ctl reload reload -c "$CONF"
t_is "$T_STATUS" 1 "the reload fails: exit 1"
t_diag "$(out reload)"
t_ok "it names slot 2 and why" \
    grep -qE 'error generation 3 rolled back: worker 2 exited with status 3' \
    "$T_DIR/reload.out" "$T_DIR/reload.err"
t_ok "slot 0 went back to generation 2" \
    wait_log 10 "$LOG" 'gen 2 worker 0: put back'
t_ok "slot 1 went back to generation 2" \
    wait_log 10 "$LOG" 'gen 2 worker 1: put back'
t_ok "slots 2 and 3 were never handed over" \
    not_in_log 'gen 2 worker [23]: put back'
t_ok "generation 2 serves with 4 workers again" wait_until 10 serving 2
sleep 0.3
load_stop fail
t_is "$(field failed "$T_DIR/fail.out")" 0 "no request failed meanwhile"
load_ran fail 100

# --- An upgrade in place carries each slot's own socket over: new
# connections still reach the 4 slots, across the exec and after it.
load_start upgrade "http://127.0.0.1:$PORT/" -c 8 -d 30s
sleep 0.3
kill -USR2 "$BATON_PID"
t_ok "baton upgrades in place" wait_log 10 "$LOG" 'upgraded in place'
t_is "$(grep -cE 'upgrade: socket http: steered on, generation 2 worker [0-3] on member' "$LOG")" 4 \
    "the new image takes the 4 slots' sockets over"
sleep 0.3
load_stop upgrade
t_is "$(field failed "$T_DIR/upgrade.out")" 0 "no request failed across it"
load_ran upgrade 100
t_ok "new connections spread over the 4 slots after it" spread 80

# --- A slot whose worker dies is left out while it is down, and serves
# again once its worker is restarted.
restarted() {
	serving 2 && grep -q '"restarts":1' "$T_DIR/status.out"
}
kill -KILL "$(grep -o '"pid":[0-9]*' "$T_DIR/status.out" | sed -n 2p | cut -d: -f2)"
t_ok "the killed worker is restarted" wait_until 10 restarted
t_ok "new connections spread over the 4 slots, its too" spread 80

alive_stop
t_diag "the most worker processes seen alive at once: $MAX_ALIVE"
t_ok "never more than 5 worker processes alive at once" [ "$MAX_ALIVE" -le 5 ]
t_ok "the sampler saw them (4 at least)" [ "$MAX_ALIVE" -ge 4 ]

stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_done
