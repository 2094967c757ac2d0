'use strict';
// The one request handler shared by server.js (on corral's inherited socket),
// cluster.js (Node's own cluster module) and PM2 cluster mode, so the
// benchmark compares supervisors, not apps. Every request gets "hello\n".

const BODY = Buffer.from('hello\n');
const HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': BODY.length };
// How long a stopping server keeps idle keep-alive connections open for a
// last request (see stopGracefully).
const IDLE_GRACE_MS = 1000;

let draining = false;

function handler(req, res) {
  res.writeHead(200, draining ? { ...HEADERS, Connection: 'close' } : HEADERS);
  res.end(BODY);
}

// Graceful stop for an http.Server, so that a client sees no failed request:
// stop accepting at once; answer every request still arriving on an open
// keep-alive connection, with Connection: close; close the connections that
// stay idle only after a short grace (closing one at once would lose a
// request the client is sending at that moment: Node's server.close()
// closes idle connections immediately, so that part is held back); exit 0
// once every connection is gone. A second signal exits at once.
function stopGracefully(server, onClosed = () => process.exit(0)) {
  let stopping = false;
  const stop = (signal) => {
    if (stopping) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    stopping = true;
    draining = true;
    const closeIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = () => {};
    server.close(onClosed);
    setTimeout(closeIdle, IDLE_GRACE_MS).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { handler, stopGracefully };
