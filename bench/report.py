#!/usr/bin/env python3
"""Writes docs/benchmarks.md, docs/bench-latency.png and docs/bench-scale.png
from bench/results/report/ (summary.json and plot data, written by
bench/bench.py).

    python3 bench/report.py      (or: bench/run --report)
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import BENCH, CLK_TCK, ROOT, median  # noqa: E402

REPORT = os.path.join(BENCH, 'results', 'report')
DOCS = os.path.join(ROOT, 'docs')
S = json.load(open(os.path.join(REPORT, 'summary.json')))
META = S.get('meta', {})
P = META.get('params', {})
R = P.get('rounds', 0)
PRE = META.get('preload')

NAMES = {
    'baton': 'baton (preload)', 'baton-fd': 'baton (fd variant)',
    'baton-prio': 'baton (preload, start_priority)',
    'baton-warm': 'baton (preload, start_priority, warmup)',
    'pm2': 'PM2 cluster mode', 'starter': 'Server::Starter', 'naive': 'naive restart',
}
PEERS = ['pm2', 'starter', 'naive']

# Why a peer can come out ahead of baton on a figure. These hold by how the
# tools work; the notes that use them quote the measured figures.
WHY = {
    ('s1', 'p99', 'pm2'):
        'PM2 replaces one worker at a time, so only one Node process starts up '
        'at any moment, while baton starts the whole new generation (2 processes) '
        'at once: on 2 CPUs, which the load generator and the serving workers '
        'already fill, the start-up of two Node processes slows the answers of the '
        'old ones more. PM2 pays for it with reloads that take longer.',
    ('s1', 'p99', 'starter'):
        'Server::Starter works like baton here: it holds the socket, no proxy sits in '
        'the data path, and it starts the new generation (one process with two children) '
        'at once; the two should be close.',
    ('s1', 'p99', 'naive'):
        'The naive restart has fewer requests in its reload windows to be slow: '
        'while nothing listens, connections are refused at once and counted as failed, '
        'not as slow answers.',
    ('s1', 'sp99', 'starter'):
        'Between reloads baton is not involved at all (scenario 4: it does not even '
        'wake up), and Server::Starter\'s data path is the same as baton\'s: the steady '
        'window is short (from 1 s to the first trigger). Scenario 6 measures this steady state alone, for '
        'longer, and Server::Starter also the way baton starts its workers (a session '
        'each).',
    ('s1', 'sp99', 'pm2'):
        'Between reloads baton is not involved at all (scenario 4); see scenario 6 for a '
        'longer steady-state measurement.',
    ('s1', 'sp99', 'naive'):
        'Between restarts baton is not involved at all (scenario 4); see scenario 6 for a '
        'longer steady-state measurement.',
    ('s1', 'rrps', 'pm2'):
        'PM2 starts one new worker at a time, leaving more CPU to serving during a reload.',
    ('s1', 'rrps', 'starter'):
        'Both start two Node processes at once and drain the old ones the same way; '
        'Server::Starter does not wait for the new ones to be ready (it signals the old '
        'worker after its fixed 1 s), baton does. Compare the ranges over the rounds.',
    ('s1', 'rps', 'pm2'):
        'PM2 starts one new worker at a time, leaving more CPU to serving during a reload.',
    ('s1', 'rps', 'starter'):
        'Same data path as baton (the workers accept on the socket themselves), and '
        'baton is idle between reloads; the rounds vary a lot on this shared 2-CPU '
        'machine (compare the ranges; scenario 6 measures the steady state for longer).',
    ('s1', 'rps', 'naive'):
        'The naive restart serves fewer requests during its restarts (it refuses them), '
        'which leaves the CPU to the processes that do serve.',
    ('s1', 'time', 'pm2'): '',
    ('s1', 'time', 'starter'):
        'Server::Starter does not wait for the new worker to be ready: it signals the '
        'old one a fixed `--interval` (1 s) after starting the new one, ready or not. '
        'baton waits for READY=1 (or listen()), which under this load comes later than '
        '1 s: its reloads are longer, but no moment is left with nobody accepting.',
    ('s1', 'time', 'naive'):
        'The naive restart stops the old processes first and starts the new ones after, '
        'so it pays the same two waits (the drain and the start-up) as baton, without '
        'the overlap; when it is faster, it is because a start-up on an idle port '
        'competes with no serving workers for the CPU.',
    ('s3', 'baton'):
        'baton is not in the data path: the workers accept on the socket baton '
        'holds and talk to the clients directly, exactly as when the server runs alone '
        '(baton does not even wake up: see scenario 4).',
}

def configs(runs):
    """(key, label, its runs) of each configuration the runs measured,
    once, in the order the scenario lists them (idx)."""
    keys = []
    for r in sorted(runs, key=lambda r: r.get('idx', 0)):
        if (r['key'], r['label']) not in keys:
            keys.append((r['key'], r['label']))
    return [(key, label, [r for r in runs if r['key'] == key]) for key, label in keys]


def num(x, nd=1):
    if x is None:
        return 'n/a'
    if nd == 0:
        return f'{x:,.0f}'
    return f'{x:,.{nd}f}'


def ms(x, nd=1):
    return 'n/a' if x is None else f'{x * 1000:,.{nd}f}'


def ratio(a, b, nd=2):
    if a is None or b is None:
        return 'n/a'
    if b == 0:
        return '1× (both 0)' if a == 0 else 'n/a (÷0)'
    return f'{a / b:.{nd}f}×'


class Report:
    """docs/benchmarks.md as it is written: its lines, and the notes for
    its section "Where baton is not ahead"."""

    def __init__(self):
        self.lines = []
        self.notes = []

    def line(self, s=''):
        self.lines.append(s)

    def note(self, s):
        self.notes.append(s)

    def table(self, head, rows):
        self.line('| ' + ' | '.join(head) + ' |')
        self.line('| --- |' + ' ---: |' * (len(head) - 1))
        for r in rows:
            self.line('| ' + ' | '.join(str(c) for c in r) + ' |')
        self.line()

    def ok_runs(self, runs, what):
        """The runs that completed; each one that did not is noted."""
        for r in runs:
            if 'error' in r:
                self.note(f'{what}: "{r.get("label", "?")}" round {r.get("round")} did not '
                          f'complete: {r["error"]}')
        return [r for r in runs if 'error' not in r]

    def section(self, key, n, title):
        """Scenario KEY's results and its runs that completed; when any
        did, the heading of section N, TITLE, is written."""
        sec = S.get(key)
        runs = self.ok_runs(sec['runs'], f'Scenario {n}') if sec else []
        if runs:
            self.line(f'## {n}. {title}')
            self.line()
        return sec, runs

    def write(self, path):
        with open(path, 'w') as fh:
            fh.write('\n'.join(self.lines))


def gnuplot(script, name):
    path = os.path.join(REPORT, name)
    with open(path, 'w') as fh:
        fh.write(script)
    r = subprocess.run(['gnuplot', path], capture_output=True, text=True, cwd=REPORT)
    if r.returncode != 0:
        print(f'report: gnuplot {name}: {r.stderr}', file=sys.stderr)


# ---------------------------------------------------------------- header

def header(rep):
    m = META
    mode = ''
    if m.get('quick'):
        mode = ' with BENCH_QUICK=1 (one round, shorter loads: indicative only)'
    if m.get('smoke'):
        mode = ' with BENCH_SMOKE=1 (a machinery check at -c 4: not figures to quote)'
    d = m.get('duration_s', 0)
    rep.line('# Benchmarks')
    rep.line()
    rep.line('baton against what the seed story uses, or could use, to reload the same '
             'Express app: PM2 cluster mode (`pm2 reload`, as the post does), Server::Starter '
             '(`start_server`, SIGHUP) and a naive stop-then-start restart. Every figure comes '
             f'from one run of `make bench` (`bench/run`){mode}, written into this file by '
             '`bench/report.py`: nothing here is typed in by hand, except the prose around the '
             'tables.')
    rep.line()
    rep.line(f'- **Date**: {m.get("date")}; run `{m.get("run")}`; `make bench` took '
             f'{d // 60} min {d % 60} s. {R} round{"s" if R != 1 else ""} of every scenario; '
             'baton and its peers alternate within each round, in an order that turns from '
             'round to round; the tables give medians over the rounds unless they say total.')
    rep.line(f'- **Machine**: {m.get("nproc")} CPUs ({m.get("cpu")}), {m.get("mem_gib")} GiB of '
             f'memory, Linux {m.get("kernel")}, {m.get("os")}. The load generator, the supervisor '
             'and the servers share these CPUs, and the machine may be shared with other work: '
             'compare the tools within a table, not with figures from another machine.')
    rep.line(f'- **Versions**: {m.get("baton")}; Node {m.get("node")}; PM2 {m.get("pm2")} '
             f'(from `bench/package-lock.json`; `pm2 --version` would start a daemon); Express {m.get("express")}; Server::Starter '
             f'{m.get("server_starter")} (`dpkg-query -W libserver-starter-perl`; perl '
             f'{m.get("perl")}); {m.get("wrk")}; {m.get("gnuplot")}.')
    for rr in m.get('reruns', []):
        d_ = rr.get('duration_s', 0)
        if rr['only'] == ['servers']:
            rep.line(f'- Section 7 (each server\'s own reload) was run on {rr["date"]} (run '
                     f'`{rr["run"]}`, `BENCH_ONLY=servers bench/run`, {d_ // 60} min {d_ % 60} s); '
                     'its figures are from that run.')
            continue
        if rr['only'] == ['rollout']:
            rep.line(f'- Section 8 (rollouts) was run on {rr["date"]} (run '
                     f'`{rr["run"]}`, `BENCH_ONLY=rollout bench/run`, {d_ // 60} min {d_ % 60} s); '
                     'its figures are from that run.')
            continue
        rep.line(f'- Scenario{"s" if len(rr["only"]) > 1 else ""} {", ".join(rr["only"])} '
                 f'were run (again) on {rr["date"]} (run `{rr["run"]}`, `BENCH_ONLY={",".join(rr["only"])} '
                 f'bench/run`, {d_ // 60} min {d_ % 60} s); the figures shown are from that run.')
    rep.line('- Every load goes to 127.0.0.1 and is bounded in requests and time.')
    rep.line()
    rep.line('## How to reproduce')
    rep.line()
    rep.line('```sh')
    rep.line('make bench                  # = bench/run: installs what is missing, runs all, writes this file')
    rep.line('BENCH_QUICK=1 make bench    # one round, shorter loads (about 10 minutes)')
    rep.line('BENCH_ONLY=1,3 bench/run    # some scenarios only; the others keep their last figures')
    if S.get('servers'):
        rep.line('BENCH_ONLY=servers bench/run  # section 7 only: each server\'s own reload against baton')
    if S.get('rollout'):
        rep.line('BENCH_ONLY=rollout bench/run  # section 8 only: rollout = all and rolling against PM2, 4 workers')
    rep.line('bench/run --report          # rewrite this file and the plots from bench/results/report/')
    rep.line('```')
    rep.line()
    rep.line('`bench/run` installs what is missing: `apt-get install -y libserver-starter-perl '
             'wrk gnuplot-nox` (and python3, nodejs, npm), then `npm ci` in `bench/` for PM2 and '
             'Express from `bench/package-lock.json` into `bench/node_modules` (nothing global). '
             'PM2 runs with a private `PM2_HOME` in each run\'s folder and is `pm2 kill`ed after '
             'it. Raw results (logs, loadgen timelines, answered ids, work logs, wrk output) go to '
             f'`bench/results/raw/RUN/` (this run: `{m.get("run")}`, not committed); '
             '`bench/results/report/` keeps the summary and the plot data this file is made from.')
    rep.line()
    ae = m.get('app_env', {})
    rep.line('**The same settings for every tool.** The app is the seed\'s, '
             '`examples/express/app.js`: it answers, then does its asynchronous work `WORK_MS` '
             'later (it appends the request id to `WORK_LOG`); on SIGINT it calls '
             '`server.close`, waits `CLOSE_WAIT_MS` and exits (and forces an exit at '
             '`FORCE_MS`). Everywhere: ' + ', '.join(f'`{k}={v}`' for k, v in sorted(ae.items()))
             + ' (the post\'s 10 s wait shortened to 1 s; its 15 s force exit kept). Drain: '
             'baton `drain_signal = SIGINT`, `drain_timeout = 15s`; PM2 `--kill-timeout 15000` '
             'as in the post; Server::Starter `--signal-on-hup=INT --signal-on-term=INT` (it has '
             'no deadline); naive: SIGINT, then wait for the exit.')
    rep.line()
    rep.line('**Which app each tool runs.**')
    rep.line()
    rep.line('- PM2 and the naive restart run the unmodified app, which binds its port itself: '
             'PM2 cluster mode and `bench/cluster-app.js` (the naive restart) use Node\'s '
             'cluster module, whose primary binds the port, accepts every connection and '
             'hands it to a worker in turn.')
    if PRE:
        rep.line('- baton runs the unmodified app with `preload = yes` (the bind() interposer, '
                 '`ready = listen`): **baton (preload)**; and the fd variant below with '
                 '`ready = notify`: **baton (fd variant)**.')
    else:
        rep.line('- baton: the preload interposer (`.libs/libbaton-preload.so`) did not exist yet '
                 'when this run was made, so baton runs the fd variant below, with `ready = '
                 'notify` (`READY=1` written to `BATON_FD`): **baton (fd variant)**. Once the '
                 'interposer is built, the same `make bench` also measures the unmodified app '
                 'under baton (`preload = yes`, `ready = listen`).')
    rep.line('- Server::Starter passes its socket in `SERVER_STARTER_PORT`; the unmodified app '
             'cannot use it (it calls `server.listen(3000)`), so it runs the **fd variant**, '
             '`bench/fd-app.js`: a wrapper that loads the unchanged `app.js` and turns its '
             '`listen(PORT)` into `listen({fd})`. Server::Starter starts one process per '
             'generation, so for 2 workers that process (`BENCH_PREFORK=2`) starts two '
             'children on the passed socket and relays the drain signal to them, as a prefork '
             'server does. Server::Starter takes a new worker as ready when it is still alive '
             '`--interval` (1 s by default) after it started: it has no readiness protocol.')
    rep.line()


# ---------------------------------------------------------------- scenario 1

HEAD = {}


def s1_agg(runs, key, conc):
    rs = [r for r in runs if r['tool'] == key and r['conc'] == conc]
    if not rs:
        return None
    a = {'runs': rs, 'tool': key}
    a['lost_hups'] = sum(r.get('lost_hups', 0) for r in rs)
    a['reloads_ok'] = sum(r['reloads_ok'] for r in rs)
    a['reloads'] = sum(len(r['spans']) for r in rs)
    a['reload_s'] = median([median(r['reload_s']) for r in rs])
    a['ok'] = median([r['loadgen'].get('ok') for r in rs])
    a['failed'] = sum(int(r['loadgen'].get('failed', 0)) for r in rs)
    a['fails'] = {}
    for r in rs:
        for k in ('refused', 'reset', 'eof', 'timeout', 'bad_status', 'other'):
            a['fails'][k] = a['fails'].get(k, 0) + int(r['loadgen'].get(k, 0))
    a['lost'] = sum(r['lost'] for r in rs)
    a['answered'] = sum(r['answered'] for r in rs)
    a['rps_all'] = median([r['all']['rps'] for r in rs])
    a['rps'] = median([r['steady']['rps'] for r in rs])
    a['rps_rel'] = median([r['reload']['rps'] for r in rs])
    a['rps_range'] = (min(r['steady']['rps'] for r in rs), max(r['steady']['rps'] for r in rs))
    a['rrps_range'] = (min(r['reload']['rps'] for r in rs), max(r['reload']['rps'] for r in rs))
    a['sp99_range'] = (min(r['steady']['p99'] or 0 for r in rs),
                       max(r['steady']['p99'] or 0 for r in rs))
    for win in ('steady', 'reload'):
        for q in ('p50', 'p99', 'max'):
            a[f'{win}_{q}'] = median([r[win][q] for r in rs])
    a['p99_range'] = (min(r['reload']['p99'] or 0 for r in rs),
                      max(r['reload']['p99'] or 0 for r in rs))
    return a


def scenario1(rep):
    s1, runs = rep.section('s1', 1, 'Reload under load')
    if not runs:
        return
    tools = [k for k, _ in s1['tools'] if any(r['tool'] == k for r in runs)]
    bk = 'baton' if 'baton' in tools else 'baton-fd'
    HEAD['bk'] = bk
    concs = sorted({r['conc'] for r in runs})
    rep.line(f'The app with 2 workers; `test/loadgen` keeps {" and ".join(map(str, concs))} '
             'connections busy (a new connection per request, `Connection: close`, 5 s '
             f'timeout). After {P.get("s1_lead")} s of steady state come {P.get("s1_reloads")} '
             f'reloads, one every {P.get("s1_interval")} s, or as soon as the previous one has '
             'finished when it takes longer, then '
             f'{P.get("s1_tail")} s of steady state. A reload has finished when its old workers '
             'have exited: `baton reload` and `pm2 reload` return then; for Server::Starter, when '
             'it logs that the old worker died; for the naive restart, when the new processes '
             'answer. Then the tool is stopped gracefully, and **lost work** is the number of ids '
             'answered 200 that never reached `WORK_LOG` once every process had exited. Latencies '
             'are those of the requests answered 200, placed by the time the request started: '
             '**during reloads** = between a trigger and the end of that reload; **steady** = '
             f'from the end of the first second to the first trigger ({P.get("s1_lead", 1) - 1:g} s, '
             'the same stretch for every tool: the gaps between later reloads follow a fresh '
             'start of the workers, and how many there are depends on how long each tool takes '
             'to reload). Throughput counts answers 200 in each kind of window, per second of '
             'that window (a whole-run figure would depend on how long each tool spends '
             'reloading).')
    rep.line()
    rep.line('Commands (PORT, FILE and DIR differ per run; see each run\'s folder):')
    rep.line()
    rep.line('```sh')
    rep.line('test/loadgen -u http://127.0.0.1:PORT/ -c C -d 120s -n 50000000 -t 5000 -p PREFIX -o ids -r timeline   # stopped with SIGINT')
    if PRE:
        rep.line('BATON_PRELOAD_LIB=$PWD/.libs/libbaton-preload.so baton run -c FILE   # command = node examples/express/app.js; workers = 2; ready = listen; preload = yes')
    rep.line('baton run -c FILE     # command = node bench/fd-app.js examples/express/app.js; workers = 2; ready = notify')
    rep.line('baton reload -c FILE  # each reload')
    rep.line('PM2_HOME=DIR pm2 start examples/express/app.js -i 2 --kill-timeout 15000 --name express')
    rep.line('PM2_HOME=DIR pm2 reload express   # each reload; PM2_HOME=DIR pm2 kill at the end')
    rep.line('BENCH_PREFORK=2 start_server --port=127.0.0.1:PORT --signal-on-hup=INT --signal-on-term=INT -- node bench/fd-app.js examples/express/app.js')
    rep.line('kill -HUP $START_SERVER_PID      # each reload')
    rep.line('node bench/cluster-app.js examples/express/app.js   # naive: kill -INT, wait for the exit, start again')
    rep.line('```')
    rep.line()
    A = {(k, c): s1_agg(runs, k, c) for k in tools for c in concs}
    HEAD['s1'] = A
    # The variant rows are named with the keys they ran with.
    for k in ('baton-prio', 'baton-warm'):
        m = [re.search(r'start_priority = .*\)$', r.get('label', '')) for r in runs
             if r['tool'] == k]
        if m and all(m) and len({x.group(0) for x in m}) == 1:
            NAMES[k] = 'baton (preload, ' + m[0].group(0)
    for c in concs:
        cols = [k for k in tools if A[(k, c)]]
        rep.line(f'### {c} concurrent connections')
        rep.line()

        def row(name, fn):
            return [name] + [fn(A[(k, c)]) for k in cols]

        def kinds(a):
            parts = [f'{k} {v:,}' for k, v in a['fails'].items() if v]
            return ', '.join(parts) if parts else '–'
        nr = len(A[(cols[0], c)]['runs'])
        rep.table([''] + [f'**{NAMES[k]}**' for k in cols], [
            row('reloads that succeeded', lambda a: f'{a["reloads_ok"]}/{a["reloads"]}'),
            row(f'SIGHUPs not acted on (total of {nr} runs)',
                lambda a: f'{a["lost_hups"]}' if a['tool'] == 'starter' else '–'),
            row('time per reload (trigger → old workers gone), s', lambda a: num(a['reload_s'], 2)),
            row(f'**failed requests** (total of {nr} runs)', lambda a: f'**{a["failed"]:,}**'),
            row('… by kind', kinds),
            row(f'**lost async work** (total of {nr} runs)',
                lambda a: f'**{a["lost"]:,}** of {a["answered"]:,}'),
            row('throughput steady, req/s', lambda a: num(a['rps'], 0)),
            row('throughput during reloads, req/s', lambda a: num(a['rps_rel'], 0)),
            row('steady p50 / p99 / max, ms',
                lambda a: f'{num(a["steady_p50"])} / {num(a["steady_p99"])} / {num(a["steady_max"])}'),
            row('**during reloads** p50 / **p99** / max, ms',
                lambda a: f'{num(a["reload_p50"])} / **{num(a["reload_p99"])}** / {num(a["reload_max"])}'),
        ])
        b = A.get((bk, c))
        peers = [k for k in cols if k in PEERS]
        if b and peers:
            rr = []
            for k in peers:
                p = A[(k, c)]
                rr.append([f'{NAMES[bk]} / {NAMES[k]}',
                           f'{b["failed"]:,} vs {p["failed"]:,}',
                           f'{b["lost"]:,} vs {p["lost"]:,}',
                           ratio(b['reload_p99'], p['reload_p99']),
                           ratio(b['reload_max'], p['reload_max']),
                           ratio(b['steady_p99'], p['steady_p99']),
                           ratio(b['rps'], p['rps']),
                           ratio(b['rps_rel'], p['rps_rel']),
                           ratio(b['reload_s'], p['reload_s'])])
            rep.line('Ratios, baton over each peer (below 1× is better for baton, except '
                     'throughput):')
            rep.line()
            rep.table(['', 'failed requests', 'lost work', 'p99 during reloads',
                   'max during reloads', 'steady p99', 'throughput steady',
                   'throughput during reloads', 'time per reload'], rr)
            for k in peers:
                s1_notes(rep, b, A[(k, c)], k, c)
            # The variant's lower tail has a price in time: say it where it
            # is more than a peer's.
            v = A.get(('baton-prio', c))
            for k in (('pm2', 'starter') if v else ()):
                p = A.get((k, c))
                if p and (v['reload_s'] or 0) > (p['reload_s'] or 0) * 1.05:
                    rep.note(
                        f'Scenario 1, {c} connections, against {NAMES[k]}: a reload takes '
                        f'{num(v["reload_s"], 2)} s with {NAMES["baton-prio"]}, '
                        f'{num(p["reload_s"], 2)} s with {NAMES[k]}. That is the price of '
                        'its lower tail: the new generation starts at low priority, on '
                        'the CPU the serving one leaves, which on these 2 busy CPUs is '
                        'little; without start_priority a reload takes '
                        f'{num(A[("baton", c)]["reload_s"], 2) if A.get(("baton", c)) else "–"} s.')
        if 'baton' in cols and 'baton-fd' in cols:
            a1, a2 = A[('baton', c)], A[('baton-fd', c)]
            rep.line('The unmodified app under baton (preload) over the fd variant under baton: '
                     f'p99 during reloads {ratio(a1["reload_p99"], a2["reload_p99"])}, throughput '
                     f'{ratio(a1["rps"], a2["rps"])}, time per reload '
                     f'{ratio(a1["reload_s"], a2["reload_s"])}; failed requests {a1["failed"]:,} '
                     f'vs {a2["failed"]:,}, lost work {a1["lost"]:,} vs {a2["lost"]:,}.')
            rep.line()
        s1_tail(rep, A, cols, c)
    lh = sum(r.get('lost_hups', 0) for r in runs)
    if lh:
        nst = sum(len(r['spans']) for r in runs if r['tool'] == 'starter')
        rep.line(f'**Server::Starter missed {lh} of {nst + lh} SIGHUPs** in this scenario. '
                 'start_server records a signal in its handler and acts on it in its main loop, '
                 'which blocks in wait3() until a child exits; a HUP that lands between its check '
                 'for pending signals and that call waits there until the next signal or child '
                 'exit. Here that is a HUP sent just as an old worker exits (the reload before '
                 'took longer than the interval, so the next one followed at once). The benchmark '
                 'sends a HUP that has not been acted on after 5 s again, and times the reload from '
                 'the one that worked; a user whose deploy script sends one HUP gets no reload at '
                 'all. baton receives signals as events of its event loop (libevent), so a SIGHUP '
                 'wakes it whatever it is waiting for; one that comes while a generation is '
                 'starting is coalesced into a reload that runs after it.')
        rep.line()
    plot_latency(runs, tools, concs)
    rep.line('![Latency over time across reloads](bench-latency.png)')
    rep.line()
    rep.line(f'`docs/bench-latency.png`: one run per tool at {HEAD.get("plot_conc")} connections (the '
             'round whose p99 during reloads is the median of its rounds), in 100 ms bins by '
             'request start: the median (p50) and the maximum latency of the requests answered '
             '200 in the bin (log scale), the failed requests per bin (red, right axis), and each '
             'reload shaded from its trigger (dashed line) to its end.')
    rep.line()


def s1_tail_ratio(a, window=lambda r: r['reload']):
    """p99 during reloads (or in WINDOW(run)) over steady p99: the median
    of the rounds' own ratios, and their range."""
    rs = [window(r)['p99'] / r['steady']['p99'] for r in a['runs']
          if window(r) and window(r)['p99'] and r['steady']['p99']]
    return (median(rs), min(rs), max(rs)) if rs else None


