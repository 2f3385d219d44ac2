"""
python-socketio's AsyncClient (a client we did not write) against the Socket.IO test server, over
each transport: WebSocket only, long-polling only, and long-polling upgraded to WebSocket.
Namespaces with auth, acks both ways, binary arguments, rooms shared with a JSON-protocol client,
reconnection after a dropped transport, and a server-side namespace disconnect.
"""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
import socketio
from websockets.asyncio.client import connect as ws_connect

from conftest import TOKEN

WAIT_S = 5.0


class Recorder:
    """A python-socketio client whose events land in per-event queues."""

    def __init__(self, **options):
        self.sio = socketio.AsyncClient(reconnection_delay=0.05, reconnection_delay_max=0.2, **options)
        self.queues: dict[tuple[str, str], asyncio.Queue] = {}
        self.connects: dict[str, int] = {}
        self.disconnects: dict[str, list] = {}

    def queue(self, event: str, namespace: str = "/") -> asyncio.Queue:
        return self.queues.setdefault((namespace, event), asyncio.Queue())

    def listen(self, event: str, namespace: str = "/"):
        async def handler(*args):
            await self.queue(event, namespace).put(args)
        self.sio.on(event, handler, namespace=namespace)

    def track(self, namespace: str = "/"):
        async def connected():
            self.connects[namespace] = self.connects.get(namespace, 0) + 1
            await self.queue("connect", namespace).put(())

        async def disconnected(reason=None):
            self.disconnects.setdefault(namespace, []).append(reason)
            await self.queue("disconnect", namespace).put((reason,))
        self.sio.on("connect", connected, namespace=namespace)
        self.sio.on("disconnect", disconnected, namespace=namespace)

    async def next(self, event: str, namespace: str = "/", timeout: float = WAIT_S):
        return await asyncio.wait_for(self.queue(event, namespace).get(), timeout)

    async def nothing(self, event: str, namespace: str = "/", within: float = 0.3) -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(self.queue(event, namespace).get(), within)


async def connected(server, transports, namespaces=("/",), auth=None, **options) -> Recorder:
    client = Recorder(**options)
    for namespace in namespaces:
        client.listen("auth", namespace)
        client.track(namespace)
    await client.sio.connect(server.url, transports=transports, namespaces=list(namespaces), auth=auth,
                             wait_timeout=WAIT_S)
    return client


async def test_connects_to_namespaces_with_auth(sio_server, transports):
    client = await connected(sio_server, transports, namespaces=("/", "/interop"), auth={"token": TOKEN})
    try:
        # Each namespace's connection handler sends the CONNECT's auth back, after the reply.
        assert await client.next("auth", "/") == ({"token": TOKEN},)
        assert await client.next("auth", "/interop") == ({"token": TOKEN},)
        assert client.sio.get_sid("/") and client.sio.get_sid("/interop")
        assert client.sio.get_sid("/") != client.sio.get_sid("/interop")   # a socket per namespace
        assert client.sio.transport() == transports[-1]
    finally:
        await client.sio.disconnect()


