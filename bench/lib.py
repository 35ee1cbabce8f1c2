"""Shared by bench/bench.py: paths, processes, supervisors, statistics.

Every process the benchmarks start carries BENCH_TAG=<unique> in its
environment; whatever is left of a run is found by that tag (and nothing
else) and killed by pid.
"""
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
# The programs come from the build tree (BENCH_BUILDDIR, for a build outside
# the source tree; make bench sets it), the app and the scripts from here.
BUILD = os.path.abspath(os.environ.get('BENCH_BUILDDIR') or ROOT)
BATON = os.path.join(BUILD, 'baton')
TESTSERVER = os.path.join(BUILD, 'test', 'testserver')
LOADGEN = os.path.join(BUILD, 'test', 'loadgen')
APP_DIR = os.path.join(ROOT, 'examples', 'express')
APP = os.path.join(APP_DIR, 'app.js')
FD_APP = os.path.join(BENCH, 'fd-app.js')
CLUSTER_APP = os.path.join(BENCH, 'cluster-app.js')
PM2_BIN = os.path.join(BENCH, 'node_modules', '.bin', 'pm2')
PRELOAD_LIB = os.environ.get('BATON_PRELOAD_LIB') or os.path.join(
    BUILD, '.libs', 'libbaton-preload.so')
CLK_TCK = os.sysconf('SC_CLK_TCK')
PAGE_KB = os.sysconf('SC_PAGE_SIZE') // 1024

# The same drain for every tool: the app's server.close, then CLOSE_WAIT_MS
# (the post's 10 s, shortened), force exit at FORCE_MS (the post's 15 s);
# the work a request leaves behind runs WORK_MS after its answer.
APP_ENV = {
    'NODE_ENV': 'production',
    'NODE_PATH': os.path.join(BENCH, 'node_modules'),
    'WORK_MS': '300',
    'CLOSE_WAIT_MS': '1000',
    'FORCE_MS': '15000',
}
DRAIN_TIMEOUT_S = 15        # baton drain_timeout = PM2 --kill-timeout 15000

# What a run of a tool can raise: a wait that timed out (must, wait_http),
# a process, file or socket that failed, a command past its timeout, and
# output that did not parse, or a figure missing from it (None).
RUN_ERRORS = (RuntimeError, OSError, subprocess.SubprocessError, ValueError,
              TypeError)


@dataclass
class Params:
    """How much each scenario measures: the full run's figures, or
    quick()'s and smoke()'s. bench.py records them in summary.json and
    report.py reads them back (from_dict)."""
    rounds: int = 3
    """1: reload under load, at each concurrency."""
    s1_conc: list = field(default_factory=lambda: [32, 256])
    s1_reloads: int = 10
    s1_interval: float = 2.0
    s1_lead: float = 5.0
    s1_tail: float = 3.0
    """2: reload latency, no load."""
    s2_reloads: int = 10
    """3: the data path (wrk, then a new connection a request)."""
    s3_secs: int = 10
    s3_close_secs: int = 5
    s3_conc: int = 64
    s3_warm: int = 1
    """4: the supervisor's footprint, idle."""
    s4_idle: int = 10
    """5: scale in workers and sockets; 6: steady state at high
    concurrency."""
    s6_secs: int = 10
    s5_reloads: int = 10
    s5_many: int = 1000
    """servers: each server reloaded its own way and under baton, one
    round (a few minutes in all)."""
    sv_reloads: int = 3
    sv_interval: float = 2.0
    sv_lead: float = 3.0
    sv_tail: float = 2.0
    sv_deadline: float = 35.0

    @classmethod
    def quick(cls):
        """One round, shorter loads, fewer reloads."""
        return cls(rounds=1, s1_reloads=5, s1_lead=2.0, s1_tail=2.0,
                   s2_reloads=5, s3_secs=4, s3_close_secs=3, s5_reloads=5,
                   s5_many=200, s6_secs=5, sv_reloads=2)

    @classmethod
    def smoke(cls):
        """A few seconds at -c 4 a scenario: checks the machinery only."""
        return cls(rounds=1, s1_conc=[4], s1_reloads=1, s1_interval=1.0,
                   s1_lead=0.5, s1_tail=0.5, s2_reloads=2, s3_secs=2,
                   s3_close_secs=2, s3_conc=4, s3_warm=0, s4_idle=2,
                   s5_reloads=2, s5_many=20, s6_secs=2, sv_reloads=1,
                   sv_interval=1.0, sv_lead=1.5, sv_tail=0.5, sv_deadline=10.0)

    @classmethod
    def from_dict(cls, d):
        """The parameters a summary.json recorded; None where it has none."""
        return cls(**{f.name: d.get(f.name) for f in fields(cls)})

    def as_dict(self):
        return asdict(self)


