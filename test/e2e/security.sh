#!/bin/bash
# Security: the control socket is where its file says, 0600, and refuses
# other users; notify datagrams count only from a worker's own process
# group, and junk ones are dropped; junk on the control socket never blocks
# another client and a half command times out; a symlink is never followed
# to a socket; workers get exactly stdio, their sockets and their channel,
# no variable of baton's beyond the documented ones, and their command
# word for word, with no shell. See docs/security.md.
. "$(dirname "$0")/lib.sh"

NOBODY=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	NOBODY="setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
fi
SOCAT=
command -v socat >/dev/null && SOCAT=socat

# --- the control socket: where the file says, 0600, others refused --------
PORT=$(free_port)
CONF=$T_DIR/sec.ini
LOG=$T_DIR/sec.log
mkdir "$T_DIR/sub"
http_conf "$CONF" "$PORT" "$TESTSERVER --notify --quiet" "workers = 1" \
    "ready = notify" "ready_timeout = 2s" "drain_timeout = 5s" \
    "control = sub/x.sock"
start_active "$LOG" run -c "$CONF"
SOCK=$T_DIR/sub/x.sock
t_ok "control: the socket is exactly where 'control = sub/x.sock' says" test -S "$SOCK"
t_ok "control: nothing at the default place" test ! -e "$T_DIR/sec.sock"
t_is "$(stat -c '%a %u' "$SOCK")" "600 $(id -u)" "control: mode 0600, owned by baton's user"
if [ -n "$NOBODY" ] && [ -n "$SOCAT" ]; then
	# Past the mode (as if someone chmod'ed it): SO_PEERCRED still refuses.
	chmod 711 "$T_DIR" "$T_DIR/sub"
	chmod 666 "$SOCK"
	# Read only: baton answers at accept, before any command.
	timeout 10 $NOBODY socat -u "UNIX-CONNECT:$SOCK" - >"$T_DIR/peercred.out" 2>&1
	t_ok "control: another uid is refused by SO_PEERCRED ($(head -c 80 "$T_DIR/peercred.out"))" \
	    sh -c "grep -q '^error permission denied' '$T_DIR/peercred.out' && ! grep -q '\"pid\"' '$T_DIR/peercred.out'"
	chmod 600 "$SOCK"
	chmod 700 "$T_DIR" "$T_DIR/sub"
else
	t_skip "needs root, setpriv and socat: control: another uid is refused by SO_PEERCRED"
fi

