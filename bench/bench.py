#!/usr/bin/env python3
"""baton's benchmarks against PM2, Server::Starter and a naive restart.

Run by bench/run (make bench), which installs the peers first. Writes raw
results under bench/results/raw/RUN/ and what the report needs to
bench/results/report/ (summary.json and the plots' data), then
bench/report.py writes docs/benchmarks.md and docs/bench-*.png.

BENCH_QUICK=1: one round, shorter loads, fewer reloads (a few minutes).
BENCH_SMOKE=1: a few seconds of load at -c 4 per scenario, to check the
machinery (not for figures).
BENCH_ONLY=1,3: only these scenarios (the report keeps the others' last
figures); BENCH_ONLY=servers: only each server's own reload against
baton's (gunicorn, unicorn, puma, starman, nginx, Express under PM2);
BENCH_SERVERS=nginx,puma: only these servers of it. BENCH_ONLY=rollout:
4 workers, rollout = all and rolling against PM2 cluster mode (memory
during reloads, the spread of connections over the workers).
BENCH_ROUNDS=N: N rounds instead of 3 (or 1 with BENCH_QUICK).
"""
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (  # noqa: E402
    APP, APP_ENV, BATON, BENCH, CLK_TCK, FD_APP, LOADGEN, PAGE_KB, PM2_BIN,
    PRELOAD_LIB, RUN_ERRORS, TESTSERVER, Alone, Baton, Naive, Params, PM2, RssSampler,
    Starter, children, dump, free_port, parent_map, http_get, kill_all_tagged, median, nfds, parse_kv,
    pct, preload_available, proc_sample, progress)

QUICK = os.environ.get('BENCH_QUICK') == '1'
SMOKE = os.environ.get('BENCH_SMOKE') == '1'
ALL = ('1', '2', '3', '4', '5', '6', 'servers', 'rollout')
ONLY = set(os.environ.get('BENCH_ONLY', ','.join(ALL)).split(','))

if SMOKE:
    P = Params.smoke()
elif QUICK:
    P = Params.quick()
else:
    P = Params()
if os.environ.get('BENCH_ROUNDS'):
    P.rounds = max(1, int(os.environ['BENCH_ROUNDS']))

RUN = datetime.now().strftime('%Y%m%dT%H%M%S')
RAW = os.path.join(BENCH, 'results', 'raw', RUN)
REPORT = os.path.join(BENCH, 'results', 'report')
os.makedirs(REPORT, exist_ok=True)
SUMMARY = os.path.join(REPORT, 'summary.json')


def load_summary():
    try:
        with open(SUMMARY) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


summary = load_summary()


def save():
    dump(SUMMARY, summary)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ''


def machine():
    model = ''
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    with open('/proc/meminfo') as f:
        mem_kb = int(f.readline().split()[1])
    env = dict(os.environ, PM2_HOME=os.path.join(RAW, 'pm2-version'))
    pm2v = sh(f"node -p \"require('{BENCH}/node_modules/pm2/package.json').version\"")
    return {
        'date': datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'run': RUN,
        'nproc': os.cpu_count(),
        'cpu': model,
        'mem_gib': round(mem_kb / 1048576, 1),
        'kernel': platform.release(),
        'os': sh(". /etc/os-release && echo $PRETTY_NAME"),
        'baton': sh(f'{BATON} --version'),
        'node': sh('node --version'),
        'pm2': pm2v,
        'express': sh(f"node -p \"require('{BENCH}/node_modules/express/package.json').version\""),
        'server_starter': sh("dpkg-query -W -f='${Version}' libserver-starter-perl"),
        'perl': sh("perl -e 'print $^V'"),
        'wrk': sh('wrk -v 2>&1 | head -1').split(' [')[0],
        'gnuplot': sh('gnuplot --version'),
        'preload': preload_available(),
        'quick': QUICK, 'smoke': SMOKE, 'params': P.as_dict(),
        'app_env': {k: v for k, v in APP_ENV.items() if k != 'NODE_PATH'},
    }


# ------------------------------------------------------------ scenario 1

# The variant row of scenario 1: baton (preload) with the new generation
# started at a lower priority until it is ready (baton.ini(5)). 15 is the
# least of 5, 10 and 15 that kept p99 before the switch at the steady p99
# on this machine at both concurrencies.
S1_START_PRIORITY = 15
# BENCH_S1_WARMUP=3s adds one more row that also ramps the new
# generation's share up over that long (warmup, baton.ini(5)) instead of
# stepping it to all at once; on 2 busy cores it did not lower the tail,
# so the default run leaves it out.
S1_WARMUP = os.environ.get('BENCH_S1_WARMUP', '')


def s1_tools():
    """(key, label, factory(d, port, env)) for scenario 1, baton first."""
    tools = []
    if preload_available():
        tools.append(('baton', 'baton (unmodified app, preload)',
                      lambda d, p, e: Baton(d, p, e, 2, 'express-preload')))
        tools.append(('baton-prio',
                      f'baton (preload, start_priority = {S1_START_PRIORITY})',
                      lambda d, p, e: Baton(
                          d, p, e, 2, 'express-preload',
                          extra=f'start_priority = {S1_START_PRIORITY}\n')))
        if S1_WARMUP:
            tools.append(('baton-warm',
                          f'baton (preload, start_priority = {S1_START_PRIORITY}, '
                          f'warmup = {S1_WARMUP})',
                          lambda d, p, e: Baton(
                              d, p, e, 2, 'express-preload',
                              extra=f'start_priority = {S1_START_PRIORITY}\n'
                                    f'warmup = {S1_WARMUP}\n')))
    tools.append(('baton-fd', 'baton (fd variant)',
                  lambda d, p, e: Baton(d, p, e, 2, 'express-fd')))
    tools.append(('pm2', 'PM2 cluster mode',
                  lambda d, p, e: PM2(d, p, e, 2)))
    tools.append(('starter', 'Server::Starter (fd variant)',
                  lambda d, p, e: Starter(d, p, e, 2, 'express-fd')))
    tools.append(('naive', 'naive stop-then-start',
                  lambda d, p, e: Naive(d, p, e, 2)))
    return tools


def read_timeline(path):
    out = []
    with open(path) as f:
        for line in f:
            a = line.split()
            if len(a) == 3:
                out.append((int(a[0]) / 1e6, int(a[1]) / 1e3, int(a[2])))
    return out


KINDS = {-1: 'refused', -2: 'reset', -3: 'eof', -4: 'timeout', -5: 'other'}


def window_stats(samples, dur):
    lat = [l for _, l, s in samples if s == 200]
    fails = {}
    for _, _, s in samples:
        if s != 200:
            k = KINDS.get(s, 'bad_status')
            fails[k] = fails.get(k, 0) + 1
    return {'n': len(samples), 'ok': len(lat), 'failed': len(samples) - len(lat),
            'fails': fails, 'p50': pct(lat, 50), 'p99': pct(lat, 99),
            'max': max(lat) if lat else None,
            'rps': len(lat) / dur if dur > 0 else None}


