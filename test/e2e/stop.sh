#!/bin/bash
# Stopping: SIGTERM drains and exits 0, closing the port; a second SIGTERM
# or SIGQUIT kills at once; a worker that ignores the drain signal is
# killed at the deadline; if baton itself dies, its workers drain.
. "$(dirname "$0")/lib.sh"

conf() {	# conf NAME PORT EXTRA-SERVER-ARGS DRAIN-TIMEOUT
	http_conf "$T_DIR/$1.ini" "$2" "$TESTSERVER --notify $3" "workers = 2" \
	    "ready = notify" "drain_timeout = $4"
}

# Graceful stop, with requests in flight that must finish.
PORT=$(free_port)
conf graceful "$PORT" "" 10s
start_active "$T_DIR/graceful.log" run -c "$T_DIR/graceful.ini"
pids=$(worker_pids "$T_DIR/graceful.log")
"$LOADGEN" -u "http://127.0.0.1:$PORT/sleep?ms=700" -c 2 -n 2 -t 5000 >"$T_DIR/inflight.out" &
LG=$!
sleep 0.3
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "SIGTERM: exit status 0"
wait "$LG"
t_is "$(awk '$1 == "ok" {print $2}' "$T_DIR/inflight.out")" 2 "requests in flight at SIGTERM are answered"
t_ok "the port is closed" not_listening "$PORT"
t_is "$(alive $pids)" 0 "no worker is left"
t_ok "the log says stopped" log_has "$T_DIR/graceful.log" 'stopped'

# A worker that ignores the drain signal is killed at the deadline.
PORT=$(free_port)
conf stubborn "$PORT" --ignore-drain 1500ms
start_active "$T_DIR/stubborn.log" run -c "$T_DIR/stubborn.ini"
pids=$(worker_pids "$T_DIR/stubborn.log")
start=$(date +%s%N)
kill -TERM "$BATON_PID"
sleep 1
t_is "$(alive $pids)" 2 "before the deadline the workers still run"
wait_exit "$BATON_PID" 10
end=$(date +%s%N)
t_is "$T_STATUS" 0 "exit status 0 after the deadline"
t_ok "not before the deadline ($(( (end - start) / 1000000 )) ms)" [ $(( (end - start) / 1000000 )) -ge 1400 ]
t_ok "a warning names the lost work" log_has "$T_DIR/stubborn.log" 'warn: gen 1 worker [01] pid [0-9]+: still running at the drain deadline .*unfinished work was lost'
t_is "$(alive $pids)" 0 "no worker is left"

# A second SIGTERM stops at once.
PORT=$(free_port)
conf twice "$PORT" --ignore-drain 30s
start_active "$T_DIR/twice.log" run -c "$T_DIR/twice.ini"
pids=$(worker_pids "$T_DIR/twice.log")
kill -TERM "$BATON_PID"
wait_log 5 "$T_DIR/twice.log" 'graceful stop'
kill -TERM "$BATON_PID"
t_ok "a second SIGTERM exits at once" wait_exit "$BATON_PID" 5
t_is "$(alive $pids)" 0 "no worker is left"
t_ok "the port is closed" not_listening "$PORT"

# SIGQUIT stops at once.
PORT=$(free_port)
conf quit "$PORT" --ignore-drain 30s
start_active "$T_DIR/quit.log" run -c "$T_DIR/quit.ini"
pids=$(worker_pids "$T_DIR/quit.log")
kill -QUIT "$BATON_PID"
t_ok "SIGQUIT exits at once" wait_exit "$BATON_PID" 5
t_is "$(alive $pids)" 0 "no worker is left"

# baton dies: each worker gets the drain signal and the port is freed.
PORT=$(free_port)
conf orphan "$PORT" "" 10s
start_active "$T_DIR/orphan.log" run -c "$T_DIR/orphan.ini"
pids=$(worker_pids "$T_DIR/orphan.log")
kill -KILL "$BATON_PID"
wait_exit "$BATON_PID" 5
orphans_gone() { [ "$(alive $pids)" = 0 ]; }
t_ok "workers exit when baton is killed" wait_until 10 orphans_gone
t_ok "no orphan keeps the port" not_listening "$PORT"

# SIGTERM in the middle of a reload stops both generations cleanly.
PORT=$(free_port)
conf midreload "$PORT" "" 10s
start_active "$T_DIR/midreload.log" run -c "$T_DIR/midreload.ini"
conf midreload "$PORT" "--startup-ms 3000" 10s
kill -HUP "$BATON_PID"
wait_log 5 "$T_DIR/midreload.log" 'gen 2 worker 1 pid [0-9]+: started'
pids=$(worker_pids "$T_DIR/midreload.log")
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "SIGTERM during a reload: exit 0"
t_is "$(alive $pids)" 0 "no worker of either generation is left"
t_ok "the port is closed" not_listening "$PORT"

t_done
