"""The servers with a graceful reload of their own, for bench.py's
scenario "servers": each one reloaded its own way, and under baton the
way docs/compatibility.md runs it.

The servers' commands, apps and baton configurations come from
test/compat/run (its CASES), so that the benchmark runs what the
compatibility suite checks and the two cannot drift apart.
"""
import copy
import importlib.machinery
import importlib.util
import os
import re
import shlex
import signal
import subprocess
import time

from lib import (  # noqa: E402
    PM2_BIN, PRELOAD_LIB, ROOT, Baton, PM2, Starter, Tool, children, pid_alive,
    preload_available, wait_http)


def _load_compat():
    """test/compat/run as a module (it has no .py suffix: it is a test)."""
    path = os.path.join(ROOT, 'test', 'compat', 'run')
    loader = importlib.machinery.SourceFileLoader('compat', path)
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader('compat', loader))
    loader.exec_module(mod)
    # The interposer of the build the benchmark runs, not of the source tree.
    mod.PRELOAD = PRELOAD_LIB
    return mod


COMPAT = _load_compat()
CLIENTS = COMPAT.CLIENTS                # loadgen -c, as in the compatibility suite
REQ_TIMEOUT_MS = COMPAT.REQ_TIMEOUT_MS  # loadgen -t
APPS = COMPAT.APPS


def case(name):
    return next(c for c in COMPAT.CASES if c.name == name)


