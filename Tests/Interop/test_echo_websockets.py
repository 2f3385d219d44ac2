"""
test_echo_websockets.py — the echo server as a real client library sees it (Python websockets,
asyncio client): sizes on every length-encoding boundary, fragmentation, ping/pong, the close
handshake, 1,000 clients at once, and a graceful shutdown.

Each test runs against a fresh server on each backend (see conftest.py) and ends by checking
that a new client is still served.
    .venv/bin/python -m pytest Tests/Interop/test_echo_websockets.py -q
"""
from __future__ import annotations

import asyncio
import os

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import CLOSE_GOING_AWAY, CLOSE_NORMAL, assert_still_serving

MiB = 1024 * 1024
# The length encodings of RFC 6455 §5.2: 7-bit up to 125, 16-bit from 126 to 65535, 64-bit
# from 65536; 16 MiB is the server's default max message, which must itself pass.
SIZES = [0, 125, 126, 65535, 65536, 16 * MiB]
SIZE_IDS = ["0", "125", "126", "65535", "65536", "16MiB"]


def run(coro, timeout: float = 30.0):
    """Runs one async test body with a hard time limit."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def client(server, **kw):
    kw.setdefault("max_size", None)
    kw.setdefault("open_timeout", 10)
    kw.setdefault("close_timeout", 5)
    return connect(server.url, **kw)


def utf8_text(n: int) -> str:
    """A string whose UTF-8 encoding is exactly n bytes, with 2-, 3- and 4-byte characters in it."""
    unit = "aé€😀"                       # 1 + 2 + 3 + 4 = 10 bytes
    text = unit * (n // 10)
    text += "a" * (n - len(text.encode()))
    assert len(text.encode()) == n
    return text


# ---- sizes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_rfc6455_5_6_text_message_is_echoed_intact(server, size):
    message = utf8_text(size)

    async def body():
        async with client(server, compression=None) as ws:
            await ws.send(message)
            echoed = await ws.recv()
            assert isinstance(echoed, str)
            assert echoed == message

    run(body(), timeout=60)
    assert_still_serving(server)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_rfc6455_5_6_binary_message_is_echoed_intact(server, size):
    message = os.urandom(size)

    async def body():
        async with client(server, compression=None) as ws:
            await ws.send(message)
            echoed = await ws.recv()
            assert isinstance(echoed, bytes)
            assert echoed == message

    run(body(), timeout=60)
    assert_still_serving(server)


def test_burst_of_messages_without_waiting_is_echoed_in_order(server):
    # Many small echoes are corked into shared send buffers; order and boundaries must survive.
    messages = [os.urandom(i % 300) if i % 2 else utf8_text(i % 200) for i in range(500)]

    async def body():
        async with client(server) as ws:
            for m in messages:
                await ws.send(m)
            for m in messages:
                assert await ws.recv() == m

    run(body())
    assert_still_serving(server)


# ---- fragmentation ---------------------------------------------------------------------------

def test_rfc6455_5_4_fragmented_text_message_is_echoed_whole(server):
    whole = utf8_text(3000).encode()
    # Cuts inside multi-byte characters too: UTF-8 is checked across fragment boundaries.
    cuts = [0, 1, 2, 5, 6, 9, 700, 701, 702, 2999, 3000]
    fragments = [whole[a:b] for a, b in zip(cuts, cuts[1:])]

    async def body():
        async with client(server) as ws:
            await ws.send(fragments, text=True)
            assert await ws.recv() == whole.decode()

    run(body())
    assert_still_serving(server)


def test_rfc6455_5_4_fragmented_binary_message_from_async_iterator_is_echoed_whole(server):
    fragments = [os.urandom(n) for n in (1, 0, 125, 126, 65536, 3, 70000)]

    async def body():
        async with client(server) as ws:
            async def produce():
                for f in fragments:
                    yield f
                    # A ping after each fragment (control frames may come between fragments,
                    # RFC 6455 §5.4), and its pong: the server has read the fragment before the
                    # next one is sent, so the fragments reach it in separate reads.
                    await asyncio.wait_for(await ws.ping(), 5)

            await ws.send(produce())
            assert await ws.recv() == b"".join(fragments)

    run(body())
    assert_still_serving(server)


# ---- ping and pong ---------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b"", b"ping-me", bytes(range(125))], ids=["empty", "short", "125bytes"])
def test_rfc6455_5_5_3_ping_gets_pong_with_the_same_payload(server, payload):
    async def body():
        async with client(server, ping_interval=None) as ws:
            # websockets resolves the waiter only for a pong whose payload matches this ping.
            waiter = await ws.ping(payload)
            latency = await asyncio.wait_for(waiter, 5)
            assert latency >= 0
            await ws.send("after the pong")
            assert await ws.recv() == "after the pong"

    run(body())
    assert_still_serving(server)


# ---- the close handshake ---------------------------------------------------------------------

@pytest.mark.parametrize("code,reason", [(CLOSE_NORMAL, ""), (4000, "custom reason é")], ids=["1000", "4000+reason"])
def test_rfc6455_5_5_1_client_close_code_is_echoed(server, code, reason):
    async def body():
        async with client(server) as ws:
            await ws.send("before closing")
            assert await ws.recv() == "before closing"
            await ws.close(code, reason)
            await asyncio.wait_for(ws.wait_closed(), 5)
            # As received from the server: the code echoed (§5.5.1), no reason sent back.
            assert ws.close_code == code
            assert ws.close_reason == ""

    run(body())
    assert_still_serving(server)


def test_sigterm_sends_1001_to_connected_clients_then_exits_cleanly(server):
    async def body():
        clients = [await client(server, ping_interval=None) for _ in range(3)]
        for i, ws in enumerate(clients):
            await ws.send(f"hello {i}")
            assert await ws.recv() == f"hello {i}"
        server.send_sigterm()
        for ws in clients:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code == CLOSE_GOING_AWAY

    run(body())
    # The server is gone, so instead of assert_still_serving: it must have exited cleanly.
    rc = server.terminate()   # SIGTERM was sent: this waits for the exit
    assert rc == 0, f"exit status {rc}\n{server.stderr_text()}"


# ---- the opening handshake -------------------------------------------------------------------

def test_rfc6455_4_2_handshake_with_extra_headers_and_query_needs_no_subprotocol(server):
    async def body():
        async with connect(
            f"{server.url}chat/room-7?token=abc%20def&x=1&x=2",
            max_size=None,
            open_timeout=10,
            additional_headers={
                "X-Request-Id": os.urandom(8).hex(),
                "Cookie": "session=abc; theme=dark",
                "User-Agent": "navios-interop/1.0",
                "Origin": "http://localhost",
            },
            subprotocols=["chat.v1", "chat.v2"],   # offered; the echo server speaks none
            user_agent_header=None,
        ) as ws:
            assert ws.subprotocol is None
            headers = ws.response.headers
            assert "Sec-WebSocket-Protocol" not in headers
            # permessage-deflate was offered by default; nothing was negotiated.
            assert "Sec-WebSocket-Extensions" not in headers
            await ws.send("through the query string")
            assert await ws.recv() == "through the query string"

    run(body())
    assert_still_serving(server)


# ---- many clients ----------------------------------------------------------------------------

def test_1000_concurrent_clients_each_get_their_own_echoes(server):
    n_clients, n_messages = 1000, 3

    async def one(i, opened, go):
        async with connect(server.url, max_size=None, open_timeout=60, close_timeout=10,
                           ping_interval=None, compression=None) as ws:
            opened.append(i)
            if len(opened) == n_clients:
                go.set()
            await go.wait()   # every client is connected before any echo starts
            for k in range(n_messages):
                payload = f"client {i} message {k} " + "x" * (i % 50)
                await ws.send(payload)
                assert await ws.recv() == payload
        return i

    async def body():
        opened: list[int] = []
        go = asyncio.Event()
        done = await asyncio.gather(*(one(i, opened, go) for i in range(n_clients)))
        assert sorted(done) == list(range(n_clients))

    run(body(), timeout=120)
    assert_still_serving(server)
