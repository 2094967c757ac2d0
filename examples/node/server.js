'use strict';
// A Node.js http server for corral: it serves the listening socket it
// inherits instead of binding a port.
//
//   corral run --listen 127.0.0.1:8080 -- node examples/node/server.js {fd:http}
//
// The fd comes from argv[2], else $FD, else 3 (the first socket under
// systemd-style socket activation, which is what corral passes). With $PORT
// set instead, it binds that port itself ($HOST, default 127.0.0.1): that is
// how PM2 cluster mode runs it (see ecosystem.config.js).

const http = require('http');
const { execFile } = require('child_process');
const { handler, stopGracefully } = require('./app');

// Under corral (or systemd) with ready = "notify": say so once serving. Node
// cannot send to a unix datagram socket itself; systemd-notify, run as our
// child, can, and corral counts a message from a worker's child as the
// worker's. Without NOTIFY_SOCKET this does nothing.
function notifyReady() {
  if (!process.env.NOTIFY_SOCKET) return;
  execFile('systemd-notify', ['--ready', `--status=serving pid ${process.pid}`], (err) => {
    if (err) console.error(`node server: systemd-notify: ${err.message} (is systemd installed?)`);
  });
}

const server = http.createServer(handler);
stopGracefully(server);

if (process.env.PORT !== undefined && process.argv[2] === undefined && process.env.FD === undefined) {
  const port = Number(process.env.PORT);
  const host = process.env.HOST ?? '127.0.0.1';
  server.listen(port, host, () => {
    console.log(`node server pid=${process.pid} listening port=${server.address().port}`);
    notifyReady();
  });
} else {
  const fd = Number(process.argv[2] ?? process.env.FD ?? 3);
  if (!Number.isInteger(fd) || fd < 0) {
    console.error(`usage: node server.js [FD]   (got ${process.argv[2] ?? process.env.FD})`);
    process.exit(2);
  }
  server.listen({ fd }, () => {
    console.log(`node server pid=${process.pid} listening fd=${fd}`);
    notifyReady();
  });
}
