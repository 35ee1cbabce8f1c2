#!/bin/bash
# Recycling: a worker over max_age (plus up to a tenth, drawn at its
# start) or over max_memory (the RSS of its processes) is replaced in its
# slot: its successor is ready before it drains, so no request under load
# fails and no more than one worker too many lives at once. On a shared
# socket (no steering) and, where the kernel steers, on per-slot ones.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
MPORT=$(free_port)
CONF=$T_DIR/baton.ini
TAG=recycle-$T_DIR

conf() {	# conf SERVER-ARGS KEY=VALUE...
	local args=$1
	shift
	http_conf "$CONF" "$PORT" \
	    "$TESTSERVER --protocol systemd --notify --status $TAG $args" \
	    "workers = 2" "ready = notify" "ready_timeout = 5s" \
	    "drain_timeout = 5s" "metrics = tcp://127.0.0.1:$MPORT" "$@"
}

# recycled N: status counts N recycled workers at least.
recycled() {
	ctl status status --json -c "$CONF"
	[ "$(grep -oE '"recycled":[0-9]+' "$T_DIR/status.out" | cut -d: -f2)" -ge "$1" ]
}

# one_run NAME SECONDS: baton under load that long, then the figures.
one_run() {
	local name=$1 secs=$2
	LOG=$T_DIR/$name.log
	start_active "$LOG" run -c "$CONF"
	alive_start "--status $TAG"
	load_start "$name" "http://127.0.0.1:$PORT/" -c 4 -d 60s
	sleep "$secs"
	load_stop "$name"
	alive_stop
	t_is "$(field failed "$T_DIR/$name.out")" 0 "$name: no request failed"
	load_ran "$name" 200 "$name"
	t_diag "$name: the most workers alive at once: $MAX_ALIVE"
	t_ok "$name: never more than 3 workers alive" [ "$MAX_ALIVE" -le 3 ]
}

# --- max_age on the shared socket: every worker is replaced, ready first.
conf "" "max_age = 2s"
one_run age 6
t_ok "age: slot 0 was recycled for its age" \
    log_has "$LOG" 'gen 1 worker 0 pid [0-9]+: recycling: age [0-9]+ s over max_age 2 s'
t_ok "age: slot 1 too" \
    log_has "$LOG" 'gen 1 worker 1 pid [0-9]+: recycling: age [0-9]+ s over max_age 2 s'
t_ok "age: a successor served before the old one drained" \
    awk '/gen 1 worker 0 pid [0-9]+: recycled: serves slot 0 in place of pid/ {
	split($0, a, "in place of pid "); split(a[2], b, ","); old = b[1]; s = 1 }
	s && index($0, "pid " old ": draining") {found = 1; exit}
	END {exit !found}' "$LOG"
t_ok "age: status counts them" recycled 2
t_ok "age: /metrics counts them" \
    sh -c "'$LOADGEN' -u 'http://127.0.0.1:$MPORT/metrics' -n 1 -c 1 -b -q | grep -qE '^baton_workers_recycled_total [1-9]'"
# An upgrade in place keeps the count.
recycled 0
N=$(grep -oE '"recycled":[0-9]+' "$T_DIR/status.out" | cut -d: -f2)
kill -USR2 "$BATON_PID"
t_ok "age: baton upgrades in place" wait_log 10 "$LOG" 'upgraded in place'
t_ok "age: and still counts the $N recycled" recycled "$N"
stop_baton
t_is "$T_STATUS" 0 "age: baton stops: exit 0"

# --- max_memory: a worker that grows by 64 KiB a request is replaced.
conf "--grow-kib 64" "max_memory = 40M"
one_run memory 5
t_ok "memory: a worker was recycled, with the figure" \
    log_has "$LOG" 'gen 1 worker [01] pid [0-9]+: recycling: RSS [0-9]+ MiB over max_memory 40 MiB'
t_ok "memory: status counts it" recycled 1
stop_baton
t_is "$T_STATUS" 0 "memory: baton stops: exit 0"

# --- max_age with per-slot sockets (rollout = rolling, ready = probe).
conf "" "max_age = 2s" "rollout = rolling" "probe = http GET /healthz" \
    "probe_interval = 50ms"
sed -i 's/^ready = notify$/ready = probe/' "$CONF"
ctl check check -c "$CONF"
if [ "$T_STATUS" != 0 ] && grep -q 'which this machine refuses' "$T_DIR/check.err"; then
	t_skip "the kernel refuses steering: $(sed -n 's/.*refuses: //p' "$T_DIR/check.err")"
else
	one_run steered 6
	t_ok "steered: both slots were recycled" \
	    log_has "$LOG" 'gen 1 worker 1 pid [0-9]+: recycled: serves slot 1'
	stop_baton
	t_is "$T_STATUS" 0 "steered: baton stops: exit 0"
fi
t_done
