"""
test_deflate.py — navios-ws-bench --deflate: it offers permessage-deflate, compresses what it
sends and inflates what comes back compressed, and its counts stay exact: against
navios-ws-echo in both modes and against node's ws, a server we did not write. A server that
declines the offer fails the run (a run meant to measure compression must not measure
something else).
"""
import pytest

from conftest import EXIT_OK, _serving, Server, REPO, node_with_ws
from test_counts import assert_clean


@pytest.fixture(params=["shared", "dedicated"])
def deflate_echo_server(request):
    yield from _serving("NAVIOS_WS_ECHO", "navios-ws-echo", "--host", "127.0.0.1", "--deflate", request.param)


@pytest.mark.parametrize("size,depth", [(20, 4), (5000, 2), (100000, 1)])
def test_echoWithDeflateIsExact(deflate_echo_server, run_bench, size, depth):
    """--verify inflates every answer and compares every byte; 100 KB answers arrive in chunks."""
    run = run_bench("echo", "--port", deflate_echo_server.port, "--connections", 10, "--size", size,
                    "--depth", depth, "--deflate", "--verify")
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0


def test_echoWithDeflateAgainstNodeWs(run_bench):
    srv = Server([node_with_ws(), str(REPO / "Benchmarks/peers/node-ws/echo.js"), "--port", "0", "--deflate"],
                 "node echo.js --deflate")
    try:
        run = run_bench("echo", "--port", srv.port, "--connections", 5, "--size", 3000, "--depth", 2,
                        "--deflate", "--verify")
        assert_clean(run)
        assert run.results["sent"] == run.results["received"] > 0
    finally:
        srv.stop()


def test_aServerThatDeclinesDeflateFailsTheRun(echo_server, run_bench):
    run = run_bench("echo", "--port", echo_server.port, "--connections", 3, "--deflate")
    assert run.returncode != EXIT_OK
    assert run.errors.get("handshake", 0) == 3, run.explain()
