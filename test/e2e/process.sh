#!/bin/bash
# The process around baton: it reaps what its workers leave behind
# (PR_SET_CHILD_SUBREAPER), logs at the level asked, and speaks journald's
# priority prefixes when its stderr is the journal.
. "$(dirname "$0")/lib.sh"

zombies_of() {
	ps -o stat= --ppid "$1" 2>/dev/null | grep -c '^Z'
}

# A worker whose server leaves an orphan behind: the orphan comes back to
# baton, which reaps it when it exits.
PORT=$(free_port)
start_baton "$T_DIR/reap.log" run --ready delay \
    --listen "http=tcp://127.0.0.1:$PORT" -- /bin/sh -c \
    '(sleep 3 &); exec sleep 30'
t_ok "generation 1 is active" wait_log 10 "$T_DIR/reap.log" 'generation 1: active'
orphan_is_ours() {
	ps -o pid=,comm= --ppid "$BATON_PID" | grep -q 'sleep' &&
	    [ "$(ps -o pid= --ppid "$BATON_PID" | wc -l)" -ge 2 ]
}
t_ok "the daemonized child is reparented to baton" wait_until 5 orphan_is_ours
sleep 3
t_is "$(zombies_of "$BATON_PID")" 0 "and reaped by baton when it exits: no zombie"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 0 "baton stops"

# --log-level: debug shows state changes, error hides the info lines.
PORT=$(free_port)
start_baton "$T_DIR/debug.log" run --log-level debug --ready notify \
    --listen "http=tcp://127.0.0.1:$PORT" -- "$TESTSERVER" --notify
wait_log 10 "$T_DIR/debug.log" 'generation 1: active'
t_ok "--log-level debug logs state changes" log_has "$T_DIR/debug.log" 'debug: gen 1 worker 0 pid [0-9]+: starting -> ready'
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10
PORT=$(free_port)
start_baton "$T_DIR/error.log" run --log-level error --ready notify \
    --listen "http=tcp://127.0.0.1:$PORT" -- "$TESTSERVER" --notify --quiet
wait_until 10 listening "$PORT"
sleep 0.5
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10
t_is "$(grep -c ' info: ' "$T_DIR/error.log")" 0 "--log-level error hides info lines"
"$BATON" run --log-level loud -- /bin/true >/dev/null 2>&1
t_is "$?" 64 "--log-level loud: usage error"

# Under journald (JOURNAL_STREAM names stderr): <N> prefixes, no time stamp.
PORT=$(free_port)
exec 9>"$T_DIR/journal.log"
jstream=$(stat -L -c '%d:%i' "$T_DIR/journal.log")
JOURNAL_STREAM=$jstream "$BATON" run --ready notify \
    --listen "http=tcp://127.0.0.1:$PORT" -- "$TESTSERVER" --notify --quiet 2>&9 &
BATON_PID=$!
T_PIDS="$T_PIDS $BATON_PID"
exec 9>&-
wait_log 10 "$T_DIR/journal.log" 'generation 1: active'
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10
t_ok "journald: info lines start with <6>" grep -qE '^<6>info: generation 1: active' "$T_DIR/journal.log"
t_ok "journald: no time stamp" sh -c "! grep -qE '^[0-9]{4}-' '$T_DIR/journal.log'"

t_done