WARM = 1.0      # the first second of load warms the JIT up: not counted


def s1_windows(samples, spans, t_end):
    """Steady state and reload windows, by request start time. A reload's
    window: from its trigger until its old generation has exited. Steady:
    from WARM to the first trigger, the same stretch for every tool (later
    gaps between reloads follow a fresh start of the workers, and how many
    there are depends on each tool's reload time). Requests between
    reloads are in neither window, but in 'all'."""
    first = spans[0]['start'] if spans else t_end
    in_rel, steady = [], []
    for smp in samples:
        t = smp[0]
        if any(s['start'] <= t <= s['end'] for s in spans):
            in_rel.append(smp)
        elif WARM <= t < first:
            steady.append(smp)
    rel_time = sum(s['end'] - s['start'] for s in spans)
    end_t = max((s[0] for s in samples), default=t_end)
    return {'steady': window_stats(steady, max(0.001, first - WARM)),
            'reload': window_stats(in_rel, rel_time),
            'all': window_stats(samples, end_t)}


def s1_switches(d, spans):
    """When each reload's new generation took over from the old one, on the
    spans' clock: the first "generation N: active after" line in baton's
    log after each "control: reload requested". None without a baton log
    or where the lines and the spans do not pair up."""
    log = os.path.join(d, 'baton.log')
    if not os.path.exists(log):
        return None
    trig, act = [], []
    with open(log, errors='replace') as f:
        for line in f:
            if 'control: reload requested' in line:
                trig.append(float(line.split()[0]))
                act.append(None)
            elif trig and act[-1] is None and re.search(r'generation \d+: active after', line):
                act[-1] = float(line.split()[0])
    if len(trig) != len(spans) or None in act:
        return None
    return [s['start'] + (a - t) for s, t, a in zip(spans, trig, act)]


def s1_phases(samples, spans, switches):
    """The reload windows cut at the switch: 'before' (the new generation
    starts while the old one serves) and 'after' (the new one serves, the
    old one drains)."""
    before, after = [], []
    for smp in samples:
        t = smp[0]
        for s, w in zip(spans, switches):
            if s['start'] <= t <= s['end']:
                (before if t < w else after).append(smp)
                break
    tb = sum(max(0.0, min(w, s['end']) - s['start']) for s, w in zip(spans, switches))
    ta = sum(max(0.0, s['end'] - max(w, s['start'])) for s, w in zip(spans, switches))
    return {'before': window_stats(before, tb), 'after': window_stats(after, ta),
            'before_s': tb / len(spans), 'after_s': ta / len(spans)}


def reanalyze():
    """Recompute scenario 1's windows from the raw timelines of the runs in
    the summary (bench.py --reanalyze), e.g. after changing s1_windows."""
    n = 0
    for r in summary.get('s1', {}).get('runs', []):
        if 'error' in r:
            continue
        tl = os.path.join(BENCH, 'results', 'raw', r['run'], r['dir'], 'timeline')
        if not os.path.exists(tl):
            progress(f'  {tl} is missing: {r["dir"]} keeps its figures')
            continue
        samples = read_timeline(tl)
        r.update(s1_windows(samples, r['spans'], max(s['end'] for s in r['spans'])))
        switches = s1_switches(os.path.dirname(tl), r['spans'])
        if switches:
            r['phases'] = s1_phases(samples, r['spans'], switches)
        n += 1
    save()
    progress(f'scenario 1: {n} runs reanalyzed from their timelines')


def reloads_under_load(tool, args, env, n, iv, lead, tail, reload=None):
    """Runs the load generator ARGS (stopped with SIGINT at the end) and,
    from LEAD seconds after its start (t0), N reloads of TOOL one every IV
    seconds, or as soon as the previous one has finished when it takes
    longer, then TAIL seconds more. Returns the reloads' spans (seconds
    after t0), loadgen's stdout and stderr, the end (after t0) and t0.
    RELOAD: what reloads, if not tool.reload."""
    spans = []
    t0 = time.monotonic()
    lg = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        for k in range(n):
            target = t0 + lead + k * iv
            time.sleep(max(0.0, target - time.monotonic()))
            r = (reload or tool.reload)()
            spans.append({'start': r['start'] - t0, 'end': r['end'] - t0, 'ok': r['ok'],
                          'lost_hups': r.get('lost_hups', 0)})
            if 'error' in r:
                spans[-1]['error'] = r['error']
        time.sleep(max(0.0, (t0 + lead + (n - 1) * iv + tail) - time.monotonic()))
        time.sleep(max(0.0, spans[-1]['end'] + t0 + tail - time.monotonic()))
    finally:
        lg.send_signal(signal.SIGINT)
        out, err = lg.communicate(timeout=60)
    return spans, out, err, time.monotonic() - t0, t0


def loadgen_report(d, out, err):
    """loadgen's output, kept in D/loadgen.out, and its report."""
    with open(os.path.join(d, 'loadgen.out'), 'w') as f:
        f.write(out.decode() + err.decode())
    return parse_kv(out.decode())


def answered_done(ids, work):
    """The ids answered 200 (loadgen -o IDS) and those whose work reached
    WORK_LOG: once every generation has drained and exited, the first
    less the second is the work lost."""
    with open(ids) as f:
        answered = set(f.read().split())
    with open(work) as f:
        done = {line.split()[0] for line in f if line.strip()}
    return answered, done


def run_dir(name):
    """A run's folder under RAW, a free port, and an empty WORK_LOG there."""
    d = os.path.join(RAW, name)
    work = os.path.join(d, 'work.log')
    os.makedirs(d, exist_ok=True)
    open(work, 'w').close()
    return d, free_port(), work


