#!/bin/bash
# The control socket and its commands: reload streams its steps and returns
# once the old generation is gone, exits 1 on a rollback and 78 on a bad
# file (reported by the running baton); status as a table and as JSON; stop
# waits for baton to exit; usage errors exit 64, an unreachable baton 69, a
# stopped one 69 after --timeout; a second baton is refused and
# a stale socket replaced; junk on the socket gets an error and blocks no
# other client; the socket is 0600, checked with SO_PEERCRED, removed at stop.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
SOCK=$T_DIR/baton.sock
LOG=$T_DIR/baton.log
SERVER="$TESTSERVER --notify"

conf() {	# conf EXTRA-SERVER-ARGS
	http_conf "$CONF" "$PORT" "$SERVER $1" "workers = 2" "ready = notify" \
	    "ready_timeout = 2s" "drain_timeout = 5s"
}

# gone PID: the process has exited (a zombie waiting for us counts).
gone() {
	! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]
}

# json_shape FILE: one object, its braces and brackets balanced. A
# check that needs no python; json.tool below does the real one.
json_shape() {
	local s
	s=$(tr -d ' \t\r\n' <"$1")
	[ "${s:0:1}" = "{" ] && [ "${s: -1}" = "}" ] &&
	[ "$(tr -cd '{' <"$1" | wc -c)" = "$(tr -cd '}' <"$1" | wc -c)" ] &&
	[ "$(tr -cd '[' <"$1" | wc -c)" = "$(tr -cd ']' <"$1" | wc -c)" ]
}

json_tool() {	# json_tool FILE DESCRIPTION
	if command -v python3 >/dev/null && python3 -c '' 2>/dev/null; then
		t_ok "$2" sh -c "python3 -m json.tool '$1' >/dev/null"
	else
		t_skip "python3 is not installed: $2"
	fi
}

# last_starts FILE PREFIX: the last line of FILE that is not blank
# starts with PREFIX.
last_starts() {
	case "$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)" in
	"$2"*)	return 0 ;;
	esac
	return 1
}

# --- Usage errors, and no baton to talk to.
conf ""
ctl usage1 reload
t_is "$T_STATUS" 64 "reload with neither -c nor -s: exit 64"
ctl usage2 reload -c "$CONF" -s "$SOCK"
t_is "$T_STATUS" 64 "reload with both -c and -s: exit 64"
ctl usage3 status -c "$CONF" -s "$SOCK" --json
t_is "$T_STATUS" 64 "status with both -c and -s: exit 64"
ctl usage4 stop
t_is "$T_STATUS" 64 "stop with neither -c nor -s: exit 64"
ctl none1 reload -c "$CONF"
t_is "$T_STATUS" 69 "no baton: reload -c exits 69"
t_ok "the message names the control socket ($(out none1))" grep -qF "$SOCK" "$T_DIR/none1.err"
ctl none2 status -s "$T_DIR/nowhere.sock"
t_is "$T_STATUS" 69 "no baton: status -s exits 69"
t_ok "the message names the path given" grep -qF "$T_DIR/nowhere.sock" "$T_DIR/none2.err"
ctl none3 stop -c "$CONF"
t_is "$T_STATUS" 69 "no baton: stop exits 69"

# --- The socket, and status.
start_baton "$LOG" run -c "$CONF"
wait_log 10 "$LOG" 'generation 1: active' || t_diag "$(cat "$LOG")"
t_ok "the control socket is created beside the file" wait_until 5 test -S "$SOCK"
t_is "$(stat -c %a "$SOCK")" 600 "its mode is 0600"
gen1=$(gen_pids "$LOG" 1)

ctl table status -c "$CONF"
t_is "$T_STATUS" 0 "status: exit 0"
t_diag "$(out table)"
n=0; for p in $gen1; do grep -qw "$p" "$T_DIR/table.out" && n=$((n + 1)); done
t_is "$n" 2 "the table shows both worker pids"
t_ok "and the state active" grep -qw active "$T_DIR/table.out"
t_ok "and the generation number" grep -qw 1 "$T_DIR/table.out"
t_ok "and restarts" grep -qi restart "$T_DIR/table.out"
ctl table2 status -s "$SOCK"
t_is "$T_STATUS" 0 "status -s: exit 0"
t_ok "the same table" grep -qw "$(echo "$gen1" | head -n 1)" "$T_DIR/table2.out"

