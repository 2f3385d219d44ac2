"""
GET /metrics on the chat example: swift-metrics exported by swift-prometheus, read with the
official Prometheus text parser (prometheus_client). A scrape before and after a known exchange
must differ by exactly what the exchange did: clients opened and closed per namespace and close
code, messages per protocol, handlers run, errors per code, guard refusals, broadcasts and
deliveries. The token guards the endpoint.
    NAVIOS_CHAT_EXAMPLE=.build/release/chat-example .venv/bin/python -m pytest Tests/Gateway/test_metrics.py -q
"""
from __future__ import annotations

import asyncio
import json
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect as ws_connect

from .conftest import CLOSE_POLICY, http_exchange, join, open_client, say

TOKEN = "scrape-token"
pytestmark = pytest.mark.chat_args("--metrics-token", TOKEN)


def scrape(server, auth: str | None = f"Bearer {TOKEN}", target: str = "/metrics"):
    head = f"GET {target} HTTP/1.1\r\nHost: {server.host}\r\n"
    if auth:
        head += f"Authorization: {auth}\r\n"
    return http_exchange(server, (head + "\r\n").encode())


def samples(server) -> dict[tuple, float]:
    """Every sample of a scrape, by (name, sorted labels)."""
    answer = scrape(server)
    assert answer.status == 200, answer.raw[:300]
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4"), answer.headers
    found = {}
    for family in text_string_to_metric_families(answer.body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def delta(before, after, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


def test_the_endpoint_wants_the_token(chat_server):
    assert scrape(chat_server, auth=None).status == 401
    assert scrape(chat_server, auth="Bearer wrong").status == 401
    refused = scrape(chat_server, auth=f"Basic {TOKEN}")
    assert refused.status == 401 and refused.headers.get("www-authenticate") == "Bearer", refused.raw
    assert scrape(chat_server, auth=None, target=f"/metrics?token={TOKEN}").status == 200
    assert scrape(chat_server).status == 200
    # Other paths are not the metrics': a page server answers 404.
    assert scrape(chat_server, target="/metricsx").status == 404


async def test_a_known_exchange_moves_each_counter_by_exactly_its_share(chat_server):
    before = samples(chat_server)
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob:
        await join(alice, "general")
        await join(bob, "general")
        await say(alice, "general", "hello")
        await bob.recv_event("chat:message")
        await alice.emit("nope", {}, id=50)
        await alice.expect_error(50, "unknown_event")
        await bob.emit("admin:announce", {"message": "not an admin"}, id=51)
        await bob.expect_error(51, "forbidden")
        during = samples(chat_server)
    # A refused connection: the gateway guard of /protected, then 1008.
    async with open_client(chat_server, "/ws/protected", token="nobody-token") as stranger:
        assert (await stranger.expect_close())[0] == CLOSE_POLICY

    open_ = lambda m: delta(before, m, "navios_ws_clients_open", namespace="/chat")
    assert delta(before, during, "navios_ws_clients_opened_total", namespace="/chat") == 2
    assert open_(during) == 2
    # chat:join, chat:message, nope (alice); chat:join, admin:announce (bob)
    assert delta(before, during, "navios_ws_messages_received_total", protocol="websocket") == 5
    assert delta(before, during, "navios_ws_messages_received_total", protocol="engine.io") == 0
    for event, runs in (("chat:join", 2), ("chat:message", 1), ("admin:announce", 0)):
        assert delta(before, during, "navios_ws_handler_duration_seconds_count", namespace="/chat", event=event) == runs
    assert delta(before, during, "navios_ws_errors_sent_total", code="unknown_event") == 1
    assert delta(before, during, "navios_ws_errors_sent_total", code="forbidden") == 1
    assert delta(before, during, "navios_ws_guard_refusals_total", level="message") == 1
    assert delta(before, during, "navios_ws_broadcasts_total") == 1       # the chat:message to the room
    assert delta(before, during, "navios_ws_deliveries_total") == 2       # alice and bob
    assert delta(before, during, "navios_ws_connections_open") == 2
    assert during[("navios_ws_loop_iterations_total", (("loop", "0"),))] > 0

    after = await poll_samples(chat_server, lambda m: open_(m) == 0)
    assert delta(before, after, "navios_ws_clients_closed_total", namespace="/chat", code="1000") == 2
    assert delta(before, after, "navios_ws_clients_opened_total", namespace="/protected") == 1
    assert delta(before, after, "navios_ws_clients_closed_total", namespace="/protected", code="1008") == 1
    assert delta(before, after, "navios_ws_guard_refusals_total", level="connection") == 1


async def test_socket_io_traffic_is_counted_as_engine_io(chat_server):
    before = samples(chat_server)
    url = chat_server.ws_url("/socket.io/?EIO=4&transport=websocket")
    async with ws_connect(url) as ws:
        assert (await ws.recv()).startswith("0{")
        await ws.send("40/chat,")
        assert (await ws.recv()).startswith("40/chat,{")
        assert json.loads((await ws.recv()).split(",", 1)[1])[0] == "chat:welcome"
        await ws.send('42/chat,1["chat:join",{"roomId":"sio"}]')
        replies = {await ws.recv(), await ws.recv()}
        assert any(r.startswith('42/chat,["chat:joined"') for r in replies), replies
        assert any(r.startswith("43/chat,1") for r in replies), replies
        after = samples(chat_server)
    # CONNECT and EVENT in; the CONNECT reply, chat:welcome, chat:joined and the ack out.
    assert delta(before, after, "navios_ws_messages_received_total", protocol="engine.io") == 2
    assert delta(before, after, "navios_ws_messages_received_total", protocol="websocket") == 0
    assert delta(before, after, "navios_ws_messages_sent_total", protocol="engine.io") == 4
    assert delta(before, after, "navios_ws_clients_opened_total", namespace="/chat") == 1
    assert delta(before, after, "navios_ws_handler_duration_seconds_count", namespace="/chat", event="chat:join") == 1


async def poll_samples(server, ready, timeout: float = 5.0):
    """Scrapes until `ready(samples)` (a disconnection is counted once the server has seen it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = samples(server)
        if ready(found) or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


@pytest.mark.chat_args("--metrics-token", TOKEN, "--rate", "2")
async def test_rate_limited_messages_are_counted(chat_server):
    """Rate 2/s with a burst of 2 and 3 violations allowed: of 5 messages at once, 2 pass and 3
    are refused, the third refusal closing the connection with 1008."""
    before = samples(chat_server)
    async with open_client(chat_server, token="alice-token") as alice:
        for n in range(5):
            await alice.emit("chat:typing", {"roomId": "r"}, id=100 + n)
        for n in range(2, 4):
            await alice.expect_error(100 + n, "rate_limited")
        assert (await alice.expect_close())[0] == CLOSE_POLICY
    after = samples(chat_server)
    assert delta(before, after, "navios_ws_rate_limited_total") == 3
    assert delta(before, after, "navios_ws_errors_sent_total", code="rate_limited") == 3


@pytest.mark.chat_args("--metrics-token", TOKEN, "--metrics-port", "0")
def test_metrics_on_a_port_of_their_own(chat_server):
    """--metrics-port: the scrape moves to its own port, which answers nothing else; the
    WebSocket port no longer serves it."""
    line = chat_server.printed_line("metrics http")
    port = int(line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    assert port != chat_server.port
    own = type("Port", (), {"host": chat_server.host, "port": port, "address": (chat_server.host, port)})()
    answer = scrape(own)
    assert answer.status == 200 and b"navios_ws_connections_open" in answer.body, answer.raw[:300]
    assert scrape(own, auth=None).status == 401
    assert scrape(chat_server).status == 404
    upgrade = http_exchange(own, (f"GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    assert upgrade.status == 404, upgrade.raw[:200]


# ---- bytes by protocol, counted exactly over raw sockets ---------------------------------------

def masked_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One final client frame, masked as RFC 6455 wants (a fixed key: the count is what matters)."""
    key = b"\x01\x02\x03\x04"
    n = len(payload)
    length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return bytes([0x80 | opcode]) + length + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawClient:
    """A WebSocket over a plain socket, keeping count of every byte it sends and of every frame
    byte it receives (the 101's head is not counted: the core counts frames and bodies sent)."""

    def __init__(self, server, target: str):
        self.sock = socket.create_connection(server.address, timeout=5)
        request = (f"GET {target} HTTP/1.1\r\nHost: {server.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        self.sent = 0
        self.received = 0
        self.buffer = b""
        self.send_raw(request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_raw(self, data: bytes):
        self.sock.sendall(data)
        self.sent += len(data)

    def send_text(self, text: str):
        self.send_raw(masked_frame(text.encode()))

    def recv_text(self, timeout: float = 5) -> str | None:
        """The next frame's payload as text; None when none comes within `timeout`."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 2:
                n, at = self.buffer[1] & 0x7F, 2
                if n == 126 and len(self.buffer) >= 4:
                    n, at = int.from_bytes(self.buffer[2:4], "big"), 4
                elif n == 127 and len(self.buffer) >= 10:
                    n, at = int.from_bytes(self.buffer[2:10], "big"), 10
                if n < 126 and len(self.buffer) >= at + n:
                    payload, self.buffer = self.buffer[at:at + n], self.buffer[at + n:]
                    self.received += at + n
                    return payload.decode()
            try:
                more = self.sock.recv(65536)
            except socket.timeout:
                return None
            assert more, "the server closed the connection"
            self.buffer += more

    def recv_until(self, predicate) -> str:
        while True:
            text = self.recv_text()
            assert text is not None, "the frame never came"
            if predicate(text):
                return text

    def drain(self):
        """Whatever else the server sent unasked (counted), until 300 ms pass quietly."""
        while self.recv_text(timeout=0.3) is not None:
            pass


def polling_request(server, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
    """One long-polling request on its own connection: (its length in bytes, the answer's body)."""
    head = f"{method} {target} HTTP/1.1\r\nHost: {server.host}\r\nConnection: close\r\n"
    if method == "POST":
        head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
    request = (head + "\r\n").encode() + body
    answer = http_exchange(server, request)
    assert answer.status == 200, answer.raw[:300]
    return len(request), answer.body


def test_bytes_are_counted_by_protocol_exactly(chat_server):
    """A JSON client, a Socket.IO client over WebSocket and one over long-polling, each over a raw
    socket, so that every byte is known: Engine.IO's share in and out is exactly what the two
    Socket.IO clients sent and were sent (requests whole, bodies and frames), and the plain
    WebSocket share is the JSON client's plus the scrape's own request."""
    before = samples(chat_server)
    json_client = RawClient(chat_server, "/ws/chat?token=alice-token")
    json_client.recv_until(lambda t: '"chat:welcome"' in t)
    json_client.send_text(json.dumps({"event": "chat:join", "data": {"roomId": "bytes"}, "id": 1}))
    json_client.recv_until(lambda t: '"ack"' in t)

    sio = RawClient(chat_server, "/socket.io/?EIO=4&transport=websocket")
    assert sio.recv_text().startswith("0{")
    sio.send_text("40/chat,")
    sio.recv_until(lambda t: t.startswith('42/chat,["chat:welcome"'))

    polling_in, polling_out = 0, 0
    sent, body = polling_request(chat_server, "GET", "/socket.io/?EIO=4&transport=polling")
    sid = json.loads(body[1:])["sid"]
    polling_in, polling_out = polling_in + sent, polling_out + len(body)
    sent, body = polling_request(chat_server, "POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", b"40/chat,")
    polling_in, polling_out = polling_in + sent, polling_out + len(body)
    assert body == b"ok"
    packets = b""
    while b"chat:welcome" not in packets:
        sent, body = polling_request(chat_server, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        polling_in, polling_out = polling_in + sent, polling_out + len(body)
        packets += body

    json_client.drain()
    sio.drain()
    scrape_request = len(f"GET /metrics HTTP/1.1\r\nHost: {chat_server.host}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n")
    after = samples(chat_server)
    assert delta(before, after, "navios_ws_bytes_received_total", protocol="engine.io") == sio.sent + polling_in
    assert delta(before, after, "navios_ws_bytes_sent_total", protocol="engine.io") == sio.received + polling_out
    assert delta(before, after, "navios_ws_bytes_received_total", protocol="websocket") == \
        json_client.sent + scrape_request
    assert delta(before, after, "navios_ws_bytes_sent_total", protocol="websocket") == json_client.received
    json_client.sock.close()
    sio.sock.close()
