"""
test_engineio.py — Engine.IO v4 served by the core beside plain WebSocket, over WebSocket and
over HTTP long-polling with the upgrade: the echo server with --eio-path speaks Engine.IO on that
path (a bare Engine.IO echo server, as the official protocol suite wants at /engine.io/), with
the suite's 300 ms ping interval and 200 ms ping timeout, on two loops (so that requests for a
session land on a loop that does not own it and move there). Clients here are the websockets
library and plain HTTP requests; each test ends with plain WebSocket clients, and another
Engine.IO session, still served.

    .venv/bin/python -m pytest Tests/Interop/test_engineio.py -q
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import time

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from conftest import (CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, EchoServer, assert_complete_http_error, assert_still_serving,
                      http_exchange)

PING_INTERVAL_MS, PING_TIMEOUT_MS = 300, 200
pytestmark = pytest.mark.server_args("--loops", "2", "--eio-path", "/engine.io/",
                                     "--eio-ping-interval", str(PING_INTERVAL_MS), "--eio-ping-timeout", str(PING_TIMEOUT_MS))


def eio_url(server, query: str = "EIO=4&transport=websocket") -> str:
    return server.url.rstrip("/") + "/engine.io/?" + query


@contextlib.contextmanager
def session(server, path: str = "/engine.io/"):
    """A WebSocket session, and its open packet read."""
    with websockets.sync.client.connect(server.url.rstrip("/") + path + "?EIO=4&transport=websocket",
                                        open_timeout=5, close_timeout=2, compression=None, max_size=None) as ws:
        first = ws.recv(timeout=5)
        assert isinstance(first, str) and first.startswith("0"), first
        yield ws, json.loads(first[1:])


def assert_eio_still_serving(server) -> None:
    with session(server) as (ws, _):
        ws.send("4still here")
        assert ws.recv(timeout=5) == "4still here"
    assert_still_serving(server)


def test_the_open_packet_is_the_first_frame_with_exactly_the_protocols_keys(server):
    with session(server) as (ws, handshake):
        assert list(handshake) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]
        assert handshake["upgrades"] == []          # nothing to upgrade to from WebSocket
        assert handshake["pingInterval"] == PING_INTERVAL_MS
        assert handshake["pingTimeout"] == PING_TIMEOUT_MS
        assert handshake["maxPayload"] == 1_000_000
        assert len(handshake["sid"]) == 32
    with session(server) as (other, second):
        assert second["sid"] != handshake["sid"]
    assert_eio_still_serving(server)


def test_the_trailing_slash_of_the_path_is_optional(server):
    with session(server, "/engine.io") as (ws, _):
        ws.send("4x")
        assert ws.recv(timeout=5) == "4x"


def test_message_packets_are_echoed_text_with_its_type_and_binary_as_it_is(server):
    with session(server) as (ws, _):
        for text in ["hello", "", "é€😀" * 100, "x" * 70000]:
            ws.send("4" + text)
            assert ws.recv(timeout=5) == "4" + text
        for data in [b"\x01\x02\x03\x04", b"", bytes(range(256)) * 300]:
            ws.send(data)
            assert ws.recv(timeout=5) == data
    assert_eio_still_serving(server)


def test_a_probe_is_answered_and_upgrade_and_noop_are_ignored(server):
    with session(server) as (ws, _):
        ws.send("2probe")
        assert ws.recv(timeout=5) == "3probe"
        ws.send("5")
        ws.send("6")
        ws.send("4after")
        assert ws.recv(timeout=5) == "4after"


@pytest.mark.parametrize("packet", ["abc", "", "0", "9x", "bAQID"], ids=["letters", "empty", "open", "unknown", "base64"])
def test_an_invalid_packet_closes_the_session_with_a_protocol_error(server, packet):
    with session(server) as (ws, _):
        ws.send(packet)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_PROTOCOL_ERROR
    assert_eio_still_serving(server)


def test_a_close_packet_closes_the_session(server):
    with session(server) as (ws, _):
        ws.send("1")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_NORMAL
    assert_eio_still_serving(server)


def test_the_server_pings_and_a_client_that_answers_stays(server):
    with session(server) as (ws, _):
        for _ in range(3):
            assert ws.recv(timeout=2) == "2"
            ws.send("3")
        ws.send("4alive")
        assert ws.recv(timeout=2) == "4alive"


def test_a_client_that_never_answers_a_ping_is_cut_after_the_timeout(server):
    with session(server) as (ws, _):
        start = time.monotonic()
        assert ws.recv(timeout=2) == "2"
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=5)
        # The ping at 300 ms, the cut at 500 ms (the wheel's 8 ms ticks aside); no bound is
        # asserted on a loaded machine, only that it came and that it was not before the timeout.
        assert time.monotonic() - start >= (PING_INTERVAL_MS + PING_TIMEOUT_MS - 50) / 1000 - 0.3
    assert_eio_still_serving(server)


def test_plain_websocket_heartbeat_stays_off_on_an_engine_io_session(server):
    """No WebSocket ping frame is sent (the websockets library would answer it and the session
    would stay up): only Engine.IO's own."""
    with session(server) as (ws, _):
        assert ws.recv(timeout=2) == "2"


