"""
conftest.py — a real redis-server and several navios-ws-cluster-node processes behind it.

    cd /work/main && .venv/bin/python -m pytest Tests/Cluster -q -p no:cacheprovider

Binary: NAVIOS_CLUSTER_NODE (default .build/debug/navios-ws-cluster-node).
Redis:  /usr/bin/redis-server (REDIS_SERVER overrides), on a free loopback port, no persistence.

Fixtures
  redis    a running RedisServer (kill() = SIGKILL, start() again on the same port, cli(...)).
  cluster  a factory: cluster(3) → three started nodes ("a", "b", "c"), all stopped at teardown
           (SIGTERM, then SIGKILL after a timeout).
Async tests (`async def test_...`) run in a fresh event loop under a deadline (default 30 s,
@pytest.mark.deadline(s) to change it); no plugin needed.
Client:  async with connect(node, "name") as c: await c.request("join", "r"); await c.wait_msgs(...)
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 15.0


def _load_interop_conftest():
    """Tests/Interop/conftest.py as a plain module: its ready-line reader serves here too."""
    path = Path(__file__).resolve().parents[1] / "Interop" / "conftest.py"
    spec = importlib.util.spec_from_file_location("navios_interop_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


interop = _load_interop_conftest()
STOP_TIMEOUT_S = 5.0
REDIS_READY_TIMEOUT_S = 10.0
RECV_TIMEOUT_S = 5.0
DEFAULT_DEADLINE_S = 30.0
# Absence ("X does not reach C") is checked once a sentinel that must follow X on the same path
# has reached C (see test_cluster.settle). This bounded wait is only for the one case with no
# such path: an operation that each instance runs in a task of its own (a remote socket's emit).
UNORDERED_QUIET_S = 0.3
READY_LINE = re.compile(rb"navios-ws-cluster-node (?P<name>\S+) listening on ws://(?P<host>[^\s/:]+):(?P<port>\d+)/")


def node_binary() -> Path:
    value = os.environ.get("NAVIOS_CLUSTER_NODE", ".build/debug/navios-ws-cluster-node")
    path = Path(value)
    return path if path.is_absolute() else REPO / path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- pytest wiring ---------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): the whole test must finish within this time")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs `async def` tests in a fresh event loop, bounded by the test's deadline."""
    return interop.run_async_test(pyfuncitem, DEFAULT_DEADLINE_S)


# ---- redis-server ----------------------------------------------------------------------------

def terminate(proc: subprocess.Popen) -> int:
    """SIGTERM, SIGKILL after STOP_TIMEOUT_S; the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)
    return proc.returncode


class RedisServer:
    def __init__(self, port: int | None = None):
        self.binary = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ping(self, timeout: float = 0.5) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "redis-server is already running"
        cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        deadline = time.monotonic() + REDIS_READY_TIMEOUT_S
        while True:   # the port of a just-killed server may need a moment to be bindable again
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.ping():
                    return
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not answer PING in time")
            if time.monotonic() >= deadline:
                self.log.seek(0)
                raise RuntimeError(f"redis-server on port {self.port} exited: {self.log.read()[-2000:]!r}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> None:
        """SIGKILL then start again on the same port."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.proc:
            terminate(self.proc)

    def cli(self, *args: str | bytes) -> str:
        """redis-cli -p PORT ARGS (raw output, stripped)."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args], capture_output=True,
                             timeout=5, check=True)
        return out.stdout.decode(errors="replace").strip()

    def command(self, *args: bytes | str) -> bytes:
        """One RESP command over a raw socket (binary-safe arguments); the raw reply."""
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        frame = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(frame)
            return s.recv(4096)

    def numsub(self, channel: str) -> int:
        reply = self.cli("PUBSUB", "NUMSUB", channel).splitlines()
        assert len(reply) == 2, f"PUBSUB NUMSUB {channel!r}: {reply}"
        return int(reply[1])

    def publish(self, channel: str | bytes, payload: str | bytes) -> int:
        reply = self.command("PUBLISH", channel, payload)
        assert reply.startswith(b":"), f"PUBLISH: {reply!r}"
        return int(reply[1:].strip())


class RedisSubscriber:
    """One SUBSCRIBE connection of the test's own, to capture what the instances publish."""

    def __init__(self, server: RedisServer, channel: str):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        self.buffer = b""
        name = channel.encode()
        self.sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(name), name))
        kind, _, _ = self._reply()
        assert kind == b"subscribe", kind

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "redis closed the subscriber connection"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _bulk(self) -> bytes:
        header = self._line()
        if header.startswith(b":"):
            return header[1:]
        assert header.startswith(b"$"), header
        n = int(header[1:])
        while len(self.buffer) < n + 2:
            chunk = self.sock.recv(65536)
            assert chunk, "redis closed the subscriber connection"
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n + 2:]
        return data

    def _reply(self) -> tuple[bytes, bytes, bytes]:
        assert self._line() == b"*3"
        return self._bulk(), self._bulk(), self._bulk()

    def message(self) -> bytes:
        """The next message published on the channel (blocks up to 5 s)."""
        kind, _, payload = self._reply()
        assert kind == b"message", kind
        return payload

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def redis_port():
    return free_port()