# --- notify: only a worker's own process group counts ----------------------
gen1=$(gen_pids "$LOG" 1)
env1=$(http_get "http://127.0.0.1:$PORT/env")
NOTIFY=$(echo "$env1" | sed -n 's/^NOTIFY_SOCKET=@//p')
t_ok "notify: the worker's NOTIFY_SOCKET is abstract (@$NOTIFY)" [ -n "$NOTIFY" ]
# send DATA [AS...]: one datagram to baton's notify socket.
send() {
	local data=$1
	shift
	# shellcheck disable=SC2059 # DATA is a printf format: \n, \0, \377
	printf "$data" | timeout 5 "$@" socat -b 65536 -u - "ABSTRACT-SENDTO:$NOTIFY"
}
if [ -n "$SOCAT" ] && [ -n "$NOTIFY" ]; then
	# Generation 2 never says READY=1; someone else says it for it.
	sed -i "s|^command = .*|command = $TESTSERVER --notify --quiet --never-ready|" "$CONF"
	start=$(date +%s%N)
	timeout 30 "$BATON" reload -c "$CONF" >"$T_DIR/forged.out" 2>"$T_DIR/forged.err" &
	CL=$!
	wait_log 5 "$LOG" 'gen 2 worker 0 pid [0-9]+: started'
	sleep 0.2
	send 'READY=1' $NOBODY
	send 'READY=1\nSTATUS=forged'
	t_ok "notify: READY=1 from outside the worker's group is ignored, and logged" \
	    wait_log 3 "$LOG" 'notify socket: datagram from pid [0-9]+, not a worker, ignored'
	wait_exit "$CL" 10
	t_is "$T_STATUS" 1 "notify: generation 2 is not made ready by it: the reload fails"
	t_ok "notify: it rolls back at ready_timeout ($(ms_since "$start") ms)" \
	    sh -c "grep -q 'error generation 2 rolled back: worker 0 not ready after 2000 ms' '$T_DIR/forged.err'"
	ctl forged-json status -c "$CONF" --json
	t_ok "notify: the forged STATUS= is not shown" sh -c "! grep -q forged '$T_DIR/forged-json.out'"
	body=$(http_get "http://127.0.0.1:$PORT/")
	t_ok "notify: generation 1 still serves ($body)" answers_from "$body" $gen1

	# A process of the worker's own group does count (the positive case):
	# the shell's socat lives on a second after sending, so that its
	# group can still be looked up.
	sed -i "s|^command = .*|command = /bin/sh -c '(printf READY=1; sleep 1) \| socat -u - ABSTRACT-SENDTO:\${NOTIFY_SOCKET#@} \& exec $TESTSERVER --never-ready --quiet'|" "$CONF"
	ctl group reload -c "$CONF"
	t_is "$T_STATUS" 0 "notify: READY=1 from another process of the worker's group counts"
	t_diag "$(out group | tail -n 3)"

	# Junk datagrams are dropped, logged, and change nothing.
	send 'READY=1\0\377\001binary'
	t_ok "notify: a datagram with a NUL byte is dropped as malformed" \
	    wait_log 3 "$LOG" 'notify socket: malformed datagram from pid [0-9]+ dropped'
	mark=$(grep -c 'malformed datagram' "$LOG")
	send 'no equals sign here'
	t_ok "notify: a line without '=' too" \
	    wait_until 3 sh -c "[ \$(grep -c 'malformed datagram' '$LOG') -gt $mark ]"
	head -c 10240 /dev/zero | tr '\0' 'A' | timeout 5 socat -b 65536 -u - "ABSTRACT-SENDTO:$NOTIFY"
	t_ok "notify: a 10 kB datagram is dropped: longer than 4096 bytes" \
	    wait_log 3 "$LOG" 'notify socket: datagram from pid [0-9]+ longer than 4096 bytes dropped'
	# A flood: 50000 junk datagrams of 8 bytes (any local user can).
	lines0=$(wc -l <"$LOG")
	yes junk | head -c 400000 | timeout 20 $NOBODY socat -b 8 -u - "ABSTRACT-SENDTO:$NOTIFY" &
	FLOOD=$!
	sleep 0.1
	start=$(date +%s%N)
	ctl flood-json status -c "$CONF" --json
	took=$(ms_since "$start")
	t_ok "notify: status answers during a flood of junk datagrams ($took ms)" \
	    sh -c "[ $T_STATUS = 0 ] && [ $took -lt 1000 ]"
	wait "$FLOOD"
	sleep 0.3
	lines=$(( $(wc -l <"$LOG") - lines0 ))
	t_result "$([ "$lines" -lt 1000 ]; echo $?)" \
	    "notify: a flood of 50000 junk datagrams is not 50000 log lines ($lines)"
	t_ok "notify: baton still runs" kill -0 "$BATON_PID"
	ctl junk-json status -c "$CONF" --json
	t_is "$T_STATUS" 0 "notify: and answers status"
	t_ok "notify: and serves" test -n "$(http_get "http://127.0.0.1:$PORT/")"
else
	for c in "outside READY=1 ignored" "reload fails" "rolls back" "STATUS not shown" \
	    "generation 1 serves" "group READY=1 counts" "NUL dropped" "no '=' dropped" \
	    "10 kB dropped" "status during a flood" "flood not logged line by line" \
	    "baton runs" "status" "serves"; do
		t_skip "needs socat: notify: $c"
	done
fi

# --- junk on the channel from a worker is dropped, and logged ------------
# The worker writes a binary packet and an 8 kB one on BATON_FD, then
# becomes the server.
sed -i "s|^command = .*|command = /bin/sh -c 'printf \"\\\\000\\\\377\" >\&\$BATON_FD; head -c 8192 /dev/zero >\&\$BATON_FD; exec $TESTSERVER --notify --quiet'|" "$CONF"
ctl chan reload -c "$CONF"
t_is "$T_STATUS" 0 "channel: a worker that writes junk on its channel still starts"
t_ok "channel: a binary message is dropped as malformed" log_has "$LOG" 'channel: malformed message dropped'
t_ok "channel: a message over 4096 bytes is dropped" log_has "$LOG" 'channel: message longer than 4096 bytes dropped'