ctl json status -c "$CONF" --json
t_is "$T_STATUS" 0 "status --json: exit 0"
t_diag "$(out json)"
J=$T_DIR/json.out
t_ok "JSON: one object" json_shape "$J"
json_tool "$J" "JSON: python3 -m json.tool accepts it"
t_ok "JSON: pid is baton's" json_has "$J" pid "$BATON_PID[^0-9]"
t_ok "JSON: version" json_has "$J" version '"[^"]+"'
t_ok "JSON: config, the absolute path" json_has "$J" config "\"$CONF\""
t_ok "JSON: generations, an array" json_has "$J" generations '\['
t_ok "JSON: generation number 1" json_has "$J" number '1[^0-9]'
t_ok "JSON: state active" json_has "$J" state '"active"'
t_ok "JSON: started" json_has "$J" started
t_ok "JSON: workers, an array" json_has "$J" workers '\['
t_ok "JSON: slot 0" json_has "$J" slot '0[^0-9]'
t_ok "JSON: slot 1" json_has "$J" slot '1[^0-9]'
n=0; for p in $gen1; do json_has "$J" pid "$p[^0-9]" && n=$((n + 1)); done
t_is "$n" 2 "JSON: both worker pids"
t_ok "JSON: restarts" json_has "$J" restarts '0[^0-9]'
t_ok "JSON: last_reload is null before any reload" json_has "$J" last_reload null
t_ok "JSON: counters, an object" json_has "$J" counters '\{'
for k in reloads rollbacks crashes killed; do
	t_ok "JSON: counters.$k is 0" json_has "$J" "$k" '0[^0-9]'
done

# --- reload streams its steps and returns once the old generation is gone.
# Two slow requests keep generation 1 draining for about a second.
"$LOADGEN" -u "http://127.0.0.1:$PORT/sleep?ms=1500" -c 2 -n 2 -t 5000 >"$T_DIR/slow.out" &
LG=$!
sleep 0.3
start=$(date +%s%N)
timeout 30 "$BATON" reload -c "$CONF" >"$T_DIR/reload.out" 2>"$T_DIR/reload.err" &
RL=$!
t_ok "reload prints its first steps while it runs" \
    wait_until 5 grep -q starting "$T_DIR/reload.out"
t_ok "before the final line, and before it returns" \
    sh -c "! grep -q '^ok ' '$T_DIR/reload.out' && kill -0 $RL"
wait_exit "$RL" 20
end=$(date +%s%N)
t_is "$(alive $gen1)" 0 "when reload returns, the old workers are gone"
t_is "$T_STATUS" 0 "reload: exit 0"
t_diag "$(out reload)"
t_ok "it waited for the drain ($(( (end - start) / 1000000 )) ms)" [ $(( (end - start) / 1000000 )) -ge 1000 ]
t_ok "its last line starts with 'ok '" last_starts "$T_DIR/reload.out" 'ok '
t_ok "a step names generation 2 starting" grep -qE 'generation 2.*starting|starting.*generation 2' "$T_DIR/reload.out"
t_ok "a step names generation 1 draining or exited" grep -qE 'generation 1.*(draining|exited)' "$T_DIR/reload.out"
t_ok "the steps come before the final line" [ "$(grep -c . "$T_DIR/reload.out")" -ge 3 ]
wait "$LG"
t_is "$(awk '$1 == "ok" {print $2}' "$T_DIR/slow.out")" 2 "the requests in flight were answered"
gen2=$(gen_pids "$LOG" 2)
t_is "$(alive $gen2)" 2 "generation 2 runs"