def s1_phase_ratio(a, w):
    """The same for one part of the reload windows (s1_phases in bench.py),
    with the median length of that part after the ratio and its range."""
    t = s1_tail_ratio(a, lambda r: r.get('phases', {}).get(w))
    if not t:
        return None
    return t + (median([r['phases'][f'{w}_s'] for r in a['runs'] if r.get('phases')]),)


def s1_tail(rep, A, cols, c):
    """How much each tool's tail grows during reloads, with its cost in
    time per reload; and which baton rows stay below each peer."""
    T = {k: s1_tail_ratio(A[(k, c)]) for k in cols}
    P = {k: {w: s1_phase_ratio(A[(k, c)], w) for w in ('before', 'after')} for k in cols}

    def phase(k, w):
        v = P[k][w]
        return f'{v[0]:.2f}× ({v[3]:.2f} s)' if v else '–'
    rows = [[f'**{NAMES[k]}**', f'{T[k][0]:.2f}× ({T[k][1]:.2f}–{T[k][2]:.2f})',
             phase(k, 'before'), phase(k, 'after'),
             num(A[(k, c)]['reload_s'], 2)] for k in cols if T[k]]
    if not rows:
        return
    rep.line(f'**The tail during reloads**, {c} connections: p99 during reloads over steady '
             'p99, the median of the rounds\' own ratios (their range), beside the time per '
             'reload. For baton the window is also cut where the new generation takes over '
             '(its log\'s "active after"): before the switch the new generation starts while '
             'the old one serves; after it the new one serves, cold, while the old one drains '
             '(the same median ratio, and how long that part of a reload lasts):')
    rep.line()
    rep.table(['', 'p99 during reloads / steady p99', 'before the switch', 'after the switch',
               'time per reload, s'], rows)
    peers = [k for k in ('pm2', 'starter') if T.get(k)]
    said = []
    for k in ('baton', 'baton-prio', 'baton-warm'):
        if not T.get(k) or not peers:
            continue
        below = [NAMES[p] for p in peers if T[k][0] < T[p][0]]
        above = [NAMES[p] for p in peers if T[k][0] >= T[p][0]]
        txt = f'{NAMES[k]} ({T[k][0]:.2f}×) is below '
        txt += ' and '.join(f'{n}' for n in below) if below else 'neither peer'
        if above and below:
            txt += ', not ' + ' or '.join(above)
        said.append(txt)
    if said:
        line = '; '.join(said) + '.'
        if T.get('baton') and T.get('baton-prio'):
            line += (f' start_priority (the new generation\'s session at a lower CPU share '
                     f'until ready) takes the ratio from {T["baton"][0]:.2f}× to '
                     f'{T["baton-prio"][0]:.2f}× and p99 during reloads from '
                     f'{num(A[("baton", c)]["reload_p99"])} to '
                     f'{num(A[("baton-prio", c)]["reload_p99"])} ms, at a cost of '
                     f'{num(A[("baton", c)]["reload_s"], 2)} → '
                     f'{num(A[("baton-prio", c)]["reload_s"], 2)} s per reload.')
            pb, pp = P['baton'], P['baton-prio']
            if pb['before'] and pb['after'] and pp['before'] and pp['after']:
                line += (f' What it changes is the part before the switch: the new '
                         f'generation\'s start-up took the p99 there to '
                         f'{pb["before"][0]:.2f}× steady, and at lower priority '
                         f'{pp["before"][0]:.2f}×, over {pp["before"][3]:.2f} s instead of '
                         f'{pb["before"][3]:.2f} s. After the switch the new workers serve '
                         f'cold (their JIT has not run the app\'s code yet) and the p99 is '
                         f'{pp["after"][0]:.2f}× steady for {pp["after"][3]:.2f} s '
                         f'({pb["after"][0]:.2f}× without start_priority).')
        if T.get('baton-prio') and T.get('baton-warm'):
            line += (f' warmup (the new generation\'s share of new connections rising '
                     f'to all over a few seconds instead of at once) takes it on to '
                     f'{T["baton-warm"][0]:.2f}× and '
                     f'{num(A[("baton-warm", c)]["reload_p99"])} ms, at '
                     f'{num(A[("baton-warm", c)]["reload_s"], 2)} s per reload.')
        rep.line(line)
        rep.line()


