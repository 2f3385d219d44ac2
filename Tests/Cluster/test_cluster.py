"""Rooms, broadcasts and server-side operations across navios-ws-cluster-node instances behind a
real redis-server."""
from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from conftest import UNORDERED_QUIET_S, Client, RedisSubscriber, connect, open_clients, poll

NAMESPACE = "/"   # the gateway's path; room keys are namespace + "\x1f" + room


def room_channel(room: str, prefix: str = "navios-ws") -> str:
    return f"{prefix}#b#{NAMESPACE}\x1f{room}"


async def wait_subscribers(redis, room: str, n: int, timeout: float = 5.0) -> None:
    """Until exactly n instances are subscribed to the room's channel (joins are acked before the
    SUBSCRIBE reaches Redis)."""
    await poll(lambda: redis.numsub(room_channel(room)) == n, timeout,
               f"{n} subscribers on {room_channel(room)!r}")


async def settle(sender: Client, clients: list[Client], marker: str) -> None:
    """Broadcasts `marker` to everyone from `sender` and waits until every client has it: the
    sentinel after which absence is checked, with no wait of its own.

    Whatever an earlier broadcast of `sender` does reaches a client before the marker: the send
    handler delivers locally (a loop runs what is posted to it in order) and queues the publish
    on its instance's one command connection before it acks, so the marker follows on both
    paths; Redis sends each subscriber connection its messages in publish order, and the
    receiving instance's link thread posts them to its loops in the order it reads them."""
    assert await sender.request("send", {"text": marker}) is True
    for c in clients:
        await c.wait_text(marker)


def count(client: Client, text: str) -> int:
    return client.texts().count(text)


async def test_room_broadcast_reaches_each_member_on_every_instance_exactly_once(redis, cluster):
    nodes = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        members, others = [], []
        for node in nodes:
            m1, m2, o = await open_clients(stack, node, f"{node.name}-m1", f"{node.name}-m2", f"{node.name}-o")
            for m in (m1, m2):
                assert await m.request("join", "r") is True
            assert await o.request("join", "elsewhere") is True
            members += [m1, m2]
            others.append(o)
        await wait_subscribers(redis, "r", 3)
        sender = members[0]
        assert await sender.request("send", {"rooms": ["r"], "text": "hello"}) is True
        await settle(sender, members + others, "marker-1")
        for m in members:
            assert count(m, "hello") == 1, f"{m.name}: {m.texts()}"
            assert [x["from"] for x in m.msgs() if x["text"] == "hello"] == ["a"]
        for o in others:
            assert count(o, "hello") == 0, f"{o.name}: {o.texts()}"
        # A second broadcast from another instance: same rule.
        assert await members[4].request("send", {"rooms": ["r"], "text": "from-c"}) is True
        await settle(members[4], members + others, "marker-2")
        for m in members:
            assert count(m, "from-c") == 1, f"{m.name}: {m.texts()}"
        for o in others:
            assert count(o, "from-c") == 0, f"{o.name}: {o.texts()}"


async def test_client_in_two_rooms_gets_a_two_room_broadcast_once_across_instances(redis, cluster):
    a, b = cluster(2)
    async with contextlib.AsyncExitStack() as stack:
        sender, local_both = await open_clients(stack, a, "sender", "a-both")
        both, only1, only2, none = await open_clients(stack, b, "b-both", "b-r1", "b-r2", "b-none")
        for c in (local_both, both):
            await c.request("join", "r1")
            await c.request("join", "r2")
        await only1.request("join", "r1")
        await only2.request("join", "r2")
        await wait_subscribers(redis, "r1", 2)
        await wait_subscribers(redis, "r2", 2)
        assert await sender.request("send", {"rooms": ["r1", "r2"], "text": "twice?"}) is True
        everyone = [sender, local_both, both, only1, only2, none]
        await settle(sender, everyone, "marker")
        for c in (local_both, both, only1, only2):
            assert count(c, "twice?") == 1, f"{c.name}: {c.texts()}"
        for c in (sender, none):
            assert count(c, "twice?") == 0, f"{c.name}: {c.texts()}"



