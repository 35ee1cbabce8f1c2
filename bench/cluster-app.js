// bench/cluster-app.js [APP.js]: the seed's Express app (unchanged) in N
// processes (BENCH_WORKERS, default 2) with nothing but Node's own cluster
// module: the primary binds the app's port and hands each connection to a
// worker in turn (round robin), as under PM2's cluster mode, minus PM2.
//
// The benchmarks use it for the naive stop-then-start restart (SIGINT it,
// wait until it has exited, start it again: nobody holds the port
// meanwhile) and as a data-path baseline.
//
// SIGINT/SIGTERM: SIGINT to every worker (the app's drain: server.close,
// CLOSE_WAIT_MS, exit), then exit once they all have.
'use strict';

const cluster = require('cluster');
const path = require('path');

const app = path.resolve(process.argv[2] ||
    path.join(__dirname, '..', 'examples', 'express', 'app.js'));
const n = Number(process.env.BENCH_WORKERS || 2);
let stopping = false;

cluster.setupPrimary({ exec: app, args: [] });
for (let i = 0; i < n; i++) cluster.fork();

cluster.on('exit', () => {
  if (!stopping) {
    setTimeout(() => cluster.fork(), 100);
  } else if (Object.keys(cluster.workers).length === 0) {
    process.exit(0);
  }
});

const drain = () => {
  if (stopping) return;
  stopping = true;
  const workers = Object.values(cluster.workers);
  if (workers.length === 0) process.exit(0);
  for (const w of workers) w.process.kill('SIGINT');
};
process.on('SIGINT', drain);
process.on('SIGTERM', drain);
