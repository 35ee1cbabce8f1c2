#!/bin/bash
# The workers' stdout and stderr in a file (output = FILE): two workers
# print numbered lines on both streams every millisecond, and every line
# lands whole and prefixed; the file rotates at output_max_size keeping
# output_keep; `mv` then `baton reopen`, or SIGUSR1, move writing to a new
# file; an upgrade in place loses and cuts no line; a full disk drops
# lines with a counter while baton serves and reloads.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/app.ini
mkdir "$T_DIR/logs"

# output_field FILE NAME: a figure of status --json's "output" object.
output_field() {
	sed -n 's/.*"output":{\([^}]*\)}.*/\1/p' "$1" | tr ',' '\n' |
	    sed -n "s/^\"$2\":\([0-9]*\)$/\1/p"
}

# malformed FILE...: the lines that are not a whole, prefixed line; a
# chatter line must be whole to the last x.
malformed() {
	cat "$@" | grep -vE '^gen [0-9]+ worker [01] pid [0-9]+ std(out|err)[:+] ' |
	    head -5
	cat "$@" | grep 'chatter' | grep -vE '^gen [0-9]+ worker [01] pid [0-9]+ (stdout): chatter stdout [0-9]+ x{40}$|^gen [0-9]+ worker [01] pid [0-9]+ (stderr): chatter stderr [0-9]+ x{40}$' |
	    head -5
}

# gaps FILE...: for each worker process and stream, the numbers missing
# or repeated between its first and its last line in FILE...
gaps() {
	cat "$@" | awk '$8 == "chatter" {
		k = $6 " " $9; n = $10
		if (!(k in lo) || n < lo[k]) lo[k] = n
		if (n > hi[k]) hi[k] = n
		seen[k]++
	} END {
		for (k in seen)
			if (seen[k] != hi[k] - lo[k] + 1)
				print k ": " seen[k] " lines for " lo[k] ".." hi[k]
	}'
}

# streams FILE...: how many worker streams chattered in FILE...
streams() {
	cat "$@" | awk '$8 == "chatter" { s[$6 " " $9] = 1 } END { n = 0; for (k in s) n++; print n }'
}

size_of() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

grows() {
	local a b
	a=$(size_of "$1")
	sleep 0.3
	b=$(size_of "$1")
	[ "$b" -gt "$a" ]
}

still() {
	! grows "$1"
}

# --- rotation ---------------------------------------------------------
LOG=$T_DIR/rotate.log
OUT=$T_DIR/logs/rotate.out
http_conf "$CONF" "$PORT" "$TESTSERVER --notify --chatter 1" \
    "workers = 2" "ready = notify" "drain_timeout = 5s" \
    "output = logs/rotate.out" "output_max_size = 64K" "output_keep = 3"
start_active "$LOG" run -c "$CONF"
t_ok "the output file is created beside the configuration" test -f "$OUT"
t_ok "it rotates: rotate.out.3 appears" wait_until 20 test -f "$OUT.3"
sleep 1
t_ok "output_keep = 3: no rotate.out.4" test ! -e "$OUT.4"
s1=$(size_of "$OUT.1")
t_ok "rotate.out.1 was rotated at 64K ($s1 bytes)" \
    [ "$s1" -ge 65536 ] && [ "$s1" -lt 66000 ]
t_is "$(malformed "$OUT" "$OUT.1" "$OUT.2" "$OUT.3")" "" \
    "every line is whole and prefixed"
t_is "$(streams "$OUT.1")" 4 "both workers' stdout and stderr are there"
t_ok "workers' pids in the prefix are theirs" \
    grep -qE "^gen 1 worker 0 pid $(gen_pids "$LOG" 1 | head -1) " \
    "$OUT" "$OUT.1" "$OUT.2" "$OUT.3"
ctl st1 status -c "$CONF" --json
t_ok "status counts the rotations" [ "$(output_field "$T_DIR/st1.out" rotations)" -ge 3 ]
t_is "$(output_field "$T_DIR/st1.out" dropped_lines)" 0 "nothing dropped"
stop_baton
t_is "$T_STATUS" 0 "baton stops"

# --- reopen, SIGUSR1, upgrade in place ----------------------------------
LOG=$T_DIR/reopen.log
OUT=$T_DIR/logs/app.out
http_conf "$CONF" "$PORT" "$TESTSERVER --notify --chatter 1" \
    "workers = 2" "ready = notify" "drain_timeout = 5s" \
    "output = logs/app.out"
start_active "$LOG" run -c "$CONF"
t_ok "lines arrive" wait_until 5 grows "$OUT"
mv "$OUT" "$OUT.moved1"
ctl reopen reopen -c "$CONF"
t_is "$T_STATUS/$(out reopen)" "0/ok reopened $OUT" "baton reopen answers ok"
t_ok "after mv and reopen, writing goes to a new file" wait_until 5 grows "$OUT"
t_ok "and the moved one stops growing" still "$OUT.moved1"
mv "$OUT" "$OUT.moved2"
kill -USR1 "$BATON_PID"
t_ok "SIGUSR1 reopens too" wait_until 5 grows "$OUT"
t_ok "the file moved before SIGUSR1 stops growing" still "$OUT.moved2"

kill -USR2 "$BATON_PID"
t_ok "baton upgrades in place while the workers write" \
    wait_log 15 "$LOG" 'upgraded in place'
t_ok "lines still arrive after the upgrade" wait_until 5 grows "$OUT"
ctl st2 status -c "$CONF" --json
t_ok "status still shows the output after the upgrade" \
    [ "$(output_field "$T_DIR/st2.out" lines)" -gt 0 ]
stop_baton
t_is "$T_STATUS" 0 "baton stops"
t_is "$(malformed "$OUT.moved1" "$OUT.moved2" "$OUT")" "" \
    "every line is whole and prefixed, across reopens and the upgrade"
t_is "$(streams "$OUT.moved1" "$OUT.moved2" "$OUT")" 4 "four streams chattered"
t_is "$(gaps "$OUT.moved1" "$OUT.moved2" "$OUT")" "" \
    "no line lost or repeated, from the first to the last"
t_diag "$(wc -l "$OUT.moved1" "$OUT.moved2" "$OUT" | tail -1)"

# --- a full disk ---------------------------------------------------------
LOG=$T_DIR/full.log
if [ ! -w /dev/full ]; then
	t_skip "no writable /dev/full to fill a disk with"
else
	http_conf "$CONF" "$PORT" "$TESTSERVER --notify --chatter 1" \
	    "workers = 2" "ready = notify" "drain_timeout = 5s" \
	    "output = /dev/full"
	start_active "$LOG" run -c "$CONF"
	t_ok "a full disk is logged once" wait_log 5 "$LOG" \
	    'output: write /dev/full: No space left on device'
	sleep 1
	ctl st3 status -c "$CONF" --json
	t_ok "status counts the dropped lines" \
	    [ "$(output_field "$T_DIR/st3.out" dropped_lines)" -gt 100 ]
	t_is "$(output_field "$T_DIR/st3.out" lines)" 0 "none was written"
	t_ok "baton still serves" eval 'http_get "http://127.0.0.1:$PORT/" >/dev/null'
	ctl reload reload -c "$CONF"
	t_is "$T_STATUS" 0 "and reloads"
	t_is "$(grep -c 'output: write' "$LOG")" 1 "the failure is logged once"
	stop_baton
	t_is "$T_STATUS" 0 "baton stops"
fi

t_done
