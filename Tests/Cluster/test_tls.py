"""RedisWsAdapter over TLS: two instances reach a redis-server that only speaks TLS, with its
certificate checked against a CA file; an instance given the wrong CA never links up and still
serves its own clients."""
from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ClusterNode, free_port, open_clients, terminate

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command to make a certificate")


def make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def tls_ready(port: int, ca: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def tls_redis():
    """A redis-server with TLS only (no plain port); yields (port, its CA file, a wrong CA file)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        cert, key = make_certificate(directory, "server")
        wrong, _ = make_certificate(directory, "other")
        port = free_port()
        proc = subprocess.Popen(["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                                 "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
                                 "--tls-auth-clients", "no", "--save", "", "--appendonly", "no"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not tls_ready(port, cert):
                assert proc.poll() is None and time.monotonic() < deadline, "redis-server with TLS did not start"
                time.sleep(0.05)
            yield port, cert, wrong
        finally:
            terminate(proc)


@pytest.fixture
def tls_nodes():
    started: list[ClusterNode] = []

    def start(name: str, port: int, ca: Path) -> ClusterNode:
        node = ClusterNode(name, f"127.0.0.1:{port}", extra=("--redis-tls", str(ca)))
        started.append(node)
        node.start()
        return node

    yield start
    statuses = {node.name: node.stop() for node in started}
    assert all(status == 0 for status in statuses.values()), statuses


async def test_instances_share_rooms_through_a_tls_only_redis_and_a_wrong_ca_never_links(tls_redis, tls_nodes):
    port, ca, wrong_ca = tls_redis
    a, b = tls_nodes("a", port, ca), tls_nodes("b", port, ca)
    stranger = tls_nodes("stranger", port, wrong_ca)
    async with contextlib.AsyncExitStack() as stack:
        on_a, on_b, s1, s2 = (await open_clients(stack, a, "on-a") + await open_clients(stack, b, "on-b")
                              + await open_clients(stack, stranger, "s1", "s2"))
        for client in (on_a, on_b, s1, s2):
            assert await client.request("join", "r") is True
        for client in (on_a, on_b):
            await poll_async(lambda c=client: c.request("stats"), lambda st: st["linkUp"], 10, f"{client.name} linked")
        # Subscriptions in place once a probe crosses; then the message under test.
        n = 0

        async def crossed() -> bool:
            nonlocal n
            n += 1
            await on_a.request("send", {"rooms": ["r"], "text": f"probe {n}"})
            try:
                await on_b.wait_text(f"probe {n}", timeout=0.3)
                return True
            except AssertionError:
                return False

        await poll_async(crossed, bool, 10, "a message from a to b through TLS Redis")
        assert await on_b.request("send", {"rooms": ["r"], "text": "over tls"}) is True
        await on_a.wait_text("over tls")
        # The stranger's link is refused by certificate verification; its clients are served.
        stats = await s1.request("stats")
        assert stats["linkUp"] is False and stats["reconnects"] == 0
        assert await s1.request("send", {"rooms": ["r"], "text": "local only"}) is True
        await s2.wait_text("local only")
        assert "over tls" not in s2.texts() and "local only" not in on_a.texts()
        assert "certificate" in stranger.stderr_text(), stranger.stderr_text()   # the log says why


async def poll_async(produce, accept, timeout: float, what: str):
    """Awaits produce() until accept(value) holds (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await produce()
        if accept(value):
            return value
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.05)