def s1_run(key, label, factory, conc, rnd):
    name = f's1-r{rnd}-{key}-c{conc}'
    d, port, work = run_dir(name)
    tool = factory(d, port, {'WORK_LOG': work})
    ids, tl = os.path.join(d, 'ids'), os.path.join(d, 'timeline')
    n, iv, lead, tail = P.s1_reloads, P.s1_interval, P.s1_lead, P.s1_tail
    bound = lead + n * 6 + tail + 60       # loadgen's own limit; we stop it first
    try:
        tool.start()
        spans, out, err, t_end, _ = reloads_under_load(
            tool, [LOADGEN, '-u', f'http://127.0.0.1:{port}/', '-c', str(conc),
                   '-d', f'{int(bound)}s', '-n', '50000000', '-t', '5000',
                   '-p', f'{key}{conc}r{rnd}-', '-o', ids, '-r', tl],
            dict(os.environ, BENCH_TAG=tool.tag), n, iv, lead, tail)
    finally:
        tool.stop()
    rep = loadgen_report(d, out, err)
    answered, done = answered_done(ids, work)
    lost = len(answered - done)
    samples = read_timeline(tl)
    windows = s1_windows(samples, spans, t_end)
    res = {
        'tool': key, 'label': label, 'conc': conc, 'round': rnd, 'dir': name, 'run': RUN,
        'loadgen': rep, 'lost': lost, 'answered': len(answered),
        'work_done': len(done), 'spans': spans,
        'reload_s': [s['end'] - s['start'] for s in spans],
        'reloads_ok': sum(1 for s in spans if s['ok']),
        'lost_hups': sum(s['lost_hups'] for s in spans),
    }
    res.update(windows)
    switches = s1_switches(d, spans) if isinstance(tool, Baton) else None
    if switches:
        res['phases'] = s1_phases(samples, spans, switches)
    # Bins of 100 ms for the latency plot.
    bins = {}
    for t, l, s in samples:
        bins.setdefault(int(t * 10), []).append((l, s))
    with open(os.path.join(d, 'bins.dat'), 'w') as f:
        for b in sorted(bins):
            v = bins[b]
            lat = [l for l, s in v if s == 200]
            nf = sum(1 for _, s in v if s != 200)
            f.write(f'{b / 10:.1f} {pct(lat, 50) or 0:.3f} {pct(lat, 99) or 0:.3f} '
                    f'{max(lat) if lat else 0:.3f} {nf}\n')
    progress(f'  {label:32s} c={conc:<3d} round {rnd}: {int(rep.get("ok", 0))} ok, '
             f'{int(rep.get("failed", 0))} failed, lost {lost}, '
             f'p99 steady {fmt(res["steady"]["p99"])} / reload {fmt(res["reload"]["p99"])} ms, '
             f'{res["reloads_ok"]}/{n} reloads ok, mean reload {sum(res["reload_s"]) / n:.2f} s'
             + (f', {res["lost_hups"]} SIGHUP(s) not acted on (sent again after 5 s)'
                if res['lost_hups'] else ''))
    return res


def turn(items, rnd):
    """The list in the order for round rnd: it turns by one each round."""
    k = (rnd - 1) % len(items) if items else 0
    return items[k:] + items[:k]


def measure(tool, what, row, body):
    """Start TOOL, run BODY() for its figures, and stop TOOL however that
    ends. A run that fails is said and kept as ROW with its error, and the
    next run goes on."""
    try:
        tool.start()
        return body()
    except RUN_ERRORS as e:
        progress(f'  {what}: FAILED: {e}')
        return dict(row, error=str(e))
    finally:
        tool.stop()


def fmt(x):
    return '-' if x is None else f'{x:.1f}'


def scenario1():
    progress('scenario 1: reload under load (the seed\'s Express app, 2 workers)')
    runs = []
    tools = s1_tools()
    for rnd in range(1, P.rounds + 1):
        for conc in P.s1_conc:
            # baton and the peers alternate; the order turns each round.
            for key, label, factory in turn(tools, rnd):
                try:
                    runs.append(s1_run(key, label, factory, conc, rnd))
                except RUN_ERRORS as e:
                    progress(f'  {label} c={conc} round {rnd}: FAILED: {e}')
                    runs.append({'tool': key, 'label': label, 'conc': conc,
                                 'round': rnd, 'error': str(e)})
                summary['s1'] = {'runs': runs, 'tools': [(k, l) for k, l, _ in tools]}
                save()


# ------------------------------------------------------------ scenario 2

class Prober:
    """Asks GET / with a new connection every 2 ms; keeps (time of the
    answer, pid of the worker that answered)."""

    def __init__(self, port):
        import threading
        self.port, self.seen, self.stopping = port, [], False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            r = http_get(self.port, timeout=5)
            t = time.monotonic()        # when the answer came
            if r and r[0] == 200:
                m = re.match(r'ok (\d+)', r[1])
                if m:
                    self.seen.append((t, int(m.group(1))))
            time.sleep(0.002)

    def pids_before(self, t):
        return {p for tt, p in self.seen if tt < t}

    def first_new(self, t, known):
        end = time.monotonic() + 20
        while time.monotonic() < end:
            for tt, p in list(self.seen):
                if tt >= t and p not in known:
                    return tt - t
            time.sleep(0.01)
        return None

    def stop(self):
        self.stopping = True
        self.t.join(5)


def s2_row(row, label, tool, kind, rnd):
    res = []
    prober = None
    try:
        tool.start()
        prober = Prober(tool.port)
        time.sleep(0.5)
        for i in range(P.s2_reloads):
            known = prober.pids_before(time.monotonic()) | set(tool.worker_pids())
            if kind == 'baton':
                r = tool.reload_hup()
                t0 = r['start']
                ev = {k: r[k] for k in ('first_ready', 'all_ready', 'active',
                                        'signalled', 'done')}
                ev['all_signalled'] = r['signalled']
                ev['startup'] = r['startup_ms'] / 1000
                ev['own'] = r['signalled'] - ev['startup']
            elif kind == 'pm2':
                r = tool.reload()
                t0 = r['start']
                lines = tool.log_events(r['wall'])
                starts = [t for t, x in lines if 'starting in -cluster mode-' in x]
                listen = [t for t, x in lines if 'New worker listening' in x]
                stops = [t for t, x in lines if re.search(r'Stopping app:\S+ id:_old_', x)]
                ev = {'first_ready': listen[0] if listen else None,
                      'all_ready': listen[-1] if listen else None,
                      'active': listen[-1] if listen else None,
                      'signalled': stops[0] if stops else None,
                      'all_signalled': stops[-1] if stops else None,
                      'done': r['end'] - t0}
                ev['startup'] = (listen[0] - starts[0]) if listen and starts else None
                ev['own'] = (ev['signalled'] - ev['startup']
                             if ev['signalled'] is not None and ev['startup'] is not None else None)
            else:       # starter
                r = tool.reload()
                t0 = r['start']
                ev = {'first_ready': r['running'], 'all_ready': r['running'],
                      'active': r['running'], 'signalled': r['signalled'],
                      'all_signalled': r['signalled'], 'done': r['done'],
                      'lost_hups': r['lost_hups']}
            ev['first_answer'] = prober.first_new(t0, known)
            if kind == 'starter':
                # Start-up: from the spawn to the app's "listening" line
                # (Express), or to the new worker's first answer (test server).
                if r['listening'] is not None:
                    ev['startup'] = r['listening'] - r['spawned']
                    ev['listening'] = r['listening']
                else:
                    ev['startup'] = (ev['first_answer'] - r['spawned']
                                     if ev['first_answer'] is not None else None)
                ev['own'] = (ev['signalled'] - ev['startup']
                             if ev['startup'] is not None else None)
            res.append(ev)
            time.sleep(0.3)
        cmd = []
        if kind == 'baton':
            # The same through the control socket: until `baton reload` returns.
            for i in range(P.s2_reloads):
                r = tool.reload()
                cmd.append(r['end'] - r['start'])
                time.sleep(0.2)
        elif kind == 'pm2':
            cmd = [e['done'] for e in res]
            # The pm2 client's own start-up: an empty round trip.
            ping = []
            for i in range(3):
                t = time.monotonic()
                tool.run([PM2_BIN, 'ping'], 'pm2')
                ping.append(time.monotonic() - t)
            return {'row': row, 'label': label, 'round': rnd, 'reloads': res,
                    'command': cmd, 'cli_ping': ping}
        return {'row': row, 'label': label, 'round': rnd, 'reloads': res,
                'command': cmd}
    finally:
        if prober:
            prober.stop()
        tool.stop()


