"""`volatile` for Socket.IO clients under backpressure: an emit to one client
(`client.volatile.emit`) and a room broadcast (`to(room).volatile.emit`) are dropped for a client
whose send queue is over --max-backlog, and that client stays connected and is served; the same
messages without volatile close it with 1008. Over WebSocket and over long-polling (whose packets
waiting for a GET are its queue)."""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket

import pytest
import websockets

from conftest import RawSocket, assert_serves

BACKLOG = 65_536
ITEM = 10_000   # a few fit under the backlog, and an ack always fits beside them


async def ask(sock: RawSocket, ack: int, event: str, *args) -> None:
    await sock.ws.send(f"42{ack}" + json.dumps([event, *args], separators=(",", ":")))


async def read_until_ack(sock: RawSocket, ack: int) -> tuple[list[int], list]:
    """Everything up to the ack `ack`: the `n` of each flood item (or room message count), and
    the ack's arguments."""
    seen: list[int] = []
    while True:
        message = await sock.recv()
        if message.startswith(f"43{ack}["):
            return seen, json.loads(message[2 + len(str(ack)):])
        assert message.startswith("42"), message[:80]
        name, body = json.loads(message[2:])[:2]
        seen.append(body["n"] if name == "flood" else len(seen))


async def expect_policy_close(sock: RawSocket) -> None:
    """The server closed the connection for its backlog: 1008 once its queue is read."""
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(sock.ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, closed.value


@pytest.mark.server_args("--max-backlog", str(BACKLOG))
async def test_volatile_emits_to_a_client_that_does_not_read_are_dropped_and_it_stays(sio_server):
    slow = await RawSocket.open(sio_server)
    await slow.connect()
    # Each flood queues its 20 items at once (the queue is written out after the handler): past
    # the limit, a few items in, the rest are dropped. The ack, a few bytes, still fits.
    for ack in range(10):
        await ask(slow, ack, "flood", {"count": 20, "size": ITEM, "volatile": True})
    await asyncio.sleep(0.5)
    dropped = 0
    for ack in range(10):
        seen, (dropped_now,) = await read_until_ack(slow, ack)
        assert seen == sorted(seen) and len(seen) + dropped_now == 20, (seen, dropped_now)
        dropped += dropped_now
    assert dropped > 0, "nothing was dropped: the queue never reached its limit"
    await slow.ws.send('42["message","still here"]')
    assert await slow.recv() == '42["message-back","still here"]'
    await slow.ws.close()


@pytest.mark.server_args("--max-backlog", str(BACKLOG))
async def test_the_same_emits_without_volatile_close_the_client_with_1008(sio_server):
    slow = await RawSocket.open(sio_server)
    await slow.connect()
    await ask(slow, 0, "flood", {"count": 20, "size": ITEM, "volatile": False})
    await expect_policy_close(slow)
    await assert_serves(sio_server)


@pytest.mark.server_args("--max-backlog", str(BACKLOG))
async def test_volatile_room_broadcasts_skip_a_slow_member_and_plain_ones_close_it(sio_server):
    # The member reads nothing while 10 MB come for it, then 40 MB. What waits unread between the
    # server's queue and the test must stay well under that: the server's send buffer (to 4 MB
    # here, tcp_wmem), the member's receive buffer and its client's queue of 16 frames. The
    # receive buffer is held at 256 KB: left to the kernel it grows (to 32 MB here, tcp_rmem) once
    # its client has read fast, as after the volatile part, and 100 plain messages then all fit
    # in 1 run of 20.
    slow = await RawSocket.open(sio_server)
    slow.ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
    await slow.connect()
    await slow.ws.send('420["join","slow"]')
    assert await slow.recv() == '430["slow"]'
    sender = await RawSocket.open(sio_server)
    await sender.connect()
    text = "x" * 100_000
    for ack in range(100):
        await ask(sender, ack, "volatile-room-emit", "slow", text)
        assert await sender.recv() == f"43{ack}[true]"
    received = 0
    with contextlib.suppress(asyncio.TimeoutError):
        while True:   # what was not dropped, until nothing more comes
            message = await slow.recv(timeout=1)
            assert message.startswith('42["room-message","slow"'), message[:80]
            received += 1
    assert 0 < received < 100, received
    await slow.ws.send('42["message","after the volatile ones"]')
    assert await slow.recv() == '42["message-back","after the volatile ones"]'
    for ack in range(100, 500):
        await ask(sender, ack, "room-emit", "slow", text)
        assert await sender.recv() == f"43{ack}[true]"
    await expect_policy_close(slow)
    await sender.ws.send('42["message","sender served"]')
    assert await sender.recv() == '42["message-back","sender served"]'
    await sender.ws.close()


# ---- long-polling ------------------------------------------------------------------------------

def request(server, method: str, query: str, body: bytes = b"") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request(method, "/socket.io/?EIO=4&transport=polling" + query, body=body)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def polling_client(server) -> str:
    """A long-polling session CONNECTed to `/`, its CONNECT reply and `auth` event read."""
    status, body = request(server, "GET", "")
    assert status == 200 and body.startswith(b"0"), body
    sid = json.loads(body[1:])["sid"]
    assert request(server, "POST", f"&sid={sid}", b"40") == (200, b"ok")
    status, body = request(server, "GET", f"&sid={sid}")
    assert status == 200 and body.startswith(b"40{") and b'42["auth",{}]' in body, body
    return sid


@pytest.mark.server_args("--max-backlog", str(BACKLOG))
def test_volatile_emits_to_a_polling_client_that_does_not_poll_are_dropped(sio_server):
    server = sio_server
    sid = polling_client(server)
    flood = {"count": 20, "size": ITEM, "volatile": True}
    for ack in range(3):   # no GET in between: what waits for one is the session's queue
        body = f"42{ack}" + json.dumps(["flood", flood], separators=(",", ":"))
        assert request(server, "POST", f"&sid={sid}", body.encode()) == (200, b"ok")
    acks, items = [], []
    while len(acks) < 3:
        status, body = request(server, "GET", f"&sid={sid}")
        assert status == 200, (status, body[:80])
        for packet in body.decode().split("\x1e"):
            if packet.startswith("43"):
                acks.append(json.loads(packet[2 + len(str(len(acks))):]))
            elif packet.startswith('42["flood"'):
                items.append(json.loads(packet[2:])[1]["n"])
    assert sum(dropped for (dropped,) in acks) == 60 - len(items) and len(items) < 60, (acks, len(items))
    assert request(server, "POST", f"&sid={sid}", b'42["message","polled"]') == (200, b"ok")
    assert request(server, "GET", f"&sid={sid}") == (200, b'42["message-back","polled"]')


@pytest.mark.server_args("--max-backlog", str(BACKLOG))
def test_the_same_emits_without_volatile_close_the_polling_session(sio_server):
    server = sio_server
    sid = polling_client(server)
    body = "420" + json.dumps(["flood", {"count": 20, "size": ITEM, "volatile": False}], separators=(",", ":"))
    assert request(server, "POST", f"&sid={sid}", body.encode()) == (200, b"ok")
    status, answer = request(server, "GET", f"&sid={sid}")
    assert status == 400 or answer.endswith(b"1"), (status, answer[-80:])   # gone, or its close packet
    polling_client(server)   # others are still served
