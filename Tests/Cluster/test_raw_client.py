"""A client that is not the `websockets` library: a minimal RFC 6455 client over a raw asyncio
socket, taking part in cross-instance rooms."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import struct

from conftest import connect, open_clients, poll
from test_cluster import settle, wait_subscribers

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.next_id = 0
        self.events: list[dict] = []

    @classmethod
    async def open(cls, port: int) -> "RawClient":
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        key = base64.b64encode(os.urandom(16))
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (port, key))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        assert b"sec-websocket-accept: " + accept.lower() in head.lower(), head
        return cls(reader, writer)

    async def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def read_frame(self, timeout: float) -> tuple[int, bytes]:
        async def read():
            b0, b1 = await self.reader.readexactly(2)
            assert b1 & 0x80 == 0, "server frames must not be masked"
            n = b1 & 0x7F
            if n == 126:
                n, = struct.unpack("!H", await self.reader.readexactly(2))
            elif n == 127:
                n, = struct.unpack("!Q", await self.reader.readexactly(8))
            return b0 & 0x0F, await self.reader.readexactly(n)
        return await asyncio.wait_for(read(), timeout)

    async def read_json(self, timeout: float = 5.0) -> dict:
        while True:
            opcode, payload = await self.read_frame(timeout)
            if opcode == 0x1:
                return json.loads(payload)
            assert opcode in (0x9, 0xA), f"unexpected opcode {opcode}"

    async def request(self, event: str, data=None):
        self.next_id += 1
        n = self.next_id
        envelope = {"event": event, "id": n}
        if data is not None:
            envelope["data"] = data
        await self.send_text(json.dumps(envelope))
        while True:
            reply = await self.read_json()
            if reply.get("ack") == n:
                assert "error" not in reply, reply
                return reply.get("data")
            self.events.append(reply)

    async def wait_text(self, text: str, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(e.get("data", {}).get("text") == text for e in self.events):
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"raw client: no msg {text!r} within {timeout} s: {self.events}"
            self.events.append(await self.read_json(left))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            mask = os.urandom(4)
            payload = struct.pack("!H", 1000)
            self.writer.write(bytes([0x88, 0x80 | len(payload)]) + mask +
                              bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            await self.writer.drain()
            await asyncio.wait_for(self.read_frame(2), 2)
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


async def test_raw_socket_client_joins_a_room_and_gets_broadcasts_from_another_instance(redis, cluster):
    a, b = cluster(2)
    raw = await RawClient.open(b.port)
    try:
        async with contextlib.AsyncExitStack() as stack:
            sender, = await open_clients(stack, a, "sender")
            raw_id = await raw.request("whoami")
            assert isinstance(raw_id, str) and raw_id
            assert await raw.request("join", "r") is True
            await wait_subscribers(redis, "r", 1)
            assert await sender.request("fetch", {"rooms": ["r"]}) == [raw_id]
            assert await sender.request("send", {"rooms": ["r"], "text": "to-raw"}) is True
            await raw.wait_text("to-raw")
            # Once: a marker to everyone arrives after it, and no second copy before the marker.
            assert await sender.request("send", {"text": "marker"}) is True
            await raw.wait_text("marker")
            assert [e["data"]["text"] for e in raw.events if e.get("event") == "msg"] == ["to-raw", "marker"]
            # And the other way: the raw client broadcasts to a websockets client on node a.
            await sender.request("join", "back")
            await wait_subscribers(redis, "back", 1)
            assert await raw.request("send", {"rooms": ["back"], "text": "from-raw"}) is True
            await sender.wait_text("from-raw")
            assert [m for m in sender.msgs() if m["text"] == "from-raw"] == [{"text": "from-raw", "from": "b"}]
    finally:
        await raw.close()
