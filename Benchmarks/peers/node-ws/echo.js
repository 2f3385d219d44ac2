// echo.js — the node `ws` peer of the echo benchmark (Benchmarks/run-suite.sh):
// echoes every text and binary message back to its sender, as text or binary like it came.
// Uses Debian's node-ws (apt-get install -y node-ws), found under /usr/share/nodejs; set
// NODE_PATH to use another copy.
//   node Benchmarks/peers/node-ws/echo.js --port 9003 [--host 127.0.0.1]
// Prints "node-ws-echo listening on ws://HOST:PORT/ (ws VERSION)" once the socket is bound.
'use strict';

let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require('/usr/share/nodejs/ws');
}

let host = '127.0.0.1';
let port = 9003;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  const flag = args[i];
  const value = args[i + 1];
  if (flag === '--port' && value !== undefined) port = Number(value);
  else if (flag === '--host' && value !== undefined) host = value;
  else {
    console.error('usage: node echo.js [--host ADDR] [--port N]');
    process.exit(2);
  }
}

let version = 'unknown';
try {
  version = require(require.resolve('ws').replace(/index\.js$/, 'package.json')).version;
} catch (e) {
  // the version only decorates the ready line
}

const wss = new WebSocket.Server({
  host,
  port,
  maxPayload: 16 * 1024 * 1024,   // navios-ws-echo's default max message
  perMessageDeflate: false,       // ws's default for servers, stated: compression is not measured
  clientTracking: false,          // nothing here broadcasts; do not keep a Set of every client
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});        // a client that vanishes must not crash the server
});
wss.on('listening', () => {
  const a = wss.address();
  console.log(`node-ws-echo listening on ws://${host}:${a.port}/ (ws ${version})`);
});
wss.on('error', (e) => {
  console.error(`node-ws-echo: ${e.message}`);
  process.exit(1);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
