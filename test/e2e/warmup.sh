#!/bin/bash
# Warm-up: once its workers are ready (and its canary, if any, passed), a
# new generation's share of new connections rises from 5% (or the
# canary's) to all over warmup, the old generation taking the rest; then
# it is active and the old one drains. A crash or baton rollback during
# it rolls back, baton promote ends it at once. Where no socket of the
# generation is steered (a unix socket here), both accept for warmup.
# No user request fails.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log
URL=http://127.0.0.1:$PORT/

conf() {	# conf SERVER-ARGS [KEY = VALUE]...
	local args=$1
	shift
	steer_conf "$CONF" "$PORT" "$args" "probe_successes = 2" \
	    "ready_timeout = 4s" "control = $T_DIR/ctl.sock" "$@"
}

conf "" "warmup = 3s"
need_steer "$CONF"
ctl print check -c "$CONF"
t_ok "baton check prints warmup" grep -qx 'warmup = 3000ms' \
    "$T_DIR/print.out"

start_active "$LOG" run -c "$CONF"
t_ok "generation 1 is active at once: nothing to warm up beside" \
    log_has "$LOG" 'generation 1: active after [0-9]+ ms$'
GEN1=$(gen_pids "$LOG" 1)

# reload_bg NAME: baton reload in the background (pid RPID), its output
# in NAME.out and NAME.err.
reload_bg() {
	timeout 30 "$BATON" reload -c "$CONF" >"$T_DIR/$1.out" \
	    2>"$T_DIR/$1.err" &
	RPID=$!
}

# stamp LINE-REGEX: the log time of the first line matching, in ms.
stamp() {
	grep -E -- "$1" "$LOG" | head -n 1 | awk '{
		split(substr($1, 12), t, ":")
		printf "%d\n", (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }'
}

# --- Under load: the share rises in steps; the old one drains after.
load_start load "$URL" -c 8 -d 60s
reload_bg reload2
t_ok "generation 2 warms up once its workers are ready" \
    wait_log 10 "$LOG" 'generation 2: warming up after [0-9]+ ms: 5\.00% of new connections, to 100% over 3000 ms'
T0=$(date +%s%N)
GEN2=$(gen_pids "$LOG" 2)
# Bins of 100 requests, one connection each, until it is active: who
# answered, and when (ms into the warm-up).
: >"$T_DIR/bins"
k=0
while ! log_has "$LOG" 'generation 2: active' && [ "$k" -lt 100 ]; do
	at=$(ms_since "$T0")
	# status first, then the bin: on a slow machine a bin may take
	# long enough to carry the late look past the end of the warm-up.
	case $k in
	0) ctl early status -c "$CONF" --json ;;
	*) [ "$at" -ge 1500 ] && [ ! -e "$T_DIR/late.out" ] &&
	    ctl late status -c "$CONF" --json ;;
	esac
	"$LOADGEN" -u "$URL" -n 100 -c 4 -t 3000 -a "$T_DIR/bin.$k" \
	    >/dev/null
	echo "$at $(tally "$T_DIR/bin.$k" $GEN2) $(wc -l <"$T_DIR/bin.$k")" \
	    >>"$T_DIR/bins"
	k=$((k + 1))
done
t_diag "bins (ms into it, from generation 2, answered):" "$(cat "$T_DIR/bins")"
EARLY=$(awk '$1 < 600 {n += $2; a += $3} END {print int(100 * n / a)}' \
    "$T_DIR/bins")
LATE=$(awk '$1 >= 2200 {n += $2; a += $3} END {print int(100 * n / a)}' \
    "$T_DIR/bins")
t_diag "generation 2 answered $EARLY% early (0-600 ms), $LATE% late (2200 ms on)"
t_ok "early on, mostly generation 1 answers ($EARLY% from 2)" \
    [ "$EARLY" -le 35 ]
t_ok "late in it, mostly generation 2 answers ($LATE% from 2)" \
    [ "$LATE" -ge 65 ]
t_ok "every bin was answered in full" \
    awk '$3 != 100 {exit 1}' "$T_DIR/bins"
S_EARLY=$(share "$T_DIR/early.out" 2)
S_LATE=$(share "$T_DIR/late.out" 2)
t_diag "status: generation 2's share $S_EARLY%, then $S_LATE%"
t_ok "status: its share rises ($S_EARLY% then $S_LATE%)" awk -v a="$S_EARLY" \
    -v b="$S_LATE" 'BEGIN {exit !(a >= 5 && a < 60 && b > a && b < 100)}'
t_ok "status: still in its canary state, with the warm-up's time left" \
    grep -qE '"number":2,"state":"canary".*"warmup_left_ms":[0-9]+' \
    "$T_DIR/early.out"
t_ok "generation 2 is active after the warm-up" wait_log 10 "$LOG" \
    'generation 2: active after [0-9]+ ms \(warmed up over 3000 ms\)'
wait "$RPID"
t_is "$?" 0 "the reload ends ok"
t_ok "its client followed the warm-up" grep -q 'generation 2: warming up' \
    "$T_DIR/reload2.out"
WARM=$(stamp 'generation 2: warming up')
DRAIN=$(stamp 'generation 1: draining \(')
t_diag "generation 1 drains $((DRAIN - WARM)) ms after the warm-up began"
t_ok "generation 1 drains only after warmup ($((DRAIN - WARM)) ms)" \
    [ "$((DRAIN - WARM))" -ge 3000 ]
