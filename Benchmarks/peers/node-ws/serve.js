// serve.js — what the node `ws` peers share: loading Debian's node-ws (apt-get install -y
// node-ws, found under /usr/share/nodejs; set NODE_PATH to use another copy), the
// --host/--port flags (and --deflate: permessage-deflate as ws does it, every message above
// 64 bytes compressed, context kept), the ready line "NAME listening on ws://HOST:PORT/ (ws VERSION)", and
// exiting on a bind error or a signal. Each peer passes its name, default port, server options
// and what to do with a connection.
'use strict';

let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require('/usr/share/nodejs/ws');
}

function wsVersion() {
  for (const pkg of ['ws/package.json', '/usr/share/nodejs/ws/package.json']) {
    try {
      return require(pkg).version;
    } catch (e) {
      // the version only decorates the ready line
    }
  }
  return 'unknown';
}

function serve(name, defaultPort, options, onConnection) {
  let host = '127.0.0.1';
  let port = defaultPort;
  let perMessageDeflate = false;   // ws's default for servers, stated
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i];
    const value = args[i + 1];
    if (flag === '--deflate') {
      perMessageDeflate = { threshold: 64 };
      i -= 1;   // a flag without a value
    } else if (flag === '--port' && value !== undefined) port = Number(value);
    else if (flag === '--host' && value !== undefined) host = value;
    else {
      console.error(`usage: node ${process.argv[1]} [--host ADDR] [--port N] [--deflate]`);
      process.exit(2);
    }
  }
  const wss = new WebSocket.Server({
    host,
    port,
    maxPayload: 16 * 1024 * 1024,   // navios-ws-echo's default max message
    perMessageDeflate,
    ...options,
  });
  wss.on('connection', (ws) => {
    onConnection(wss, ws);
    ws.on('error', () => {});       // a client that vanishes must not crash the server
  });
  wss.on('listening', () => {
    console.log(`${name} listening on ws://${host}:${wss.address().port}/ (ws ${wsVersion()})`);
  });
  wss.on('error', (e) => {
    console.error(`${name}: ${e.message}`);
    process.exit(1);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

module.exports = { WebSocket, serve };
