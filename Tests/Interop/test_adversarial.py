"""
test_adversarial.py — what the echo server does with clients that break the rules or its limits:
malformed frames and handshakes, oversized messages, slowloris, a client that never reads, a
peer that never answers pings, an idle peer, a peer that ignores the close during shutdown.

Frames are built by hand on plain sockets (conftest.RawWebSocket), because no client library
will send them. Every test checks the exact close code or HTTP status where there is one, that
the server then ends the TCP connection itself, and that a fresh client is still served
(assert_still_serving).
    .venv/bin/python -m pytest Tests/Interop/test_adversarial.py -q
"""
from __future__ import annotations

import os
import select
import socket
import struct
import time

import pytest

from conftest import (
    CLOSE_GOING_AWAY, CLOSE_INVALID_PAYLOAD, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG,
    OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, ConnectionEnded, RawWebSocket,
    assert_complete_http_error, assert_still_serving, build_frame, close_payload, http_exchange,
    parse_server_frame, read_http_answer, upgrade_request,
)

KiB = 1024
MiB = 1024 * KiB


def request_head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def valid_upgrade_lines(server, **replace: str | None) -> list[str]:
    """The lines of a valid upgrade request; replace={"Sec-WebSocket-Key": None} drops a field."""
    fields = {
        "Host": f"{server.host}:{server.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    for name, value in replace.items():
        name = name.replace("_", "-")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return ["GET / HTTP/1.1", *(f"{k}: {v}" for k, v in fields.items())]


# ---- UTF-8 (RFC 6455 §5.6, §8.1) ------------------------------------------------------------

INVALID_UTF8 = {
    "lone-continuation": b"ab\x80cd",
    "overlong-slash": b"\xc0\xaf",
    "surrogate-half": b"\xed\xa0\x80",
    "above-U+10FFFF": b"\xf4\x90\x80\x80",
    "truncated-at-end": b"euro \xe2\x82",
    "byte-FF": b"\xff",
}


@pytest.mark.parametrize("payload", INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
def test_rfc6455_8_1_invalid_utf8_in_text_message_is_closed_with_1007(server, payload):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_TEXT, payload)
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    assert_still_serving(server)


def test_rfc6455_8_1_invalid_utf8_split_across_fragments_is_closed_with_1007(server):
    # 0xCE opens a 2-byte character; '(' in the next fragment cannot continue it.
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_TEXT, b"valid start \xce", fin=False)
        ws.send_frame(OP_CONTINUATION, b"(rest", fin=True)
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    assert_still_serving(server)


def test_rfc6455_8_1_incomplete_character_at_the_end_of_a_fragmented_message_is_closed_with_1007(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_TEXT, b"three bytes: \xe2", fin=False)
        ws.send_frame(OP_CONTINUATION, b"\x82", fin=True)   # U+20AC lacks its last byte
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    assert_still_serving(server)


def test_rfc6455_5_4_valid_character_split_across_fragments_is_echoed(server):
    # The positive twin of the tests above: every byte of U+1F600 in its own frame.
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_TEXT, b"smile \xf0", fin=False)
        ws.send_frame(OP_CONTINUATION, b"\x9f", fin=False)
        ws.send_frame(OP_CONTINUATION, b"\x98", fin=False)
        ws.send_frame(OP_CONTINUATION, b"\x80!", fin=True)
        assert ws.recv_message() == (OP_TEXT, "smile 😀!".encode())
    assert_still_serving(server)


def test_rfc6455_5_5_1_invalid_utf8_in_close_reason_is_closed_with_1007(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_close(CLOSE_NORMAL, b"bye \xc3\x28")
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    assert_still_serving(server)


# ---- framing (RFC 6455 §5.1, §5.2, §5.4, §5.5) ----------------------------------------------

def test_rfc6455_5_1_unmasked_client_frame_is_closed_with_1002(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_TEXT, b"not masked", mask=False)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


@pytest.mark.parametrize("rsv", [0b100, 0b010, 0b001], ids=["RSV1", "RSV2", "RSV3"])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_PING], ids=["text", "ping"])
def test_rfc6455_5_2_reserved_bit_without_extension_is_closed_with_1002(server, rsv, opcode):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(opcode, b"reserved bits", rsv=rsv)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_rfc6455_5_2_reserved_opcode_is_closed_with_1002(server, opcode):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(opcode, b"reserved")
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