T_START = time.monotonic()
TAGS = []       # every tool's tag, to clean up whatever is left at the end


def progress(msg):
    el = time.monotonic() - T_START
    print(f'[{int(el // 60):02d}:{int(el % 60):02d}] {msg}', flush=True)


def preload_available():
    return os.path.exists(PRELOAD_LIB)


# ---------------------------------------------------------------- processes

def free_port():
    """A TCP port on 127.0.0.1 that nothing uses, below the ephemeral range."""
    for _ in range(200):
        port = 20000 + int.from_bytes(os.urandom(2), 'little') % 12000
        s = socket.socket()
        try:
            s.bind(('127.0.0.1', port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError('no free port')


def http_get(port, path='/', timeout=1.0):
    """GET with Connection: close; (status, body) or None."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
            s.sendall(f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                      'Connection: close\r\n\r\n'.encode())
            data = b''
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
    except OSError:
        return None
    head, _, body = data.partition(b'\r\n\r\n')
    m = re.match(rb'HTTP/1\.\d (\d+)', head)
    if not m:
        return None
    return int(m.group(1)), body.decode(errors='replace')


def wait_http(port, timeout=30.0, step=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = http_get(port, timeout=0.5)
        if r and r[0] == 200:
            return time.monotonic()
        time.sleep(step)
    raise RuntimeError(f'nothing answers on 127.0.0.1:{port} after {timeout} s')


def tagged_pids(tag):
    """Pids of the processes whose environment carries BENCH_TAG=tag."""
    want = f'BENCH_TAG={tag}'.encode()
    me = os.getpid()
    pids = []
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open(f'/proc/{d}/environ', 'rb') as f:
                if want in f.read().split(b'\0'):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def tree_pids(tag, roots=()):
    """The processes that carry BENCH_TAG=tag, or descend from one of
    them or from ROOTS, in one pass over /proc. The tag alone misses some:
    nginx, for one, writes its process title over its environment."""
    want = f'BENCH_TAG={tag}'.encode()
    me = os.getpid()
    parent, found = {}, set(roots)
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                st = f.read()
            parent[int(d)] = int(st[st.rindex(')') + 2:].split()[1])
            with open(f'/proc/{d}/environ', 'rb') as f:
                if want in f.read().split(b'\0'):
                    found.add(int(d))
        except (OSError, ValueError):
            pass
    grew = True
    while grew:
        more = {p for p, pp in parent.items() if pp in found and p not in found}
        found |= more
        grew = bool(more)
    return [p for p in found if p in parent]


def kill_all_tagged():
    return sum(len(kill_tagged(t)) for t in TAGS)


def kill_tagged(tag):
    pids = tagged_pids(tag)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    return pids


def children(pid):
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                st = f.read()
            ppid = int(st[st.rindex(')') + 2:].split()[1])
            if ppid == pid:
                out.append(int(d))
        except (OSError, ValueError):
            pass
    return out


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        c = children(todo.pop())
        out += c
        todo += c
    return out


def proc_sample(pid):
    """VmRSS (kB), CPU ticks (utime+stime of all threads), context
    switches (voluntary+nonvoluntary, summed over threads), threads."""
    with open(f'/proc/{pid}/stat') as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    ticks = int(fields[11]) + int(fields[12])
    rss = ctx = 0
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    # Context switches: every thread's (node and perl alike), not only the
    # main thread's that /proc/PID/status shows.
    threads = os.listdir(f'/proc/{pid}/task')
    for tid in threads:
        try:
            with open(f'/proc/{pid}/task/{tid}/status') as f:
                for line in f:
                    if line.startswith(('voluntary_ctxt_switches:',
                                        'nonvoluntary_ctxt_switches:')):
                        ctx += int(line.split()[1])
        except OSError:
            pass
    return {'rss_kb': rss, 'ticks': ticks, 'ctx': ctx, 'threads': len(threads)}


def nfds(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


class RssSampler:
    """Every INTERVAL seconds, the sum of VmRSS over every process that
    carries TAG or descends from one, or from ROOTS() (the server, its
    supervisor, and a reload command while it runs): (monotonic time, kB,
    processes). Pages that forked workers share are counted in each of
    them, as RSS does."""

    INTERVAL = 0.1

    def __init__(self, tag, roots=lambda: ()):
        self.tag = tag
        self.roots = roots
        self.samples = []
        self.stopping = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            t = time.monotonic()
            kb = n = 0
            for pid in tree_pids(self.tag, self.roots()):
                try:
                    with open(f'/proc/{pid}/statm') as f:
                        kb += int(f.read().split()[1]) * PAGE_KB
                    n += 1
                except (OSError, ValueError, IndexError):
                    pass
            self.samples.append((t, kb, n))
            time.sleep(max(0.0, self.INTERVAL - (time.monotonic() - t)))

    def stop(self):
        self.stopping = True
        self.t.join(5)
        return self.samples


class Lines:
    """Reads a process's output line by line, stamping each line with the
    monotonic and wall clocks as it arrives, into a list and a file."""

    def __init__(self, stream, path):
        self.lines = []
        self.cv = threading.Condition()
        self.closed = False
        self.f = open(path, 'a')
        self.stream = stream
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for raw in iter(self.stream.readline, b''):
            t, w = time.monotonic(), time.time()
            text = raw.decode(errors='replace').rstrip('\n')
            with self.cv:
                self.lines.append((t, w, text))
                self.cv.notify_all()
            self.f.write(f'{w:.6f} {text}\n')
            self.f.flush()
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def mark(self):
        with self.cv:
            return len(self.lines)

    def wait(self, regex, timeout=30.0, start=0):
        """The first line from index start matching regex: (index, t, match)."""
        rx = re.compile(regex)
        end = time.monotonic() + timeout
        i = start
        with self.cv:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i][2])
                    if m:
                        return i, self.lines[i][0], m
                    i += 1
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cv.wait(left)

    def find_all(self, regex, start=0):
        rx = re.compile(regex)
        with self.cv:
            lines = list(self.lines[start:])
        return [(t, m) for t, _, text in lines for m in [rx.search(text)] if m]


def must(x, what):
    if x is None:
        raise RuntimeError(f'timed out waiting for {what}')
    return x


# -------------------------------------------------------------- supervisors

class Tool:
    """One server under one supervisor (or none), on 127.0.0.1:port."""
    key = 'tool'

    def __init__(self, d, port, env, workers=2, tag=None):
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.port = port
        self.workers = workers
        self.tag = tag or uuid.uuid4().hex[:12]
        TAGS.append(self.tag)
        self.env = dict(os.environ)
        self.env.update(APP_ENV)
        self.env.update(env)
        self.env['PORT'] = str(port)
        self.env['BENCH_TAG'] = self.tag
        self.proc = None

    def popen(self, args, name, **kw):
        if 'stdout' not in kw:
            kw['stdout'] = open(os.path.join(self.d, f'{name}.out'), 'ab')
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, env=self.env,
                                start_new_session=True, **kw)

    def run(self, args, name, timeout=120, **kw):
        with open(os.path.join(self.d, f'{name}.out'), 'ab') as out:
            return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, env=self.env,
                                  timeout=timeout, **kw)

    def sup_pid(self):
        return self.proc.pid

    def roots(self):
        """The processes whose trees make the tool, beside those tagged."""
        return [self.proc.pid] if self.proc else []

    def worker_pids(self):
        return descendants(self.sup_pid())

    def cleanup(self):
        left = kill_tagged(self.tag)
        if left:
            time.sleep(0.2)
        return left

    # How stop() ends the supervisor: this signal, then this long to exit.
    stop_signal = signal.SIGTERM
    stop_grace = DRAIN_TIMEOUT_S + 30

    def stop(self):
        if self.proc is None:
            return
        try:
            self.proc.send_signal(self.stop_signal)
            self.proc.wait(timeout=self.stop_grace)
        except subprocess.TimeoutExpired:
            pass
        self.cleanup()


class Baton(Tool):
    """baton run -c FILE; app: express-fd (bench/fd-app.js, ready = notify
    through BATON_FD), express-preload (the unmodified app with the bind()
    interposer, ready = listen) or testserver (ready = notify)."""

    def __init__(self, d, port, env, workers=2, app='express-fd', sockets=1,
                 tag=None, server_args='', extra=''):
        super().__init__(d, port, env, workers, tag)
        self.app = app
        self.extra = extra      # more [baton] lines, "key = value\n" each
        self.sockets = sockets
        self.server_args = server_args
        self.key = {'express-fd': 'baton-fd', 'express-preload': 'baton',
                    'testserver': 'baton'}[app]
        self.ini = os.path.join(d, 'baton.ini')
        self.gen = 1
        if app == 'express-preload':
            self.env['BATON_PRELOAD_LIB'] = PRELOAD_LIB

    def conf(self):
        if self.app == 'express-fd':
            command, ready, extra = f'node {FD_APP} {APP}', 'notify', ''
        elif self.app == 'express-preload':
            command, ready, extra = f'node {APP}', 'listen', 'preload = yes\n'
        else:
            command = f'{TESTSERVER} --notify --quiet {self.server_args}'.strip()
            ready, extra = 'notify', ''
        s = (f'[baton]\ncommand = {command}\ndirectory = {APP_DIR}\n'
             f'workers = {self.workers}\nready = {ready}\n{extra}'
             f'ready_timeout = 60s\ndrain_signal = SIGINT\n'
             f'drain_timeout = {DRAIN_TIMEOUT_S}s\n'
             f'control = {self.d}/baton.sock\n{self.extra}\n'
             f'[socket:http]\nlisten = tcp://127.0.0.1:{self.port}\n')
        for i in range(1, self.sockets):
            s += f'\n[socket:s{i}]\nlisten = unix://{self.d}/s{i}.sock\n'
        return s

    def start(self):
        with open(self.ini, 'w') as f:
            f.write(self.conf())
        self.proc = self.popen([BATON, 'run', '-c', self.ini], 'baton',
                               stderr=subprocess.PIPE)
        self.log = Lines(self.proc.stderr, os.path.join(self.d, 'baton.log'))
        must(self.log.wait(r'generation 1: (active|rolled back)', 90),
             'baton generation 1')
        wait_http(self.port)

    def reload(self, timeout=120):
        """baton reload: returns once the old generation has exited."""
        t0 = time.monotonic()
        r = self.run([BATON, 'reload', '-c', self.ini], 'reload', timeout=timeout)
        t1 = time.monotonic()
        self.gen += 1
        return {'start': t0, 'end': t1, 'ok': r.returncode == 0}

    def reload_hup(self, timeout=60):
        """SIGHUP; the times of each step, from baton's log lines as they
        arrive (monotonic, seconds after the signal)."""
        g, old = self.gen + 1, self.gen
        i0 = self.log.mark()
        t0 = time.monotonic()
        os.kill(self.proc.pid, signal.SIGHUP)
        act = must(self.log.wait(rf'generation {g}: active after (\d+) ms',
                                 timeout, i0), f'generation {g} active')
        drn = must(self.log.wait(rf'generation {old}: draining', timeout, i0),
                   f'generation {old} draining')
        ext = must(self.log.wait(rf'generation {old}: exited', timeout, i0),
                   f'generation {old} exited')
        self.gen = g
        starting = self.log.find_all(rf'generation {g}: starting', i0)
        started = self.log.find_all(rf'gen {g} worker \d+ pid \d+: started', i0)
        ready = self.log.find_all(rf'gen {g} worker \d+ pid \d+: ready in (\d+) ms', i0)
        return {
            'start': t0, 'end': ext[1],
            'starting': starting[0][0] - t0 if starting else None,
            'last_started': max(t for t, _ in started) - t0,
            'first_ready': min(t for t, _ in ready) - t0,
            'all_ready': max(t for t, _ in ready) - t0,
            'startup_ms': max(int(m.group(1)) for _, m in ready),
            'active': act[1] - t0,
            'active_ms': int(act[2].group(1)),
            'signalled': drn[1] - t0,
            'done': ext[1] - t0,
        }

class PM2(Tool):
    """PM2 cluster mode, as the post runs it: pm2 start app.js -i N
    --kill-timeout 15000; reload with pm2 reload; a private PM2_HOME."""
    key = 'pm2'

    def __init__(self, d, port, env, workers=2, tag=None):
        super().__init__(d, port, env, workers, tag)
        self.home = os.path.join(d, 'pm2')
        self.env['PM2_HOME'] = self.home
        self.env['PM2_LOG_DATE_FORMAT'] = 'YYYY-MM-DDTHH:mm:ss.SSS'

    def start(self):
        r = self.run([PM2_BIN, 'start', APP, '-i', str(self.workers),
                      '--kill-timeout', '15000', '--name', 'express'],
                     'pm2', timeout=120, cwd=APP_DIR)
        if r.returncode != 0:
            raise RuntimeError('pm2 start failed')
        wait_http(self.port)

    def sup_pid(self):
        with open(os.path.join(self.home, 'pm2.pid')) as f:
            return int(f.read().strip())

    def reload(self, timeout=120):
        w0 = time.time()
        t0 = time.monotonic()
        r = self.run([PM2_BIN, 'reload', 'express'], 'pm2', timeout=timeout)
        t1 = time.monotonic()
        return {'start': t0, 'end': t1, 'ok': r.returncode == 0, 'wall': w0}

    def log_events(self, since_wall):
        """The daemon's log lines after since_wall: (seconds after, text)."""
        out = []
        with open(os.path.join(self.home, 'pm2.log'), errors='replace') as f:
            for line in f:
                m = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}): PM2 log: (.*)', line)
                if not m:
                    continue
                w = datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S.%f').timestamp()
                if w >= since_wall - 0.002:
                    out.append((w - since_wall, m.group(2)))
        return out

    def stop(self):
        try:
            self.run([PM2_BIN, 'kill'], 'pm2', timeout=DRAIN_TIMEOUT_S + 60)
        except subprocess.TimeoutExpired:
            pass
        self.cleanup()


