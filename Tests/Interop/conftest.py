"""
conftest.py — the echo server under test, and the helpers the interop and adversarial suites share.

Each test gets its own server: the binary named by NAVIOS_WS_ECHO (default
.build/release/navios-ws-echo when it exists, else .build/debug/navios-ws-echo), started on an
ephemeral port with the test's extra flags, stopped with SIGTERM afterwards. Tests run once
per I/O backend (epoll, io_uring); NAVIOS_WS_BACKENDS=epoll (comma-separated) or
--backend epoll restricts them. A backend the machine cannot set up is skipped with its
reason, never counted as a pass.

    cd /work/main && .venv/bin/python -m pytest Tests/Interop -q
    NAVIOS_WS_ECHO=build/asan/echo_server NAVIOS_WS_BACKENDS=io_uring .venv/bin/python -m pytest Tests/Interop -q

Per-test flags:   @pytest.mark.server_args("--max-message", "1024")
Shared helpers:   assert_still_serving(server)  — a fresh client connects and gets an echo; every
                                                  limit and protocol-error test ends with it
                  RawWebSocket                  — a hand-rolled client over a plain socket, for
                                                  frames no library would send
                  http_exchange(server, bytes)  — one raw HTTP request, the whole answer, and
                                                  how the server ended the connection
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import websockets.sync.client

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ("epoll", "io_uring")
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
READY_LINE = re.compile(rb"listening on ws://(?P<host>[^\s/]+):(?P<port>\d+)/ \((?P<backend>\w+), (?P<loops>\d+) loops\)")
# The ready line names the backend as the Swift enum prints it.
BACKEND_LABEL = {"epoll": "epoll", "io_uring": "ioUring"}

# RFC 6455 §7.4.1 close codes the suites expect from the server.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _raise_fd_limit() -> None:
    # 1,000 concurrent clients need 1,000 descriptors here and as many in the server, which
    # inherits this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


_raise_fd_limit()


def binary_from_env(variable: str, product: str) -> Path:
    """The binary named by an environment variable, else the release build, else debug."""
    env = os.environ.get(variable)
    if env:
        path = Path(env)
        # Relative to the working directory, or to the repository (the Makefile's paths).
        return path if path.is_absolute() or path.exists() else REPO / path
    release = REPO / ".build/release" / product
    return release if release.exists() else REPO / ".build/debug" / product


def default_binary() -> Path:
    return binary_from_env("NAVIOS_WS_ECHO", "navios-ws-echo")


# ---- pytest wiring ---------------------------------------------------------------------------

def pytest_addoption(parser):
    parser.addoption(
        "--backend", action="append", choices=BACKENDS, default=None,
        help="run the interop suites on this backend only (repeatable; default: "
             "NAVIOS_WS_BACKENDS or both)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "server_args(*flags): extra command-line flags for this test's echo server")


def selected_backends(config) -> list[str]:
    chosen = config.getoption("--backend")
    if not chosen:
        env = os.environ.get("NAVIOS_WS_BACKENDS", "")
        chosen = [b.strip() for b in env.split(",") if b.strip()] or list(BACKENDS)
    unknown = [b for b in chosen if b not in BACKENDS]
    if unknown:
        raise pytest.UsageError(f"unknown backend(s) {unknown}; expected some of {BACKENDS}")
    return list(dict.fromkeys(chosen))


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", selected_backends(metafunc.config), scope="function")


# Why each backend was skipped, printed once at the end: a skip must be seen, not just counted.
_skip_reasons: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter):
    for backend, reason in _skip_reasons.items():
        terminalreporter.write_line(f"NaviosWS interop: {backend} tests skipped: {reason}", yellow=True)


# ---- the server ------------------------------------------------------------------------------

class ServerStartError(Exception):
    pass


def read_ready_line(server, cmd, pattern, deadline: float):
    """Reads the server's first stdout line (its ready line) before the deadline; returns it and
    its match with `pattern`. `server` has proc, kill() and stderr_text()."""
    out = b""
    while b"\n" not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            server.kill()
            raise ServerStartError(f"no ready line within {READY_TIMEOUT_S} s from {cmd}\n"
                                   f"stdout: {out!r}\nstderr:\n{server.stderr_text()}")
        ready, _, _ = select.select([server.proc.stdout], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(server.proc.stdout.fileno(), 4096)
            if chunk:
                out += chunk
                continue
        if server.proc.poll() is not None:
            server.proc.wait()
            raise ServerStartError(f"{cmd} exited with status {server.proc.returncode} before it was "
                                   f"ready\nstdout: {out!r}\nstderr:\n{server.stderr_text()}")
    m = pattern.search(out)
    if not m:
        server.kill()
        raise ServerStartError(f"unexpected ready line {out!r} from {cmd}")
    return out, m


class EchoServer:
    """One running echo server: where it listens, its process, and what it said on stderr."""

    def __init__(self, binary: Path, backend: str, args: tuple[str, ...]):
        self.binary = binary
        self.backend = backend
        self.args = args
        self.host = "127.0.0.1"
        self.port = 0
        self.loops = 0
        self.proc: subprocess.Popen | None = None
        self._stderr = tempfile.TemporaryFile()
        self.stopped = False
        self.sigterm_sent = False
        self.returncode: int | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def start(self) -> None:
        cmd = [str(self.binary), "--host", self.host, "--port", "0", "--backend", self.backend, *self.args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr)
        deadline = time.monotonic() + READY_TIMEOUT_S
        out, m = read_ready_line(self, cmd, READY_LINE, deadline)
        self.port = int(m["port"])
        self.loops = int(m["loops"])
        label = m["backend"].decode()
        if label != BACKEND_LABEL[self.backend]:
            self.kill()
            raise ServerStartError(f"asked for {self.backend}, the server runs {label}: {out!r}")
        # Both binaries print the ready line before they handle SIGTERM (navios-ws-echo installs
        # its handlers when the ServiceGroup starts, tens of ms later under load): a SIGTERM in
        # that window kills the process outright. Wait until SIGTERM is caught or ignored.
        while not self.handles_sigterm():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise ServerStartError(f"the server never installed a SIGTERM handler\n{self.stderr_text()}")
            time.sleep(0.001)

    def handles_sigterm(self) -> bool:
        bit = 1 << (signal.SIGTERM - 1)
        try:
            with open(f"/proc/{self.pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            return False
        return bool((int(fields["SigCgt"], 16) | int(fields["SigIgn"], 16)) & bit)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self, limit: int = 8000) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        return text if len(text) <= limit else "...\n" + text[-limit:]

    def rss_bytes(self) -> int:
        """Resident set size of the server process, from /proc/PID/status."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def is_asan(self) -> bool:
        """True when the server runs under AddressSanitizer (freed memory sits in its quarantine)."""
        try:
            with open(f"/proc/{self.pid}/maps") as f:
                return any("libasan" in line for line in f)
        except OSError:
            return False

    def send_sigterm(self) -> None:
        """Starts a graceful shutdown; terminate() then waits for the exit."""
        self.sigterm_sent = True
        self.proc.send_signal(signal.SIGTERM)

    def terminate(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (unless sent already), then wait for the exit; kills and fails when the
        server does not stop in time."""
        if self.stopped:
            return self.returncode
        self.stopped = True
        if not self.sigterm_sent:
            self.send_sigterm()
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"server did not exit within {timeout} s of SIGTERM\nstderr:\n{self.stderr_text()}")
        finally:
            self.proc.stdout.close()
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped = True
        self.returncode = self.proc.returncode if self.proc else None


class AppServer(EchoServer):
    """An application binary (not the echo server) that names its address in its ready line:
    started with `launch` (its own flags for an ephemeral port) and the test's flags; the echo
    server's process handling otherwise."""

    def __init__(self, binary: Path, args: tuple[str, ...], ready_line: re.Pattern, launch: tuple[str, ...]):
        super().__init__(binary, "auto", args)
        self.ready_line = ready_line
        self.launch = launch

    def ws_url(self, path: str) -> str:
        return f"ws://{self.host}:{self.port}{path}"

    def printed_line(self, containing: str, timeout: float = 5.0) -> str:
        """The first line of the server's stdout that contains `containing` (reading on past the
        ready line as needed)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.printed.decode(errors="replace").splitlines():
                if containing in line:
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {containing!r} on stdout: {self.printed!r}")
            if select.select([self.proc.stdout], [], [], min(left, 0.2))[0]:
                self.printed += os.read(self.proc.stdout.fileno(), 4096)

    def start(self) -> None:
        cmd = [str(self.binary), *self.launch, *self.args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr)
        deadline = time.monotonic() + READY_TIMEOUT_S
        out, m = read_ready_line(self, cmd, self.ready_line, deadline)
        self.printed = out   # the ready line, and what came with it (printed_line reads on)
        self.host = m["host"].decode()
        self.port = int(m["port"])
        assert self.port != 0, f"the ready line names port 0: {out!r}"
        # The ready line is printed once signals are handled; check anyway, a SIGTERM that
        # kills the process outright would fail the exit-status check for the wrong reason.
        while not self.handles_sigterm():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise ServerStartError(f"the server never installed a SIGTERM handler\n{self.stderr_text()}")
            time.sleep(0.001)


def run_async_test(pyfuncitem, default_deadline: float):
    """For a `pytest_pyfunc_call` hook: runs an `async def` test in a fresh event loop, bounded
    by its `deadline` marker (seconds) or `default_deadline`; None for a plain test."""
    import asyncio
    import contextlib
    import inspect

    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    marker = pyfuncitem.get_closest_marker("deadline")
    limit = float(marker.args[0]) if marker else default_deadline

    async def bounded():
        task = asyncio.ensure_future(func(**kwargs))
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            pytest.fail(f"test did not finish within its deadline of {limit:g} s", pytrace=False)
        task.result()   # the test's own failure, with its traceback

    asyncio.run(bounded())
    return True


def _is_uring_unavailable(err: ServerStartError) -> bool:
    text = str(err)
    return "NWS_EURING" in text or "io_uring is unavailable" in text


def marker_args(request, name: str = "server_args") -> tuple[str, ...]:
    """A test's extra server flags, from its markers called `name` (the closest last, so it wins)."""
    args: list[str] = []
    for marker in request.node.iter_markers(name):
        args[:0] = [str(a) for a in marker.args]
    return tuple(args)


@pytest.fixture
def server(request, backend):
    """A fresh echo server for this test, on `backend`, with the test's server_args."""
    if backend in _skip_reasons:
        pytest.skip(_skip_reasons[backend])
    binary = default_binary()
    if not binary.exists():
        pytest.fail(f"echo server binary {binary} does not exist (set NAVIOS_WS_ECHO)")
    srv = EchoServer(binary, backend, marker_args(request))
    try:
        srv.start()
    except ServerStartError as err:
        if backend == "io_uring" and _is_uring_unavailable(err):
            reason = f"io_uring cannot be set up on this machine ({binary.name} refused to start: " \
                     f"{srv.stderr_text(400).strip()})"
            _skip_reasons[backend] = reason
            pytest.skip(reason)
        pytest.fail(str(err), pytrace=False)
    yield srv
    finish_server(srv)


@pytest.fixture
def server_factory(backend):
    """Starts echo servers on `backend` with the flags given, as many as a test needs; each is
    checked and stopped as `server` is."""
    started: list[EchoServer] = []

    def start(*args: str) -> EchoServer:
        if backend in _skip_reasons:
            pytest.skip(_skip_reasons[backend])
        srv = EchoServer(default_binary(), backend, tuple(args))
        try:
            srv.start()
        except ServerStartError as err:
            if backend == "io_uring" and _is_uring_unavailable(err):
                _skip_reasons[backend] = f"io_uring cannot be set up on this machine ({srv.stderr_text(400).strip()})"
                pytest.skip(_skip_reasons[backend])
            pytest.fail(str(err), pytrace=False)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        finish_server(srv)


def finish_server(srv) -> None:
    """After a test: the server must still be alive (unless the test stopped it) and must
    exit with status 0 on SIGTERM, the graceful shutdown."""
    if srv.stopped:
        return
    if not srv.alive() and not srv.sigterm_sent:
        pytest.fail(f"the server died during the test (status {srv.proc.returncode})\n"
                    f"stderr:\n{srv.stderr_text()}", pytrace=False)
    rc = srv.terminate()
    if rc != 0:
        pytest.fail(f"the server exited with status {rc} after SIGTERM\nstderr:\n{srv.stderr_text()}",
                    pytrace=False)


# ---- the shared check: is the server still serving? -----------------------------------------

def assert_still_serving(server: EchoServer, timeout: float = 5.0) -> None:
    """A fresh client connects with the websockets library and gets its messages echoed."""
    assert server.alive(), f"server is gone (status {server.proc.returncode})\nstderr:\n{server.stderr_text()}"
    text = f"still serving {os.urandom(4).hex()} é€😀"
    data = os.urandom(300)
    with websockets.sync.client.connect(server.url, open_timeout=timeout, close_timeout=timeout,
                                        max_size=None, compression=None) as ws:
        ws.send(text)
        assert ws.recv(timeout=timeout) == text
        ws.send(data)
        assert ws.recv(timeout=timeout) == data


# ---- raw frames ------------------------------------------------------------------------------

def mask_payload(data: bytes, key: bytes) -> bytes:
    """RFC 6455 §5.3 masking, XORed as one big integer (fast enough for megabytes)."""
    n = len(data)
    if n == 0:
        return b""
    keystream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")


def build_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0, mask: bool = True,
                length_bytes: int | None = None) -> bytes:
    """One client frame. rsv is the 3 RSV bits (0b100 = RSV1). length_bytes forces the length
    encoding (0, 2 or 8 extended bytes) to build non-minimal lengths on purpose."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    if length_bytes is None:
        length_bytes = 0 if n < 126 else 2 if n <= 0xFFFF else 8
    mbit = 0x80 if mask else 0
    if length_bytes == 0:
        head = bytes([b0, mbit | n])
    elif length_bytes == 2:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + mask_payload(payload, key)


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason


@dataclasses.dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        assert self.opcode == OP_CLOSE
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> str:
        assert self.opcode == OP_CLOSE
        return self.payload[2:].decode("utf-8")   # §5.5.1: the reason must be UTF-8


def parse_server_frame(buf: bytes | bytearray, rsv_allowed: int = 0) -> tuple[Frame, int] | None:
    """The first whole frame in buf and its length, or None when more bytes are needed.
    Checks what a server frame must be (§5.1: never masked; §5.2: no RSV bits but those of a
    negotiated extension, `rsv_allowed`)."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    assert not b1 & 0x80, "server frame is masked (RFC 6455 §5.1 forbids it)"
    n = b1 & 0x7F
    at = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack("!H", bytes(buf[2:4]))[0]
        at = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack("!Q", bytes(buf[2:10]))[0]
        at = 10
    if len(buf) < at + n:
        return None
    frame = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, bytes(buf[at:at + n]))
    assert frame.rsv & ~rsv_allowed == 0, f"server frame has RSV bits {frame.rsv:03b}"
    return frame, at + n