@pytest.mark.parametrize("length,encoding", [(5, 2), (125, 2), (126, 8), (65535, 8)],
                         ids=["5-in-16bit", "125-in-16bit", "126-in-64bit", "65535-in-64bit"])
def test_rfc6455_5_2_length_not_minimally_encoded_is_closed_with_1002(server, length, encoding):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_BINARY, os.urandom(length), length_bytes=encoding)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


def test_rfc6455_5_2_64bit_length_with_most_significant_bit_set_is_closed_with_1002(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_raw(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 63) + os.urandom(4))
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


@pytest.mark.parametrize("opcode", [OP_PING, OP_PONG, OP_CLOSE], ids=["ping", "pong", "close"])
def test_rfc6455_5_5_control_frame_with_126_byte_payload_is_closed_with_1002(server, opcode):
    payload = close_payload(CLOSE_NORMAL, b"x" * 124) if opcode == OP_CLOSE else b"p" * 126
    assert len(payload) == 126
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(opcode, payload)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


def test_rfc6455_5_5_fragmented_ping_is_closed_with_1002(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_PING, b"first half", fin=False)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


def test_rfc6455_5_4_continuation_without_a_message_is_closed_with_1002(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_CONTINUATION, b"orphan", fin=True)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


def test_rfc6455_5_4_new_message_inside_a_fragmented_message_is_closed_with_1002(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_TEXT, b"first", fin=False)
        ws.send_frame(OP_BINARY, b"interleaved", fin=True)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


def test_rfc6455_5_4_ping_between_fragments_is_answered_and_the_message_echoed_whole(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_BINARY, b"one-", fin=False)
        ws.send_frame(OP_PING, b"in the middle")
        ws.send_frame(OP_CONTINUATION, b"two", fin=True)
        pong = ws.recv_frame()
        assert (pong.opcode, pong.payload) == (OP_PONG, b"in the middle")
        assert ws.recv_message() == (OP_BINARY, b"one-two")
    assert_still_serving(server)


def test_rfc6455_5_5_3_unsolicited_pong_is_ignored(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_PONG, b"nobody asked")
        ws.echo(OP_TEXT, b"still open")
    assert_still_serving(server)


# ---- close frames (RFC 6455 §5.5.1, §7.4) ----------------------------------------------------

@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_rfc6455_7_4_invalid_close_code_is_closed_with_1002(server, code):
    with RawWebSocket.connect(server) as ws:
        ws.send_close(code)
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


def test_rfc6455_5_5_1_close_with_one_byte_payload_is_closed_with_1002(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_CLOSE, b"\x03")
        ws.expect_close(CLOSE_PROTOCOL_ERROR)
    assert_still_serving(server)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999])
def test_rfc6455_5_5_1_valid_close_code_is_echoed(server, code):
    with RawWebSocket.connect(server) as ws:
        ws.send_close(code, "reason ✓".encode())
        ws.expect_close(code)
    assert_still_serving(server)


def test_rfc6455_5_5_1_empty_close_is_answered_with_an_empty_close(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_CLOSE, b"")
        frame = ws.recv_frame()
        assert frame.opcode == OP_CLOSE and frame.payload == b""
        assert ws.wait_end() == "eof"
    assert_still_serving(server)


