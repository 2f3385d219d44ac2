// echo.js — the node `ws` peer of the echo benchmark (Benchmarks/run-suite.sh):
// echoes every text and binary message back to its sender, as text or binary like it came.
//   node Benchmarks/peers/node-ws/echo.js --port 9003 [--host 127.0.0.1]
// Prints "node-ws-echo listening on ws://HOST:PORT/ (ws VERSION)" once the socket is bound.
'use strict';

const { serve } = require('./serve.js');

// clientTracking off: nothing here broadcasts; do not keep a Set of every client.
serve('node-ws-echo', 9003, { clientTracking: false }, (wss, ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
