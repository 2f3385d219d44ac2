"""
End-to-end tests of the gateway layer through the chat example (Sources/chat-example), one
test (or a small group) per scenario of the spec, each with real Python `websockets` clients.

Absence ("X does not reach C") is never checked by sleeping: the message under test is followed
by a marker that C does receive, sent once X was handled (its ack came back, or a later
message from the same client was answered), and the check runs as soon as the marker is there.
Whatever X made the server send to C was queued before the marker: a handler's emits are queued
before its ack, and a loop runs what is posted to it in order.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest
import websockets
from websockets.asyncio.client import connect as ws_connect

from .conftest import (CLOSE_POLICY, assert_complete_http_error, http_exchange, join, say, with_text,
                      open_client)


def in_room(room):
    return lambda data: isinstance(data, dict) and data.get("roomId") == room


# ---- rooms -----------------------------------------------------------------------------------

async def test_room_broadcast_reaches_members_only(chat_server):
    async with contextlib.AsyncExitStack() as stack:
        alice = await stack.enter_async_context(open_client(chat_server, token="alice-token"))
        bob = await stack.enter_async_context(open_client(chat_server, token="bob-token"))
        carol = await stack.enter_async_context(open_client(chat_server, token="carol-token"))
        guest = await stack.enter_async_context(open_client(chat_server, name="guest"))   # no room at all
        await join(alice, "general")
        await join(bob, "general")
        await join(alice, "marker")
        await join(carol, "marker")

        await say(alice, "general", "hello general")
        await say(alice, "marker", "marker 1")

        for member in (alice, bob):
            got = await member.recv_event("chat:message", where=with_text("hello general"))
            assert got["data"]["roomId"] == "general"
            assert got["data"]["userId"] == "alice"
        # carol is in "marker" only: the marker arrives, the general message never did.
        await carol.recv_event("chat:message", where=with_text("marker 1"))
        assert carol.received("chat:message", in_room("general")) == [], carol.history
        # bob is not in "marker".
        await say(bob, "general", "marker 2")
        await bob.recv_event("chat:message", where=with_text("marker 2"))
        assert bob.received("chat:message", in_room("marker")) == [], bob.history
        # guest joined nothing: a broadcast to everyone (the announcement) is its marker.
        await alice.request("admin:announce", {"message": "marker 3"})
        await guest.recv_event("announcement", where=lambda d: d == {"message": "marker 3"})
        assert guest.received("chat:message") == [], guest.history


async def test_leave_stops_room_broadcasts(chat_server):
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob:
        await join(alice, "general")
        await join(bob, "general")
        await join(bob, "marker")
        await join(alice, "marker")
        await bob.request("chat:leave", {"roomId": "general"})
        await say(alice, "general", "after bob left")
        await say(alice, "marker", "marker")
        await alice.recv_event("chat:message", where=with_text("after bob left"))
        await bob.recv_event("chat:message", where=with_text("marker"))
        assert bob.received("chat:message", in_room("general")) == [], bob.history
        # Bob's chat:message to a room he left is refused by the handler (WsException).
        n = bob.next_id()
        await bob.emit("chat:message", {"roomId": "general", "text": "still there?"}, id=n)
        await bob.expect_error(n, "not_in_room")


async def test_typing_reaches_others_not_the_sender(chat_server):
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob, \
            open_client(chat_server, token="carol-token") as carol:
        for c in (alice, bob, carol):
            await join(c, "general")
        await alice.emit("chat:typing", {"roomId": "general"})
        # The marker: alice's own room broadcast, sent after the typing notice.
        await say(alice, "general", "typed")
        for other in (bob, carol):
            notice = await other.recv_event("chat:typing")
            assert notice["data"] == {"roomId": "general", "userId": "alice"}
        await alice.recv_event("chat:message", where=with_text("typed"))
        assert alice.received("chat:typing") == [], alice.history
        # And the other way round: bob's typing reaches alice.
        await bob.emit("chat:typing", {"roomId": "general"})
        notice = await alice.recv_event("chat:typing")
        assert notice["data"] == {"roomId": "general", "userId": "bob"}


# ---- guards ----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["no token", "unknown token", "unknown bearer"])
async def test_gateway_guard_rejects_at_connect(chat_server, how):
    url = chat_server.ws_url("/ws/protected")
    headers = None
    if how == "unknown token":
        url += "?token=mallory-token"
    elif how == "unknown bearer":
        headers = {"Authorization": "Bearer mallory-token"}
    async with ws_connect(url, additional_headers=headers, open_timeout=5, close_timeout=5) as ws:
        # A message sent before the guard decides must not reach a handler (the server may
        # have closed already, then the send fails).
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(json.dumps({"event": "whoami", "id": 1}))
        received = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                received.append(await asyncio.wait_for(ws.recv(), 5))
    assert closed.value.rcvd is not None, f"no close frame from the server ({closed.value})"
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (CLOSE_POLICY, "unauthorized")
    assert received == [], f"a refused client got {received}"


@pytest.mark.parametrize("how", ["query", "bearer"])
async def test_gateway_guard_accepts_known_token(chat_server, how):
    kwargs = {"token": "alice-token"} if how == "query" else {"bearer": "alice-token"}
    async with open_client(chat_server, "/ws/protected", **kwargs) as alice:
        await alice.emit("whoami", id=1)
        reply = await alice.expect_ack(1)
        assert reply == {"event": "whoami", "data": "Alice", "ack": 1}
    async with open_client(chat_server, "/ws/protected", bearer="bob-token") as bob:
        assert await bob.request("whoami") == "Bob"


async def test_handler_guard_rejects_message_and_keeps_connection(chat_server):
    async with open_client(chat_server, token="bob-token") as bob, \
            open_client(chat_server, token="alice-token") as alice:
        await bob.emit("admin:announce", {"message": "bob says"}, id=7)
        reply = await bob.expect_error(7, "forbidden")
        assert reply["event"] == "admin:announce"
        # Without an id the refusal still comes back, as an error with no ack.
        await bob.emit("admin:announce", {"message": "bob again"})
        await bob.expect_error(None, "forbidden")
        # The connection is still usable.
        await join(bob, "general")
        assert (await say(bob, "general", "still here"))["message"] == "still here"
        # Nobody got bob's announcement; alice's (the marker) reaches both.
        await alice.request("admin:announce", {"message": "from alice"})
        for c in (alice, bob):
            await c.recv_event("announcement", where=lambda d: d == {"message": "from alice"})
            assert [e["data"] for e in c.received("announcement")] == [{"message": "from alice"}], c.history


# ---- payload validation and protocol errors --------------------------------------------------

async def test_invalid_payloads_get_structured_errors(chat_server):
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob:
        await join(alice, "general")
        await join(bob, "general")

        await alice.emit("chat:message", {"roomId": "general", "text": "x" * 1001}, id=1)
        error = (await alice.expect_error(1, "invalid_payload"))["error"]
        assert "text" in [i.get("path") for i in error.get("issues", [])], error

        await alice.emit("chat:message", {"roomId": "general", "text": 42}, id=2)
        error = (await alice.expect_error(2, "invalid_payload"))["error"]
        assert "text" in [i.get("path") for i in error.get("issues", [])], error

        await alice.emit("chat:message", {"roomId": "not a room!", "text": "hi"}, id=3)
        error = (await alice.expect_error(3, "invalid_payload"))["error"]
        assert "roomId" in [i.get("path") for i in error.get("issues", [])], error

        await alice.emit("chat:message", {"roomId": "general"}, id=4)            # missing field
        await alice.expect_error(4, "invalid_payload")
        await alice.emit("chat:message", "just a string", id=5)                  # wrong type
        await alice.expect_error(5, "invalid_payload")
        await alice.emit("chat:message", {"roomId": "general", "text": ""}, id=6)  # below min length
        await alice.expect_error(6, "invalid_payload")

        await alice.send_raw('{"event":"chat:message","data":{"roomId":')       # malformed JSON
        await alice.expect_error(None, "invalid_envelope")
        await alice.send_raw("[1,2,3]")                                          # JSON, not an envelope
        await alice.expect_error(None, "invalid_envelope")

        await alice.emit("chat:nonsense", {"x": 1}, id=8)
        reply = await alice.expect_error(8, "unknown_event")
        assert reply["event"] == "chat:nonsense"

        # Still usable, and no invalid message reached the handler (nothing was broadcast).
        assert (await say(alice, "general", "valid at last"))["message"] == "valid at last"
        await bob.recv_event("chat:message", where=with_text("valid at last"))
        assert [e["data"]["message"] for e in bob.received("chat:message")] == ["valid at last"], bob.history


async def test_ack_round_trip(chat_server):
    async with open_client(chat_server, token="alice-token") as alice:
        await join(alice, "general")
        before = time.time() * 1000
        await alice.emit("chat:message", {"roomId": "general", "text": "ack me"}, id=42)
        reply = await alice.expect_ack(42)
        after = time.time() * 1000
        assert set(reply) == {"event", "data", "ack"}, reply
        assert reply["event"] == "chat:message" and reply["ack"] == 42
        data = reply["data"]
        assert data["userId"] == "alice"
        assert data["message"] == "ack me"
        assert data["roomId"] == "general"
        assert isinstance(data["timestamp"], (int, float))
        assert before - 1000 <= data["timestamp"] <= after + 1000, (before, data["timestamp"], after)
        # Ids are the client's: any integer in 0..2^53-1 comes back as it was sent; others make
        # the envelope invalid (nws_json.h: "a non-negative integer below 2^53").
        for n in (0, 2**40, 2**53 - 1):
            await alice.emit("chat:message", {"roomId": "general", "text": f"id {n}"}, id=n)
            assert (await alice.expect_ack(n))["data"]["message"] == f"id {n}"
        for bad in (-5, 2**53, 1.5, "7"):
            await alice.emit("chat:message", {"roomId": "general", "text": f"id {bad}"}, id=bad)
            await alice.expect_error(None, "invalid_envelope")
        # The handler throws WsException when the client is not in the room: an error ack.
        await alice.emit("chat:message", {"roomId": "elsewhere", "text": "nope"}, id=43)
        reply = await alice.expect_error(43, "not_in_room")
        assert reply["event"] == "chat:message"
        # A message without an id gets no ack (only the room broadcast): the next ack alice
        # receives is the marker's.
        acks_before = len([e for e in alice.history if "ack" in e])
        await alice.emit("chat:message", {"roomId": "general", "text": "no id"})
        await alice.recv_event("chat:message", where=with_text("no id"))
        await say(alice, "general", "marker")
        acks = [e for e in alice.history if "ack" in e][acks_before:]
        assert [e["data"]["message"] for e in acks] == ["marker"], acks


# ---- disconnect ------------------------------------------------------------------------------

async def test_disconnect_removes_client_from_rooms(chat_server):
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob:
        await join(alice, "general")
        await join(bob, "general")
        async with open_client(chat_server, token="carol-token") as carol:
            await join(carol, "general")
        # carol is gone; a room broadcast reaches exactly the remaining members.
        await say(alice, "general", "who is left?")
        for c in (alice, bob):
            got = await c.recv_event("chat:message", where=with_text("who is left?"))
            assert got["data"]["userId"] == "alice"
        # carol again, on a new connection that joined nothing: the room does not reach it.
        async with open_client(chat_server, token="carol-token") as carol2:
            await join(alice, "marker")
            await join(carol2, "marker")
            await say(alice, "general", "only members")
            await say(alice, "marker", "marker")
            await carol2.recv_event("chat:message", where=with_text("marker"))
            assert carol2.received("chat:message", in_room("general")) == [], carol2.history
        await bob.recv_event("chat:message", where=with_text("only members"))
        assert (await say(bob, "general", "bob still served"))["message"] == "bob still served"


async def test_disconnect_notifies_room_with_chat_left(chat_server):
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob:
        await join(alice, "general")
        await join(bob, "general")
        async with open_client(chat_server, token="carol-token") as carol:
            await join(carol, "general")
            await join(carol, "second")
            await join(alice, "second")
        for c in (alice, bob):
            left = await c.recv_event("chat:left", where=in_room("general"))
            assert left["data"] == {"roomId": "general", "userId": "carol"}
        left = await alice.recv_event("chat:left", where=in_room("second"))
        assert left["data"] == {"roomId": "second", "userId": "carol"}
        # Bob was never in "second".
        await say(alice, "general", "marker")
        await bob.recv_event("chat:message", where=with_text("marker"))
        assert bob.received("chat:left", in_room("second")) == [], bob.history


# ---- broadcasting from a service -------------------------------------------------------------

async def test_service_notifies_every_connection_of_a_user(chat_server):
    async with contextlib.AsyncExitStack() as stack:
        alice = await stack.enter_async_context(open_client(chat_server, token="alice-token"))
        bob1 = await stack.enter_async_context(open_client(chat_server, token="bob-token", name="bob1"))
        bob2 = await stack.enter_async_context(open_client(chat_server, bearer="bob-token", name="bob2"))
        carol = await stack.enter_async_context(open_client(chat_server, token="carol-token"))
        await alice.request("notify:user", {"userId": "bob", "text": "psst"})
        for b in (bob1, bob2):
            got = await b.recv_event("notification")
            assert got["data"] == {"userId": "alice", "text": "psst"}
        # The marker: a notification to carol sent after the one to bob.
        await alice.request("notify:user", {"userId": "carol", "text": "marker"})
        await carol.recv_event("notification")
        assert [e["data"]["text"] for e in carol.received("notification")] == ["marker"], carol.history
        # alice's own marker is the acks of her requests: a stray notification to her would have
        # been queued before them.
        assert alice.received("notification") == [], alice.history
        # bob's: a second notification to him, after the first.
        await alice.request("notify:user", {"userId": "bob", "text": "marker"})
        for b in (bob1, bob2):
            await b.recv_event("notification", where=lambda d: d["text"] == "marker")
            assert [e["data"]["text"] for e in b.received("notification")] == ["psst", "marker"], b.history


async def test_service_announcement_reaches_every_namespace(chat_server):
    async with contextlib.AsyncExitStack() as stack:
        alice = await stack.enter_async_context(open_client(chat_server, token="alice-token"))
        bob = await stack.enter_async_context(open_client(chat_server, token="bob-token"))
        guest = await stack.enter_async_context(open_client(chat_server, name="guest"))
        p_bob = await stack.enter_async_context(open_client(chat_server, "/ws/protected", bearer="bob-token",
                                                            name="protected bob"))
        p_carol = await stack.enter_async_context(open_client(chat_server, "/ws/protected", token="carol-token",
                                                              name="protected carol"))
        # The protected clients are accepted (the guard ran) before the announcement.
        assert await p_bob.request("whoami") == "Bob"
        assert await p_carol.request("whoami") == "Carol"
        reply = await alice.request("admin:announce", {"message": "hello everyone"})
        assert reply is None, reply   # the handler returns nothing: an ack without data
        for c in (alice, bob, guest, p_bob, p_carol):
            got = await c.recv_event("announcement")
            # The example keeps broadcasts for connection state recovery: each has its offset.
            assert isinstance(got.pop("offset"), str), (c.name, got)
            assert got == {"event": "announcement", "data": {"message": "hello everyone"}}, (c.name, got)
        # Announcement payloads are validated too (1..500 characters).
        n = alice.next_id()
        await alice.emit("admin:announce", {"message": ""}, id=n)
        await alice.expect_error(n, "invalid_payload")


# ---- rate limits -----------------------------------------------------------------------------

@pytest.mark.chat_args("--rate", "5")
async def test_rate_limit_violations_close_with_1008(chat_server):
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob:
        await join(bob, "general")   # one of bob's 5 tokens
        burst = [json.dumps({"event": "chat:join", "data": {"roomId": "general"}, "id": n}) for n in range(1, 21)]
        for text in burst:
            await alice.send_raw(text)
        code, reason = await alice.expect_close()
        replies = [e for e in alice.history if "ack" in e]
        limited = [e for e in replies if e.get("error", {}).get("code") == "rate_limited"]
        served = [e for e in replies if "error" not in e]
        assert (code, reason) == (CLOSE_POLICY, "rate limit exceeded"), (code, reason, alice.history)
        # A burst of 5 (a few more if tokens refill while the burst arrives), then 3 violations,
        # the third of which closes.
        assert 5 <= len(served) < 17, alice.history
        assert len(limited) == 3, alice.history
        assert all(e["event"] == "chat:join" for e in limited)
        assert [e["ack"] for e in replies] == list(range(1, len(replies) + 1)), "replies out of order or missing"
        assert len(replies) < 20, "messages after the closing violation were answered"
        # Others are still served: bob, and a fresh client.
        assert (await say(bob, "general", "unaffected"))["message"] == "unaffected"
        async with open_client(chat_server, token="carol-token") as carol:
            await join(carol, "general")
            await bob.recv_event("chat:message", where=with_text("unaffected"))


@pytest.mark.chat_args("--rate", "5")
async def test_rate_limit_spares_clients_under_the_limit(chat_server):
    async with open_client(chat_server, token="alice-token") as alice:
        await join(alice, "general")
        for i in range(8):                        # 4 messages per second: never limited
            await say(alice, "general", f"slow {i}")
            await asyncio.sleep(0.25)
        assert not [e for e in alice.history if "error" in e], alice.history


# ---- namespaces ------------------------------------------------------------------------------

async def test_namespaces_side_by_side(chat_server):
    async with contextlib.AsyncExitStack() as stack:
        alice = await stack.enter_async_context(open_client(chat_server, token="alice-token"))
        bob = await stack.enter_async_context(open_client(chat_server, token="bob-token"))
        p_alice = await stack.enter_async_context(open_client(chat_server, "/ws/protected", token="alice-token",
                                                              name="protected alice"))
        p_bob = await stack.enter_async_context(open_client(chat_server, "/ws/protected", token="bob-token",
                                                            name="protected bob"))
        await join(alice, "general")
        await join(bob, "general")

        # Both gateways serve at the same time: all four connections make requests concurrently.
        async def chat(c):
            return [(await say(c, "general", f"{c.name} {i}"))["message"] for i in range(10)]

        async def whoami(c):
            return [await c.request("whoami") for _ in range(10)]

        said_a, said_b, who_a, who_b = await asyncio.gather(chat(alice), chat(bob), whoami(p_alice), whoami(p_bob))
        assert said_a == [f"{alice.name} {i}" for i in range(10)]
        assert said_b == [f"{bob.name} {i}" for i in range(10)]
        assert (who_a, who_b) == (["Alice"] * 10, ["Bob"] * 10)

        # A room broadcast in /chat does not leak into /protected; the marker is alice's
        # announcement, sent after it, which every namespace gets.
        await say(alice, "general", "chat only")
        await alice.request("admin:announce", {"message": "marker"})
        for p in (p_alice, p_bob):
            await p.recv_event("announcement")
            assert p.received("chat:message") == [], p.history
        # The user:<id> room of /chat is not joined in /protected: a notification stays in /chat.
        await alice.request("notify:user", {"userId": "bob", "text": "chat side"})
        await bob.recv_event("notification")
        await alice.request("admin:announce", {"message": "marker 2"})
        await p_bob.recv_event("announcement", where=lambda d: d == {"message": "marker 2"})
        assert p_bob.received("notification") == [], p_bob.history
        # /protected has no chat events.
        n = p_alice.next_id()
        await p_alice.emit("chat:join", {"roomId": "general"}, id=n)
        await p_alice.expect_error(n, "unknown_event")


@pytest.mark.parametrize("path", ["/ws/nothing", "/ws", "/ws/chat/extra", "/chat", "/ws/protectedx"])
async def test_path_without_gateway_is_404(chat_server, path):
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with ws_connect(chat_server.ws_url(path), open_timeout=5):
            pass
    assert refused.value.response.status_code == 404
    # The raw answer is a whole HTTP response and the server closes the connection after it.
    request = (f"GET {path} HTTP/1.1\r\nHost: {chat_server.host}:{chat_server.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode()
    answer = await asyncio.to_thread(http_exchange, chat_server, request)
    assert_complete_http_error(answer, 404)
    # The gateways are still there.
    async with open_client(chat_server, "/ws/protected", token="carol-token") as carol:
        assert await carol.request("whoami") == "Carol"


async def test_page_is_served_at_root(chat_server):
    request = (f"GET / HTTP/1.1\r\nHost: {chat_server.host}:{chat_server.port}\r\n"
               f"Connection: close\r\n\r\n").encode()
    answer = await asyncio.to_thread(http_exchange, chat_server, request)
    assert answer.status == 200, answer.raw[:300]
    assert answer.headers.get("content-type", "").startswith("text/html"), answer.headers
    assert int(answer.headers["content-length"]) == len(answer.body)
    assert b"<title>NaviosWS chat</title>" in answer.body


# ---- ordering --------------------------------------------------------------------------------

@pytest.mark.deadline(60)
async def test_messages_from_one_client_are_handled_in_order(chat_server):
    count = 200
    async with open_client(chat_server, token="alice-token") as alice, \
            open_client(chat_server, token="bob-token") as bob:
        await join(alice, "general")
        await join(bob, "general")
        # Every 7th message goes through an async handler with a guard (admin:announce), the
        # others run inline: the order must hold across both paths.
        frames = []
        for n in range(1, count + 1):
            if n % 7 == 0:
                frames.append({"event": "admin:announce", "data": {"message": f"a{n}"}, "id": n})
            else:
                frames.append({"event": "chat:message", "data": {"roomId": "general", "text": f"m{n}"}, "id": n})
        for f in frames:                          # back to back, no waiting for answers
            await alice.send_raw(json.dumps(f))
        acks = []
        while len(acks) < count:
            reply = await alice.recv_matching(lambda e: "ack" in e, what=f"ack #{len(acks) + 1}")
            assert "error" not in reply, reply
            acks.append(reply)
        assert [a["ack"] for a in acks] == list(range(1, count + 1))
        for a in acks:
            if a["event"] == "chat:message":
                assert a["data"]["message"] == f"m{a['ack']}"
        # Bob sees alice's broadcasts in the order she sent them.
        last = f"m{count - 1 if count % 7 == 0 else count}"
        await bob.recv_event("chat:message", where=with_text(last), timeout=10)
        seen = [e["data"]["message"] for e in bob.received("chat:message")]
        assert seen == [f["data"]["text"] for f in frames if f["event"] == "chat:message"]
        announced = [e["data"]["message"] for e in bob.received("announcement")]
        assert announced == [f"a{n}" for n in range(7, count + 1, 7)][:len(announced)]
