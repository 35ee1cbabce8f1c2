#!/bin/bash
# Bad configurations exit 78 naming FILE:LINE and start nothing; bad
# command lines exit 64; `baton check` prints what it resolved.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
MARK=$T_DIR/started
# Every bad file would start this if baton went ahead.
CMD="/bin/sh -c 'touch $MARK; exec sleep 30'"

bad() {	# bad NAME EXPECTED-MESSAGE, configuration on stdin
	write_conf "$T_DIR/$1.ini"
	"$BATON" run -c "$T_DIR/$1.ini" >"$T_DIR/$1.out" 2>&1 &
	local pid=$!
	wait_exit "$pid" 10
	t_is "$T_STATUS" 78 "$1: exit 78"
	if grep -qF -- "$T_DIR/$1.ini:$2" "$T_DIR/$1.out"; then
		t_result 0 "$1: says $2"
	else
		t_result 1 "$1: says $2"
		t_diag "$(cat "$T_DIR/$1.out")"
	fi
}

bad unknown-key "3: unknown key 'wrokers' in [baton]" <<CONF
[baton]
command = $CMD
wrokers = 2
[socket:http]
listen = tcp://127.0.0.1:$PORT
CONF

bad unknown-section "4: unknown section [sockets]" <<CONF
[baton]
command = $CMD

[sockets]
listen = tcp://127.0.0.1:$PORT
CONF

bad bad-workers "3: workers: 'many'" <<CONF
[baton]
command = $CMD
workers = many
CONF

bad bad-duration "2: drain_timeout: '5 parsecs'" <<CONF
[baton]
drain_timeout = 5 parsecs
command = $CMD
CONF

bad bad-signal "2: drain_signal: 'SIGFOO'" <<CONF
[baton]
drain_signal = SIGFOO
command = $CMD
CONF

bad duplicate-socket "6: duplicate socket 'http'" <<CONF
[baton]
command = $CMD
[socket:http]
listen = tcp://127.0.0.1:$PORT

[socket:http]
listen = tcp://127.0.0.1:$((PORT + 1))
CONF

bad same-address "7: socket 'admin' listens on tcp://127.0.0.1:$PORT like socket 'http'" <<CONF
[baton]
command = $CMD
[socket:http]
listen = tcp://127.0.0.1:$PORT

[socket:admin]
listen = tcp://127.0.0.1:$PORT
CONF

bad no-command "1: no command" <<CONF
[baton]
workers = 2
[socket:http]
listen = tcp://127.0.0.1:$PORT
CONF

long=$(printf 'x%.0s' $(seq 1 200))
bad long-line "2: line longer than 199 characters" <<CONF
[baton]
command = $CMD $long
CONF

bad bad-listen "5: socket 'http'" <<CONF
[baton]
command = $CMD

[socket:http]
listen = http://127.0.0.1:$PORT
CONF

bad stop-signal "3: drain_signal SIGSTOP cannot end a process" <<CONF
[baton]
command = $CMD
drain_signal = STOP
CONF

bad empty-command "2: command is empty" <<CONF
[baton]
command = ""
CONF

"$BATON" check -c "$T_DIR/empty-command.ini" >"$T_DIR/check-empty.out" 2>&1
t_is "$?" 78 "check: command = \"\" exits 78"
"$BATON" run --listen "http=tcp://127.0.0.1:$PORT" -- '' >"$T_DIR/empty-argv.out" 2>&1
t_is "$?" 78 "run -- '': exit 78"
t_ok "and says the command is empty" grep -qF -- "command after -- is empty" "$T_DIR/empty-argv.out"
"$BATON" run --drain-signal SIGCONT --listen "http=tcp://127.0.0.1:$PORT" -- $CMD >"$T_DIR/cont.out" 2>&1
t_is "$?" 78 "run --drain-signal SIGCONT: exit 78"
t_ok "and names the option" grep -qF -- "--drain-signal SIGCONT cannot end a process" "$T_DIR/cont.out"

t_ok "nothing was started by any bad file" [ ! -e "$MARK" ]
t_ok "no port was bound" not_listening "$PORT"

"$BATON" run -c "$T_DIR/missing.ini" >"$T_DIR/missing.out" 2>&1
t_is "$?" 78 "a missing file: exit 78"
t_ok "and the message names it" grep -q "$T_DIR/missing.ini: No such file or directory" "$T_DIR/missing.out"

"$BATON" run --workers zero -- /bin/true >"$T_DIR/usage.out" 2>&1
t_is "$?" 64 "a bad option: exit 64"
t_ok "and the message names it" grep -q -- "--workers zero" "$T_DIR/usage.out"
"$BATON" frobnicate >/dev/null 2>&1
t_is "$?" 64 "an unknown command: exit 64"
"$BATON" --version | grep -qE '^baton [0-9]'
t_result $? "--version prints the version"

# check: resolved, with defaults, loads back.
write_conf "$T_DIR/good.ini" <<CONF
[baton]
command = $TESTSERVER --notify
  --work-ms 300
workers = 2 ; two of them
ready = notify
drain_signal = INT

[socket:http]
listen = tcp://127.0.0.1:$PORT

[env]
GREETING = hello;world
CONF
"$BATON" check -c "$T_DIR/good.ini" >"$T_DIR/check.out" 2>&1
t_is "$?" 0 "check: a good file exits 0"
t_ok "check: continuation joined" grep -qF -- "--notify --work-ms 300" "$T_DIR/check.out"
t_ok "check: inline comment dropped" grep -qE '^workers = 2$' "$T_DIR/check.out"
t_ok "check: signal resolved" grep -qE '^drain_signal = SIGINT$' "$T_DIR/check.out"
t_ok "check: defaults shown" grep -qE '^drain_timeout = ' "$T_DIR/check.out"
t_ok "check: ';' without a space before it is kept" grep -qE '^GREETING = hello;world$' "$T_DIR/check.out"
t_ok "check: the directory is the file's folder" grep -qE "^directory = $T_DIR\$" "$T_DIR/check.out"
cp "$T_DIR/check.out" "$T_DIR/again.ini"
"$BATON" check -c "$T_DIR/again.ini" >"$T_DIR/check2.out" 2>&1
t_ok "check: its output loads back the same" diff -u "$T_DIR/check.out" "$T_DIR/check2.out"
"$BATON" check -c "$T_DIR/no-command.ini" >/dev/null 2>&1
t_is "$?" 78 "check: a bad file exits 78"

t_done
