#!/bin/bash
# baton scale N under load (a new connection a request): 2 -> 4 -> 1 -> 3
# workers with no request failed, the count in status and in the live
# process list the same each time; a reload goes back to the file's
# count. Bad counts are refused and change nothing; a new slot that dies
# before it is ready undoes the scale (exit 1). With rollout = rolling
# (each slot on a steered socket of its own) new connections reach the
# new slots too. With ready = probe the probe of a new slot, or of a
# restarted worker, reaches that worker alone. baton raises its soft
# RLIMIT_NOFILE for a scale up as for a configuration.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log
# In every worker's command line, so that only this test's are counted.
TAG=scale-$T_DIR

http_conf "$CONF" "$PORT" \
    "$TESTSERVER --protocol systemd --notify --quiet --fail-slot 5 --status $TAG" \
    "workers = 2" "ready = notify" "ready_timeout = 5s" "drain_timeout = 5s"

# workers N: status says N slots, N serving workers, and baton has N
# live children of this test.
workers() {
	ctl status status --json -c "$CONF"
	json_has "$T_DIR/status.out" slots "$1," &&
	    [ "$(grep -o '"role":"serving"' "$T_DIR/status.out" | wc -l)" = "$1" ] &&
	    [ "$(pgrep -P "$BATON_PID" -f -- "--status $TAG" | wc -l)" = "$1" ]
}

start_active "$LOG" run -c "$CONF"
t_ok "2 workers at the start" workers 2

# --- Under load: 2 -> 4 -> 1 -> 3, each scale waited for.
load_start scale "http://127.0.0.1:$PORT/" -c 8 -d 60s
sleep 0.5
for n in 4 1 3; do
	ctl "scale$n" scale "$n" -c "$CONF"
	t_is "$T_STATUS" 0 "scale $n: exit 0"
	t_ok "scale $n: ends with ok, naming the file's count" \
	    grep -qE "^ok generation 1 has $n workers? \(its configuration says 2" \
	    "$T_DIR/scale$n.out"
	t_ok "scale $n: status and the process list both say $n" \
	    wait_until 5 workers "$n"
	sleep 0.5
done
load_stop scale
t_is "$(field failed "$T_DIR/scale.out")" 0 "no request failed while scaling"
t_is "$(field refused "$T_DIR/scale.out")" 0 "no connection was refused"
load_ran scale 300
t_ok "scale up streams each new worker's steps" \
    grep -qE 'gen 1 worker 3 pid [0-9]+: new slot serving' "$T_DIR/scale4.out"
t_ok "scale down streams the drained workers' exits" \
    grep -qE 'gen 1 worker 3 pid [0-9]+: exited' "$T_DIR/scale1.out"
ctl status status -c "$CONF"
t_ok "status says the count differs from the file's" \
    grep -q 'scaled: 3 workers, its configuration says 2' "$T_DIR/status.out"

# --- Bad counts: a usage error each, and nothing changes.
for bad in 0 -1 abc 1025; do
	ctl bad scale "$bad" -c "$CONF"
	t_is "$T_STATUS" 64 "scale $bad: usage error"
	t_ok "scale $bad: says what is wrong" \
	    grep -q "scale: '$bad' is not a number of workers from 1 to 1024" \
	    "$T_DIR/bad.err"
done
t_ok "still 3 workers" workers 3

# --- A new slot that dies before it is ready (slot 5 exits at start):
# the scale is undone, the generation keeps 3.
ctl fail scale 6 -c "$CONF"
t_is "$T_STATUS" 1 "a failed scale: exit 1"
t_ok "it says which worker and why" grep -qE \
    '^error the scale failed: worker 5 exited with status 3 before it was ready; generation 1 has 3 workers' \
    "$T_DIR/fail.err"
t_ok "the new slots drain, and 3 workers serve" wait_until 10 workers 3

# --- Upgrade in place: the count carries over.
kill -USR2 "$BATON_PID"
t_ok "baton upgrades in place" wait_log 10 "$LOG" 'upgraded in place'
t_ok "with its 3 workers" workers 3

# --- A reload goes back to the file's count.
ctl reload reload -c "$CONF"
t_is "$T_STATUS" 0 "reload: exit 0"
t_ok "generation 2 has the file's 2 workers" workers 2
ctl status status -c "$CONF"
t_ok "and status no longer says scaled" \
    bash -c "! grep -q scaled: '$T_DIR/status.out'"
stop_baton

# --- rollout = rolling: every slot has its own steered socket.
PORT=$(free_port)
LOG=$T_DIR/rolling.log
http_conf "$CONF" "$PORT" \
    "$TESTSERVER --protocol systemd --status $TAG" \
    "workers = 2" "rollout = rolling" "ready = probe" \
    "probe = http GET /healthz" "probe_interval = 50ms" \
    "ready_timeout = 5s" "drain_timeout = 5s"
need_steer "$CONF"
start_active "$LOG" run -c "$CONF"
load_start rolling "http://127.0.0.1:$PORT/" -c 8 -d 60s
sleep 0.5
ctl rscale scale 4 -c "$CONF"
t_is "$T_STATUS" 0 "rolling: scale 4: exit 0"
t_ok "rolling: the new slots start one at a time" \
    log_has "$LOG" 'scaling up from 2 to 4 workers, one new slot at a time'