async def test_a_40_room_broadcast_and_100_excluded_rooms_reach_each_member_once_across_instances(redis, cluster):
    """The adapter publishes one copy per target room, each excluding the rooms before it: a
    member of many of the 40 rooms, on either instance, must still get exactly one copy."""
    a, b = cluster(2)
    rooms = [f"r{i}" for i in range(40)]
    muted = [f"m{i}" for i in range(100)]
    async with contextlib.AsyncExitStack() as stack:
        sender, a_all, a_last = await open_clients(stack, a, "sender", "a-all", "a-last")
        b_all, b_odd, b_last, b_muted, b_none = await open_clients(
            stack, b, "b-all", "b-odd", "b-last", "b-muted", "b-none")
        for cl in (a_all, b_all):
            for room in rooms:
                assert await cl.request("join", room) is True
        for room in rooms[1::2]:
            assert await b_odd.request("join", room) is True
        for cl in (a_last, b_last, b_muted):
            assert await cl.request("join", rooms[-1]) is True
        assert await b_muted.request("join", muted[-1]) is True
        await wait_subscribers(redis, rooms[-1], 2)
        await wait_subscribers(redis, rooms[0], 2)
        everyone = [sender, a_all, a_last, b_all, b_odd, b_last, b_muted, b_none]

        assert await sender.request("send", {"rooms": rooms, "text": "forty"}) is True
        await settle(sender, everyone, "marker-1")
        for cl in (a_all, a_last, b_all, b_odd, b_last, b_muted):
            assert count(cl, "forty") == 1, f"{cl.name}: {count(cl, 'forty')} copies"
        for cl in (sender, b_none):
            assert count(cl, "forty") == 0, f"{cl.name}: {cl.texts()}"

        # The same 40 rooms with 100 rooms excluded (the last one holds b-muted): every copy the
        # adapter publishes then names more than 100 excluded rooms.
        assert await sender.request("send", {"rooms": rooms, "except": muted, "text": "muted"}) is True
        await settle(sender, everyone, "marker-2")
        for cl in (a_all, a_last, b_all, b_odd, b_last):
            assert count(cl, "muted") == 1, f"{cl.name}: {count(cl, 'muted')} copies"
        for cl in (sender, b_muted, b_none):
            assert count(cl, "muted") == 0, f"{cl.name}: {cl.texts()}"

async def test_except_rooms_and_not_self_hold_across_instances(redis, cluster):
    a, b, c = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        sender, a_in, a_ex = await open_clients(stack, a, "a-sender", "a-in", "a-ex")
        b_in, b_ex = await open_clients(stack, b, "b-in", "b-ex")
        c_in, c_ex = await open_clients(stack, c, "c-in", "c-ex")
        everyone = [sender, a_in, a_ex, b_in, b_ex, c_in, c_ex]
        for cl in everyone:
            await cl.request("join", "r")
        for cl in (a_ex, b_ex, c_ex):
            await cl.request("join", "muted")
        await wait_subscribers(redis, "r", 3)
        await wait_subscribers(redis, "muted", 3)

        assert await sender.request("send", {"rooms": ["r"], "except": ["muted"], "text": "not-muted"}) is True
        await settle(sender, everyone, "marker-1")
        for cl in (sender, a_in, b_in, c_in):
            assert count(cl, "not-muted") == 1, f"{cl.name}: {cl.texts()}"
        for cl in (a_ex, b_ex, c_ex):
            assert count(cl, "not-muted") == 0, f"{cl.name}: {cl.texts()}"

        assert await sender.request("send", {"rooms": ["r"], "notSelf": True, "text": "not-me"}) is True
        await settle(sender, everyone, "marker-2")
        assert count(sender, "not-me") == 0, sender.texts()
        for cl in everyone[1:]:
            assert count(cl, "not-me") == 1, f"{cl.name}: {cl.texts()}"

        # Both at once, sent from another instance.
        assert await b_in.request("send", {"rooms": ["r"], "except": ["muted"], "notSelf": True,
                                           "text": "both"}) is True
        await settle(b_in, everyone, "marker-3")
        for cl in (sender, a_in, c_in):
            assert count(cl, "both") == 1, f"{cl.name}: {cl.texts()}"
        for cl in (b_in, a_ex, b_ex, c_ex):
            assert count(cl, "both") == 0, f"{cl.name}: {cl.texts()}"