ctl json2 status -c "$CONF" --json
J=$T_DIR/json2.out
t_diag "$(out json2)"
t_ok "JSON after reload: last_reload ok" json_has "$J" outcome '"ok"'
t_ok "JSON after reload: its duration_ms" json_has "$J" duration_ms '[0-9]+'
t_ok "JSON after reload: counters.reloads is 1" json_has "$J" reloads '1[^0-9]'
t_ok "JSON after reload: generation 2" json_has "$J" number '2[^0-9]'
n=0; for p in $gen1; do json_has "$J" pid "$p[^0-9]" && n=$((n + 1)); done
t_is "$n" 0 "JSON after reload: generation 1's workers are not listed"
json_tool "$J" "JSON after reload: python3 -m json.tool accepts it"

# --- A rolled-back reload: exit 1, the old workers keep serving.
# stdout and stderr in one file: the final line may be on either.
conf "--exit-at-start 3"
timeout 30 "$BATON" reload -c "$CONF" >"$T_DIR/rollback.out" 2>&1
t_is "$?" 1 "a rolled-back reload: exit 1"
t_diag "$(cat "$T_DIR/rollback.out")"
t_ok "its last line starts with 'error '" last_starts "$T_DIR/rollback.out" 'error '
t_is "$(alive $gen2)" 2 "generation 2's workers still run"
now=$(http_get "http://127.0.0.1:$PORT/")
t_ok "and answer ($now)" answers_from "$now" $gen2
ctl json3 status -c "$CONF" --json
t_ok "JSON after rollback: last_reload rolled back" json_has "$T_DIR/json3.out" outcome '"rolled back"'
t_ok "JSON after rollback: counters.rollbacks is 1" json_has "$T_DIR/json3.out" rollbacks '1[^0-9]'

# --- An invalid file: 78, FILE:LINE with the absolute path, nothing changes.
# The client finds the socket without needing a valid file: the running
# baton re-reads it, logs the failure and says why.
printf '[baton]\ncommand = %s\nworkers = lots\n' "$SERVER" >"$CONF"
(cd "$T_DIR" && exec timeout 30 "$BATON" reload -c baton.ini) >"$T_DIR/bad.out" 2>"$T_DIR/bad.err"
t_is "$?" 78 "reload of an invalid file: exit 78"
t_diag "$(out bad)"
t_ok "stderr names FILE:LINE, FILE absolute" grep -qF "$CONF:3:" "$T_DIR/bad.err"
t_ok "the answer came from baton: 'error config: FILE:LINE'" grep -qF "error config: $CONF:3:" "$T_DIR/bad.err"
t_ok "baton logs the request" log_has "$LOG" 'control: reload requested by pid [0-9]+'
t_ok "baton logs the failed reload with FILE:LINE" grep -qF "reload failed, nothing changed: $CONF:3:" "$LOG"
sleep 0.3
t_ok "no generation starts" sh -c "! grep -q 'generation 4: starting' '$LOG'"
t_is "$(alive $gen2)" 2 "generation 2's workers still run"
now=$(http_get "http://127.0.0.1:$PORT/")
t_ok "and answer ($now)" answers_from "$now" $gen2
ctl json4 status -c "$CONF" --json
t_is "$T_STATUS" 0 "status -c works with the invalid file"
t_diag "$(out json4)"
n=0; for p in $gen2; do json_has "$T_DIR/json4.out" pid "$p[^0-9]" && n=$((n + 1)); done
t_is "$n" 2 "status still lists the same worker pids"
t_ok "JSON: last_reload failed" json_has "$T_DIR/json4.out" outcome '"failed"'
t_ok "JSON: its reason names FILE:LINE" grep -qF "$CONF:3:" "$T_DIR/json4.out"

# --- reload -s, with a valid file again.
conf ""
ctl reload2 reload -s "$SOCK"
t_is "$T_STATUS" 0 "reload -s: exit 0"
t_ok "its last line starts with 'ok '" last_starts "$T_DIR/reload2.out" 'ok '
t_ok "generation 4 is active" log_has "$LOG" 'generation 4: active'
t_is "$(alive $gen2)" 0 "generation 2's workers are gone"
gen4=$(gen_pids "$LOG" 4)

