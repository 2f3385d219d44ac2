"""
test_misbehaving.py — a server that misbehaves makes navios-ws-bench fail (exit status 3,
"ok": false) with the breach counted under its name, never a fast-looking run. Each server
is Tests/Bench/misbehaving_server.py in one mode; every run is bounded, and the harness must
finish well inside its own time budget even when the server stops answering.
"""
import socket

import pytest

from conftest import EXIT_MISBEHAVED

ECHO = ("--connections", 4, "--depth", 4, "--drain", 0.5)


def assert_failed(run, **at_least):
    assert run.returncode == EXIT_MISBEHAVED, run.explain()
    assert run.json["ok"] is False
    assert run.errors["total"] > 0
    for kind, minimum in at_least.items():
        assert run.errors[kind] >= minimum, f"{kind}: {run.nonzero_errors()}"


def test_droppingEveryTenthEchoIsMissingNotFast(misbehaving_server, run_bench):
    srv = misbehaving_server("--drop-every", "10")
    run = run_bench("echo", "--port", srv.port, *ECHO)
    assert_failed(run, missing=1, content=1)
    r = run.results
    assert r["sent"] - r["received"] == run.errors["missing"]
    assert any("sent" in f and "received" in f for f in run.json["failures"])


def test_closingAfterKMessagesIsACloseFrameError(misbehaving_server, run_bench):
    srv = misbehaving_server("--close-after", "50")
    run = run_bench("echo", "--port", srv.port, *ECHO)
    assert_failed(run, close_frame=4)
    assert run.results["open_at_end"] == 0


def test_endingTcpWithoutCloseIsClosedByServer(misbehaving_server, run_bench):
    srv = misbehaving_server("--abort-after", "50")
    run = run_bench("echo", "--port", srv.port, *ECHO)
    assert_failed(run, closed_by_server=4)


def test_corruptedEchoIsAContentErrorWithVerify(misbehaving_server, run_bench):
    srv = misbehaving_server("--corrupt-every", "7")
    run = run_bench("echo", "--port", srv.port, *ECHO, "--verify")
    assert_failed(run, content=1)
    assert run.results["sent"] == run.results["received"]   # every answer came, some were wrong


def test_wrongLengthEchoIsALengthError(misbehaving_server, run_bench):
    srv = misbehaving_server("--extra-byte-every", "7")
    run = run_bench("echo", "--port", srv.port, *ECHO)
    assert_failed(run, length=1)


def test_reservedOpcodeIsAProtocolError(misbehaving_server, run_bench):
    srv = misbehaving_server("--bad-frame-after", "30")
    run = run_bench("echo", "--port", srv.port, *ECHO)
    assert_failed(run, protocol=4)


def test_wrongSecWebSocketAcceptIsAHandshakeError(misbehaving_server, run_bench):
    srv = misbehaving_server("--bad-accept")
    run = run_bench("echo", "--port", srv.port, *ECHO)
    assert_failed(run, handshake=4)
    assert run.results["connections_opened"] == 0


def test_latencyAgainstADroppingServerIsMissing(misbehaving_server, run_bench):
    srv = misbehaving_server("--drop-every", "10")
    run = run_bench("latency", "--port", srv.port, "--connections", 4, "--rate", 500, "--drain", 0.5)
    assert_failed(run, missing=1)


def test_fanoutDroppedDeliveriesAreMissing(misbehaving_server, run_bench):
    srv = misbehaving_server("--broadcast", "--drop-every", "10")
    run = run_bench("fanout", "--port", srv.port, "--protocol", "broadcast", "--subscribers", 20, "--rate", 100,
                    "--drain", 0.5)
    assert_failed(run, missing=1)
    r = run.results
    assert r["missing"] == r["expected_deliveries"] - r["received"] > 0


def test_fanoutRepeatedDeliveriesAreDuplicates(misbehaving_server, run_bench):
    srv = misbehaving_server("--broadcast", "--duplicate-every", "10")
    run = run_bench("fanout", "--port", srv.port, "--protocol", "broadcast", "--subscribers", 20, "--rate", 100)
    assert_failed(run, duplicate=1)
    assert run.results["duplicates"] == run.errors["duplicate"]


def test_fanoutGatewayProtocolAgainstAPlainEchoIsAnError(misbehaving_server, run_bench):
    """An echo server answers the join with the join itself, not an ack: no subscriber ever
    becomes ready, and the run says so instead of measuring nothing."""
    srv = misbehaving_server()
    run = run_bench("fanout", "--port", srv.port, "--protocol", "gateway", "--subscribers", 5,
                    "--connect-timeout", 1)
    assert_failed(run, unexpected=1)


@pytest.fixture
def silent_listener():
    """A socket that accepts TCP connections and never answers the upgrade."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock.getsockname()[1]
    sock.close()


def test_serverThatNeverUpgradesTimesOutWithinTheBudget(silent_listener, run_bench):
    run = run_bench("echo", "--port", silent_listener, "--connections", 3, "--connect-timeout", 1, timeout=30)
    assert_failed(run, timeout=3)
    assert run.elapsed < 1 + 0.3 + 1 + 1 + 5   # connect timeout + warmup + duration + drain + slack


def test_refusedConnectionsAreConnectErrors(run_bench):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()   # bound then closed: nothing listens there
    run = run_bench("echo", "--port", port, "--connections", 3)
    assert_failed(run, connect=3)