class Starter(Tool):
    """Server::Starter: start_server --port=127.0.0.1:PORT -- CMD; HUP
    reloads: a new worker, --interval (1 s) later the old one gets
    --signal-on-hup. app: express-fd (one bench/fd-app.js process that
    preforks N children on the passed socket), testserver, or cmd (a
    command of its own, drained with the signal drain)."""
    key = 'starter'

    def __init__(self, d, port, env, workers=2, app='express-fd', tag=None,
                 cmd=None, drain='INT'):
        super().__init__(d, port, env, workers, tag)
        self.app = 'cmd' if cmd else app
        self.cmd = cmd
        self.drain = drain
        if app == 'express-fd' and workers > 1:
            self.env['BENCH_PREFORK'] = str(workers)

    def start(self):
        if self.cmd:
            cmd = self.cmd
        elif self.app == 'express-fd':
            cmd = ['node', FD_APP, APP]
        else:
            cmd = [TESTSERVER, '--protocol', 'starter', '--quiet']
        self.proc = self.popen(['start_server', f'--port=127.0.0.1:{self.port}',
                                f'--signal-on-hup={self.drain}',
                                f'--signal-on-term={self.drain}',
                                f'--dir={APP_DIR}', '--'] + cmd, 'starter',
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # The workers' output comes through the same pipe: the app's own
        # "Express is listening" line tells when a new worker listens.
        self.log = Lines(self.proc.stdout, os.path.join(self.d, 'starter.log'))
        must(self.log.wait(r'starting new worker', 30), 'start_server')
        wait_http(self.port)

    HUP_GRACE = 5.0

    def reload(self, timeout=60):
        """HUP; returns once the old worker has exited.

        start_server can miss a HUP: one that arrives while it handles a
        worker's exit is queued but not acted on while it blocks in wait3(),
        until another signal or child exit wakes it. A HUP not acted on
        within HUP_GRACE seconds is counted in lost_hups and sent again; the
        reload is then timed from the HUP that worked."""
        i0 = self.log.mark()
        t0 = time.monotonic()
        os.kill(self.proc.pid, signal.SIGHUP)
        lost = 0
        while self.log.wait(r'received HUP', self.HUP_GRACE, i0) is None:
            lost += 1
            if lost > 3:
                raise RuntimeError('start_server does not act on SIGHUP')
            t0 = time.monotonic()
            os.kill(self.proc.pid, signal.SIGHUP)
        self.lost_hups = getattr(self, 'lost_hups', 0) + lost
        new = must(self.log.wait(r'starting new worker (\d+)', timeout, i0), 'new worker')
        run = must(self.log.wait(r'new worker is now running, sending \w+ to old workers:(\S*)',
                                 timeout, i0), 'new worker running')
        kill = must(self.log.wait(r'killing old workers', timeout, i0), 'killing')
        listening = None
        if self.app == 'express-fd':
            j = i0
            for _ in range(self.workers):
                x = self.log.wait(r'Express is listening', timeout, j)
                if x is None:
                    break
                listening, j = x[1] - t0, x[0] + 1
        old = [p for p in run[2].group(1).split(',') if p.isdigit()]
        t_done = kill[1]
        for p in old:
            x = must(self.log.wait(rf'worker {p} died', timeout, i0), f'old worker {p}')
            t_done = max(t_done, x[1])
        return {'start': t0, 'end': t_done, 'ok': True, 'lost_hups': lost,
                'spawned': new[1] - t0, 'new_pid': int(new[2].group(1)),
                'running': run[1] - t0, 'signalled': kill[1] - t0,
                'listening': listening,
                'done': t_done - t0}

class Naive(Tool):
    """No supervisor: Node's cluster module (bench/cluster-app.js), restarted
    by stopping it (SIGINT, wait for its exit) and starting it again."""
    stop_signal = signal.SIGINT
    stop_grace = DRAIN_TIMEOUT_S + 10
    key = 'naive'

    def start(self):
        self.env['BENCH_WORKERS'] = str(self.workers)
        self.proc = self.popen(['node', CLUSTER_APP, APP], 'naive',
                               stderr=subprocess.STDOUT, cwd=APP_DIR)
        wait_http(self.port)

    def reload(self):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=DRAIN_TIMEOUT_S + 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        t_down = time.monotonic()
        self.start()
        t1 = time.monotonic()
        return {'start': t0, 'end': t1, 'ok': True, 'down': t_down - t0}

class Alone(Tool):
    """The server with no supervisor at all: a command that binds its port
    itself, or (bind_fd) a socket bound here and passed as BENCH_FD."""
    stop_signal = signal.SIGINT
    stop_grace = DRAIN_TIMEOUT_S + 10

    def __init__(self, d, port, env, cmd, workers=1, bind_fd=False, tag=None):
        super().__init__(d, port, env, workers, tag)
        self.cmd = cmd
        self.bind_fd = bind_fd
        self.key = 'alone'

    def start(self):
        if self.bind_fd:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('127.0.0.1', self.port))
            s.listen(socket.SOMAXCONN)
            self.env['BENCH_FD'] = str(s.fileno())
            self.env['BENCH_PREFORK'] = str(self.workers)
            self.proc = self.popen(self.cmd, 'alone', stderr=subprocess.STDOUT,
                                   pass_fds=[s.fileno()], cwd=APP_DIR)
            s.close()
        else:
            self.proc = self.popen(self.cmd, 'alone', stderr=subprocess.STDOUT,
                                   cwd=APP_DIR)
        wait_http(self.port)

# -------------------------------------------------------------- statistics

def pct(values, p):
    """Nearest-rank percentile, as loadgen computes it; None if empty."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def parse_kv(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


def dump(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