async def refused(server, transports, namespace: str, auth=None):
    """Connects to `namespace`, expecting a refusal: what the client's connect_error got."""
    client = Recorder()
    errors: asyncio.Queue = asyncio.Queue()

    async def on_error(data):
        await errors.put(data)
    client.sio.on("connect_error", on_error, namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.sio.connect(server.url, transports=transports, namespaces=[namespace], auth=auth,
                                 wait_timeout=WAIT_S)
    error = await asyncio.wait_for(errors.get(), WAIT_S)
    await client.sio.disconnect()
    return error


async def test_a_guard_refuses_a_connect_with_connect_error(sio_server, transports):
    assert await refused(sio_server, transports, "/interop", {"token": "wrong"}) == {"message": "unauthorized"}
    # The server still serves others.
    other = await connected(sio_server, transports, namespaces=("/interop",), auth={"token": TOKEN})
    assert await other.next("auth", "/interop") == ({"token": TOKEN},)
    await other.sio.disconnect()


async def test_an_unknown_namespace_is_refused(sio_server, transports):
    assert await refused(sio_server, transports, "/nowhere") == {"message": "Invalid namespace"}


async def test_events_and_acks_both_ways(sio_server, transports):
    client = await connected(sio_server, transports)
    client.listen("message-back")

    async def question(*args):
        return ("answer", *args)
    client.sio.on("question", question)
    try:
        # Any number of arguments, as they were sent.
        await client.sio.emit("message", (1, "2", {"3": [True]}, None))
        assert await client.next("message-back") == (1, "2", {"3": [True]}, None)
        await client.sio.emit("message", "one")
        assert await client.next("message-back") == ("one",)
        # The server's ack of the client's event.
        assert await client.sio.call("message-with-ack", (1, "é€😀", {"k": [1.5, False]}), timeout=WAIT_S) \
            == (1, "é€😀", {"k": [1.5, False]})
        assert await client.sio.call("join", "lobby", timeout=WAIT_S) == "lobby"
        # The server's emitWithAck to the client: the client's ack arguments come back in one array.
        assert await client.sio.call("ask-client", ("x", 2), timeout=WAIT_S) == ["answer", "x", 2]
    finally:
        await client.sio.disconnect()


async def test_binary_arguments(sio_server, transports):
    client = await connected(sio_server, transports)
    client.listen("message-back")
    blob = bytes(range(256)) * 40
    try:
        await client.sio.emit("message", (b"\x01\x02\x03", {"nested": blob, "text": "t"}))
        got = await client.next("message-back")
        assert got == (b"\x01\x02\x03", {"nested": blob, "text": "t"})
        assert await client.sio.call("message-with-ack", (b"\xff\x00", 7), timeout=WAIT_S) == (b"\xff\x00", 7)
    finally:
        await client.sio.disconnect()


async def test_typed_payloads_with_binary_values(sio_server, transports):
    """A handler's typed payload with `Data` and `[UInt8]` fields takes the client's binary
    values, and what it sends back with them (its ack, an emit to the sender, a broadcast) goes
    out as attachments; a JSON client in the room gets `Data` as base64 and `[UInt8]` as numbers."""
    sender = await connected(sio_server, transports)
    member = await connected(sio_server, transports)
    sender.listen("uploaded")
    member.listen("file")
    data, raw = bytes(range(256)) * 8, b"\x00abc\xff"
    expected = {"name": "f", "data": data[::-1], "bytes": raw[::-1]}
    try:
        async with ws_connect(sio_server.ws_url("/")) as json_client:
            assert json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S))["event"] == "auth"
            await json_client.send(json.dumps({"event": "join", "data": "files", "id": 1}))
            assert json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S))["ack"] == 1
            assert await member.sio.call("join", "files", timeout=WAIT_S) == "files"
            ack = await sender.sio.call("upload", {"name": "f", "data": data, "bytes": raw}, timeout=WAIT_S)
            assert ack == expected
            assert await sender.next("uploaded") == (expected,)
            assert await member.next("file") == (expected,)
            as_json = json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S))
            assert as_json["event"] == "file"
            assert base64.b64decode(as_json["data"]["data"]) == data[::-1]
            assert as_json["data"]["bytes"] == list(raw[::-1])
            # The JSON protocol sends the same payload as base64 and numbers, and is answered alike.
            await json_client.send(json.dumps({"event": "upload", "id": 2, "data": {
                "name": "j", "data": base64.b64encode(b"xyz").decode(), "bytes": [1, 2]}}))
            uploaded = json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S))
            answer = json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S))
            assert uploaded["event"] == "uploaded" and uploaded["data"] == answer["data"]
            assert answer["ack"] == 2 and base64.b64decode(answer["data"]["data"]) == b"zyx"
            assert answer["data"]["bytes"] == [2, 1]
            assert await member.next("file") == ({"name": "j", "data": b"zyx", "bytes": b"\x02\x01"},)
    finally:
        await sender.sio.disconnect()
        await member.sio.disconnect()


