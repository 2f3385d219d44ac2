"""
conftest.py — the chat example under test, and a JSON-protocol client for the gateway suites.

Each test gets its own chat-example server: the binary named by NAVIOS_CHAT_EXAMPLE (default
.build/release/chat-example when it exists, else .build/debug/chat-example), started on an
ephemeral port with the test's extra flags, stopped with SIGTERM afterwards; the test fails
unless the server then exits with status 0.

    cd /work/main && .venv/bin/python -m pytest Tests/Gateway -q -p no:cacheprovider

Per-test flags:    @pytest.mark.chat_args("--rate", "5")
Per-test deadline: @pytest.mark.deadline(60)   (seconds; every test has one, default 30)
Async tests:       `async def test_...` runs in its own event loop under the deadline (no plugin
                   needed; see pytest_pyfunc_call below).
The client:        async with open_client(chat_server, token="alice-token") as alice:
                       await alice.emit("chat:join", {"roomId": "general"}, id=1)
                       await alice.expect_ack(1)
                       msg = await alice.recv_event("chat:message")

The server process handling (stderr capture, SIGTERM handling check, graceful stop) and the raw
HTTP helpers come from the interop suite's conftest (Tests/Interop/conftest.py), imported by path.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect


def _load_interop_conftest():
    """Tests/Interop/conftest.py as a plain module (not a second pytest plugin)."""
    path = Path(__file__).resolve().parents[1] / "Interop" / "conftest.py"
    spec = importlib.util.spec_from_file_location("navios_interop_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


interop = _load_interop_conftest()

REPO = interop.REPO
READY_TIMEOUT_S = interop.READY_TIMEOUT_S
DEFAULT_DEADLINE_S = 30.0
RECV_TIMEOUT_S = 5.0

CLOSE_POLICY = interop.CLOSE_POLICY
READY_LINE = re.compile(rb"chat-example listening on (?P<scheme>https?)://(?P<host>[^\s/]+):(?P<port>\d+)/")

TOKENS = {"alice": "alice-token", "bob": "bob-token", "carol": "carol-token"}


def default_binary() -> Path:
    return interop.binary_from_env("NAVIOS_CHAT_EXAMPLE", "chat-example")


# ---- pytest wiring ---------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "chat_args(*flags): extra command-line flags for this test's chat-example")
    config.addinivalue_line("markers", "deadline(seconds): the whole test must finish within this time")


# Why tests were skipped (e.g. no browser), printed at the end of the run: a skip must be seen,
# not just counted.
_skip_notes: list[str] = []


def note_skip(reason: str) -> None:
    if reason not in _skip_notes:
        _skip_notes.append(reason)


def pytest_terminal_summary(terminalreporter):
    for reason in _skip_notes:
        terminalreporter.write_line(f"NaviosWS gateway: tests skipped: {reason}", yellow=True)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs `async def` tests in a fresh event loop, bounded by the test's deadline."""
    return interop.run_async_test(pyfuncitem, DEFAULT_DEADLINE_S)


# ---- the server ------------------------------------------------------------------------------

class ChatServer(interop.AppServer):
    """One running chat-example."""

    def __init__(self, binary: Path, args: tuple[str, ...]):
        super().__init__(binary, args, READY_LINE, ("--host", "127.0.0.1", "--port", "0"))

    @property
    def secure(self) -> bool:
        return "--tls-cert" in self.args

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.port}/"

    def ws_url(self, path: str = "/ws/chat") -> str:
        return f"{'wss' if self.secure else 'ws'}://{self.host}:{self.port}{path}"



def socketio_client() -> Path | None:
    """The official Socket.IO client the page can use (NAVIOS_SOCKETIO_CLIENT, default
    build/socket.io.min.js, which the Makefile fetches), or None."""
    path = Path(os.environ.get("NAVIOS_SOCKETIO_CLIENT", REPO / "build/socket.io.min.js"))
    path = path if path.is_absolute() else REPO / path
    return path if path.exists() else None