# --- A stopped baton: the client gives up after --timeout, exit 69.
ctl badtimeout status -c "$CONF" --timeout soon
t_is "$T_STATUS" 64 "--timeout soon: exit 64"
kill -STOP "$BATON_PID"
start=$(date +%s%N)
ctl stopped status -c "$CONF" --timeout 1s
end=$(date +%s%N)
kill -CONT "$BATON_PID"
t_is "$T_STATUS" 69 "status of a stopped baton with --timeout 1s: exit 69"
t_diag "$(out stopped)"
t_ok "within about 2 s ($(( (end - start) / 1000000 )) ms)" [ $(( (end - start) / 1000000 )) -lt 2500 ]
t_ok "saying baton did not answer within 1s, with its pid" \
    grep -qF "baton (pid $BATON_PID) at $SOCK did not answer within 1s" "$T_DIR/stopped.err"
ctl resumed status -c "$CONF" --json --timeout 5s
t_is "$T_STATUS" 0 "once resumed, status answers again"
t_ok "as itself" json_has "$T_DIR/resumed.out" pid "$BATON_PID[^0-9]"

# --- Junk on the socket gets an error, and never blocks another client.
if command -v socat >/dev/null; then
	junk() {	# junk NAME: standard input to the socket; the answer in NAME.out
		timeout 10 socat -t 1 - "UNIX-CONNECT:$SOCK" >"$T_DIR/$1.out" 2>"$T_DIR/$1.err"
	}
	echo frobnicate | junk unknown
	t_ok "an unknown command gets an 'error ' line ($(out unknown))" grep -q '^error ' "$T_DIR/unknown.out"
	printf '\001\002\377\376\000\033[31m\n' | junk binary
	t_ok "binary data gets an 'error ' line" grep -q '^error ' "$T_DIR/binary.out"
	head -c 1000 /dev/zero | tr '\0' a | junk long
	t_ok "a line of 1000 bytes gets an 'error ' line" grep -q '^error ' "$T_DIR/long.out"
	# Refused once it is too long, without waiting for its end.
	{ head -c 300 /dev/zero | tr '\0' a; sleep 4; } | junk long2 &
	J=$!
	t_ok "an over-long line is refused before it ends" \
	    wait_until 3 grep -q '^error ' "$T_DIR/long2.out"
	echo status | junk raw
	t_ok "the wire: 'status' answers JSON with baton's pid" json_has "$T_DIR/raw.out" pid "$BATON_PID[^0-9]"
	echo 'status text' | junk rawtext
	t_ok "the wire: 'status text' answers the table" grep -qw "$(echo "$gen4" | head -n 1)" "$T_DIR/rawtext.out"
	# Two clients that send nothing, and one half a line, stay connected
	# while another asks for the status.
	sleep 3 | junk idle1 &
	J="$J $!"
	sleep 3 | junk idle2 &
	J="$J $!"
	{ printf 'sta'; sleep 3; } | junk partial &
	J="$J $!"
	sleep 0.5
	start=$(date +%s%N)
	timeout 5 "$BATON" status -c "$CONF" --json >"$T_DIR/busy.out" 2>"$T_DIR/busy.err"
	rc=$?
	end=$(date +%s%N)
	t_is "$rc" 0 "status works while other clients hold connections"
	t_ok "at once ($(( (end - start) / 1000000 )) ms)" [ $(( (end - start) / 1000000 )) -lt 2000 ]
	t_ok "and answers" json_has "$T_DIR/busy.out" pid "$BATON_PID[^0-9]"
	t_ok "baton still serves" answers_from "$(http_get "http://127.0.0.1:$PORT/")" $gen4
	wait $J
else
	for c in "unknown command" "binary data" "1000-byte line" "over-long line refused early" \
	    "raw status" "raw status text" "status while others connect" "at once" "answers" "serves"; do
		t_skip "socat is not installed: junk on the socket: $c"
	done
fi

# --- Permissions: another user is refused by the mode, then by SO_PEERCRED.
NOBODY=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	if command -v setpriv >/dev/null; then
		NOBODY="setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
	elif command -v runuser >/dev/null; then
		NOBODY="runuser -u nobody --"
	fi