def scenario2():
    progress('scenario 2: reload latency (no load)')
    rows = [
        ('baton-ts', 'baton, C test server (notify), 2 workers', 'baton',
         lambda d, p: Baton(d, p, {}, 2, 'testserver')),
        ('starter-ts', 'Server::Starter, C test server (1 process)', 'starter',
         lambda d, p: Starter(d, p, {}, 1, 'testserver')),
        ('baton-ex', 'baton, Express fd variant (notify), 2 workers', 'baton',
         lambda d, p: Baton(d, p, {}, 2, 'express-fd')),
    ]
    if preload_available():
        rows.append(('baton-pre', 'baton, Express unmodified (preload, listen), 2 workers',
                     'baton', lambda d, p: Baton(d, p, {}, 2, 'express-preload')))
    rows += [
        ('pm2-ex', 'PM2 cluster mode, Express, -i 2', 'pm2',
         lambda d, p: PM2(d, p, {}, 2)),
        ('starter-ex', 'Server::Starter, Express fd variant (prefork 2)', 'starter',
         lambda d, p: Starter(d, p, {}, 2, 'express-fd')),
    ]
    out = []
    for rnd in range(1, P.rounds + 1):
        for row, label, kind, factory in turn(rows, rnd):
            d = os.path.join(RAW, f's2-r{rnd}-{row}')
            try:
                r = s2_row(row, label, factory(d, free_port()), kind, rnd)
                out.append(r)
                med = median([e['signalled'] for e in r['reloads']])
                progress(f'  {label:55s} round {rnd}: trigger -> old signalled '
                         f'median {med * 1000:.0f} ms')
            except RUN_ERRORS as e:
                progress(f'  {label} round {rnd}: FAILED: {e}')
                out.append({'row': row, 'label': label, 'round': rnd, 'error': str(e)})
            summary['s2'] = {'runs': out, 'rows': [(r, l) for r, l, _, _ in rows]}
            save()


# ------------------------------------------------------------ scenario 3

def parse_wrk(text):
    def ms(v):
        m = re.match(r'([\d.]+)(us|ms|s)', v)
        if not m:
            return None
        x = float(m.group(1))
        return x / 1000 if m.group(2) == 'us' else x * 1000 if m.group(2) == 's' else x
    r = {}
    m = re.search(r'Requests/sec:\s+([\d.]+)', text)
    r['rps'] = float(m.group(1)) if m else None
    for p in ('50', '90', '99'):
        m = re.search(rf'^\s+{p}%\s+(\S+)', text, re.M)
        r[f'p{p}'] = ms(m.group(1)) if m else None
    m = re.search(r'Latency\s+\S+\s+\S+\s+(\S+)', text)
    r['max'] = ms(m.group(1)) if m else None
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    r['errors'] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
    r['non2xx'] = int(m.group(1)) if m else 0
    return r


def s3_configs():
    pre = preload_available()
    bw = 'express-preload' if pre else 'express-fd'
    bl = 'baton (unmodified app, preload)' if pre else 'baton (fd variant)'
    return [
        ('ts', 'alone', 'C test server alone',
         lambda d, p: Alone(d, p, {}, [TESTSERVER, '--bind', f'127.0.0.1:{p}', '--quiet'])),
        ('ts', 'baton', 'under baton (1 worker)',
         lambda d, p: Baton(d, p, {}, 1, 'testserver')),
        ('ex1', 'alone', 'Express alone (node app.js)',
         lambda d, p: Alone(d, p, {}, ['node', APP])),
        ('ex1', 'baton', f'under {bl}, 1 worker', lambda d, p: Baton(d, p, {}, 1, bw)),
        ('ex1', 'pm2', 'under PM2 cluster mode, -i 1', lambda d, p: PM2(d, p, {}, 1)),
        ('ex1', 'starter', 'under Server::Starter (fd variant)',
         lambda d, p: Starter(d, p, {}, 1, 'express-fd')),
        ('ex2', 'alone', 'Express alone, 2 processes on one socket (fd variant)',
         lambda d, p: Alone(d, p, {}, ['node', FD_APP, APP], workers=2, bind_fd=True)),
        ('ex2', 'cluster', 'Node cluster module, 2 workers (no PM2)',
         lambda d, p: Naive(d, p, {}, 2)),
        ('ex2', 'baton', f'under {bl}, 2 workers', lambda d, p: Baton(d, p, {}, 2, bw)),
        ('ex2', 'pm2', 'under PM2 cluster mode, -i 2', lambda d, p: PM2(d, p, {}, 2)),
    ]


def scenario3():
    progress(f'scenario 3: data path (wrk -t2 -c{P.s3_conc} -d{P.s3_secs}s; '
             f'loadgen -c{P.s3_conc} -d{P.s3_close_secs}s, a new connection per request)')
    out = []
    cfgs = s3_configs()
    for rnd in range(1, P.rounds + 1):
        for grp, key, label, factory in turn(cfgs, rnd):
            d = os.path.join(RAW, f's3-r{rnd}-{grp}-{key}')
            port = free_port()
            tool = factory(d, port)
            url = f'http://127.0.0.1:{port}/'
            def body():
                if P.s3_warm:
                    subprocess.run([LOADGEN, '-u', url, '-c', '8', '-d', f'{P.s3_warm}s', '-q'],
                                   capture_output=True, timeout=60)
                w = subprocess.run(['wrk', '-t2', f'-c{P.s3_conc}', f'-d{P.s3_secs}s',
                                    '--latency', url], capture_output=True, text=True,
                                   timeout=P.s3_secs + 60)
                with open(os.path.join(d, 'wrk.out'), 'w') as f:
                    f.write(w.stdout + w.stderr)
                lg = subprocess.run([LOADGEN, '-u', url, '-c', str(P.s3_conc),
                                     '-d', f'{P.s3_close_secs}s', '-t', '5000'],
                                    capture_output=True, text=True, timeout=P.s3_secs + 60)
                with open(os.path.join(d, 'loadgen.out'), 'w') as f:
                    f.write(lg.stdout + lg.stderr)
                r = {'grp': grp, 'key': key, 'label': label, 'round': rnd,
                     'wrk': parse_wrk(w.stdout), 'close': parse_kv(lg.stdout)}
                r['idx'] = [c[:2] for c in cfgs].index((grp, key))
                progress(f'  {label:55s} round {rnd}: wrk {r["wrk"]["rps"] or 0:.0f} req/s '
                         f'p99 {fmt(r["wrk"]["p99"])} ms; new connections '
                         f'{r["close"].get("rps", 0):.0f} req/s p99 {fmt(r["close"].get("p99_ms"))} ms')
                return r

            r = measure(tool, f'{label} round {rnd}',
                        {'grp': grp, 'key': key, 'label': label, 'round': rnd}, body)
            out.append(r)
            summary['s3'] = {'runs': out}
            save()


