# Shared by the end-to-end tests: TAP output, scratch space, ports, and
# helpers that start baton and wait for it. Every wait is bounded.

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
BATON=$top_builddir/baton
TESTSERVER=$top_builddir/test/testserver
LOADGEN=$top_builddir/test/loadgen

T_NUM=0
T_FAILED=0
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/baton-$T_NAME.XXXXXX")
T_PIDS=

t_cleanup() {
	local p
	for p in $T_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	# Workers are in their own process groups: never leave one behind.
	pkill -KILL -f "$T_DIR" 2>/dev/null
	wait 2>/dev/null
	if [ "$T_FAILED" -eq 0 ] && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$T_DIR"
	else
		echo "# scratch files kept in $T_DIR"
	fi
}
trap t_cleanup EXIT

# ok CONDITION-STATUS DESCRIPTION: record one test result.
t_result() {
	T_NUM=$((T_NUM + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_NUM - $2"
	else
		echo "not ok $T_NUM - $2"
		T_FAILED=$((T_FAILED + 1))
	fi
}

# t_ok DESCRIPTION COMMAND...: pass if COMMAND succeeds.
t_ok() {
	local desc=$1
	shift
	"$@"
	t_result $? "$desc"
}

# t_is GOT WANT DESCRIPTION
t_is() {
	if [ "$1" = "$2" ]; then
		t_result 0 "$3"
	else
		t_result 1 "$3"
		echo "#   got:  '$1'"
		echo "#   want: '$2'"
	fi
}

t_skip() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM # SKIP $1"
}

t_diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

t_done() {
	echo "1..$T_NUM"
	echo "# took $SECONDS s"
	[ "$T_FAILED" -eq 0 ]
}

# A TCP port on 127.0.0.1 that nothing listens on now, below the
# ephemeral range so that no client connection of the load holds it.
free_port() {
	local p i low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
	[ "$low" -gt 11000 ] || low=32768
	for i in $(seq 1 100); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_until SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds.
wait_until() {
	local limit=$1 i=0
	shift
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -ge $((limit * 20)) ]; then
			echo "# wait_until: $limit s ran out: $*"
			return 1
		fi
		sleep 0.05
	done
	return 0
}

listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

not_listening() {
	! listening "$1"
}

# listener_inode PORT: the inode of each socket listening on 127.0.0.1:PORT.
listener_inode() {
	awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a && $4 == "0A" {print $10}' /proc/net/tcp
}

# http_get URL: print the body of a 200 answer; fail otherwise.
http_get() {
	"$LOADGEN" -u "$1" -n 1 -c 1 -t 3000 -b -q
}

# start_baton LOG ARGS...: run baton in the background; BATON_PID is set.
start_baton() {
	local log=$1
	shift
	# BATON_WRAPPER runs baton under a tool: "valgrind --leak-check=full".
	${BATON_WRAPPER:-} "$BATON" "$@" >"$log" 2>&1 &
	BATON_PID=$!
	T_PIDS="$T_PIDS $BATON_PID"
}

# start_active LOG ARGS...: start_baton, then wait up to 10 s for
# generation 1 to be active.
start_active() {
	start_baton "$@"
	wait_log 10 "$1" 'generation 1: active'
}

# run_fails OUT WHAT ARGS...: baton ARGS must exit 1 within 10 s (WHAT
# is the case); its output goes to OUT and to the diagnostics.
run_fails() {
	local out=$1 what=$2
	shift 2
	timeout 10 "$BATON" "$@" >"$out" 2>&1
	t_is "$?" 1 "$what: exit 1"
	t_diag "$(cat "$out")"
}

# log_has LOG PATTERN: grep -E in a log.
log_has() {
	grep -qE -- "$2" "$1"
}

# wait_log SECONDS LOG PATTERN
wait_log() {
	wait_until "$1" log_has "$2" "$3"
}

# wait_exit PID SECONDS: wait for a child to exit; its status in T_STATUS.
wait_exit() {
	local pid=$1 limit=$2 i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -ge $((limit * 20)) ]; then
			T_STATUS=timeout
			return 1
		fi
		# A zombie still answers kill -0: reap it when it is one.
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
			break
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	T_STATUS=$?
	return 0
}

