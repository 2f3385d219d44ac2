"""Memory a burst leaves behind: once a loop's connections fall quiet, the io_uring backend
gives the pages of its receive buffers back to the kernel, and the next reads still arrive whole.
"""
from __future__ import annotations

import os
import time

import pytest

from conftest import OP_BINARY, RawWebSocket, assert_still_serving

KiB = 1024

CLIENTS = 48
ROUNDS = 8
MESSAGE = 24 * KiB    # most of a 32 KiB receive buffer: a burst of them touches every page they hold


def _burst(clients: list[RawWebSocket]) -> None:
    """Every client sends ROUNDS messages at once, then reads its echoes back, byte for byte."""
    sent = {id(ws): [os.urandom(MESSAGE) for _ in range(ROUNDS)] for ws in clients}
    for ws in clients:
        for message in sent[id(ws)]:
            ws.send_frame(OP_BINARY, message)
    for ws in clients:
        for message in sent[id(ws)]:
            opcode, payload = ws.recv_message(timeout=10)
            assert (opcode, payload) == (OP_BINARY, message)


@pytest.mark.server_args("--loops", "1")
def test_receive_buffers_go_back_to_the_kernel_once_the_loop_is_quiet(server, backend):
    if backend != "io_uring":
        pytest.skip("epoll reads every connection into one 64 KiB buffer per loop: nothing to give back")
    clients = [RawWebSocket.connect(server, timeout=10) for _ in range(CLIENTS)]
    try:
        _burst(clients)
        busy = server.rss_bytes()
        # A second after the last read the pages go; allow the loop a few to get there.
        deadline, quiet = time.monotonic() + 5, busy
        while time.monotonic() < deadline and busy - quiet < 256 * KiB:
            time.sleep(0.2)
            quiet = server.rss_bytes()
        print(f"RSS after the burst {busy >> 10} KiB, once quiet {quiet >> 10} KiB")
        assert busy - quiet >= 256 * KiB, \
            f"RSS went from {busy >> 10} to {quiet >> 10} KiB: the receive buffers stayed resident"
        # The released pages come back zeroed when the kernel reads into them again: every
        # message must still arrive whole, on every connection.
        _burst(clients)
    finally:
        for ws in clients:
            ws.close_socket()
    assert_still_serving(server)
