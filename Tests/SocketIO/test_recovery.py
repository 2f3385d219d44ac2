"""
Connection state recovery (Socket.IO 4.6 semantics) on one instance: a client whose connection
drops and that comes back within the window with its pid and last offset gets its sid, rooms and
every broadcast it missed, in order; after the window, or with a pid that is not its own, it
starts afresh. The JSON protocol's reconnect query does the same.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect as ws_connect

from conftest import RawSocket, WAIT_S


async def member_of(server, room: str) -> tuple[RawSocket, dict]:
    """A Socket.IO client in `room`: its socket and its CONNECT reply (sid, pid)."""
    sock = await RawSocket.open(server)
    reply = await sock.connect()
    assert await sock.event() == ["recovered", False]
    await sock.ws.send(f'421["join","{room}"]')
    assert await sock.recv() == f'431["{room}"]'
    return sock, reply


async def recv_json(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))


async def room_emit(sender: RawSocket, room: str, value) -> None:
    """`room-emit`, and its ack: the broadcast has been sent (and kept) when this returns."""
    await sender.ws.send("429" + json.dumps(["room-emit", room, value], separators=(",", ":")))
    assert await sender.recv() == "439[true]"


async def wait_until_gone(sock: RawSocket) -> None:
    """Drops the socket and gives the server a moment to see the connection end."""
    sock.drop()
    await asyncio.sleep(0.2)


async def dropped_after_a_broadcast(server, room: str) -> tuple[RawSocket, dict, str]:
    """Alice and bob in `room`; bob broadcasts once, alice gets it, then alice's connection
    drops. Bob's socket, alice's CONNECT reply, and the offset of what she got last."""
    alice, first = await member_of(server, room)
    assert first["pid"]
    bob, _ = await member_of(server, room)
    await room_emit(bob, room, 0)
    got = await alice.event()
    assert got[:3] == ["room-message", room, 0] and isinstance(got[3], str)   # the offset, last
    await wait_until_gone(alice)
    return bob, first, got[3]


@pytest.mark.server_args("--recovery-window", "10000")
async def test_a_client_recovers_every_missed_broadcast_in_order(sio_server):
    bob, first, offset = await dropped_after_a_broadcast(sio_server, "r")
    for n in range(1, 101):
        await room_emit(bob, "r", n)
    back = await RawSocket.open(sio_server)
    reply = await back.connect(auth={"pid": first["pid"], "offset": offset}, then_auth=False)
    assert reply == {"sid": first["sid"], "pid": first["pid"]}
    missed = [await back.event() for _ in range(100)]
    assert [m[2] for m in missed] == list(range(1, 101))
    assert all(m[:2] == ["room-message", "r"] for m in missed)
    assert await back.event() == ["auth", {"pid": first["pid"], "offset": offset}]
    assert await back.event() == ["recovered", True]
    # Back in its room: the next broadcast arrives live.
    await room_emit(bob, "r", 101)
    assert (await back.event())[2] == 101


@pytest.mark.server_args("--recovery-window", "10000")
async def test_a_client_that_got_no_broadcast_recovers_without_an_offset(sio_server):
    alice, first = await member_of(sio_server, "quiet")
    bob, _ = await member_of(sio_server, "elsewhere")
    await wait_until_gone(alice)
    for room in ("quiet", "elsewhere", "quiet"):
        await room_emit(bob, room, room)
    back = await RawSocket.open(sio_server)
    reply = await back.connect(auth={"pid": first["pid"]}, then_auth=False)
    assert reply["sid"] == first["sid"]
    assert [(await back.event())[2] for _ in range(2)] == ["quiet", "quiet"]   # its room's only
    assert (await back.event())[0] == "auth"
    assert await back.event() == ["recovered", True]


@pytest.mark.server_args("--recovery-window", "300")
async def test_a_reconnect_after_the_window_gets_a_fresh_session(sio_server):
    bob, first, offset = await dropped_after_a_broadcast(sio_server, "r")
    await room_emit(bob, "r", 1)
    await asyncio.sleep(0.5)
    back = await RawSocket.open(sio_server)
    reply = await back.connect(auth={"pid": first["pid"], "offset": offset}, then_auth=False)
    assert reply["sid"] != first["sid"] and reply["pid"] != first["pid"]
    assert (await back.event())[0] == "auth"     # nothing replayed
    assert await back.event() == ["recovered", False]


@pytest.mark.server_args("--recovery-window", "10000")
async def test_a_forged_or_foreign_pid_gets_a_fresh_session(sio_server):
    bob, first, offset = await dropped_after_a_broadcast(sio_server, "secret")
    await room_emit(bob, "secret", "for alice")
    # A made-up pid, and alice's pid on another namespace: fresh sessions, nothing of alice's.
    forged = await RawSocket.open(sio_server)
    reply = await forged.connect(auth={"pid": "0123456789abcdef0123456789abcdef", "offset": offset}, then_auth=False)
    assert reply["sid"] != first["sid"]
    assert (await forged.event())[0] == "auth"
    assert await forged.event() == ["recovered", False]
    foreign = await RawSocket.open(sio_server)
    reply = await foreign.connect("/custom", auth={"pid": first["pid"]}, then_auth=False)
    assert reply["sid"] != first["sid"]
    assert (await foreign.recv()).startswith('42/custom,["auth"')
    # Alice's own session is still hers, and taken once: a second try with her pid, while she
    # is back, starts afresh.
    back = await RawSocket.open(sio_server)
    assert (await back.connect(auth={"pid": first["pid"], "offset": offset}, then_auth=False))["sid"] == first["sid"]
    assert (await back.event())[2] == "for alice"
    again = await RawSocket.open(sio_server)
    assert (await again.connect(auth={"pid": first["pid"]}, then_auth=False))["sid"] != first["sid"]


@pytest.mark.server_args("--recovery-window", "10000")
async def test_a_deliberate_disconnect_keeps_no_session(sio_server):
    alice, first = await member_of(sio_server, "r")
    await alice.ws.send("41")   # the client leaves the namespace
    await alice.ws.close()
    await asyncio.sleep(0.2)
    back = await RawSocket.open(sio_server)
    assert (await back.connect(auth={"pid": first["pid"]}, then_auth=False))["sid"] != first["sid"]


@pytest.mark.server_args("--recovery-window", "10000")
async def test_a_json_client_recovers_with_the_reconnect_query(sio_server):
    bob, _ = await member_of(sio_server, "r")
    url = sio_server.ws_url("/")
    first = await ws_connect(url)
    session = await recv_json(first)
    assert session["event"] == "session" and session["data"]["recovered"] is False
    pid, sid = session["data"]["pid"], session["data"]["id"]
    assert (await recv_json(first))["event"] == "auth"
    assert await recv_json(first) == {"event": "recovered", "data": False}
    await first.send(json.dumps({"event": "join", "data": "r", "id": 1}))
    assert (await recv_json(first))["ack"] == 1
    await room_emit(bob, "r", "live")
    live = await recv_json(first)
    assert live["data"] == ["r", "live"] and live["offset"]
    first.transport.abort()   # dropped: no close handshake
    await asyncio.sleep(0.2)
    for n in range(5):
        await room_emit(bob, "r", n)
    async with ws_connect(f"{url}?pid={pid}&offset={live['offset']}") as back:
        session = await recv_json(back)
        assert session == {"event": "session", "data": {"id": sid, "pid": pid, "recovered": True}}
        missed = [await recv_json(back) for _ in range(5)]
        assert [m["data"] for m in missed] == [["r", n] for n in range(5)]
        assert (await recv_json(back))["event"] == "auth"
        assert await recv_json(back) == {"event": "recovered", "data": True}
    await bob.ws.close()
