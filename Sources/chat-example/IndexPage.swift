// The browser page served at "/": the native WebSocket with the JSON protocol, or, with "connect
// with Socket.IO" ticked, the official Socket.IO client (served at /socket.io.min.js when the
// example has it) on the same gateway. `?protocol=socketio&transports=websocket` preselects.
let indexPage = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>NaviosWS chat</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; }
  #messages { list-style: none; padding: 0; border: 1px solid #ccc; height: 20rem; overflow-y: auto; }
  #messages li { padding: .25rem .5rem; border-bottom: 1px solid #eee; }
  #messages li.system { color: #777; font-style: italic; }
  form { display: flex; gap: .5rem; margin: .5rem 0; }
  input[type=text] { flex: 1; }
  #typing { color: #777; height: 1.2rem; }
</style>
</head>
<body>
<h1>NaviosWS chat</h1>
<form id="login">
  <input id="token" type="text" placeholder="token (alice-token, bob-token, carol-token)" value="alice-token">
  <input id="room" type="text" placeholder="room" value="general">
  <label><input id="useSocketIO" type="checkbox"> connect with Socket.IO</label>
  <button>Join</button>
</form>
<div id="status">disconnected</div>
<div id="transport"></div>
<ul id="messages"></ul>
<div id="typing"></div>
<form id="send">
  <input id="text" type="text" placeholder="message" autocomplete="off" disabled>
  <button id="sendButton" disabled>Send</button>
</form>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let ws = null, sio = null, room = null, nextId = 1, typingTimer = null;
const pending = new Map();   // id -> what we sent, until the server acknowledges it
const params = new URLSearchParams(location.search);
$("useSocketIO").checked = params.get("protocol") === "socketio";

function show(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  $("messages").appendChild(li);
  li.scrollIntoView();
}

function emit(event, data, wantAck) {
  if (sio) {
    // Socket.IO: the ack is a callback; an error comes as {error} in it.
    if (wantAck) sio.emit(event, data, (reply) => { if (reply && reply.error) showError(reply.error); });
    else sio.emit(event, data);
    return;
  }
  const envelope = { event, data };
  if (wantAck) { envelope.id = nextId++; pending.set(envelope.id, event); }
  ws.send(JSON.stringify(envelope));
}

function showError(error) { show("error: " + error.code + " " + (error.message || ""), "system"); }

// What the gateway sends, whichever the protocol.
function handle(event, data) {
  switch (event) {
    case "chat:joined":
      $("status").textContent = "in room " + data.roomId;
      $("text").disabled = $("sendButton").disabled = false;
      break;
    case "chat:message": show(data.userId + ": " + data.message); break;
    case "chat:typing":
      $("typing").textContent = data.userId + " is typing…";
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => $("typing").textContent = "", 1500);
      break;
    case "chat:left": show(data.userId + " left", "system"); break;
    case "announcement": show("announcement: " + data.message, "system"); break;
    case "notification": show("from " + data.userId + ": " + data.text, "system"); break;
    case "exception": showError(data.error); break;
  }
}

function connectSocketIO(token) {
  const transports = (params.get("transports") || "polling,websocket").split(",");
  sio = io("/chat", { auth: { token }, transports });
  window.chatSocket = sio;   // for tests: the socket, its transport, whether it recovered
  sio.on("connect", () => {
    $("transport").textContent = "socket.io " + sio.io.engine.transport.name + (sio.recovered ? ", recovered" : "");
    sio.io.engine.on("upgrade", (t) => $("transport").textContent = "socket.io " + t.name);
    // A recovered client is back in its rooms, with what it missed: no need to join again.
    if (!sio.recovered) return emit("chat:join", { roomId: room }, true);
    $("status").textContent = "in room " + room;
    $("text").disabled = $("sendButton").disabled = false;
  });
  sio.on("disconnect", (reason) => { $("status").textContent = "disconnected (" + reason + ")"; });
  sio.onAny((event, data) => handle(event, data));
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  if (ws) ws.close();
  if (sio) sio.disconnect();
  ws = sio = null;
  room = $("room").value;
  if ($("useSocketIO").checked) {
    if (window.io) return connectSocketIO($("token").value);
    const script = document.createElement("script");
    script.src = "/socket.io.min.js";
    script.onload = () => connectSocketIO($("token").value);
    script.onerror = () => show("error: the Socket.IO client is not served here (start the example with --socketio-client)", "system");
    document.head.appendChild(script);
    return;
  }
  const url = location.origin.replace(/^http/, "ws") + "/ws/chat?token=" + encodeURIComponent($("token").value);
  ws = new WebSocket(url);
  ws.onopen = () => { $("status").textContent = "connected"; emit("chat:join", { roomId: room }, true); };
  ws.onclose = (ev) => { $("status").textContent = "disconnected (" + ev.code + ")"; $("text").disabled = $("sendButton").disabled = true; };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.ack !== undefined) {
      pending.delete(msg.ack);
      if (msg.error) show("error: " + msg.error.code + " " + (msg.error.message || ""), "system");
      return;
    }
    if (msg.error) return show("error: " + msg.error.code, "system");
    handle(msg.event, msg.data);
  };
});

$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text || !(ws || sio)) return;
  emit("chat:message", { roomId: room, text }, true);
  $("text").value = "";
});

$("text").addEventListener("input", () => { if ((ws || sio) && room) emit("chat:typing", { roomId: room }, false); });
</script>
</body>
</html>
"""#
