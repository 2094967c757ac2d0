'use strict';
// The same app under Node's own cluster module: the baseline corral is
// benchmarked against. The primary binds the port; N workers serve it
// (round-robin by the primary on Linux, Node's default scheduling).
//
//   node examples/node/cluster.js [PORT=8080] [WORKERS=cpus] [HOST=127.0.0.1]
//
// SIGTERM/SIGINT stop every worker gracefully, then the primary exits 0.
// SIGHUP replaces the workers one at a time (a rolling restart, the way Node
// users write one by hand): fork a replacement, wait until it listens, then
// stop the old worker gracefully.
// A worker that dies unexpectedly is replaced.

const cluster = require('cluster');
const http = require('http');
const os = require('os');
const { handler, stopGracefully } = require('./app');

const port = Number(process.argv[2] ?? 8080);
const workers = Number(process.argv[3] ?? os.availableParallelism());
const host = process.argv[4] ?? '127.0.0.1';

// Resolves when the worker listens; rejects if it exits first.
function listening(worker) {
  return new Promise((resolve, reject) => {
    worker.once('listening', resolve);
    worker.once('exit', (code, signal) => reject(new Error(`exited (${signal ?? code}) before listening`)));
  });
}

if (cluster.isPrimary) {
  let stopping = false;
  let restarting = false;
  const retired = new Set(); // ids of workers stopped on purpose by a restart

  for (let i = 0; i < workers; i++) cluster.fork();
  let listeningCount = 0;
  cluster.on('listening', (worker, address) => {
    if (++listeningCount === workers) {
      console.log(`node cluster primary pid=${process.pid} workers=${workers} listening port=${address.port}`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) process.exit(0);
      return;
    }
    if (retired.delete(worker.id)) return; // replaced by a rolling restart
    console.error(`worker ${worker.process.pid} died (${signal ?? code}); replacing it`);
    cluster.fork();
  });

  // Rolling restart: one worker at a time, so that the others keep serving.
  // The old worker gets SIGTERM (not worker.disconnect(), which would make
  // it exit at once): it stops accepting, so the primary routes new
  // connections to the others, and it finishes its open connections first
  // (see stopGracefully in app.js).
  async function rollingRestart() {
    const started = Date.now();
    const old = Object.values(cluster.workers).filter((w) => !retired.has(w.id));
    for (const worker of old) {
      if (stopping) return;
      const fresh = cluster.fork();
      await listening(fresh);
      retired.add(worker.id);
      worker.process.kill('SIGTERM');
    }
    console.log(`rolling restart done: ${old.length} workers replaced in ${Date.now() - started} ms`);
  }
  process.on('SIGHUP', () => {
    if (stopping) return;
    if (restarting) {
      console.log('rolling restart already in progress; SIGHUP ignored');
      return;
    }
    restarting = true;
    rollingRestart()
      .catch((err) => console.error(`rolling restart aborted: a new worker ${err.message}`))
      .finally(() => { restarting = false; });
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
