#!/bin/bash
# Canary rollouts: a candidate whose workers are all ready gets its
# canary share of new connections (by hash, Connection: close) while the
# active generation keeps the rest, until baton promote or canary_time
# makes it active, or a failing probe, a crash or baton rollback rolls it
# back, from which moment it gets nothing. No user request fails.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log
URL=http://127.0.0.1:$PORT/

conf() {	# conf SERVER-ARGS [KEY = VALUE]...
	local args=$1
	shift
	http_conf "$CONF" "$PORT" "$TESTSERVER --protocol systemd $args" \
	    "workers = 2" "ready = probe" "probe = http GET /healthz" \
	    "probe_interval = 100ms" "probe_successes = 2" \
	    "ready_timeout = 4s" "drain_timeout = 5s" \
	    "control = $T_DIR/ctl.sock" "$@"
}

conf "" "canary = 10%" "canary_time = 60s"
need_steer "$CONF"

start_active "$LOG" run -c "$CONF"
t_ok "generation 1 is active at once: a canary needs an older one" \
    log_has "$LOG" 'generation 1: active'
GEN1=$(gen_pids "$LOG" 1)

# sample NAME N: N requests, one connection each; answers in NAME.ans.
sample() {
	"$LOADGEN" -u "$URL" -n "$2" -c 4 -t 3000 -a "$T_DIR/$1.ans" \
	    >"$T_DIR/$1.out"
	t_diag "$1: answered by: $(sort "$T_DIR/$1.ans" | uniq -c |
	    tr '\n' ' ')"
}

# --- A canary of 10% gets 5-15% of new connections; promote: 100%.
RELOAD=$T_DIR/reload2
timeout 30 "$BATON" reload -c "$CONF" >"$RELOAD.out" 2>"$RELOAD.err" &
RPID=$!
t_ok "generation 2 enters its canary once its workers are ready" \
    wait_log 10 "$LOG" 'generation 2: canary after [0-9]+ ms: 10.00% of new'
GEN2=$(gen_pids "$LOG" 2)
ctl st2 status -c "$CONF" --json
t_ok "status says canary" json_has "$T_DIR/st2.out" state '"canary"'
t_is "$(share "$T_DIR/st2.out" 2)" 10.00 "status: generation 2's share is 10%"
t_is "$(share "$T_DIR/st2.out" 1)" 90.00 "status: generation 1's share is 90%"
ctl st2t status -c "$CONF"
t_ok "status text shows the share" grep -qE '^2 +canary +[^ ]+ +10%' \
    "$T_DIR/st2t.out"
sample share 2000
N2=$(tally "$T_DIR/share.ans" $GEN2)
N1=$(tally "$T_DIR/share.ans" $GEN1)
t_diag "generation 2: $N2, generation 1: $N1 of 2000"
t_is "$((N1 + N2))" 2000 "every request answered, by generation 1 or 2"
t_ok "generation 2 got 5-15% ($N2 of 2000)" [ "$N2" -ge 100 -a "$N2" -le 300 ]
# The program's counts: generation 1's grew by exactly what it answered;
# generation 2's by that and its probes (10 a second a worker).
ctl st2b status -c "$CONF" --json
C1=$(( $(gen_field "$T_DIR/st2b.out" 1 connections) -
    $(gen_field "$T_DIR/st2.out" 1 connections) ))
C2=$(( $(gen_field "$T_DIR/st2b.out" 2 connections) -
    $(gen_field "$T_DIR/st2.out" 2 connections) ))
t_diag "connections counted meanwhile: generation 1 $C1, generation 2 $C2"
t_is "$C1" "$N1" "status: generation 1's connections count what it answered"
t_ok "status: generation 2's count what it answered, and its probes" \
    [ "$C2" -ge "$N2" -a "$C2" -le "$((N2 + 300))" ]
t_is "$(alive "$RPID")" 1 "the reload client still follows"
ctl promote promote -c "$CONF"
t_is "$T_STATUS" 0 "baton promote: exit 0"
t_ok "it says so" grep -q '^ok generation 2 promoted; generation 1 drains' \
    "$T_DIR/promote.out"
wait "$RPID"
t_is "$?" 0 "the reload ends ok at the promotion"
t_ok "its last line says so" grep -q '^ok generation 2 active' "$RELOAD.out"
t_ok "the log says why" log_has "$LOG" \
    'generation 2: active after [0-9]+ ms \(promoted: baton promote'
