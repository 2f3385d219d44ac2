"""RedisWsAdapter's options reach Redis (password, db), and `volatile` holds on the receiving
instance: a volatile broadcast is dropped for a client over its backpressure limit there, where
the same broadcast without volatile closes that client with 1008."""
from __future__ import annotations

import contextlib

from conftest import open_clients, poll
from test_cluster import wait_subscribers
from test_raw_client import RawClient

PASSWORD = "s3cret-pass"


async def linked(client) -> bool:
    return (await client.request("stats"))["linkUp"]


async def test_password_and_db_reach_redis_and_wrong_ones_never_link(redis, cluster):
    redis.cli("CONFIG", "SET", "requirepass", PASSWORD)
    a, b = cluster(2, extra=("--redis-password", PASSWORD, "--redis-db", "1"))
    wrong_password, = cluster(1, names=["wrong-password"], extra=("--redis-password", "nope"))
    bad_db, = cluster(1, names=["bad-db"], extra=("--redis-password", PASSWORD, "--redis-db", "999"))
    async with contextlib.AsyncExitStack() as stack:
        on_a, on_b = await open_clients(stack, a, "on-a") + await open_clients(stack, b, "on-b")
        await poll(lambda: linked(on_a), 10, "a linked with the password")
        await poll(lambda: linked(on_b), 10, "b linked with the password")
        for client in (on_a, on_b):
            assert await client.request("join", "r") is True
        n = 0

        async def crossed() -> bool:
            nonlocal n
            n += 1
            await on_a.request("send", {"rooms": ["r"], "text": f"probe {n}"})
            with contextlib.suppress(AssertionError):
                await on_b.wait_text(f"probe {n}", timeout=0.3)
                return True
            return False

        await poll(crossed, 10, "a message from a to b through the password-protected Redis")
        for node, why in ((wrong_password, "WRONGPASS"), (bad_db, "DB index is out of range")):
            probe, = await open_clients(stack, node, f"{node.name}-client")
            stats = await probe.request("stats")
            assert stats["linkUp"] is False, node.name
            await poll(lambda node=node, why=why: why in node.stderr_text(), 5, f"{node.name}: the log names {why!r}")


def loop_of(client_id: str) -> int:
    """The index of the loop thread that owns a client's connection: a client id is the node's
    name, "-", then the connection id in hex, whose top byte is that index (WsConnectionID)."""
    return int(client_id.rsplit("-", 1)[1], 16) >> 56


async def flood(sender, room: str, volatile: bool, count: int = 150, size: int = 100_000) -> None:
    text = "x" * size
    for _ in range(count):
        assert await sender.request("send", {"rooms": [room], "text": text, "volatile": volatile}) is True


async def test_volatile_broadcasts_are_dropped_for_a_slow_remote_client_instead_of_closing_it(redis, cluster):
    a, = cluster(1)
    b, = cluster(1, extra=("--max-backlog", "65536"))
    async with contextlib.AsyncExitStack() as stack:
        sender, = await open_clients(stack, a, "sender")
        slow_loops = []
        for room in ("slow-1", "slow-2"):
            raw = await RawClient.open(b.port)   # joins, then never reads again
            stack.push_async_callback(raw.close)
            slow_loops.append(loop_of(await raw.request("whoami")))
            await raw.request("join", room)
        # The watcher's marker is the sentinel for the second slow client, so it must share that
        # client's loop thread: a loop runs the fan-outs node b posts to it in the order b read
        # the broadcasts, and a close by the backpressure policy happens inside the fan-out that
        # overflows (it leaves the count at once). The kernel spreads connections over the loops'
        # listeners (SO_REUSEPORT): connect until one lands there.
        for attempt in range(32):
            watcher, = await open_clients(stack, b, f"watcher-{attempt}")
            if loop_of(watcher.id) == slow_loops[1]:
                break
        else:
            raise AssertionError(f"32 connections to node b, none on loop {slow_loops[1]}")
        assert await watcher.request("join", "marker") is True
        for room in ("slow-1", "slow-2", "marker"):
            await wait_subscribers(redis, room, 1)

        async def members(room: str) -> int:
            return await watcher.request("count", {"rooms": [room]})

        # The flood without volatile overflows the first slow client: closed (1008), so gone.
        await flood(sender, "slow-1", volatile=False)
        await poll(lambda: _is(members("slow-1"), 0), 15,
                   "the first slow client closed by the backpressure policy")
        # The same flood, volatile, to the second: dropped for it, the client stays.
        await flood(sender, "slow-2", volatile=True)
        assert await sender.request("send", {"rooms": ["marker"], "text": "after the flood"}) is True
        await watcher.wait_text("after the flood")
        assert await members("slow-2") == 1
        # Without volatile, the next one over the limit closes it after all.
        await flood(sender, "slow-2", volatile=False, count=20)
        await poll(lambda: _is(members("slow-2"), 0), 15, "the second slow client closed once a non-volatile came")


async def _is(pending, expected) -> bool:
    return await pending == expected
