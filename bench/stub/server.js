// Fast stand-in for Medusa v2's `POST /store/payment-collections/:id/payment-sessions`.
// Answers that route with a fixed, pre-serialised payment collection (payment_collection.json:
// EUR, 2 providers, 2 sessions with provider `data`, 1 payment with a capture and a refund with
// its reason) and `GET /health` with `OK`; anything else is a JSON 404. It drains and ignores
// the request body, headers and query (`fields` too), so a benchmark against it measures the
// caller's own cost, not what the projection saves at a real backend.
// `POST /__delay/MS` sets how long every later answer of the payment-sessions route waits
// (the cost curve of bench/run.sh: a real Medusa's p50 is 47-71 ms); 0 answers at once.
// Usage: node server.js PORT        (listens on 127.0.0.1 only)
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.js PORT');
  process.exit(2);
}
const body = Buffer.from(JSON.stringify(JSON.parse(
  fs.readFileSync(path.join(__dirname, 'payment_collection.json'), 'utf8'))));
const notFound = Buffer.from('{"type":"not_found","message":"Not found"}');
const route = /^\/store\/payment-collections\/[^/?]+\/payment-sessions(?:\?|$)/;
const delayRoute = /^\/__delay\/(\d+)$/;
let delayMs = 0;

function send(res, status, out, type) {
  res.writeHead(status, { 'content-type': type, 'content-length': out.length });
  res.end(out);
}

const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    if (req.method === 'POST' && route.test(req.url)) {
      if (delayMs > 0) {
        setTimeout(send, delayMs, res, 200, body, 'application/json; charset=utf-8');
      } else {
        send(res, 200, body, 'application/json; charset=utf-8');
      }
    } else if (req.method === 'POST' && delayRoute.test(req.url)) {
      delayMs = Number(delayRoute.exec(req.url)[1]);
      send(res, 200, Buffer.from(`delay ${delayMs} ms`), 'text/plain; charset=utf-8');
    } else if (req.method === 'GET' && req.url === '/health') {
      send(res, 200, Buffer.from('OK'), 'text/plain; charset=utf-8');
    } else {
      send(res, 404, notFound, 'application/json; charset=utf-8');
    }
  });
});
server.keepAliveTimeout = 65000; // longer than any client's idle expiry: the client closes first
server.listen(port, '127.0.0.1', () => {
  console.log(`stub on http://127.0.0.1:${port} (${body.length} byte answer)`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 500).unref();
  });
}
