"""
The chat gateway's rules hold for Socket.IO clients as for JSON ones (python-socketio's
AsyncClient on namespace /chat): a payload that fails validation is answered with the error in
its ack, or, when it asked for none, with the `exception` event; the rate limit answers
`rate_limited` and its third violation closes the connection, while other clients, of either
protocol, go on being served.
"""
from __future__ import annotations

import asyncio

import pytest
import socketio

from .conftest import join, open_client, say

WAIT_S = 5.0


async def sio_client(server, token: str) -> tuple[socketio.AsyncClient, asyncio.Queue, asyncio.Queue]:
    """A Socket.IO client of /chat over WebSocket, logged in; its `exception` events and its
    disconnections land in queues."""
    client = socketio.AsyncClient(reconnection=False)
    exceptions: asyncio.Queue = asyncio.Queue()
    gone: asyncio.Queue = asyncio.Queue()
    client.on("exception", lambda data: exceptions.put_nowait(data), namespace="/chat")
    client.on("disconnect", lambda reason=None: gone.put_nowait(reason), namespace="/chat")
    await client.connect(server.url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"],
                         wait_timeout=WAIT_S)
    return client, exceptions, gone


async def test_invalid_payloads_are_answered_in_the_ack_or_an_exception_event(chat_server):
    alice, exceptions, _ = await sio_client(chat_server, "alice-token")
    try:
        assert await alice.call("chat:join", {"roomId": "general"}, namespace="/chat", timeout=WAIT_S) is None
        answer = await alice.call("chat:message", {"roomId": "general", "text": "x" * 1001}, namespace="/chat",
                                  timeout=WAIT_S)
        assert answer["error"]["code"] == "invalid_payload"
        assert "text" in [issue.get("path") for issue in answer["error"]["issues"]], answer
        answer = await alice.call("chat:message", "just a string", namespace="/chat", timeout=WAIT_S)
        assert answer["error"]["code"] == "invalid_payload"
        answer = await alice.call("chat:nonsense", {"x": 1}, namespace="/chat", timeout=WAIT_S)
        assert answer["error"]["code"] == "unknown_event"
        # No ack asked: the error comes as the `exception` event, naming the event.
        await alice.emit("chat:message", {"roomId": "not a room!", "text": "hi"}, namespace="/chat")
        error = await asyncio.wait_for(exceptions.get(), WAIT_S)
        assert error["event"] == "chat:message" and error["error"]["code"] == "invalid_payload"
        assert "roomId" in [issue.get("path") for issue in error["error"]["issues"]], error
        # A valid message still goes through.
        answer = await alice.call("chat:message", {"roomId": "general", "text": "fine"}, namespace="/chat",
                                  timeout=WAIT_S)
        assert answer["message"] == "fine"
    finally:
        await alice.disconnect()


@pytest.mark.chat_args("--rate", "5")
async def test_the_rate_limit_answers_rate_limited_and_closes_at_the_third_violation(chat_server):
    alice, _, gone = await sio_client(chat_server, "alice-token")
    answers: list = []
    try:
        async with open_client(chat_server, token="bob-token") as bob:
            await join(bob, "general")
            for n in range(20):
                await alice.emit("chat:join", {"roomId": "general"}, namespace="/chat",
                                 callback=lambda *args: answers.append(args[0] if args else None))
            await asyncio.wait_for(gone.get(), WAIT_S)
            limited = [a for a in answers if isinstance(a, dict) and a.get("error", {}).get("code") == "rate_limited"]
            served = [a for a in answers if a is None]
            assert len(limited) == 3, answers
            assert 5 <= len(served) < 17, answers
            # Others are still served: bob (JSON), and a fresh Socket.IO client.
            assert (await say(bob, "general", "unaffected"))["message"] == "unaffected"
            carol, _, _ = await sio_client(chat_server, "carol-token")
            assert await carol.call("chat:join", {"roomId": "general"}, namespace="/chat", timeout=WAIT_S) is None
            await carol.disconnect()
    finally:
        if alice.connected:
            await alice.disconnect()