async def test_fetch_count_and_rooms_see_clients_on_every_instance(redis, cluster):
    nodes = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for node in nodes:
            clients[node.name] = await open_clients(stack, node, f"{node.name}1", f"{node.name}2")
        flat = [cl for group in clients.values() for cl in group]
        ids = sorted(cl.id for cl in flat)
        assert len(set(ids)) == 6, f"client ids are not unique across instances: {ids}"
        in_x = [clients["a"][0], clients["b"][0], clients["b"][1], clients["c"][1]]
        for cl in in_x:
            await cl.request("join", "x")
        await clients["c"][0].request("join", "y")
        for asker in (clients["a"][1], clients["b"][0], clients["c"][0]):
            assert await asker.request("fetch", {}) == ids
            assert await asker.request("count", {}) == 6
            assert await asker.request("fetch", {"rooms": ["x"]}) == sorted(cl.id for cl in in_x)
            assert await asker.request("count", {"rooms": ["x"]}) == 4
            assert await asker.request("fetch", {"rooms": ["y"]}) == [clients["c"][0].id]
            assert await asker.request("count", {"rooms": ["x", "y"]}) == 5
            assert await asker.request("fetch", {"rooms": ["nobody"]}) == []
            assert await asker.request("rooms") == {"x": 4, "y": 1}


async def test_kick_closes_selected_clients_on_other_instances_and_spares_the_rest(redis, cluster):
    a, b, c = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        kicker, a_kicked = await open_clients(stack, a, "kicker", "a-kicked")
        b_kicked, b_stays = await open_clients(stack, b, "b-kicked", "b-stays")
        c_kicked, c_stays = await open_clients(stack, c, "c-kicked", "c-stays")
        kicked = [a_kicked, b_kicked, c_kicked]
        stays = [kicker, b_stays, c_stays]
        for cl in kicked:
            await cl.request("join", "k")
        for cl in stays:
            await cl.request("join", "stay")
        await wait_subscribers(redis, "stay", 3)
        assert await kicker.request("kick", {"rooms": ["k"]}) is True
        for cl in kicked:
            try:
                await asyncio.wait_for(cl.closed.wait(), 5)
            except TimeoutError:
                raise AssertionError(f"{cl.name} was not disconnected") from None
            assert cl.close_code == 1000, f"{cl.name}: close code {cl.close_code}"
            assert cl.close_reason == "server namespace disconnect", f"{cl.name}: {cl.close_reason!r}"
        for cl in stays:
            assert not cl.closed.is_set(), cl.name
            assert await cl.request("whoami") == cl.id
        assert await kicker.request("count", {}) == 3
        assert await b_stays.request("send", {"rooms": ["stay"], "text": "still here"}) is True
        for cl in stays:
            await cl.wait_text("still here")


async def test_kick_with_close_tells_every_instances_clients_the_server_closed_them(redis, cluster):
    a, b = cluster(2)
    async with contextlib.AsyncExitStack() as stack:
        kicker, a_kicked = await open_clients(stack, a, "kicker", "a-kicked")
        (b_kicked,) = await open_clients(stack, b, "b-kicked")
        for cl in (a_kicked, b_kicked):
            await cl.request("join", "k")
        await wait_subscribers(redis, "k", 2)
        assert await kicker.request("kick", {"rooms": ["k"], "close": True}) is True
        for cl in (a_kicked, b_kicked):
            try:
                await asyncio.wait_for(cl.closed.wait(), 5)
            except TimeoutError:
                raise AssertionError(f"{cl.name} was not disconnected") from None
            assert (cl.close_code, cl.close_reason) == (1000, "server disconnect"), cl.name
        assert await kicker.request("whoami") == kicker.id