@pytest.fixture
def chat_server(request):
    """A fresh chat-example for this test (port 0, the test's chat_args); SIGTERM afterwards,
    and the test fails unless it exits with status 0."""
    binary = default_binary()
    if not binary.exists():
        pytest.fail(f"chat-example binary {binary} does not exist (build it with "
                    f"`swift build --product chat-example`, or set NAVIOS_CHAT_EXAMPLE)", pytrace=False)
    args = interop.marker_args(request, "chat_args")
    client = socketio_client()
    if client is not None:
        args = ("--socketio-client", str(client), *args)
    srv = ChatServer(binary, args)
    try:
        srv.start()
    except interop.ServerStartError as err:
        pytest.fail(str(err), pytrace=False)
    yield srv
    interop.finish_server(srv)


# ---- the JSON-protocol client ----------------------------------------------------------------

def _brief(envelopes: list[dict], limit: int = 12) -> str:
    shown = [json.dumps(e)[:200] for e in envelopes[-limit:]]
    more = f"... ({len(envelopes) - limit} earlier)\n" if len(envelopes) > limit else ""
    return more + "\n".join(shown) if shown else "(nothing)"


class ClosedByServer(AssertionError):
    def __init__(self, client: "JsonClient", code: int | None, reason: str):
        super().__init__(f"{client.name}: the server closed the connection ({code} {reason!r}); received before:\n"
                         f"{_brief(client.history)}")
        self.code = code
        self.reason = reason


