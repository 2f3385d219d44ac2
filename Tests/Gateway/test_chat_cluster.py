"""
The chat example as two instances behind one real redis-server (what `make run-cluster`
starts): a message sent to one instance is seen by clients of the other, and typing still
excludes its sender across instances.
"""
from __future__ import annotations

import contextlib
import socket
import subprocess
import time

import pytest

from .conftest import ChatServer, default_binary, join, open_client, say, with_text
from .conftest import interop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_port():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.02)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def two_instances(redis_port):
    servers = [ChatServer(default_binary(), ("--redis", f"127.0.0.1:{redis_port}")) for _ in range(2)]
    for server in servers:
        try:
            server.start()
        except interop.ServerStartError as err:
            pytest.fail(str(err), pytrace=False)
    yield servers
    for server in servers:
        interop.finish_server(server)


async def until_linked(sender, receiver, room: str) -> None:
    """Probes until a message from one instance shows on the other: the instances' Redis links
    come up in the background after they start listening (bounded: 10 s)."""
    deadline = time.monotonic() + 10
    n = 0
    while True:
        n += 1
        await say(sender, room, f"probe {n}")
        try:
            await receiver.recv_event("chat:message", timeout=0.3, where=with_text(f"probe {n}"))
            return
        except AssertionError:
            assert time.monotonic() < deadline, "no message crossed between the instances in 10 s"


async def test_a_message_sent_to_one_instance_reaches_clients_of_the_other(two_instances):
    first, second = two_instances
    async with contextlib.AsyncExitStack() as stack:
        alice = await stack.enter_async_context(open_client(first, token="alice-token"))
        bob = await stack.enter_async_context(open_client(second, token="bob-token"))
        carol = await stack.enter_async_context(open_client(second, token="carol-token"))   # not in the room
        await join(alice, "general")
        await join(bob, "general")
        await join(carol, "elsewhere")
        await until_linked(alice, bob, "general")
        await say(alice, "general", "hello from the first instance")
        got = await bob.recv_event("chat:message", where=with_text("hello from the first instance"))
        assert got["data"]["userId"] == "alice" and got["data"]["roomId"] == "general"
        await say(bob, "general", "and back")
        await alice.recv_event("chat:message", where=with_text("and back"))
        # carol's marker leaves alice's instance after the general messages, on the same link.
        await join(alice, "elsewhere")
        await say(alice, "elsewhere", "marker")
        await carol.recv_event("chat:message", where=with_text("marker"))
        assert carol.received("chat:message", lambda d: d.get("roomId") == "general") == [], carol.history


async def test_typing_reaches_the_other_instance_and_not_its_sender(two_instances):
    first, second = two_instances
    async with open_client(first, token="alice-token") as alice, open_client(second, token="bob-token") as bob:
        await join(alice, "general")
        await join(bob, "general")
        await until_linked(alice, bob, "general")
        await alice.emit("chat:typing", {"roomId": "general"})
        typing = await bob.recv_event("chat:typing")
        assert typing["data"]["roomId"] == "general"
        # bob's marker reaches alice through her instance's link, behind the echo of her typing
        # notice (Redis sent it along with bob's copy, before bob's marker was published), and
        # after her instance's local fan-out of it.
        await say(bob, "general", "marker")
        await alice.recv_event("chat:message", where=with_text("marker"))
        assert alice.received("chat:typing") == [], alice.history
