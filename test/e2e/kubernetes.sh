#!/bin/bash
# examples/kubernetes: its manifests agree with each other, with the
# Dockerfile and with baton.ini (ports, paths, probes, grace period); its
# baton.ini runs, and reloads in place when a ConfigMap-style symlink swap
# changes it; and baton as the PID 1 of a PID namespace, as in the pod,
# reaps the orphans it is given and stops on a SIGTERM sent from inside.
. "$(dirname "$0")/lib.sh"

EX=$top_srcdir/examples/kubernetes
HELLO=$top_builddir/examples/hello/hello
PORT=$(free_port)
MPORT=$(free_port)
M=http://127.0.0.1:$MPORT

code() {
	curl -s -m 3 -o /dev/null -w '%{http_code}' "$1"
}

answers() {
	http_get "http://127.0.0.1:$PORT/" >/dev/null
}

metric() {
	curl -s -m 3 "$M/metrics" | awk -v k="$1" '$1 == k {print $2}'
}

# local_ini SRC DST: the example's file with what only a pod has (the
# image's paths, the pod's addresses) made local; every other line as is.
local_ini() {
	sed -e "s|^command = /app/hello$|command = $HELLO|" \
	    -e "s|^directory = /app$|directory = $T_DIR|" \
	    -e "s|^control = /run/baton/baton.sock$|control = $T_DIR/baton.sock|" \
	    -e "s|^metrics = tcp://0.0.0.0:9101$|metrics = tcp://127.0.0.1:$MPORT|" \
	    -e "s|^listen = tcp://0.0.0.0:8080$|listen = tcp://127.0.0.1:$PORT|" \
	    "$1" >"$2"
	[ "$(diff "$1" "$2" | grep -c '^>')" -eq 5 ]
}

if ! command -v curl >/dev/null; then
	t_skip "curl is not installed: it reads status codes"
	t_done
	exit 0
fi

# --- The manifests, read with PyYAML against the resolved baton.ini.
ctl check check -c "$EX/baton.ini"
t_is "$T_STATUS" 0 "baton check accepts examples/kubernetes/baton.ini"
if python3 -c 'import yaml' 2>/dev/null; then
	python3 - "$EX" "$T_DIR/check.out" >"$T_DIR/yaml.out" 2>&1 <<'EOF'
import os, re, sys, yaml

ex, resolved = sys.argv[1], sys.argv[2]
ini = {}
for line in open(resolved):
    m = re.match(r'(\w+) = (.*)', line)
    if m:
        ini[m.group(1)] = m.group(2)
load = lambda f: list(yaml.safe_load_all(open(os.path.join(ex, f))))
cm, = load('configmap.yaml')
dep, = load('deployment.yaml')
svc, = load('service.yaml')
docker = open(os.path.join(ex, 'Dockerfile')).read()
pod = dep['spec']['template']['spec']
c, = pod['containers']
ports = {p['name']: p['containerPort'] for p in c['ports']}
mounts = {m['name']: m for m in c['volumeMounts']}
vols = {v['name']: v for v in pod['volumes']}
entry = re.search(r'^ENTRYPOINT (.*)$', docker, re.M).group(1)
user = re.search(r'^USER (\d+)$', docker, re.M).group(1)
port = lambda url: int(url.rsplit(':', 1)[1])
ms = lambda d: int(d[:-2])
checks = [
    ('configmap.yaml carries baton.ini as it is',
     cm['data']['baton.ini'] == open(os.path.join(ex, 'baton.ini')).read()),
    ('the pod mounts that ConfigMap',
     any(v.get('configMap', {}).get('name') == cm['metadata']['name'] and
         n in mounts for n, v in vols.items())),
    ('at the folder of the image\'s -c FILE, without subPath',
     any(os.path.join(m['mountPath'], 'baton.ini') in entry and
         'subPath' not in m for m in mounts.values())),
    ('the control socket\'s folder is a writable emptyDir',
     any(m['mountPath'] == os.path.dirname(ini['control']) and
         not m.get('readOnly') and 'emptyDir' in vols[n]
         for n, m in mounts.items())),
    ('containerPort http is the [socket:http] port',
     ports['http'] == port(ini['listen'])),
    ('containerPort metrics is the metrics port',
     ports['metrics'] == port(ini['metrics'])),
    ('readinessProbe: /readyz on the metrics port',
     c['readinessProbe']['httpGet'] == {'path': '/readyz', 'port': 'metrics'}),
    ('livenessProbe: /healthz on the metrics port',
     c['livenessProbe']['httpGet'] == {'path': '/healthz', 'port': 'metrics'}),
    ('terminationGracePeriodSeconds > stop_delay + drain_timeout',
     pod['terminationGracePeriodSeconds'] * 1000 >
     ms(ini['stop_delay']) + ms(ini['drain_timeout'])),
    ('no preStop hook: stop_delay does its work',
     'preStop' not in c.get('lifecycle', {})),
    ('the pod runs as the image\'s USER',
     str(pod['securityContext']['runAsUser']) == user),
    ('the rolling update never goes below the replicas',
     dep['spec']['strategy']['rollingUpdate']['maxUnavailable'] == 0),
    ('the Service selects the pods and targets http',
     svc['spec']['selector'] == dep['spec']['selector']['matchLabels'] and
     svc['spec']['ports'][0]['targetPort'] in ports),
]
for what, ok in checks:
    print(('ok ' if ok else 'not ok ') + what)