def test_rfc6455_5_5_1_data_after_the_close_frame_is_not_echoed(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_raw(build_frame(OP_CLOSE, close_payload(CLOSE_NORMAL)) + build_frame(OP_TEXT, b"too late"))
        ws.expect_close(CLOSE_NORMAL)   # fails on any data frame before the close
    assert_still_serving(server)


def test_rfc6455_7_1_1_close_frame_reaches_a_client_that_keeps_sending(server):
    # After failing the connection the server must keep reading (and dropping) what the client
    # still sends, so that its close frame and FIN are not destroyed by a reset.
    with RawWebSocket.connect(server) as ws:
        junk = b"".join(build_frame(OP_BINARY, os.urandom(16 * KiB)) for _ in range(64))   # 1 MiB
        ws.send_raw(build_frame(OP_TEXT, b"\xff") + junk)
        ws.expect_close(CLOSE_INVALID_PAYLOAD)
    assert_still_serving(server)


# ---- size limits (RFC 6455 §10.4) ------------------------------------------------------------

@pytest.mark.server_args("--max-message", "1024")
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_rfc6455_10_4_message_of_exactly_max_message_is_echoed(server, opcode):
    with RawWebSocket.connect(server) as ws:
        ws.echo(opcode, b"m" * 1024)
    assert_still_serving(server)


@pytest.mark.server_args("--max-message", "1024")
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_rfc6455_10_4_message_over_max_message_is_closed_with_1009(server, opcode):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(opcode, b"m" * 1025)
        ws.expect_close(CLOSE_TOO_BIG)
    assert_still_serving(server)


@pytest.mark.server_args("--max-message", "1024")
def test_rfc6455_10_4_huge_declared_length_is_closed_with_1009_before_any_payload(server):
    # Only the header is sent: the limit must be applied to the declared length.
    with RawWebSocket.connect(server) as ws:
        ws.send_raw(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + os.urandom(4))
        ws.expect_close(CLOSE_TOO_BIG)
    assert_still_serving(server)


@pytest.mark.server_args("--max-message", "1024")
def test_rfc6455_10_4_fragments_of_exactly_max_message_in_total_are_echoed(server):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(OP_BINARY, b"a" * 512, fin=False)
        ws.send_frame(OP_CONTINUATION, b"b" * 511, fin=False)
        ws.send_frame(OP_CONTINUATION, b"c", fin=True)
        assert ws.recv_message() == (OP_BINARY, b"a" * 512 + b"b" * 511 + b"c")
    assert_still_serving(server)


@pytest.mark.server_args("--max-message", "1024")
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_rfc6455_10_4_fragmented_message_crossing_max_message_is_closed_with_1009(server, opcode):
    with RawWebSocket.connect(server) as ws:
        ws.send_frame(opcode, b"a" * 512, fin=False)
        ws.send_frame(OP_CONTINUATION, b"b" * 512, fin=False)
        ws.send_frame(OP_CONTINUATION, b"c", fin=True)   # byte 1025
        ws.expect_close(CLOSE_TOO_BIG)
    assert_still_serving(server)


# ---- the opening handshake over raw HTTP (RFC 6455 §4, RFC 9110/9112) -------------------------

def test_rfc6455_4_4_unsupported_version_gets_426_naming_version_13(server):
    answer = http_exchange(server, request_head(*valid_upgrade_lines(server, Sec_WebSocket_Version="8")))
    assert_complete_http_error(answer, 426)
    assert answer.headers.get("sec-websocket-version") == "13", answer.raw
    assert_still_serving(server)


def test_rfc6455_4_2_1_missing_key_gets_400(server):
    answer = http_exchange(server, request_head(*valid_upgrade_lines(server, Sec_WebSocket_Key=None)))
    assert_complete_http_error(answer, 400)
    assert_still_serving(server)


@pytest.mark.parametrize("key", [
    "short==",
    "dGhlIHNhbXBsZSBub25jZQ",            # 16 bytes without its padding
    "dGhlIHNhbXBsZSBub25j!Q==",          # not base64
    "dGhlIHNhbXBsZSBub25jZSE=",          # 17 bytes
    "AAAAAAAAAAAAAAAAAAAA",              # 15 bytes
], ids=["short", "unpadded", "not-base64", "17-bytes", "15-bytes"])
def test_rfc6455_4_2_1_invalid_key_gets_400(server, key):
    answer = http_exchange(server, request_head(*valid_upgrade_lines(server, Sec_WebSocket_Key=key)))
    assert_complete_http_error(answer, 400)
    assert_still_serving(server)


BAD_UPGRADES = {
    "no-host": dict(Host=None),
    "no-connection-upgrade": dict(Connection="keep-alive"),
    "no-upgrade-in-connection-list": dict(Connection="keep-alive, close"),
    "body-announced": {"Content-Length": "5"},          # bytes after the head are frames
    "transfer-encoding": {"Transfer-Encoding": "chunked"},
}


@pytest.mark.parametrize("fields", BAD_UPGRADES.values(), ids=BAD_UPGRADES.keys())
def test_rfc6455_4_2_1_upgrade_missing_or_contradicting_a_field_gets_400(server, fields):
    answer = http_exchange(server, request_head(*valid_upgrade_lines(server, **fields)))
    assert_complete_http_error(answer, 400)
    assert_still_serving(server)


def test_rfc6455_4_2_1_duplicate_key_gets_400(server):
    lines = valid_upgrade_lines(server) + ["Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="]
    answer = http_exchange(server, request_head(*lines))
    assert_complete_http_error(answer, 400)
    assert_still_serving(server)


def test_rfc6455_4_1_http_1_0_upgrade_gets_400(server):
    lines = valid_upgrade_lines(server)
    lines[0] = "GET / HTTP/1.0"
    answer = http_exchange(server, request_head(*lines))
    assert_complete_http_error(answer, 400)
    assert_still_serving(server)


@pytest.mark.parametrize("raw", [
    b"GET / HTTP/1.1\nHost: x\nUpgrade: websocket\n\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n folded\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
], ids=["bare-LF", "obs-fold", "space-before-colon"])
def test_rfc9112_malformed_request_head_gets_400(server, raw):
    answer = http_exchange(server, raw)
    assert_complete_http_error(answer, 400)
    assert_still_serving(server)


def test_rfc6455_4_2_1_browser_style_connection_list_and_mixed_case_upgrade_are_accepted(server):
    # Firefox sends "Connection: keep-alive, Upgrade"; header names and tokens are case-insensitive.
    lines = ["GET /chat?room=1 HTTP/1.1", f"host: {server.host}:{server.port}", "upgrade: WebSocket",
             "connection: keep-alive, Upgrade", "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
             "sec-websocket-version: 13", "Origin: http://localhost", "Pragma: no-cache"]
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(request_head(*lines) + build_frame(OP_TEXT, b"hi"))
        data = b""
        while b"hi" not in data.split(b"\r\n\r\n", 1)[-1] or b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    assert rest == b"\x81\x02hi"
    assert_still_serving(server)


def test_rfc6455_4_2_1_request_head_over_8_KiB_gets_431(server):
    lines = valid_upgrade_lines(server) + ["X-Padding: " + "p" * (10 * KiB)]
    answer = http_exchange(server, request_head(*lines))
    assert_complete_http_error(answer, 431)
    assert_still_serving(server)


def test_rfc9112_request_line_over_4_KiB_gets_414(server):
    lines = valid_upgrade_lines(server)
    lines[0] = f"GET /{'u' * (5 * KiB)} HTTP/1.1"
    answer = http_exchange(server, request_head(*lines))
    assert_complete_http_error(answer, 414)
    assert_still_serving(server)


def test_rfc6455_4_2_1_post_gets_405_allowing_get(server):
    lines = valid_upgrade_lines(server)
    lines[0] = "POST / HTTP/1.1"
    answer = http_exchange(server, request_head(*lines))
    assert_complete_http_error(answer, 405)
    assert answer.headers.get("allow") == "GET", answer.raw
    assert_still_serving(server)


def test_plain_get_gets_426_upgrade_required(server):
    answer = http_exchange(server, request_head("GET / HTTP/1.1", f"Host: {server.host}"))
    assert_complete_http_error(answer, 426)
    assert answer.headers.get("upgrade", "").lower() == "websocket", answer.raw
    assert answer.headers.get("sec-websocket-version") == "13", answer.raw
    assert_still_serving(server)


@pytest.mark.parametrize("target", ["/health", "/health?probe=lb"])
def test_health_path_gets_200_ok(server, target):
    answer = http_exchange(server, request_head(f"GET {target} HTTP/1.1", f"Host: {server.host}"))
    assert answer.status == 200, answer.raw
    assert answer.body.strip() == b"ok", answer.raw
    assert int(answer.headers["content-length"]) == len(answer.body), answer.raw
    assert answer.ended == "eof", f"after the answer the connection was {answer.ended}"
    assert_still_serving(server)


def test_rfc6455_4_2_1_frames_pipelined_in_the_same_send_as_the_request_are_echoed(server):
    frames = build_frame(OP_TEXT, b"pipelined text") + build_frame(OP_BINARY, b"\x00pipelined binary\xff")
    with RawWebSocket.connect(server, pipelined=frames) as ws:
        assert ws.recv_message() == (OP_TEXT, b"pipelined text")
        assert ws.recv_message() == (OP_BINARY, b"\x00pipelined binary\xff")
    assert_still_serving(server)


def test_rfc6455_4_2_1_pipelined_frame_cut_by_the_end_of_the_send_is_completed_by_the_next(server):
    frame = build_frame(OP_BINARY, os.urandom(3000))
    payload = None
    # The first half goes out in the same send() as the request, so the read that completed the
    # request (connect() has its 101) took it too: the second half comes in a read of its own.
    with RawWebSocket.connect(server, pipelined=frame[:1500]) as ws:
        ws.send_raw(frame[1500:])
        opcode, payload = ws.recv_message()
    assert opcode == OP_BINARY and len(payload) == 3000
    assert_still_serving(server)


def test_rfc6455_4_2_1_pipelined_frame_larger_than_the_request_buffer_is_echoed(server):
    # Request and a 40 KiB frame in one send(): the frame starts in the bytes copied with the
    # 8 KiB request head and continues in the rest of the same read.
    payload = os.urandom(40 * KiB)
    with RawWebSocket.connect(server, pipelined=build_frame(OP_BINARY, payload)) as ws:
        assert ws.recv_message() == (OP_BINARY, payload)
    assert_still_serving(server)


def test_request_trickled_one_byte_per_send_is_upgraded(server):
    sock = socket.create_connection(server.address, timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with sock:
        for b in upgrade_request(server, "dGhlIHNhbXBsZSBub25jZQ=="):
            sock.send(bytes([b]))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, head
            head += chunk
        assert head.startswith(b"HTTP/1.1 101 "), head
        assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head   # RFC 6455 §1.3's sample key and accept
    assert_still_serving(server)


# ---- slowloris (the handshake timeout) --------------------------------------------------------

@pytest.mark.server_args("--handshake-timeout", "500", "--loops", "1")
def test_partial_request_line_gets_408_and_is_closed_within_the_handshake_timeout(server):
    started = time.monotonic()
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"GET /chat HT")
        # One loop: the client served meanwhile shares the loop with the slow one.
        assert_still_serving(server)
        answer = read_http_answer(sock, timeout=5)
    elapsed = time.monotonic() - started
    assert_complete_http_error(answer, 408)
    assert 0.4 <= elapsed <= 3.0, f"408 after {elapsed:.2f} s; the handshake timeout is 0.5 s"
    assert_still_serving(server)


@pytest.mark.server_args("--handshake-timeout", "500", "--loops", "1")
def test_handshake_timeout_runs_from_accept_even_while_bytes_trickle_in(server):
    request = upgrade_request(server, "dGhlIHNhbXBsZSBub25jZQ==")
    started = time.monotonic()
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = 0
        try:
            # One byte every 50 ms: the whole request would take seconds.
            while time.monotonic() - started < 3.0 and sent < len(request) - 4:
                sock.send(request[sent:sent + 1])
                sent += 1
                time.sleep(0.05)
                if select.select([sock], [], [], 0)[0]:
                    break   # the server answered (or closed) before the request was done
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_http_answer(sock, timeout=5)
    elapsed = time.monotonic() - started
    assert_complete_http_error(answer, 408)
    assert elapsed <= 3.0, f"408 after {elapsed:.2f} s"
    assert_still_serving(server)


# ---- a client that never reads (backpressure) -------------------------------------------------

@pytest.mark.server_args("--max-backlog", str(256 * KiB), "--loops", "1")
def test_client_that_never_reads_is_closed_by_the_backlog_policy_and_memory_stays_bounded(server):
    message = os.urandom(64 * KiB)
    total = 64 * MiB
    with RawWebSocket.connect(server, rcvbuf=4096, timeout=5) as ws:
        rss_before = server.rss_bytes()
        sent, send_error, served_meanwhile = 0, None, False
        try:
            while sent < total:
                ws.send_frame(OP_BINARY, message)   # echoed into a queue nobody drains
                sent += len(message)
                if not served_meanwhile and sent >= 4 * MiB:
                    # One loop: the client served here shares it with the stalled one.
                    assert_still_serving(server)
                    served_meanwhile = True
        except (BrokenPipeError, ConnectionResetError, socket.timeout) as err:
            send_error = err
        rss_after = server.rss_bytes()
        stopped_sending = time.monotonic()
        # Now read: the echoes that made it out, then the end, which the server must bring.
        how, frames = _drain_until_end(ws.sock, timeout=10)
        ended_after = time.monotonic() - stopped_sending
    grown = rss_after - rss_before
    closes = [f.close_code for f in frames if f.opcode == OP_CLOSE]
    print(f"never-reads client: sent {sent >> 20} MiB ({send_error!r}), {len(frames)} frames back, "
          f"close {closes}, ended by {how} after {ended_after:.1f} s, RSS grew {grown >> 20} MiB")
    assert how is not None, f"the server never ended the connection (sent {sent >> 20} MiB, {send_error!r})"
    assert ended_after <= 5.0, f"the connection ended {ended_after:.1f} s after the client stopped sending"
    # Whatever arrived is whole echoes, then at most a close frame, and that one says 1008.
    echoes = [f for f in frames if f.opcode != OP_CLOSE]
    assert all(f.opcode == OP_BINARY and f.payload == message for f in echoes)
    assert closes in ([], [CLOSE_POLICY]), f"close frames {closes}, expected at most one 1008"
    assert len(echoes) * len(message) < sent, "every message was echoed: the backlog policy never applied"
    assert served_meanwhile or sent < 4 * MiB
    assert grown < _rss_bound(server), f"server RSS grew by {grown >> 20} MiB while a client did not read"
    assert_still_serving(server)


@pytest.mark.server_args("--max-backlog", str(256 * KiB), "--loops", "1")
def test_rfc6455_5_5_2_ping_flood_from_a_client_that_never_reads_is_bounded_by_the_backlog(server):
    # Every ping is owed a pong (§5.5.2), but pongs wait in the same send queue as messages:
    # a client that sends pings and never reads must meet the backlog limit too.
    batch = b"".join(build_frame(OP_PING, os.urandom(125)) for _ in range(1000))   # 131 KiB
    total = 64 * MiB
    with RawWebSocket.connect(server, rcvbuf=4096, timeout=5) as ws:
        rss_before = server.rss_bytes()
        sent, send_error = 0, None
        try:
            while sent < total:
                ws.send_raw(batch)
                sent += len(batch)
        except (BrokenPipeError, ConnectionResetError, socket.timeout) as err:
            send_error = err
        grown = server.rss_bytes() - rss_before
        assert_still_serving(server)
        assert grown < _rss_bound(server), \
            f"server RSS grew by {grown >> 20} MiB of pongs for a client that never reads ({sent >> 20} MiB of pings)"
        how, frames = _drain_until_end(ws.sock, timeout=10)
    print(f"ping flood: sent {sent >> 20} MiB ({send_error!r}), ended by {how}, RSS grew {grown >> 20} MiB")
    assert how is not None, f"the server never ended the connection (sent {sent >> 20} MiB of pings)"
    closes = [f.close_code for f in frames if f.opcode == OP_CLOSE]
    assert closes in ([], [CLOSE_POLICY]), f"close frames {closes}, expected at most one 1008"
    assert_still_serving(server)


def _rss_bound(server) -> int:
    bound = 32 * MiB
    if server.is_asan():
        # AddressSanitizer keeps freed blocks in its quarantine (256 MiB by default), so each
        # buffer that passed through shows in the RSS even after it is freed.
        bound += 256 * MiB
    return bound


def _drain_until_end(sock: socket.socket, timeout: float) -> tuple[str | None, list]:
    """Reads until the server ends the connection: ("eof"|"reset", frames), or (None, frames)
    when it is still open after timeout."""
    data = bytearray()
    how = None
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            how = "reset"
            break
        except socket.timeout:
            continue
        if not chunk:
            how = "eof"
            break
        data += chunk
    frames = []
    while (parsed := parse_server_frame(data)) is not None:
        frame, n = parsed
        del data[:n]
        frames.append(frame)
    return how, frames


# ---- heartbeat and idle timeout ---------------------------------------------------------------

@pytest.mark.server_args("--ping-interval", "200", "--pong-timeout", "300", "--loops", "1")
def test_client_answering_pings_stays_open(server):
    pings = 0
    with RawWebSocket.connect(server) as ws:
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            try:
                frame = ws.recv_frame(timeout=max(0.01, until - time.monotonic()))
            except TimeoutError:
                break
            assert frame.opcode == OP_PING, f"unexpected opcode {frame.opcode}"
            pings += 1
            ws.send_frame(OP_PONG, frame.payload)
        assert pings >= 4, f"{pings} pings in 2 s with a 200 ms interval"
        ws.echo(OP_TEXT, b"alive after 2 s")
    assert_still_serving(server)


@pytest.mark.server_args("--ping-interval", "200", "--pong-timeout", "300", "--loops", "1")
def test_client_that_never_answers_pings_is_closed_by_the_server(server):
    pings = 0
    started = time.monotonic()
    with RawWebSocket.connect(server) as ws:
        ended = None
        while time.monotonic() - started < 3.0:
            try:
                frame = ws.recv_frame(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionEnded as end:
                ended = end.how
                break
            if frame.opcode == OP_PING:
                pings += 1        # and never answered
            elif frame.opcode == OP_CLOSE:
                ended = f"close {frame.close_code}, then {ws.wait_end()}"
                break
        elapsed = time.monotonic() - started
    assert ended is not None, "the server kept a connection that never answers pings open for 3 s"
    assert pings >= 1, "the connection was closed without a ping"
    assert elapsed <= 2.0, f"closed after {elapsed:.2f} s; interval 0.2 s + pong timeout 0.3 s"
    assert_still_serving(server)


@pytest.mark.server_args("--idle-timeout", "300", "--loops", "1")
def test_idle_connection_is_closed_with_1001(server):
    with RawWebSocket.connect(server) as ws:
        started = time.monotonic()
        frame = ws.expect_close(CLOSE_GOING_AWAY, timeout=3)
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed <= 1.5, f"closed after {elapsed:.2f} s with a 0.3 s idle timeout"
    assert_still_serving(server)


@pytest.mark.server_args("--idle-timeout", "300", "--loops", "1")
def test_idle_timeout_restarts_with_every_message(server):
    with RawWebSocket.connect(server) as ws:
        last_sent = time.monotonic()
        for i in range(8):   # 0.8 s of traffic, more than twice the idle timeout
            time.sleep(0.1)
            last_sent = time.monotonic()
            ws.echo(OP_TEXT, f"keepalive {i}".encode())
        ws.expect_close(CLOSE_GOING_AWAY, timeout=3)
        elapsed = time.monotonic() - last_sent
    assert 0.25 <= elapsed <= 1.5, f"closed {elapsed:.2f} s after the last message; the idle timeout is 0.3 s"
    assert_still_serving(server)


# ---- shutdown with a peer that ignores the close ----------------------------------------------

def test_sigterm_refuses_new_connections_while_draining_a_silent_peer(server):
    with RawWebSocket.connect(server) as ws:
        ws.echo(OP_TEXT, b"before shutdown")
        server.send_sigterm()
        frame = ws.recv_frame(timeout=5)
        assert frame.opcode == OP_CLOSE and frame.close_code == CLOSE_GOING_AWAY, frame
        assert frame.close_reason
        # This client never answers the close, so the server is still draining. New clients
        # must be refused at once, not accepted by the kernel and left hanging until the
        # process exits. Several tries: SO_REUSEPORT spreads them over every loop's listener.
        _until_every_listener_is_closed(server)
        for attempt in range(8):
            outcome = _connect_outcome(server, timeout=0.3)
            assert outcome == "refused", f"new connection {attempt + 1} during the drain was {outcome}"
        assert ws.wait_end(timeout=10) in ("eof", "reset")
    rc = server.terminate()
    assert rc == 0, f"exit status {rc}\n{server.stderr_text()}"


# What a connection to a listener that was closing as it arrived may see: it is then closed.
_CAUGHT_CLOSING = ("accepted by the kernel, then reset", "accepted, then closed")


def _until_every_listener_is_closed(server) -> None:
    """Returns once the kernel refuses a connection to the server's port, that is once every
    loop has closed its listener (SO_REUSEPORT gives a connection to any listener still open).

    A loop closes its listener before it says 1001 to its clients (nws__loop_begin_shutdown), so
    the caller's 1001 shows one closed. Another loop that has not begun its shutdown yet still
    serves a connection (101): that one is held until its own 1001, when that listener is closed
    too. So before the refusal each other loop gives at most one connection, and no connection
    is ever left hanging."""
    for _ in range(server.loops):
        outcome, ws = _connect(server, timeout=0.3)
        if outcome == "refused":
            return
        assert ws is not None or outcome in _CAUGHT_CLOSING, f"a new connection during the drain was {outcome}"
        if ws is not None:
            with ws:
                frame = ws.recv_frame(timeout=5)
                assert frame.opcode == OP_CLOSE and frame.close_code == CLOSE_GOING_AWAY, frame
    raise AssertionError(f"all {server.loops} loops have closed their listeners, yet a connection was not refused")


def _connect_outcome(server, timeout: float) -> str:
    """"refused", or what became of a connection the kernel accepted on the server's port."""
    outcome, ws = _connect(server, timeout)
    if ws is not None:
        ws.close_socket()
    return outcome


def _connect(server, timeout: float) -> tuple[str, RawWebSocket | None]:
    """_connect_outcome, with the open connection when the server upgraded it (101)."""
    try:
        sock = socket.create_connection(server.address, timeout=timeout)
    except ConnectionRefusedError:
        return "refused", None
    if sock.getsockname() == sock.getpeername():
        sock.close()
        return "refused", None   # a TCP self-connect: nothing listens on that port
    head = b""
    try:
        sock.sendall(upgrade_request(server, "dGhlIHNhbXBsZSBub25jZQ=="))
        sock.settimeout(timeout)
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    except socket.timeout:
        outcome = f"accepted by the kernel and left unanswered for {timeout} s"
    except (ConnectionResetError, BrokenPipeError):
        outcome = "accepted by the kernel, then reset"
    else:
        if head.startswith(b"HTTP/1.1 101 ") and b"\r\n\r\n" in head:
            return f"accepted and answered {head[:20]!r}", RawWebSocket(sock, head.split(b"\r\n\r\n", 1)[1])
        outcome = f"accepted and answered {head[:20]!r}" if head else "accepted, then closed"
    sock.close()
    return outcome, None
