#!/bin/bash
# The pidfile gets the care of a unix socket's path: what is at the path
# and is not a pid file of a dead baton (a text file, a symbolic link, a
# directory, the pid file of a live process) is refused with the reason,
# exit 1, and left as it was; a stale pid file is replaced; at stop baton
# removes only the file it wrote, with the text it wrote.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log
PIDFILE=$T_DIR/baton.pid

http_conf "$CONF" "$PORT" "$TESTSERVER --notify --quiet" "ready = notify" \
    "drain_timeout = 5s" "pidfile = $PIDFILE"

# refused NAME DESCRIPTION REASON-REGEX: baton run exits 1 at once,
# naming the pidfile and the reason, and serves nothing.
refused() {
	timeout 10 "$BATON" run -c "$CONF" >"$T_DIR/$1.out" 2>&1
	t_is "$?" 1 "$2: baton refuses to start, exit 1"
	t_diag "$(cat "$T_DIR/$1.out")"
	t_ok "the message names the pidfile and why" \
	    grep -qE "pidfile $PIDFILE: $3" "$T_DIR/$1.out"
	t_ok "nothing serves" not_listening "$PORT"
	t_ok "no temporary file is left" \
	    sh -c "! ls '$T_DIR' | grep -q 'baton.pid.*\.tmp'"
}

# A pid that no process has: one that just exited.
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"

# --- Not a pid file: left alone.
printf 'my notes\n' >"$PIDFILE"
refused text "a text file at the pidfile's path" 'is not a pid file'
t_is "$(cat "$PIDFILE")" "my notes" "the file keeps its text"

printf '%s\n%s\n' "$DEAD" "more" >"$PIDFILE"
refused twolines "a pid and more" 'is not a pid file'
t_is "$(wc -l <"$PIDFILE")" 2 "the file is left as it was"

: >"$PIDFILE"
refused empty "an empty file" 'is not a pid file'
t_ok "it stays" test -f "$PIDFILE"
rm -f "$PIDFILE"

# --- A symbolic link is never followed, nor replaced.
printf '%s\n' "$DEAD" >"$T_DIR/target"
ln -s "$T_DIR/target" "$PIDFILE"
refused link "a symbolic link to a stale pid file" 'is a symbolic link'
t_ok "the link stays" test -L "$PIDFILE"
t_is "$(readlink "$PIDFILE")" "$T_DIR/target" "pointing where it did"
t_is "$(cat "$T_DIR/target")" "$DEAD" "and its target is untouched"
rm -f "$PIDFILE"
ln -s "$T_DIR/nowhere" "$PIDFILE"
refused dangling "a dangling symbolic link" 'is a symbolic link'
t_ok "nothing is created at its target" test ! -e "$T_DIR/nowhere"
rm -f "$PIDFILE"

mkdir "$PIDFILE"
refused dir "a directory" 'is not a regular file'
rmdir "$PIDFILE"

# --- The pid file of a live process that is not a baton.
sleep 60 &
SLEEPER=$!
T_PIDS="$T_PIDS $SLEEPER"
printf '%s\n' "$SLEEPER" >"$PIDFILE"
refused live "the unlocked pid file of a live process" "names pid $SLEEPER, which runs"
t_is "$(cat "$PIDFILE")" "$SLEEPER" "the file is untouched"
kill "$SLEEPER"
rm -f "$PIDFILE"

# --- A folder that does not exist: the error names the pidfile.
sed -i "s|^pidfile = .*|pidfile = $T_DIR/nodir/baton.pid|" "$CONF"
run_fails "$T_DIR/nodir.out" "a pidfile in a missing folder" run -c "$CONF"
t_ok "the message names the pidfile" \
    grep -qE "pidfile $T_DIR/nodir/baton.pid: .*No such file" "$T_DIR/nodir.out"
t_ok "not the temporary file" sh -c "! grep -q 'baton.pid.[0-9]*.tmp' '$T_DIR/nodir.out'"
sed -i "s|^pidfile = .*|pidfile = $PIDFILE|" "$CONF"

# --- A stale pid file of a dead baton is replaced.
printf '%s\n' "$DEAD" >"$PIDFILE"
start_baton "$LOG" run -c "$CONF"
t_ok "over a stale pid file, baton starts" wait_log 10 "$LOG" 'generation 1: active'
t_is "$(cat "$PIDFILE")" "$BATON_PID" "and writes its own pid there"
# Its own control socket and port, so that only the pidfile is shared.
PORT2=$(free_port)
sed -e "s|127.0.0.1:$PORT|127.0.0.1:$PORT2|" \
    -e "s|^pidfile|control = $T_DIR/second.sock\npidfile|" "$CONF" \
    >"$T_DIR/second.ini"
run_fails "$T_DIR/second.out" "a second baton with the same pidfile" run -c "$T_DIR/second.ini"
t_ok "it names the first" grep -qF "pidfile $PIDFILE: another baton (pid $BATON_PID) runs" "$T_DIR/second.out"
t_is "$(cat "$PIDFILE")" "$BATON_PID" "the pidfile is untouched"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_ok "the pidfile it wrote is removed at stop" test ! -e "$PIDFILE"

# --- Replaced while baton runs: the other file survives the stop.
start_active "$LOG" run -c "$CONF"
wait_until 5 test -s "$PIDFILE"
printf 'other\n' >"$T_DIR/other"
mv "$T_DIR/other" "$PIDFILE"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$(cat "$PIDFILE" 2>/dev/null)" "other" "a file put in its place survives the stop"
t_ok "and the stop says why it is left" log_has "$LOG" "pidfile $PIDFILE: no longer the file baton wrote"
rm -f "$PIDFILE"

# --- Rewritten in place (same inode) while baton runs: kept too.
start_active "$LOG" run -c "$CONF"
wait_until 5 test -s "$PIDFILE"
printf '%s\n' "$DEAD" >"$PIDFILE"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$(cat "$PIDFILE" 2>/dev/null)" "$DEAD" "a pidfile rewritten by someone else survives the stop"
rm -f "$PIDFILE"

# --- The normal case.
start_active "$LOG" run -c "$CONF"
t_ok "with nothing there, baton writes its pidfile" wait_until 5 test -s "$PIDFILE"
t_is "$(cat "$PIDFILE")" "$BATON_PID" "with its pid"
t_is "$(stat -c %a "$PIDFILE")" 644 "mode 0644"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_ok "and removes it" test ! -e "$PIDFILE"
t_ok "and nothing else is left beside it" \
    sh -c "! ls '$T_DIR' | grep -q 'baton.pid'"

t_done