def eio_get(server, query: str, method: str = "GET", headers: str = "") -> object:
    request = f"{method} /engine.io/?{query} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: 0\r\n\r\n"
    return http_exchange(server, request.encode())


@pytest.mark.parametrize("query,method,code", [
    ("transport=polling", "GET", 5),                         # no EIO
    ("EIO=abc&transport=polling", "GET", 5),
    ("EIO=3&transport=websocket", "GET", 5),                 # Engine.IO v3 is not served
    ("EIO=4", "GET", 0),                                     # no transport
    ("EIO=4&transport=abc", "GET", 0),
    ("EIO=4&transport=polling", "POST", 2),                  # a session opens with a GET
    ("EIO=4&transport=polling", "PUT", 2),
    ("EIO=4&transport=websocket", "GET", 3),                 # websocket without an upgrade
    ("EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", "GET", 1),   # no such session
])
def test_requests_the_protocol_refuses_get_its_400_and_error_code(server, query, method, code):
    answer = eio_get(server, query, method)
    assert_complete_http_error(answer, 400)
    assert answer.headers["content-type"] == "application/json"
    body = json.loads(answer.body)
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert_eio_still_serving(server)


def test_a_websocket_upgrade_naming_an_unknown_session_is_refused(server):
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        websockets.sync.client.connect(eio_url(server, "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA"),
                                       open_timeout=5)
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body) == {"code": 1, "message": "Session ID unknown"}
    assert_eio_still_serving(server)


def test_other_paths_stay_plain_websocket(server):
    with websockets.sync.client.connect(server.url, open_timeout=5) as ws:
        ws.send("4not a packet")
        assert ws.recv(timeout=5) == "4not a packet"   # echoed as it is: no Engine.IO here
        ws.send("abc")
        assert ws.recv(timeout=5) == "abc"


# ---- HTTP long-polling -----------------------------------------------------------------------

def request(server, method: str, query: str, body: bytes = b"", headers: dict | None = None):
    """One request on its own connection: (status, content type, body)."""
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, "/engine.io/?" + query, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.getheader("content-type"), answer.read()
    finally:
        conn.close()


def polling_session(server) -> str:
    status, content_type, body = request(server, "GET", "EIO=4&transport=polling")
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type, body)
    assert body.startswith(b"0"), body
    handshake = json.loads(body[1:])
    assert handshake["upgrades"] == ["websocket"]
    assert list(handshake) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]
    return handshake["sid"]


def post(server, sid: str, body: bytes):
    return request(server, "POST", f"EIO=4&transport=polling&sid={sid}", body)


def poll(server, sid: str):
    return request(server, "GET", f"EIO=4&transport=polling&sid={sid}")