async def test_pull_and_drop_make_remote_clients_join_and_leave_a_room(redis, cluster):
    a, b, c = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        puller, a_src = await open_clients(stack, a, "puller", "a-src")
        b_src, b_other = await open_clients(stack, b, "b-src", "b-other")
        c_src, = await open_clients(stack, c, "c-src")
        srcs = [a_src, b_src, c_src]
        for cl in srcs:
            await cl.request("join", "src")
        assert await puller.request("pull", {"rooms": ["src"], "room": "dst"}) is True
        async def three_in_dst():
            return await puller.request("count", {"rooms": ["dst"]}) == 3
        await poll(three_in_dst, 5, "3 clients in dst")
        assert await puller.request("fetch", {"rooms": ["dst"]}) == sorted(cl.id for cl in srcs)
        await wait_subscribers(redis, "dst", 3)
        assert await puller.request("send", {"rooms": ["dst"], "text": "pulled"}) is True
        everyone = [puller, a_src, b_src, b_other, c_src]
        await settle(puller, everyone, "marker")
        for cl in srcs:
            assert count(cl, "pulled") == 1, f"{cl.name}: {cl.texts()}"
        for cl in (puller, b_other):
            assert count(cl, "pulled") == 0, f"{cl.name}: {cl.texts()}"
        # socketsLeave the same way: the remote ones leave too, and the room's channels go.
        assert await puller.request("drop", {"rooms": ["src"], "room": "dst"}) is True
        async def none_in_dst():
            return await puller.request("count", {"rooms": ["dst"]}) == 0
        await poll(none_in_dst, 5, "no client left in dst")
        await wait_subscribers(redis, "dst", 0)
        assert await puller.request("rooms") == {"src": 3}


async def test_tell_emits_to_one_remote_client_by_id(redis, cluster):
    a, b, c = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        teller, = await open_clients(stack, a, "teller")
        target, bystander = await open_clients(stack, b, "target", "bystander")
        c_client, = await open_clients(stack, c, "c-client")
        assert await teller.request("tell", {"id": target.id, "text": "psst"}) is True
        await target.wait_text("psst")
        assert target.msgs() == [{"text": "psst", "from": "a"}]
        assert await teller.request("tell", {"id": "no-such-client", "text": "lost"}) is False
        await settle(teller, [teller, target, bystander, c_client], "marker")
        # Not an event wait: each instance runs a remote emit in a task of its own (WsClusterAdapter
        # .receive), so no sentinel is ordered after a stray copy of it.
        await asyncio.sleep(UNORDERED_QUIET_S)
        for cl in (teller, bystander, c_client):
            assert count(cl, "psst") == 0, f"{cl.name}: {cl.texts()}"
        assert count(target, "psst") == 1


async def test_ask_gets_one_answer_from_each_other_instance(redis, cluster):
    a, b, c = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        on_a, = await open_clients(stack, a, "on-a")
        on_c, = await open_clients(stack, c, "on-c")
        assert await on_a.request("ask", "x") == ["pong from b: x", "pong from c: x"]
        assert await on_c.request("ask", "y") == ["pong from a: y", "pong from b: y"]


