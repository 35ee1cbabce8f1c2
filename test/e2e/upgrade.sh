#!/bin/bash
# Upgrading baton in place (SIGUSR2): baton execs its binary, which may
# have been replaced, with the same pid, workers, sockets, control socket
# and pidfile; no request fails and no work is lost across upgrades, and
# the new image reloads, restarts, reaps and stops as the old one did. A
# binary that does not run is refused and baton carries on.
. "$(dirname "$0")/lib.sh"

# Its own copy of the binary, to replace under it, behind a symbolic link
# as deployments do.
mkdir "$T_DIR/bin"
cp "$BATON" "$T_DIR/bin/baton-1"
ln -s baton-1 "$T_DIR/bin/baton"
BATON_BIN=$T_DIR/bin/baton
PORT=$(free_port)
WORK=$T_DIR/work.log
CONF=$T_DIR/app.ini
LOG=$T_DIR/baton.log
write_conf "$CONF" <<CONF
[baton]
command = $TESTSERVER --notify --status "serving since gen 1" --work-ms 300 --work-log $WORK
workers = 2
ready = notify
ready_timeout = 10s
drain_timeout = 5s
pidfile = app.pid

[socket:http]
listen = tcp://127.0.0.1:$PORT

[socket:admin]
listen = unix://$T_DIR/admin.sock
CONF

# upgrades N: the "upgraded in place" lines so far.
upgrades() {
	grep -c 'upgraded in place' "$LOG"
}

# upgraded N: there have been N upgrades at least.
upgraded() {
	[ "$(upgrades)" -ge "$1" ]
}

# upgrade_to N: SIGUSR2, then wait for the Nth "upgraded in place".
upgrade_to() {
	kill -USR2 "$BATON_PID"
	wait_until 10 upgraded "$1"
}

# fd_report PID: "N flags type" for each descriptor above stderr (the
# type without its inode: a pipe made anew is the same pipe here).
fd_report() {
	local f
	for f in /proc/$1/fd/*; do
		f=${f##*/}
		[ "$f" -gt 2 ] || continue
		echo "$f $(awk '/^flags/ {print $2}' "/proc/$1/fdinfo/$f" 2>/dev/null) $(readlink "/proc/$1/fd/$f" | sed 's/:\[.*//')"
	done
}

# leaky PID: the descriptors without close-on-exec (O_CLOEXEC is 02000000
# in fdinfo's octal flags). What baton inherited (from make, say) is
# listed too: compare with what it was before.
leaky() {
	local n flags what
	fd_report "$1" | while read -r n flags what; do
		[ $((0$flags & 02000000)) -eq 0 ] && echo "$n $what"
	done
}

# Started the way a shell starts it: by its path.
${BATON_WRAPPER:-} "$BATON_BIN" run -c "$CONF" >"$LOG" 2>&1 &
BATON_PID=$!
T_PIDS="$T_PIDS $BATON_PID"
t_ok "baton starts" wait_log 10 "$LOG" 'generation 1: active'
pids1=$(gen_pids "$LOG" 1 | sort | tr '\n' ' ')
fds_before=$(fd_report "$BATON_PID" | awk '{print $1, $3}' | sort)
leaky_before=$(leaky "$BATON_PID")
t_diag "baton's descriptors before: $(echo "$fds_before" | tr '\n' ' ')"

# --- Three upgrades under load: nothing refused, nothing lost.
load_start load "http://127.0.0.1:$PORT/" -c 16 -d 60s -p u -o "$T_DIR/ids"
sleep 0.5
ok=0
for n in 1 2 3; do
	upgrade_to "$n" && ok=$((ok + 1))
	sleep 0.5
done
t_is "$ok" 3 "three upgrades, each to a running baton"
t_ok "the same pid throughout" kill -0 "$BATON_PID"
t_is "$(cat "$T_DIR/app.pid")" "$BATON_PID" "and the pidfile still names it"
t_is "$(gen_pids "$LOG" 1 | sort | tr '\n' ' ')" "$pids1" "no worker was started anew"
t_is "$(alive $pids1)" 2 "generation 1's workers run on"
t_is "$(grep -c 'generation [0-9]*: starting' "$LOG")" 1 "no generation was started"
ctl status status -c "$CONF" --json
t_is "$T_STATUS" 0 "baton status answers after the upgrades"
t_ok "and counts them (upgrades 3)" grep -q '"upgrades":3' "$T_DIR/status.out"
t_ok "each worker's last STATUS= is kept" \
    [ "$(grep -o '"status":"serving since gen 1"' "$T_DIR/status.out" | wc -l)" = 2 ]