fi
chmod 711 "$T_DIR"
if [ -n "$NOBODY" ] && $NOBODY test -x "$BATON"; then
	timeout 10 $NOBODY "$BATON" status -s "$SOCK" >"$T_DIR/nobody1.out" 2>"$T_DIR/nobody1.err"
	t_is "$?" 69 "as nobody, the 0600 socket cannot be reached: exit 69"
	t_diag "$(out nobody1)"
	t_ok "with a message" test -s "$T_DIR/nobody1.err"
	chmod 666 "$SOCK"
	timeout 10 $NOBODY "$BATON" status -s "$SOCK" >"$T_DIR/nobody2.out" 2>"$T_DIR/nobody2.err"
	t_is "$?" 69 "as nobody through a 0666 socket: SO_PEERCRED refuses, exit 69"
	t_diag "$(out nobody2)"
	t_ok "with 'error permission denied'" sh -c "cat '$T_DIR/nobody2.out' '$T_DIR/nobody2.err' | grep -q 'error permission denied'"
	t_ok "baton logs that it refused" wait_log 3 "$LOG" 'refused'
	t_ok "no status leaked" sh -c "! grep -q '\"pid\"' '$T_DIR/nobody2.out'"
	timeout 10 $NOBODY "$BATON" reload -s "$SOCK" >"$T_DIR/nobody3.out" 2>&1
	t_is "$?" 69 "as nobody, reload is refused: exit 69"
	timeout 10 $NOBODY "$BATON" stop -s "$SOCK" >"$T_DIR/nobody4.out" 2>&1
	t_is "$?" 69 "as nobody, stop is refused: exit 69"
	sleep 0.5
	t_ok "no generation started" sh -c "! grep -q 'generation 5: starting' '$LOG'"
	t_ok "baton still runs" kill -0 "$BATON_PID"
	chmod 600 "$SOCK"
else
	for c in "0600 refuses: exit 69" "message" "0666: exit 69" "error permission denied" \
	    "logged refused" "no status leaked" "reload refused" "stop refused" \
	    "no generation started" "baton still runs"; do
		t_skip "not root, or no setpriv/runuser: nobody: $c"
	done
fi
chmod 700 "$T_DIR"

# --- A second baton on the same control socket is refused.
run_fails "$T_DIR/second.out" "a second baton run -c on the same file" run -c "$CONF"
t_ok "the message says already running, with the first one's pid" \
    sh -c "grep -q 'already running' '$T_DIR/second.out' && grep -qw '$BATON_PID' '$T_DIR/second.out'"
PORT2=$(free_port)
http_conf "$T_DIR/other.ini" "$PORT2" "$SERVER" "ready = notify" "control = $SOCK"
run_fails "$T_DIR/other.out" "another file with the same control path" run -c "$T_DIR/other.ini"
t_ok "already running, with the pid" \
    sh -c "grep -q 'already running' '$T_DIR/other.out' && grep -qw '$BATON_PID' '$T_DIR/other.out'"
t_ok "it does not serve" not_listening "$PORT2"
ctl after status -s "$SOCK" --json
t_is "$T_STATUS" 0 "the first baton still answers on its socket"
t_ok "as itself" json_has "$T_DIR/after.out" pid "$BATON_PID[^0-9]"

# --- Only a baton is called one: a baton answers like baton (whatever its
# name), any other program on the control path is not baton's.
FSOCK=$T_DIR/foreign.sock
for n in 1 2; do
	http_conf "$T_DIR/foreign$n.ini" "$(free_port)" "$SERVER" "ready = notify" \
	    "control = $FSOCK"