async def test_rooms_are_shared_with_json_clients(sio_server, transports):
    alice = await connected(sio_server, transports)
    bob = await connected(sio_server, transports)
    for client in (alice, bob):
        client.listen("room-message")
    try:
        async with ws_connect(sio_server.ws_url("/")) as json_client:
            auth = json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S))
            assert auth["event"] == "auth"
            await json_client.send(json.dumps({"event": "join", "data": "r1", "id": 1}))
            assert json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S)) == \
                {"event": "join", "data": "r1", "ack": 1}
            assert await alice.sio.call("join", "r1", timeout=WAIT_S) == "r1"
            assert await bob.sio.call("join", "r1", timeout=WAIT_S) == "r1"
            # A Socket.IO client's broadcast reaches the other Socket.IO member and the JSON one,
            # not the sender.
            assert await alice.sio.call("room-emit", ("r1", "hi", {"n": 1}), timeout=WAIT_S) is True
            assert await bob.next("room-message") == ("r1", "hi", {"n": 1})
            assert json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S)) == \
                {"event": "room-message", "data": ["r1", "hi", {"n": 1}]}
            await alice.nothing("room-message")
            # A JSON client's reaches both Socket.IO members (its data is one argument).
            await json_client.send(json.dumps({"event": "room-emit", "data": "r1", "id": 2}))
            assert json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S)) == \
                {"event": "room-emit", "data": True, "ack": 2}
            assert await alice.next("room-message") == ("r1",)
            assert await bob.next("room-message") == ("r1",)
            # After leaving, no more.
            assert await bob.sio.call("leave", "r1", timeout=WAIT_S) == "r1"
            await alice.sio.emit("room-emit", ("r1", "again"))
            assert json.loads(await asyncio.wait_for(json_client.recv(), WAIT_S))["data"] == ["r1", "again"]
            await bob.nothing("room-message")
    finally:
        await alice.sio.disconnect()
        await bob.sio.disconnect()


async def test_reconnects_after_a_dropped_transport(sio_server, transports):
    client = await connected(sio_server, transports)
    client.listen("message-back")
    try:
        await client.next("connect")
        first_sid = client.sio.get_sid("/")
        await client.sio.emit("drop-transport")
        reason = (await client.next("disconnect"))[0]
        assert reason == client.sio.reason.TRANSPORT_ERROR, reason
        await client.next("connect", timeout=10)   # reconnected on its own
        assert client.connects["/"] == 2
        assert client.sio.get_sid("/") != first_sid   # a fresh session (no recovery on this server)
        await client.sio.emit("message", "after")
        assert await client.next("message-back") == ("after",)
    finally:
        await client.sio.disconnect()


async def test_a_server_side_disconnect_is_not_followed_by_a_reconnect(sio_server, transports):
    client = await connected(sio_server, transports, namespaces=("/", "/custom"))
    client.listen("message-back")
    try:
        await client.sio.emit("disconnect-me", namespace="/custom")
        await client.next("disconnect", "/custom")
        # The connection and its other namespace go on.
        await client.sio.emit("message", "still here")
        assert await client.next("message-back") == ("still here",)
        await asyncio.sleep(0.5)
        assert client.connects["/custom"] == 1
    finally:
        await client.sio.disconnect()


@pytest.mark.server_args("--drain-window", "2000")
async def test_a_draining_server_hints_then_closes_so_stock_clients_reconnect(sio_server, transports):
    """SIGTERM with a drain window: each namespace of the client gets `reconnect_hint`, then the
    connection is closed under it (not a namespace DISCONNECT, which would stop a stock client
    from reconnecting): python-socketio reports a transport error and reconnects by itself. A
    new client is refused meanwhile, and the server exits cleanly."""
    client = await connected(sio_server, transports, namespaces=("/", "/custom"), reconnection_attempts=1)
    for namespace in ("/", "/custom"):
        client.listen("reconnect_hint", namespace)
    try:
        sio_server.send_sigterm()
        hints = [(await client.next("reconnect_hint", namespace))[0] for namespace in ("/", "/custom")]
        assert hints[0] == hints[1], "one connection, one delay, told on each namespace"
        assert hints[0]["reason"] == "draining"
        assert 0 <= hints[0]["reconnectAfterMs"] <= 1200 and hints[0]["closeAfterMs"] == hints[0]["reconnectAfterMs"] + 400
        late = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await late.connect(sio_server.url, transports=transports, wait_timeout=2)
        for namespace in ("/", "/custom"):
            (reason,) = await client.next("disconnect", namespace, timeout=4)
            assert reason == client.sio.reason.TRANSPORT_ERROR, reason
        # Within the window: nothing is in flight once the client is gone.
        assert await asyncio.get_running_loop().run_in_executor(None, sio_server.terminate, 3.0) == 0
    finally:
        await client.sio.disconnect()
