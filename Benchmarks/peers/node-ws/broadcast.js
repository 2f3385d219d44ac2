// broadcast.js — the node `ws` peer of the fan-out benchmark (navios-ws-bench fanout
// --protocol broadcast): every text or binary message a client sends goes to every connected
// client, the sender included, framed once (ws's own broadcast idiom).
// Uses Debian's node-ws (apt-get install -y node-ws), found under /usr/share/nodejs; set
// NODE_PATH to use another copy.
//   node Benchmarks/peers/node-ws/broadcast.js --port 9004 [--host 127.0.0.1]
// Prints "node-ws-broadcast listening on ws://HOST:PORT/ (ws VERSION)" once the socket is bound.
'use strict';

let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require('/usr/share/nodejs/ws');
}

let host = '127.0.0.1';
let port = 9004;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  const flag = args[i];
  const value = args[i + 1];
  if (flag === '--port' && value !== undefined) port = Number(value);
  else if (flag === '--host' && value !== undefined) host = value;
  else {
    console.error('usage: node broadcast.js [--host ADDR] [--port N]');
    process.exit(2);
  }
}

let version = 'unknown';
for (const pkg of ['ws/package.json', '/usr/share/nodejs/ws/package.json']) {
  try {
    version = require(pkg).version;
    break;
  } catch (e) {
    // the version only decorates the ready line
  }
}

const wss = new WebSocket.Server({
  host,
  port,
  maxPayload: 16 * 1024 * 1024,
  perMessageDeflate: false,   // compression is not measured
  clientTracking: true,       // wss.clients is the broadcast list; a client is in it before its 101 is read
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
  ws.on('error', () => {});   // a client that vanishes must not crash the server
});
wss.on('listening', () => {
  const a = wss.address();
  console.log(`node-ws-broadcast listening on ws://${host}:${a.port}/ (ws ${version})`);
});
wss.on('error', (e) => {
  console.error(`node-ws-broadcast: ${e.message}`);
  process.exit(1);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
