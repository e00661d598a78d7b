// Fast stand-in for Medusa's POST /store/payment-collections/:id/payment-sessions: answers
// a fixed, pre-serialised payment collection (payment_collection.json) and GET /health.
// It ignores `fields`, so it measures the gateway's own cost, not projection savings.
// Usage: node server.js PORT
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const port = Number(process.argv[2] || 4510);
const body = Buffer.from(JSON.stringify(JSON.parse(
  fs.readFileSync(path.join(__dirname, 'payment_collection.json'), 'utf8'))));
const route = /^\/store\/payment-collections\/[^/?]+\/payment-sessions(?:\?|$)/;

const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/health') { res.end('OK'); return; }
    const ok = req.method === 'POST' && route.test(req.url);
    const out = ok ? body : Buffer.from('{"type":"not_found","message":"Not found"}');
    res.writeHead(ok ? 200 : 404, {
      'content-type': 'application/json; charset=utf-8', 'content-length': out.length });
    res.end(out);
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1');
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
