"""
Connection state recovery across instances: two servers behind one real redis-server, with
recovery on. A client whose connection to one instance drops comes back to the other and gets
its sid, rooms, data and every broadcast it missed, from both instances; a forged pid gets a
fresh session there too, and a session is taken once, whichever instance asks.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect as ws_connect

from conftest import RawSocket, SocketIOServer, WAIT_S, interop, load_conftest
from test_recovery import member_of, recv_json, room_emit, wait_until_gone


cluster = load_conftest("Cluster")   # its redis-server handling


@pytest.fixture
def pair():
    """Instances A and B of the Socket.IO server behind one redis-server, recovery on (10 s)."""
    redis = cluster.RedisServer()
    redis.start()
    binary = interop.binary_from_env("NAVIOS_SOCKETIO_SERVER", "navios-ws-socketio-server")
    servers = []
    try:
        for _ in range(2):
            server = SocketIOServer(binary, ("--redis", redis.address, "--recovery-window", "10000"))
            server.start()
            servers.append(server)
        yield servers[0], servers[1], redis
    finally:
        for sock in RawSocket.opened:
            sock.shut()
        RawSocket.opened.clear()
        for server in servers:
            interop.finish_server(server)
        redis.stop()


async def sender(server) -> RawSocket:
    """A Socket.IO client in no room: what it sends to a room never comes back to it."""
    sock = await RawSocket.open(server)
    await sock.connect()
    assert await sock.event() == ["recovered", False]
    return sock


async def until_both_in(room: str, a: RawSocket, b: RawSocket) -> None:
    """Broadcasts from `a` until `b` (on the other instance) gets one: the instances' room
    subscriptions are in place. The probes are read off."""
    for attempt in range(100):
        await room_emit(a, room, f"probe{attempt}")
        try:
            got = await b.event() if attempt == 0 else await asyncio.wait_for(b.event(), 0.05)
        except asyncio.TimeoutError:
            continue
        if got[2] == f"probe{attempt}":
            return
    raise AssertionError("the instances never joined up")


async def test_a_client_reconnects_to_the_other_instance_and_recovers(pair):
    a, b, _ = pair
    alice, first = await member_of(a, "r")
    await alice.ws.send('42["remember","a note"]')
    carol = await sender(a)    # sends from A
    bob = await sender(b)      # sends from B
    await until_both_in("r", bob, alice)
    await room_emit(bob, "r", "last seen")
    got = await alice.event()
    assert got[2] == "last seen"
    offset = got[3]
    await wait_until_gone(alice)
    # 100 broadcasts while alice is away, from both instances, interleaved.
    sent = []
    for n in range(100):
        await room_emit(carol if n % 2 else bob, "r", n)
        sent.append(n)
    back = await RawSocket.open(b)     # the other instance
    reply = await back.connect(auth={"pid": first["pid"], "offset": offset}, then_auth=False)
    assert reply == {"sid": first["sid"], "pid": first["pid"]}
    missed = [await back.event() for _ in range(100)]
    assert all(m[:2] == ["room-message", "r"] for m in missed)
    values = [m[2] for m in missed]
    assert sorted(values) == sent                                       # every one, once
    assert [v for v in values if v % 2 == 0] == list(range(0, 100, 2))  # each sender's in order
    assert [v for v in values if v % 2] == list(range(1, 100, 2))
    assert (await back.event())[0] == "auth"
    assert await back.event() == ["recovered", True]
    # Its data came along, and it is in its room again, on B now.
    await back.ws.send('421["recall"]')
    assert await back.recv() == '431["a note"]'
    await room_emit(carol, "r", "live")
    assert (await back.event())[2] == "live"


async def test_a_forged_pid_on_the_other_instance_gets_a_fresh_session_and_a_session_is_taken_once(pair):
    a, b, _ = pair
    alice, first = await member_of(a, "secret")
    bob = await sender(b)
    await until_both_in("secret", bob, alice)
    await room_emit(bob, "secret", "seen")
    offset = (await alice.event())[3]
    await wait_until_gone(alice)
    await room_emit(bob, "secret", "for alice")
    forged = await RawSocket.open(b)
    reply = await forged.connect(auth={"pid": "0123456789abcdef0123456789abcdef", "offset": offset}, then_auth=False)
    assert reply["sid"] != first["sid"]
    assert (await forged.event())[0] == "auth"
    assert await forged.event() == ["recovered", False]
    # Alice's session is still hers: back on B she gets what she missed; a second try, on A,
    # starts afresh.
    back = await RawSocket.open(b)
    assert (await back.connect(auth={"pid": first["pid"], "offset": offset}, then_auth=False))["sid"] == first["sid"]
    assert (await back.event())[2] == "for alice"
    again = await RawSocket.open(a)
    assert (await again.connect(auth={"pid": first["pid"], "offset": offset}, then_auth=False))["sid"] != first["sid"]


async def test_a_json_client_recovers_on_the_other_instance_with_the_reconnect_query(pair):
    a, b, _ = pair
    bob = await sender(b)
    first = await ws_connect(a.ws_url("/"))
    session = await recv_json(first)
    pid, sid = session["data"]["pid"], session["data"]["id"]
    assert (await recv_json(first))["event"] == "auth"
    assert await recv_json(first) == {"event": "recovered", "data": False}
    await first.send(json.dumps({"event": "join", "data": "r", "id": 1}))
    assert (await recv_json(first))["ack"] == 1
    for attempt in range(100):     # until B's broadcasts reach A's room
        await room_emit(bob, "r", f"probe{attempt}")
        try:
            live = json.loads(await asyncio.wait_for(first.recv(), 0.05 if attempt else WAIT_S))
            break
        except asyncio.TimeoutError:
            continue
    first.transport.abort()
    await asyncio.sleep(0.2)
    for n in range(5):
        await room_emit(bob, "r", n)
    async with ws_connect(f"{b.ws_url('/')}?pid={pid}&offset={live['offset']}") as back:
        assert await recv_json(back) == {"event": "session", "data": {"id": sid, "pid": pid, "recovered": True}}
        missed = [await recv_json(back) for _ in range(5)]
        assert [m["data"] for m in missed] == [["r", n] for n in range(5)]
        assert (await recv_json(back))["event"] == "auth"
        assert await recv_json(back) == {"event": "recovered", "data": True}