# The figures of scenario 1 that s1_notes() compares with their range over
# the rounds: key, range key, what it is, unit, digits, WHY's key. A latency
# (ms) is worse when over 5% higher, a throughput when over 3% lower.
S1_RANGED = (
    ('reload_p99', 'p99_range', 'p99 during reloads', 'ms', 1, 'p99'),
    ('rps', 'rps_range', 'steady throughput', 'req/s', 0, 'rps'),
    ('rps_rel', 'rrps_range', 'throughput during reloads', 'req/s', 0, 'rrps'),
    ('steady_p99', 'sp99_range', 'steady p99', 'ms', 1, 'sp99'),
)


def s1_notes(rep, b, p, k, c):
    lbl = f'{c} connections, against {NAMES[k]}'
    if b['failed'] > p['failed']:
        rep.note(f'Scenario 1, {lbl}: baton failed {b["failed"]:,} requests, '
                 f'{NAMES[k]} {p["failed"]:,}.')
    if b['lost'] > p['lost']:
        rep.note(f'Scenario 1, {lbl}: baton lost {b["lost"]:,} units of work, '
                 f'{NAMES[k]} {p["lost"]:,}.')
    for key, rng, what, unit, nd, why in S1_RANGED:
        if unit == 'ms':
            worse = (b[key] or 0) > (p[key] or 0) * 1.05
        else:
            worse = (b[key] or 0) < (p[key] or 0) * 0.97
        if not worse:
            continue
        rep.note(
            f'Scenario 1, {lbl}: {what} {num(b[key], nd)} {unit} for baton '
            f'(rounds: {num(b[rng][0], nd)}–{num(b[rng][1], nd)}), {num(p[key], nd)}'
            f'{" ms" if unit == "ms" else ""} for {NAMES[k]} (rounds: {num(p[rng][0], nd)}–'
            f'{num(p[rng][1], nd)}). ' + WHY.get(('s1', why, k), ''))
    if (b['reload_s'] or 0) > (p['reload_s'] or 0) * 1.05:
        rep.note(
            f'Scenario 1, {lbl}: a reload takes {num(b["reload_s"], 2)} s with baton, '
            f'{num(p["reload_s"], 2)} s with {NAMES[k]}. ' + WHY.get(('s1', 'time', k), ''))


