// bench/fd-app.js [APP.js]: run the seed's Express app (by default
// examples/express/app.js, not one line of it changed) on a listening socket
// that a supervisor passed as a descriptor, for the benchmarks only.
//
// The app calls server.listen(3000) itself; a supervisor that holds the
// socket (Server::Starter, or baton without its preload interposer) cannot
// hand it over that way. This wrapper turns the app's listen(PORT) into
// listen({fd}) for the descriptor named by, in order:
//   BENCH_FD                       (set for the prefork children below)
//   SERVER_STARTER_PORT=h:p=FD;... (Server::Starter)
//   LISTEN_FDS + LISTEN_PID        (systemd protocol, as baton passes it: fd 3)
// and, under baton, reports readiness by writing READY=1 to the channel at
// BATON_FD (ready = notify), since Node has no unix datagram sockets.
//
// BENCH_PREFORK=N (N >= 1): instead of serving, start N children of this
// wrapper on the same descriptor (the way a prefork server runs under
// Server::Starter, which starts exactly one process per generation), pass
// SIGINT/SIGTERM on to them as SIGINT (the app's drain), and exit once they
// all have. A child that dies on its own is started again.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');

const app = path.resolve(process.argv[2] ||
    path.join(__dirname, '..', 'examples', 'express', 'app.js'));

function passedFd() {
  if (process.env.BENCH_FD) return Number(process.env.BENCH_FD);
  const ss = process.env.SERVER_STARTER_PORT;
  if (ss) {
    const m = /=(\d+)$/.exec(ss.split(';')[0]);
    if (m) return Number(m[1]);
  }
  if (process.env.LISTEN_FDS && Number(process.env.LISTEN_PID) === process.pid)
    return 3;
  return null;
}

const fd = passedFd();
if (fd === null) {
  console.error('fd-app: no descriptor passed (BENCH_FD, SERVER_STARTER_PORT or LISTEN_FDS)');
  process.exit(2);
}

const prefork = Number(process.env.BENCH_PREFORK || 0);

if (prefork > 0) {
  const stdio = ['inherit', 'inherit', 'inherit'];
  while (stdio.length < fd) stdio.push('ignore');
  stdio[fd] = fd;
  const env = Object.assign({}, process.env, { BENCH_FD: String(fd) });
  delete env.BENCH_PREFORK;
  const children = new Set();
  let stopping = false;

  const start = () => {
    // BENCH_PREFORK_SETSID=1: each child in a session of its own, as baton
    // starts its workers (for comparing scheduling, see docs/benchmarks.md).
    const child = spawn(process.execPath, [__filename, app],
        { stdio, env, detached: process.env.BENCH_PREFORK_SETSID === '1' });
    children.add(child);
    child.on('exit', () => {
      children.delete(child);
      if (stopping) {
        if (children.size === 0) process.exit(0);
      } else {
        setTimeout(start, 100);
      }
    });
  };
  for (let i = 0; i < prefork; i++) start();

  const drain = () => {
    if (stopping) return;
    stopping = true;
    if (children.size === 0) process.exit(0);
    for (const c of children) c.kill('SIGINT');
  };
  process.on('SIGINT', drain);
  process.on('SIGTERM', drain);
} else {
  const listen = net.Server.prototype.listen;
  let done = false;
  net.Server.prototype.listen = function (...args) {
    if (done) return listen.apply(this, args);
    done = true;
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    this.once('listening', () => {
      if (process.env.BATON_FD) {
        try {
          fs.writeSync(Number(process.env.BATON_FD), 'READY=1');
        } catch (e) {
          console.error(`fd-app: READY=1 to BATON_FD: ${e.message}`);
        }
      }
    });
    return listen.call(this, { fd }, cb);
  };
  require(app);
}
