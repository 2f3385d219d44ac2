"""
conftest.py — the Socket.IO test server (navios-ws-socketio-server, the conformance kit's server
contract) under test, for stock Socket.IO clients.

Each test gets its own server: the binary named by NAVIOS_SOCKETIO_SERVER (default
.build/release/navios-ws-socketio-server), on an ephemeral port with the test's extra flags,
stopped with SIGTERM afterwards; the test fails unless it then exits with status 0.

    .venv/bin/python -m pytest Tests/SocketIO -q -p no:cacheprovider

Per-test flags:    @pytest.mark.server_args("--loops", "1")
Async tests:       `async def test_...` run in their own event loop, bounded by a deadline
                   (@pytest.mark.deadline(seconds), default 30).
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import socket
import sys
from pathlib import Path

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect


def load_conftest(folder: str):
    """Tests/<folder>/conftest.py as a plain module, for what it has to share (Interop's process
    handling, Cluster's redis-server)."""
    path = Path(__file__).resolve().parents[1] / folder / "conftest.py"
    spec = importlib.util.spec_from_file_location(f"navios_{folder.lower()}_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


interop = load_conftest("Interop")

READY_LINE = re.compile(rb"navios-ws-socketio-server listening on http://(?P<host>[^\s/:]+):(?P<port>\d+)/")
DEFAULT_DEADLINE_S = 30.0
TOKEN = "s3cret"
TRANSPORTS = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": ["polling", "websocket"],
}


def pytest_configure(config):
    config.addinivalue_line("markers", "server_args(*flags): extra flags for this test's server")
    config.addinivalue_line("markers", "deadline(seconds): the whole test must finish within this time")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs `async def` tests in a fresh event loop, bounded by the test's deadline."""
    return interop.run_async_test(pyfuncitem, DEFAULT_DEADLINE_S)


class SocketIOServer(interop.AppServer):
    """One running navios-ws-socketio-server."""

    def __init__(self, binary: Path, args: tuple[str, ...]):
        super().__init__(binary, args, READY_LINE, ("--port", "0"))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"



@pytest.fixture
def sio_server(request):
    binary = interop.binary_from_env("NAVIOS_SOCKETIO_SERVER", "navios-ws-socketio-server")
    if not binary.exists():
        pytest.fail(f"{binary} does not exist (swift build -c release --product navios-ws-socketio-server, "
                    f"or set NAVIOS_SOCKETIO_SERVER)", pytrace=False)
    srv = SocketIOServer(binary, interop.marker_args(request))
    try:
        srv.start()
    except interop.ServerStartError as err:
        pytest.fail(str(err), pytrace=False)
    yield srv
    # Sockets a test left open are closed first: the server's graceful stop would wait for them.
    for sock in RawSocket.opened:
        sock.shut()
    RawSocket.opened.clear()
    interop.finish_server(srv)


@pytest.fixture(params=list(TRANSPORTS))
def transports(request) -> list[str]:
    """Each python-socketio transport setting: WebSocket only, long-polling only, and
    long-polling that upgrades to WebSocket."""
    return TRANSPORTS[request.param]


# ---- a Socket.IO client spoken by hand ---------------------------------------------------------

WAIT_S = 5.0


def eio_url(server) -> str:
    return server.ws_url("/socket.io/?EIO=4&transport=websocket")


class RawSocket:
    """An Engine.IO WebSocket session spoken by hand: open packet read, pings answered."""

    opened: list["RawSocket"] = []

    def __init__(self, ws):
        self.ws = ws
        RawSocket.opened.append(self)

    def shut(self) -> None:
        """Ends the connection at the TCP level, outside any event loop (the test's is closed):
        the server sees it end without a close handshake. A closed or dropped one is left."""
        transport = self.ws.transport
        if transport is None or transport.is_closing():
            return
        with socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno())) as raw:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)

    @classmethod
    async def open(cls, server) -> "RawSocket":
        ws = await ws_connect(eio_url(server), max_size=None)
        opened = await asyncio.wait_for(ws.recv(), WAIT_S)
        assert opened.startswith("0{") and json.loads(opened[1:])["sid"]
        return cls(ws)

    async def recv(self, timeout: float = WAIT_S):
        while True:
            message = await asyncio.wait_for(self.ws.recv(), timeout)
            if message == "2":
                await self.ws.send("3")
                continue
            return message

    async def connect(self, namespace: str = "/", auth: dict | None = None, then_auth: bool = True) -> dict:
        """CONNECT, and the reply (returned: sid, and pid with recovery on); then, unless
        `then_auth` is false, the contract's `auth` event."""
        prefix = "" if namespace == "/" else namespace + ","
        await self.ws.send("40" + prefix + (json.dumps(auth, separators=(",", ":")) if auth is not None else ""))
        reply = await self.recv()
        assert reply.startswith("40" + prefix + '{"sid":'), reply
        if then_auth:
            assert await self.recv() == "42" + prefix + '["auth",' + json.dumps(auth or {}, separators=(",", ":")) + "]"
        return json.loads(reply[2 + len(prefix):])

    async def event(self) -> list:
        """The next event packet's arguments (name first), on the main namespace."""
        message = await self.recv()
        assert message.startswith("42"), message
        return json.loads(message[2:])

    def drop(self) -> None:
        """Ends the connection as a network failure would: no close frame."""
        self.ws.transport.abort()

    async def expect_closed(self) -> None:
        """The server closes the connection (pings aside, nothing else comes first)."""
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            while True:
                message = await asyncio.wait_for(self.ws.recv(), WAIT_S)
                assert message in ("2", "6"), f"expected the connection closed, got {message!r}"


async def assert_serves(server) -> None:
    """A fresh, well-behaved client connects and gets an echo."""
    sock = await RawSocket.open(server)
    await sock.connect()
    await sock.ws.send('42["message","still served"]')
    assert await sock.recv() == '42["message-back","still served"]'
    await sock.ws.close()
