#!/bin/bash
# start_priority: a new worker's session (its autogroup) starts at that
# nice value, and the worker at baton's nice plus it, and so does what it
# forks and every thread they start before it is ready; on readiness
# baton sets all of it back (the autogroup to 0, the rest to its own
# nice), while the generation already serving is never touched. Where
# baton could not set its own nice values back (no CAP_SYS_NICE,
# RLIMIT_NICE 0) only the autogroup, which needs no privilege, starts
# lower, and baton says so.
. "$(dirname "$0")/lib.sh"

# The interpreter itself, not a wrapper script that would take its own
# time to start at low priority.
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
    { t_skip "python3 is needed for a threaded child"; t_done; exit 0; }
export PYTHON

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log

# The worker forks a child with three more threads, and says READY=1 on
# its channel once the test has looked (go.GENERATION), then waits.
cat >"$T_DIR/worker.sh" <<'EOS'
#!/bin/sh
"$PYTHON" -c 'import threading, time
for _ in range(3):
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
time.sleep(600)' &
echo "$$ $!" >"$PIDS_DIR/pids.$BATON_GENERATION"
while [ ! -e "$PIDS_DIR/go.$BATON_GENERATION" ]; do sleep 0.1; done
printf 'READY=1' >&"$BATON_FD"
wait
EOS
chmod +x "$T_DIR/worker.sh"
export PIDS_DIR=$T_DIR

http_conf "$CONF" "$PORT" "$T_DIR/worker.sh" "ready = notify" \
    "drain_to = group" "drain_timeout = 2s" \
    "start_priority = 10"

# nices PID...: the nice values of every thread of these processes,
# each once (field 19 of /proc/PID/task/TID/stat).
nices() {
	local p
	for p in "$@"; do
		cat /proc/"$p"/task/*/stat
	done | sed 's/.*) //' | awk '{print $17}' | sort -un | tr '\n' ' ' |
	    sed 's/ $//'
}

# autogroup PID: the nice value of its session's autogroup, or "none"
# where the kernel has no autogroups.
autogroup() {
	if [ -r /proc/"$1"/autogroup ]; then
		awk '{print $3}' /proc/"$1"/autogroup
	else
		echo none
	fi
}

# want_autogroup WANT: WANT, or "none" where the kernel has none.
want_autogroup() {
	if [ -e /proc/self/autogroup ]; then echo "$1"; else echo none; fi
}

# threads PID: how many threads it has.
threads() {
	ls /proc/"$1"/task | wc -l
}

# started PID: it has its four threads.
started() {
	[ "$(threads "$1")" -ge 4 ]
}

BASE=$(cut -d" " -f19 /proc/self/stat)	# ours, which baton inherits
start_baton "$LOG" run -c "$CONF"
t_ok "generation 1 writes its pids" wait_until 10 test -s "$T_DIR/pids.1"
read -r MAIN1 CHILD1 <"$T_DIR/pids.1"
wait_until 30 started "$CHILD1"
t_is "$(threads "$CHILD1")" 4 "its child has started its threads"
t_is "$(nices "$MAIN1" "$CHILD1")" "$((BASE + 10))" \
    "while it starts: the worker, its child and every thread at nice $((BASE + 10))"
t_is "$(autogroup "$MAIN1")" "$(want_autogroup 10)" "and its autogroup at nice 10"
touch "$T_DIR/go.1"
t_ok "generation 1 becomes active" wait_log 20 "$LOG" 'generation 1: active'
t_is "$(nices "$MAIN1" "$CHILD1")" "$BASE" \
    "once ready: all of them back at baton's nice, $BASE"
t_is "$(autogroup "$MAIN1")" "$(want_autogroup 0)" "and its autogroup at 0"

# --- A reload: the new generation starts low, the old one is untouched.
kill -HUP "$BATON_PID"
t_ok "generation 2 writes its pids" wait_until 10 test -s "$T_DIR/pids.2"
read -r MAIN2 CHILD2 <"$T_DIR/pids.2"
wait_until 30 started "$CHILD2"
t_is "$(nices "$MAIN2" "$CHILD2")" "$((BASE + 10))" \
    "generation 2 starts at nice $((BASE + 10))"
t_is "$(autogroup "$MAIN2")" "$(want_autogroup 10)" "its autogroup at nice 10"
t_is "$(nices "$MAIN1" "$CHILD1")" "$BASE" "while generation 1 serves on at $BASE"
t_is "$(autogroup "$MAIN1")" "$(want_autogroup 0)" "its autogroup at 0"
touch "$T_DIR/go.2"
t_ok "generation 2 becomes active" wait_log 20 "$LOG" 'generation 2: active'
t_is "$(nices "$MAIN2" "$CHILD2")" "$BASE" "and is set back once ready"
t_is "$(autogroup "$MAIN2")" "$(want_autogroup 0)" "its autogroup too"
stop_baton

# --- start_priority = 0: nothing changes.
sed -i 's/^start_priority = .*/start_priority = 0/' "$CONF"
rm -f "$T_DIR"/pids.* "$T_DIR"/go.*
start_baton "$LOG.0" run -c "$CONF"
t_ok "with start_priority = 0, the worker starts" wait_until 10 test -s "$T_DIR/pids.1"
read -r MAIN1 CHILD1 <"$T_DIR/pids.1"
wait_until 30 started "$CHILD1"
t_is "$(nices "$MAIN1" "$CHILD1")" "$BASE" "at baton's nice from the start"
t_is "$(autogroup "$MAIN1")" "$(want_autogroup 0)" "its autogroup at 0"
touch "$T_DIR/go.1"
stop_baton

# --- No way back: no CAP_SYS_NICE and RLIMIT_NICE 0.
sed -i 's/^start_priority = .*/start_priority = 10/' "$CONF"
rm -f "$T_DIR"/pids.* "$T_DIR"/go.*
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
    command -v prlimit >/dev/null; then
	WRAP="prlimit --nice=0 -- setpriv --bounding-set=-sys_nice --"
elif [ "$(id -u)" != 0 ] && command -v prlimit >/dev/null; then
	WRAP="prlimit --nice=0 --"
else
	WRAP=
fi
if [ -n "$WRAP" ]; then
	BATON_WRAPPER="$WRAP" start_baton "$LOG.cap" run -c "$CONF"
	t_ok "without the right to set it back, the worker starts" \
	    wait_until 10 test -s "$T_DIR/pids.1"
	read -r MAIN1 CHILD1 <"$T_DIR/pids.1"
	wait_until 30 started "$CHILD1"
	t_is "$(nices "$MAIN1" "$CHILD1")" "$BASE" \
	    "its own nice values are never lowered"
	t_is "$(autogroup "$MAIN1")" "$(want_autogroup 10)" \
	    "its autogroup starts at nice 10"
	touch "$T_DIR/go.1"
	t_ok "baton says why only the autogroup" \
	    log_has "$LOG.cap" 'start_priority = 10: only the workers. autogroups start lower.*CAP_SYS_NICE'
	t_ok "generation 1 becomes active" \
	    wait_log 20 "$LOG.cap" 'generation 1: active'
	t_is "$(autogroup "$MAIN1")" "$(want_autogroup 0)" \
	    "and its autogroup goes back to 0 without privilege"
	t_ok "with no warning" sh -c "! grep -q 'autogroup: nice 0' '$LOG.cap'"
	stop_baton
else
	t_skip "neither prlimit nor setpriv to take CAP_SYS_NICE away"
fi

t_done
