#!/bin/bash
# The seed's Express app, unmodified: it binds port 3000 (here $PORT)
# itself, the interposer hands it baton's socket, and 20 reloads under load
# lose no request and no work done after the answers.
. "$(dirname "$0")/lib.sh"

APP=$top_srcdir/examples/express
if ! command -v node >/dev/null; then
	t_skip "node is not installed"
	t_done
	exit 0
fi
if [ ! -d "$APP/node_modules/express" ]; then
	t_skip "express is not installed (run: cd examples/express && npm ci)"
	t_done
	exit 0
fi
: "${BATON_PRELOAD_LIB:=$top_builddir/.libs/libbaton-preload.so}"
export BATON_PRELOAD_LIB

PORT=$(free_port)
WORK=$T_DIR/work.log
write_conf "$T_DIR/express.ini" <<CONF
[baton]
command = node $APP/app.js
workers = 2
ready = listen
preload = yes
drain_signal = SIGINT
drain_timeout = 20s

[socket:http]
listen = tcp://127.0.0.1:$PORT

[env]
PORT = $PORT
WORK_LOG = $WORK
WORK_MS = 300
CLOSE_WAIT_MS = 1000
FORCE_MS = 8000
CONF

start_baton "$T_DIR/baton.log" run -c "$T_DIR/express.ini"
t_ok "the app listens through the interposer: ready = listen" \
    wait_log 20 "$T_DIR/baton.log" 'generation 1: active'
body=$(http_get "http://127.0.0.1:$PORT/")
t_ok "Express answers ($body)" [ "${body#ok }" != "$body" ]

load_start load "http://127.0.0.1:$PORT/" -c 32 -d 120s -p e -o "$T_DIR/ids"
sleep 1
ok=0
for g in $(seq 2 21); do
	"$BATON" reload -c "$T_DIR/express.ini" >"$T_DIR/reload.$g" 2>&1 && ok=$((ok + 1))
done
t_is "$ok" 20 "20 reloads with baton reload, each ok"
sleep 1
load_stop load
t_is "$(field failed "$T_DIR/load.out")" 0 "no request failed across 20 reloads"
load_ran load 500

"$BATON" stop -c "$T_DIR/express.ini" >/dev/null 2>&1
wait_exit "$BATON_PID" 30
t_is "$T_STATUS" 0 "baton stops"
sort -u "$T_DIR/ids" >"$T_DIR/ids.sorted"
awk '{print $1}' "$WORK" | sort -u >"$T_DIR/done.sorted"
t_is "$(comm -23 "$T_DIR/ids.sorted" "$T_DIR/done.sorted" | wc -l)" 0 \
    "no work lost: every answered id was worked on"
t_is "$(grep -c 'unfinished work was lost' "$T_DIR/baton.log")" 0 "no worker killed at the deadline"
t_is "$(grep -c 'exited with code 1\|Forcing server close' "$T_DIR/baton.log")" 0 "no app forced its own exit"

t_done
