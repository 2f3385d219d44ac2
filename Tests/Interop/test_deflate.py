"""
test_deflate.py — permessage-deflate (RFC 7692) on the wire, on both backends and in both modes:
the websockets library (which offers it by default) against the echo server, a hand-rolled
client that checks what the frames carry, and every rule a peer can break: RSV1 where it is not
allowed, a stream that does not inflate, compressed text that is not UTF-8, and a decompression
bomb. Each error test checks the close code, then that other clients are still served.

    .venv/bin/python -m pytest Tests/Interop/test_deflate.py -q
"""
from __future__ import annotations

import os
import zlib

import pytest
import websockets.sync.client

from conftest import (
    CLOSE_INVALID_PAYLOAD, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, OP_BINARY, OP_CONTINUATION, OP_PING, OP_TEXT,
    RawWebSocket, assert_still_serving,
)

MODES = ("shared", "dedicated")
OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
TAIL = b"\x00\x00\xff\xff"
RSV1 = 0b100


def chat_text(n: int, seed: int = 0) -> str:
    """Chat-like text from a small vocabulary, with characters outside ASCII: compresses a few
    times over."""
    words = ["hello", "world", "chat", "room", "naïve", "café", "日本語", "😀", "message", "ok"]
    out, x = [], 2463534242 + seed
    while sum(len(w) + 1 for w in out) < n:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out.append(words[x % len(words)])
    return " ".join(out)


def compress(data: bytes, compressor=None) -> bytes:
    """One message compressed as RFC 7692 §7.2.1 sends it: a sync flush, its tail left off."""
    c = compressor or zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def inflate(payload: bytes, decompressor=None) -> bytes:
    d = decompressor or zlib.decompressobj(-15)
    return d.decompress(payload + TAIL)


def negotiated(server, offer: str = OFFER) -> RawWebSocket:
    ws = RawWebSocket.connect(server, extra_headers=(offer,))
    assert "permessage-deflate" in ws.headers.get("sec-websocket-extensions", ""), ws.headers
    return ws


# ---- with a library client -------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_websockets_client_negotiates_and_exchanges_compressed_messages(server_factory, mode):
    server = server_factory("--deflate", mode)
    messages = [chat_text(20), chat_text(5000, 1), chat_text(70000, 2), os.urandom(3000),
                bytes(200_000), chat_text(300, 3) * 3]
    with websockets.sync.client.connect(server.url, max_size=None) as ws:
        answer = ws.response.headers["Sec-WebSocket-Extensions"]
        assert answer.startswith("permessage-deflate")
        assert ("server_no_context_takeover" in answer) == (mode == "shared")
        for _ in range(3):   # again: with context kept, the repeats lean on what came before
            for message in messages:
                ws.send(message)
                assert ws.recv(timeout=10) == message


def test_a_server_without_deflate_declines_the_offer(server):
    with websockets.sync.client.connect(server.url) as ws:
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        ws.send(chat_text(5000))
        assert ws.recv(timeout=5) == chat_text(5000)


# ---- what the frames carry -------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_echoes_come_back_compressed_above_the_threshold_and_plain_below(server_factory, mode):
    server = server_factory("--deflate", mode, "--deflate-threshold", "200")
    with negotiated(server) as ws:
        server_side = zlib.decompressobj(-15)   # dedicated: one stream across messages
        for text in (chat_text(4000), chat_text(4000)):
            ws.send_frame(OP_TEXT, compress(text.encode()), rsv=RSV1)
            frame = ws.recv_frame()
            assert frame.rsv == RSV1 and frame.fin and frame.opcode == OP_TEXT
            assert len(frame.payload) < len(text.encode()) / 2
            got = inflate(frame.payload, server_side if mode == "dedicated" else None)
            assert got.decode() == text
        short = b"a short line, under the threshold"
        ws.send_frame(OP_TEXT, compress(short), rsv=RSV1)
        frame = ws.recv_frame()
        assert frame.rsv == 0 and frame.payload == short
        ws.send_frame(OP_BINARY, short * 10)   # a plain message on a compressing connection
        frame = ws.recv_frame()
        assert frame.opcode == OP_BINARY and inflate(frame.payload, server_side if mode == "dedicated" else None) == short * 10


def test_a_client_that_keeps_context_is_inflated_with_it(server_factory):
    server = server_factory("--deflate", "dedicated")
    with negotiated(server) as ws:
        mine = zlib.compressobj(6, zlib.DEFLATED, -15)
        text = chat_text(3000).encode()
        for _ in range(4):   # the later ones are back-references into the earlier ones
            ws.send_frame(OP_TEXT, compress(text, mine), rsv=RSV1)
            opcode, payload = ws.recv_message_inflated()
            assert (opcode, payload) == (OP_TEXT, text)


def test_a_fragmented_compressed_message_with_a_ping_between_is_echoed_whole(server_factory):
    server = server_factory("--deflate", "shared")
    with negotiated(server) as ws:
        text = chat_text(20000).encode()
        body = compress(text)
        third = len(body) // 3
        ws.send_frame(OP_TEXT, body[:third], fin=False, rsv=RSV1)   # RSV1 on the first frame only
        ws.send_frame(OP_PING, b"between")
        ws.send_frame(OP_CONTINUATION, body[third:2 * third], fin=False)
        ws.send_frame(OP_CONTINUATION, body[2 * third:])
        pong = ws.recv_frame()
        assert pong.payload == b"between"
        assert ws.recv_message_inflated() == (OP_TEXT, text)


