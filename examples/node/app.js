'use strict';
// The one request handler shared by server.js (on corral's inherited socket),
// cluster.js (Node's own cluster module) and PM2 cluster mode, so the
// benchmark compares supervisors, not apps. Every request gets "hello\n".

const BODY = Buffer.from('hello\n');
const HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': BODY.length };

function handler(req, res) {
  res.writeHead(200, HEADERS);
  res.end(BODY);
}

// Graceful stop for an http.Server: stop accepting, close idle keep-alive
// connections, let requests in flight finish (Node answers them with
// Connection: close once the server is closing), exit 0. A second signal
// exits at once.
function stopGracefully(server, onClosed = () => process.exit(0)) {
  let stopping = false;
  const stop = (signal) => {
    if (stopping) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    stopping = true;
    server.close(onClosed);
    server.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { handler, stopGracefully };
