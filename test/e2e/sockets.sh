#!/bin/bash
# The sockets baton holds: unix paths (stale ones replaced, anything else
# refused untouched, mode applied, removed at stop), udp, IPv6, and bind
# errors that name the socket.
. "$(dirname "$0")/lib.sh"

SOCK=$T_DIR/app.sock
unix_conf() {
	write_conf "$T_DIR/unix.ini" <<CONF
[baton]
command = $TESTSERVER --notify
ready = notify
drain_timeout = 5s

[socket:app]
listen = unix://$SOCK
mode = 0660
CONF
}
unix_conf

start_baton "$T_DIR/unix.log" run -c "$T_DIR/unix.ini"
t_ok "serves on a unix socket" wait_log 10 "$T_DIR/unix.log" 'generation 1: active'
t_ok "the path is a socket" test -S "$SOCK"
t_is "$(stat -c %a "$SOCK")" 660 "mode 0660 applied"
if command -v curl >/dev/null; then
	body=$(curl -s --max-time 3 --unix-socket "$SOCK" http://x/)
	t_ok "a client connects through the path ($body)" [ -n "$body" ]
else
	t_skip "curl is not installed"
fi
# Left behind by a baton that died: a socket nobody listens on.
kill -KILL "$BATON_PID"
wait_exit "$BATON_PID" 5
sleep 0.5
t_ok "a killed baton leaves its socket path" test -S "$SOCK"
start_baton "$T_DIR/unix2.log" run -c "$T_DIR/unix.ini"
t_ok "a stale socket is replaced" wait_log 10 "$T_DIR/unix2.log" 'generation 1: active'
# A second baton (its own control socket) on the same path finds a live listener.
cp "$T_DIR/unix.ini" "$T_DIR/other.ini"
"$BATON" run -c "$T_DIR/other.ini" >"$T_DIR/live.out" 2>&1
t_is "$?" 1 "a live socket at the path: exit 1"
t_ok "the message says a server listens there" grep -q "socket app: .*a running server listens there" "$T_DIR/live.out"
t_ok "and the live socket is untouched" test -S "$SOCK"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10
t_ok "the path is removed at stop" test ! -e "$SOCK"

# owner and group of a unix socket path (needs root to give it away).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	write_conf "$T_DIR/owned.ini" <<CONF
[baton]
command = $TESTSERVER --notify
ready = notify
[socket:app]
listen = unix://$T_DIR/owned-app.sock
mode = 0600
owner = nobody
group = nogroup
CONF
	start_baton "$T_DIR/owned.log" run -c "$T_DIR/owned.ini"
	wait_log 10 "$T_DIR/owned.log" 'generation 1: active'
	t_is "$(stat -c "%U:%G %a" "$T_DIR/owned-app.sock")" "nobody:nogroup 600" "owner, group and mode of a unix socket"
	kill -TERM "$BATON_PID"
	wait_exit "$BATON_PID" 10
else
	t_skip "needs root and a user nobody"
fi

# Anything else at the path is refused and left alone.
echo precious >"$SOCK"
"$BATON" run -c "$T_DIR/unix.ini" >"$T_DIR/file.out" 2>&1
t_is "$?" 1 "a regular file at the path: exit 1"
t_ok "the message names the socket and path" grep -qF "socket app: " "$T_DIR/file.out"
t_is "$(cat "$SOCK")" precious "the file is untouched"
rm -f "$SOCK"
mkdir "$SOCK"
"$BATON" run -c "$T_DIR/unix.ini" >"$T_DIR/dir.out" 2>&1
t_is "$?" 1 "a directory at the path: exit 1"
t_ok "the directory is still there" test -d "$SOCK"
rmdir "$SOCK"
echo target >"$T_DIR/target"
ln -s "$T_DIR/target" "$SOCK"
"$BATON" run -c "$T_DIR/unix.ini" >"$T_DIR/link.out" 2>&1
t_is "$?" 1 "a symlink at the path: exit 1"
t_ok "the symlink is still there" test -L "$SOCK"
t_is "$(cat "$T_DIR/target")" target "its target is untouched"
t_ok "the message says it is not followed" grep -q "symbolic link" "$T_DIR/link.out"
rm -f "$SOCK"

# udp and tcp together: both handed over, in configuration order.
PORT=$(free_port)
UPORT=$(free_port)
write_conf "$T_DIR/udp.ini" <<CONF
[baton]
command = $TESTSERVER --notify
ready = notify
[socket:http]
listen = tcp://127.0.0.1:$PORT
[socket:dns]
listen = udp://127.0.0.1:$UPORT
CONF
start_baton "$T_DIR/udp.log" run -c "$T_DIR/udp.ini"
wait_log 10 "$T_DIR/udp.log" 'generation 1: active'
fds=$(http_get "http://127.0.0.1:$PORT/fds")
t_is "$(echo "$fds" | awk '{print $1}' | tr '\n' ' ')" "0 1 2 3 4 5 " "tcp at 3, udp at 4, channel at 5"
env=$(http_get "http://127.0.0.1:$PORT/env")
t_ok "LISTEN_FDNAMES=http:dns" sh -c "echo '$env' | grep -qx LISTEN_FDNAMES=http:dns"
t_ok "SERVER_STARTER_PORT lists both" sh -c "echo '$env' | grep -qx 'SERVER_STARTER_PORT=127.0.0.1:$PORT=3;127.0.0.1:$UPORT=4'"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10

# IPv6 loopback, where the machine has it.
if [ -e /proc/net/if_inet6 ] && grep -q '^0\{31\}1 ' /proc/net/if_inet6; then
	PORT=$(free_port)
	start_baton "$T_DIR/v6.log" run --ready notify \
	    --listen "http=tcp://[::1]:$PORT" -- "$TESTSERVER" --notify
	wait_log 10 "$T_DIR/v6.log" 'generation 1: active'
	body=$(http_get "http://[::1]:$PORT/")
	t_ok "serves on [::1] ($body)" [ -n "$body" ]
	t_ok "IPv6 only: 127.0.0.1 on that port is not taken" not_listening "$PORT"
	kill -TERM "$BATON_PID"
	wait_exit "$BATON_PID" 10
else
	t_skip "no IPv6 loopback on this machine"
	t_skip "no IPv6 loopback on this machine"
fi

# A port someone else holds: the error names the socket, the address, why.
PORT=$(free_port)
start_baton "$T_DIR/holder.log" run --ready notify \
    --listen "http=tcp://127.0.0.1:$PORT" -- "$TESTSERVER" --notify
wait_log 10 "$T_DIR/holder.log" 'generation 1: active'
"$BATON" run --listen "web=tcp://127.0.0.1:$PORT" -- "$TESTSERVER" >"$T_DIR/busy.out" 2>&1
t_is "$?" 1 "a port in use: exit 1"
t_ok "socket web: bind tcp://127.0.0.1:$PORT: Address already in use" \
    grep -qF "socket web: bind tcp://127.0.0.1:$PORT: Address already in use" "$T_DIR/busy.out"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10

t_done