done
if command -v socat >/dev/null; then
	socat UNIX-LISTEN:"$FSOCK",fork EXEC:cat 2>/dev/null &
	FS=$!
	T_PIDS="$T_PIDS $FS"
	wait_until 5 test -S "$FSOCK"
	run_fails "$T_DIR/foreign.out" "socat on the control path" run -c "$T_DIR/foreign1.ini"
	t_ok "it is a socket that is not baton's, with socat's pid" \
	    grep -qF "control socket $FSOCK: a socket that is not baton's is listening there (pid $FS, socat)" "$T_DIR/foreign.out"
	t_ok "not 'another baton'" sh -c "! grep -q 'another baton' '$T_DIR/foreign.out'"
	kill "$FS"
	wait "$FS" 2>/dev/null
	rm -f "$FSOCK"
else
	for c in "exit 1" "not baton's" "not another baton"; do
		t_skip "socat is not installed: a foreign control socket: $c"
	done
fi
# A baton under another name (as under valgrind) answers like baton.
cp "$BATON" "$T_DIR/renamed"
"$T_DIR/renamed" run -c "$T_DIR/foreign1.ini" >"$T_DIR/renamed.log" 2>&1 &
RB=$!
T_PIDS="$T_PIDS $RB"
wait_log 10 "$T_DIR/renamed.log" 'generation 1: active'
run_fails "$T_DIR/renamed2.out" "a second baton beside a renamed one" run -c "$T_DIR/foreign2.ini"
t_ok "it is another baton, by its answer, with its pid" \
    grep -qF "another baton (pid $RB) is already running with control socket $FSOCK" "$T_DIR/renamed2.out"
kill -TERM "$RB"
wait_exit "$RB" 10

# --- stop returns once baton has exited.
"$LOADGEN" -u "http://127.0.0.1:$PORT/sleep?ms=1500" -c 2 -n 2 -t 5000 >"$T_DIR/slow2.out" &
LG=$!
sleep 0.3
start=$(date +%s%N)
ctl stop stop -c "$CONF"
end=$(date +%s%N)
t_is "$T_STATUS" 0 "stop: exit 0"
t_diag "$(out stop)"
t_ok "baton has exited when stop returns" gone "$BATON_PID"
t_ok "stop waited for the drain ($(( (end - start) / 1000000 )) ms)" [ $(( (end - start) / 1000000 )) -ge 1000 ]
wait "$LG"
t_is "$(awk '$1 == "ok" {print $2}' "$T_DIR/slow2.out")" 2 "the requests in flight were answered"
wait_exit "$BATON_PID" 5
t_is "$T_STATUS" 0 "baton exited 0"
t_ok "the control socket is removed" test ! -e "$SOCK"
t_ok "the port is closed" not_listening "$PORT"
t_is "$(alive $gen4)" 0 "no worker is left"
ctl after2 status -c "$CONF"
t_is "$T_STATUS" 69 "status after stop: exit 69"

# --- A stale socket: left by a killed baton, unreachable, then replaced.
start_active "$T_DIR/killed.log" run -c "$CONF"
wait_until 5 test -S "$SOCK"
kill -KILL "$BATON_PID"
wait_exit "$BATON_PID" 5
t_ok "a killed baton leaves its socket file" test -S "$SOCK"
ctl stale1 status -c "$CONF"
t_is "$T_STATUS" 69 "status on a stale socket: exit 69"
t_ok "the message names the path" grep -qF "$SOCK" "$T_DIR/stale1.err"
ctl stale2 reload -s "$SOCK"
t_is "$T_STATUS" 69 "reload on a stale socket: exit 69"
wait_until 10 not_listening "$PORT"	# its orphans drain
start_baton "$T_DIR/new.log" run -c "$CONF"
t_ok "a new baton replaces the stale socket" wait_log 10 "$T_DIR/new.log" 'generation 1: active'
t_diag "$(grep -iE 'warn|error|stale' "$T_DIR/new.log")"
ctl stale3 status -s "$SOCK" --json
t_is "$T_STATUS" 0 "and answers on it"
t_ok "as itself" json_has "$T_DIR/stale3.out" pid "$BATON_PID[^0-9]"
ctl stop2 stop -s "$SOCK"
t_is "$T_STATUS" 0 "stop -s: exit 0"
wait_exit "$BATON_PID" 5
t_is "$T_STATUS" 0 "baton exited 0"
t_ok "the socket is removed" test ! -e "$SOCK"

t_done