def test_polling_carries_packets_both_ways_joined_by_the_separator(server):
    sid = polling_session(server)
    assert post(server, sid, b"4hello") == (200, "text/html", b"ok")
    assert poll(server, sid)[2] == b"4hello"
    # Several packets in one POST, text and binary: the echoes wait and leave in one GET.
    assert post(server, sid, "4one\x1e4twö\x1ebAQIDBA==".encode())[0] == 200
    assert poll(server, sid)[2] == "4one\x1e4twö\x1ebAQIDBA==".encode()
    assert_eio_still_serving(server)


def test_a_waiting_poll_returns_with_what_comes_and_the_heartbeat_keeps_it_short(server):
    sid = polling_session(server)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(poll, server, sid)
        time.sleep(0.05)   # the GET is parked before the POST (not a synchronisation: either order passes)
        post(server, sid, b"4late")
        assert waiting.result(timeout=5)[2] in (b"4late", b"2")
    # With nothing to send, the ping comes within the interval; answered, the session lives.
    for _ in range(3):
        body = poll(server, sid)[2]
        if body == b"2":
            assert post(server, sid, b"3")[0] == 200
        else:
            assert body == b"4late"
    assert post(server, sid, b"4still")[0] == 200
    assert b"4still" in poll(server, sid)[2].split(b"\x1e")


def test_a_session_whose_ping_goes_unanswered_is_closed(server):
    sid = polling_session(server)
    assert poll(server, sid)[2] == b"2"
    time.sleep((PING_TIMEOUT_MS + 100) / 1000)
    status, _, body = poll(server, sid)
    assert status == 400 and json.loads(body)["code"] == 1
    assert_eio_still_serving(server)


@pytest.mark.parametrize("body", [b"abc", b"4a\x1e", b"0", b"b%%%", "4\udcff".encode("utf-8", "surrogatepass")],
                         ids=["unknown-type", "trailing-separator", "open", "bad-base64", "bad-utf8"])
def test_a_malformed_post_is_refused_and_closes_the_session(server, body):
    sid = polling_session(server)
    status, _, answer = post(server, sid, body)
    assert status == 400, answer
    assert poll(server, sid)[0] == 400
    assert_eio_still_serving(server)


def test_two_polls_at_once_close_the_session(server):
    sid = polling_session(server)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(poll, server, sid)
        time.sleep(0.05)
        second = pool.submit(poll, server, sid)
        answers = sorted([first.result(timeout=5)[0:3:2], second.result(timeout=5)[0:3:2]])
    assert answers == [(200, b"1"), (400, answers[1][1])], answers
    assert poll(server, sid)[0] == 400
    assert_eio_still_serving(server)


def test_a_post_over_max_payload_is_refused_with_413_before_its_body(server):
    sid = polling_session(server)
    head = (f"POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n"
            "Content-Length: 1000001\r\n\r\n")
    answer = http_exchange(server, head.encode())   # the body is never sent: the head is enough
    assert_complete_http_error(answer, 413)
    assert post(server, sid, b"4" + b"x" * 999_999)[0] == 200   # at the limit: taken
    assert len(poll(server, sid)[2]) == 1_000_000
    assert_eio_still_serving(server)


def test_a_forged_session_id_is_unknown(server):
    sid = polling_session(server)
    forged = sid[:-1] + ("A" if sid[-1] != "A" else "B")
    status, _, body = poll(server, forged)
    assert status == 400 and json.loads(body) == {"code": 1, "message": "Session ID unknown"}
    assert_eio_still_serving(server)


def test_many_sessions_over_both_loops_each_get_their_own_packets(server):
    sids = [polling_session(server) for _ in range(20)]
    for index, sid in enumerate(sids):
        assert post(server, sid, f"4session {index}".encode())[0] == 200
    for index, sid in enumerate(sids):
        assert poll(server, sid)[2] == f"4session {index}".encode()