# ------------------------------------------------------------ scenario 4

def scenario4():
    progress(f'scenario 4: footprint of the supervisor, idle {P.s4_idle} s')
    pre = preload_available()
    cfgs = [
        ('baton', 'baton', lambda d, p: Baton(d, p, {}, 2, 'express-preload' if pre else 'express-fd')),
        ('baton-metrics', 'baton, metrics = tcp://127.0.0.1:PORT',
         lambda d, p: Baton(d, p, {}, 2, 'express-preload' if pre else 'express-fd',
                            extra=f'metrics = tcp://127.0.0.1:{free_port()}\n')),
        ('pm2', 'PM2 daemon (God)', lambda d, p: PM2(d, p, {}, 2)),
        ('starter', 'start_server (perl)', lambda d, p: Starter(d, p, {}, 2, 'express-fd')),
        ('cluster', 'Node cluster primary (no supervisor)', lambda d, p: Naive(d, p, {}, 2)),
    ]
    out = []
    for rnd in range(1, P.rounds + 1):
        for key, label, factory in turn(cfgs, rnd):
            d = os.path.join(RAW, f's4-r{rnd}-{key}')
            tool = factory(d, free_port())
            def body():
                time.sleep(3)
                pid = tool.sup_pid()
                a = proc_sample(pid)
                t = time.monotonic()
                time.sleep(P.s4_idle)
                b = proc_sample(pid)
                dt = time.monotonic() - t
                kids = tool.worker_pids()
                wrss = 0
                for k in kids:
                    try:
                        wrss += proc_sample(k)['rss_kb']
                    except OSError:
                        pass
                r = {'key': key, 'label': label, 'round': rnd, 'rss_kb': b['rss_kb'],
                     'idx': [c[0] for c in cfgs].index(key),
                     'cpu_ms': (b['ticks'] - a['ticks']) * 1000 / CLK_TCK,
                     'wakeups': b['ctx'] - a['ctx'], 'secs': dt,
                     'threads': b['threads'],
                     'workers_rss_kb': wrss, 'nworkers': len(kids)}
                progress(f'  {label:40s} round {rnd}: RSS {b["rss_kb"] / 1024:.1f} MiB, '
                         f'CPU {r["cpu_ms"]:.0f} ms, {r["wakeups"]} context switches in {dt:.1f} s')
                return r

            r = measure(tool, f'{label} round {rnd}',
                        {'key': key, 'label': label, 'round': rnd}, body)
            out.append(r)
            summary['s4'] = {'runs': out}
            save()


# ------------------------------------------------------------ scenario 5