async def test_instance_subscribes_only_to_rooms_it_has_members_in(redis, cluster):
    a, b, c = cluster(3)
    async with contextlib.AsyncExitStack() as stack:
        a1, a2 = await open_clients(stack, a, "a1", "a2")
        b1, = await open_clients(stack, b, "b1")
        c1, = await open_clients(stack, c, "c1")
        assert redis.numsub(room_channel("s")) == 0
        assert redis.numsub("navios-ws#q") == 3
        await a1.request("join", "s")
        await wait_subscribers(redis, "s", 1)
        await a2.request("join", "s")
        await b1.request("join", "s")
        await wait_subscribers(redis, "s", 2)
        assert redis.numsub(room_channel("s")) == 2   # c has no member: not subscribed
        await a1.request("leave", "s")
        # The sentinel: node a's link sends its SUBSCRIBE and UNSUBSCRIBE commands in the order
        # they were asked for, on one connection, so once a1's next room "t" shows on Redis, an
        # UNSUBSCRIBE from the leave would have been seen too.
        await a1.request("join", "t")
        await wait_subscribers(redis, "t", 1)
        assert redis.numsub(room_channel("s")) == 2   # a2 is still in it
        await a2.close()                              # the last member on a disconnects
        await wait_subscribers(redis, "s", 1)
        await b1.request("leave", "s")                # the last member on b leaves
        await wait_subscribers(redis, "s", 0)
        assert c1.texts() == []


async def test_node_started_before_redis_serves_locally_and_joins_the_cluster_when_redis_comes_up(
        redis_stopped, cluster):
    a, = cluster(1)
    async with contextlib.AsyncExitStack() as stack:
        x, y = await open_clients(stack, a, "x", "y")
        await x.request("join", "r")
        await y.request("join", "r")
        stats = await x.request("stats")
        assert stats["linkUp"] is False, stats
        assert await x.request("send", {"rooms": ["r"], "text": "local"}) is True
        await x.wait_text("local")
        await y.wait_text("local")
        stats = await x.request("stats")
        assert stats["linkUp"] is False and stats["broadcastsDropped"] >= 1, stats

        redis_stopped.start()
        await poll(lambda: _link_up(x), 10, "node a's link up")
        b, = cluster(1)
        z, = await open_clients(stack, b, "z")
        await z.request("join", "r")
        await poll(lambda: _link_up(z), 10, "node b's link up")
        await wait_subscribers(redis_stopped, "r", 2)
        assert await z.request("send", {"rooms": ["r"], "text": "from-b"}) is True
        assert await x.request("send", {"rooms": ["r"], "text": "from-a"}) is True
        for cl in (x, y, z):
            await cl.wait_text("from-b")
            await cl.wait_text("from-a")
        assert await x.request("fetch", {"rooms": ["r"]}) == sorted([x.id, y.id, z.id])


async def _link_up(client: Client) -> bool:
    return (await client.request("stats"))["linkUp"] is True