# pids of the worker processes named in a baton log, as "pid N:" lines.
worker_pids() {
	grep -oE 'pid [0-9]+: started' "$1" | awk '{print $2}' | tr -d ':'
}

# write_conf FILE: standard input becomes the configuration file.
write_conf() {
	cat >"$1"
}

# ctl NAME ARGS...: a bounded baton client; its output in NAME.out and
# NAME.err, its exit status in T_STATUS.
ctl() {
	local name=$1
	shift
	timeout 30 "$BATON" "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err"
	T_STATUS=$?
}

# out NAME: what ctl NAME printed, both streams.
out() {
	cat "$T_DIR/$1.out" "$T_DIR/$1.err" 2>/dev/null
}

# alive PID...: how many of them still run (zombies do not count).
alive() {
	local p n=0
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null &&
		    [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ] && n=$((n + 1))
	done
	echo "$n"
}

# gen_pids LOG N: the pids generation N's workers started with.
gen_pids() {
	grep -oE "gen $2 worker [0-9]+ pid [0-9]+: started" "$1" |
	    awk '{print $6}' | tr -d ':'
}

# field NAME FILE: a figure of the load generator's report.
field() {
	awk -v k="$1" '$1 == k {print $2}' "$2"
}

# drained [LOG]: every generation that began draining in LOG (default
# $LOG) has exited. By the words, not by the field: a worker's own line
# on the shared stderr may come first on the same line.
drained() {
	[ "$(awk 'match($0, /generation [0-9]+: draining \(/) {
		d[substr($0, RSTART + 11, RLENGTH - 23)] = 1 }
	    match($0, /generation [0-9]+: exited after/) {
		delete d[substr($0, RSTART + 11, RLENGTH - 25)] }
	    END {n = 0; for (g in d) n++; print n}' "${1:-$LOG}")" = 0 ]
}

# need_preload: the interposer built beside baton, for the tests that
# preload it; a test without it fails, saying so.
need_preload() {
	: "${BATON_PRELOAD_LIB:=$top_builddir/.libs/libbaton-preload.so}"
	export BATON_PRELOAD_LIB
	# A sanitized build's servers load libasan after the interposer,
	# which ASan refuses unless told that the order is intended.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	if [ ! -f "$BATON_PRELOAD_LIB" ]; then
		t_result 1 "the interposer is built ($BATON_PRELOAD_LIB)"
		t_done
		exit 1
	fi
}

# answers_from "ok PID" PIDS...: the answer came from one of PIDS.
answers_from() {
	local body=$1 p
	shift
	for p in "$@"; do
		[ "$body" = "ok $p" ] && return 0
	done
	return 1
}

# json_has FILE KEY [VALUE-REGEX]: FILE has "KEY": followed by VALUE.
json_has() {
	grep -qE "\"$2\"[[:space:]]*:[[:space:]]*${3:-}" "$1"
}

# counter FILE NAME: a counter of status --json.
counter() {
	sed -n 's/.*"counters":{\([^}]*\)}.*/\1/p' "$1" | tr ',' '\n' |
	    sed -n "s/^\"$2\":\([0-9]*\)$/\1/p"
}