class JsonClient:
    """A client of the JSON protocol (DESIGN §4) over the `websockets` library.

    Everything received is appended to `history` (in arrival order). Messages that a recv_*
    call skips stay in a backlog, so a later call can still find them."""

    def __init__(self, ws, name: str):
        self.ws = ws
        self.name = name
        self.history: list[dict] = []
        self.backlog: list[dict] = []
        self._next_id = 1
        self.id: str | None = None   # the clientId of chat:welcome

    def next_id(self) -> int:
        n = self._next_id
        self._next_id += 1
        return n

    # -- sending

    async def emit(self, event: str, data: Any = None, id: int | None = None) -> None:
        envelope: dict[str, Any] = {"event": event}
        if data is not None:
            envelope["data"] = data
        if id is not None:
            envelope["id"] = id
        await self.ws.send(json.dumps(envelope))

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def request(self, event: str, data: Any = None, timeout: float = RECV_TIMEOUT_S) -> Any:
        """emit with a fresh id, then the ack's data (the ack must not be an error)."""
        n = self.next_id()
        await self.emit(event, data, id=n)
        reply = await self.expect_ack(n, timeout)
        assert "error" not in reply, f"{self.name}: {event} failed: {reply}"
        return reply.get("data")

    # -- receiving

    async def _read(self, timeout: float) -> dict:
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            rcvd = closed.rcvd
            raise ClosedByServer(self, rcvd.code if rcvd else None, rcvd.reason if rcvd else "") from None
        assert isinstance(raw, str), f"{self.name}: expected a text frame, got {len(raw)} binary bytes"
        envelope = json.loads(raw)
        assert isinstance(envelope, dict), f"{self.name}: the server sent {raw[:200]!r}"
        self.history.append(envelope)
        return envelope

    async def recv_matching(self, predicate: Callable[[dict], bool], timeout: float = RECV_TIMEOUT_S,
                            what: str = "a matching message") -> dict:
        """The first message (backlog first) for which predicate holds; others stay in the backlog."""
        for i, envelope in enumerate(self.backlog):
            if predicate(envelope):
                return self.backlog.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"{self.name}: no {what} within {timeout} s; received meanwhile:\n"
                                     f"{_brief(self.backlog)}")
            try:
                envelope = await self._read(left)
            except TimeoutError:
                continue
            if predicate(envelope):
                return envelope
            self.backlog.append(envelope)

    async def recv_event(self, name: str, timeout: float = RECV_TIMEOUT_S,
                         where: Callable[[Any], bool] | None = None) -> dict:
        """The next server-to-client event `name` ({"event","data"}, no ack), skipping others;
        `where` filters on its data."""
        return await self.recv_matching(
            lambda e: e.get("event") == name and "ack" not in e and (where is None or where(e.get("data"))),
            timeout, f"event {name!r}")

    async def expect_ack(self, id: int, timeout: float = RECV_TIMEOUT_S) -> dict:
        """The reply to message `id` (data or error), skipping other messages."""
        return await self.recv_matching(lambda e: e.get("ack") == id, timeout, f"ack {id}")

    async def expect_error(self, id: int | None, code: str, timeout: float = RECV_TIMEOUT_S) -> dict:
        """The error reply to message `id` (None: an error with no ack), which must carry `code`."""
        if id is None:
            reply = await self.recv_matching(lambda e: "error" in e and "ack" not in e, timeout, "an error")
        else:
            reply = await self.expect_ack(id, timeout)
        assert "error" in reply, f"{self.name}: expected error {code!r}, got {reply}"
        error = reply["error"]
        assert isinstance(error, dict) and error.get("code") == code, f"{self.name}: expected error {code!r}, got {reply}"
        assert isinstance(error.get("message"), str), f"{self.name}: error without a message: {reply}"
        return reply

    def received(self, event: str, where: Callable[[Any], bool] | None = None) -> list[dict]:
        """Every server-to-client `event` received so far (consumed or not)."""
        return [e for e in self.history
                if e.get("event") == event and "ack" not in e and (where is None or where(e.get("data")))]

    async def expect_close(self, timeout: float = RECV_TIMEOUT_S) -> tuple[int | None, str]:
        """Reads (into the backlog) until the server closes; its close code and reason."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"{self.name}: the server did not close within {timeout} s; received:\n"
                                     f"{_brief(self.backlog)}")
            try:
                self.backlog.append(await self._read(left))
            except ClosedByServer as closed:
                return closed.code, closed.reason
            except TimeoutError:
                continue

    async def close(self) -> None:
        await self.ws.close()


@contextlib.asynccontextmanager
async def open_client(server: ChatServer, path: str = "/ws/chat", *, token: str | None = None,
                      bearer: str | None = None, name: str | None = None, welcome: bool | None = None,
                      timeout: float = RECV_TIMEOUT_S, ssl=None, compression: str | None = None):
    """A connected JsonClient. token goes in the query (?token=), bearer in an Authorization
    header. On /ws/chat it waits for chat:welcome (the server has run onConnection, so the
    user's "user:<id>" room is joined) unless welcome=False."""
    url = server.ws_url(path)
    if token is not None:
        url += ("&" if "?" in url else "?") + "token=" + token
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else None
    ws = await ws_connect(url, additional_headers=headers, open_timeout=timeout, close_timeout=timeout,
                          compression=compression, max_size=None, ssl=ssl)
    client = JsonClient(ws, name or (token or bearer or "guest").removesuffix("-token"))
    if welcome is None:
        welcome = path.split("?")[0] == "/ws/chat"
    try:
        if welcome:
            hello = await client.recv_event("chat:welcome", timeout)
            client.id = hello["data"]["clientId"]
        yield client
    finally:
        await ws.close()


def with_text(text):
    return lambda data: isinstance(data, dict) and data.get("message") == text


async def say(client, room: str, text: str) -> dict:
    """chat:message with an id; returns the ack's data (the ChatMessageResponse)."""
    return await client.request("chat:message", {"roomId": room, "text": text})


async def join(client: JsonClient, room: str) -> None:
    """chat:join and its two answers: the chat:joined event and the ack."""
    n = client.next_id()
    await client.emit("chat:join", {"roomId": room}, id=n)
    reply = await client.expect_ack(n)
    assert "error" not in reply, f"{client.name}: chat:join {room} failed: {reply}"
    joined = await client.recv_event("chat:joined", where=lambda d: d == {"roomId": room})
    assert joined["data"] == {"roomId": room}


# Re-exported for the test modules.
http_exchange = interop.http_exchange
assert_complete_http_error = interop.assert_complete_http_error
