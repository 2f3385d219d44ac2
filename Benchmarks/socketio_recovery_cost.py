#!/usr/bin/env python3
"""
socketio_recovery_cost.py — the server CPU a connection state recovery costs: a Socket.IO
client that reconnects with its pid and offset and is replayed the 100 broadcasts it missed,
against a fresh connection (CONNECT, the contract's two events) to the same server.

  socketio_recovery_cost.py --server .build/release/navios-ws-socketio-server [--clients 200]
      [--missed 100] [--redis HOST:PORT]

Each of --clients clients connects, joins a room and gets one broadcast; all drop (no close
frame); a sender broadcasts --missed messages to the room; then the server's CPU time (every
thread's, /proc/PID/task/*/schedstat) is read around: the same number of fresh connections, then the recoveries (each
checked: same sid, every missed broadcast in order). Prints one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time

from websockets.asyncio.client import connect

def cpu_seconds(pid: int) -> float:
    """The process's time on a CPU so far, every thread, in ns resolution (schedstat: utime +
    stime count in clock ticks, too coarse for a few hundred connections)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass   # a thread that ended: its time is gone with it (rare: the loops live on)
    return total / 1e9


class Client:
    """An Engine.IO WebSocket session with one Socket.IO namespace, spoken by hand."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> "Client":
        ws = await connect(url, max_size=None)
        assert (await ws.recv()).startswith("0{")
        return cls(ws)

    async def recv(self) -> str:
        while True:
            message = await asyncio.wait_for(self.ws.recv(), 10)
            if message == "2":
                await self.ws.send("3")
                continue
            return message

    async def connect(self, auth: dict | None = None) -> dict:
        await self.ws.send("40" + (json.dumps(auth, separators=(",", ":")) if auth else ""))
        reply = await self.recv()
        assert reply.startswith('40{"sid":'), reply
        return json.loads(reply[2:])

    async def event(self) -> list:
        message = await self.recv()
        assert message.startswith("42"), message
        return json.loads(message[2:])


async def member(url: str, room: str) -> tuple[Client, dict]:
    client = await Client.open(url)
    reply = await client.connect()
    assert (await client.event())[0] == "auth" and (await client.event()) == ["recovered", False]
    await client.ws.send(f'421["join","{room}"]')
    assert await client.recv() == f'431["{room}"]'
    return client, reply


async def measure(url: str, pid: int, clients: int, missed: int) -> dict:
    sender, _ = await member(url, "sender-room")
    members = [await member(url, "r") for _ in range(clients)]
    await sender.ws.send('429["room-emit","r","seen"]')
    assert await sender.recv() == "439[true]"
    offsets = []
    for client, _ in members:
        got = await client.event()
        offsets.append(got[3])
        client.ws.transport.abort()
    await asyncio.sleep(0.5)
    for n in range(missed):
        await sender.ws.send(f'429["room-emit","r",{n}]')
        assert await sender.recv() == "439[true]"

    async def fresh() -> None:
        client = await Client.open(url)
        await client.connect()
        await client.event()
        await client.event()
        await client.ws.close()

    async def recover(reply: dict, offset: str) -> None:
        client = await Client.open(url)
        back = await client.connect({"pid": reply["pid"], "offset": offset})
        assert back["sid"] == reply["sid"], back
        got = [(await client.event())[2] for _ in range(missed)]
        assert got == list(range(missed)), got[:5]
        assert (await client.event())[0] == "auth" and (await client.event()) == ["recovered", True]
        await client.ws.close()

    before = cpu_seconds(pid)
    start = time.perf_counter()
    for _ in range(clients):
        await fresh()
    fresh_cpu, fresh_wall = cpu_seconds(pid) - before, time.perf_counter() - start
    before = cpu_seconds(pid)
    start = time.perf_counter()
    for (_, reply), offset in zip(members, offsets):
        await recover(reply, offset)
    recover_cpu, recover_wall = cpu_seconds(pid) - before, time.perf_counter() - start
    return {
        "clients": clients, "missed": missed,
        "fresh_connect_cpu_us": round(fresh_cpu / clients * 1e6, 1),
        "recovery_cpu_us": round(recover_cpu / clients * 1e6, 1),
        "recovery_extra_cpu_us": round((recover_cpu - fresh_cpu) / clients * 1e6, 1),
        "fresh_connect_wall_ms": round(fresh_wall / clients * 1e3, 3),
        "recovery_wall_ms": round(recover_wall / clients * 1e3, 3),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--server", required=True)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--missed", type=int, default=100)
    p.add_argument("--redis")
    args = p.parse_args()
    command = [args.server, "--port", "0", "--loops", "1", "--recovery-window", "60000", "--ping-interval", "25000",
               "--ping-timeout", "20000"] + (["--redis", args.redis] if args.redis else [])
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"http://([^/:]+):(\d+)(/\S*)", line)
        if not match:
            print(f"no ready line: {line!r}", file=sys.stderr)
            return 1
        url = f"ws://{match.group(1)}:{match.group(2)}{match.group(3)}?EIO=4&transport=websocket"
        result = asyncio.run(measure(url, server.pid, args.clients, args.missed))
        result["store"] = "redis" if args.redis else "memory"
        print(json.dumps(result))
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
