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

import importlib.util
import re
import sys
from pathlib import Path

import pytest


def _load_interop_conftest():
    """Tests/Interop/conftest.py as a plain module (its process handling is reused)."""
    path = Path(__file__).resolve().parents[1] / "Interop" / "conftest.py"
    spec = importlib.util.spec_from_file_location("navios_interop_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


interop = _load_interop_conftest()

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
    interop.finish_server(srv)


@pytest.fixture(params=list(TRANSPORTS))
def transports(request) -> list[str]:
    """Each python-socketio transport setting: WebSocket only, long-polling only, and
    long-polling that upgrades to WebSocket."""
    return TRANSPORTS[request.param]