def scenario5():
    progress('scenario 5: scale (C test server, ready = notify)')
    out = {'workers': [], 'sockets': [], 'many': None,
           'reloads': P.s5_reloads, 'reloads_big': P.s5_reloads_big}
    # Up to CONFIG_MAX_WORKERS and CONFIG_MAX_SOCKETS (253 is the most one
    # SCM_RIGHTS message carries: 1,024 take five); the large ones reload
    # fewer times, so that the scenario stays within minutes.
    series = ([('workers', w, 1) for w in (1, 8, 64, 256, 1024)] +
              [('sockets', 1, s) for s in (16, 64, 253, 1024)])
    for rnd in range(1, P.rounds + 1):
        for what, w, s in series:
            d = os.path.join(RAW, f's5-r{rnd}-w{w}-s{s}')
            big = max(w, s) >= 256
            tool = Baton(d, free_port(), {}, w, 'testserver', sockets=s,
                         ready_timeout=300 if big else 60)
            def body():
                rs, cpu = [], []
                for i in range(P.s5_reloads_big if big else P.s5_reloads):
                    t0 = proc_sample(tool.sup_pid())['ticks']
                    rs.append(tool.reload_hup(timeout=300 if big else 60))
                    cpu.append((proc_sample(tool.sup_pid())['ticks'] - t0) * 1000 / CLK_TCK)
                    time.sleep(0.1)
                r = {'workers': w, 'sockets': s, 'round': rnd,
                     'baton_cpu_ms': cpu,
                     'active': [x['active'] for x in rs],
                     'active_ms': [x['active_ms'] for x in rs],
                     'startup_ms': [x['startup_ms'] for x in rs],
                     'signalled': [x['signalled'] for x in rs],
                     'done': [x['done'] for x in rs]}
                progress(f'  {w:4d} workers, {s:4d} sockets, round {rnd}: trigger -> active '
                         f'median {median(r["active"]) * 1000:.1f} ms, -> old signalled '
                         f'{median(r["signalled"]) * 1000:.1f} ms, baton CPU '
                         f'{median(cpu):.0f} ms a reload')
                return r

            r = measure(tool, f'{w} workers {s} sockets round {rnd}',
                        {'workers': w, 'sockets': s, 'round': rnd}, body)
            out['workers' if s == 1 else 'sockets'].append(r)
            if w == 1 and s == 1:
                out['sockets'].append(r)
            summary['s5'] = out
            save()
    # Many reloads: baton's descriptors and memory stay flat.
    n = P.s5_many
    progress(f'  {n} reloads in a row (baton reload, 2 workers)')
    d = os.path.join(RAW, 's5-many')
    tool = Baton(d, free_port(), {}, 2, 'testserver')
    try:
        tool.start()
        pid = tool.sup_pid()
        tool.reload()
        pts = [{'reloads': 1, 'fds': nfds(pid), 'rss_kb': proc_sample(pid)['rss_kb']}]
        durs = []
        failed = 0
        t = time.monotonic()
        for i in range(2, n + 1):
            r = tool.reload()
            durs.append(r['end'] - r['start'])
            failed += not r['ok']
            if i in (10, 100) or i % max(1, n // 10) == 0:
                pts.append({'reloads': i, 'fds': nfds(pid),
                            'rss_kb': proc_sample(pid)['rss_kb']})
        total = time.monotonic() - t
        st = subprocess.run([BATON, 'status', '-c', tool.ini, '--json'],
                            capture_output=True, text=True, timeout=30)
        status = json.loads(st.stdout) if st.returncode == 0 else None
        out['many'] = {'n': n, 'points': pts, 'failed': failed, 'secs': total,
                       'reload_p50': pct(durs, 50), 'reload_p99': pct(durs, 99),
                       'counters': status and status.get('counters'),
                       'generations': status and len(status.get('generations', []))}
        progress(f'  after {n} reloads: {pts[-1]["fds"]} fds (after 1: {pts[0]["fds"]}), '
                 f'RSS {pts[-1]["rss_kb"]} kB (after 1: {pts[0]["rss_kb"]} kB), '
                 f'{failed} failed, {total:.0f} s')
    except RUN_ERRORS as e:
        progress(f'  many reloads: FAILED: {e}')
        out['many'] = {'n': n, 'error': str(e)}
    finally:
        tool.stop()
    summary['s5'] = out
    save()


# ------------------------------------------------------------ scenario 6

def scenario6():
    """Steady state only, the high concurrency of scenario 1: baton, and
    Server::Starter with its two children in start_server's session (as it
    runs) and each in a session of its own (as baton starts its workers).
    With the kernel's autogroup scheduling, a session is a scheduling group."""
    try:
        with open('/proc/sys/kernel/sched_autogroup_enabled') as fh:
            autogroup = fh.read().strip()
    except OSError:
        autogroup = 'n/a'
    c, secs = max(P.s1_conc), P.s6_secs
    progress(f'scenario 6: steady state at c={c}, sessions and scheduling groups '
             f'(sched_autogroup_enabled = {autogroup})')
    pre = preload_available()
    cfgs = [
        ('baton', 'baton, 2 workers (each in its own session)',
         lambda d, p: Baton(d, p, {}, 2, 'express-preload' if pre else 'express-fd')),
        ('starter', 'Server::Starter, 2 children in its session',
         lambda d, p: Starter(d, p, {}, 2, 'express-fd')),
        ('starter-setsid', 'Server::Starter, each child in its own session',
         lambda d, p: Starter(d, p, {'BENCH_PREFORK_SETSID': '1'}, 2, 'express-fd')),
    ]
    out = []
    for rnd in range(1, P.rounds + 1):
        for key, label, factory in turn(cfgs, rnd):
            d = os.path.join(RAW, f's6-r{rnd}-{key}')
            port = free_port()
            tool = factory(d, port)
            url = f'http://127.0.0.1:{port}/'
            def body():
                subprocess.run([LOADGEN, '-u', url, '-c', '8', '-d', '1s', '-q'],
                               capture_output=True, timeout=60)
                lg = subprocess.run([LOADGEN, '-u', url, '-c', str(c), '-d', f'{secs}s',
                                     '-t', '5000'], capture_output=True, text=True,
                                    timeout=secs + 60)
                with open(os.path.join(d, 'loadgen.out'), 'w') as fh:
                    fh.write(lg.stdout + lg.stderr)
                r = {'key': key, 'label': label, 'round': rnd,
                     'idx': [x[0] for x in cfgs].index(key), 'lg': parse_kv(lg.stdout)}
                progress(f'  {label:48s} round {rnd}: {r["lg"].get("rps", 0):.0f} req/s, '
                         f'p50 {fmt(r["lg"].get("p50_ms"))} p99 {fmt(r["lg"].get("p99_ms"))} ms')
                return r

            r = measure(tool, f'{label} round {rnd}',
                        {'key': key, 'label': label, 'round': rnd}, body)
            out.append(r)
            summary['s6'] = {'runs': out, 'autogroup': autogroup, 'conc': c, 'secs': secs}
            save()


# ------------------------------------------------------------ servers

def sv_run(srv, who, load, factory):
    """One server, reloaded its own way (who = 'own') or by baton, under
    the compatibility suite's load (Connection: close or keep-alive)."""
    from servers import CLIENTS, REQ_TIMEOUT_MS
    name = f'sv-{srv.key}-{load}-{who}'
    d = os.path.join(RAW, name)
    os.makedirs(d, exist_ok=True)
    port = free_port()
    tool = factory(d, port)
    tl = os.path.join(d, 'timeline')
    n, iv, lead, tail = P.sv_reloads, P.sv_interval, P.sv_lead, P.sv_tail
    args = [LOADGEN, '-u', f'http://127.0.0.1:{port}/', '-c', str(CLIENTS),
            '-d', f'{int(lead + n * 10 + tail + 60)}s', '-n', '50000000',
            '-t', str(REQ_TIMEOUT_MS), '-p', f'{srv.key}{who}-', '-r', tl]
    if load == 'keep-alive':
        args.append('-k')
    def reload():
        # A reload that has not finished by the deadline counts as failed,
        # and the next one goes on.
        t = time.monotonic()
        try:
            return tool.reload(timeout=P.sv_deadline)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            return {'start': t, 'end': time.monotonic(), 'ok': False, 'error': str(e)}

    sampler = None
    try:
        tool.start()
        # The load generator carries no tag: the memory is the server's.
        sampler = RssSampler(tool.tag, tool.roots)
        spans, out, err, t_end, t0 = reloads_under_load(tool, args, os.environ, n, iv,
                                                        lead, tail, reload)
    finally:
        if sampler:
            sampler.stop()
        tool.stop()
    with open(os.path.join(d, 'loadgen.out'), 'w') as f:
        f.write(out.decode() + err.decode())
    rep = parse_kv(out.decode())
    samples = read_timeline(tl)
    mem = [(t - t0, kb, np) for t, kb, np in sampler.samples]
    # A sample belongs to a reload when taken during it, or within one
    # interval after: the sampler may miss the very end.
    slack = RssSampler.INTERVAL
    in_rel = [(kb, np) for t, kb, np in mem
              if any(s['start'] <= t <= s['end'] + slack for s in spans)]
    steady = [kb for t, kb, _ in mem if WARM <= t < spans[0]['start']]
    res = {'server': srv.key, 'who': who, 'load': load, 'dir': name, 'run': RUN,
           'loadgen': rep, 'spans': spans,
           'reload_s': [s['end'] - s['start'] for s in spans],
           'reloads_ok': sum(1 for s in spans if s['ok']),
           'lost_hups': sum(s['lost_hups'] for s in spans),
           'mem_steady_kb': median(steady),
           'mem_peak_kb': max((kb for kb, _ in in_rel), default=None),
           'procs_peak': max((np for _, np in in_rel), default=None)}
    res.update(s1_windows(samples, spans, t_end))
    progress(f'  {srv.key:8s} {load:10s} {who:5s}: {int(rep.get("ok", 0))} ok, '
             f'{int(rep.get("failed", 0))} failed, p99 steady {fmt(res["steady"]["p99"])} / '
             f'reloads {fmt(res["reload"]["p99"])} ms, {res["reloads_ok"]}/{n} reloads, '
             f'median {median(res["reload_s"]):.2f} s, peak {(res["mem_peak_kb"] or 0) / 1024:.0f} MiB')
    return res


def scenario_servers():
    """Each server's own graceful reload against baton's, same load, one
    round; a server that is not installed is skipped with its package."""
    from servers import CLIENTS, REQ_TIMEOUT_MS, SERVERS
    progress(f'scenario servers: each server\'s own reload against baton '
             f'({P.sv_reloads} reloads, loadgen -c {CLIENTS})')
    out = {'runs': [], 'skipped': {}, 'versions': {}, 'servers': [], 'clients': CLIENTS,
           'timeout_ms': REQ_TIMEOUT_MS,
           'params': {k: v for k, v in P.as_dict().items() if k.startswith('sv_')},
           'quick': QUICK, 'smoke': SMOKE}
    pick = [k for k in os.environ.get('BENCH_SERVERS', '').split(',') if k]
    for srv in SERVERS:
        if pick and srv.key not in pick:
            continue
        out['servers'].append({'key': srv.key, 'name': srv.name, 'mechanism': srv.mechanism,
                               'timed': srv.timed, 'loads': list(srv.loads)})
        gone = srv.missing()
        if gone:
            progress(f'  {srv.key}: skipped, not installed: {", ".join(gone)}')
            out['skipped'][srv.key] = gone
            continue
        out['versions'][srv.key] = srv.version()
        for i, load in enumerate(srv.loads):
            # Who goes first alternates from one load to the next.
            for who, factory in turn([('own', srv.own), ('baton', srv.baton)], i + 1):
                try:
                    r = sv_run(srv, who, load, factory)
                except RUN_ERRORS as e:
                    progress(f'  {srv.key} {load} {who}: FAILED: {e}')
                    r = {'server': srv.key, 'who': who, 'load': load, 'error': str(e)}
                out['runs'].append(r)
                summary['servers'] = out
                save()
    summary['servers'] = out
    save()


# ------------------------------------------------------------ rollout

class TreeSampler(RssSampler):
    """Every INTERVAL seconds, the sum of VmRSS over ROOT() and every
    process that descends from it (the supervisor, its helpers and its
    workers; not a reload command, which is not below it), and how many
    of them are workers, running the app: (monotonic time, kB, workers).
    One pass over /proc a sample."""

    INTERVAL = 0.05

    def __init__(self, root):
        super().__init__(None, root)

    def _run(self):
        while not self.stopping:
            t = time.monotonic()
            root = self.roots()
            parent = parent_map()
            tree, grew = {root}, True
            while grew:
                more = {p for p, pp in parent.items() if pp in tree and p not in tree}
                tree |= more
                grew = bool(more)
            kb = 0
            for pid in tree:
                try:
                    with open(f'/proc/{pid}/statm') as f:
                        kb += int(f.read().split()[1]) * PAGE_KB
                except (OSError, ValueError, IndexError):
                    pass
            self.samples.append((t, kb, len(app_pids(tree - {root}))))
            time.sleep(max(0.0, self.INTERVAL - (time.monotonic() - t)))


RO_CONC = 32


def app_pids(pids):
    """Of PIDS, the workers: the processes running the app. Beside them a
    supervisor has helpers (baton's keeper, the ps that PM2 runs) and
    children that have exited and wait to be reaped."""
    out = []
    for pid in pids:
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if APP.encode() in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


def ro_tools():
    """(key, label, factory(d, port, env)) of scenario rollout: the seed's
    app with P.ro_workers workers, as scenario 1 runs it."""
    app = 'express-preload' if preload_available() else 'express-fd'
    w = P.ro_workers
    return [
        ('all', 'baton, rollout = all', lambda d, p, e: Baton(d, p, e, w, app)),
        ('rolling', 'baton, rollout = rolling',
         lambda d, p, e: Baton(d, p, e, w, app, keys=['rollout = rolling'])),
        ('pm2', f'PM2 cluster mode (-i {w})', lambda d, p, e: PM2(d, p, e, w)),
    ]


def ro_steer_refused(tool):
    """Why baton check refuses TOOL's configuration (the kernel will not
    steer: not root, no CAP_BPF, an old kernel), or None."""
    with open(tool.ini, 'w') as f:
        f.write(tool.conf())
    r = subprocess.run([BATON, 'check', '-c', tool.ini], capture_output=True,
                       text=True, timeout=30, env=tool.env)
    if r.returncode == 0:
        return None
    return (r.stderr.strip().splitlines() or [f'baton check exited {r.returncode}'])[-1]


def cv(values):
    """Coefficient of variation: the population standard deviation over
    the mean."""
    if not values or sum(values) == 0:
        return None
    m = sum(values) / len(values)
    return (sum((v - m) ** 2 for v in values) / len(values)) ** 0.5 / m


# The loads under which scenario rollout counts who answers: (key,
# connections, keep-alive). "light": the workers mostly idle, when a
# shared accept queue is at its most uneven.
RO_LOADS = (('close', RO_CONC, False), ('keepalive', RO_CONC, True), ('light', 2, False))


def ro_spread(tool, port, d, load, conc, keepalive, secs):
    """SECS of steady load at CONC connections; who answered each request
    (the app's body says "ok PID"): the count per worker, its workers
    that answered nothing counted as 0."""
    name = f'spread-{load}'
    answers = os.path.join(d, name)
    args = [LOADGEN, '-u', f'http://127.0.0.1:{port}/', '-c', str(conc),
            '-d', f'{secs}s', '-t', '5000', '-p', f'{name}-', '-a', answers]
    if keepalive:
        args.append('-k')
    lg = subprocess.run(args, capture_output=True, text=True, timeout=secs + 60,
                        env=dict(os.environ, BENCH_TAG=tool.tag))
    with open(os.path.join(d, f'{name}.out'), 'w') as f:
        f.write(lg.stdout + lg.stderr)
    counts = {p: 0 for p in app_pids(children(tool.sup_pid()))}
    with open(answers) as f:
        for line in f:
            a = line.split()
            if len(a) == 2 and a[1].isdigit():
                counts[int(a[1])] = counts.get(int(a[1]), 0) + 1
    v = list(counts.values())
    return {'counts': sorted(v, reverse=True), 'min': min(v, default=0),
            'max': max(v, default=0), 'cv': cv(v),
            'failed': int(parse_kv(lg.stdout).get('failed', 0))}


def ro_run(key, label, factory, rnd):
    name = f'ro-r{rnd}-{key}'
    d, port, work = run_dir(name)
    tool = factory(d, port, {'WORK_LOG': work})
    row = {'key': key, 'label': label, 'round': rnd, 'dir': name, 'run': RUN,
           'idx': [t[0] for t in ro_tools()].index(key)}
    if isinstance(tool, Baton) and tool.keys:
        why = ro_steer_refused(tool)
        if why:
            progress(f'  {label}: not run: {why}')
            return dict(row, error=why, refused=True)
    ids, tl = os.path.join(d, 'ids'), os.path.join(d, 'timeline')
    n, iv, lead, tail = P.ro_reloads, P.ro_interval, P.ro_lead, P.ro_tail
    sampler = None
    try:
        tool.start()
        # Every worker started (PM2's pm2 start returns before), then 2 s
        # of load for the JIT, before who answers is counted.
        end = time.monotonic() + 60
        while (len(app_pids(children(tool.sup_pid()))) < P.ro_workers
               and time.monotonic() < end):
            time.sleep(0.05)
        subprocess.run([LOADGEN, '-u', f'http://127.0.0.1:{port}/', '-c', '8', '-d', '2s',
                        '-q'], capture_output=True, timeout=60)
        spread = {load: ro_spread(tool, port, d, load, c, ka, P.ro_spread_secs)
                  for load, c, ka in RO_LOADS}
        sup = tool.sup_pid()
        sampler = TreeSampler(lambda: sup)
        spans, out, err, t_end, t0 = reloads_under_load(
            tool, [LOADGEN, '-u', f'http://127.0.0.1:{port}/', '-c', str(RO_CONC),
                   '-d', f'{int(lead + n * 30 + tail + 60)}s', '-n', '50000000',
                   '-t', '5000', '-p', f'{key}r{rnd}-', '-o', ids, '-r', tl],
            dict(os.environ, BENCH_TAG=tool.tag), n, iv, lead, tail)
    finally:
        if sampler:
            sampler.stop()
        tool.stop()
    rep = loadgen_report(d, out, err)
    answered, done = answered_done(ids, work)
    mem = [(t - t0, kb, nw) for t, kb, nw in sampler.samples]
    # A sample belongs to a reload when taken during it, or within one
    # interval after: the sampler may miss the very end.
    slack = TreeSampler.INTERVAL
    in_rel = [(kb, nw) for t, kb, nw in mem
              if any(s['start'] <= t <= s['end'] + slack for s in spans)]
    steady = [(kb, nw) for t, kb, nw in mem if WARM <= t < spans[0]['start']]
    res = dict(row, loadgen=rep, spans=spans, spread=spread,
               reload_s=[s['end'] - s['start'] for s in spans],
               reloads_ok=sum(1 for s in spans if s['ok']),
               lost=len(answered - done), answered=len(answered),
               mem_steady_kb=median([kb for kb, _ in steady]),
               mem_peak_kb=max((kb for kb, _ in in_rel), default=None),
               workers_steady=max((nw for _, nw in steady), default=None),
               workers_peak=max((nw for _, nw in in_rel), default=None),
               samples=len(mem))
    res.update(s1_windows(read_timeline(tl), spans, t_end))
    progress(f'  {label:32s} round {rnd}: {res["reloads_ok"]}/{n} reloads, median '
             f'{median(res["reload_s"]):.2f} s; {int(rep.get("failed", 0))} failed, lost '
             f'{res["lost"]}; p99 steady {fmt(res["steady"]["p99"])} / reloads '
             f'{fmt(res["reload"]["p99"])} ms; RSS {(res["mem_steady_kb"] or 0) / 1024:.0f} / '
             f'peak {(res["mem_peak_kb"] or 0) / 1024:.0f} MiB, workers '
             f'{res["workers_steady"]} / {res["workers_peak"]}; answers per worker '
             + ', '.join(f'{k} {v["counts"]}' for k, v in spread.items()))
    return res


def scenario_rollout():
    """4 workers of the seed's app: rollout = all, rollout = rolling and
    PM2 cluster mode; the spread of connections over the workers, then
    reloads under load with the memory sampled every 50 ms."""
    progress(f'scenario rollout: {P.ro_workers} workers, rollout = all and rolling against '
             f'PM2 ({P.ro_reloads} reloads, loadgen -c {RO_CONC})')
    out = {'runs': [], 'tools': [(k, lbl) for k, lbl, _ in ro_tools()],
           'conc': RO_CONC, 'loads': RO_LOADS, 'interval_s': TreeSampler.INTERVAL,
           'params': {k: v for k, v in P.as_dict().items() if k.startswith('ro_')},
           'rounds': P.rounds, 'quick': QUICK, 'smoke': SMOKE}
    for rnd in range(1, P.rounds + 1):
        for key, label, factory in turn(ro_tools(), rnd):
            try:
                r = ro_run(key, label, factory, rnd)
            except RUN_ERRORS as e:
                progress(f'  {label} round {rnd}: FAILED: {e}')
                r = {'key': key, 'label': label, 'round': rnd, 'error': str(e)}
            out['runs'].append(r)
            summary['rollout'] = out
            save()


def main():
    if sys.argv[1:] == ['--reanalyze']:
        reanalyze()
        return
    for f in (BATON, TESTSERVER, LOADGEN, PM2_BIN):
        if not os.access(f, os.X_OK):
            sys.exit(f'bench: {f} is missing (build with make; bench/run installs PM2)')
    os.makedirs(RAW, exist_ok=True)
    t = time.monotonic()
    full = ONLY >= set(ALL)
    prev = summary.get('meta')
    if full or not prev:
        summary['meta'] = machine()
    else:
        # A partial run: the report keeps the full run's date and duration
        # and says which scenarios were run again, when.
        m = machine()
        prev.setdefault('reruns', []).append({'only': sorted(ONLY), 'run': RUN,
                                              'date': m['date']})
        for k in ('baton', 'preload', 'node', 'pm2', 'express', 'server_starter', 'wrk'):
            prev[k] = m[k]
    save()
    m = summary['meta']
    progress(f'baton benchmarks, run {RUN}{" (quick)" if QUICK else ""}{" (smoke)" if SMOKE else ""}: '
             f'{m["nproc"]} CPUs, {m["cpu"]}; raw results in {RAW}')
    if not preload_available():
        progress(f'note: {PRELOAD_LIB} is missing: baton runs the fd variant of the app only')
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        for n, f in (('1', scenario1), ('6', scenario6), ('2', scenario2),
                     ('3', scenario3), ('4', scenario4), ('5', scenario5),
                     ('servers', scenario_servers), ('rollout', scenario_rollout)):
            if n in ONLY:
                f()
    finally:
        left = kill_all_tagged()
        if left:
            progress(f'killed {left} leftover process(es) of this run')
    took = round(time.monotonic() - t)
    if full or 'duration_s' not in summary['meta']:
        summary['meta']['duration_s'] = took
    else:
        summary['meta']['reruns'][-1]['duration_s'] = took
    save()
    progress(f'done in {took // 60} min {took % 60} s')


if __name__ == '__main__':
    main()
