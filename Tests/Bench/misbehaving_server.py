"""
misbehaving_server.py — a WebSocket server (Python `websockets`, asyncio) that breaks the
rules in one chosen way, so the harness tests can prove that navios-ws-bench reports each
breach as an error and exits non-zero instead of printing a fast run.

    python Tests/Bench/misbehaving_server.py --port 0 [MODE]

Modes (one at a time; none: a correct echo server):
  --drop-every N        echo, but silently drop every N-th message of each connection
  --close-after K       echo K messages per connection, then close it with a close frame
  --abort-after K       echo K messages per connection, then end TCP with no close frame
  --corrupt-every N     echo, but change the last byte of every N-th message
  --extra-byte-every N  echo, but append a byte to every N-th message
  --bad-frame-after K   echo K messages, then send a frame with a reserved opcode
  --bad-accept          answer the upgrade with a wrong Sec-WebSocket-Accept
  --stall-at K --stall-ms MS
                        echo, but before the K-th message of each connection stop reading
                        for MS milliseconds (a garbage-collection pause, say)
  --gateway             answer NaviosWS gateway events: {"event":E,"data":D,"id":N} gets
                        {"event":E,"data":D,"ack":N}; --drop-every N and --corrupt-every N
                        apply, and --wrong-ack-every N acks every N-th with N+1
  --broadcast           relay every message to every client (the fan-out "broadcast" protocol);
                        with --drop-every N / --duplicate-every N it skips / repeats every
                        N-th delivery it makes

Prints "misbehaving-server listening on ws://127.0.0.1:PORT/" once bound; exits on SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal

from websockets.asyncio.server import broadcast, serve


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--drop-every", type=int, default=0)
    p.add_argument("--close-after", type=int, default=0)
    p.add_argument("--abort-after", type=int, default=0)
    p.add_argument("--corrupt-every", type=int, default=0)
    p.add_argument("--extra-byte-every", type=int, default=0)
    p.add_argument("--bad-frame-after", type=int, default=0)
    p.add_argument("--bad-accept", action="store_true")
    p.add_argument("--broadcast", action="store_true")
    p.add_argument("--gateway", action="store_true")
    p.add_argument("--wrong-ack-every", type=int, default=0)
    p.add_argument("--duplicate-every", type=int, default=0)
    p.add_argument("--stall-at", type=int, default=0)
    p.add_argument("--stall-ms", type=int, default=0)
    return p.parse_args()


ARGS = parse_args()
CLIENTS: set = set()
DELIVERIES = 0   # broadcast: deliveries made so far, for --drop-every / --duplicate-every


def every(n: int, count: int) -> bool:
    return n > 0 and count % n == 0


def mangled(message, count: int):
    """The echo of the count-th message (1-based) under --corrupt-every / --extra-byte-every."""
    if every(ARGS.corrupt_every, count) and len(message) > 0:
        last = message[-1]
        if isinstance(message, str):
            return message[:-1] + ("b" if last == "a" else "a")
        return message[:-1] + bytes([last ^ 1])
    if every(ARGS.extra_byte_every, count):
        return message + ("x" if isinstance(message, str) else b"x")
    return message


async def echo(ws):
    count = 0
    async for message in ws:
        count += 1
        if count == ARGS.stall_at:
            await asyncio.sleep(ARGS.stall_ms / 1000)
        if every(ARGS.drop_every, count):
            continue
        await ws.send(mangled(message, count))
        if count == ARGS.close_after:
            await ws.close(1000, "closing early on purpose")
            return
        if count == ARGS.abort_after:
            ws.transport.abort()
            return
        if count == ARGS.bad_frame_after:
            ws.transport.write(b"\x83\x00")   # FIN + opcode 3: reserved (RFC 6455 §5.2)
            return


async def gateway(ws):
    count = 0
    async for message in ws:
        count += 1
        if every(ARGS.drop_every, count):
            continue
        event = json.loads(message)
        ack = event["id"] + (1 if every(ARGS.wrong_ack_every, count) else 0)
        answer = json.dumps({"event": event["event"], "data": event["data"], "ack": ack}, separators=(",", ":"))
        await ws.send(mangled(answer, count))


async def relay(ws):
    global DELIVERIES
    CLIENTS.add(ws)
    try:
        async for message in ws:
            for client in list(CLIENTS):
                DELIVERIES += 1
                if every(ARGS.drop_every, DELIVERIES):
                    continue
                copies = 2 if every(ARGS.duplicate_every, DELIVERIES) else 1
                for _ in range(copies):
                    broadcast([client], message)
    finally:
        CLIENTS.discard(ws)


def spoil_accept(connection, request, response):
    if ARGS.bad_accept and response.status_code == 101:
        del response.headers["Sec-WebSocket-Accept"]
        response.headers["Sec-WebSocket-Accept"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    return response


async def main():
    handler = relay if ARGS.broadcast else gateway if ARGS.gateway else echo
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(handler, ARGS.host, ARGS.port, compression=None, max_size=None,
                     process_response=spoil_accept, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"misbehaving-server listening on ws://{ARGS.host}:{port}/", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