sample promoted 300
t_is "$(tally "$T_DIR/promoted.ans" $GEN2)" 300 "a promoted one gets 100%"
ctl st2p status -c "$CONF" --json
t_is "$(share "$T_DIR/st2p.out" 2)" 100.00 "status: generation 2's share is 100%"
wait_until 10 drained
ctl nothing promote -c "$CONF"
t_is "$T_STATUS" 1 "baton promote with no canary: exit 1"
t_ok "it says why" grep -q '^error nothing to promote' "$T_DIR/nothing.err"
ctl nothing2 rollback -c "$CONF"
t_is "$T_STATUS" 1 "baton rollback with nothing under way: exit 1"

# --- A canary whose probe starts failing is rolled back on its own, and
# gets nothing from then on; no user request fails meanwhile.
conf "--unhealthy-after-ms 1500" "canary = 10%" "canary_time = 60s"
load_start fail "$URL" -c 4 -d 30s -a "$T_DIR/fail.ans"
sleep 0.3
ctl reload3 reload -c "$CONF"
t_is "$T_STATUS" 1 "the reload fails: exit 1"
t_ok "it says why" grep -qE "^error generation 3 rolled back: worker [01]'s probe failed 2 times in a row during the canary: HTTP 503; generation 2 keeps serving" \
    "$T_DIR/reload3.err"
t_ok "it streamed the canary" grep -q 'generation 3: canary after' \
    "$T_DIR/reload3.out"
GEN3=$(gen_pids "$LOG" 3)
ctl st3 status -c "$CONF" --json
S3=$(share "$T_DIR/st3.out" 3)
t_is "${S3:-0.00}" 0.00 "status: generation 3's share is 0 (or it is gone)"
t_is "$(share "$T_DIR/st3.out" 2)" 100.00 "status: generation 2's is 100%"
sleep 0.5
MARK=$(wc -l <"$T_DIR/fail.ans")
sleep 1
load_stop fail
t_is "$(field failed "$T_DIR/fail.out")" 0 "no user request failed"
load_ran fail 200
t_ok "generation 3 served some while in its canary" \
    [ "$(tally "$T_DIR/fail.ans" $GEN3)" -gt 0 ]
tail -n +"$((MARK + 1))" "$T_DIR/fail.ans" >"$T_DIR/after.ans"
t_diag "after the roll back: $(wc -l <"$T_DIR/after.ans") answers"
t_is "$(tally "$T_DIR/after.ans" $GEN3)" 0 "after it, generation 3 gets 0%"
sample back 200
t_is "$(tally "$T_DIR/back.ans" $GEN2)" 200 "generation 2 has all of it"

# --- baton reload --canary over a file with none; baton rollback.
conf ""
RELOAD=$T_DIR/reload4
timeout 30 "$BATON" reload -c "$CONF" --canary 50% >"$RELOAD.out" \
    2>"$RELOAD.err" &
RPID=$!
t_ok "--canary 50%: generation 4 enters its canary" \
    wait_log 10 "$LOG" 'generation 4: canary after [0-9]+ ms: 50.00% of new'
ctl st4 status -c "$CONF" --json
t_is "$(share "$T_DIR/st4.out" 4)" 50.00 "status: generation 4's share is 50%"
ctl rollback rollback -c "$CONF"
t_is "$T_STATUS" 0 "baton rollback: exit 0"
t_ok "it says so" grep -q '^ok generation 4 rolled back; generation 2 keeps serving' \
    "$T_DIR/rollback.out"
wait "$RPID"
t_is "$?" 1 "the reload it ended fails: exit 1"
t_ok "saying why" grep -q '^error generation 4 rolled back: baton rollback' \
    "$RELOAD.err"
sample kept 200
t_is "$(tally "$T_DIR/kept.ans" $GEN2)" 200 "generation 2 keeps 100%"
ctl bad reload -c "$CONF" --canary 100%
t_is "$T_STATUS" 64 "--canary 100% is refused"

# --- A crash during the canary rolls it back.
conf "--crash-after-ms 1500" "canary = 10%" "canary_time = 60s"
ctl reload5 reload -c "$CONF"
t_is "$T_STATUS" 1 "a worker crashes in the canary: the reload fails"
t_ok "saying why" grep -qE '^error generation 5 rolled back: worker [01] (exited with status|killed by signal) .* during the canary' \
    "$T_DIR/reload5.err"

# --- canary_time running out promotes it.
conf "" "canary = 10%" "canary_time = 1s"
ctl reload6 reload -c "$CONF"
t_is "$T_STATUS" 0 "the reload ends ok once canary_time passes"
t_ok "the log says why" log_has "$LOG" \
    'generation 6: active after [0-9]+ ms \(promoted: canary_time \(1000 ms\) passed'
GEN6=$(gen_pids "$LOG" 6)
sample timed 200
t_is "$(tally "$T_DIR/timed.ans" $GEN6)" 200 "then generation 6 gets 100%"

stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_done