# --- junk on the control socket: refused, never blocking ------------------
if [ -n "$SOCAT" ]; then
	# client NAME: standard input to the control socket, the answer in NAME.out.
	client() {
		timeout 20 socat -t 0.5 - "UNIX-CONNECT:$SOCK" >"$T_DIR/$1.out" 2>"$T_DIR/$1.err"
	}
	start=$(date +%s%N)
	{ printf rel; sleep 12; } | { client half; ms_since "$start" >"$T_DIR/half.ms"; } &
	HALF=$!
	J=
	for i in $(seq 1 15); do
		{ printf 'sta'; sleep 11; } | client slow$i &
		J="$J $!"
		sleep 11 | client idle$i &
		J="$J $!"
	done
	for i in $(seq 1 10); do
		printf '\001\002\377\376\000\033[31m%d\n' "$i" | client bin$i &
		J="$J $!"
		{ head -c 100000 /dev/zero | tr '\0' x; echo; } | client long$i &
		J="$J $!"
	done
	sleep 1
	start2=$(date +%s%N)
	ctl busy status -c "$CONF" --json
	took=$(ms_since "$start2")
	t_is "$T_STATUS" 0 "control: status answers while 50 junk clients are connected"
	t_ok "control: at once ($took ms)" [ "$took" -lt 2000 ]
	t_ok "control: as baton" json_has "$T_DIR/busy.out" pid "${BATON_PID}[^0-9]"
	ok=0
	for i in $(seq 1 10); do
		grep -q '^error ' "$T_DIR/bin$i.out" && ok=$((ok + 1))
	done
	t_is "$ok" 10 "control: each binary command gets its error line"
	# A client still writing its 100 kB may see the close (EPIPE) before
	# the error line: count baton's refusals instead.
	t_is "$(grep -c 'control: a line longer than 256 bytes refused' "$LOG")" 10 \
	    "control: each 100 kB line is refused once it passes 256 bytes"
	wait_exit "$HALF" 20
	t_ok "control: a half command is closed after 10 s ($(cat "$T_DIR/half.ms" 2>/dev/null) ms)" \
	    sh -c "ms=\$(cat '$T_DIR/half.ms'); [ \"\$ms\" -ge 9500 ] && [ \"\$ms\" -lt 13000 ]"
	t_ok "control: and logged" log_has "$LOG" 'control: a client sent no command in 10 s; closed'
	wait $J
	t_ok "control: baton still runs" kill -0 "$BATON_PID"
	ctl after status -c "$CONF" --json
	t_is "$T_STATUS" 0 "control: and answers afterwards"
else
	for c in "status answers" "at once" "as baton" "error lines" "half closed" "logged" "runs" "answers"; do
		t_skip "needs socat: control junk: $c"
	done
fi
stop_baton

# --- a symlink to a stale socket is never followed -------------------------
# A stale socket baton would replace, behind a symlink: refused, untouched.
start_active "$T_DIR/stale.log" run --listen "app=unix://$T_DIR/real.sock" -- "$TESTSERVER" --quiet
stale_pids=$(gen_pids "$T_DIR/stale.log" 1)
kill -KILL "$BATON_PID"
wait_exit "$BATON_PID" 5
wait_until 5 sh -c "[ \$(ps -o pid= -p '$stale_pids' | wc -l) = 0 ]"
ln -s real.sock "$T_DIR/link.sock"
timeout 10 "$BATON" run --listen "app=unix://$T_DIR/link.sock" -- "$TESTSERVER" >"$T_DIR/link.out" 2>&1
t_is "$?" 1 "symlink: a symlink to a stale socket: exit 1"
t_ok "symlink: it says why ($(grep -o 'socket app: .*' "$T_DIR/link.out" | head -c 100))" grep -q 'symbolic link' "$T_DIR/link.out"
t_ok "symlink: the link is still there" test -L "$T_DIR/link.sock"
t_ok "symlink: the stale socket behind it is untouched" test -S "$T_DIR/real.sock"
# The same for the control socket.
ln -s real.sock "$T_DIR/ctl-link.sock"
printf '[baton]\ncommand = %s\ncontrol = ctl-link.sock\n' "$TESTSERVER" >"$T_DIR/ctl.ini"
timeout 10 "$BATON" run -c "$T_DIR/ctl.ini" --listen "http=tcp://127.0.0.1:$(free_port)" >"$T_DIR/ctl-link.out" 2>&1
t_is "$?" 1 "symlink: a control path that is a symlink to a stale socket: exit 1"
t_ok "symlink: the control link is still there, its target too" \
    sh -c "test -L '$T_DIR/ctl-link.sock' && test -S '$T_DIR/real.sock'"

