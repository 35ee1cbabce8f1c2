#!/bin/bash
# Faults: fork and descriptors running out during a reload, workers that
# hang, crash in a loop, die while draining or ignore the drain signal, a
# server's child that keeps the socket, baton itself SIGKILLed, a control
# client that goes away mid-reload, and a thousand reloads in a row with
# nothing growing. Each fault has its outcome asserted: the old generation
# serves on, and baton stays responsive.
. "$(dirname "$0")/lib.sh"

# none_alive PIDS...: for wait_until.
none_alive() {
	[ "$(alive "$@")" = 0 ]
}

last_line() {
	grep -v '^[[:space:]]*$' "$1" | tail -n 1
}

# conf FILE PORT WORKERS "SERVER ARGS" [READY-TIMEOUT [DRAIN-TIMEOUT]]
conf() {
	http_conf "$1" "$2" "$TESTSERVER --notify --quiet $4" "workers = $3" \
	    "ready = notify" "ready_timeout = ${5:-5s}" "drain_timeout = ${6:-5s}"
}

# --- fork fails during a reload (RLIMIT_NPROC, as an unprivileged user) ---
# RLIMIT_NPROC is not enforced for root, so baton runs as nobody, with a
# limit that fits baton, its keeper and generation 1 but not one more
# process.
NOBODY=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
    command -v prlimit >/dev/null; then
	NOBODY="setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
	$NOBODY test -x "$BATON" -a -x "$TESTSERVER" || NOBODY=
fi
if [ -n "$NOBODY" ]; then
	chmod 711 "$T_DIR"
	D=$T_DIR/nobody
	mkdir "$D"
	chown nobody "$D"
	# Every task of the user counts, threads too. Other tests may run
	# processes as nobody meanwhile, so the count can be off by the time
	# baton forks: try again (at most three times) when generation 1 does
	# not fit or generation 2 does.
	for attempt in 1 2 3; do
		PORT=$(free_port)
		conf "$D/nproc.ini" "$PORT" 2 ""
		chmod 644 "$D/nproc.ini"
		LOG=$T_DIR/nproc$attempt.log
		others=$(ps -L -u nobody --no-headers 2>/dev/null | wc -l)
		limit=$((others + 2 + 2))
		t_diag "attempt $attempt: RLIMIT_NPROC $limit: $others tasks of nobody elsewhere, baton, its keeper, 2 workers"
		prlimit --nproc="$limit": $NOBODY "$BATON" run -c "$D/nproc.ini" >"$LOG" 2>&1 &
		BATON_PID=$!
		T_PIDS="$T_PIDS $BATON_PID"
		T_STATUS=none
		if wait_log 10 "$LOG" 'generation 1: active'; then
			gen1=$(gen_pids "$LOG" 1)
			ctl nproc-reload reload -c "$D/nproc.ini"
			[ "$T_STATUS" = 1 ] && break
		fi
		t_diag "$(cat "$LOG")"
		stop_baton
	done
	t_is "$T_STATUS" 1 "nproc: the reload fails, exit 1"
	t_diag "$(out nproc-reload)"
	t_ok "nproc: the log says a worker cannot start, and why" \
	    log_has "$LOG" 'gen 2 worker [01]: cannot start: Resource temporarily unavailable'
	t_ok "nproc: the client is told it rolled back" \
	    sh -c "out=\$(cat '$T_DIR/nproc-reload.out' '$T_DIR/nproc-reload.err'); echo \"\$out\" | grep -q 'error generation 2 rolled back: .*generation 1 keeps serving'"
	t_is "$(alive $gen1)" 2 "nproc: generation 1's workers still run"
	# A worker of generation 2 that did start accepts on the shared
	# socket until its drain signal: ask once it is gone.
	gen2=$(gen_pids "$LOG" 2)
	t_ok "nproc: generation 2's started workers, if any, are stopped (${gen2:-none})" \
	    wait_until 5 none_alive $gen2
	body=$(http_get "http://127.0.0.1:$PORT/")
	t_ok "nproc: generation 1 still answers ($body)" answers_from "$body" $gen1
	# As nobody itself: changing another user's limits needs
	# CAP_SYS_RESOURCE, which a container's root may lack.
	$NOBODY prlimit --pid "$BATON_PID" --nproc="$(ulimit -Hu):"
	ctl nproc-reload2 reload -c "$D/nproc.ini"
	t_is "$T_STATUS" 0 "nproc: with the limit lifted, the next reload succeeds"
	t_ok "nproc: generation 3 is active" log_has "$LOG" 'generation 3: active'
	stop_baton
	t_is "$T_STATUS" 0 "nproc: baton stops cleanly"
	chmod 700 "$T_DIR"
