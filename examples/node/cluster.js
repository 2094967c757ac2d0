'use strict';
// The same app under Node's own cluster module: the baseline corral is
// benchmarked against. The primary binds the port; N workers serve it
// (round-robin by the primary on Linux, Node's default scheduling).
//
//   node examples/node/cluster.js [PORT=8080] [WORKERS=cpus] [HOST=127.0.0.1]
//
// SIGTERM/SIGINT stop every worker gracefully, then the primary exits 0.
// A worker that dies unexpectedly is replaced.

const cluster = require('cluster');
const http = require('http');
const os = require('os');
const { handler, stopGracefully } = require('./app');

const port = Number(process.argv[2] ?? 8080);
const workers = Number(process.argv[3] ?? os.availableParallelism());
const host = process.argv[4] ?? '127.0.0.1';

if (cluster.isPrimary) {
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork();
  let listening = 0;
  cluster.on('listening', (worker, address) => {
    if (++listening === workers) {
      console.log(`node cluster primary pid=${process.pid} workers=${workers} listening port=${address.port}`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) process.exit(0);
      return;
    }
    console.error(`worker ${worker.process.pid} died (${signal ?? code}); replacing it`);
    cluster.fork();
  });
  const stop = (signal) => {
    if (stopping) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    stopping = true;
    const live = Object.values(cluster.workers);
    if (live.length === 0) process.exit(0);
    for (const w of live) w.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const server = http.createServer(handler);
  // In a worker, close() also tells the primary to stop routing to us.
  stopGracefully(server);
  server.listen(port, host);
}
