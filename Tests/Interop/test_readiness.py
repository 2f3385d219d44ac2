"""
test_readiness.py — liveness and readiness as a load balancer sees them, answered by the core:
GET /health (200 while the process serves) and GET /ready (200, or 503 once draining or set
not ready). The echo servers start a drain on SIGUSR1 (Retry-After: 7) and set themselves not
ready on SIGUSR2. While draining, new upgrades and new Engine.IO sessions get 503 with
Retry-After, and every client already connected is served as before.
    .venv/bin/python -m pytest Tests/Interop/test_readiness.py -q
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import time

import pytest

from conftest import OP_TEXT, RawWebSocket, assert_complete_http_error, build_frame, http_exchange, upgrade_request

pytestmark = pytest.mark.server_args("--eio-path", "/engine.io/")

SIGNAL_TAKES_EFFECT_S = 5.0


def get(server, target: str):
    return http_exchange(server, f"GET {target} HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())


def wait_for_ready_status(server, status: int):
    deadline = time.monotonic() + SIGNAL_TAKES_EFFECT_S
    while True:
        answer = get(server, "/ready")
        if answer.status == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def echo(ws: RawWebSocket, text: bytes) -> None:
    ws.send_raw(build_frame(OP_TEXT, text))
    assert ws.recv_message() == (OP_TEXT, text)


def engine_io(server, method: str, query: str, body: bytes = b""):
    conn = http.client.HTTPConnection(*server.address, timeout=5)
    try:
        conn.request(method, "/engine.io/?EIO=4&transport=polling" + query, body=body)
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def assert_draining_answer(answer) -> None:
    assert_complete_http_error(answer, 503)
    assert answer.headers.get("retry-after") == "7", answer.raw
    assert answer.body == b"draining\n", answer.raw


@pytest.mark.parametrize("target", ["/ready", "/ready?probe=lb"])
def test_ready_path_gets_200_while_serving(server, target):
    answer = get(server, target)
    assert answer.status == 200 and answer.body == b"ready\n", answer.raw
    assert int(answer.headers["content-length"]) == len(answer.body)
    assert answer.ended == "eof"


def test_draining_refuses_new_clients_with_503_and_serves_the_others(server):
    ws = RawWebSocket.connect(server)
    echo(ws, b"before the drain")
    status, _, body = engine_io(server, "GET", "")
    assert status == 200 and body.startswith(b"0"), (status, body)
    sid = json.loads(body[1:])["sid"]

    os.kill(server.pid, signal.SIGUSR1)
    assert_draining_answer(wait_for_ready_status(server, 503))

    # A new WebSocket upgrade: 503 with Retry-After, not a 101.
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    assert_draining_answer(http_exchange(server, upgrade_request(server, key)))
    # A new Engine.IO session: the same.
    status, headers, body = engine_io(server, "GET", "")
    assert (status, headers.get("Retry-After"), body) == (503, "7", b"draining\n")

    # The process still serves: liveness stays 200.
    health = get(server, "/health")
    assert health.status == 200 and health.body.strip() == b"ok", health.raw
    # Clients connected before the drain are served as before, WebSocket and long-polling alike.
    echo(ws, b"during the drain \xc3\xa9")
    assert engine_io(server, "POST", f"&sid={sid}", b"4hello")[0] == 200
    status, _, body = engine_io(server, "GET", f"&sid={sid}")
    assert (status, body) == (200, b"4hello")
    ws.close_socket()


def test_not_ready_answers_503_and_still_takes_clients(server):
    os.kill(server.pid, signal.SIGUSR2)
    answer = wait_for_ready_status(server, 503)
    assert_complete_http_error(answer, 503)
    assert answer.body == b"not ready\n" and "retry-after" not in answer.headers, answer.raw
    # Not ready is advice to the load balancer, not a refusal: a client that comes is served.
    ws = RawWebSocket.connect(server)
    echo(ws, b"served while not ready")
    ws.close_socket()
    assert get(server, "/health").status == 200
