"""A minimal RFC 6455 client on asyncio's Protocol, for tests and load that need many
connections (the `websockets` library costs too much CPU per message for 100,000 deliveries a
second on two cores): the rolling-deploy test (test_drain.py) and the soak (Benchmarks/soak.py).
It speaks the JSON protocol: numbered "msg" events (their text an integer, or "N:T") go into
`seqs` (and a timing callback), acks resolve futures, the reconnect hint is kept."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct

SEQUENCE = re.compile(rb'"text":"(\d+)(?::(\d+))?"')
MSG_PREFIX = b'{"event":"msg"'


async def http_get(port: int, target: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


class Refused(Exception):
    def __init__(self, status: int, headers: dict[str, str]):
        super().__init__(f"upgrade refused with {status}")
        self.status = status
        self.headers = headers


class LightClient(asyncio.Protocol):
    """One JSON-protocol connection: numbered "msg" events go into `seqs`, other envelopes are
    parsed (acks resolve futures; the reconnect hint is kept)."""

    def __init__(self):
        self.buffer = b""
        self.handshake: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.acks: dict[int, asyncio.Future] = {}
        self.next_id = 0
        self.seqs: set[int] = set()
        self.on_msg = None   # callable(number, tail bytes or None): instead of keeping numbers in seqs
        self.hint: dict | None = None
        self.hint_seen = asyncio.Event()
        self.close_code: int | None = None
        self.transport = None

    @classmethod
    async def open(cls, port: int, source: str | None = None) -> "LightClient":
        """`source`: the local address to connect from (127.0.0.N spreads connections over more
        address pairs than one source's ephemeral ports)."""
        local = (source, 0) if source else None
        _, client = await asyncio.get_running_loop().create_connection(cls, "127.0.0.1", port, local_addr=local)
        key = base64.b64encode(os.urandom(16))
        client.transport.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                               b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                               % (port, key))
        await asyncio.wait_for(client.handshake, 10)
        return client

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes):
        buf = self.buffer + data if self.buffer else data
        if not self.handshake.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buf
                return
            head, buf = buf[:end], buf[end + 4:]
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            if status != 101:
                headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
                self.handshake.set_exception(Refused(status, headers))
                self.transport.close()
                return
            self.handshake.set_result(None)
        i, n = 0, len(buf)
        while n - i >= 2:
            length, header = buf[i + 1] & 0x7F, 2
            if length == 126:
                if n - i < 4:
                    break
                length, header = struct.unpack_from("!H", buf, i + 2)[0], 4
            elif length == 127:
                if n - i < 10:
                    break
                length, header = struct.unpack_from("!Q", buf, i + 2)[0], 10
            if n - i < header + length:
                break
            self.frame(buf[i] & 0x0F, buf[i + header:i + header + length])
            i += header + length
        self.buffer = buf[i:]

    def frame(self, opcode: int, payload: bytes):
        if opcode == 1:
            if payload.startswith(MSG_PREFIX):
                found = SEQUENCE.search(payload)
                if self.on_msg is not None:
                    self.on_msg(int(found[1]), found[2])
                else:
                    self.seqs.add(int(found[1]))
                return
            envelope = json.loads(payload)
            if "ack" in envelope:
                future = self.acks.pop(envelope["ack"], None)
                if future and not future.done():
                    future.set_result(envelope.get("data"))
            elif envelope.get("event") == "reconnect_hint":
                self.hint = envelope["data"]
                self.hint_seen.set()
        elif opcode == 8:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.send(8, payload[:2])
        elif opcode == 9:
            self.send(10, payload)

    def send(self, opcode: int, payload: bytes):
        if self.transport.is_closing():
            return
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.transport.write(head + mask + masked)

    def emit(self, event: str, data) -> None:
        self.send(1, json.dumps({"event": event, "data": data}).encode())

    async def request(self, event: str, data) -> object:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.acks[self.next_id] = future
        self.send(1, json.dumps({"event": event, "data": data, "id": self.next_id}).encode())
        return await asyncio.wait_for(future, 10)

    def leave(self) -> None:
        """Closes from the client's side (1000)."""
        self.send(8, struct.pack("!H", 1000))

    def connection_lost(self, exc):
        if not self.handshake.done():
            self.handshake.set_exception(ConnectionError("connection lost during the handshake"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)