@pytest.mark.deadline(45)
async def test_redis_killed_and_restarted_mid_stream_drops_only_while_down_and_never_stops_local_delivery(
        redis, cluster):
    a, b = cluster(2)
    async with contextlib.AsyncExitStack() as stack:
        sender, a_member = await open_clients(stack, a, "sender", "a-member")
        b_member, = await open_clients(stack, b, "b-member")
        for cl in (sender, a_member, b_member):
            await cl.request("join", "r")
        await wait_subscribers(redis, "r", 2)

        sent: list[int] = []
        phase: dict[str, int] = {}
        stop = asyncio.Event()

        async def stream():
            n = 0
            while not stop.is_set():
                n += 1
                assert await sender.request("send", {"rooms": ["r"], "text": f"m{n}"}) is True
                sent.append(n)
                await asyncio.sleep(0.005)

        streamer = asyncio.ensure_future(stream())
        try:
            await poll(lambda: len(sent) >= 50, 10, "50 messages sent before the kill")
            phase["before_kill"] = sent[-1]
            await asyncio.to_thread(redis.kill)
            phase["killed_after"] = sent[-1] if sent else 0
            # Keep sending while Redis is down, long enough to be noticed by the link.
            await poll(lambda: _link_down(sender), 10, "node a's link down")
            down_mark = len(sent)
            await poll(lambda: len(sent) >= down_mark + 20, 10, "20 messages sent while the link is down")
            await asyncio.to_thread(redis.start)
            await poll(lambda: _link_up(sender), 15, "node a's link up again")
            await poll(lambda: _link_up(b_member), 15, "node b's link up again")
            await wait_subscribers(redis, "r", 2, timeout=10)
            phase["both_up"] = sent[-1]
            await poll(lambda: len(sent) >= phase["both_up"] + 50, 10, "50 messages sent after recovery")
        finally:
            stop.set()
            await asyncio.wait_for(streamer, 10)
        last = sent[-1]
        assert sent == list(range(1, last + 1))
        await a_member.wait_text(f"m{last}")
        await b_member.wait_text(f"m{last}", timeout=10)
        # Sentinels, one from each node, published after every m<n> (b's once b has the last):
        # each reaches the other node's clients through that node's link, behind every copy Redis
        # sent it before, a node's own broadcasts coming back included.
        assert await b_member.request("send", {"rooms": ["r"], "text": "end from b"}) is True
        assert await sender.request("send", {"rooms": ["r"], "text": "end from a"}) is True
        for cl in (sender, a_member, b_member):
            await cl.wait_text("end from b", timeout=10)
            await cl.wait_text("end from a", timeout=10)

        def numbers(cl: Client) -> list[int]:
            return [int(t[1:]) for t in cl.texts() if t.startswith("m")]

        # Local delivery never stops: every message, in order, once.
        assert numbers(a_member) == list(range(1, last + 1))
        assert numbers(sender) == list(range(1, last + 1))
        got_b = numbers(b_member)
        assert got_b == sorted(set(got_b)), f"node b: out of order or duplicated: {got_b}"
        assert set(got_b) <= set(range(1, last + 1))
        # Deterministic parts of the policy: everything before the kill and after both links are
        # up again (and the room subscription renewed) reaches node b.
        before = set(range(1, phase["before_kill"] + 1))
        after = set(range(phase["both_up"] + 1, last + 1))
        assert before <= set(got_b), f"missing before the kill: {sorted(before - set(got_b))}"
        assert after <= set(got_b), f"missing after recovery: {sorted(after - set(got_b))}"
        window = set(range(phase["before_kill"] + 1, phase["both_up"] + 1))
        missing = sorted(window - set(got_b))
        # Messages sent while node a's link was down are not replayed.
        assert missing, "no message was lost while Redis was down: the outage was not exercised"
        stats_a = await sender.request("stats")
        stats_b = await b_member.request("stats")
        assert stats_a["broadcastsDropped"] > 0, stats_a
        assert stats_a["linkUp"] and stats_b["linkUp"]
        assert stats_a["reconnects"] >= 1 and stats_b["reconnects"] >= 1, (stats_a, stats_b)
        print(f"\nkill window: {len(window)} messages sent between kill and recovery, {len(missing)} "
              f"missing on node b; dropped on a: {stats_a['broadcastsDropped']}; stats a {stats_a}, b {stats_b}")
        assert a.alive() and b.alive()
        assert await b_member.request("ask", "still") == ["pong from a: still"]


async def _link_down(client: Client) -> bool:
    return (await client.request("stats"))["linkUp"] is False


