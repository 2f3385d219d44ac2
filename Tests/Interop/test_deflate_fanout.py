"""
test_deflate_fanout.py — room broadcasts to members that compress, over real sockets: the echo
server's --room mode puts every client in one room and broadcasts what each says. In the
dedicated mode each member compresses with its own context and the loop starts sends in the
middle of a long walk (fanout.c, EARLY_SEND_EVERY); a copy sent twice, skipped, or out of
order would not inflate with the member's own stream, or would differ from what was said.

    .venv/bin/python -m pytest Tests/Interop/test_deflate_fanout.py -q
"""
from __future__ import annotations

import pytest

from conftest import OP_TEXT, RawWebSocket, assert_still_serving
from test_deflate import OFFER, chat_text

MODES = ("shared", "dedicated")
COMPRESSING = 100      # members that negotiate deflate: three early-send batches and a rest
PLAIN = 10             # members that do not: they get the plain frame
MESSAGES = 12


# What the sender says: chat text of varying size; every third under the threshold (plain to all).
SAID = [b"short %d" % i if i % 3 == 2 else chat_text(300 + 700 * i, seed=i).encode() for i in range(MESSAGES)]


@pytest.mark.parametrize("mode", MODES)
def test_every_member_gets_every_broadcast_in_order_compressed_with_its_own_stream(server_factory, mode):
    server = server_factory("--deflate", mode, "--deflate-threshold", "64", "--room", "all", "--loops", "1")
    compressing = [RawWebSocket.connect(server, extra_headers=(OFFER,)) for _ in range(COMPRESSING)]
    plain = [RawWebSocket.connect(server) for _ in range(PLAIN)]
    try:
        for ws in compressing:
            assert "permessage-deflate" in ws.headers.get("sec-websocket-extensions", "")
        sender = plain[0]
        # Back to back: later broadcasts are queued while earlier copies are still in flight.
        for i in range(MESSAGES):
            sender.send_frame(OP_TEXT, SAID[i])
        for n, ws in enumerate(compressing + plain):
            for i in range(MESSAGES):
                opcode, payload = ws.recv_message_inflated(timeout=10)
                assert (opcode, payload) == (OP_TEXT, SAID[i]), f"member {n}, message {i}"
                compressed = bool(ws.last_rsv & 0b100)
                assert compressed == (n < COMPRESSING and i % 3 != 2), f"member {n}, message {i}"
        assert_still_serving(server)
    finally:
        for ws in compressing + plain:
            ws.close_socket()
