#!/bin/bash
# baton serves through real workers on a held loopback socket; each worker
# gets exactly stdio, its sockets and its channel, and sees every protocol.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
http_conf "$T_DIR/baton.ini" "$PORT" "$TESTSERVER --notify" "workers = 2" \
    "ready = notify" "drain_timeout = 5s"

start_baton "$T_DIR/baton.log" run -c "$T_DIR/baton.ini"
t_ok "generation 1 becomes active" wait_log 10 "$T_DIR/baton.log" 'generation 1: active'
t_ok "the port listens" listening "$PORT"

body=$(http_get "http://127.0.0.1:$PORT/")
pids=$(worker_pids "$T_DIR/baton.log" | sort | tr '\n' ' ')
t_is "$(echo "$pids" | wc -w)" 2 "two workers started"
answer_pid=${body#ok }
case " $pids " in
*" $answer_pid "*) t_result 0 "a worker answers: $body" ;;
*) t_result 1 "a worker answers: got '$body', workers '$pids'" ;;
esac

# Descriptors: 0 1 2, the socket at 3, the channel at 4, nothing else.
fds=$(http_get "http://127.0.0.1:$PORT/fds")
t_diag "$fds"
t_is "$(echo "$fds" | awk '{print $1}' | tr '\n' ' ')" "0 1 2 3 4 " \
    "a worker has exactly fds 0 1 2 3 4"
t_ok "fd 3 is a socket" sh -c "echo '$fds' | grep -qE '^3 socket:'"
t_ok "fd 4 is a socket" sh -c "echo '$fds' | grep -qE '^4 socket:'"

env=$(http_get "http://127.0.0.1:$PORT/env")
has_env() { echo "$env" | grep -qxE -- "$1"; }
t_ok "LISTEN_FDS=1" has_env 'LISTEN_FDS=1'
t_ok "LISTEN_FDNAMES=http" has_env 'LISTEN_FDNAMES=http'
lpid=$(echo "$env" | sed -n 's/^LISTEN_PID=//p')
case " $pids " in
*" $lpid "*) t_result 0 "LISTEN_PID is the worker's own pid ($lpid)" ;;
*) t_result 1 "LISTEN_PID is the worker's own pid: got '$lpid', workers '$pids'" ;;
esac
t_ok "EINHORN_FD_COUNT=1 EINHORN_FD_0=3" sh -c "echo '$env' | grep -qx EINHORN_FD_COUNT=1 && echo '$env' | grep -qx EINHORN_FD_0=3"
t_ok "SERVER_STARTER_PORT" has_env "SERVER_STARTER_PORT=127.0.0.1:$PORT=3"
t_ok "SERVER_STARTER_GENERATION=1" has_env 'SERVER_STARTER_GENERATION=1'
t_ok "NOTIFY_SOCKET is abstract" has_env 'NOTIFY_SOCKET=@.+'
t_ok "BATON_FD=4" has_env 'BATON_FD=4'
t_ok "BATON_GENERATION=1" has_env 'BATON_GENERATION=1'
t_ok "BATON_WORKER is a slot" has_env 'BATON_WORKER=[01]'
t_ok "BATON_PID is baton" has_env "BATON_PID=$BATON_PID"
t_ok "no LISTEN_PIDFDID" sh -c "! echo '$env' | grep -q '^LISTEN_PIDFDID='"

kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10
t_is "$T_STATUS" 0 "SIGTERM: baton exits 0"

# Each protocol on its own is enough for a server that reads only it.
for proto in systemd einhorn starter baton; do
	PORT=$(free_port)
	start_baton "$T_DIR/$proto.log" run --ready notify \
	    --listen "http=tcp://127.0.0.1:$PORT" -- \
	    "$TESTSERVER" --notify --protocol "$proto"
	if wait_log 10 "$T_DIR/$proto.log" 'generation 1: active'; then
		body=$(http_get "http://127.0.0.1:$PORT/")
		t_ok "a server reading only $proto serves ($body)" [ -n "$body" ]
	else
		t_result 1 "a server reading only $proto serves"
		t_diag "$(cat "$T_DIR/$proto.log")"
	fi
	kill -TERM "$BATON_PID"
	wait_exit "$BATON_PID" 10
done

# READY=1 written on the channel counts as much as the notify socket.
PORT=$(free_port)
start_baton "$T_DIR/channel.log" run --ready notify \
    --listen "http=tcp://127.0.0.1:$PORT" -- "$TESTSERVER" --notify-channel
t_ok "READY=1 on the channel makes the worker ready" \
    wait_log 10 "$T_DIR/channel.log" 'generation 1: active'
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10

# Placeholders expand per worker; the command runs without a shell of
# baton's (the shell here is the command itself).
PORT=$(free_port)
start_baton "$T_DIR/expand.log" run --workers 2 --ready delay \
    --listen "http=tcp://127.0.0.1:$PORT" --listen "admin=tcp://127.0.0.1:$(free_port)" -- \
    /bin/sh -c 'echo "$0 $1 $2" > "$3/expand.$2"; exec sleep 30' \
    '{fd:admin}' '{generation}' '{worker}' "$T_DIR"
wait_until 10 test -s "$T_DIR/expand.1"
t_is "$(cat "$T_DIR/expand.0" 2>/dev/null)" "4 1 0" "{fd:admin} {generation} {worker} in worker 0"
t_is "$(cat "$T_DIR/expand.1" 2>/dev/null)" "4 1 1" "{fd:admin} {generation} {worker} in worker 1"
kill -TERM "$BATON_PID"
wait_exit "$BATON_PID" 10

# directory, user, group and [env] reach the worker.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -p "$T_DIR/app"
	chmod 755 "$T_DIR" "$T_DIR/app"
	PORT=$(free_port)
	write_conf "$T_DIR/user.ini" <<CONF
[baton]
command = $TESTSERVER --notify
ready = notify
directory = app
user = nobody
group = nogroup

[socket:http]
listen = tcp://127.0.0.1:$PORT

[env]
GREETING = hello world
CONF
	start_baton "$T_DIR/user.log" run -c "$T_DIR/user.ini"
	wait_log 10 "$T_DIR/user.log" 'generation 1: active'
	wpid=$(http_get "http://127.0.0.1:$PORT/")
	wpid=${wpid#ok }
	t_is "$(awk '/^Uid:/ {print $2}' /proc/$wpid/status)" "$(id -u nobody)" "user = nobody: the worker's uid"
	t_is "$(awk '/^Gid:/ {print $2}' /proc/$wpid/status)" "$(getent group nogroup | cut -d: -f3)" "group = nogroup: the worker's gid"
	t_is "$(readlink /proc/$wpid/cwd)" "$T_DIR/app" "directory = app, relative to the file"
	env=$(http_get "http://127.0.0.1:$PORT/env")
	t_ok "[env] GREETING reaches the worker" sh -c "echo '$env' | grep -qx 'GREETING=hello world'"
	t_is "$(awk '/^Uid:/ {print $2}' /proc/$BATON_PID/status)" 0 "baton itself stays root"
	kill -TERM "$BATON_PID"
	wait_exit "$BATON_PID" 10
else
	for i in 1 2 3 4 5; do t_skip "needs root and a user nobody"; done
fi

t_done