@pytest.mark.parametrize("payload", [
    b"hello, not navios",
    b"",
    b"\x00\x01\x02\xff\xfe garbage",
    b'{"event":"msg","data":{"text":"forged","from":"x"}}',
    b"\xff" * 2048,
], ids=["text", "empty", "binary", "json", "long"])
async def test_foreign_and_malformed_messages_on_a_room_channel_are_ignored_and_counted(redis, cluster, payload):
    a, b = cluster(2)
    async with contextlib.AsyncExitStack() as stack:
        x, = await open_clients(stack, a, "x")
        y, = await open_clients(stack, b, "y")
        await x.request("join", "r")
        await y.request("join", "r")
        await wait_subscribers(redis, "r", 2)
        before_a = (await x.request("stats"))["ignoredMessages"]
        before_b = (await y.request("stats"))["ignoredMessages"]
        assert redis.publish(room_channel("r"), payload) == 2
        await poll(lambda: _ignored(x, before_a), 5, "node a counts the foreign message")
        await poll(lambda: _ignored(y, before_b), 5, "node b counts the foreign message")
        # Each node's sentinel must come through its own link, behind the foreign message: x's
        # marker for node b, y's "after" for node a.
        await settle(x, [x, y], "marker")
        assert y.texts() == ["marker"], y.events
        assert [e["event"] for e in y.events] == ["msg"], y.events
        assert await y.request("send", {"rooms": ["r"], "text": "after"}) is True
        await x.wait_text("after")
        assert x.texts() == ["marker", "after"], x.events
        assert [e["event"] for e in x.events] == ["msg", "msg"], x.events
        assert a.alive() and b.alive()



async def test_damaged_and_misdirected_copies_of_a_real_broadcast_reach_no_client(redis, cluster):
    """A real room broadcast, captured off Redis, then published again cut inside its JSON, cut
    inside a multi-byte character, and whole on channels it does not belong to: each copy is
    counted and dropped, never forwarded, and every client keeps being served."""
    a, b = cluster(2)
    async with contextlib.AsyncExitStack() as stack:
        x, = await open_clients(stack, a, "x")
        y, bob = await open_clients(stack, b, "y", "bob")
        await x.request("join", "r")
        await y.request("join", "r")
        await bob.request("join", "user:bob")
        await wait_subscribers(redis, "r", 2)
        await wait_subscribers(redis, "user:bob", 1)
        subscriber = RedisSubscriber(redis, room_channel("r"))
        stack.callback(subscriber.close)
        text = "caf\u00e9 \u2713 done"
        assert await x.request("send", {"rooms": ["r"], "text": text}) is True
        real = await asyncio.to_thread(subscriber.message)
        await y.wait_text(text)
        check = real.index("\u2713".encode())
        damaged = [
            (room_channel("r"), real[:-3]),                  # cut inside the JSON
            (room_channel("r"), real[:check + 1]),           # cut inside the check mark: invalid UTF-8
            (room_channel("r"), real[:check] + b"\xff" + real[check + 1:]),   # whole length, a byte broken
            (room_channel("user:bob"), real),                # whole, on another room's channel
            ("navios-ws#q", real),                           # whole, on the request channel
        ]
        before = (await y.request("stats"))["ignoredMessages"]
        for channel, payload in damaged:
            assert redis.publish(channel, payload) >= 1
        await poll(lambda: _ignored(y, before + len(damaged) - 1), 5, "node b counts every damaged copy")
        # Each node's sentinel must come through its own link, behind the damaged copies: x's
        # marker for node b, y's "after" for node a (which got copies on "r" and the request channel).
        await settle(x, [x, y, bob], "marker")
        assert (await y.request("stats"))["ignoredMessages"] == before + len(damaged)
        assert y.texts() == [text, "marker"], y.events
        assert bob.texts() == ["marker"], bob.events
        assert not y.closed.is_set() and not bob.closed.is_set()
        assert await y.request("send", {"rooms": ["r"], "text": "after"}) is True
        await x.wait_text("after")
        assert x.texts() == [text, "marker", "after"], x.events
        assert a.alive() and b.alive()

async def _ignored(client: Client, before: int) -> bool:
    return (await client.request("stats"))["ignoredMessages"] > before