def wait_until(pred, timeout, what, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return time.monotonic()
        time.sleep(step)
    raise RuntimeError(f'timed out waiting for {what}')


# ------------------------------------------------------- under baton

class CompatBaton(Baton):
    """baton run with the configuration test/compat/run writes for CASE
    (its command, keys, [env] and files such as nginx.conf); reloaded with
    `baton reload`, which returns once the old generation has exited."""

    def __init__(self, d, port, env, c):
        super().__init__(d, port, env, c.workers, 'testserver')
        self.key = 'baton'
        self.case = c
        self.crun = COMPAT.Run(c, d)
        self.crun.port = port
        self.crun.subst['port'] = str(port)
        self.env['BATON_PRELOAD_LIB'] = PRELOAD_LIB

    def conf(self):
        self.crun.write_conf()
        with open(self.crun.ini) as f:
            return f.read()


# ------------------------------------------------------- their own way

class Native(Tool):
    """The server alone, in the foreground, its command as test/compat/run
    has it (it binds its port itself there, since no LISTEN_FDS, NGINX or
    SERVER_STARTER_PORT is set). reload() sends SIG to the master and
    returns once every worker the master had before is gone and it has
    WORKERS again: the old processes gone, the new ones started."""

    def __init__(self, d, port, env, c, workers, sig):
        super().__init__(d, port, env, workers)
        self.case = c
        self.sig = sig
        self.crun = COMPAT.Run(c, d)
        self.crun.port = port
        self.crun.subst['port'] = str(port)
        for k in ('LISTEN_FDS', 'LISTEN_PID', 'SERVER_STARTER_PORT', 'NGINX'):
            self.env.pop(k, None)

    def command(self):
        return shlex.split(self.crun.fill(self.case.command))

    def start(self):
        for name, make in self.case.files.items():
            with open(os.path.join(self.crun.dir, name), 'w') as f:
                f.write(make(self.port, self.crun.dir))
        self.proc = self.popen(self.command(), 'server', stderr=subprocess.STDOUT,
                               cwd=self.crun.dir)
        wait_http(self.port)

    def master(self):
        return self.proc.pid

    def trigger(self, master):
        os.kill(master, self.sig)

    def reload(self, timeout=60):
        m = self.master()
        old = children(m)
        t0 = time.monotonic()
        self.trigger(m)
        wait_until(lambda: not any(pid_alive(p) for p in old), timeout,
                   f'the old workers of {m} to exit')
        t1 = wait_until(lambda: len(children(m)) >= self.workers, timeout,
                        f'{self.workers} new workers of {m}')
        return {'start': t0, 'end': t1, 'ok': True}


class Nginx(Native):
    """nginx -s reload: the master reads its configuration again, starts
    new workers and tells the old ones to finish gracefully (SIGQUIT)."""

    def command(self):
        return shlex.split(self.crun.fill(self.case.command).replace('{generation}', '1'))

    def trigger(self, master):
        r = self.run(self.command() + ['-s', 'reload'], 'reload', timeout=30)
        if r.returncode != 0:
            raise RuntimeError('nginx -s reload failed')


class Unicorn(Native):
    """unicorn's USR2-then-QUIT: USR2 makes the master exec a new master
    on the same sockets (the old one's pid file becomes .oldbin); once the
    new master's workers are ready, QUIT makes the old master finish its
    requests and exit. A reload is timed from USR2 until the old master
    is gone."""

    def start(self):
        self.pidfile = os.path.join(self.crun.dir, 'unicorn.pid')
        self.conf = os.path.join(self.crun.dir, 'unicorn.rb')
        with open(os.path.join(APPS, 'unicorn.rb')) as f:
            text = f.read()
        with open(self.conf, 'w') as f:
            f.write(text + f'pid "{self.pidfile}"\n')
        super().start()
        wait_until(lambda: self.master() is not None, 30, 'unicorn.pid')

    def command(self):
        return [a.replace(os.path.join(APPS, 'unicorn.rb'), self.conf)
                for a in super().command()]

    def master(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def roots(self):
        m = self.master()
        return super().roots() + ([m] if m else [])

    def log_text(self):
        with open(os.path.join(self.d, 'server.out'), errors='replace') as f:
            return f.read()

    def reload(self, timeout=60):
        old = self.master()
        mark = len(self.log_text())
        t0 = time.monotonic()
        os.kill(old, signal.SIGUSR2)
        wait_until(lambda: self.master() not in (None, old), timeout, 'the new master')
        wait_until(lambda: len(re.findall(r'worker=\d+ ready', self.log_text()[mark:])) >= self.workers,
                   timeout, 'the new master\'s workers ready')
        os.kill(old, signal.SIGQUIT)
        t1 = wait_until(lambda: not pid_alive(old), timeout, f'the old master {old} to exit')
        self.proc.poll()        # reap the first master once it is gone
        return {'start': t0, 'end': t1, 'ok': True}

    def stop(self):
        m = self.master()
        if m and pid_alive(m):
            os.kill(m, signal.SIGQUIT)
            try:
                wait_until(lambda: not pid_alive(m), 30, 'unicorn to exit', 0.05)
            except RuntimeError:
                pass
        self.proc.poll()
        self.cleanup()


# ------------------------------------------------------- the list

class Server:
    """One server: how it reloads itself (own) and its configuration
    under baton (a case of test/compat/run)."""

    def __init__(self, key, name, mechanism, timed, baton_case, native=None,
                 own=None, needs=(), baton=None):
        self.key = key
        self.name = name
        self.mechanism = mechanism      # the server's own reload, in words
        self.timed = timed              # what its reload time runs to
        self.case = case(baton_case)
        if native:
            # (class, signal): the case's command alone, with 2 workers.
            cls, sig = native
            own = lambda d, p: cls(d, p, {}, self.case, 2, sig)  # noqa: E731
        self.own = own                  # factory(d, port)
        self.baton = baton or (lambda d, p: CompatBaton(d, p, {}, self.case))
        self.needs = list(needs)        # beside the case's: (what, package)
        self.loads = self.case.loads

    def missing(self):
        """What is not installed, as "what (package)"."""
        c = copy.copy(self.case)
        c.needs = [n for n in c.needs if n[0] != 'express'] + \
            [n for n in self.needs if not n[0].startswith('/')]
        gone = COMPAT.missing(c)
        gone += [f'{os.path.basename(w)} ({pkg})' for w, pkg in self.needs
                 if w.startswith('/') and not os.path.exists(w)]
        return gone

    def version(self):
        return COMPAT.version_of(self.case) if self.key != 'express' else ''


def express_baton(d, p):
    """The seed's Express app as scenario 1 runs it under baton."""
    return Baton(d, p, {}, 2, 'express-preload' if preload_available() else 'express-fd')


SERVERS = [
    Server('gunicorn', 'gunicorn, 2 sync workers', 'SIGHUP to the master',
           'the old workers gone and 2 new ones started', 'gunicorn-2',
           native=(Native, signal.SIGHUP)),
    Server('unicorn', 'unicorn, 2 workers', 'USR2 to the master, then QUIT to the old master '
           'once the new one\'s workers are ready', 'the old master gone', 'unicorn',
           native=(Unicorn, signal.SIGUSR2)),
    Server('puma', 'puma, cluster mode, 2 workers', 'phased restart (SIGUSR1 to the master)',
           'the old workers gone and 2 new ones started', 'puma-preload',
           native=(Native, signal.SIGUSR1)),
    Server('starman', 'starman, 8 workers', 'Server::Starter (`start_server '
           '--signal-on-hup=QUIT`), SIGHUP', 'start_server\'s "old worker ... died"',
           'starman-ss-preload',
           own=lambda d, p: Starter(d, p, {}, 8, cmd=shlex.split(
               case('starman-ss').starter.replace('{apps}', APPS)), drain='QUIT'),
           needs=[('start_server', 'libserver-starter-perl')]),
    Server('nginx', 'nginx, 2 workers', '`nginx -s reload`',
           'the old workers gone and 2 new ones started', 'nginx',
           native=(Nginx, signal.SIGHUP)),
    Server('express', 'Express (the seed\'s app), 2 workers', 'PM2 cluster mode, `pm2 reload`',
           '`pm2 reload` returning', 'express', own=lambda d, p: PM2(d, p, {}, 2),
           needs=[(PM2_BIN, 'npm ci in bench/')], baton=express_baton),
]
