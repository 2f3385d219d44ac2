"""
test_engineio.py — Engine.IO v4 over WebSocket, served by the core beside plain WebSocket: the
echo server with --eio-path speaks Engine.IO on that path (a bare Engine.IO echo server, as the
official protocol suite wants at /engine.io/), with the suite's 300 ms ping interval and 200 ms
ping timeout. Clients here are the websockets library and raw HTTP requests; each test ends with
plain WebSocket clients, and another Engine.IO session, still served.

    .venv/bin/python -m pytest Tests/Interop/test_engineio.py -q
"""
from __future__ import annotations

import contextlib
import json
import time

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from conftest import CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, assert_complete_http_error, assert_still_serving, http_exchange

PING_INTERVAL_MS, PING_TIMEOUT_MS = 300, 200
pytestmark = pytest.mark.server_args("--eio-path", "/engine.io/", "--eio-ping-interval", str(PING_INTERVAL_MS),
                                     "--eio-ping-timeout", str(PING_TIMEOUT_MS))


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
        assert len(handshake["sid"]) == 20
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
    ("EIO=4&transport=polling", "GET", 0),                   # long-polling is not served
])
def test_requests_the_protocol_refuses_get_its_400_and_error_code(server, query, method, code):
    answer = eio_get(server, query, method)
    assert_complete_http_error(answer, 400)
    assert answer.headers["content-type"] == "application/json"
    body = json.loads(answer.body)
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert_eio_still_serving(server)


def test_a_websocket_upgrade_naming_a_session_is_refused_as_unknown(server):
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