class ConnectionEnded(Exception):
    """The server ended the TCP connection; .how is "eof" (FIN) or "reset" (RST)."""

    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


def _connect_socket(server: EchoServer, timeout: float, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # Before connect, so the window announced in the handshake is already small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(timeout)
    sock.connect(server.address)
    return sock


def upgrade_request(server: EchoServer, key: str, path: str = "/", extra_headers: tuple[str, ...] = ()) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {server.host}:{server.port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def expected_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


class RawWebSocket:
    """A WebSocket client on a plain socket: sends whatever frame it is told, checks what comes back."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"", headers: dict[str, str] | None = None):
        self.sock = sock
        self.buf = bytearray(buffered)
        self.headers = headers or {}
        self.last_rsv = 0   # of the last message's first frame
        # RSV1 is permessage-deflate's once the answer names it (RFC 7692 §6).
        self.rsv_allowed = 0b100 if "permessage-deflate" in self.headers.get("sec-websocket-extensions", "") else 0

    @classmethod
    def connect(cls, server: EchoServer, *, path: str = "/", timeout: float = 5.0, rcvbuf: int | None = None,
                pipelined: bytes = b"", extra_headers: tuple[str, ...] = ()) -> "RawWebSocket":
        """Opens a connection and completes the RFC 6455 §4 handshake; `pipelined` bytes (frames)
        go out in the same send() as the request."""
        sock = _connect_socket(server, timeout, rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(upgrade_request(server, key, path, extra_headers) + pipelined)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection ended during the handshake; got {head!r}")
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101 "), f"upgrade refused: {head!r}"
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        assert headers.get("sec-websocket-accept") == expected_accept(key), head
        assert headers.get("upgrade", "").lower() == "websocket", head
        return cls(sock, rest, headers)

    def close_socket(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_socket()

    # -- sending

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_frame(self, opcode: int, payload: bytes = b"", **kw) -> None:
        self.sock.sendall(build_frame(opcode, payload, **kw))

    def send_close(self, code: int | None = CLOSE_NORMAL, reason: bytes = b"") -> None:
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    # -- receiving

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no frame from the server in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 16)
        except ConnectionResetError:
            raise ConnectionEnded("reset")
        except socket.timeout:
            raise TimeoutError("no frame from the server in time")
        if not chunk:
            raise ConnectionEnded("eof")
        self.buf += chunk

    def recv_frame(self, timeout: float = 5.0) -> Frame:
        """The next frame; raises ConnectionEnded when the server ends TCP first."""
        deadline = time.monotonic() + timeout
        while True:
            parsed = parse_server_frame(self.buf, self.rsv_allowed)
            if parsed:
                frame, n = parsed
                del self.buf[:n]
                return frame
            self._fill(deadline)

    def recv_message(self, timeout: float = 5.0, *, answer_pings: bool = True) -> tuple[int, bytes]:
        """The next whole data message as (opcode, payload), answering pings on the way."""
        deadline = time.monotonic() + timeout
        opcode, parts = None, []
        while True:
            frame = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if opcode is None and frame.opcode in (OP_TEXT, OP_BINARY):
                self.last_rsv = frame.rsv
            if frame.opcode == OP_PING:
                if answer_pings:
                    self.send_frame(OP_PONG, frame.payload)
                continue
            if frame.opcode == OP_PONG:
                continue
            assert frame.opcode != OP_CLOSE, f"server closed with {frame.close_code} {frame.payload[2:]!r}"
            if opcode is None:
                assert frame.opcode in (OP_TEXT, OP_BINARY), f"first frame has opcode {frame.opcode}"
                opcode = frame.opcode
            else:
                assert frame.opcode == OP_CONTINUATION
            parts.append(frame.payload)
            if frame.fin:
                return opcode, b"".join(parts)

    def recv_message_inflated(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """The next whole data message, inflated when it came compressed (RFC 7692 §7.2.2), with
        one decompressor for the connection when the server keeps its context."""
        import zlib
        opcode, payload = self.recv_message(timeout)
        if not self.last_rsv & 0b100:
            return opcode, payload
        keeps_context = "server_no_context_takeover" not in self.headers.get("sec-websocket-extensions", "")
        if not keeps_context or getattr(self, "_inflater", None) is None:
            self._inflater = zlib.decompressobj(-15)
        return opcode, self._inflater.decompress(payload + b"\x00\x00\xff\xff")

    def wait_end(self, timeout: float = 5.0) -> str:
        """Reads until the server ends TCP; fails when data arrives instead. "eof" or "reset"."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._fill(deadline)
            except ConnectionEnded as end:
                assert not self.buf, f"bytes after the close frame: {bytes(self.buf[:64])!r}"
                return end.how
            except TimeoutError:
                raise AssertionError(f"the server did not end the TCP connection within {timeout} s")
            assert not self.buf, f"bytes after the close frame: {bytes(self.buf[:64])!r}"

    def expect_close(self, code: int, timeout: float = 5.0, *, skip_data: bool = False) -> Frame:
        """The server's close frame must carry `code`, and the server must then end the TCP
        connection with a FIN (RFC 6455 §7.1.1: the server closes TCP first). Data frames before
        the close fail the test unless skip_data."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                frame = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except ConnectionEnded as end:
                raise AssertionError(f"TCP ended ({end.how}) with no close frame; expected close {code}")
            except TimeoutError:
                raise AssertionError(f"no close frame within {timeout} s; expected close {code}")
            if frame.opcode == OP_CLOSE:
                break
            assert skip_data or frame.opcode in (OP_PING, OP_PONG), \
                f"expected close {code}, got opcode {frame.opcode} ({frame.payload[:40]!r})"
        assert frame.close_code == code, \
            f"expected close {code}, got {frame.close_code} (reason {frame.payload[2:]!r})"
        frame.close_reason   # must decode as UTF-8
        how = self.wait_end(max(0.5, deadline - time.monotonic()))
        assert how == "eof", "the server reset the connection after its close frame instead of a FIN"
        return frame

    def echo(self, opcode: int, payload: bytes, timeout: float = 5.0) -> None:
        """Sends one message and checks it comes back unchanged."""
        self.send_frame(opcode, payload)
        got_op, got = self.recv_message(timeout)
        assert (got_op, got) == (opcode, payload), f"echo differs: opcode {got_op}, {len(got)} bytes"


# ---- raw HTTP --------------------------------------------------------------------------------

@dataclasses.dataclass
class HttpAnswer:
    status: int
    reason: str
    headers: dict[str, str]   # lower-case names; repeated fields joined with ", "
    body: bytes
    raw: bytes
    ended: str                # "eof", "reset" or "open" (the server left it open past the timeout)


def read_http_answer(sock: socket.socket, timeout: float = 5.0) -> HttpAnswer:
    """Reads one HTTP answer and then on until the server ends the connection."""
    deadline = time.monotonic() + timeout
    data = b""
    ended = "open"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            ended = "reset"
            break
        except socket.timeout:
            break
        if not chunk:
            ended = "eof"
            break
        data += chunk
    assert b"\r\n\r\n" in data, f"no complete HTTP answer (connection {ended}): {data[:200]!r}"
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) (.*)$", lines[0])
    assert m, f"bad status line {lines[0]!r}"
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        name = name.strip().lower()
        headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    return HttpAnswer(int(m[1]), m[2], headers, body, data, ended)


def http_exchange(server: EchoServer, request: bytes, timeout: float = 5.0) -> HttpAnswer:
    """Sends one raw request in one send() and returns the whole answer."""
    with _connect_socket(server, timeout) as sock:
        sock.sendall(request)
        return read_http_answer(sock, timeout)


def assert_complete_http_error(answer: HttpAnswer, status: int) -> None:
    """An HTTP error answer must be whole (Content-Length matches the body) and followed by the
    server closing the connection with a FIN (Connection: close, RFC 9112 §9.6)."""
    assert answer.status == status, f"expected {status}, got {answer.status} {answer.reason}: {answer.raw[:300]!r}"
    assert "content-length" in answer.headers, answer.raw
    assert int(answer.headers["content-length"]) == len(answer.body), \
        f"Content-Length {answer.headers['content-length']} but {len(answer.body)} body bytes: {answer.raw!r}"
    assert "close" in answer.headers.get("connection", "").lower(), answer.raw
    assert answer.ended == "eof", f"after the answer the connection was {answer.ended}, expected a FIN"
