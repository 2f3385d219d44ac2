"""The backend choice: "auto" takes io_uring unless NAVIOS_WS_BACKEND forces one (DESIGN §2),
and the forced backend really serves."""
import asyncio
import os
import select
import signal
import subprocess
import time

import pytest
import websockets

from conftest import READY_LINE, default_binary


def start_auto(env_backend: str) -> tuple[subprocess.Popen, bytes]:
    env = dict(os.environ, NAVIOS_WS_BACKEND=env_backend)
    proc = subprocess.Popen([str(default_binary()), "--port", "0", "--backend", "auto"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    deadline, out = time.monotonic() + 15, b""
    while b"\n" not in out and time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 0.2)[0]:
            out += os.read(proc.stdout.fileno(), 4096)
    return proc, out


@pytest.mark.parametrize("forced, label", [("epoll", b"epoll"), ("io_uring", b"ioUring")])
def test_environment_variable_forces_the_backend_under_auto(forced, label):
    proc, out = start_auto(forced)
    try:
        m = READY_LINE.search(out)
        if m is None and forced == "io_uring":
            pytest.skip(f"io_uring cannot be set up here: {out!r}")
        assert m is not None, f"no ready line: {out!r}"
        assert m["backend"] == label
        async def echo():
            async with websockets.connect(f"ws://127.0.0.1:{int(m['port'])}/") as ws:
                await ws.send("forced")
                assert await asyncio.wait_for(ws.recv(), 5) == "forced"
        asyncio.run(echo())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
