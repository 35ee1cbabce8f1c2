#!/bin/bash
# Upgrading in place (SIGUSR2) with a steered socket (ready = probe): the
# new image takes the group's maps and the generation's own socket over,
# so routing goes on untouched across the exec: no request fails under
# load (new connections, Connection: close). After it, a reload whose
# probe fails is still rolled back (the probe reaches the candidate only,
# though the active generation's /healthz passes on the same address),
# and a good reload takes over, its old generation drained.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log

conf() {	# conf SERVER-ARGS
	steer_conf "$CONF" "$PORT" "--quiet $1" "ready_timeout = 3s"
}

conf ""
need_steer "$CONF"

start_active "$LOG" run -c "$CONF"
t_ok "the socket is steered" log_has "$LOG" 'socket http: steered'
GEN1=$(gen_pids "$LOG" 1)

upgrades() {
	grep -c 'upgraded in place' "$LOG"
}

upgraded() {
	[ "$(upgrades)" -ge "$1" ]
}

# --- Two upgrades under load: nothing refused, nothing failed.
load_start upgrade "http://127.0.0.1:$PORT/" -c 8 -d 60s
sleep 1
kill -USR2 "$BATON_PID"
t_ok "upgrade 1: baton execs" wait_until 10 upgraded 1
sleep 1
kill -USR2 "$BATON_PID"
t_ok "upgrade 2: baton execs" wait_until 10 upgraded 2
sleep 1
load_stop upgrade
t_ok "the new image takes the generation's member over" \
    log_has "$LOG" 'upgrade: socket http: steered on, generation 1 on member [0-9]+'
t_is "$(grep -c 'steered on, generation 1' "$LOG")" 2 "at each upgrade"
t_is "$(grep -cE 'not taken over|cannot be taken over' "$LOG")" 0 \
    "nothing of the steering was lost"
t_is "$(field refused "$T_DIR/upgrade.out")" 0 "no connection refused across the upgrades"
t_is "$(field failed "$T_DIR/upgrade.out")" 0 "no request failed across them"
load_ran upgrade 300
t_is "$(gen_pids "$LOG" 1)" "$GEN1" "generation 1's workers are the same"

# --- A candidate whose probe fails is rolled back: its probe still
# reaches it alone, and users generation 1 alone.
conf "--unhealthy"
load_start rollback "http://127.0.0.1:$PORT/" -c 4 -d 30s
sleep 0.5
kill -HUP "$BATON_PID"
t_ok "generation 2's probe fails" \
    wait_log 8 "$LOG" 'gen 2 worker [01] pid [0-9]+: probe failed: HTTP 503'
sample 10
t_ok "and it is rolled back at ready_timeout" \
    wait_log 10 "$LOG" 'generation 2: rolled back'
t_ok "generation 1 keeps serving" log_has "$LOG" 'generation 1 keeps serving'
sleep 0.5
load_stop rollback
t_is "$(field failed "$T_DIR/rollback.out")" 0 "no user request failed"
load_ran rollback 100
t_ok "meanwhile users reached generation 1 only" \
    only_from "$T_DIR/sample.10" $GEN1

# --- A good reload under load takes over; generation 1 drains.
conf ""
load_start reload "http://127.0.0.1:$PORT/" -c 8 -d 30s
sleep 0.5
t_ok "generation 3 becomes active once its probe passes" \
    reload_and_wait 3 "$LOG" 10
GEN3=$(gen_pids "$LOG" 3)
sample 10
t_ok "then users reach generation 3 only" only_from "$T_DIR/sample.10" $GEN3
t_ok "generation 1 drains and exits" wait_until 10 drained
sleep 0.5
load_stop reload
t_is "$(field refused "$T_DIR/reload.out")" 0 "no connection refused across the reload"
t_is "$(field failed "$T_DIR/reload.out")" 0 "no request failed across it"
load_ran reload 100

stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_done
