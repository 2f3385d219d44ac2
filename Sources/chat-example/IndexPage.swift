// The browser page served at "/": the native WebSocket, the JSON protocol, nothing else.
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
  <button>Join</button>
</form>
<div id="status">disconnected</div>
<ul id="messages"></ul>
<div id="typing"></div>
<form id="send">
  <input id="text" type="text" placeholder="message" autocomplete="off" disabled>
  <button id="sendButton" disabled>Send</button>
</form>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let ws = null, room = null, nextId = 1, typingTimer = null;
const pending = new Map();   // id -> what we sent, until the server acknowledges it

function show(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  $("messages").appendChild(li);
  li.scrollIntoView();
}

function emit(event, data, wantAck) {
  const envelope = { event, data };
  if (wantAck) { envelope.id = nextId++; pending.set(envelope.id, event); }
  ws.send(JSON.stringify(envelope));
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  if (ws) ws.close();
  room = $("room").value;
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
    switch (msg.event) {
      case "chat:joined":
        $("status").textContent = "in room " + msg.data.roomId;
        $("text").disabled = $("sendButton").disabled = false;
        break;
      case "chat:message": show(msg.data.userId + ": " + msg.data.message); break;
      case "chat:typing":
        $("typing").textContent = msg.data.userId + " is typing…";
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => $("typing").textContent = "", 1500);
        break;
      case "chat:left": show(msg.data.userId + " left", "system"); break;
      case "announcement": show("announcement: " + msg.data.message, "system"); break;
      case "notification": show("from " + msg.data.userId + ": " + msg.data.text, "system"); break;
      default: if (msg.error) show("error: " + msg.error.code, "system");
    }
  };
});

$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text || !ws) return;
  emit("chat:message", { roomId: room, text }, true);
  $("text").value = "";
});

$("text").addEventListener("input", () => { if (ws && room) emit("chat:typing", { roomId: room }, false); });
</script>
</body>
</html>
"""#
