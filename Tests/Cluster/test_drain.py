"""A rolling deploy without message loss: two navios-ws-cluster-node instances behind a real
redis-server, 1,000 clients in one room, a broadcast every 10 ms through the instance that
stays, and the other one stopped with SIGTERM (its drain window: readiness off, 503 to new
upgrades, a jittered reconnect hint to each client, 1001 at the end).

The clients are a minimal RFC 6455 client on asyncio's Protocol (the `websockets` library
costs too much CPU per message for 100,000 deliveries a second on two cores). Half of the
stopped instance's clients follow the hint (make before break: the next connection is open and
in the room, and its messages overlap the old one's, before the old one closes); the other half ignore it, as a stock client would, and
reconnect only after the server's 1001, trying their old instance first (503) and then the
other. Every broadcast is numbered; each client's missing numbers are counted.

    NAVIOS_CLUSTER_NODE=.build/release/navios-ws-cluster-node \\
        .venv/bin/python -m pytest Tests/Cluster/test_drain.py -q -s -p no:cacheprovider
"""
from __future__ import annotations

import asyncio
import signal
import time

import pytest

from conftest import poll
from light_client import LightClient, Refused, http_get
from test_cluster import wait_subscribers

CLIENTS = 1_000
DRAIN_WINDOW_MS = 4_000
PERIOD_S = 0.010