# ms_since START-NS: milliseconds since START, from date +%s%N.
ms_since() {
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

# stop_baton: SIGTERM, and wait (20 s at most) for baton to exit; its
# status in T_STATUS.
stop_baton() {
	kill -TERM "$BATON_PID" 2>/dev/null
	wait_exit "$BATON_PID" 20
}

# reload_and_wait N [LOG [SECONDS]]: SIGHUP, then wait (10 s unless
# told) for generation N to be active in LOG (default $LOG).
reload_and_wait() {
	kill -HUP "$BATON_PID"
	wait_log "${3:-10}" "${2:-$LOG}" "generation $1: active"
}

# reload_each FIRST LAST PAUSE [LOG [SECONDS]]: reload_and_wait for each
# generation from FIRST to LAST, PAUSE seconds apart; RELOADED counts
# those that became active.
reload_each() {
	local g
	RELOADED=0
	for g in $(seq "$1" "$2"); do
		reload_and_wait "$g" "${4:-$LOG}" "${5:-10}" &&
		    RELOADED=$((RELOADED + 1))
		sleep "$3"
	done
}

# alive_start PATTERN: in the background, how many of baton's children
# match PATTERN (pgrep -f) every 20 ms; alive_stop ends it and sets
# MAX_ALIVE to the most seen at once. Children only: a process a worker
# clones (LeakSanitizer's tracer at a sanitized worker's exit) shows the
# worker's command line too.
alive_start() {
	rm -f "$T_DIR/alive.stop"
	echo 0 >"$T_DIR/alive.max"
	(
		max=0
		while [ ! -e "$T_DIR/alive.stop" ]; do
			n=$(pgrep -P "$BATON_PID" -f -- "$1" | wc -l)
			if [ "$n" -gt "$max" ]; then
				max=$n
				echo "$max" >"$T_DIR/alive.max"
			fi
			sleep 0.02
		done
	) &
	ALIVE_PID=$!
	T_PIDS="$T_PIDS $ALIVE_PID"
}

alive_stop() {
	touch "$T_DIR/alive.stop"
	wait "$ALIVE_PID"
	MAX_ALIVE=$(cat "$T_DIR/alive.max")
}

# load_start NAME URL LOADGEN-ARGS...: the load generator in the
# background (pid LG) until load_stop, its report in NAME.out; a -d in
# LOADGEN-ARGS bounds it if load_stop never comes.
load_start() {
	local name=$1 url=$2
	shift 2
	"$LOADGEN" -u "$url" -n 100000000 -t 5000 "$@" >"$T_DIR/$name.out" &
	LG=$!
}

# load_stop NAME: end the load generator; its report goes to the log.
load_stop() {
	kill -INT "$LG"
	wait "$LG"
	t_diag "$1: $(tr '\n' ' ' <"$T_DIR/$1.out")"
}

# load_ran NAME MIN [WHAT]: more than MIN requests of run NAME answered.
load_ran() {
	local answered
	answered=$(field ok "$T_DIR/$1.out")
	t_ok "${3:+$3: }load ran ($answered answered)" [ "${answered:-0}" -gt "$2" ]
}

# longest_drain [SIG]: the longest time, in ms, from a worker's DRAIN=1 in
# $LOG to its drain signal SIG (SIGTERM) once idle.
longest_drain() {
	awk -v sig="${1:-SIGTERM}" '{
		split(substr($1, 12), t, ":")
		ms = (t[1] * 3600 + t[2] * 60 + t[3]) * 1000
		if (match($0, /pid [0-9]+: draining/) == 0)
			next
		pid = substr($0, RSTART, RLENGTH)
		if ($0 ~ /draining \(DRAIN=1/)
			start[pid] = ms
		else if (index($0, "draining (" sig ", idle)") && pid in start &&
		    ms - start[pid] > max)
			max = ms - start[pid]
	} END { print max + 0 }' "$LOG"
}

# twice: how many of the ids in $SEEN, where servers write each request's
# id as they get it, came more than once: a request cut after the server
# read it, and retried.
twice() {
	sort "$SEEN" | uniq -d | wc -l
}

# reload_under_load NAME RELOADS LOADGEN-ARGS...: reload RELOADS times
# under load, a second apart, after generation GEN; then wait for the old
# generations to exit. RELOADED counts the reloads that became active.
reload_under_load() {
	local name=$1 n=$2
	shift 2
	RELOADED=0
	if ! kill -0 "$BATON_PID" 2>/dev/null; then
		echo "failed baton-is-not-running" >"$T_DIR/$name.out"
		return
	fi
	load_start "$name" "http://127.0.0.1:$PORT/" -d 120s "$@"
	sleep 1
	reload_each $((GEN + 1)) $((GEN + n)) 1 "$LOG" 20
	GEN=$((GEN + n))
	wait_until 20 drained
	load_stop "$name"
}

# reloaded_well NAME WHAT RELOADS MIN: the figures of reload_under_load
# NAME: RELOADS reloads, the old generations gone, no request failed,
# retried or cut, and more than MIN answered.
reloaded_well() {
	local w=${2:+$2: }
	t_is "$RELOADED" "$3" "$w$3 reloads, each to an active generation"
	t_ok "${w}every old generation exits" drained
	t_is "$(field failed "$T_DIR/$1.out")" 0 "${w}no request failed"
	t_is "$(field retried "$T_DIR/$1.out")" 0 "${w}none was retried"
	t_is "$(twice)" 0 "${w}no request was cut (none reached a server twice)"
	load_ran "$1" "$4" "$2"
}

# http_conf FILE PORT COMMAND [LINE...]: a configuration that runs
# COMMAND, with each LINE ("key = value") in [baton] after it, and one
# socket, http, on tcp://127.0.0.1:PORT.
http_conf() {
	local file=$1 port=$2 command=$3
	shift 3
	{
		echo "[baton]"
		echo "command = $command"
		[ $# -eq 0 ] || printf '%s\n' "$@"
		echo
		echo "[socket:http]"
		echo "listen = tcp://127.0.0.1:$port"
	} >"$file"
}

# steer_conf FILE PORT SERVER-ARGS [LINE...]: http_conf with two
# testservers (SERVER-ARGS added) behind ready = probe (GET /healthz every
# 100 ms), drain_timeout 5s, and each LINE.
steer_conf() {
	local file=$1 port=$2 args=$3
	shift 3
	http_conf "$file" "$port" "$TESTSERVER --protocol systemd $args" \
	    "workers = 2" "ready = probe" "probe = http GET /healthz" \
	    "probe_interval = 100ms" "drain_timeout = 5s" "$@"
}

# need_steer CONF: baton check accepts CONF's steering keys (CONF has
# ready = probe, the key named when they are refused); where the kernel
# refuses steering, the test checks that baton check says why, and is
# skipped with the kernel's reason; any other refusal fails it.
need_steer() {
	ctl check check -c "$1"
	[ "$T_STATUS" = 0 ] && return
	if grep -q 'which this machine refuses' "$T_DIR/check.err"; then
		t_ok "baton check refuses ready = probe, saying why" \
		    grep -qE "$1:[0-9]+: ready = probe needs the kernel to steer" \
		    "$T_DIR/check.err"
		t_skip "the kernel refuses steering: $(sed -n 's/.*refuses: //p' "$T_DIR/check.err")"
		t_done
		exit 0
	fi
	t_result 1 "baton check accepts the steering keys ($(out check))"
	t_done
	exit 1
}

# sample N: N answers of / on $PORT a little apart, one pid a line, in
# sample.N.
sample() {
	local i body
	: >"$T_DIR/sample.$1"
	for i in $(seq "$1"); do
		# SAMPLE_UNTIL PATTERN: stop once $LOG has it.
		[ -n "${SAMPLE_UNTIL:-}" ] && log_has "$LOG" "$SAMPLE_UNTIL" &&
		    break
		body=$(http_get "http://127.0.0.1:$PORT/") || body="failed"
		echo "${body#ok }" >>"$T_DIR/sample.$1"
		sleep 0.05
	done
}

# only_from FILE PIDS...: every line of FILE is one of PIDS.
only_from() {
	local f=$1 line
	shift
	while read -r line; do
		answers_from "ok $line" "$@" || return 1
	done <"$f"
}

# tally FILE PIDS...: how many lines of loadgen -a's FILE are from PIDS.
tally() {
	local f=$1 p n=0 c
	shift
	for p in "$@"; do
		c=$(grep -cx "ok $p" "$f")
		n=$((n + c))
	done
	echo "$n"
}

# gen_field FILE N KEY: generation N's KEY (a number) in status --json FILE.
gen_field() {
	sed 's/{"number":/\n/g' "$1" | awk -F, -v n="$2" '$1 == n' |
	    grep -oE "\"$3\":[0-9.]+" | cut -d: -f2
}

# share FILE N: generation N's "share" in status --json FILE.
share() {
	gen_field "$1" "$2" share
}