@pytest.fixture
def redis(redis_port):
    """A running redis-server for this test, stopped at teardown."""
    server = RedisServer(redis_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_stopped(redis_port):
    """A redis-server for this test that is not started yet (the test calls start())."""
    server = RedisServer(redis_port)
    yield server
    server.stop()


# ---- cluster nodes ---------------------------------------------------------------------------

class ClusterNode:
    def __init__(self, name: str, redis_address: str, prefix: str | None = None, extra: tuple[str, ...] = ()):
        self.name = name
        self.extra = extra
        self.redis_address = redis_address
        self.prefix = prefix
        self.proc: subprocess.Popen | None = None
        self.stderr = tempfile.TemporaryFile()
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    def start(self) -> None:
        binary = node_binary()
        if not binary.exists():
            pytest.fail(f"{binary} does not exist (build navios-ws-cluster-node or set NAVIOS_CLUSTER_NODE)",
                        pytrace=False)
        cmd = [str(binary), "--port", "0", "--redis", self.redis_address, "--name", self.name]
        if self.prefix:
            cmd += ["--prefix", self.prefix]
        cmd += self.extra
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        out, m = interop.read_ready_line(self, cmd, READY_LINE, time.monotonic() + READY_TIMEOUT_S)
        self.port = int(m["port"])
        assert m["name"].decode() == self.name and self.port != 0, out

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> int | None:
        """SIGTERM, SIGKILL after STOP_TIMEOUT_S; the exit status."""
        if self.proc is None:
            return None
        return terminate(self.proc)


@pytest.fixture
def cluster(redis_port):
    """Factory: cluster(n, names=None, prefix=None) starts n nodes against the test's Redis port."""
    started: list[ClusterNode] = []

    def start(n: int, names: list[str] | None = None, prefix: str | None = None,
              extra: tuple[str, ...] = ()) -> list[ClusterNode]:
        names = names or [chr(ord("a") + len(started) + i) for i in range(n)]
        nodes = []
        for name in names:
            node = ClusterNode(name, f"127.0.0.1:{redis_port}", prefix, extra)
            started.append(node)
            node.start()
            nodes.append(node)
        return nodes

    yield start
    statuses = {node.name: node.stop() for node in started}
    bad = {name: status for name, status in statuses.items() if status not in (0, -signal.SIGKILL)}
    assert not bad, f"nodes did not exit cleanly on SIGTERM: {bad}\n" + "\n".join(
        f"--- {node.name} stderr:\n{node.stderr_text()}" for node in started if node.name in bad)


# ---- the JSON-protocol client ----------------------------------------------------------------

class Client:
    """A websockets client with a reader task: acks resolve futures, events land in `events`."""

    def __init__(self, ws, name: str):
        self.ws = ws
        self.name = name
        self.events: list[dict] = []
        self.acks: dict[int, asyncio.Future] = {}
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._next = 0
        self.id: str | None = None
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                envelope = json.loads(raw)
                if "ack" in envelope:
                    fut = self.acks.get(envelope["ack"])
                    if fut and not fut.done():
                        fut.set_result(envelope)
                else:
                    self.events.append(envelope)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason
            self.closed.set()
            self._changed.set()
            for fut in self.acks.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(f"{self.name}: connection closed ({self.close_code})"))

    async def request(self, event: str, data: Any = None, timeout: float = RECV_TIMEOUT_S) -> Any:
        self._next += 1
        n = self._next
        fut = asyncio.get_running_loop().create_future()
        self.acks[n] = fut
        envelope: dict[str, Any] = {"event": event, "id": n}
        if data is not None:
            envelope["data"] = data
        await self.ws.send(json.dumps(envelope))
        try:
            reply = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name}: no ack to {event} {data!r} within {timeout} s") from None
        finally:
            self.acks.pop(n, None)
        assert "error" not in reply, f"{self.name}: {event} failed: {reply}"
        return reply.get("data")

    def msgs(self) -> list[dict]:
        """The data of every "msg" event received so far."""
        return [e["data"] for e in self.events if e.get("event") == "msg"]

    def texts(self) -> list[str]:
        return [m["text"] for m in self.msgs()]

    async def wait_for(self, predicate: Callable[["Client"], bool], timeout: float = RECV_TIMEOUT_S,
                       what: str = "condition") -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"{self.name}: {what} not met within {timeout} s; events: {self.events[-20:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_text(self, text: str, timeout: float = RECV_TIMEOUT_S) -> None:
        await self.wait_for(lambda c: text in c.texts(), timeout, f"msg {text!r}")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 3)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


@contextlib.asynccontextmanager
async def connect(node: ClusterNode, name: str):
    ws = await asyncio.wait_for(ws_connect(node.url, open_timeout=5, close_timeout=3), 10)
    client = Client(ws, name)
    client.id = await client.request("whoami")
    try:
        yield client
    finally:
        await client.close()


async def open_clients(stack: contextlib.AsyncExitStack, node: ClusterNode, *names: str) -> list[Client]:
    return [await stack.enter_async_context(connect(node, name)) for name in names]


async def poll(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Calls (and awaits, if a coroutine) check() until it returns a truthy value; that value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")
        await asyncio.sleep(interval)