@pytest.mark.parametrize("channel", ["navios-ws#q", "reply"], ids=["request-channel", "reply-channel"])
async def test_foreign_messages_on_request_and_reply_channels_are_ignored_and_counted(redis, cluster, channel):
    a, b = cluster(2)
    async with contextlib.AsyncExitStack() as stack:
        x, = await open_clients(stack, a, "x")
        y, = await open_clients(stack, b, "y")
        if channel == "reply":
            replies = [c for c in redis.cli("PUBSUB", "CHANNELS", "navios-ws#r#*").splitlines() if c]
            assert len(replies) == 2, replies
            targets = replies
        else:
            targets = [channel]
        before = [(await x.request("stats"))["ignoredMessages"], (await y.request("stats"))["ignoredMessages"]]
        for target in targets:
            assert redis.publish(target, b"\x00not a navios message") == (2 if channel != "reply" else 1)
        await poll(lambda: _ignored(x, before[0]), 5, "node a counts the foreign message")
        await poll(lambda: _ignored(y, before[1]), 5, "node b counts the foreign message")
        assert await x.request("ask", "still") == ["pong from b: still"]
        assert await y.request("fetch", {}) == sorted([x.id, y.id])
        assert x.events == [] and y.events == []


async def test_clusters_with_different_prefixes_on_one_redis_do_not_see_each_other(redis, cluster):
    a1, a2 = cluster(2, names=["p1", "p2"], prefix="one")
    b1, = cluster(1, names=["q1"], prefix="two")
    async with contextlib.AsyncExitStack() as stack:
        x, = await open_clients(stack, a1, "x")
        y, = await open_clients(stack, a2, "y")
        z, = await open_clients(stack, b1, "z")
        for cl in (x, y, z):
            await cl.request("join", "r")
        await poll(lambda: redis.numsub(room_channel("r", "one")) == 2, 5, "2 subscribers in cluster one")
        await poll(lambda: redis.numsub(room_channel("r", "two")) == 1, 5, "1 subscriber in cluster two")
        assert redis.numsub(room_channel("r")) == 0
        assert await x.request("send", {"rooms": ["r"], "text": "one-only"}) is True
        await settle(x, [x, y], "marker")
        assert count(y, "one-only") == 1
        assert await z.request("fetch", {}) == [z.id]
        assert await x.request("fetch", {}) == sorted([x.id, y.id])
        assert await x.request("ask", "q") == ["pong from p2: q"]
        assert await z.request("ask", "q") == []
        # z's sentinel: a broadcast from a second node of cluster "two", started only now (it would
        # answer the requests above), published after "one-only" (y has that), reaches z through
        # q1's link behind anything of cluster "one" Redis sent q1.
        q2, = cluster(1, names=["q2"], prefix="two")
        w, = await open_clients(stack, q2, "w")
        await poll(lambda: _link_up(w), 10, "node q2's link up")
        assert await w.request("send", {"rooms": ["r"], "text": "two-only"}) is True
        await z.wait_text("two-only")
        assert z.texts() == ["two-only"], z.events


async def test_an_instance_that_never_answers_makes_a_cluster_request_fail_with_cluster_timeout(redis, cluster):
    """A subscriber of the request channel counts as an instance; one that never replies makes
    serverSideEmitWithAck fail after its timeout (3 s in the node) with cluster_timeout, naming
    how many answered, and nothing else breaks: once it is gone the same request succeeds."""
    a, b = cluster(2)
    async with contextlib.AsyncExitStack() as stack:
        on_a, = await open_clients(stack, a, "on-a")
        silent = await asyncio.open_connection("127.0.0.1", redis.port)
        reader, writer = silent
        writer.write(b"*2\r\n$9\r\nSUBSCRIBE\r\n$11\r\nnavios-ws#q\r\n")
        await writer.drain()
        assert b"subscribe" in await asyncio.wait_for(reader.read(256), 5)
        assert redis.numsub("navios-ws#q") == 3
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"cluster_timeout.*1 of 2 instances answered"):
            await on_a.request("ask", "x", timeout=10)
        assert 2.5 < time.monotonic() - started < 10
        writer.close()
        await writer.wait_closed()
        await poll(lambda: redis.numsub("navios-ws#q") == 2, 5, "the silent subscriber gone")
        assert await on_a.request("ask", "y") == ["pong from b: y"]