t_ok "rolling: 4 workers" workers 4
NEW=$(grep -oE 'gen 1 worker [23] pid [0-9]+: new slot serving' "$LOG" |
    awk '{print $6}' | tr -d ':')
sample 40
t_diag "answered by: $(sort "$T_DIR/sample.40" | uniq -c | tr '\n' ' ')"
t_is "$(echo $NEW | wc -w)" 2 "rolling: 2 new slots served"
t_ok "rolling: new connections reach both new slots" \
    only_from <(echo "$NEW") $(sort -u "$T_DIR/sample.40")
ctl rdown scale 1 -c "$CONF"
t_is "$T_STATUS" 0 "rolling: scale 1: exit 0"
t_ok "rolling: 1 worker" workers 1
load_stop rolling
t_is "$(field failed "$T_DIR/rolling.out")" 0 "rolling: no request failed"
load_ran rolling 100 rolling
stop_baton

# --- ready = probe (steered, one socket for the generation): a new slot's
# probe, and a restarted worker's, reach it alone, never a serving sibling
# whose /healthz passes; each is ready only once its own passes, 1.5 s
# after it started.
PORT=$(free_port)
LOG=$T_DIR/probe.log
http_conf "$CONF" "$PORT" \
    "$TESTSERVER --protocol systemd --quiet --healthy-after-ms 1500 --status $TAG" \
    "workers = 2" "ready = probe" "probe = http GET /healthz" \
    "probe_interval = 50ms" "ready_timeout = 5s" "drain_timeout = 5s"
need_steer "$CONF"
start_active "$LOG" run -c "$CONF"
# ready_ms SLOT [NTH]: how long slot SLOT's NTH start took to be ready.
ready_ms() {
	grep -oE "gen 1 worker $1 pid [0-9]+: ready in [0-9]+ ms" "$LOG" |
	    sed -n "${2:-1}p" | awk '{print $(NF - 1)}'
}
readies() {
	[ "$(grep -cE "gen 1 worker $1 pid [0-9]+: ready in" "$LOG")" -ge "$2" ]
}
load_start probe "http://127.0.0.1:$PORT/" -c 4 -d 60s
sleep 0.3
ctl pscale scale 3 -c "$CONF"
t_is "$T_STATUS" 0 "probe: scale 3: exit 0"
t_ok "probe: the new slot was ready once its own /healthz passed ($(ready_ms 2) ms)" \
    [ "$(ready_ms 2)" -ge 1400 ]
load_stop probe
t_is "$(field failed "$T_DIR/probe.out")" 0 "probe: no request failed"
load_ran probe 100 probe
# The kill comes between two loads: a request the killed worker was
# answering dies with it, which is no loss of baton's.
kill -KILL "$(grep -oE 'gen 1 worker 0 pid [0-9]+: started' "$LOG" |
    awk '{print $6}' | tr -d ':')"
load_start restart "http://127.0.0.1:$PORT/" -c 4 -d 60s
t_ok "probe: the killed worker is restarted and ready" \
    wait_until 10 readies 0 2
t_ok "probe: so was the restarted one ($(ready_ms 0 2) ms)" \
    [ "$(ready_ms 0 2)" -ge 1400 ]
load_stop restart
t_is "$(field failed "$T_DIR/restart.out")" 0 \
    "probe: no request failed while the restarted worker started"
load_ran restart 100 "probe: restart"
stop_baton

# --- RLIMIT_NOFILE follows the scale: started at a soft limit of 64 for
# one worker, baton holds a descriptor or more for each of 80, so it
# raises its soft limit for them before the first one starts.
if ! command -v prlimit >/dev/null; then
	t_skip "RLIMIT_NOFILE: needs prlimit (to start baton at a soft limit of 64)"
else
	NPORT=$(free_port)
	NCONF=$T_DIR/nofile.ini
	http_conf "$NCONF" "$NPORT" "$TESTSERVER --notify --quiet --status $TAG-nofile" \
	    "workers = 1" "ready = notify" "ready_timeout = 20s" "drain_timeout = 5s"
	BATON_WRAPPER="prlimit --nofile=64: ${BATON_WRAPPER:-}" \
	    start_active "$T_DIR/nofile.log" run -c "$NCONF"
	t_is "$?" 0 "RLIMIT_NOFILE: generation 1 is active at a soft limit of 64"
	ctl nscale scale 80 -c "$NCONF"
	t_is "$T_STATUS" 0 "RLIMIT_NOFILE: scale 80: exit 0 ($(tail -1 "$T_DIR/nscale.out"))"
	t_ok "RLIMIT_NOFILE: baton raised its soft limit for 80 workers" \
	    log_has "$T_DIR/nofile.log" \
	    "RLIMIT_NOFILE: soft limit [0-9]+, up from [0-9]+, for 1 socket and 80 workers"
	t_is "$(pgrep -P "$BATON_PID" -f -- "--status $TAG-nofile" | wc -l)" 80 \
	    "RLIMIT_NOFILE: 80 workers run"
	t_result "$(log_has "$T_DIR/nofile.log" 'Too many open files'; [ $? = 1 ]; echo $?)" \
	    "RLIMIT_NOFILE: no descriptor ran out"
	stop_baton
fi
t_done