EOF
	t_is "$?" 0 "the manifests are read"
	while read -r verdict what; do
		[ "$verdict" = ok ]
		t_result $? "${what#ok }"
	done <"$T_DIR/yaml.out"
else
	t_skip "python3's yaml module is not installed (python3-yaml): the manifests are not read"
fi

# --- The example's file, on a ConfigMap-style volume: baton.ini ->
# ..data/baton.ini, ..data -> a folder, swapped whole by a rename.
CM=$T_DIR/etc-baton
mkdir -p "$CM/..v1" "$CM/..v2"
t_ok "the example's file made local (5 lines: paths and addresses)" \
    local_ini "$EX/baton.ini" "$CM/..v1/baton.ini"
ln -s ..v1 "$CM/..data"
ln -s ..data/baton.ini "$CM/baton.ini"
LOG=$T_DIR/baton.log
start_active "$LOG" run -c "$CM/baton.ini"
t_is "$(code "$M/readyz")" 200 "/readyz answers 200 once generation 1 serves"
t_is "$(code "$M/healthz")" 200 "/healthz answers 200"
t_ok "the workers answer" answers

# What the kubelet does when the ConfigMap changes.
sed 's/^workers = 2$/workers = 3/' "$CM/..v1/baton.ini" >"$CM/..v2/baton.ini"
ln -s ..v2 "$CM/..data.tmp"
mv -T "$CM/..data.tmp" "$CM/..data"
load_start swap "http://127.0.0.1:$PORT/" -c 4 -d 30s
sleep 0.5
ctl reload reload -c "$CM/baton.ini"
t_is "$T_STATUS" 0 "baton reload -c, as kubectl exec runs it, exits 0"
t_diag "$(out reload)"
wait_until 10 drained
load_stop swap
t_is "$(metric 'baton_workers{state="active"}')" 3 "the swapped file is read: 3 workers"
t_is "$(field failed "$T_DIR/swap.out")" 0 "no request failed across the reload"
load_ran swap 50
stop_baton

# --- baton as PID 1, as in the container.
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null ||
    ! command -v nsenter >/dev/null ||
    ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	t_skip "baton as PID 1: unshare --pid and nsenter need root here"
	t_done
	exit
fi
LOG=$T_DIR/pid1.log
unshare --pid --fork --mount-proc "$BATON" run -c "$CM/baton.ini" \
    >"$LOG" 2>&1 &
U=$!
T_PIDS="$T_PIDS $U"
t_ok "baton starts as PID 1" wait_log 10 "$LOG" 'baton\[1\] .*generation 1: active'
B=$(pgrep -P "$U")
inside() {
	nsenter -t "$B" -p -m "$@"
}

# An exec'd shell's background job outlives it: PID 1 gets it.
inside sh -c 'sleep 1 &'
O=$(pgrep -P "$B" -x sleep)
t_ok "an orphan of an exec'd process is baton's child (pid ${O:-none})" test -n "$O"
t_ok "and reaped once it exits: no zombie" wait_until 5 test ! -e "/proc/${O:-self}"

# The kernel gives PID 1 only the signals it handles.
inside sh -c 'kill -HUP 1'
t_ok "SIGHUP from inside the container reloads" \
    wait_log 10 "$LOG" 'generation 2: active'
t0=$(date +%s%N)
inside sh -c 'kill -TERM 1'
t_ok "SIGTERM from inside starts the stop" wait_log 5 "$LOG" 'readyz fails for 5000 ms'
t_is "$(code "$M/readyz")" 503 "/readyz is 503 during stop_delay"
t_ok "the workers still serve meanwhile" answers
wait_exit "$U" 30
t_is "$T_STATUS" 0 "baton exits 0"
took=$(ms_since "$t0")
t_ok "after stop_delay, within terminationGracePeriodSeconds ($took ms)" \
    test "$took" -ge 5000 -a "$took" -lt 35000
t_done