t_ok "generation 1 is active, with the same pids" \
    grep -qE "\"number\":1,\"state\":\"active\".*\"pid\":$(echo $pids1 | cut -d' ' -f1)," "$T_DIR/status.out"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "the tcp socket serves ($body)" [ "${body#ok }" != "$body" ]
t_ok "the unix socket is still there" test -S "$T_DIR/admin.sock"
fds_after=$(fd_report "$BATON_PID" | awk '{print $1, $3}' | sort)
t_is "$fds_after" "$fds_before" "the same descriptors, no more: the state and its memfds are gone"
t_is "$(leaky "$BATON_PID")" "$leaky_before" "every descriptor of baton's is close-on-exec again"

# --- A reload after upgrades: the new image drains and reaps the old
# image's children.
ctl reload reload -c "$CONF"
t_is "$T_STATUS" 0 "baton reload after the upgrades: ok ($(tail -1 "$T_DIR/reload.out"))"
t_ok "generation 1's workers exit and are reaped" \
    wait_log 10 "$LOG" 'generation 1: exited after'
t_is "$(alive $pids1)" 0 "none of them is left, not even as a zombie"
wenv=$(http_get "http://127.0.0.1:$PORT/env")
t_ok "a worker the new image started has its environment" grep -q '^BATON_GENERATION=2$' <<<"$wenv"
t_is "$(grep -c '^BATON_UPGRADE_FD=' <<<"$wenv")" 0 "and nothing of the upgrade's"
sleep 0.5
load_stop load
t_is "$(field failed "$T_DIR/load.out")" 0 "no request failed across 3 upgrades and a reload"
load_ran load 500
sleep 1	# the last work, 300 ms after its answers
sort -u "$T_DIR/ids" >"$T_DIR/ids.sorted"
awk '{print $1}' "$WORK" | sort -u >"$T_DIR/done.sorted"
t_is "$(comm -23 "$T_DIR/ids.sorted" "$T_DIR/done.sorted" | wc -l)" 0 \
    "no work lost: every answered id is in the completion log"

# --- A crash after an upgrade: restarted in its slot, with backoff.
upgrade_to 4
victim=$(gen_pids "$LOG" 2 | head -n 1)
kill -KILL "$victim"
t_ok "a worker killed after an upgrade restarts in its slot" \
    wait_log 5 "$LOG" 'gen 2 worker 0: restarting in 100 ms'
# readied N: slot 0 of generation 2 has been ready N times at least.
readied() {
	[ "$(grep -cE 'gen 2 worker 0 pid [0-9]+: ready' "$LOG")" -ge "$1" ]
}
t_ok "and is ready again, a second process in the slot" wait_until 5 readied 2
last=$(grep -oE 'gen 2 worker 0 pid [0-9]+: ready' "$LOG" | tail -n 1 | awk '{print $6}' | tr -d ':')
t_ok "by a new process ($last, not $victim)" [ -n "$last" -a "$last" != "$victim" ]

# --- SIGUSR2 during a reload waits for it to settle.
sed -i "s|^command = .*|command = $TESTSERVER --notify --startup-ms 1500|" "$CONF"
kill -HUP "$BATON_PID"
wait_log 5 "$LOG" 'generation 3: starting'
kill -USR2 "$BATON_PID"
t_ok "SIGUSR2 during a reload waits" wait_log 5 "$LOG" 'upgrade: a reload is under way; upgrading once it settles'
t_ok "the reload goes on to generation 3" wait_log 10 "$LOG" 'generation 3: active'
t_ok "then baton upgrades" wait_until 15 upgraded 5
gone_at=$(grep -n 'generation 2: exited after' "$LOG" | cut -d: -f1)
up_at=$(grep -n 'upgraded in place' "$LOG" | sed -n 5p | cut -d: -f1)
t_ok "only once generation 2 is gone (line $gone_at, then $up_at)" [ "${gone_at:-0}" -gt 0 -a "${up_at:-0}" -gt "${gone_at:-0}" ]

