#!/bin/bash
# Steered sockets: what waits in a draining generation's queue is never
# lost, and per-slot sockets spread new connections evenly.
#  - 1,000 connections queue on generation 1's socket while its workers
#    are stopped (SIGSTOP); a reload drains generation 1, its workers are
#    killed at the deadline, its socket closes, and the kernel moves every
#    queued connection to generation 2's socket: all 1,000 are answered.
#  - rollout = rolling with 4 workers: each slot accepts on a socket of its
#    own, and 10,000 new connections spread within 20% of even.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
CONF=$T_DIR/baton.ini
LOG=$T_DIR/baton.log

conf() {	# conf [LINE...]: in [baton]
	{
		echo "[baton]"
		echo "command = $TESTSERVER --protocol systemd"
		echo "ready = probe"
		echo "probe = http GET /healthz"
		echo "probe_interval = 100ms"
		echo "drain_timeout = 3s"
		printf '%s\n' "$@"
		echo
		echo "[socket:http]"
		echo "listen = tcp://127.0.0.1:$PORT"
		echo "backlog = 4096"
	} >"$CONF"
}

conf "workers = 2"
need_steer "$CONF"
start_active "$LOG" run -c "$CONF"
GEN1=$(gen_pids "$LOG" 1)
GEN1=$(echo $GEN1)

# --- 1,000 queued connections, their workers stopped.
kill -STOP $GEN1
python3 - "$PORT" >"$T_DIR/queued.out" 2>&1 <<'PY' &
import resource, select, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
port, n = int(sys.argv[1]), 1000
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    socks.append(s)
print("queued", len(socks), flush=True)
answers, left, end = {}, set(socks), time.time() + 30
for s in socks:
    s.setblocking(False)
got = {s: b"" for s in socks}
while left and time.time() < end:
    r, _, _ = select.select(list(left)[:900], [], [], 0.5)
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d:
            got[s] += d
            continue
        left.discard(s)
ok = [g for g in got.values() if g.startswith(b"HTTP/1.") and b" 200 " in g.split(b"\r\n")[0]]
pids = {}
for g in ok:
    body = g.split(b"\r\n\r\n", 1)[-1].split()
    pid = body[1].decode() if len(body) > 1 else "?"
    pids[pid] = pids.get(pid, 0) + 1
print("answered", len(ok))
print("pids", " ".join("%s:%d" % kv for kv in sorted(pids.items())))
PY
QPID=$!
T_PIDS="$T_PIDS $QPID"
wait_until 20 grep -q '^queued 1000' "$T_DIR/queued.out"
t_ok "1,000 connections wait in generation 1's queue" \
    grep -q '^queued 1000' "$T_DIR/queued.out"
kill -HUP "$BATON_PID"
t_ok "generation 2 becomes active" wait_log 15 "$LOG" 'generation 2: active'
t_ok "generation 1 is killed at its deadline" \
    wait_log 15 "$LOG" 'generation 1: exited after draining'
wait "$QPID"
t_diag "$(cat "$T_DIR/queued.out")"
t_ok "all 1,000 are answered" grep -qx 'answered 1000' "$T_DIR/queued.out"
GEN2=$(gen_pids "$LOG" 2 | tr '\n' ' ')
t_ok "by generation 2 ($GEN2)" sh -c "! grep '^pids' '$T_DIR/queued.out' |
    tr ' ' '\n' | sed -n 's/:.*//p' | grep -vxE '$(echo $GEN2 | tr ' ' '|')'"
stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"

# --- rollout = rolling: 10,000 connections over 4 per-slot sockets.
conf "workers = 4" "rollout = rolling"
start_active "$LOG.rolling" run -c "$CONF"
t_ok "generation 1's 4 slots serve" \
    wait_log 15 "$LOG.rolling" 'generation 1: active'
"$LOADGEN" -u "http://127.0.0.1:$PORT/" -n 10000 -c 8 -t 5000 \
    -a "$T_DIR/answers" >"$T_DIR/spread.out"
t_is "$(field failed "$T_DIR/spread.out")" 0 "10,000 requests, none failed"
sort "$T_DIR/answers" | uniq -c >"$T_DIR/bypid"
t_diag "per worker: $(tr '\n' ' ' <"$T_DIR/bypid")"
t_is "$(wc -l <"$T_DIR/bypid")" 4 "4 workers answered"
t_ok "each got between 2,000 and 3,000 (20% of even)" \
    awk '$1 < 2000 || $1 > 3000 {exit 1}' "$T_DIR/bypid"
LOG=$LOG.rolling
stop_baton
t_is "$T_STATUS" 0 "baton stops: exit 0"
t_done
