#!/bin/bash
# The bind() trap: with preload = yes, programs whose bind() never goes
# through libc (Go, statically linked ones) get the held socket too. A
# seccomp filter stops their bind() and listen(); baton installs its socket
# at their descriptor. The test server's --raw-bind makes the system calls
# itself, as they do; busybox's httpd (static) and caddy (Go) are tried
# where they are installed.
. "$(dirname "$0")/lib.sh"

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

LOG=$T_DIR/baton.log

# conf NAME PORT COMMAND [WORKERS [PRELOAD]]
conf() {
	write_conf "$T_DIR/$1.ini" <<CONF
[baton]
command = $3
workers = ${4:-2}
preload = ${5:-yes}
ready = listen
ready_timeout = 10s
drain_timeout = 5s

[env]
HOME = $T_DIR
XDG_DATA_HOME = $T_DIR/xdg
XDG_CONFIG_HOME = $T_DIR/xdg

[socket:http]
listen = tcp://127.0.0.1:$2
CONF
}

# reloads N LOG: N reloads, each waited for, under whatever load runs.
reloads() {
	local first=$(($(grep -c 'generation [0-9]*: active' "$2") + 1))
	reload_each "$first" $((first + $1 - 1)) 0.3 "$2" 20
	[ "$RELOADED" = "$1" ]
}

# --- the test server, binding with raw system calls ----------------------
PORT=$(free_port)
conf raw "$PORT" "$TESTSERVER --bind 127.0.0.1:$PORT --raw-bind --quiet"
start_baton "$LOG" run -c "$T_DIR/raw.ini"
# Whichever comes first: a kernel that refuses the trap is logged before
# a generation could be active.
if ! wait_log 10 "$LOG" 'no bind\(\) trap|generation 1: active' ||
    log_has "$LOG" 'no bind\(\) trap'; then
	why=$(grep -oE 'no bind\(\) trap[^)]*\)' "$LOG" | head -1)
	t_skip "the kernel refuses the seccomp trap: ${why:-see $LOG}"
	sed 's/^/# /' "$LOG"
	t_done
	exit
fi
t_ok "raw: each worker's bind() is given the held socket" \
    [ "$(grep -c 'given the held socket (seccomp)' "$LOG")" = 2 ]
t_ok "raw: it serves" sh -c "http_get() { '$LOADGEN' -u \"\$1\" -n 1 -c 1 -t 3000 -b -q; }; http_get http://127.0.0.1:$PORT/ | grep -q '^ok '"
load_start raw "http://127.0.0.1:$PORT/" -c 8 -d 30s
sleep 0.5
t_ok "raw: 5 reloads under load" reloads 5 "$LOG"
load_stop raw
t_is "$(field failed "$T_DIR/raw.out")" 0 "raw: no request failed ($(field requests "$T_DIR/raw.out") requests)"
t_is "$(grep -c 'given the held socket (seccomp)' "$LOG")" 12 "raw: every new worker got the held socket"
stop_baton
t_is "$T_STATUS" 0 "raw: baton stops"

# Without preload, nothing stops the raw bind(): the port is taken.
PORT=$(free_port)
conf nopre "$PORT" "$TESTSERVER --bind 127.0.0.1:$PORT --raw-bind --quiet" 1 no
sed -i 's/^ready = listen/ready = delay/' "$T_DIR/nopre.ini"
start_baton "$T_DIR/nopre.log" run -c "$T_DIR/nopre.ini"
wait_exit "$BATON_PID" 20
t_is "$T_STATUS" 1 "no preload: the raw bind() finds the port taken, generation 1 fails"
t_ok "no preload: ...with Address already in use" log_has "$T_DIR/nopre.log" 'Address already in use'

# --- caddy (Go) -----------------------------------------------------------
if command -v caddy >/dev/null; then
	PORT=$(free_port)
	LOG=$T_DIR/caddy.log
	conf caddy "$PORT" "caddy respond --listen 127.0.0.1:$PORT caddy-ok" 1
	start_baton "$LOG" run -c "$T_DIR/caddy.ini"
	t_ok "caddy: generation 1 is active" wait_log 20 "$LOG" 'generation 1: active'
	t_ok "caddy: its bind() is given the held socket" log_has "$LOG" 'given the held socket \(seccomp\)'
	t_is "$(http_get "http://127.0.0.1:$PORT/")" caddy-ok "caddy: it serves"
	load_start caddy "http://127.0.0.1:$PORT/" -c 8 -d 60s
	sleep 0.5
	t_ok "caddy: 5 reloads under load" reloads 5 "$LOG"
	load_stop caddy
	t_is "$(field failed "$T_DIR/caddy.out")" 0 "caddy: no request failed ($(field requests "$T_DIR/caddy.out") requests)"
	stop_baton
	t_is "$T_STATUS" 0 "caddy: baton stops"
else
	t_skip "caddy is not installed (Debian package caddy)"
fi

# --- busybox httpd (static) -------------------------------------------------
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked' &&
	    BUSYBOX=$b && break
done
[ -z "$BUSYBOX" ] && [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 &&
    BUSYBOX=/bin/busybox
if [ -n "$BUSYBOX" ]; then
	PORT=$(free_port)
	LOG=$T_DIR/busybox.log
	mkdir -p "$T_DIR/www"
	echo busybox-ok >"$T_DIR/www/index.html"
	conf busybox "$PORT" "$BUSYBOX httpd -f -p 127.0.0.1:$PORT -h $T_DIR/www" 1
	start_baton "$LOG" run -c "$T_DIR/busybox.ini"
	t_ok "busybox: generation 1 is active" wait_log 20 "$LOG" 'generation 1: active'
	t_ok "busybox: its bind() is given the held socket" log_has "$LOG" 'given the held socket \(seccomp\)'
	t_is "$(http_get "http://127.0.0.1:$PORT/index.html")" busybox-ok "busybox: it serves"
	load_start busybox "http://127.0.0.1:$PORT/index.html" -c 8 -d 60s
	sleep 0.5
	t_ok "busybox: 10 reloads under load" reloads 10 "$LOG"
	load_stop busybox
	# Its main process dies on SIGTERM: killed holding a connection it
	# has accepted and not yet handed to a child, it would reset it. Under
	# this load accept() rarely waits, so baton must tell a main process
	# stopped inside a waiting accept() from one stopped just after an
	# accept() that returned.
	t_is "$(field failed "$T_DIR/busybox.out")" 0 "busybox: no request failed ($(field requests "$T_DIR/busybox.out") requests; reset $(field reset "$T_DIR/busybox.out"), eof $(field eof "$T_DIR/busybox.out"))"
	stop_baton
	t_is "$T_STATUS" 0 "busybox: baton stops"
else
	t_skip "busybox-static is not installed (Debian package busybox-static)"
fi

t_done