# --- A new binary at the same path is the one that runs: a package
# upgrade replaces the file, a deployment repoints the link.
cp "$BATON" "$T_DIR/bin/baton-1.new"
mv "$T_DIR/bin/baton-1.new" "$T_DIR/bin/baton-1"
new_ino=$(stat -L -c %i "$BATON_BIN")
t_ok "/proc/PID/exe is the old, replaced binary" sh -c "readlink /proc/$BATON_PID/exe | grep -q deleted"
upgrade_to 6
t_is "$(stat -L -c %i "/proc/$BATON_PID/exe")" "$new_ino" "after SIGUSR2 baton runs the file that replaced it"
cp "$BATON" "$T_DIR/bin/baton-2"
ln -sfn baton-2 "$BATON_BIN"
upgrade_to 7
t_is "$(readlink "/proc/$BATON_PID/exe")" "$T_DIR/bin/baton-2" "and the binary a repointed link names"

# --- A binary that cannot take the state over is refused; baton carries
# on, the same pid serving, and nothing of the refused check is left.
mv "$BATON_BIN" "$T_DIR/bin/baton.good"
# refused WHY: SIGUSR2 with the binary now at BATON_BIN, and the reason.
refused() {
	local n
	n=$(grep -c 'upgrade failed, baton carries on' "$LOG")
	kill -USR2 "$BATON_PID"
	wait_until 10 sh -c "[ \$(grep -c 'upgrade failed, baton carries on' '$LOG') -gt $n ]" &&
	    grep 'upgrade failed, baton carries on' "$LOG" | tail -n 1 | grep -qE -- "$1"
}
printf '#!/bin/sh\nexit 3\n' >"$BATON_BIN"
chmod +x "$BATON_BIN"
t_ok "a broken binary is refused" refused "$BATON_BIN --upgrade-check: exit 3"
# An older build: it answers --version as a baton does, and anything
# else with exit 0, since it has no upgrade support.
printf '#!/bin/sh\n[ "$1" = --version ] && echo "baton 0.1.0"\nexit 0\n' >"$BATON_BIN"
t_ok "an older build without upgrade support is refused" \
    refused "$BATON_BIN --upgrade-check: exit 0, but it said '', not 'ok baton-upgrade 1'"
t_ok "baton still runs, the same pid" kill -0 "$BATON_PID"
t_is "$(upgrades)" 7 "no exec happened"
cat >"$BATON_BIN" <<'SH'
#!/bin/sh
case "$1" in
--version) echo "baton 9.9.9" ;;
*) echo "baton: unknown command '$1'" >&2; exit 64 ;;
esac
SH
t_ok "a binary that answers --version but fails the check is refused" \
    refused "$BATON_BIN --upgrade-check: exit 64, 'baton: unknown command '--upgrade-check''"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "baton still serves ($body)" [ "${body#ok }" != "$body" ]

# A check that hangs, from a script whose sleep is not exec'd: the loop
# serves meanwhile, and at the deadline the script's whole process group
# goes.
MARK=$((RANDOM % 9000 + 1000))
printf '#!/bin/sh\nsleep 60.%s\necho ok baton-upgrade 1\n' "$MARK" >"$BATON_BIN"
checks=$(grep -c 'upgrade: checking' "$LOG")
victim=$(grep -oE 'gen 3 worker 0 pid [0-9]+: started' "$LOG" | tail -n 1 | awk '{print $6}' | tr -d ':')
kill -USR2 "$BATON_PID"
t_ok "the check of a binary that hangs is running" \
    wait_until 5 pgrep -f "^sleep 60.$MARK\$"
kill -KILL "$victim"
t0=$(date +%s%N)
timeout 1 "$BATON" status -c "$CONF" >"$T_DIR/status-during.out" 2>&1
t_is "$?" 0 "baton status answers within 1 s during the check ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
kill -USR2 "$BATON_PID"
t_ok "a second SIGUSR2 during the check is coalesced" \
    wait_log 2 "$LOG" 'upgrade: already checking'