# A file put at a unix socket's path while baton runs is not baton's to
# remove at stop (the control socket is checked by inode; sockets are not).
start_active "$T_DIR/swap.log" run --listen "app=unix://$T_DIR/swap.sock" -- "$TESTSERVER" --quiet
rm -f "$T_DIR/swap.sock"
echo precious >"$T_DIR/swap.sock"
stop_baton
t_result "$([ "$(cat "$T_DIR/swap.sock" 2>/dev/null)" = precious ]; echo $?)" \
    "unlink: a regular file that replaced a unix socket's path survives baton's stop"

# --- what a worker gets: descriptors ---------------------------------------
PORT=$(free_port)
LOG=$T_DIR/fds.log
echo secret >"$T_DIR/secret"
# Descriptors baton inherits, not close-on-exec, must not reach a worker.
exec 7<"$T_DIR/secret" 8>>"$T_DIR/leak"
start_baton "$LOG" run --ready notify --listen "http=tcp://127.0.0.1:$PORT" \
    --listen "admin=unix://$T_DIR/admin.sock" -- "$TESTSERVER" --notify --quiet
exec 7<&- 8>&-
wait_log 10 "$LOG" 'generation 1: active'
fds=$(http_get "http://127.0.0.1:$PORT/fds")
t_diag "$fds"
t_is "$(echo "$fds" | awk '{print $1}' | tr '\n' ' ')" "0 1 2 3 4 5 " \
    "fds: exactly stdio, two sockets and the channel"
t_ok "fds: 3, 4 and 5 are sockets" \
    sh -c "[ \$(echo '$fds' | grep -cE '^[345] socket:') = 3 ]"
t_ok "fds: nothing baton inherited" sh -c "! echo '$fds' | grep -qE 'secret|leak'"
stop_baton

# --- what a worker gets: the environment ----------------------------------
PORT=$(free_port)
LOG=$T_DIR/env.log
http_conf "$T_DIR/env.ini" "$PORT" "$TESTSERVER --notify --quiet" "ready = notify"
cat >>"$T_DIR/env.ini" <<CONF

[socket:admin]
listen = unix://$T_DIR/env-admin.sock

[env]
APP_MODE = test
CONF
# baton's environment: ordinary variables, and every protocol's own.
GIVEN="PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/given LANG=C FOO=bar"
PROTO="NOTIFY_SOCKET=@bogus-notify LISTEN_FDS=1 LISTEN_PID=1 LISTEN_FDNAMES=bogus
LISTEN_PIDFDID=42 EINHORN_FD_COUNT=7 EINHORN_FD_0=99 SERVER_STARTER_PORT=bogus=9
SERVER_STARTER_GENERATION=99 BATON_FD=99 BATON_GENERATION=99 BATON_WORKER=99
BATON_PID=1 BATON_SECRET=leak NGINX=9;"
env -i $GIVEN $PROTO "$BATON" run -c "$T_DIR/env.ini" >"$LOG" 2>&1 &
BATON_PID=$!
T_PIDS="$T_PIDS $BATON_PID"
wait_log 10 "$LOG" 'generation 1: active'
wenv=$(http_get "http://127.0.0.1:$PORT/env")
wpid=$(gen_pids "$LOG" 1)
keys=$(echo "$wenv" | sed -n 's/=.*//p' | sort | tr '\n' ' ')
want=$(printf '%s\n' PATH HOME LANG FOO APP_MODE LISTEN_FDS LISTEN_PID LISTEN_FDNAMES \
    EINHORN_FD_COUNT EINHORN_FD_0 EINHORN_FD_1 SERVER_STARTER_PORT \
    SERVER_STARTER_GENERATION NGINX NOTIFY_SOCKET BATON_FD BATON_GENERATION \
    BATON_WORKER BATON_PID | sort | tr '\n' ' ')
t_is "$keys" "$want" "env: baton's own variables, [env], and the documented ones, nothing else"
for v in $GIVEN; do
	echo "$wenv" | grep -qxF "$v" || { t_diag "missing or changed: $v"; bad=1; }
done
t_ok "env: baton's ordinary variables pass unchanged" [ -z "${bad:-}" ]
has() {	# has REGEX...: the worker's environment has each line
	local r
	for r in "$@"; do
		echo "$wenv" | grep -qxE -- "$r" || return 1
	done
}
t_ok "env: NOTIFY_SOCKET is baton's, not the one baton was given" \
    sh -c "echo '$wenv' | grep -qxE 'NOTIFY_SOCKET=@.+' && ! echo '$wenv' | grep -qx 'NOTIFY_SOCKET=@bogus-notify'"