else
	for c in "reload fails" "cannot start" "rolled back" "generation 1 runs" "generation 2 stopped" \
	    "generation 1 answers" "next reload succeeds" "generation 3 active" "stops"; do
		t_skip "needs root, a user nobody, setpriv and prlimit (RLIMIT_NPROC binds only unprivileged users): nproc: $c"
	done
fi

# --- descriptors run out during a reload (RLIMIT_NOFILE on the running baton)
# free_fd PID K: the (K+1)-th free descriptor number of PID. With
# RLIMIT_NOFILE at that number, exactly K more descriptors can be opened.
free_fd() {
	ls "/proc/$1/fd" | sort -n | awk -v k="$2" '
	    { open[$1] = 1 }
	    END { f = 0; for (n = 0; ; n++) if (!(n in open)) { if (f == k) { print n; exit } f++ } }'
}
cpu_ticks() {	# utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
PORT=$(free_port)
CONF=$T_DIR/nofile.ini
LOG=$T_DIR/nofile.log
conf "$CONF" "$PORT" 2 ""
start_baton "$LOG" run -c "$CONF"
if wait_log 10 "$LOG" 'generation 1: active'; then
	gen1=$(gen_pids "$LOG" 1)
	# Soft limits only: a lowered hard limit could not be raised again.
	orig=$(prlimit --pid "$BATON_PID" --nofile --noheadings --output SOFT | tr -d ' '):
	# None free: the file itself cannot be read.
	prlimit --pid "$BATON_PID" --nofile="$(free_fd "$BATON_PID" 0):"
	kill -HUP "$BATON_PID"
	t_ok "nofile: with no descriptor free, the reload fails: the file cannot be read" \
	    wait_log 5 "$LOG" 'reload failed, nothing changed: .*Too many open files'
	# One free: the file is read, the worker's channel (a pair) is not made.
	prlimit --pid "$BATON_PID" --nofile="$(free_fd "$BATON_PID" 1):"
	kill -HUP "$BATON_PID"
	t_ok "nofile: with one descriptor free, the new worker cannot start: Too many open files" \
	    wait_log 5 "$LOG" 'gen 2 worker 0: cannot start: Too many open files'
	t_ok "nofile: generation 2 is rolled back" wait_log 5 "$LOG" 'generation 2: rolled back'
	t_ok "nofile: generation 1 keeps serving (log)" wait_log 5 "$LOG" 'generation 1 keeps serving'
	t_is "$(alive $gen1)" 2 "nofile: generation 1's workers still run"
	body=$(http_get "http://127.0.0.1:$PORT/")
	t_ok "nofile: generation 1 still answers ($body)" answers_from "$body" $gen1

	# A control client while no descriptor is free: accept() fails with
	# EMFILE and the connection stays queued. baton must not spin on it.
	prlimit --pid "$BATON_PID" --nofile="$(free_fd "$BATON_PID" 0):"
	lines0=$(wc -l <"$LOG")
	timeout 10 "$BATON" status -c "$CONF" --json >"$T_DIR/emfile.out" 2>"$T_DIR/emfile.err" &
	CL=$!
	sleep 0.3
	t0=$(cpu_ticks "$BATON_PID")
	sleep 1
	t1=$(cpu_ticks "$BATON_PID")
	lines1=$(wc -l <"$LOG")
	prlimit --pid "$BATON_PID" --nofile="$orig"
	t_result "$([ $((t1 - t0)) -lt 30 ]; echo $?)" \
	    "nofile: a control client queued at EMFILE does not make baton spin ($((t1 - t0)) ticks of CPU in 1 s)"
	t_result "$([ $((lines1 - lines0)) -lt 100 ]; echo $?)" \
	    "nofile: nor flood its log ($((lines1 - lines0)) lines in 1 s)"
	wait_exit "$CL" 10
	t_is "$T_STATUS" 0 "nofile: once descriptors are back, the queued client is answered"
	t_ok "nofile: with baton's pid" json_has "$T_DIR/emfile.out" pid "${BATON_PID}[^0-9]"

	ctl nofile-reload reload -c "$CONF"
	t_is "$T_STATUS" 0 "nofile: with the limit raised again, a reload succeeds"
	t_diag "$(out nofile-reload)"
	t_ok "nofile: generation 3 is active" log_has "$LOG" 'generation 3: active'
	t_is "$(alive $gen1)" 0 "nofile: generation 1 has exited"
else
	t_result 1 "nofile: generation 1 becomes active"
fi
stop_baton
t_is "$T_STATUS" 0 "nofile: baton stops cleanly"
# The spin above may have written a great deal: keep only the start.
if [ "$(wc -c <"$LOG")" -gt 1000000 ]; then
	head -n 2000 "$LOG" >"$LOG.head" && mv "$LOG.head" "$LOG"
fi

# --- a new worker hangs before ready: rolled back at ready_timeout -----------
PORT=$(free_port)
CONF=$T_DIR/hang.ini
LOG=$T_DIR/hang.log
conf "$CONF" "$PORT" 2 "" 1s
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active'
gen1=$(gen_pids "$LOG" 1)
conf "$CONF" "$PORT" 2 "--never-ready" 1s
start=$(date +%s%N)
ctl hang-reload reload -c "$CONF"
took=$(ms_since "$start")
t_is "$T_STATUS" 1 "hang: a generation that never says READY=1: reload exits 1"
t_ok "hang: not before ready_timeout ($took ms)" [ "$took" -ge 900 ]
t_ok "hang: the client is told why ($(last_line "$T_DIR/hang-reload.err"))" \
    grep -q 'error generation 2 rolled back: worker [01] not ready after 1000 ms; generation 1 keeps serving' "$T_DIR/hang-reload.err"
gen2=$(gen_pids "$LOG" 2)
t_ok "hang: generation 2's workers are stopped" wait_until 5 none_alive $gen2
t_is "$(alive $gen1)" 2 "hang: generation 1's workers still run"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "hang: generation 1 answers ($body)" answers_from "$body" $gen1
stop_baton

# --- a worker crashes in a loop after it became ready ------------------------
PORT=$(free_port)
CONF=$T_DIR/crash.ini
LOG=$T_DIR/crash.log
conf "$CONF" "$PORT" 1 "--crash-after-ms 300"
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active'
# Restarts after 100, 200, 400 and 800 ms: the fourth comes ~3 s in.
slow=0
for i in 1 2 3 4 5 6; do
	start=$(date +%s%N)
	ctl crash-status$i status -c "$CONF" --json
	took=$(ms_since "$start")
	if [ "$T_STATUS" != 0 ] || [ "$took" -ge 1000 ]; then
		slow=$((slow + 1))
		t_diag "status $i: exit $T_STATUS after $took ms"
	fi
	sleep 0.5
done
t_is "$slow" 0 "crash loop: baton status answers at once throughout"
t_ok "crash loop: four restarts are logged" wait_log 5 "$LOG" 'restarting in [0-9]+ ms \(restart 4\)'
delays=$(grep -oE 'restarting in [0-9]+ ms' "$LOG" | awk '{print $3}' | head -n 4 | tr '\n' ' ')
t_is "$delays" "100 200 400 800 " "crash loop: the backoff doubles from 100 ms"
t_ok "crash loop: each crash is logged with its signal" log_has "$LOG" 'warn: gen 1 worker 0 pid [0-9]+: killed by signal 6 \(SIGABRT\)'
ctl crash-json status -c "$CONF" --json
t_ok "crash loop: status counts the crashes ($(counter "$T_DIR/crash-json.out" crashes))" \
    [ "$(counter "$T_DIR/crash-json.out" crashes)" -ge 4 ]
t_ok "crash loop: and the worker's restarts" json_has "$T_DIR/crash-json.out" restarts '([4-9]|[1-9][0-9])[^0-9]'
start=$(date +%s%N)
stop_baton
t_is "$T_STATUS" 0 "crash loop: SIGTERM while a restart waits: exit 0"
t_ok "crash loop: at once ($(ms_since "$start") ms)" [ "$(ms_since "$start")" -lt 3000 ]

# --- old workers that ignore the drain signal, or die while draining ---------
PORT=$(free_port)
CONF=$T_DIR/drain.ini
LOG=$T_DIR/drain.log
conf "$CONF" "$PORT" 2 "--ignore-drain" 5s 1500ms
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active'
gen1=$(gen_pids "$LOG" 1)
# Generation 2 ignores the drain signal too, with a long deadline.
conf "$CONF" "$PORT" 2 "--ignore-drain" 5s 20s
start=$(date +%s%N)
ctl drain-reload reload -c "$CONF"
took=$(ms_since "$start")
t_is "$T_STATUS" 0 "ignore drain: the reload ends ok"
t_ok "ignore drain: once drain_timeout has passed ($took ms)" [ "$took" -ge 1400 ]
t_ok "ignore drain: a warning per worker killed at the deadline" \
    sh -c "[ \$(grep -cE 'warn: gen 1 worker [01] pid [0-9]+: still running at the drain deadline \(1500 ms\): SIGKILL' '$LOG') = 2 ]"
t_is "$(alive $gen1)" 0 "ignore drain: generation 1 is gone"
ctl drain-json status -c "$CONF" --json
t_is "$(counter "$T_DIR/drain-json.out" killed)" 2 "ignore drain: status counts 2 killed"
# Generation 2's workers die (killed by someone else) while draining.
gen2=$(gen_pids "$LOG" 2)
conf "$CONF" "$PORT" 2 "" 5s 20s
start=$(date +%s%N)
timeout 30 "$BATON" reload -c "$CONF" >"$T_DIR/drain-reload2.out" 2>"$T_DIR/drain-reload2.err" &
CL=$!
wait_log 5 "$LOG" 'gen 2 worker 1 pid [0-9]+: draining'
sleep 0.2
kill -KILL $gen2
wait_exit "$CL" 10
took=$(ms_since "$start")
t_is "$T_STATUS" 0 "exit while draining: the reload ends ok"
t_ok "exit while draining: as soon as they are gone ($took ms, deadline 20 s)" [ "$took" -lt 5000 ]
t_ok "exit while draining: each exit is logged with its signal" \
    sh -c "[ \$(grep -cE 'gen 2 worker [01] pid [0-9]+: killed by signal 9 \(SIGKILL\)' '$LOG') = 2 ]"
t_ok "exit while draining: generation 2 exited" log_has "$LOG" 'generation 2: exited'
ctl drain-json2 status -c "$CONF" --json
t_is "$T_STATUS" 0 "exit while draining: baton still answers status"
t_is "$(counter "$T_DIR/drain-json2.out" killed)" 2 "exit while draining: not counted as killed at the deadline"
t_ok "exit while draining: baton runs on" kill -0 "$BATON_PID"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "exit while draining: generation 3 answers ($body)" answers_from "$body" $(gen_pids "$LOG" 3)
stop_baton
t_is "$T_STATUS" 0 "drain: baton stops cleanly"

# --- a server's child keeps the socket and ignores the drain signal ----------
# The worker is a shell: a child testserver in the background that ignores
# the drain signal, and the foreground one exec'd in its place. The drain
# signal goes to the group; at the deadline the group must be killed, the
# child included, or it keeps serving the port with the old code.
PORT=$(free_port)
CONF=$T_DIR/child.ini
LOG=$T_DIR/child.log
http_conf "$CONF" "$PORT" "/bin/sh -c '$TESTSERVER --protocol einhorn --ignore-drain --quiet &
	exec $TESTSERVER --notify --quiet'" "ready = notify" "ready_timeout = 5s" \
    "drain_timeout = 1500ms"
start_baton "$LOG" run -c "$CONF"
t_ok "child: generation 1 starts" wait_log 10 "$LOG" 'generation 1: active'
# group_child LEADER: the other process of the leader's group, once it runs.
group_child() {
	local p
	wait_until 5 pgrep -g "$1" -f -- '--ignore-drain' >/dev/null
	for p in $(pgrep -g "$1"); do
		[ "$p" != "$1" ] && echo "$p"
	done
}
leader=$(gen_pids "$LOG" 1)
child=$(group_child "$leader")
T_PIDS="$T_PIDS $child"	# never leave it behind, whatever happens
t_ok "child: the worker's group has a second process ($child)" [ -n "$child" ]
ctl child-reload reload -c "$CONF"
t_is "$T_STATUS" 0 "child: the reload ends ok"
t_ok "child: the leader drained" wait_until 5 none_alive "$leader"
child2=$(group_child "$(gen_pids "$LOG" 2)")
T_PIDS="$T_PIDS $child2"
sleep 2	# past the 1500 ms deadline
t_result "$(none_alive "$child"; echo $?)" \
    "child: the child that ignored the drain signal is gone after the deadline"
stale=0
for i in $(seq 1 20); do
	[ "$(http_get "http://127.0.0.1:$PORT/")" = "ok $child" ] && stale=$((stale + 1))
done
t_result "$([ "$stale" = 0 ]; echo $?)" \
    "child: after the deadline no request reaches generation 1's child ($stale of 20 did)"
stop_baton
t_is "$T_STATUS" 0 "child: baton stops"
t_result "$(wait_until 3 none_alive $child2; echo $?)" \
    "child: no process of a worker's group outlives baton's stop"
kill -KILL $child $child2 2>/dev/null

# --- baton is SIGKILLed: workers drain, a new baton starts at once ---------
PORT=$(free_port)
CONF=$T_DIR/killed.ini
LOG=$T_DIR/killed.log
conf "$CONF" "$PORT" 2 ""
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active'
gen1=$(gen_pids "$LOG" 1)
OLD=$BATON_PID
kill -KILL "$OLD"
wait_exit "$OLD" 5
start=$(date +%s%N)
t_ok "killed: every worker exits on its drain signal" wait_until 5 none_alive $gen1
t_diag "workers gone $(ms_since "$start") ms after baton was killed"
t_ok "killed: the control socket is left behind, stale" test -S "$T_DIR/killed.sock"
start_baton "$T_DIR/killed2.log" run -c "$CONF"
t_ok "killed: a new baton starts at once on the same port and control socket" \
    wait_log 5 "$T_DIR/killed2.log" 'generation 1: active'
t_ok "killed: the new baton logs no error" sh -c "! grep -qE ' (warn|error): ' '$T_DIR/killed2.log'"
ctl killed-status status -c "$CONF" --json
t_ok "killed: status answers from the new baton" json_has "$T_DIR/killed-status.out" pid "${BATON_PID}[^0-9]"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "killed: its workers answer ($body)" answers_from "$body" $(gen_pids "$T_DIR/killed2.log" 1)
stop_baton

# --- a control client disconnects in the middle of a reload ------------------
PORT=$(free_port)
CONF=$T_DIR/gone.ini
LOG=$T_DIR/gone.log
conf "$CONF" "$PORT" 2 ""
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active'
conf "$CONF" "$PORT" 2 "--startup-ms 1500"
"$BATON" reload -c "$CONF" >"$T_DIR/gone-reload.out" 2>"$T_DIR/gone-reload.err" &
CL=$!
T_PIDS="$T_PIDS $CL"
wait_until 5 test -s "$T_DIR/gone-reload.out"
kill -KILL "$CL"
wait_exit "$CL" 5
mark=$(wc -l <"$LOG")
t_ok "client gone: the reload completes" wait_log 10 "$LOG" 'generation 2: active'
t_ok "client gone: the old generation exits" wait_log 10 "$LOG" 'generation 1: exited'
sleep 0.3
t_ok "client gone: nothing alarming is logged" \
    sh -c "! tail -n +$((mark + 1)) '$LOG' | grep -E ' (warn|error): |\\[(warn|err)\\]'"
ctl gone-status status -c "$CONF" --json
t_is "$T_STATUS" 0 "client gone: status still works"
t_ok "client gone: the reload is recorded as ok" json_has "$T_DIR/gone-status.out" outcome '"ok"'
stop_baton

# --- a thousand reloads: descriptors, memory and children stay flat ---------
# Under AddressSanitizer, a reload costs several times as much: 200 show
# a descriptor, a child or (to LeakSanitizer, at exit) memory kept by
# each reload as well as 1000 do.
ASAN= MANY=1000
if ldd "$BATON" 2>/dev/null | grep -q libasan; then
	ASAN=yes MANY=200
fi
PORT=$(free_port)
CONF=$T_DIR/many.ini
LOG=$T_DIR/many.log
conf "$CONF" "$PORT" 1 "" 5s 5s
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active'
# Follow the log as it grows rather than grep it a thousand times.
exec {FOLLOW}< <(exec tail -n +1 -f "$LOG")
T_PIDS="$T_PIDS $!"
reloaded=1	# the generation last seen active
# reload_to N: SIGHUP, then read the log up to generation N's outcome.
reload_to() {
	local line
	kill -HUP "$BATON_PID" || return 1
	while read -r -t 10 -u "$FOLLOW" line; do
		case $line in
		*"generation $1: active"*) reloaded=$1; return 0 ;;
		*"generation $1: rolled back"*) return 1 ;;
		esac
	done
	return 1
}
children() {
	pgrep -P "$BATON_PID" | wc -l
}
settled() {	# only the newest generation's worker is left
	[ "$(pgrep -P "$BATON_PID" -x testserver | wc -l)" = 1 ]
}
fds() {
	ls "/proc/$BATON_PID/fd" | wc -l
}
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$BATON_PID/status"
}
failed=
for n in $(seq 2 11); do
	reload_to "$n" || { failed=$n; break; }