# started3 N: slot 0 of generation 3 has been started N times at least.
started3() {
	[ "$(grep -cE 'gen 3 worker 0 pid [0-9]+: started' "$LOG")" -ge "$1" ]
}
t_ok "a worker killed during the check is started again" wait_until 10 started3 2
t_ok "the binary that hangs is refused after 5 s" \
    wait_log 10 "$LOG" "upgrade failed, baton carries on as it was: $BATON_BIN --upgrade-check did not answer in 5000 ms"
restarted_at=$(grep -nE 'gen 3 worker 0 pid [0-9]+: started' "$LOG" | tail -n 1 | cut -d: -f1)
refused_at=$(grep -n 'did not answer in 5000 ms' "$LOG" | tail -n 1 | cut -d: -f1)
t_ok "while the check ran, not after it (line $restarted_at, then $refused_at)" \
    [ "${restarted_at:-0}" -gt 0 -a "${restarted_at:-0}" -lt "${refused_at:-0}" ]
t_ok "and nothing of it is left: its sleep is gone" \
    wait_until 2 sh -c "! pgrep -f '^sleep 60.$MARK\$'"
t_is "$(grep -c 'upgrade: checking' "$LOG")" $((checks + 1)) "one check for the two SIGUSR2s"
rm -f "$BATON_BIN"
t_ok "a missing binary is refused" refused "$BATON_BIN --upgrade-check: exit 127"
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "baton still serves ($body)" [ "${body#ok }" != "$body" ]
ctl status2 status -c "$CONF" --json
t_ok "and answers status (upgrades 7)" grep -q '"upgrades":7' "$T_DIR/status2.out"
t_is "$(leaky "$BATON_PID")" "$leaky_before" "a refused upgrade leaves every descriptor close-on-exec"
t_ok "and SIGHUP still reloads" sh -c "kill -HUP $BATON_PID"
t_ok "to generation 4" wait_log 10 "$LOG" 'generation 4: active'
mv "$T_DIR/bin/baton.good" "$BATON_BIN"
t_ok "the real binary, back, upgrades" upgrade_to 8
ctl status3 status -c "$CONF" --json
t_ok "and status counts 8 upgrades" grep -q '"upgrades":8' "$T_DIR/status3.out"

# --- Stop after upgrades: everything cleaned up, exit 0.
ctl stop stop -c "$CONF"
t_is "$T_STATUS" 0 "baton stop after upgrades: exit 0"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "baton exits 0"
t_ok "the unix socket's path is removed" test ! -e "$T_DIR/admin.sock"
t_ok "the control socket is removed" test ! -e "$T_DIR/app.sock"
t_ok "the pidfile is removed" test ! -e "$T_DIR/app.pid"
t_ok "the port is closed" not_listening "$PORT"
t_is "$(grep -c 'unfinished work was lost' "$LOG")" 0 "no worker was killed at a deadline"

# --- A configuration that cannot be carried over is refused: a file in a
# folder so deep that its `directory` prints longer than a line may be.
DEEP=$T_DIR/$(printf 'd%.0s' $(seq 60))/$(printf 'e%.0s' $(seq 60))/$(printf 'f%.0s' $(seq 60))
mkdir -p "$DEEP"
PORT=$(free_port)
LOG=$T_DIR/deep.log
http_conf "$DEEP/app.ini" "$PORT" "$TESTSERVER --notify --startup-ms 800" \
    "ready = notify" "control = $T_DIR/deep.sock"
start_baton "$LOG" run -c "$DEEP/app.ini"
wait_log 5 "$LOG" 'generation 1: starting'
kill -USR2 "$BATON_PID"
t_ok "SIGUSR2 while the first generation starts waits for it" \
    wait_log 5 "$LOG" 'upgrade: the first generation is starting; upgrading once it settles'
t_ok "deep: baton starts from a folder of ${#DEEP} characters" wait_log 10 "$LOG" 'generation 1: active'
pid=$(gen_pids "$LOG" 1)
t_ok "deep: then the upgrade is refused, and says why" \
    wait_log 10 "$LOG" 'upgrade failed, baton carries on as it was: .*line longer than 199 characters'
t_is "$(grep -c 'upgraded in place' "$LOG")" 0 "deep: no exec happened"
body=$(http_get "http://127.0.0.1:$PORT/")
t_is "$body" "ok $pid" "deep: the same worker serves on"
ctl deep-status status -s "$T_DIR/deep.sock"
t_is "$T_STATUS" 0 "deep: baton answers status"
t_is "$(leaky "$BATON_PID" | awk '$2 != "/dev/null" && $2 != "pipe" && $2 !~ /log$/')" "" \
    "deep: nothing of baton's lost close-on-exec"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 15
