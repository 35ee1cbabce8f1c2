#!/bin/bash
# Steering (ready = probe): the held socket becomes a SO_REUSEPORT group
# with one socket per generation and a BPF program picks the socket of
# each new connection. A probe reaches the starting generation only, and
# users reach the active one only: a candidate whose /healthz fails is
# rolled back though the old generation's /healthz passes, with no user
# request failed; a candidate that becomes healthy takes over. Where the
# kernel refuses the program, baton check refuses the key and says why.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log

conf() {	# conf SERVER-ARGS
	steer_conf "$CONF" "$PORT" "$1" "ready_timeout = 8s"
}

conf ""
need_steer "$CONF"

# --- Where the kernel refuses the program (here: without CAP_BPF, as
# nobody), baton check refuses ready = probe and says why.
chmod 755 "$T_DIR"
chmod 644 "$CONF"
if command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    test -x "$BATON" 2>/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	    "$BATON" check -c "$CONF" >"$T_DIR/nobody.out" 2>&1
	t_is "$?" 78 "as nobody, baton check refuses ready = probe"
	t_diag "$(cat "$T_DIR/nobody.out")"
	t_ok "naming FILE:LINE and the kernel's reason" grep -qE \
	    "$CONF:[0-9]+: ready = probe needs the kernel to steer .*refuses: bpf" \
	    "$T_DIR/nobody.out"
else
	t_skip "cannot run baton as nobody here (setpriv, or the path to $BATON)"
fi

start_active "$LOG" run -c "$CONF"
t_ok "the socket is steered" log_has "$LOG" 'socket http: steered'
GEN1=$(gen_pids "$LOG" 1)

# --- A candidate not yet healthy gets no user: they all reach generation 1.
conf "--healthy-after-ms 4000"
kill -HUP "$BATON_PID"
wait_log 5 "$LOG" 'generation 2: starting'
wait_log 5 "$LOG" 'gen 2 worker 1 pid [0-9]+: started'
# 20 answers, a little apart, while generation 2 is not active (a slow
# machine stops sooner rather than sample across the switch).
SAMPLE_UNTIL='generation 2: active' sample 20
t_diag "answered by: $(sort "$T_DIR/sample.20" | uniq -c | tr '\n' ' ')"
t_ok "while generation 2 starts, users reach generation 1 only" \
    only_from "$T_DIR/sample.20" $GEN1
t_ok "generation 2 becomes active once its probe passes" \
    wait_log 10 "$LOG" 'generation 2: active'
t_ok "its workers were probed themselves (a 503 first)" \
    log_has "$LOG" 'gen 2 worker [01] pid [0-9]+: probe failed: HTTP 503'
GEN2=$(gen_pids "$LOG" 2)
sample 10
t_ok "then users reach generation 2 only" only_from "$T_DIR/sample.10" $GEN2
wait_until 10 drained
t_ok "generation 1 drained and exited" drained

# --- A candidate whose probe fails is rolled back, though generation 2's
# /healthz, on the same address, passes: its probe never reached it.
conf "--unhealthy"
load_start rollback "http://127.0.0.1:$PORT/" -c 4 -d 30s
sleep 0.5
kill -HUP "$BATON_PID"
t_ok "generation 3's probe fails" \
    wait_log 8 "$LOG" 'gen 3 worker [01] pid [0-9]+: probe failed: HTTP 503'
t_ok "and it is rolled back at ready_timeout" \
    wait_log 10 "$LOG" 'generation 3: rolled back'
t_ok "generation 2 keeps serving" log_has "$LOG" 'generation 2 keeps serving'
sleep 0.5
load_stop rollback
t_is "$(field failed "$T_DIR/rollback.out")" 0 "no user request failed"
load_ran rollback 100
sample 5
t_ok "users still reach generation 2 only" only_from "$T_DIR/sample.5" $GEN2

# --- Reloads under load with Connection: close: nothing refused or lost.
conf ""
GEN=3	# generation 3 was rolled back
reload_under_load load 3 -c 8

t_is "$RELOADED" 3 "3 more reloads, each to an active generation"
t_is "$(field failed "$T_DIR/load.out")" 0 "no request failed across them"
load_ran load 500

stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_done
