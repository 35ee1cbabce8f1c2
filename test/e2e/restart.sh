#!/bin/bash
# A worker that dies on its own is restarted in its slot, with backoff;
# a worker that cannot exec is reported with the reason, not "status 127".
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
start_baton "$T_DIR/kill.log" run --workers 2 --ready notify \
    --listen "http=tcp://127.0.0.1:$PORT" -- "$TESTSERVER" --notify
wait_log 10 "$T_DIR/kill.log" 'generation 1: active'
victim=$(worker_pids "$T_DIR/kill.log" | head -1)
slot=$(grep -oE "worker [01] pid $victim: started" "$T_DIR/kill.log" | awk '{print $2}')
kill -KILL "$victim"
t_ok "the kill is logged with the signal" \
    wait_log 5 "$T_DIR/kill.log" "worker $slot pid $victim: killed by signal 9 \\(SIGKILL\\)"
t_ok "the slot restarts after 100 ms" \
    wait_log 5 "$T_DIR/kill.log" "worker $slot: restarting in 100 ms \\(restart 1\\)"
three_ready() { [ "$(grep -c ': ready in' "$T_DIR/kill.log")" -ge 3 ]; }
t_ok "a new process starts in the same slot and is ready" wait_until 5 three_ready
t_ok "in slot $slot" sh -c "grep ': ready in' '$T_DIR/kill.log' | tail -1 | grep -q 'gen 1 worker $slot pid'"
t_is "$(worker_pids "$T_DIR/kill.log" | wc -l)" 3 "three processes in all"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "still serving ($body)" [ -n "$body" ]
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10

# A crash loop backs off: 100, 200, 400 ms...
PORT=$(free_port)
start_baton "$T_DIR/loop.log" run --ready delay \
    --listen "http=tcp://127.0.0.1:$PORT" -- \
    "$TESTSERVER" --crash-after-ms 1500
# The first start must look healthy: ready_delay is 1s, it crashes at 1.5s.
t_ok "restart 1 after 100 ms" wait_log 10 "$T_DIR/loop.log" 'restarting in 100 ms \(restart 1\)'
t_ok "restart 2 after 200 ms" wait_log 10 "$T_DIR/loop.log" 'restarting in 200 ms \(restart 2\)'
t_ok "restart 3 after 400 ms" wait_log 10 "$T_DIR/loop.log" 'restarting in 400 ms \(restart 3\)'
t_ok "a crash is logged as a signal" log_has "$T_DIR/loop.log" 'killed by signal 6 \(SIGABRT\)'
kill -TERM "$BATON_PID"
t_ok "baton stops during a crash loop" wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 0 "exit status 0"

# exec fails: the reason is in the log, and the first generation fails.
PORT=$(free_port)
start_baton "$T_DIR/exec.log" run --listen "http=tcp://127.0.0.1:$PORT" -- \
    /nonexistent/server --flag
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 1 "a first generation that cannot exec: exit 1"
t_ok "the log names exec and the reason" \
    log_has "$T_DIR/exec.log" 'exec /nonexistent/server: No such file or directory'
t_ok "and says the generation never became ready" \
    log_has "$T_DIR/exec.log" 'generation 1 never became ready'
t_ok "the port is closed" not_listening "$PORT"

# A worker that exits at start: exit 1 with its status.
PORT=$(free_port)
start_baton "$T_DIR/fail.log" run --ready notify --listen "http=tcp://127.0.0.1:$PORT" -- \
    "$TESTSERVER" --exit-at-start 3
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 1 "a first generation that exits at start: exit 1"
t_ok "the log gives the status" log_has "$T_DIR/fail.log" 'exited with status 3 before it was ready'

# Not ready by ready_timeout: exit 1.
PORT=$(free_port)
http_conf "$T_DIR/slow.ini" "$PORT" "$TESTSERVER --notify --never-ready" \
    "ready = notify" "ready_timeout = 1s" "drain_timeout = 2s"
start_baton "$T_DIR/slow.log" run -c "$T_DIR/slow.ini"
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 1 "a first generation never ready: exit 1"
t_ok "the log says not ready after 1000 ms" log_has "$T_DIR/slow.log" 'not ready after 1000 ms'

t_done