def plot_latency(runs, tools, concs):
    """docs/bench-latency.png from the bins of one run per tool."""
    conc = max(concs)
    HEAD['plot_conc'] = conc
    order = [k for k in [HEAD['bk'], 'pm2', 'starter', 'naive'] if k in tools]
    panels = []
    for k in order:
        rs = sorted([r for r in runs if r['tool'] == k and r['conc'] == conc],
                    key=lambda r: r['reload']['p99'] or 0)
        if not rs:
            continue
        r = rs[(len(rs) - 1) // 2]
        dat = os.path.join(REPORT, f'latency-{k}.dat')
        src = os.path.join(BENCH, 'results', 'raw', r.get('run', META.get('run', '')),
                           r['dir'], 'bins.dat')
        if os.path.exists(src):
            shutil.copyfile(src, dat)
            with open(os.path.join(REPORT, f'latency-{k}.json'), 'w') as fh:
                json.dump({'round': r['round'], 'conc': conc, 'spans': r['spans']}, fh)
        if not os.path.exists(dat):
            continue
        with open(os.path.join(REPORT, f'latency-{k}.json')) as fh:
            spans = json.load(fh)['spans']
        panels.append((k, dat, spans, r))
    if not panels:
        return
    xmax = max(max(float(l.split()[0]) for l in open(d) if l.strip()) for _, d, _, _ in panels)
    import math
    vals = [float(x) for _, d, _, _ in panels for l in open(d) if l.strip()
            for x in (l.split()[1], l.split()[3]) if float(x) > 0]
    ymin = 10 ** math.floor(math.log10(min(vals))) if vals else 0.1
    ymax = 10 ** math.ceil(math.log10(max(vals))) if vals else 10 ** 4
    g = ['set terminal pngcairo size 1200,%d font "DejaVu Sans,10"' % (260 * len(panels) + 60),
         f'set output "{os.path.relpath(os.path.join(DOCS, "bench-latency.png"), REPORT)}"',
         f'set multiplot layout {len(panels)},1 title "Reload under load: the seed\'s '
         f'Express app, 2 workers, {conc} connections, {P.get("s1_reloads")} reloads '
         '(shaded: trigger to end of each reload)" font ",12"',
         'set logscale y', f'set yrange [{ymin}:{ymax}]', f'set xrange [0:{xmax:.0f}]',
         'set ylabel "latency, ms"', 'set y2label "failed / 100 ms"',
         'set y2tics', 'set ytics nomirror', 'set y2range [0:*]',
         'set grid ytics', 'set key top left horizontal opaque box',
         'set lmargin 10', 'set rmargin 10', 'set style fill transparent solid 0.15 noborder']
    for i, (k, dat, spans, r) in enumerate(panels):
        g.append('unset object')
        g.append('unset arrow')
        for j, s in enumerate(spans):
            g.append(f'set object {j + 1} rect from {s["start"]:.3f},{ymin} to {s["end"]:.3f},{ymax} '
                     'behind fc rgb "#4060c0" fs transparent solid 0.13 noborder')
            g.append(f'set arrow {j + 1} from {s["start"]:.3f},{ymin} to {s["start"]:.3f},{ymax} '
                     'nohead dt 2 lc rgb "#203080"')
        nf = int(r['loadgen'].get('failed', 0))
        title = (f'{NAMES[k]} (round {r["round"]}): p99 during reloads '
                 f'{num(r["reload"]["p99"])} ms, {nf:,} failed requests, lost work {r["lost"]}')
        g.append(f'set title "{title}"')
        g.append('set xlabel "seconds since the load started"' if i == len(panels) - 1
                 else 'unset xlabel')
        g.append(f'plot "{os.path.basename(dat)}" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", '
                 f'"" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", '
                 f'"" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"')
    g.append('unset multiplot')
    gnuplot('\n'.join(g) + '\n', 'latency.gp')


# ---------------------------------------------------------------- scenario 2

def scenario2(rep):
    s2, runs = rep.section('s2', 2, 'Reload latency')
    if not runs:
        return
    n = P.get('s2_reloads')
    rep.line(f'No load; {n} reloads per round, one every ~0.3 s after the previous one has '
             'finished. baton is triggered with SIGHUP and timed from its own log lines, read '
             'from its stderr as they come (`generation N: starting`, `started`, `ready in`, '
             '`active after`, `draining`, `exited`); the same number of reloads then go through '
             '`baton reload` (the control socket), timed until the command returns. With the C '
             'test server and `ready = notify` (`--notify`: READY=1 as soon as it listens), the '
             'server\'s start-up is a few ms, so what is left is baton\'s own share. PM2 is timed '
             'from `pm2 reload` until it returns, and from its daemon\'s log (`PM2_LOG_DATE_FORMAT` '
             'with ms): `starting in -cluster mode-`, `New worker listening`, `Stopping app ... '
             '_old_`. Server::Starter is timed from SIGHUP and its own stderr lines as they come '
             '(`starting new worker`, `new worker is now running`, `killing old workers`, `old '
             'worker ... died`), the app\'s own `Express is listening` line giving the new '
             'worker\'s start-up. For every tool, a probe asks GET / on a new connection every '
             '2 ms and notes when a process that was not serving before the trigger first '
             'answers. Medians over all reloads of all rounds, in ms.')
    rep.line()
    rep.line('Definitions: **new workers ready** — all of them, as the supervisor sees it; '
             '**start-up** — the server\'s own, from its spawn to its readiness (baton: the '
             'largest `ready in`; PM2: spawn to listening, per worker; Server::Starter: spawn to '
             'the app\'s listening line); **old signalled** — when the first and the last old '
             'worker get the drain signal; **supervisor overhead** — trigger to the first old '
             'worker signalled, less the start-up that had to happen before it; **done** — the '
             'old workers have exited (baton, Server::Starter) or `pm2 reload` has returned.')
    rep.line()
    rows_def = s2['rows']
    rows = []
    med = {}
    for key, label in rows_def:
        rs = [r for r in runs if r['row'] == key]
        if not rs:
            continue
        ev = [e for r in rs for e in r['reloads']]

        def md(k):
            return median([e.get(k) for e in ev])
        cmd = median([c for r in rs for c in r.get('command', [])])
        med[key] = {k: md(k) for k in ('first_ready', 'all_ready', 'startup', 'signalled',
                                       'all_signalled', 'own', 'first_answer', 'done')}
        med[key]['command'] = cmd
        ping = median([c for r in rs for c in r.get('cli_ping', [])])
        med[key]['ping'] = ping
        m_ = med[key]
        rows.append([label, ms(m_['all_ready']), ms(m_['startup']),
                     f'{ms(m_["signalled"])} / {ms(m_["all_signalled"])}',
                     ms(m_['own']), ms(m_['first_answer']), ms(m_['done']),
                     ms(cmd) if cmd else '–'])
    rep.table(['', 'new workers ready', 'start-up', 'old signalled (first / last)',
           'supervisor overhead', 'first answer from a new worker', 'done',
           'reload command returns'], rows)
    HEAD['s2'] = med
    if 'pm2-ex' in med and med['pm2-ex'].get('ping'):
        rep.line(f'Of PM2\'s figures, {ms(med["pm2-ex"]["ping"], 0)} ms is the `pm2` client\'s own '
                 'start-up (the median time of an empty `pm2 ping`): PM2\'s commands are Node '
                 'programs that connect to the daemon.')
        rep.line()
    se = med.get('starter-ex')
    if se and se['own'] is not None and se['own'] < 0:
        rep.line(f'Server::Starter\'s negative overhead with Express means that it signalled the old '
                 f'worker before the new one was listening: its `--interval` (1 s) is shorter than '
                 f'the Node start-up here ({ms(se["startup"], 0)} ms), and it has no other way to '
                 'know. The socket stays open, so no connection is refused, but connections wait in '
                 'the backlog until the new worker listens.')
        rep.line()
    b, st = med.get('baton-ts'), med.get('starter-ts')
    if b and st:
        rep.line(f'With the C test server, baton signals the old generation {ms(b["signalled"])} ms '
                 f'after the trigger, of which {ms(b["own"])} ms are its own (the rest is the '
                 f'server\'s start-up); Server::Starter signals it after {ms(st["signalled"])} ms, '
                 f'nearly all of it its fixed `--interval` wait (baton over Server::Starter: '
                 f'{ratio(b["signalled"], st["signalled"], 3)}).')
        rep.line()
        if (b['first_answer'] or 0) > (st['first_answer'] or 0) * 1.05:
            rep.note(
                f'Scenario 2, C test server: the first answer from a new worker comes '
                f'{ms(b["first_answer"])} ms after the trigger with baton and '
                f'{ms(st["first_answer"])} ms with Server::Starter. Both pass the same kind '
                'of held socket and the test server answers as soon as it runs; baton '
                'starts 2 workers and passes each its sockets over its channel, '
                'Server::Starter forks one process that inherits the socket.')
    be = med.get('baton-pre') or med.get('baton-ex')
    for key, name in (('pm2-ex', 'PM2 cluster mode'), ('starter-ex', 'Server::Starter')):
        p = med.get(key)
        if not (be and p):
            continue
        rep.line(f'Express, baton over {name}: new workers ready {ratio(be["all_ready"], p["all_ready"])}, '
                 f'last old worker signalled {ratio(be["all_signalled"], p["all_signalled"])}, '
                 f'done {ratio(be["done"], p["done"])}.')
        rep.line()
        if (be['done'] or 0) > (p['done'] or 0) * 1.05:
            rep.note(
                f'Scenario 2, Express: a reload is done after {ms(be["done"])} ms with baton '
                f'and {ms(p["done"])} ms with {name}. "Done" includes the old workers\' drain, '
                f'the app\'s `server.close` and CLOSE_WAIT_MS = 1 s, the same for every tool; '
                + ('Server::Starter signals the old worker after its fixed 1 s whatever the '
                   'new one\'s state, so when the Node start-up takes less than 1 s it is not '
                   'faster, and when it takes more, it signals too early.'
                   if key == 'starter-ex' else ''))
        if (be['all_ready'] or 0) > (p['all_ready'] or 0) * 1.05:
            rep.note(
                f'Scenario 2, Express: new workers ready after {ms(be["all_ready"])} ms with '
                f'baton and {ms(p["all_ready"])} ms with {name}. '
                + ('Server::Starter\'s "ready" is not readiness but its 1 s timer.'
                   if key == 'starter-ex' else
                   'PM2 starts one worker at a time, and the first is ready sooner than two '
                   'started together on 2 CPUs.'))


# ---------------------------------------------------------------- scenario 3

def scenario3(rep):
    s3, runs = rep.section('s3', 3, 'Data path')
    if not runs:
        return
    c, d = P.get('s3_conc'), P.get('s3_secs')
    dc = P.get('s3_close_secs', d)
    rep.line(f'Throughput and latency of the server alone and under each supervisor, no '
             f'reloads. `wrk -t2 -c{c} -d{d}s --latency` (keep-alive connections), then '
             f'`test/loadgen -c {c} -d {dc}s` (a new connection per request, `Connection: '
             'close`), after a 1 s warm-up. baton, like Server::Starter, only holds the socket: '
             'the workers accept on it, so nothing of baton\'s is in the data path. PM2 cluster '
             'mode (and Node\'s cluster module without PM2) has the primary accept every '
             'connection and pass it to a worker over IPC (round robin); the bytes then flow '
             'between the client and the worker directly, so the cost shows in new connections '
             'more than in keep-alive ones. Medians over rounds; "vs alone" compares with the '
             'first row of the group.')
    rep.line()
    rep.line('```sh')
    rep.line(f'wrk -t2 -c{c} -d{d}s --latency http://127.0.0.1:PORT/')
    rep.line(f'test/loadgen -u http://127.0.0.1:PORT/ -c {c} -d {dc}s -t 5000')
    rep.line('test/testserver --bind 127.0.0.1:PORT --quiet                   # C test server alone')
    rep.line('baton run -c FILE   # command = test/testserver --notify --quiet; workers = 1; ready = notify')
    rep.line('baton run -c FILE   # command = node bench/fd-app.js examples/express/app.js (or, with preload, node examples/express/app.js); workers = 1 or 2')
    rep.line('PORT=PORT node examples/express/app.js                           # Express alone')
    rep.line('PM2_HOME=DIR pm2 start examples/express/app.js -i N --kill-timeout 15000')
    rep.line('start_server --port=127.0.0.1:PORT -- node bench/fd-app.js examples/express/app.js')
    rep.line('node bench/cluster-app.js examples/express/app.js                # Node cluster, 2 workers')
    rep.line('```')
    rep.line()
    groups = {'ts': 'C test server, 1 process', 'ex1': 'Express, 1 process',
              'ex2': 'Express, 2 processes'}
    rows = []
    med = {}
    for grp in ('ts', 'ex1', 'ex2'):
        base = None
        for key, label, rs in configs([r for r in runs if r['grp'] == grp]):
            m_ = {
                'rps': median([r['wrk']['rps'] for r in rs]),
                'p50': median([r['wrk']['p50'] for r in rs]),
                'p99': median([r['wrk']['p99'] for r in rs]),
                'err': sum((r['wrk']['errors'] or 0) + (r['wrk']['non2xx'] or 0) for r in rs),
                'crps': median([r['close'].get('rps') for r in rs]),
                'cp50': median([r['close'].get('p50_ms') for r in rs]),
                'cp99': median([r['close'].get('p99_ms') for r in rs]),
                'cfail': sum(int(r['close'].get('failed', 0)) for r in rs),
                'range': (min(r['wrk']['rps'] or 0 for r in rs), max(r['wrk']['rps'] or 0 for r in rs)),
                'crange': (min(r['close'].get('rps') or 0 for r in rs),
                           max(r['close'].get('rps') or 0 for r in rs)),
            }
            med[(grp, key)] = m_
            if base is None:
                base = m_
            rows.append([f'{groups[grp]}: {label}',
                         f'{num(m_["rps"], 0)} ({num(m_["range"][0], 0)}–{num(m_["range"][1], 0)})',
                         num(m_['p50'], 2), num(m_['p99'], 2), ratio(m_['rps'], base['rps']),
                         f'{num(m_["crps"], 0)} ({num(m_["crange"][0], 0)}–{num(m_["crange"][1], 0)})',
                         num(m_['cp50'], 2), num(m_['cp99'], 2),
                         ratio(m_['crps'], base['crps']),
                         f'{m_["err"]} / {m_["cfail"]}'])
    rep.table(['', 'keep-alive req/s (range)', 'p50 ms', 'p99 ms', 'vs alone',
           'new conn. req/s (range)', 'p50 ms', 'p99 ms', 'vs alone',
           'errors (wrk / loadgen)'], rows)
    rep.line('The ranges are wide: this machine\'s other work came and went during the run, '
             'and one slow round moves a median of three. Read a ratio together with the '
             'ranges of its two rows.')
    rep.line()
    HEAD['s3'] = med
    for grp in ('ex1', 'ex2'):
        b, p = med.get((grp, 'baton')), med.get((grp, 'pm2'))
        if b and p:
            rep.line(f'{groups[grp]}: baton over PM2 cluster mode: keep-alive throughput '
                     f'{ratio(b["rps"], p["rps"])}, p99 {ratio(b["p99"], p["p99"])}; new connections: '
                     f'throughput {ratio(b["crps"], p["crps"])}, p99 {ratio(b["cp99"], p["cp99"])}.')
            rep.line()
    for (grp, key), m_ in med.items():
        base = med.get((grp, 'alone'))
        if key == 'baton' and base:
            for what, k, rk in (('keep-alive', 'rps', 'range'), ('new-connection', 'crps', 'crange')):
                if (m_[k] or 0) < (base[k] or 0) * 0.97:
                    lo, hi = m_[rk]
                    blo, bhi = base[rk]
                    overlap = lo <= bhi and blo <= hi
                    rep.note(
                        f'Scenario 3, {groups[grp]}: {what} throughput under baton is '
                        f'{num(m_[k], 0)} req/s, alone {num(base[k], 0)} req/s '
                        f'({ratio(m_[k], base[k])}); over the rounds, {num(lo, 0)}–{num(hi, 0)} '
                        f'under baton and {num(blo, 0)}–{num(bhi, 0)} alone. '
                        + WHY[('s3', 'baton')]
                        + (' The ranges overlap: the gap is within the noise.' if overlap else
                           ' The ranges do not overlap in this run; with the same data '
                           'path, the cause is outside it (other work on this shared '
                           'machine during some runs, Node\'s JIT warming up differently).'))
        if key in ('pm2', 'starter', 'cluster') and (grp, 'baton') in med:
            b = med[(grp, 'baton')]
            peer = {'pm2': 'PM2', 'starter': 'Server::Starter',
                    'cluster': 'the Node cluster module'}[key]
            for what, k, rk in (('keep-alive', 'rps', 'range'), ('new-connection', 'crps', 'crange')):
                if (b[k] or 0) < (m_[k] or 0) * 0.97:
                    lo, hi = b[rk]
                    plo, phi = m_[rk]
                    overlap = lo <= phi and plo <= hi
                    if key == 'starter':
                        why = 'Server::Starter\'s data path is the same as baton\'s.'
                    elif k == 'rps':
                        why = ('With keep-alive connections the cluster primary (PM2\'s daemon, '
                               f'or Node\'s) accepts the {c} connections once; after that the '
                               'data path is the same as baton\'s, client to worker.')
                    else:
                        why = ('For new connections the cluster primary spreads them evenly '
                               'over the workers (round robin), while on a shared socket the '
                               'kernel hands each to whichever worker is waiting; on 2 CPUs '
                               'shared with the load generator an even spread can pay for the '
                               'extra hop.')
                    rep.note(
                        f'Scenario 3, {groups[grp]}: {what} throughput {num(b[k], 0)} req/s '
                        f'under baton (rounds: {num(lo, 0)}–{num(hi, 0)}), {num(m_[k], 0)} req/s '
                        f'under {peer} (rounds: {num(plo, 0)}–{num(phi, 0)}). {why}'
                        + (' The ranges overlap: within the noise.' if overlap else
                           ' The ranges do not overlap in this run.'))


# ---------------------------------------------------------------- scenario 4

def scenario4(rep):
    s4, runs = rep.section('s4', 4, 'Footprint')
    if not runs:
        return
    idle = P.get('s4_idle')
    rep.line(f'Each supervisor with the Express app, 2 workers, idle: 3 s to settle, then '
             f'{idle} s measured. Resident memory is VmRSS from `/proc/PID/status`; CPU is the '
             'change of utime+stime in `/proc/PID/stat`; wake-ups are the change of '
             'voluntary+nonvoluntary context switches, summed over all the process\'s threads '
             '(`/proc/PID/task/*/status`); CPU time is counted in ticks of '
             f'{1000 // CLK_TCK} ms. The supervisor process only: baton; the PM2 daemon '
             '(God, `PM2_HOME/pm2.pid`); `start_server` (perl); and for reference the primary of '
             'Node\'s cluster module, which is what the naive setup runs. Its descendants are '
             'the app\'s processes (for start_server, the prefork parent and its two children). '
             'Medians over rounds.')
    rep.line()
    med = {}
    rows = []
    for key, label, rs in configs(runs):
        m_ = {k: median([r.get(k) for r in rs]) for k in ('rss_kb', 'cpu_ms', 'wakeups',
                                                       'threads', 'workers_rss_kb')}
        med[key] = m_
        rows.append([label, num(m_['rss_kb'] / 1024, 1), num(m_['cpu_ms'], 0),
                     num(m_['wakeups'], 0), num(m_['threads'], 0),
                     num(m_['workers_rss_kb'] / 1024, 1)])
    rep.table(['supervisor', 'RSS, MiB', f'CPU in {idle} s, ms', f'wake-ups in {idle} s',
           'threads', 'its descendants\' RSS, MiB (sum)'], rows)
    HEAD['s4'] = med
    b = med.get('baton')
    if b:
        parts = []
        for key, name in (('pm2', 'PM2 daemon'), ('starter', 'start_server')):
            if key in med:
                parts.append(f'{name}: RSS {ratio(b["rss_kb"], med[key]["rss_kb"])}, '
                             f'wake-ups {b["wakeups"]:.0f} vs {med[key]["wakeups"]:.0f}')
        rep.line('baton over ' + '; '.join(parts) + '.')
        rep.line()
        bm = med.get('baton-metrics')
        if bm:
            rep.line(f'With its metrics listener (`metrics = tcp://...`, evhttp on baton\'s own '
                     f'loop) baton holds {num(bm["rss_kb"], 0)} kB and woke {bm["wakeups"]:.0f} '
                     f'times in {idle} s; without it {num(b["rss_kb"], 0)} kB and '
                     f'{b["wakeups"]:.0f} times.')
            rep.line()
        for key, name in (('pm2', 'the PM2 daemon'), ('starter', 'start_server')):
            p = med.get(key)
            if not p:
                continue
            if b['rss_kb'] > p['rss_kb']:
                rep.note(f'Scenario 4: baton\'s RSS ({num(b["rss_kb"] / 1024)} MiB) is above '
                         f'{name}\'s ({num(p["rss_kb"] / 1024)} MiB).')
            if b['wakeups'] > p['wakeups'] or b['cpu_ms'] > p['cpu_ms']:
                rep.note(f'Scenario 4: while idle, baton woke {b["wakeups"]:.0f} times and used '
                         f'{b["cpu_ms"]:.0f} ms of CPU, {name} {p["wakeups"]:.0f} times and '
                         f'{p["cpu_ms"]:.0f} ms.'
                         + (' start_server blocks in wait() until a signal or a child\'s '
                                'exit, so it never wakes while idle; baton waits in its event '
                                'loop for its sockets, signals and timers.'
                                if key == 'starter' else ''))


# ---------------------------------------------------------------- scenario 5

def scenario5(rep):
    s5 = S.get('s5')
    if not s5:
        return
    n = P.get('s5_reloads')
    rep.line('## 5. Scale')
    rep.line()
    n = s5.get('reloads', n)
    nb = s5.get('reloads_big', n)
    wl = sorted({r['workers'] for r in s5.get('workers', [])})
    sl = sorted({r['sockets'] for r in s5.get('sockets', [])})
    rep.line(f'baton with the C test server (`ready = notify`), {n} reloads per round by SIGHUP '
             f'({nb} from 256 workers or sockets on), timed from baton\'s log lines as they '
             'arrive: to the new generation **active** (every worker ready) and to the old one '
             '**signalled**, and baton\'s own `active after` figure. Workers: '
             f'{", ".join(map(str, wl))} with one socket; sockets: {", ".join(map(str, sl))} '
             'with one worker (the extra sockets are unix sockets; a worker receives them in '
             'SCM_RIGHTS messages of at most 253, the most the kernel carries in one). baton\'s CPU is its own utime+stime over the '
             'reload, the old generation\'s exit included. Medians over all reloads of all '
             'rounds, with the 90th percentile; ms.')
    rep.line()
    rows = []
    pts = {'workers': [], 'sockets': []}
    for series in ('workers', 'sockets'):
        rs = rep.ok_runs(s5.get(series, []), 'Scenario 5') if series == 'workers' else \
            [r for r in s5.get(series, []) if 'error' not in r]
        seen = []
        for r in rs:
            v = r[series]
            if v in seen:
                continue
            seen.append(v)
            same = [x for x in rs if x[series] == v]
            act = [a for x in same for a in x['active']]
            sig = [a for x in same for a in x['signalled']]
            own = [a for x in same for a in x['active_ms']]
            su = [a for x in same for a in x['startup_ms']]
            cpu = [a for x in same for a in x.get('baton_cpu_ms', [])]
            from lib import pct
            rows.append([f'{r["workers"]} worker{"s" if r["workers"] > 1 else ""}, '
                         f'{r["sockets"]} socket{"s" if r["sockets"] > 1 else ""}',
                         f'{ms(median(act))} ({ms(pct(act, 90))})',
                         f'{ms(median(sig))} ({ms(pct(sig, 90))})',
                         f'{num(median(own), 0)}', f'{num(median(su), 0)}',
                         num(median(cpu), 0) if cpu else 'n/a'])
            pts[series].append((v, median(act), pct(act, 90), pct(act, 10), pct(act, 90)))
    seen_rows = []
    uniq = []
    for r in rows:
        if r[0] not in seen_rows:
            seen_rows.append(r[0])
            uniq.append(r)
    rep.table(['', 'trigger → active, median (p90)', 'trigger → old signalled, median (p90)',
           'baton\'s "active after", ms', 'slowest worker\'s "ready in", ms',
           'baton\'s CPU, ms'], uniq)
    HEAD['s5'] = pts
    fits = {}
    for series, unit in (('workers', 'worker'), ('sockets', 'socket')):
        rs = [r for r in s5.get(series, []) if 'error' not in r]
        xy = [(r[series], a * 1000) for r in rs for a in r['active']]
        xc = [(r[series], c) for r in rs for c in r.get('baton_cpu_ms', [])]
        f, fc = fit(xy), fit(xc)
        if f is None:
            continue
        fits[series] = f
        rep.line(f'**Per {unit}** (least squares over every reload, {len(xy)} points): trigger → '
                 f'active = {num(f[0], 0)} ms + {num(f[1], 2)} ms × {series} '
                 f'(R² {f[2]:.3f})' + (f'; baton\'s own CPU = {num(fc[0], 0)} ms + '
                                       f'{num(fc[1], 2)} ms × {series}' if fc else '') + '.')
        rep.line()

    many = s5.get('many')
    if many and 'error' not in many:
        p = many['points']
        rep.line(f'**{many["n"]} reloads in a row** (`baton reload`, 2 workers; each returns once '
                 f'the old generation has exited): {many["failed"]} failed, '
                 f'{num(many["secs"], 0)} s in all, a reload took {ms(many["reload_p50"])} ms '
                 f'(median; p99 {ms(many["reload_p99"])} ms; that includes the test server\'s '
                 '100 ms of settling before it exits). baton\'s descriptors and memory:')
        rep.line()
        rep.table(['after reloads'] + [str(x['reloads']) for x in p],
                  [['open descriptors (entries of /proc/PID/fd)'] + [str(x['fds']) for x in p],
               ['VmRSS, kB'] + [str(x['rss_kb']) for x in p]])
        if many.get('counters'):
            c = many['counters']
            rep.line(f'Counters at the end (`baton status --json`): {c.get("reloads")} reloads, '
                     f'{c.get("rollbacks")} rollbacks, {c.get("crashes")} crashes, '
                     f'{c.get("killed")} killed at the drain deadline; {many.get("generations")} '
                     'generation(s) left.')
            rep.line()
        if p[-1]['fds'] > p[0]['fds'] or p[-1]['rss_kb'] > p[0]['rss_kb'] * 1.1:
            rep.note(f'Scenario 5: after {many["n"]} reloads baton holds {p[-1]["fds"]} '
                     f'descriptors and {p[-1]["rss_kb"]} kB (after one: {p[0]["fds"]}, '
                     f'{p[0]["rss_kb"]} kB).')
    elif many:
        rep.note(f'Scenario 5: the {many.get("n")} reloads did not complete: {many.get("error")}')
    plot_scale(pts, fits)
    rep.line('![Reload latency by worker count](bench-scale.png)')
    rep.line()
    rep.line('`docs/bench-scale.png`: trigger to the new generation active, by number of workers '
             '(left) and of sockets (right): the median over all reloads of all rounds, the bars from '
             'the 10th to the 90th percentile, and the fitted line (dashed; both axes logarithmic, '
             'so a line with a fixed part bends).')
    rep.line()


def fit(xy):
    """Least squares y = a + b x: (a, b, R²), or None under two x values."""
    if len({x for x, _ in xy}) < 2:
        return None
    n = len(xy)
    mx = sum(x for x, _ in xy) / n
    my = sum(y for _, y in xy) / n
    sxx = sum((x - mx) ** 2 for x, _ in xy)
    sxy = sum((x - mx) * (y - my) for x, y in xy)
    b = sxy / sxx
    a = my - b * mx
    ss = sum((y - my) ** 2 for _, y in xy)
    res = sum((y - a - b * x) ** 2 for x, y in xy)
    return a, b, 1 - res / ss if ss else 1.0


def plot_scale(pts, fits):
    def line(series, colour):
        f = fits.get(series)
        if not f:
            return ''
        return (f', {f[0]:.3f} + {f[1]:.5f} * x with lines dt 2 lw 1.5 lc rgb "{colour}" '
                f'title sprintf("fit: %.0f ms + %.2f ms per {series[:-1]}", {f[0]:.3f}, {f[1]:.5f})')

    xmax = max([v for s_ in pts.values() for v, *_ in s_] or [64])
    tics = ', '.join(str(2 ** k) for k in range(0, 11) if 2 ** k <= max(xmax, 64))
    for series in ('workers', 'sockets'):
        with open(os.path.join(REPORT, f'scale-{series}.dat'), 'w') as fh:
            for v, m_, p90, lo, hi in sorted(pts[series]):
                fh.write(f'{v} {m_ * 1000:.3f} {p90 * 1000:.3f} {lo * 1000:.3f} {hi * 1000:.3f}\n')
    g = ['set terminal pngcairo size 1100,480 font "DejaVu Sans,10"',
         f'set output "{os.path.relpath(os.path.join(DOCS, "bench-scale.png"), REPORT)}"',
         'set multiplot layout 1,2 title "baton reload latency (C test server, ready = notify): '
         'trigger to the new generation active" font ",12"',
         'set logscale x 2', 'set logscale y 10', 'set grid', 'set ylabel "ms"',
         'set key top left', 'set offsets graph 0.05, graph 0.05, 0, 0',
         f'set xtics ({tics})', 'set samples 400',
         'set title "by workers (1 socket)"', 'set xlabel "workers"',
         f'plot "scale-workers.dat" using 1:2:4:5 with yerrorlines lw 2 pt 7 '
         'lc rgb "#1f4e9c" title "median (bars: p10-p90)", '
         '"" using 1:2:(sprintf("%.0f", $2)) with labels offset 0,1.2 notitle'
         + line('workers', '#1f4e9c'),
         'set title "by sockets (1 worker)"', 'set xlabel "sockets"',
         f'plot "scale-sockets.dat" using 1:2:4:5 with yerrorlines lw 2 pt 7 '
         'lc rgb "#1a7f37" title "median (bars: p10-p90)", '
         '"" using 1:2:(sprintf("%.1f", $2)) with labels offset 0,1.2 notitle'
         + line('sockets', '#1a7f37'),
         'unset multiplot']
    gnuplot('\n'.join(g) + '\n', 'scale.gp')


# ---------------------------------------------------------------- scenario 6

def scenario6(rep):
    s6, runs = rep.section('s6', 6, 'Sessions and scheduling groups')
    if not runs:
        return
    c, secs, ag = s6.get('conc'), s6.get('secs'), s6.get('autogroup')
    rep.line(f'Steady state only, no reloads: `test/loadgen -c {c} -d {secs}s` (a new connection '
             'per request), after a 1 s warm-up, against the Express app with 2 workers under '
             'baton, and under Server::Starter run two ways: its two children in start_server\'s '
             'session, as it runs them, and each child in a session of its own '
             '(`BENCH_PREFORK_SETSID=1`: `setsid`), as baton starts its workers. This kernel\'s '
             f'`sched_autogroup_enabled` is {ag}: each session is then a scheduling group, and '
             'the groups share the CPUs equally. Medians over rounds (with the range).')
    rep.line()
    med = {}
    rows = []
    for key, label, rs in configs(runs):

        def col(k):
            v = [r_['lg'].get(k) for r_ in rs]
            return median(v), min(v), max(v)
        m_ = {k: col(k) for k in ('rps', 'p50_ms', 'p99_ms', 'max_ms')}
        m_['failed'] = sum(int(r_['lg'].get('failed', 0)) for r_ in rs)
        med[key] = m_
        rows.append([label] + [f'{num(m_[k][0], 0 if k == "rps" else 1)} '
                               f'({num(m_[k][1], 0 if k == "rps" else 1)}–'
                               f'{num(m_[k][2], 0 if k == "rps" else 1)})'
                               for k in ('rps', 'p50_ms', 'p99_ms', 'max_ms')]
                    + [str(m_['failed'])])
    rep.table(['', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'failed'], rows)
    b, s, ss = med.get('baton'), med.get('starter'), med.get('starter-setsid')
    if b and s and ss:
        rep.line(f'p99: baton over Server::Starter {ratio(b["p99_ms"][0], s["p99_ms"][0])}; '
                 f'Server::Starter with a session per child over Server::Starter as it runs '
                 f'{ratio(ss["p99_ms"][0], s["p99_ms"][0])}; baton over Server::Starter with a '
                 f'session per child {ratio(b["p99_ms"][0], ss["p99_ms"][0])}. Throughput: '
                 f'{ratio(b["rps"][0], s["rps"][0])}, {ratio(ss["rps"][0], s["rps"][0])}, '
                 f'{ratio(b["rps"][0], ss["rps"][0])}.')
        rep.line()
        if b['p99_ms'][0] <= s['p99_ms'][0] * 1.05:
            rep.line('baton\'s tail here is no worse than Server::Starter\'s.')
        elif ss['p99_ms'][0] > s['p99_ms'][0] * 1.05:
            rep.line('Putting Server::Starter\'s children in sessions of their own moves its tail '
                     'latency towards baton\'s: the difference in scenario 1\'s steady p99 comes '
                     'from how the kernel groups the processes for scheduling, not from the data '
                     'path, which is the same. baton keeps a session per worker on purpose (the '
                     'drain signal and the deadline\'s SIGKILL go to the worker\'s whole process '
                     'group, so nothing it started survives). Autogroups apply only to processes '
                     'in the root CPU cgroup: a service whose unit uses the cpu controller (say '
                     '`CPUWeight=`) is scheduled as one group whatever its sessions.')
        else:
            rep.line('Here the sessions make no clear difference to Server::Starter\'s tail: the '
                     'gap to baton in scenario 1 is within what varies between runs on this '
                     'shared machine.')
        rep.line()
        HEAD['s6'] = med


# ---------------------------------------------------------------- servers

# What has been published about each server's own reload, to read the
# figures against (the issue each comes from).
PUBLISHED = {
    'gunicorn': 'gunicorn\'s issue #2296 reports 4 to 16 failed requests per SIGHUP at '
                '30 requests per second',
    'express': 'PM2\'s issue #2729 reports about 2% of requests failing when `pm2 reload` '
               'runs in a loop',
}


def sv_agg(rs):
    """One server, one load, one way of reloading: the figures."""
    if not rs:
        return None
    r = rs[0]
    if 'error' in r:
        return {'error': r['error']}
    lg = r['loadgen']
    n = len(r['spans'])
    done = [s['end'] - s['start'] for s in r['spans'] if s['ok']]
    return {
        'n': n, 'ok_reloads': r['reloads_ok'],
        'unfinished': [s for s in r['spans'] if not s['ok']],
        'requests': int(lg.get('requests', 0)), 'failed': int(lg.get('failed', 0)),
        'kinds': {k: int(lg.get(k, 0)) for k in ('refused', 'reset', 'eof', 'timeout',
                                                 'bad_status', 'other') if lg.get(k)},
        'retried': int(lg.get('retried', 0)),
        'sp99': r['steady']['p99'], 'rp99': r['reload']['p99'],
        'ratio': (r['reload']['p99'] / r['steady']['p99']
                  if r['reload']['p99'] and r['steady']['p99'] else None),
        'reload_s': median(done), 'reload_max': max(done) if done else None,
        'mem_steady': r['mem_steady_kb'], 'mem_peak': r['mem_peak_kb'],
        'procs': r['procs_peak'],
    }


def kinds_text(a):
    if not a['kinds']:
        return '0'
    return f'{a["failed"]:,} (' + ', '.join(f'{v:,} {k}' for k, v in a['kinds'].items()) + ')'


def mib(kb):
    return 'n/a' if kb is None else f'{kb / 1024:,.0f}'


def sv_reloads(a):
    s = f'{a["ok_reloads"]}/{a["n"]}'
    return s


def sv_time(a, deadline):
    if a['reload_s'] is None:
        return f'none finished in {deadline:.0f} s'
    s = f'{a["reload_s"]:.2f} s (max {a["reload_max"]:.2f})'
    if a['unfinished']:
        s += f'; {len(a["unfinished"])} not finished in {deadline:.0f} s'
    return s


def sv_paragraph(srv, ver, pairs, deadline):
    """The figures of one server, in words, for its users."""
    name = srv['name'].split(',')[0]
    out = [f'**{name}**{" " + ver if ver else ""}, reloaded by {srv["mechanism"]}, against baton.']
    verdict, level = [], []
    for load, own, bat in pairs:
        if not own or not bat or 'error' in own or 'error' in bat:
            bad = [f'{w}: {x["error"]}' for w, x in (('its own reload', own), ('baton', bat))
                   if x and 'error' in x]
            out.append(f'With {load} connections the comparison did not complete ({"; ".join(bad)}).')
            continue
        t = (f'With {load} connections, in {own["n"]} reload{"s" if own["n"] != 1 else ""}: its own reload failed '
             f'{kinds_text(own)} of {own["requests"]:,} requests, baton {kinds_text(bat)} of '
             f'{bat["requests"]:,}.')
        if own['unfinished'] or bat['unfinished']:
            parts = []
            for who, x in (('its own reload', own), ('baton', bat)):
                if x['unfinished']:
                    parts.append(f'{who}: {len(x["unfinished"])} of {x["n"]} had not finished '
                                 f'{deadline:.0f} s after the trigger (the old processes were still there)')
            t += ' Reloads left unfinished: ' + '; '.join(parts) + '.'
        t += (f' p99 during reloads over steady p99: {ratio(own["rp99"], own["sp99"])} with its own '
              f'reload ({num(own["rp99"])} ms against {num(own["sp99"])} ms), '
              f'{ratio(bat["rp99"], bat["sp99"])} under baton ({num(bat["rp99"])} against '
              f'{num(bat["sp99"])} ms).')
        t += (f' A reload took {sv_time(own, deadline)} its own way and {sv_time(bat, deadline)} '
              f'under baton; memory at its peak during reloads {mib(own["mem_peak"])} MiB against '
              f'{mib(bat["mem_peak"])} MiB ({mib(own["mem_steady"])} and {mib(bat["mem_steady"])} MiB '
              'steady).')
        out.append(t)
        if own['failed'] > 0 and bat['failed'] == 0:
            verdict.append(f'with {load} connections baton removed the {own["failed"]:,} failed requests')
        elif own['failed'] == 0 and bat['failed'] > 0:
            verdict.append(f'with {load} connections baton failed {bat["failed"]:,} requests where '
                           'the server\'s own reload failed none')
        elif own['failed'] > 0 and bat['failed'] > 0:
            verdict.append(f'with {load} connections both failed requests '
                           f'({own["failed"]:,} its own way, {bat["failed"]:,} under baton)')
        if own['unfinished'] and not bat['unfinished']:
            verdict.append(f'with {load} connections its own reload did not finish where '
                           'baton\'s did')
        elif bat['unfinished'] and not own['unfinished']:
            verdict.append(f'with {load} connections baton\'s reload did not finish where '
                           'the server\'s own did')
        # Where neither failed a request: which way each other figure went.
        if own['failed'] == 0 and bat['failed'] == 0:
            cmp = []
            for what, a, b, unit in (('p99 during reloads', bat['rp99'], own['rp99'], 'ms'),
                                     ('time per reload', bat['reload_s'], own['reload_s'], 's'),
                                     ('peak memory', bat['mem_peak'], own['mem_peak'], 'kB')):
                if a is None or b is None:
                    continue
                word = 'lower' if a < b else 'higher' if a > b else 'the same'
                cmp.append(f'{what} {word} under baton ({ratio(a, b)})')
            if cmp:
                level.append(f'with {load} connections neither failed a request; ' + ', '.join(cmp))
    if srv['key'] in PUBLISHED:
        out.append(f'For comparison, {PUBLISHED[srv["key"]]}.')
    if verdict:
        out.append('In this run, ' + '; '.join(verdict) + '.')
    if level:
        out.append('In this run, ' + '; '.join(level) + f'. For a user of {name} who reloads '
                   'this way and sees no failed requests, what baton adds is not in this table: '
                   'the new processes checked ready before the old ones are told to go, a '
                   'rollback when they do not start, and one drain deadline.')
    return ' '.join(out)


def run_mode(sec):
    """What a section run with BENCH_SMOKE or BENCH_QUICK says of itself."""
    if sec.get('smoke'):
        return ' (BENCH_SMOKE=1: a machinery check, not figures to quote)'
    if sec.get('quick'):
        return ' (BENCH_QUICK=1: indicative only)'
    return ''


def scenario_servers(rep):
    sv = S.get('servers')
    if not sv or not sv.get('servers'):
        return
    p = sv.get('params', {})
    n, dl = p.get('sv_reloads'), p.get('sv_deadline') or 0
    rep.line('## 7. Each server\'s own reload, and baton')
    rep.line()
    mode = run_mode(sv)
    rep.line(f'Each server reloaded by its own graceful mechanism, then under baton with the '
             'configuration `docs/compatibility.md` gives for it (the commands, apps and baton '
             'settings come from `test/compat/run`, which checks them), under the same load: '
             f'`test/loadgen -c {sv.get("clients")}`, a request failing after '
             f'{(sv.get("timeout_ms") or 0) / 1000:g} s, with `Connection: close` and, where the server keeps '
             f'connections alive, keep-alive. {n} reloads, one every '
             f'{p.get("sv_interval")} s or as soon as the previous one has finished, after '
             f'{p.get("sv_lead")} s of steady load; one round{mode}. As in scenario 1, latencies '
             'are those of the requests answered 200, by the time they started: **steady** from '
             'the end of the first second to the first trigger, **during reloads** from a '
             'trigger to the end of that reload. **Time per reload** runs from the trigger to '
             'the old processes gone: under baton, until `baton reload` returns (it returns once '
             'the old generation has exited); for each server\'s own reload, to what the column '
             f'"reload ends at" says; a reload not finished {dl:.0f} s after its trigger counts as '
             'failed. **Memory** is the sum of VmRSS over every process of the server and its '
             'supervisor (and the reload command while it runs), sampled every 0.1 s: the '
             'highest sum during reloads, and the median of the steady stretch; pages that forked '
             'processes share are counted in each. Failed requests by kind are '
             '`test/loadgen`\'s: refused, reset, eof (closed with no answer), timeout.')
    rep.line()
    runs = sv.get('runs', [])
    rows, paras = [], []
    for srv in sv['servers']:
        key = srv['key']
        if key in sv.get('skipped', {}):
            rows.append([srv['name'], 'skipped: not installed: ' + ', '.join(sv['skipped'][key])]
                        + [''] * 7)
            continue
        pairs = []
        for load in srv['loads']:
            own = sv_agg([r for r in runs if r['server'] == key and r['load'] == load
                          and r['who'] == 'own'])
            bat = sv_agg([r for r in runs if r['server'] == key and r['load'] == load
                          and r['who'] == 'baton'])
            pairs.append((load, own, bat))
            for who, a, ends in ((srv['mechanism'], own, srv['timed']),
                                 ('baton', bat, '`baton reload` returning')):
                if a is None:
                    continue
                if 'error' in a:
                    rows.append([srv['name'], who, load, f'did not complete: {a["error"]}']
                                + [''] * 5)
                    continue
                rows.append([srv['name'], who, load, sv_reloads(a), kinds_text(a),
                             f'{num(a["sp99"])} / {num(a["rp99"])}', ratio(a['rp99'], a['sp99']),
                             sv_time(a, dl) + ' — ' + ends,
                             f'{mib(a["mem_steady"])} / {mib(a["mem_peak"])}'])
        paras.append(sv_paragraph(srv, sv.get('versions', {}).get(key, ''), pairs, dl))
    rep.line('| server | reloaded by | load | reloads ok | failed requests (by kind) | '
             'p99 steady / during reloads, ms | ratio | time per reload: median (max) — '
             'reload ends at | memory steady / peak during reloads, MiB |')
    rep.line('| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |')
    for r in rows:
        rep.line('| ' + ' | '.join(str(c) for c in r) + ' |')
    rep.line()
    for para in paras:
        rep.line(para)
        rep.line()


# ---------------------------------------------------------------- rollout

WHY_RO = {
    'time':
        'rollout = rolling starts slot k+1 only once the old worker of slot k is gone, its '
        'drain included (`server.close`, then `CLOSE_WAIT_MS`), so that no more than one worker '
        'beyond `workers` lives at any moment; the price of that bound is time.',
    'mem':
        'Both bound the workers alive at once (rolling one more than `workers`, PM2 two more); '
        'the peak follows the steady figure, and a Node worker\'s RSS grows with what it has '
        'served: compare the peak over the steady figure, and the requests each answered.',
    'p99':
        'Both start one Node process at a time; on 2 CPUs shared with the load generator and '
        '4 serving workers, the rounds vary (compare the ranges).',
    'cv':
        'PM2\'s primary accepts every connection itself and hands it to the next worker in '
        'turn, so its spread is even by construction; the price is an extra hop for every new '
        'connection (scenario 3). With rollout = rolling the kernel picks a slot by the hash '
        'of each connection\'s addresses and ports: even on average, not turn by turn.',
}


def ro_agg(rs):
    """One configuration's runs: medians over the rounds, totals of
    failures."""
    a = {'n': sum(len(r['spans']) for r in rs),
         'ok': sum(r['reloads_ok'] for r in rs),
         'reload_s': median([median(r['reload_s']) for r in rs]),
         'reload_max': max(max(r['reload_s']) for r in rs),
         'mem_steady': median([r['mem_steady_kb'] for r in rs]),
         'mem_peak': median([r['mem_peak_kb'] for r in rs]),
         'w_steady': median([r['workers_steady'] for r in rs]),
         'w_peak': max((r['workers_peak'] or 0) for r in rs),
         'failed': sum(int(r['loadgen'].get('failed', 0)) for r in rs),
         'kinds': {k: sum(int(r['loadgen'].get(k, 0)) for r in rs)
                   for k in ('refused', 'reset', 'eof', 'timeout', 'bad_status', 'other')},
         'requests': sum(int(r['loadgen'].get('requests', 0)) for r in rs),
         'lost': sum(r['lost'] for r in rs), 'answered': sum(r['answered'] for r in rs),
         'sp99': median([r['steady']['p99'] for r in rs]),
         'rp99': median([r['reload']['p99'] for r in rs]),
         'rp99_range': (min(r['reload']['p99'] or 0 for r in rs),
                        max(r['reload']['p99'] or 0 for r in rs))}
    a['mem_x'] = (a['mem_peak'] / a['mem_steady']
                  if a['mem_peak'] and a['mem_steady'] else None)
    a['p99_x'] = a['rp99'] / a['sp99'] if a['rp99'] and a['sp99'] else None
    for load in rs[0]['spread']:
        sp = sorted((r['spread'][load] for r in rs), key=lambda s: s['cv'] or 0)
        mid = sp[(len(sp) - 1) // 2]
        a[load] = {'counts': mid['counts'], 'cv': median([s['cv'] for s in sp]),
                   'cv_range': (min(s['cv'] or 0 for s in sp), max(s['cv'] or 0 for s in sp)),
                   'spread': median([s['max'] / s['min'] if s['min'] else None for s in sp]),
                   'zero': sum(1 for s in sp if s['min'] == 0),
                   'failed': sum(s['failed'] for s in sp), 'rounds': len(sp)}
    return a


SHORT = {'all': '`all`', 'rolling': '`rolling`', 'pm2': 'PM2'}


def spread_x(s):
    """The busiest worker over the least busy one."""
    if s['zero'] * 2 > s['rounds']:
        return '∞ (a worker answered none)'
    return f'{s["spread"]:.2f}×' if s['spread'] is not None else 'n/a'


def ro_paragraph(A, loads):
    """The figures of the section in words."""
    al, ro, pm = A.get('all'), A.get('rolling'), A.get('pm2')
    out = []
    if al:
        out.append(f'Under `rollout = all` a reload starts the new workers beside the old ones: '
                   f'{al["w_peak"]:.0f} worker processes at once, and memory at its peak '
                   f'{ratio(al["mem_peak"], al["mem_steady"])} the steady figure '
                   f'({mib(al["mem_peak"])} MiB against {mib(al["mem_steady"])}).')
    for k, who in (('rolling', '`rollout = rolling`'), ('pm2', 'PM2')):
        x = A.get(k)
        if x:
            out.append(f'{who}: at most {x["w_peak"]:.0f} at once, peak '
                       f'{ratio(x["mem_peak"], x["mem_steady"])} ({mib(x["mem_peak"])} MiB).')
    if al and ro:
        out.append(f'Replacing one slot at a time costs time: a rolling reload takes '
                   f'{num(ro["reload_s"], 2)} s against {num(al["reload_s"], 2)} s for all at once '
                   f'({ratio(ro["reload_s"], al["reload_s"])})'
                   + (f', PM2 {num(pm["reload_s"], 2)} s' if pm else '') + '.')
    parts = [f'{SHORT[k]} {ratio(x["rp99"], x["sp99"])}' for k, x in A.items()]
    out.append('p99 during reloads over steady p99: ' + ', '.join(parts) + '; failed requests: '
               + ', '.join(f'{SHORT[k]} {x["failed"]:,}' for k, x in A.items()) + '.')
    if pm and pm['kinds'].get('refused'):
        out.append(f'PM2 refused {pm["kinds"]["refused"]:,} connections during its reloads: its '
                   'daemon reloads two workers at a time (`Concurrent actions: 2` in its log) and '
                   'stops an old worker once its replacement is online or its `listen_timeout` '
                   '(3 s by default) has passed, listening or not; on 2 CPUs under this load a Node '
                   'worker can take longer than that to listen, and while no worker of a cluster '
                   'listens, Node\'s cluster primary closes the port.')
    uneven = []
    for load, c, ka in loads:
        if not all(load in x for x in A.values()):
            continue
        parts = [f'{SHORT[k]} {spread_x(x[load])} (CV {num(x[load]["cv"], 2)})'
                 for k, x in A.items()]
        out.append(f'{LOAD_WORDS[load].format(c=c)}, the busiest worker answered, over the '
                   'least busy: ' + ', '.join(parts) + '.')
        if al and len(A) > 1 and max(A, key=lambda k: A[k][load]['cv'] or 0) == 'all':
            uneven.append(LOAD_SHORT[load].format(c=c))
    if uneven:
        said = ', '.join(uneven[:-1]) + (' and ' if len(uneven) > 1 else '') + uneven[-1]
        out.append(f'With {said}, the shared socket spreads least evenly: one '
                   'accept queue for every worker hands a connection to whichever worker calls '
                   'accept() first, not in turn, the effect Cloudflare\'s "Why does one NGINX '
                   'worker take all the load?" describes for nginx.')
    return ' '.join(out)


LOAD_SHORT = {'close': '`Connection: close` at {c} connections', 'keepalive': 'keep-alive',
              'light': 'the light load'}
LOAD_WORDS = {
    'close': 'With `Connection: close` at {c} connections (a new connection a request)',
    'keepalive': 'With keep-alive at {c} connections (each opened once)',
    'light': 'With a light load, {c} connections, `Connection: close` (the workers mostly idle)',
}


def scenario_rollout(rep):
    ro = S.get('rollout')
    if not ro or not ro.get('runs'):
        return
    p = ro.get('params', {})
    w = p.get('ro_workers')
    labels = dict((k, lbl) for k, lbl in ro['tools'])
    refused = {r['key']: r['error'] for r in ro['runs'] if r.get('refused')}
    failed = [r for r in ro['runs'] if 'error' in r and not r.get('refused')]
    for r in failed:
        rep.note(f'Section 8: "{r["label"]}" round {r["round"]} did not complete: {r["error"]}')
    runs = [r for r in ro['runs'] if 'error' not in r]
    rep.line(f'## 8. Rollouts with {w} workers: memory, latency, and connections per worker')
    rep.line()
    mode = run_mode(ro)
    nr = ro.get('rounds')
    light = next((c for k, c, _ in ro.get('loads', []) if k == 'light'), 'a few')
    rep.line(f'The seed\'s app with {w} workers, run as in scenario 1 (`preload = yes` under '
             f'baton), under baton with `rollout = all` (one socket that every worker accepts '
             'on), with `rollout = rolling` (a socket per slot, the kernel steering each new '
             'connection to a slot by a BPF program: it needs root or CAP_BPF), and under PM2 '
             f'cluster mode (`pm2 start -i {w}`, `pm2 reload`, its primary handing each '
             f'connection to a worker in turn). {w} workers on 2 CPUs is more workers than '
             'CPUs, as a server waiting on I/O often runs; it is what makes the spread over '
             f'workers and a rollout slot by slot measurable. First {p.get("ro_spread_secs")} s '
             f'of steady load at {ro.get("conc")} connections with `Connection: close`, then as '
             f'long with keep-alive, then as long at {light} connections, counting who answered '
             'each request (the app\'s body is `ok PID`); then, as in scenario 1 (`Connection: close`, {ro.get("conc")} '
             f'connections), {p.get("ro_lead")} s of steady load and {p.get("ro_reloads")} '
             f'reloads, one every {p.get("ro_interval")} s or as soon as the previous one has '
             f'finished, then {p.get("ro_tail")} s. {nr} round{"s" if nr != 1 else ""}{mode}; '
             'medians over the rounds unless a figure says total. **Memory** is the sum of '
             'VmRSS over the supervisor and every process below it (its workers; not the '
             f'`baton reload` or `pm2 reload` client), sampled every {ro.get("interval_s", 0) * 1000:.0f} ms: '
             'the median of the steady stretch and the highest sum during reloads; pages that '
             'forked processes share are counted in each. **Workers** is the number of '
             'processes below the supervisor that run the app, in the same samples (not '
             'baton\'s keeper, nor the `ps` PM2 runs). **CV**: the standard '
             'deviation of the requests per worker over their mean (0 is even), a worker that '
             'answered none counted as 0.')
    rep.line()
    rep.line('```sh')
    rep.line(f'baton run -c FILE     # workers = {w}; preload = yes; ready = listen; rollout = all (the default) or rolling')
    rep.line('baton reload -c FILE  # each reload')
    rep.line(f'PM2_HOME=DIR pm2 start examples/express/app.js -i {w} --kill-timeout 15000 --name express')
    rep.line('PM2_HOME=DIR pm2 reload express')
    rep.line(f'test/loadgen -u http://127.0.0.1:PORT/ -c {ro.get("conc")} -d {p.get("ro_spread_secs")}s -a ANSWERS [-k]   # the spread')
    rep.line('```')
    rep.line()
    A = {}
    for key, _ in ro['tools']:
        rs = [r for r in runs if r['key'] == key]
        if rs:
            A[key] = ro_agg(rs)
    rows = []
    for key, label in ro['tools']:
        if key in refused:
            rows.append([label, f'not run: {refused[key]}'] + [''] * 6)
            continue
        a = A.get(key)
        if not a:
            continue
        rows.append([label, f'{a["ok"]}/{a["n"]}',
                     f'{num(a["reload_s"], 2)} (max {num(a["reload_max"], 2)})',
                     f'{mib(a["mem_steady"])} / **{mib(a["mem_peak"])}** '
                     f'({ratio(a["mem_peak"], a["mem_steady"])})',
                     f'{a["w_steady"]:.0f} / **{a["w_peak"]:.0f}**',
                     f'**{a["failed"]:,}** of {a["requests"]:,}'
                     + ''.join(f', {v:,} {k}' for k, v in a['kinds'].items() if v),
                     f'{a["lost"]:,} of {a["answered"]:,}',
                     f'{num(a["sp99"])} / {num(a["rp99"])} ({ratio(a["rp99"], a["sp99"])})'])
    rep.table(['', 'reloads ok', 'time per reload, s: median (max)',
               'memory steady / peak during reloads, MiB', 'workers steady / most at once',
               'failed requests (total)', 'lost async work (total)',
               'p99 steady / during reloads, ms'], rows)
    rows = []
    for load, c, ka in ro.get('loads', []):
        for key, label in ro['tools']:
            a = A.get(key)
            if key in refused or not a or load not in a:
                continue
            s = a[load]
            rows.append([label, f'{c}, {"keep-alive" if ka else "`Connection: close`"}',
                         ', '.join(f'{n:,}' for n in s['counts']), spread_x(s),
                         f'{num(s["cv"], 2)} ({num(s["cv_range"][0], 2)}–'
                         f'{num(s["cv_range"][1], 2)})', f'{s["failed"]:,}'])
    rep.line(f'Requests per worker under steady load, {p.get("ro_spread_secs")} s each (the '
             'round with the median CV; the CV\'s range over the rounds in brackets):')
    rep.line()
    rep.table(['', 'connections', 'answered per worker', 'busiest / least', 'CV',
               'failed'], rows)
    if A:
        rep.line(ro_paragraph(A, ro.get('loads', [])))
        rep.line()
    for k in refused:
        rep.line(f'{labels[k]} was not run: {refused[k]}.')
        rep.line()
    ro_notes(rep, A, labels)


def ro_notes(rep, A, labels):
    """Where PM2 comes out ahead of baton's best configuration."""
    pm = A.get('pm2')
    if not pm:
        return
    for k in ('rolling', 'all'):
        b = A.get(k)
        if not b:
            continue
        lbl = f'Section 8, {labels[k]} against PM2'
        if b['failed'] > pm['failed']:
            rep.note(f'{lbl}: baton failed {b["failed"]:,} requests, PM2 {pm["failed"]:,}.')
        if k == 'rolling' and (b['mem_peak'] or 0) > (pm['mem_peak'] or 0) * 1.05:
            rep.note(f'{lbl}: memory at its peak during reloads {mib(b["mem_peak"])} MiB '
                     f'({ratio(b["mem_peak"], b["mem_steady"])} its steady figure, '
                     f'{b["answered"]:,} answered 200), PM2 {mib(pm["mem_peak"])} MiB '
                     f'({ratio(pm["mem_peak"], pm["mem_steady"])}, {pm["answered"]:,} answered 200). '
                     + WHY_RO['mem'])
        if k == 'rolling' and (b['reload_s'] or 0) > (pm['reload_s'] or 0) * 1.05:
            rep.note(f'{lbl}: a reload takes {num(b["reload_s"], 2)} s, with PM2 '
                     f'{num(pm["reload_s"], 2)} s. ' + WHY_RO['time'])
        if k == 'rolling' and (b['rp99'] or 0) > (pm['rp99'] or 0) * 1.05:
            rep.note(f'{lbl}: p99 during reloads {num(b["rp99"])} ms (rounds: '
                     f'{num(b["rp99_range"][0])}–{num(b["rp99_range"][1])}), PM2 '
                     f'{num(pm["rp99"])} ms (rounds: {num(pm["rp99_range"][0])}–'
                     f'{num(pm["rp99_range"][1])}). ' + WHY_RO['p99'])
        if (b['close']['cv'] or 0) > (pm['close']['cv'] or 0) * 1.05:
            why = WHY_RO['cv'] if k == 'rolling' else (
                'With one shared socket the kernel gives each connection to whichever worker '
                'accepts first; `rollout = rolling` gives each slot a socket of its own.')
            rep.note(f'{lbl}: with `Connection: close`, requests per worker vary by a CV of '
                     f'{num(b["close"]["cv"], 2)}, with PM2 {num(pm["close"]["cv"], 2)}. ' + why)


# ---------------------------------------------------------------- headline

def headline():
    """The few ratios worth a sentence, at the top."""
    h = []
    A = HEAD.get('s1')
    bk = HEAD.get('bk')
    if A and bk:
        concs = sorted({c for (_, c) in A})
        for c in concs:
            b = A.get((bk, c))
            if not b:
                continue
            parts = []
            for k in PEERS:
                p = A.get((k, c))
                if p:
                    parts.append(f'{NAMES[k]} {p["failed"]:,} failed / {p["lost"]:,} lost, '
                                 f'p99 during reloads ×{ratio(b["reload_p99"], p["reload_p99"])[:-1]}')
            h.append(f'Reloads under load, {c} connections: {NAMES[bk]} '
                     f'{b["failed"]:,} failed requests and {b["lost"]:,} units of lost work '
                     f'in {b["reloads"]} reloads; ' + '; '.join(parts)
                     + ' (baton\'s p99 during reloads over the peer\'s).')
        parts = []
        for c in concs:
            q = [f'{NAMES[k]} {t[0]:.2f}× ({num(A[(k, c)]["reload_s"], 2)} s)'
                 for k in ('baton', 'baton-prio', 'pm2', 'starter')
                 if A.get((k, c)) for t in [s1_tail_ratio(A[(k, c)])] if t]
            if q:
                parts.append(f'{c} connections: ' + ', '.join(q))
        if parts:
            h.append('The tail during reloads (p99 during reloads over the same tool\'s steady '
                     'p99, median of the rounds; time per reload): ' + '; '.join(parts) + '.')
    m2 = HEAD.get('s2')
    if m2 and 'baton-ts' in m2:
        b = m2['baton-ts']
        s = f'Reload latency: baton\'s own share is {ms(b["own"])} ms (C test server: trigger to old generation signalled in {ms(b["signalled"])} ms)'
        if 'starter-ts' in m2:
            s += f'; Server::Starter takes {ms(m2["starter-ts"]["signalled"])} ms (its 1 s timer)'
        if 'pm2-ex' in m2:
            s += (f'; PM2 takes {ms(m2["pm2-ex"]["done"], 0)} ms for `pm2 reload` of 2 '
                  'Express workers')
            be = m2.get('baton-pre') or m2.get('baton-ex')
            if be:
                s += f' against {ms(be["command"] or be["done"], 0)} ms for `baton reload`'
        h.append(s + '.')
    m3 = HEAD.get('s3')
    if m3:
        parts = []
        for grp, name in (('ts', 'C test server'), ('ex2', 'Express ×2')):
            b, a = m3.get((grp, 'baton')), m3.get((grp, 'alone'))
            if b and a:
                parts.append(f'{name} under baton {ratio(b["rps"], a["rps"])} of alone '
                             f'(keep-alive), {ratio(b["crps"], a["crps"])} (new connections)')
        b, p = m3.get(('ex2', 'baton')), m3.get(('ex2', 'pm2'))
        if b and p:
            parts.append(f'baton over PM2 cluster mode {ratio(b["rps"], p["rps"])} (keep-alive), '
                         f'{ratio(b["crps"], p["crps"])} (new connections)')
        if parts:
            h.append('Data path: ' + '; '.join(parts) + '.')
    m4 = HEAD.get('s4')
    if m4 and 'baton' in m4:
        b = m4['baton']
        s = f'Footprint: baton {num(b["rss_kb"] / 1024)} MiB RSS, {b["wakeups"]:.0f} wake-ups idle'
        if 'pm2' in m4:
            s += (f'; PM2 daemon {num(m4["pm2"]["rss_kb"] / 1024)} MiB '
                  f'({ratio(m4["pm2"]["rss_kb"], b["rss_kb"], 0)} baton), '
                  f'{m4["pm2"]["wakeups"]:.0f} wake-ups')
        if 'starter' in m4:
            s += (f'; start_server {num(m4["starter"]["rss_kb"] / 1024)} MiB, '
                  f'{m4["starter"]["wakeups"]:.0f} wake-ups')
        h.append(s + f' in {P.get("s4_idle")} s.')
    return h


def main():
    rep = Report()
    header(rep)
    body_start = len(rep.lines)
    scenario1(rep)
    scenario2(rep)
    scenario3(rep)
    scenario4(rep)
    scenario5(rep)
    scenario6(rep)
    scenario_servers(rep)
    scenario_rollout(rep)
    body = rep.lines[body_start:]
    del rep.lines[body_start:]
    h = headline()
    if h:
        rep.line('## Headline')
        rep.line()
        for s in h:
            rep.line(f'- {s}')
        rep.line()
    rep.lines.extend(body)
    rep.line('## Where baton is not ahead')
    rep.line()
    if rep.notes:
        rep.line('Each figure on which a peer comes out ahead of baton (or level with it where '
                 'baton should lead), with the reason:')
        rep.line()
        for n_ in rep.notes:
            rep.line(f'- {n_}')
    else:
        rep.line('On every figure of this run baton is ahead of, or level with, each peer.')
    rep.line()
    rep.line('Figures where baton and a peer are level by design: Server::Starter holds the '
             'socket as baton does, so its data path (scenario 3) is the server\'s own, like '
             'baton\'s; and neither refuses a connection during a reload. What separates them is '
             'readiness (Server::Starter\'s fixed 1 s `--interval` against READY=1 or listen()), '
             'workers per generation, the drain deadline, and rollback.')
    rep.line()
    rep.write(os.path.join(DOCS, 'benchmarks.md'))
    print(f'report: wrote docs/benchmarks.md, docs/bench-latency.png, docs/bench-scale.png')


if __name__ == '__main__':
    main()