wait_until 10 drained
load_stop load
t_is "$(field failed "$T_DIR/load.out")" 0 "no user request failed"
load_ran load 200

# --- baton promote ends a warm-up at once.
conf "" "warmup = 60s"
reload_bg reload3
t_ok "generation 3 warms up" wait_log 10 "$LOG" \
    'generation 3: warming up after [0-9]+ ms: 5\.00%'
ctl st3 status -c "$CONF"
t_ok "status text says so" grep -q 'warming up: active in' "$T_DIR/st3.out"
ctl scale3 scale 3 -c "$CONF"
t_ok "baton scale waits for it" grep -q 'is warming up' "$T_DIR/scale3.err"
ctl promote3 promote -c "$CONF"
t_is "$T_STATUS" 0 "baton promote: exit 0"
t_ok "it says so" grep -q '^ok generation 3 promoted; generation 2 drains' \
    "$T_DIR/promote3.out"
wait "$RPID"
t_is "$?" 0 "the reload ends ok at the promotion"
t_ok "the log says why" log_has "$LOG" \
    'generation 3: active after [0-9]+ ms \(promoted: baton promote, after [0-9]+ ms warming up\)'
wait_until 10 drained

# --- baton rollback during a warm-up: the old one keeps everything.
GEN3=$(gen_pids "$LOG" 3)
reload_bg reload4
t_ok "generation 4 warms up" wait_log 10 "$LOG" 'generation 4: warming up'
ctl rollback4 rollback -c "$CONF"
t_is "$T_STATUS" 0 "baton rollback: exit 0"
t_ok "it says so" grep -q '^ok generation 4 rolled back; generation 3 keeps serving' \
    "$T_DIR/rollback4.out"
wait "$RPID"
t_is "$?" 1 "the reload it ended fails: exit 1"
"$LOADGEN" -u "$URL" -n 200 -c 4 -t 3000 -a "$T_DIR/kept.ans" >/dev/null
t_is "$(tally "$T_DIR/kept.ans" $GEN3)" 200 "generation 3 keeps 100%"

# --- A crash during the warm-up rolls it back.
conf "--crash-after-ms 1500" "warmup = 60s"
ctl reload5 reload -c "$CONF"
t_is "$T_STATUS" 1 "a worker crashes in the warm-up: the reload fails"
t_ok "saying why" grep -qE '^error generation 5 rolled back: worker [01] (exited with status|killed by signal) .* during the warm-up' \
    "$T_DIR/reload5.err"

# --- After a canary: promote starts the warm-up from the canary's share.
conf "" "canary = 20%" "canary_time = 60s" "warmup = 1s"
reload_bg reload6
t_ok "generation 6 enters its canary" wait_log 10 "$LOG" \
    'generation 6: canary after [0-9]+ ms: 20\.00%'
ctl promote6 promote -c "$CONF"
t_ok "baton promote starts the warm-up" grep -q \
    '^ok generation 6 warming up over 1000 ms; generation 3 drains after it' \
    "$T_DIR/promote6.out"
t_ok "from the canary's share" log_has "$LOG" \
    'generation 6: warming up after [0-9]+ ms \(baton promote\): 20\.00% of new connections, to 100% over 1000 ms'
wait "$RPID"
t_is "$?" 0 "the reload ends ok once warmed up"
t_ok "the log says so" log_has "$LOG" \
    'generation 6: active after [0-9]+ ms \(warmed up over 1000 ms\)'
stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"

# --- No steering (a unix socket): both accept for warmup.
if ! command -v curl >/dev/null; then
	t_skip "needs curl for the unix socket"
	t_done
	exit
fi
SOCK=$T_DIR/app.sock
LOG=$T_DIR/unix.log
write_conf "$CONF" <<EOF
[baton]
command = $TESTSERVER --protocol systemd
workers = 2
ready = delay
ready_delay = 200ms
warmup = 2s
drain_timeout = 5s
control = $T_DIR/ctl.sock

[socket:app]
listen = unix://$SOCK
EOF
start_active "$LOG" run -c "$CONF"
GEN1=$(gen_pids "$LOG" 1)
kill -HUP "$BATON_PID"
t_ok "generation 2 warms up beside generation 1" wait_log 10 "$LOG" \
    'generation 2: warming up for 2000 ms beside generation 1 \(no steering here: both accept\)'
: >"$T_DIR/unix.ans"
for i in $(seq 1 40); do
	curl -s --max-time 3 --unix-socket "$SOCK" http://x/ >>"$T_DIR/unix.ans"
	echo >>"$T_DIR/unix.ans"
	log_has "$LOG" 'generation 2: active' && break
	sleep 0.02
done
t_ok "generation 2 is active after the warm-up" wait_log 10 "$LOG" \
    'generation 2: active after [0-9]+ ms \(warmed up over 2000 ms\)'
t_ok "generation 1 answered during it" [ "$(tally "$T_DIR/unix.ans" $GEN1)" -gt 0 ]
WARM=$(stamp 'generation 2: warming up')
DRAIN=$(stamp 'generation 1: draining \(')
t_ok "generation 1 drains only after warmup ($((DRAIN - WARM)) ms)" \
    [ "$((DRAIN - WARM))" -ge 2000 ]
stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_done
