#!/bin/bash
# 1,024 sockets (one TCP, the rest unix): a worker receives them in
# several SCM_RIGHTS messages (253 at most each), baton raises its own
# RLIMIT_NOFILE from 1,024 to hold them, the first, a middle and the last
# serve, before and after reloads; 1,025 and a hard limit too low for
# them are refused with the file and line; an upgrade in place carries
# them; in a descriptor store, a restart after a crash starts with them.
. "$(dirname "$0")/lib.sh"

N=1024
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt 4096 ]; then
	t_skip "$N sockets: the hard RLIMIT_NOFILE here is $HARD, under 4096"
	t_done
	exit 77
fi
if ! command -v prlimit >/dev/null || ! command -v curl >/dev/null; then
	t_skip "needs prlimit (to start baton at a soft limit of 1024) and curl (unix sockets)"
	t_done
	exit 77
fi

PORT=$(free_port)
CONF=$T_DIR/many.ini
LOG=$T_DIR/many.log
mkdir "$T_DIR/s"
# many_conf FILE COUNT: socket 'tcp' on PORT and COUNT-1 unix sockets.
many_conf() {
	local i
	{
		cat <<CONF
[baton]
command = $TESTSERVER --notify
ready = notify
workers = 1
drain_timeout = 5s

[socket:tcp]
listen = tcp://127.0.0.1:$PORT
CONF
		for i in $(seq 1 $(($2 - 1))); do
			printf '[socket:u%d]\nlisten = unix://%s/s/%d.sock\n' \
			    "$i" "$T_DIR" "$i"
		done
	} >"$1"
}
many_conf "$CONF" $N

# unix_get N: the answer of unix socket uN.
unix_get() {
	curl -s --max-time 3 --unix-socket "$T_DIR/s/$1.sock" http://x/
}
# soft_limit PID: its soft RLIMIT_NOFILE.
soft_limit() {
	awk '/^Max open files/ {print $4}' "/proc/$1/limits"
}

"$BATON" check -c "$CONF" >"$T_DIR/check.out" 2>&1
t_is "$?" 0 "check: $N sockets are accepted"

# A usual soft limit: 1,024, which 1,024 sockets alone exceed.
BATON_WRAPPER="prlimit --nofile=1024: ${BATON_WRAPPER:-}" \
    start_baton "$LOG" run -c "$CONF"
t_ok "generation 1 is active" wait_log 30 "$LOG" 'generation 1: active'
t_ok "baton says it raised its soft limit" \
    log_has "$LOG" "RLIMIT_NOFILE: soft limit [0-9]+, up from 1024, for $N sockets"
t_result "$([ "$(soft_limit "$BATON_PID")" -ge $((2 * N + 64)) ]; echo $?)" \
    "baton's own soft limit is $(soft_limit "$BATON_PID"), at least $((2 * N + 64))"
pid=$(gen_pids "$LOG" 1)
t_ok "the worker got LISTEN_FDS=$N" \
    grep -qxF "LISTEN_FDS=$N" <(tr '\0' '\n' <"/proc/$pid/environ")
t_ok "and its channel right after the sockets: BATON_FD=$((3 + N))" \
    grep -qxF "BATON_FD=$((3 + N))" <(tr '\0' '\n' <"/proc/$pid/environ")
t_is "$(soft_limit "$pid")" $((2 * (3 + N + 1))) \
    "the worker's soft limit: twice its sockets, channel and stdio"
t_is "$(readlink "/proc/$pid/fd/$((2 + N))" | cut -c1-7)" "socket:" \
    "the last socket is at fd $((2 + N))"

body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "the first socket (tcp) serves ($body)" answers_from "$body" $pid
body=$(unix_get 512)
t_ok "a middle one (u512) serves ($body)" answers_from "$body" $pid
body=$(unix_get $((N - 1)))
t_ok "the last one (u$((N - 1))) serves ($body)" answers_from "$body" $pid

# Reloads: each new worker receives the whole set again.
for g in 2 3; do
	reload_and_wait $g "$LOG" 30
	t_is "$?" 0 "reload: generation $g is active"
	pid=$(gen_pids "$LOG" $g)
	t_ok "generation $g's worker got LISTEN_FDS=$N" \
	    grep -qxF "LISTEN_FDS=$N" <(tr '\0' '\n' <"/proc/$pid/environ")
	body=$(unix_get $((N - 1)))
	t_ok "generation $g: the last socket serves ($body)" answers_from "$body" $pid
	body=$(http_get "http://127.0.0.1:$PORT/")
	t_ok "generation $g: the first socket serves ($body)" answers_from "$body" $pid
done
t_result "$(log_has "$LOG" 'cannot start|receive sockets'; [ $? = 1 ]; echo $?)" \
    "no worker failed to start"

# An upgrade in place: the sockets cross the exec, and the new image
# knows the soft limit baton was started with, so that a worker it starts
# gets twice its sockets, not baton's raised limit.
soft=$(soft_limit "$BATON_PID")
kill -USR2 "$BATON_PID"
t_ok "an upgrade in place with $N sockets" wait_log 30 "$LOG" 'upgraded in place'
t_is "$(soft_limit "$BATON_PID")" "$soft" "the new image keeps the raised soft limit"
reload_and_wait 4 "$LOG" 30
t_is "$?" 0 "after the upgrade: generation 4 is active"
pid=$(gen_pids "$LOG" 4)
t_is "$(soft_limit "$pid")" $((2 * (3 + N + 1))) \
    "its worker's soft limit is still twice its sockets (not baton's $soft)"
