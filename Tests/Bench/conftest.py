"""
conftest.py — what the harness self-tests (Tests/Bench) share: the navios-ws-bench binary,
the servers it is pointed at, and one way to run it.

    make test-bench-harness
    .venv/bin/python -m pytest Tests/Bench -q

The binary is NAVIOS_WS_BENCH (default build/navios-ws-bench; built with `make` when missing:
C only, seconds). The real servers are NAVIOS_WS_ECHO and NAVIOS_WS_GATEWAY_ECHO (default
.build/release/...); a test whose server binary is missing is skipped with the reason, never
passed. Servers run on an ephemeral port with one loop and are stopped with SIGTERM; the
misbehaving ones are Tests/Bench/misbehaving_server.py in this venv's Python.

Runs are kept short (about a second of load each): the tests check counts and verdicts, never
a speed.
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
READY_TIMEOUT_S = 15.0
READY_PORT = re.compile(rb"listening on (?:ws|http)://[^\s/:]+:(\d+)/")
EXIT_OK, EXIT_MISBEHAVED = 0, 3


def repo_path(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    path = Path(value) if value else REPO / default
    return path if path.is_absolute() else REPO / path


# ---- the binaries ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bench_binary() -> Path:
    path = repo_path("NAVIOS_WS_BENCH", "build/navios-ws-bench")
    if not path.exists() and "NAVIOS_WS_BENCH" not in os.environ:
        subprocess.run(["make", "-s", "build/navios-ws-bench"], cwd=REPO, check=True)
    if not path.exists():
        pytest.fail(f"{path} does not exist (make bench-harness builds it)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def histogram_test_binary() -> Path:
    path = REPO / "build/test_bench_histogram"
    subprocess.run(["make", "-s", "build/test_bench_histogram"], cwd=REPO, check=True)
    return path


# ---- servers --------------------------------------------------------------------------------------

class Server:
    """A server process started with a ready line that names its port."""

    def __init__(self, cmd: list[str], name: str):
        self.cmd = cmd
        self.name = name
        self.port = 0
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd=REPO)
        self._wait_ready()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr_text(self, limit: int = 4000) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-limit:]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        out = b""
        while b"\n" not in out:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{self.name}: no ready line (stdout {out!r})\nstderr:\n{self.stderr_text()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.2))
            if ready:
                out += os.read(self.proc.stdout.fileno(), 4096)
        m = READY_PORT.search(out)
        if not m:
            self.stop()
            raise RuntimeError(f"{self.name}: unexpected ready line {out!r}")
        self.port = int(m[1])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()


def _server_binary(variable: str, product: str) -> Path:
    path = repo_path(variable, f".build/release/{product}")
    if not path.exists():
        pytest.skip(f"{path} is missing (build it with `swift build -c release --product {product}`)")
    return path


def _serving(variable: str, product: str, *flags: str):
    """One of our servers, one loop, for a test: checked alive at its end, then stopped."""
    binary = _server_binary(variable, product)
    srv = Server([str(binary), "--port", "0", "--loops", "1", *flags], product)
    yield srv
    assert srv.alive(), f"{product} died during the test\n{srv.stderr_text()}"
    srv.stop()


@pytest.fixture
def echo_server():
    """navios-ws-echo, one io_uring loop."""
    yield from _serving("NAVIOS_WS_ECHO", "navios-ws-echo", "--host", "127.0.0.1")


@pytest.fixture
def gateway_server():
    """navios-ws-gateway-echo, one loop: join / publish / message events."""
    yield from _serving("NAVIOS_WS_GATEWAY_ECHO", "navios-ws-gateway-echo")


@pytest.fixture
def socketio_gateway_server():
    """navios-ws-gateway-echo --socketio on: the typed echo over Socket.IO too."""
    yield from _serving("NAVIOS_WS_GATEWAY_ECHO", "navios-ws-gateway-echo", "--socketio", "on")


@pytest.fixture
def socketio_contract_server():
    """navios-ws-socketio-server: the conformance contract (join, room-emit, an auth greeting)."""
    yield from _serving("NAVIOS_SOCKETIO_SERVER", "navios-ws-socketio-server", "--ping-interval", "200",
                        "--ping-timeout", "5000")


@pytest.fixture
def misbehaving_server():
    """Factory: misbehaving_server("--drop-every", "10") starts one; all are stopped after."""
    started: list[Server] = []

    def start(*mode: str) -> Server:
        cmd = [sys.executable, str(HERE / "misbehaving_server.py"), "--port", "0", *mode]
        srv = Server(cmd, "misbehaving_server.py " + " ".join(mode))
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def node_with_ws() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install -y nodejs node-ws)")
    check = subprocess.run([node, "-e", "try{require('ws')}catch(e){require('/usr/share/nodejs/ws')}"],
                           capture_output=True)
    if check.returncode != 0:
        pytest.skip("node's ws module is not installed (apt-get install -y node-ws)")
    return node


@pytest.fixture
def node_broadcast_server():
    """Benchmarks/peers/node-ws/broadcast.js, when node and its ws module are installed."""
    srv = Server([node_with_ws(), str(REPO / "Benchmarks/peers/node-ws/broadcast.js"), "--port", "0"],
                 "node broadcast.js")
    yield srv
    srv.stop()


@pytest.fixture
def node_echo_server():
    """Benchmarks/peers/node-ws/echo.js: a server we did not write, for the echo scenario."""
    srv = Server([node_with_ws(), str(REPO / "Benchmarks/peers/node-ws/echo.js"), "--port", "0"], "node echo.js")
    yield srv
    srv.stop()


# ---- running the harness ------------------------------------------------------------------------

class BenchRun:
    def __init__(self, proc: subprocess.CompletedProcess, elapsed: float):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        try:
            self.json = json.loads(proc.stdout)
        except json.JSONDecodeError:
            self.json = None

    @property
    def results(self) -> dict:
        return self.json["results"]

    @property
    def errors(self) -> dict:
        return self.json["errors"]

    def nonzero_errors(self) -> dict:
        return {k: v for k, v in self.errors.items() if v and k != "total"}

    def explain(self) -> str:
        return f"exit {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}"


# Short phases: enough load to see every count, little enough to run the suite in a minute.
SHORT = ("--warmup", "0.3", "--duration", "1", "--drain", "1", "--connect-timeout", "5")


@pytest.fixture
def run_bench(bench_binary):
    """run_bench("echo", "--port", 9001, ...) runs navios-ws-bench with --json and the short
    phases (later flags override them) and returns a BenchRun."""

    def run(*args, timeout: float = 60.0) -> BenchRun:
        cmd = [str(bench_binary), *(str(a) for a in args[:1]), *SHORT, "--json", *(str(a) for a in args[1:])]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        result = BenchRun(proc, time.monotonic() - t0)
        if proc.returncode == 1 and "io_uring" in proc.stderr:
            pytest.skip(f"io_uring is not usable here: {proc.stderr.strip()}")
        assert result.json is not None, f"no JSON from {cmd}\n{result.explain()}"
        return result

    return run