t_is "$T_STATUS" 0 "deep: baton stops: exit 0"

# --- A signal that comes with SIGUSR2 is acted on, before the exec or
# after it, never lost: SIGTERM and SIGINT stop baton gracefully, SIGQUIT
# at once, each with exit 0 and the port closed.
PORT=$(free_port)
LOG=$T_DIR/race.log
http_conf "$T_DIR/race.ini" "$PORT" "$TESTSERVER --notify" "ready = notify" \
    "drain_timeout = 5s"
# usr2_then SIG [DELAY]: start baton, send SIGUSR2 then SIG (DELAY
# seconds later); fails unless baton stops with exit 0 within 10 s and
# its port is closed.
usr2_then() {
	: >"$LOG"
	${BATON_WRAPPER:-} "$BATON" run -c "$T_DIR/race.ini" >"$LOG" 2>&1 &
	BATON_PID=$!
	T_PIDS="$T_PIDS $BATON_PID"
	wait_log 10 "$LOG" 'generation 1: active' || return 1
	kill -USR2 "$BATON_PID"
	[ -n "${2:-}" ] && sleep "$2"
	kill "-$1" "$BATON_PID"
	if ! wait_exit "$BATON_PID" 10; then
		t_diag "after SIGUSR2 and SIG$1 baton runs on: $(tail -n 2 "$LOG")"
		kill -KILL "$BATON_PID"
		wait "$BATON_PID" 2>/dev/null
		return 1
	fi
	[ "$T_STATUS" = 0 ] && not_listening "$PORT" ||
	    { t_diag "SIG$1: exit $T_STATUS; $(tail -n 2 "$LOG")"; return 1; }
}
stopped=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	usr2_then TERM || break
	stopped=$i
done
t_is "$stopped" 10 "SIGUSR2 then SIGTERM at once: baton stops, 10 times of 10"
stopped=0
for d in 0.01 0.02 0.03 0.05 0.07 0.1 0.15 0.2; do
	usr2_then TERM "$d" && stopped=$((stopped + 1))
done
t_is "$stopped" 8 "SIGTERM 10 to 200 ms after SIGUSR2: baton stops, 8 times of 8"
t_ok "SIGUSR2 then SIGINT: baton stops" usr2_then INT
t_ok "SIGUSR2 then SIGQUIT: baton stops" usr2_then QUIT
t_ok "SIGUSR2 then SIGQUIT 50 ms later: baton stops" usr2_then QUIT 0.05

# --- SIGTERM during a check that hangs: baton stops at once, and the
# check goes with it.
mkdir "$T_DIR/hang"
ln -s "$BATON" "$T_DIR/hang/baton"
MARK=$((RANDOM % 9000 + 1000))
usr2_hang() {
	printf '#!/bin/sh\nsleep 60.%s\n' "$MARK" >"$T_DIR/hang/baton.new"
	chmod +x "$T_DIR/hang/baton.new"
	mv "$T_DIR/hang/baton.new" "$T_DIR/hang/baton"
	kill -USR2 "$BATON_PID"
	wait_until 5 pgrep -f "^sleep 60.$MARK\$" || return 1
	kill -TERM "$BATON_PID"
	wait_exit "$BATON_PID" 2 && [ "$T_STATUS" = 0 ]
}
: >"$LOG"
${BATON_WRAPPER:-} "$T_DIR/hang/baton" run -c "$T_DIR/race.ini" >"$LOG" 2>&1 &
BATON_PID=$!
T_PIDS="$T_PIDS $BATON_PID"
wait_log 10 "$LOG" 'generation 1: active'
t_ok "SIGTERM during a check that hangs: baton stops within 2 s, exit 0" usr2_hang
t_ok "and the check's sleep is gone" \
    wait_until 2 sh -c "! pgrep -f '^sleep 60.$MARK\$'"
t_ok "the log says the upgrade was cancelled" \
    log_has "$LOG" 'upgrade: cancelled, baton is stopping'
t_ok "the port is closed" not_listening "$PORT"

t_done