done
wait_until 10 settled
fds10=$(fds) rss10=$(rss) kids10=$(children)
start=$(date +%s%N)
if [ -z "$failed" ]; then
	for n in $(seq 12 $((MANY + 11))); do
		reload_to "$n" || { failed=$n; break; }
	done
fi
took=$(ms_since "$start")
t_is "${failed:-none}" none "$MANY reloads: every one becomes active (${took} ms)"
wait_until 10 settled
fds1000=$(fds) rss1000=$(rss) kids1000=$(children)
t_diag "after 10 reloads: $fds10 fds, $rss10 kB, $kids10 children; after $((MANY + 10)): $fds1000 fds, $rss1000 kB, $kids1000 children"
t_is "$fds1000" "$fds10" "$MANY reloads: baton's descriptors are as many as after 10"
t_is "$kids1000" "$kids10" "$MANY reloads: as many children as after 10 (one worker)"
if [ -n "${BATON_WRAPPER:-}" ]; then
	t_skip "under BATON_WRAPPER the RSS is the tool's: $MANY reloads: RSS within 512 kB ($rss10 -> $rss1000 kB)"
elif [ -n "$ASAN" ]; then
	# ASan keeps freed memory in quarantine; LeakSanitizer checks at exit.
	t_skip "under AddressSanitizer the RSS is the quarantine's: $MANY reloads: RSS within 512 kB ($rss10 -> $rss1000 kB)"
else
	t_ok "$MANY reloads: RSS within 512 kB of what it was after 10 ($rss10 -> $rss1000 kB)" \
	    [ "$rss1000" -le $((rss10 + 512)) ]
fi
ctl many-json status -c "$CONF" --json
t_is "$(counter "$T_DIR/many-json.out" reloads)" $((MANY + 10)) "$MANY reloads: status counts $((MANY + 10)) reloads"
t_is "$(counter "$T_DIR/many-json.out" rollbacks)" 0 "$MANY reloads: and no rollback"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "$MANY reloads: the last generation answers ($body)" answers_from "$body" $(gen_pids "$LOG" "$reloaded")
exec {FOLLOW}<&-
stop_baton
t_is "$T_STATUS" 0 "$MANY reloads: baton stops cleanly"

t_done