def test_the_upgrade_loses_nothing_and_the_session_moves_to_websocket(server):
    sid = polling_session(server)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(poll, server, sid)
        time.sleep(0.05)
        with websockets.sync.client.connect(eio_url(server, f"EIO=4&transport=websocket&sid={sid}"),
                                            open_timeout=5, compression=None) as ws:
            ws.send("2probe")
            assert ws.recv(timeout=5) == "3probe"
            assert waiting.result(timeout=5)[2] == b"6"   # the waiting GET is released
            post(server, sid, b"4queued while probing")
            ws.send("5")
            assert ws.recv(timeout=5) == "4queued while probing"   # what waited for a GET, first
            ws.send("4hello")
            assert ws.recv(timeout=5) == "4hello"
            ws.send(b"\x01\x02")
            assert ws.recv(timeout=5) == b"\x01\x02"
            # The session is the WebSocket's now: polling is refused, a second WebSocket closed.
            assert poll(server, sid)[0] == 400
            with websockets.sync.client.connect(eio_url(server, f"EIO=4&transport=websocket&sid={sid}"),
                                                open_timeout=5) as spare:
                with pytest.raises(ConnectionClosed):
                    spare.recv(timeout=5)
            # Its heartbeat goes over the WebSocket too.
            assert ws.recv(timeout=2) == "2"
            ws.send("3")
            ws.send("4after")
            assert ws.recv(timeout=5) == "4after"
    assert_eio_still_serving(server)


def test_a_failed_probe_leaves_the_session_on_polling(server):
    sid = polling_session(server)
    with websockets.sync.client.connect(eio_url(server, f"EIO=4&transport=websocket&sid={sid}"),
                                        open_timeout=5) as ws:
        ws.send("4not a probe")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert post(server, sid, b"4polling still")[0] == 200
    assert b"4polling still" in poll(server, sid)[2].split(b"\x1e")


def test_a_client_close_releases_the_waiting_poll_with_a_noop(server):
    sid = polling_session(server)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(poll, server, sid)
        time.sleep(0.05)
        assert post(server, sid, b"1")[0] == 200
        assert waiting.result(timeout=5)[2] == b"6"
    assert poll(server, sid)[0] == 400
    assert_eio_still_serving(server)


def test_polling_answers_carry_cors_headers_for_the_requesting_origin(server):
    origin = {"Origin": "http://app.example"}
    status, _, body = request(server, "GET", "EIO=4&transport=polling", headers=origin)
    sid = json.loads(body[1:])["sid"]
    host, port = server.address
    for method, query, payload in [("POST", f"EIO=4&transport=polling&sid={sid}", b"4x"),
                                   ("GET", f"EIO=4&transport=polling&sid={sid}", b""),
                                   ("GET", "EIO=4&transport=polling&sid=unknown", b"")]:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request(method, "/engine.io/?" + query, body=payload, headers=origin)
        answer = conn.getresponse()
        answer.read()
        conn.close()
        assert answer.getheader("access-control-allow-origin") == "http://app.example", (method, query)
        assert answer.getheader("access-control-allow-credentials") == "true"
        assert "Origin" in answer.getheader("vary", "")
    # Without an Origin, no CORS headers.
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", "/engine.io/?EIO=4&transport=polling")
    answer = conn.getresponse()
    answer.read()
    conn.close()
    assert answer.getheader("access-control-allow-origin") is None


