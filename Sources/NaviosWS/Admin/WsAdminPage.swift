/// The admin page: one HTML document with its style and script inline (no external resource),
/// fed by `snapshot` events over its WebSocket and sending `disconnect` events back.
enum WsAdminPage {
    static func html(socketPath: String) -> String {
        let path = socketPath.filter { $0.isLetter || $0.isNumber || "/-_.".contains($0) }
        return #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>NaviosWS admin</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { font-size: 1.3em; margin: 0 0 .8em; } h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
        .cards { display: flex; gap: 1em; flex-wrap: wrap; }
        .card { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 9em; }
        .card b { display: block; font-size: 1.5em; }
        table { border-collapse: collapse; } td, th { padding: .25em .7em; border-bottom: 1px solid #eee; text-align: left; }
        #state.down { color: #b00; } #state.up { color: #080; }
        svg { border: 1px solid #ddd; border-radius: 6px; background: #fafafa; }
        button { cursor: pointer; }
        </style></head>
        <body>
        <h1>NaviosWS admin <small id="state">connecting</small></h1>
        <div class="cards">
          <div class="card">connections<b id="connections">-</b></div>
          <div class="card">messages in/s<b id="in">-</b></div>
          <div class="card">messages out/s<b id="out">-</b></div>
          <div class="card">deliveries/s<b id="deliveries">-</b></div>
          <div class="card">backpressure drops / closes<b id="backpressure">-</b></div>
          <div class="card">adapter<b id="adapter">-</b></div>
        </div>
        <h2>Messages and deliveries per second (last 2 minutes)</h2>
        <svg id="spark" width="600" height="90" viewBox="0 0 600 90">
          <polyline id="spark-in" fill="none" stroke="#1f77b4" stroke-width="2" points=""/>
          <polyline id="spark-deliveries" fill="none" stroke="#ff7f0e" stroke-width="2" points=""/>
        </svg>
        <div><span style="color:#1f77b4">&#9632; messages in</span> &nbsp; <span style="color:#ff7f0e">&#9632; deliveries</span></div>
        <h2>Namespaces</h2><table id="namespaces"><thead><tr><th>namespace</th><th>clients</th></tr></thead><tbody></tbody></table>
        <h2>Largest rooms</h2><table id="rooms"><thead><tr><th>namespace</th><th>room</th><th>members</th></tr></thead><tbody></tbody></table>
        <h2>Sockets <small id="sockets-total"></small></h2>
        <table id="sockets"><thead><tr><th>id</th><th>namespace</th><th>protocol</th><th>rooms</th><th></th></tr></thead><tbody></tbody></table>
        <script>
        "use strict";
        const token = new URLSearchParams(location.search).get("token") || "";
        const history = { in: [], deliveries: [] };
        let socket;
        function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
        function fill(id, rows, make) {
          const body = document.querySelector("#" + id + " tbody");
          body.replaceChildren(...rows.map(row => { const tr = document.createElement("tr"); make(row).forEach(td => tr.appendChild(td)); return tr; }));
        }
        function spark(id, values, top) {
          const step = 600 / 119;
          document.getElementById(id).setAttribute("points",
            values.map((v, i) => (i * step).toFixed(1) + "," + (86 - (v / top) * 80).toFixed(1)).join(" "));
        }
        function show(s) {
          document.getElementById("connections").textContent = s.connections;
          document.getElementById("in").textContent = s.messagesInPerSecond.toFixed(0);
          document.getElementById("out").textContent = s.messagesOutPerSecond.toFixed(0);
          document.getElementById("deliveries").textContent = s.deliveriesPerSecond.toFixed(0);
          document.getElementById("backpressure").textContent = s.backpressureDrops + " / " + s.backpressureCloses;
          document.getElementById("adapter").textContent = s.adapter ? (s.adapter.linkUp ? "up" : "down") : "alone";
          const state = document.getElementById("state");
          state.textContent = s.draining ? "draining" : (s.ready ? "ready" : "not ready");
          state.className = s.ready ? "up" : "down";
          for (const [key, value] of [["in", s.messagesInPerSecond], ["deliveries", s.deliveriesPerSecond]]) {
            history[key].push(value); if (history[key].length > 120) history[key].shift();
          }
          const top = Math.max(1, ...history.in, ...history.deliveries);
          spark("spark-in", history.in, top); spark("spark-deliveries", history.deliveries, top);
          fill("namespaces", s.namespaces, n => [cell(n.name), cell(n.clients)]);
          fill("rooms", s.rooms, r => [cell(r.namespace), cell(r.room), cell(r.members)]);
          document.getElementById("sockets-total").textContent = "(" + s.socketsTotal + ")";
          fill("sockets", s.sockets, k => {
            const button = document.createElement("button");
            button.textContent = "disconnect"; button.className = "disconnect"; button.dataset.id = k.id;
            button.onclick = () => socket.send(JSON.stringify({ event: "disconnect", data: k.id }));
            const action = document.createElement("td"); action.appendChild(button);
            return [cell(k.id), cell(k.namespace), cell(k.protocol), cell(k.rooms.join(", ")), action];
          });
        }
        function connect() {
          const scheme = location.protocol === "https:" ? "wss://" : "ws://";
          socket = new WebSocket(scheme + location.host + "\#(path)?token=" + encodeURIComponent(token));
          socket.onmessage = event => { const m = JSON.parse(event.data); if (m.event === "snapshot") show(m.data); };
          socket.onclose = () => {
            const state = document.getElementById("state"); state.textContent = "disconnected"; state.className = "down";
            setTimeout(connect, 2000);
          };
        }
        connect();
        </script>
        </body></html>
        """#
    }
}
