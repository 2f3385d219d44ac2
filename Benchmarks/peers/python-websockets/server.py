"""
server.py — the Python `websockets` peer of the side-by-side benchmarks (Benchmarks/run-suite.sh):
an asyncio server on websockets' own API (websockets.asyncio.server), in one of two modes:

  echo       every text or binary message goes back to its sender as it came
  broadcast  every message goes to every open connection, the sender included
             (websockets.broadcast: framed once, written without waiting for slow readers),
             the server of navios-ws-bench fanout --protocol broadcast

    .venv/bin/python Benchmarks/peers/python-websockets/server.py --port 9006 [--mode echo|broadcast]

Prints "python-websockets-MODE listening on ws://HOST:PORT/ (websockets VERSION)" once bound;
exits on SIGTERM. Compression is off and pings are not sent (neither is measured), and
messages up to 16 MiB are taken, as navios-ws-echo takes by default.
"""
from __future__ import annotations

import argparse
import asyncio
import signal

import websockets
from websockets.asyncio.server import broadcast, serve

MAX_MESSAGE = 16 << 20


async def echo(ws):
    async for message in ws:
        await ws.send(message)


def relay_for(server_ref: list):
    async def relay(ws):
        async for message in ws:
            broadcast(server_ref[0].connections, message)

    return relay


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9006)
    p.add_argument("--mode", choices=("echo", "broadcast"), default="echo")
    args = p.parse_args()

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    server_ref: list = []   # the relay needs the server's connection set, known once serve() returns
    handler = echo if args.mode == "echo" else relay_for(server_ref)
    async with serve(handler, args.host, args.port, compression=None, max_size=MAX_MESSAGE,
                     ping_interval=None, backlog=4096) as server:
        server_ref.append(server)
        port = server.sockets[0].getsockname()[1]
        print(f"python-websockets-{args.mode} listening on ws://{args.host}:{port}/ "
              f"(websockets {websockets.__version__})", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
