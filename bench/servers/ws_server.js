// Node `ws` reference server: the same contract as the other servers of the benchmark.
// GET /ws (WebSocket, no permessage-deflate, as ws defaults), POST /bench/publish?n=K&pt=NS
// makes K events stamped NS (default: process.hrtime, CLOCK_MONOTONIC, the clock of every other
// process here) and sends each, encoded once, to every open client. Prints the URL it serves.
'use strict';
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const MESSAGE = 'fan-out benchmark event';
let seq = 0;

function wireEvent(stamp) {
  seq += 1;
  return {
    type: 'event',
    seq,
    payload: {
      event: {
        id: `bench-${seq}`, level: 'info', source: 'bench', message: MESSAGE,
        data: { pt: stamp },
      },
    },
    timestamp: new Date().toISOString(),
  };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method !== 'POST' || url.pathname !== '/bench/publish') {
    res.writeHead(404).end();
    return;
  }
  req.resume();
  req.on('end', () => {
    const n = Number(url.searchParams.get('n') || '1');
    const stamp = Number(url.searchParams.get('pt') || '0') || Number(process.hrtime.bigint());
    for (let i = 0; i < n; i += 1) {
      const data = Buffer.from(JSON.stringify(wireEvent(stamp)));
      for (const client of wss.clients) {
        if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false });
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ seq }));
  });
});

// The controller keeps one connection open for its publish requests: never time it out.
server.keepAliveTimeout = 0;

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
const welcome = JSON.stringify({ type: 'welcome', payload: {}, timestamp: '' });
wss.on('connection', (ws) => ws.send(welcome));

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
