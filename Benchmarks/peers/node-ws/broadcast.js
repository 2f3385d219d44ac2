// broadcast.js — the node `ws` peer of the fan-out benchmark (navios-ws-bench fanout
// --protocol broadcast): every text or binary message a client sends goes to every connected
// client, the sender included (ws's own broadcast idiom).
//   node Benchmarks/peers/node-ws/broadcast.js --port 9004 [--host 127.0.0.1]
// Prints "node-ws-broadcast listening on ws://HOST:PORT/ (ws VERSION)" once the socket is bound.
'use strict';

const { WebSocket, serve } = require('./serve.js');

// clientTracking on: wss.clients is the broadcast list; a client is in it before its 101 is read.
serve('node-ws-broadcast', 9004, { clientTracking: true }, (wss, ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});
