"""
Malformed Socket.IO input against the Socket.IO test server, over a raw Engine.IO WebSocket:
each case checks the outcome (the connection is closed, as Socket.IO servers close it, or the
packet is ignored) and that the server still serves a well-behaved client afterwards.
"""
from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from conftest import RawSocket, assert_serves


@pytest.mark.parametrize("packet, why", [
    ("49", "unknown packet type"),
    ("4", "empty packet"),
    ("40/a b,", "space in a namespace"),
    ("40/" + "n" * 300 + ",", "namespace over 256 bytes"),
    ('42["message",{]', "payload is not JSON"),
    ('42{"event":"message"}', "event payload is not an array"),
    ("42[]", "event without a name"),
    ('42[1,2]', "event name is not a string"),
    ('42["connect"]', "reserved event name"),
    ('42abc["message"]', "ack id is not a number"),
    ('421234567890123456["message"]', "ack id over 15 digits"),
    ('451000000000-["message",{"_placeholder":true,"num":0}]', "a billion attachments announced"),
    ('4565-["message"]', "65 attachments, over the limit of 64"),
    ('45-["message"]', "attachment count missing"),
    ('41{"x":1}', "DISCONNECT with a payload"),
    ('44{"message":"x"}', "CONNECT_ERROR from a client"),
    ('40"token"', "CONNECT auth that is not an object"),
])
async def test_malformed_packets_close_the_connection(sio_server, packet, why):
    sock = await RawSocket.open(sio_server)
    await sock.connect()
    await sock.ws.send(packet)
    await sock.expect_closed()
    await assert_serves(sio_server)


async def test_deeply_nested_json_is_refused_without_harm(sio_server):
    sock = await RawSocket.open(sio_server)
    await sock.connect()
    depth = 100_000
    await sock.ws.send('42["message",' + "[" * depth + "]" * depth + "]")
    # Read whole or refused: either way the server survives and serves others.
    try:
        reply = await sock.recv()
        assert reply.startswith('42["message-back",[[[')
    except websockets.exceptions.ConnectionClosed:
        pass
    await assert_serves(sio_server)


async def test_text_where_an_attachment_was_due_closes_the_connection(sio_server):
    sock = await RawSocket.open(sio_server)
    await sock.connect()
    await sock.ws.send('451-["message",{"_placeholder":true,"num":0}]')
    await sock.ws.send('42["message","instead"]')
    await sock.expect_closed()
    await assert_serves(sio_server)


async def test_an_attachment_no_packet_announced_closes_the_connection(sio_server):
    sock = await RawSocket.open(sio_server)
    await sock.connect()
    await sock.ws.send(b"\x01\x02")
    await sock.expect_closed()
    await assert_serves(sio_server)


async def test_attachments_that_never_come_hold_only_their_packet(sio_server):
    """A packet waits for its attachments; the connection stays up (pings go on) and other
    clients are served; the attachment that finally comes completes it."""
    sock = await RawSocket.open(sio_server)
    await sock.connect()
    await sock.ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    await sock.ws.send(b"\x01")
    await assert_serves(sio_server)
    with pytest.raises(asyncio.TimeoutError):
        await sock.recv(timeout=0.5)
    await sock.ws.send(b"\x02")
    assert await sock.recv() == '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    assert await sock.recv() == b"\x01"
    assert await sock.recv() == b"\x02"
    await sock.ws.close()


async def test_packets_for_a_namespace_not_joined_are_ignored(sio_server):
    sock = await RawSocket.open(sio_server)
    await sock.ws.send('42["message","before any CONNECT"]')
    await sock.ws.send('42/custom,["message","custom not joined"]')
    await sock.ws.send('43/custom,1["x"]')
    await sock.connect()
    await sock.ws.send('42["message","after"]')
    assert await sock.recv() == '42["message-back","after"]'
    await sock.ws.close()


async def test_a_second_connect_to_a_namespace_changes_nothing(sio_server):
    sock = await RawSocket.open(sio_server)
    await sock.connect()
    await sock.ws.send("40")
    await sock.ws.send('42["message","once"]')
    assert await sock.recv() == '42["message-back","once"]'
    await sock.ws.close()


async def test_errors_reach_the_client_as_ack_or_exception_event(sio_server):
    sock = await RawSocket.open(sio_server)
    await sock.connect()
    # No handler: with an ack id, the ack carries the error; without, an `exception` event.
    await sock.ws.send('427["nope",1]')
    reply = await sock.recv()
    assert reply.startswith("437[") and json.loads(reply[3:])[0]["error"]["code"] == "unknown_event"
    await sock.ws.send('42["nope",1]')
    reply = await sock.recv()
    assert reply.startswith('42["exception",')
    body = json.loads(reply[2:])[1]
    assert body["event"] == "nope" and body["error"]["code"] == "unknown_event"
    # A payload that fails decoding (join takes a string).
    await sock.ws.send('428["join",{"not":"a string"}]')
    reply = await sock.recv()
    assert reply.startswith("438[") and "error" in json.loads(reply[3:])[0]
    await sock.ws.close()


@pytest.mark.server_args("--connect-timeout", "300")
async def test_a_connection_that_joins_no_namespace_is_closed_after_the_connect_timeout(sio_server):
    idle = await RawSocket.open(sio_server)
    refused = await RawSocket.open(sio_server)
    await refused.ws.send('40/interop,{"token":"wrong"}')
    assert (await refused.recv()).startswith('44/interop,{"message":"unauthorized"')
    joined = await RawSocket.open(sio_server)
    await joined.connect()
    await idle.expect_closed()
    await refused.expect_closed()
    await asyncio.sleep(0.3)
    await joined.ws.send('42["message","kept"]')
    assert await joined.recv() == '42["message-back","kept"]'
    await joined.ws.close()


@pytest.mark.server_args("--connect-timeout", "300")
async def test_the_connect_timeout_keeps_counting_for_connections_opened_later(sio_server):
    # A loop waits for its oldest deadline only: one opened while it waits is due later, and
    # one opened after every deadline passed starts the wait again.
    first = await RawSocket.open(sio_server)
    await asyncio.sleep(0.15)
    second = await RawSocket.open(sio_server)
    joined_late = await RawSocket.open(sio_server)
    await first.expect_closed()
    await joined_late.connect()   # before its own deadline: kept
    await second.expect_closed()
    await asyncio.sleep(0.5)
    after = await RawSocket.open(sio_server)
    await after.expect_closed()
    await joined_late.ws.send('42["message","kept"]')
    assert await joined_late.recv() == '42["message-back","kept"]'
    await joined_late.ws.close()