def test_a_preflight_is_answered_with_what_may_come(server):
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("OPTIONS", "/engine.io/?EIO=4&transport=polling", headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-token"})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    assert answer.status == 204
    assert answer.getheader("access-control-allow-origin") == "http://app.example"
    assert "POST" in answer.getheader("access-control-allow-methods")
    assert answer.getheader("access-control-allow-headers") == "content-type, x-token"
    assert_eio_still_serving(server)


@pytest.mark.server_args("--max-backlog", "1000")
def test_a_polling_session_that_never_polls_meets_the_backlog_limit(server):
    """What waits for a GET counts as the session's send queue: past the limit, the close policy."""
    sid = polling_session(server)
    assert post(server, sid, b"4" + b"x" * 600)[0] == 200   # echoed: 601 bytes wait
    post(server, sid, b"4" + b"y" * 600)                     # the echo would make 1,203: closed
    assert poll(server, sid)[0] == 400
    assert_eio_still_serving(server)


@pytest.mark.server_args("--idle-timeout", "600")
def test_an_upgraded_session_lives_on_its_carriers_traffic(server):
    """The idle timeout reads the session's traffic, which comes over its carrier after the upgrade."""
    sid = polling_session(server)
    with websockets.sync.client.connect(eio_url(server, f"EIO=4&transport=websocket&sid={sid}"),
                                        open_timeout=5, compression=None) as ws:
        ws.send("2probe")
        assert ws.recv(timeout=5) == "3probe"
        ws.send("5")
        deadline = time.monotonic() + 1.5   # well past the idle timeout
        count = 0
        while time.monotonic() < deadline:
            ws.send(f"4tick {count}")
            message = ws.recv(timeout=2)
            while message == "2":            # answer the heartbeat as a client does
                ws.send("3")
                message = ws.recv(timeout=2)
            assert message == f"4tick {count}"
            count += 1
            time.sleep(0.1)


def test_polling_requests_share_one_kept_alive_connection(server):
    """HTTP/1.1 answers keep the connection open: a client polls and posts on one connection, which
    (after the first request for a session on another loop) stays on the session's loop."""
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/engine.io/?EIO=4&transport=polling")
        answer = conn.getresponse()
        sid = json.loads(answer.read()[1:])["sid"]
        assert answer.getheader("connection") == "keep-alive"
        for index in range(20):
            conn.request("POST", f"/engine.io/?EIO=4&transport=polling&sid={sid}", body=f"4n{index}".encode())
            answer = conn.getresponse()
            assert (answer.status, answer.read()) == (200, b"ok")
            conn.request("GET", f"/engine.io/?EIO=4&transport=polling&sid={sid}")
            answer = conn.getresponse()
            assert answer.read() == f"4n{index}".encode()
        # An error answer closes the connection.
        conn.request("GET", "/engine.io/?EIO=4&transport=polling&sid=unknown")
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 400 and answer.getheader("connection") == "close"
    finally:
        conn.close()
    # A client that asks for close gets it.
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", "/engine.io/?EIO=4&transport=polling", headers={"Connection": "close"})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    assert answer.getheader("connection") == "close"
    assert_eio_still_serving(server)



def test_a_session_id_from_another_server_is_unknown_here(server):
    """Without sticky sessions a client's next request may reach another instance: it is told the
    session is unknown there (and reconnects), as Socket.IO servers answer; each server signs its
    own ids, so no instance takes another's for one of its own."""
    other = EchoServer(server.binary, server.backend, server.args)
    other.start()
    try:
        foreign = polling_session(other)
        status, _, body = poll(server, foreign)
        assert status == 400 and json.loads(body) == {"code": 1, "message": "Session ID unknown"}
        assert post(other, foreign, b"4still mine")[0] == 200   # its own server still has it
        assert poll(other, foreign)[2] == b"4still mine"
    finally:
        other.terminate()
    assert_eio_still_serving(server)


def test_a_flood_of_polling_requests_is_answered_and_a_session_is_still_served(server):
    """2,000 requests from 16 threads: unknown sessions, malformed POSTs to a real one, bare GETs
    that open sessions. Every one gets its answer, and a session opened afterwards works."""
    victim = polling_session(server)

    def hammer(index: int) -> int:
        kind = index % 3
        if kind == 0:
            return poll(server, f"unknown{index}")[0]
        if kind == 1:
            return post(server, victim, b"x" * (index % 50))[0]
        return request(server, "GET", "EIO=4&transport=polling")[0]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(hammer, range(2000)))
    assert all(status in (200, 400) for status in statuses), sorted(set(statuses))
    assert statuses[0::3].count(400) == len(statuses[0::3])   # unknown: always refused
    sid = polling_session(server)
    assert post(server, sid, b"4after the flood")[0] == 200
    assert poll(server, sid)[2] == b"4after the flood"
    assert_eio_still_serving(server)