def test_the_shared_mode_asks_for_no_context_and_the_dedicated_honours_a_window(server_factory):
    shared = server_factory("--deflate", "shared")
    with negotiated(shared, "Sec-WebSocket-Extensions: permessage-deflate") as ws:
        answer = ws.headers["sec-websocket-extensions"]
        assert "server_no_context_takeover" in answer and "client_no_context_takeover" in answer
    dedicated = server_factory("--deflate", "dedicated")
    offer = "Sec-WebSocket-Extensions: foo, permessage-deflate; server_max_window_bits=8, permessage-deflate"
    with negotiated(dedicated, offer) as ws:
        assert ws.headers["sec-websocket-extensions"] == "permessage-deflate; server_max_window_bits=8"
        text = chat_text(50000).encode()
        ws.send_frame(OP_TEXT, compress(text), rsv=RSV1)
        frame = ws.recv_frame()
        assert frame.rsv == RSV1
        assert zlib.decompressobj(-8).decompress(frame.payload + TAIL) == text   # a 256-byte window suffices


# ---- a peer that breaks the rules ------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_a_decompression_bomb_is_closed_with_1009_before_the_memory_is_spent(server_factory, mode):
    # About 1 MB of deflate that inflates to 1 GiB; the server's limit is 4 MiB.
    server = server_factory("--deflate", mode, "--max-message", str(4 << 20))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    bomb = b"".join(c.compress(zeros) for _ in range(1024)) + c.flush(zlib.Z_SYNC_FLUSH)[:-4]
    assert len(bomb) < (4 << 20)
    rss_before = server.rss_bytes()
    with negotiated(server) as ws:
        ws.send_frame(OP_BINARY, bomb, rsv=RSV1)
        ws.expect_close(CLOSE_TOO_BIG)
    assert server.rss_bytes() - rss_before < 64 << 20
    # The 1 KiB version: a frame of about a kilobyte that inflates to a megabyte, over a
    # limit of 64 KiB.
    small = server_factory("--deflate", mode, "--max-message", str(64 << 10))
    kilobyte = compress(bytes(1 << 20))
    assert len(kilobyte) < 1100
    with negotiated(small) as ws:
        ws.send_frame(OP_BINARY, kilobyte, rsv=RSV1)
        ws.expect_close(CLOSE_TOO_BIG)
    assert_still_serving(server)
    assert_still_serving(small)


@pytest.mark.parametrize("mode", MODES)
def test_a_message_that_inflates_to_exactly_max_message_is_echoed(server_factory, mode):
    server = server_factory("--deflate", mode, "--max-message", str(64 << 10))
    data = bytes(64 << 10)
    with negotiated(server) as ws:
        ws.send_frame(OP_BINARY, compress(data), rsv=RSV1)
        assert ws.recv_message_inflated() == (OP_BINARY, data)


def test_rsv1_on_a_continuation_frame_is_closed_with_1002(server_factory):
    server = server_factory("--deflate", "shared")
    with negotiated(server) as ws:
        body = compress(chat_text(2000).encode())
        ws.send_frame(OP_TEXT, body[:100], fin=False, rsv=RSV1)
        ws.send_frame(OP_CONTINUATION, body[100:], rsv=RSV1)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


@pytest.mark.parametrize("opcode", [OP_PING, 0xA, 0x8])
def test_rsv1_on_a_control_frame_is_closed_with_1002(server_factory, opcode):
    server = server_factory("--deflate", "dedicated")
    with negotiated(server) as ws:
        ws.send_frame(opcode, b"\x03\xe8" if opcode == 0x8 else b"x", rsv=RSV1)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


def test_rsv1_from_a_client_that_did_not_negotiate_is_closed_with_1002(server_factory):
    server = server_factory("--deflate", "shared")
    with RawWebSocket.connect(server) as ws:   # no offer: no extension
        assert "sec-websocket-extensions" not in ws.headers
        ws.send_frame(OP_TEXT, compress(b"hello hello hello"), rsv=RSV1)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_that_does_not_inflate_is_closed_with_1007(server_factory, mode):
    server = server_factory("--deflate", mode)
    with negotiated(server) as ws:
        ws.send_frame(OP_BINARY, b"\xff\xff\xff\xff\x00\x13garbage", rsv=RSV1)
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    with negotiated(server) as ws:   # valid deflate, then bytes after its final block
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        ended = c.compress(b"complete") + c.flush(zlib.Z_FINISH)
        ws.send_frame(OP_BINARY, ended + b"more", rsv=RSV1)
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    assert_still_serving(server)


@pytest.mark.parametrize("mode", MODES)
def test_compressed_text_that_is_not_utf8_is_closed_with_1007(server_factory, mode):
    server = server_factory("--deflate", mode)
    with negotiated(server) as ws:
        ws.send_frame(OP_TEXT, compress(chat_text(1000).encode() + b"\xed\xa0\x80"), rsv=RSV1)   # a surrogate
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    assert_still_serving(server)


def test_a_final_block_ends_a_message_and_the_next_one_starts_a_stream(server_factory):
    # A client may end each message's stream (BFINAL) instead of flushing: still one message.
    server = server_factory("--deflate", "dedicated")
    with negotiated(server) as ws:
        for text in (b"first " * 50, b"second " * 50):
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            ws.send_frame(OP_TEXT, c.compress(text) + c.flush(zlib.Z_FINISH), rsv=RSV1)
            assert ws.recv_message_inflated() == (OP_TEXT, text)