t_ok "env: LISTEN_PID is the worker's, LISTEN_FDS=2" has "LISTEN_PID=$wpid" 'LISTEN_FDS=2'
t_ok "env: LISTEN_FDNAMES=http:admin" has 'LISTEN_FDNAMES=http:admin'
t_ok "env: EINHORN_FD_0=3, SERVER_STARTER_GENERATION=1" has 'EINHORN_FD_0=3' 'SERVER_STARTER_GENERATION=1'
t_ok "env: NGINX=3;4; (the one baton was given is gone)" has 'NGINX=3;4;'
t_ok "env: BATON_PID is baton, BATON_FD the channel" has "BATON_PID=$BATON_PID" 'BATON_FD=5'
t_ok "env: no BATON_SECRET, no LISTEN_PIDFDID" sh -c "! echo '$wenv' | grep -qE '^(BATON_SECRET|LISTEN_PIDFDID)='"
t_ok "env: APP_MODE=test from [env]" has 'APP_MODE=test'
stop_baton

# A worker dropped to `user` gets that user's HOME, USER, LOGNAME and SHELL
# from passwd, not root's: as su and systemd's User= do.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	PORT=$(free_port)
	LOG=$T_DIR/home.log
	http_conf "$T_DIR/home.ini" "$PORT" "$TESTSERVER --notify --quiet" \
	    "ready = notify" "user = nobody" "directory = /"
	IFS=: read -r _ _ _ _ _ pw_home pw_shell <<<"$(getent passwd nobody)"
	env -i PATH=/usr/bin:/bin HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
	    "$BATON" run -c "$T_DIR/home.ini" >"$LOG" 2>&1 &
	BATON_PID=$!
	T_PIDS="$T_PIDS $BATON_PID"
	wait_log 10 "$LOG" 'generation 1: active' || t_diag "$(cat "$LOG")"
	wenv=$(http_get "http://127.0.0.1:$PORT/env")
	t_ok "user = nobody: HOME=$pw_home from passwd, not /root" has "HOME=$pw_home"
	t_ok "user = nobody: USER and LOGNAME are nobody" has 'USER=nobody' 'LOGNAME=nobody'
	t_ok "user = nobody: SHELL=$pw_shell from passwd" has "SHELL=$pw_shell"
	stop_baton
else
	for c in HOME "USER and LOGNAME" SHELL; do
		t_skip "needs root and a user nobody: user = nobody: $c"
	done
fi

# --- no shell: the command reaches the worker word for word ------------------
# With a shell, ';' would end the command, $HOME expand, '|' pipe, '>' make
# a file, '&&' run touch, $(...) and `...` run id.
LOG=$T_DIR/echo.log
write_conf "$T_DIR/echo.ini" <<CONF
[baton]
command = /bin/echo 'a;b' \$HOME '|'

[socket:http]
listen = tcp://127.0.0.1:$(free_port)
CONF
timeout 10 "$BATON" run -c "$T_DIR/echo.ini" >"$LOG" 2>&1
t_ok "no shell: /bin/echo 'a;b' \$HOME '|' prints exactly 'a;b \$HOME |'" grep -qxF 'a;b $HOME |' "$LOG"
LOG=$T_DIR/printf.log
write_conf "$T_DIR/printf.ini" <<CONF
[baton]
command = /usr/bin/printf '[%s]\n' a;b \$HOME | "\$(id)" \`id\` > $T_DIR/pwned && touch $T_DIR/pwned2 \${PATH}

[socket:http]
listen = tcp://127.0.0.1:$(free_port)
CONF
timeout 10 "$BATON" run -c "$T_DIR/printf.ini" >"$LOG" 2>&1
got=$(grep -E '^\[' "$LOG" | tr '\n' ' ')
t_is "$got" "[a;b] [\$HOME] [|] [\$(id)] [\`id\`] [>] [$T_DIR/pwned] [&&] [touch] [$T_DIR/pwned2] [\${PATH}] " \
    "no shell: every word arrives as one literal argument"
t_ok "no shell: no redirection, no second command" sh -c "test ! -e '$T_DIR/pwned' && test ! -e '$T_DIR/pwned2'"

t_done
