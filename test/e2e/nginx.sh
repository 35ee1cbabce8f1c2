#!/bin/bash
# nginx, unmodified: it takes inherited listening sockets from the NGINX
# variable ("3;4;", as its own binary upgrade passes them), which every
# worker gets. It serves on baton's socket and reloads under load with
# nothing lost, drained by SIGQUIT (its graceful shutdown) sent to its
# master process.
. "$(dirname "$0")/lib.sh"

NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX_BIN" ]; then
	t_skip "nginx is not installed (Debian package nginx-light)"
	t_done
	exit
fi

PORT=$(free_port)
LOG=$T_DIR/baton.log
mkdir -p "$T_DIR/nginx"
cat >"$T_DIR/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
error_log $T_DIR/nginx/error.log notice;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $T_DIR/nginx/body;
	proxy_temp_path $T_DIR/nginx/proxy;
	fastcgi_temp_path $T_DIR/nginx/fastcgi;
	uwsgi_temp_path $T_DIR/nginx/uwsgi;
	scgi_temp_path $T_DIR/nginx/scgi;
	server {
		listen 127.0.0.1:$PORT;
		location / { return 200 "nginx-ok\n"; }
	}
}
CONF
# Each generation's master writes a pid file of its own.
write_conf "$T_DIR/baton.ini" <<CONF
[baton]
command = $NGINX_BIN -p $T_DIR/nginx -c $T_DIR/nginx/nginx.conf
	-g 'pid $T_DIR/nginx/nginx-{generation}.pid;'
ready = delay
ready_delay = 500ms
drain_signal = SIGQUIT
drain_timeout = 10s

[socket:http]
listen = tcp://127.0.0.1:$PORT
nonblocking = yes
CONF

start_baton "$LOG" run -c "$T_DIR/baton.ini"
t_ok "generation 1 is active" wait_log 10 "$LOG" 'generation 1: active'
t_ok "nginx takes the socket baton passed in NGINX" \
    log_has "$LOG" 'using inherited sockets from "3;"'
t_is "$(http_get "http://127.0.0.1:$PORT/")" nginx-ok "it serves"
# nginx takes inherited sockets as an older nginx left them: non-blocking
# (nonblocking = yes), or a worker blocks in accept() with its keep-alive
# clients waiting.
t_ok "the held socket is non-blocking in nginx's workers" sh -c \
    "grep -q '^flags:.*[4-7][0-9][0-9][0-9]\$' /proc/\$(pgrep -f '[n]ginx: worker' | head -1)/fdinfo/3"
g=1
for mode in close keep-alive; do
	k=
	[ "$mode" = keep-alive ] && k=-k
	load_start "load-$mode" "http://127.0.0.1:$PORT/" -c 16 $k -d 60s
	sleep 0.5
	reload_each $((g + 1)) $((g + 5)) 0.3 "$LOG" 20
	g=$((g + 5))
	t_is "$RELOADED" 5 "$mode: 5 reloads under load"
	t_ok "$mode: the old masters drain on SIGQUIT and exit" \
	    wait_log 20 "$LOG" "generation $((g - 1)): exited after draining"
	load_stop "load-$mode"
	t_is "$(field failed "$T_DIR/load-$mode.out")" 0 \
	    "$mode: no request failed ($(field requests "$T_DIR/load-$mode.out") requests)"
done
t_ok "no worker was killed at the deadline" sh -c "! grep -q 'drain deadline' '$LOG'"
stop_baton
t_is "$T_STATUS" 0 "baton stops"
t_ok "no nginx is left" wait_until 5 sh -c "! pgrep -f '[n]ginx -p $T_DIR/nginx' >/dev/null"
t_done