body=$(unix_get $((N - 1)))
t_ok "generation 4: the last socket serves ($body)" answers_from "$body" $pid

# A hard limit that cannot carry the sockets: the reload fails before it
# touches the running worker, naming the limit and the line.
if prlimit --pid "$BATON_PID" --nofile=2100:2100; then
	kill -HUP "$BATON_PID"
	t_ok "a hard limit of 2100: the reload fails, naming the limit" \
	    wait_log 10 "$LOG" "reload failed, nothing changed: .*many.ini:[0-9]+: socket 'u[0-9]+': $N sockets need [0-9]+ descriptors, more than the hard limit RLIMIT_NOFILE allows"
	t_is "$(alive $pid)" 1 "generation 4's worker still runs"
	body=$(unix_get $((N - 1)))
	t_ok "and still serves the last socket ($body)" answers_from "$body" $pid
	t_result "$(log_has "$LOG" 'generation 5'; [ $? = 1 ]; echo $?)" \
	    "no generation 5"
else
	t_skip "prlimit --pid: cannot lower baton's hard limit"
fi
stop_baton
t_is "$T_STATUS" 0 "baton stops cleanly"

# One more is refused, with the file and line of the 1,025th.
many_conf "$T_DIR/over.ini" $((N + 1))
"$BATON" check -c "$T_DIR/over.ini" >"$T_DIR/over.out" 2>&1
t_is "$?" 78 "check: $((N + 1)) sockets: exit 78"
t_diag "$(cat "$T_DIR/over.out")"
line=$(grep -n "^\[socket:u$N\]" "$T_DIR/over.ini" | cut -d: -f1)
t_ok "the message names FILE:LINE of socket u$N" \
    grep -qF "over.ini:$line: more than $N sockets" "$T_DIR/over.out"

# baton check under a hard limit too low for them.
prlimit --nofile=1000:1000 "$BATON" check -c "$CONF" >"$T_DIR/hard.out" 2>&1
t_is "$?" 78 "check under a hard limit of 1000: exit 78"
t_diag "$(cat "$T_DIR/hard.out")"
t_ok "the message names the line and the limit" \
    grep -qE "many.ini:[0-9]+: socket 'u468': $N sockets need 2112 descriptors, more than the hard limit RLIMIT_NOFILE allows \(468 sockets at most" "$T_DIR/hard.out"

# Under a service manager with a descriptor store of 1,100 (test/fakesd)
# and the usual soft limit of 1,024: a restart after a crash gets every
# stored socket at 3, 4, ... under that limit, so baton keeps 64 below it
# free (960 stored, the rest said once) and the restart starts.
FAKESD=$top_builddir/test/fakesd
STORE=$T_DIR/store
SDLOG=$T_DIR/sd.log
stored_count() {
	[ "$(wc -l <"$STORE" 2>/dev/null)" = "$1" ]
}
prlimit --nofile=1024: "$FAKESD" -s "$T_DIR/sd.sock" -m 1100 -r 2 \
    -p "$T_DIR/main.pid" -o "$STORE" -- "$BATON" run -c "$CONF" >"$SDLOG" 2>&1 &
SD=$!
T_PIDS="$T_PIDS $SD"
t_ok "store: generation 1 is active under fakesd" \
    wait_log 30 "$SDLOG" 'generation 1: active'
t_ok "store: 960 sockets are stored" wait_until 10 stored_count $((N - 64))
t_ok "store: the rest are named once, with the limit" \
    grep -qE "socket u$((N - 64)) and those after it not kept in the descriptor store \(64 of them\): $((N - 64)) are, .* of 1024 " "$SDLOG"
t_is "$(grep -c 'not kept in the descriptor store' "$SDLOG")" 1 \
    "store: in one line"
kill -KILL "$(cat "$T_DIR/main.pid")"
t_ok "store: after a SIGKILL, fakesd starts baton again with LISTEN_FDS=$((N - 64))" \
    wait_log 10 "$SDLOG" "started pid [0-9]+ with LISTEN_FDS=$((N - 64)) "
t_ok "store: and it starts (generation 1 active again)" \
    wait_until 30 eval '[ "$(grep -c "generation 1: active" "$SDLOG")" -ge 2 ]'
t_result "$(log_has "$SDLOG" 'exited 127|cannot open shared object'; [ $? = 1 ]; echo $?)" \
    "store: the restart had descriptors to start with"
pid=$(grep -oE 'gen 1 worker 0 pid [0-9]+: ready' "$SDLOG" | tail -1 | awk '{print $6}' | tr -d :)
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "store: the first socket (stored) serves ($body)" answers_from "$body" "$pid"
body=$(unix_get $((N - 1)))
t_ok "store: the last one (bound again) serves ($body)" answers_from "$body" "$pid"
kill -TERM "$SD"
wait_exit "$SD" 20
t_is "$T_STATUS" 0 "store: fakesd stops, exit 0"

t_done