class Subscriber:
    """One user of the room across reconnections: every connection's numbers land in one set."""

    def __init__(self, index: int, node, follows_hint: bool):
        self.index = index
        self.node = node
        self.follows_hint = follows_hint
        self.client: LightClient | None = None
        self.seqs: set[int] = set()
        self.moves: list[tuple[str, int | None]] = []   # (instance it moved to, the old one's close code)
        self.refusals: list[tuple[int, str | None]] = []
        self.hint: dict | None = None

    async def connect(self, node) -> None:
        client = await LightClient.open(node.port)
        client.seqs = self.seqs   # one set across connections: duplicates during an overlap count once
        assert await client.request("join", "r") is True
        self.client, self.node = client, node

    async def follow(self, nodes) -> None:
        """Waits for the drain to reach this subscriber, then moves to the other instance."""
        old = self.client
        if self.follows_hint:
            await old.hint_seen.wait()
            self.hint = old.hint
            await asyncio.sleep(self.hint["reconnectAfterMs"] / 1000)
            before = max(self.seqs, default=0)
            await self.connect(await ready_node(nodes))
            await self.overlap(before)
            old.leave()
            self.moves.append((self.node.name, await asyncio.wait_for(old.closed, 10)))
        else:
            code = await old.closed   # ignores the hint: waits for the server's close
            self.hint = old.hint
            for node in (self.node, *[n for n in nodes if n is not self.node]):
                try:
                    await self.connect(node)
                    break
                except Refused as refused:
                    self.refusals.append((refused.status, refused.headers.get("retry-after")))
                except (ConnectionError, OSError):
                    self.refusals.append((0, None))   # the instance has exited already
            self.moves.append((self.node.name, code))


    async def overlap(self, before: int, timeout: float = 2.0) -> None:
        """Keeps the old connection until the two streams overlap: until every number from the
        last one seen before the switch up to the newest has come, on either connection. The new
        instance delivers its own broadcasts at once, while the old one gets them through Redis a
        little later: closing the old connection as soon as the new one has joined would drop
        what was still on its way there."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            newest = max(self.seqs, default=before)
            if newest > before and all(n in self.seqs for n in range(before + 1, newest + 1)):
                return
            await asyncio.sleep(0.005)


async def ready_node(nodes):
    """What a load balancer does: the first instance whose /readyz answers 200."""
    for node in nodes:
        try:
            if (await http_get(node.port, "/readyz"))[0] == 200:
                return node
        except OSError:
            continue
    raise AssertionError("no instance is ready")


@pytest.mark.deadline(120)
async def test_a_stopped_instance_drains_its_clients_to_the_other_without_loss(redis, cluster):
    window = ("--drain-window-ms", str(DRAIN_WINDOW_MS))
    a, b = cluster(2, extra=window)
    assert (await http_get(a.port, "/readyz"))[:1] == (200,)
    subscribers = [Subscriber(i, a if i % 2 == 0 else b, follows_hint=(i // 2) % 2 == 0) for i in range(CLIENTS)]
    for start in range(0, CLIENTS, 100):
        await asyncio.gather(*(s.connect(s.node) for s in subscribers[start:start + 100]))
    await wait_subscribers(redis, "r", 2)
    publisher = await LightClient.open(b.port)

    sent = 0
    stop_publishing = asyncio.Event()

    async def publish():
        nonlocal sent
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop_publishing.is_set():
            sent += 1
            publisher.emit("send", {"rooms": ["r"], "text": str(sent)})
            next_at += PERIOD_S
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    on_a = [s for s in subscribers if s.node is a]
    publishing = asyncio.ensure_future(publish())
    await asyncio.sleep(1.0)
    moving = [asyncio.ensure_future(s.follow([a, b])) for s in on_a]
    drain_started = time.monotonic()
    a.proc.send_signal(signal.SIGTERM)

    # While it drains: not ready, new upgrades refused with 503 and Retry-After, still alive.
    status, headers, body = await poll(lambda: _ready_status(a), 5, "a's /readyz turns 503")
    assert (status, headers.get("retry-after"), body) == (503, str(DRAIN_WINDOW_MS // 1000), b"draining\n")
    assert (await http_get(a.port, "/healthz"))[0] == 200
    try:
        await LightClient.open(a.port)
        raise AssertionError("a took a new client while draining")
    except Refused as refused:
        assert (refused.status, refused.headers.get("retry-after")) == (503, str(DRAIN_WINDOW_MS // 1000))

    await asyncio.wait_for(asyncio.gather(*moving), DRAIN_WINDOW_MS / 1000 + 10)
    exit_status = await asyncio.get_running_loop().run_in_executor(None, a.proc.wait, 20)
    drained_in = time.monotonic() - drain_started
    await asyncio.sleep(1.0)
    stop_publishing.set()
    await publishing
    last = sent
    await poll(lambda: all(last in s.seqs for s in subscribers), 20, f"every subscriber has broadcast {last}")

    expected = set(range(1, last + 1))
    missing = {s.index: sorted(expected - s.seqs) for s in subscribers}
    groups = {
        "stayed on b": [s for s in subscribers if s.node is b and s not in on_a],
        "moved, followed the hint": [s for s in on_a if s.follows_hint],
        "moved, ignored the hint": [s for s in on_a if not s.follows_hint],
    }
    delays = sorted(s.hint["reconnectAfterMs"] for s in on_a)
    print(f"\ndrain: {CLIENTS} clients, {last} broadcasts every {PERIOD_S * 1000:.0f} ms, window "
          f"{DRAIN_WINDOW_MS} ms; instance a exited {exit_status} after {drained_in:.2f} s")
    print(f"  hint delays: {delays[0]}..{delays[-1]} ms over {len(delays)} clients")
    for name, group in groups.items():
        lost = [len(missing[s.index]) for s in group]
        print(f"  {name}: {len(group)} clients, {sum(lost)} messages missed in all, "
              f"{sum(1 for n in lost if n)} clients missed any, at most {max(lost)} each")

    assert exit_status == 0, a.stderr_text()
    assert all(s.node is b for s in subscribers), "a client is not on the instance that stayed"
    # Every client of the stopped instance was told, with its own delay, and the delays spread
    # over the first 60% of the window.
    assert all(s.hint is not None and s.hint["reason"] == "draining" for s in on_a)
    assert all(s.hint["closeAfterMs"] - s.hint["reconnectAfterMs"] == DRAIN_WINDOW_MS // 5 for s in on_a)
    assert delays[0] >= 0 and delays[-1] <= DRAIN_WINDOW_MS * 6 // 10
    assert delays[-1] - delays[0] >= DRAIN_WINDOW_MS // 2, f"hint delays not spread: {delays[0]}..{delays[-1]}"
    # Those that ignored the hint were closed with 1001 and refused (503) by the draining one.
    assert all(s.moves[-1][1] == 1001 for s in groups["moved, ignored the hint"])
    assert all(s.refusals and s.refusals[0][0] in (503, 0) for s in groups["moved, ignored the hint"])
    # Nothing is lost for clients that stayed or moved before leaving.
    assert sum(len(missing[s.index]) for s in groups["stayed on b"]) == 0
    assert sum(len(missing[s.index]) for s in groups["moved, followed the hint"]) == 0
    # A client that was closed first misses only what was sent while it had no connection: the
    # numbers it missed are one run, and it has everything after it.
    for s in groups["moved, ignored the hint"]:
        gap = missing[s.index]
        assert not gap or gap[-1] - gap[0] + 1 == len(gap), f"subscriber {s.index} missed {gap}"


async def _ready_status(node):
    answer = await http_get(node.port, "/readyz")
    return answer if answer[0] == 503 else None
