"""
test_gateway_echo.py — navios-ws-bench's echo and latency scenarios with --protocol gateway:
every message is a gateway event {"event":"echo","data":{"text":...},"id":N}, and only the
matching ack envelope with the same N counts as its answer. Exact counts against
navios-ws-gateway-echo; a server that drops, mangles or mis-numbers answers fails the run.
"""
import subprocess

import pytest

from conftest import EXIT_MISBEHAVED
from test_counts import assert_clean


@pytest.mark.parametrize("size,depth", [(20, 4), (0, 1), (40000, 2)])
def test_gatewayEchoReceivedEqualsSentExactly(gateway_server, run_bench, size, depth):
    """40 KB texts arrive over several reads; --verify compares the text byte for byte too."""
    run = run_bench("echo", "--port", gateway_server.port, "--protocol", "gateway", "--connections", 20,
                    "--size", size, "--depth", depth, "--verify")
    assert_clean(run)
    r = run.results
    assert r["sent"] == r["received"] > 0
    assert r["measured_messages"] > 0
    assert r["connections_opened"] == r["open_at_end"] == 20
    assert run.json["parameters"]["protocol"] == "gateway"
    assert run.json["parameters"]["event"] == "echo"


def test_gatewayEchoWithTwoThreads(gateway_server, run_bench):
    run = run_bench("echo", "--port", gateway_server.port, "--protocol", "gateway", "--connections", 31,
                    "--depth", 8, "--threads", 2)
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0


def test_gatewayLatencySendsTheScheduleAndHearsEveryAck(gateway_server, run_bench):
    """2,000 requests/s for 0.3 s + 1 s: 2,600 events, each acked; 2,000 measured."""
    run = run_bench("latency", "--port", gateway_server.port, "--protocol", "gateway", "--connections", 10,
                    "--rate", 2000)
    assert_clean(run)
    r = run.results
    assert r["sent"] == r["received"]
    assert abs(r["sent"] - 2600) <= 1
    lat = r["latency_us"]
    assert abs(lat["count"] - 2000) <= 1
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]


def test_gatewayEchoAgainstAPythonGatewayIsExact(misbehaving_server, run_bench):
    """The check is of the protocol, not of navios: an independent implementation passes."""
    srv = misbehaving_server("--gateway")
    run = run_bench("echo", "--port", srv.port, "--protocol", "gateway", "--connections", 5, "--size", 100,
                    "--depth", 2, "--verify")
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0


def test_gatewayEchoCountsAWrongAckId(misbehaving_server, run_bench):
    """Every 50th answer acks the next id: a content error, and the run fails."""
    srv = misbehaving_server("--gateway", "--wrong-ack-every", "50")
    run = run_bench("echo", "--port", srv.port, "--protocol", "gateway", "--connections", 4, "--depth", 2)
    assert run.returncode == EXIT_MISBEHAVED, run.explain()
    assert run.errors["content"] > 0
    assert run.json["ok"] is False


def test_gatewayEchoCountsADroppedEventAsMissing(misbehaving_server, run_bench):
    srv = misbehaving_server("--gateway", "--drop-every", "100")
    run = run_bench("echo", "--port", srv.port, "--protocol", "gateway", "--connections", 4, "--depth", 2)
    assert run.returncode == EXIT_MISBEHAVED, run.explain()
    r = run.results
    assert run.errors["missing"] == r["sent"] - r["received"] > 0
    # Each drop that a later answer revealed is also one content error (the id skipped).
    assert 0 < run.errors["content"] <= run.errors["missing"]


def test_gatewayEchoCountsAMangledText(misbehaving_server, run_bench):
    srv = misbehaving_server("--gateway", "--corrupt-every", "30")
    run = run_bench("echo", "--port", srv.port, "--protocol", "gateway", "--connections", 3, "--size", 64,
                    "--verify")
    assert run.returncode == EXIT_MISBEHAVED, run.explain()
    assert run.errors["content"] > 0


def test_gatewayEchoOfAnEventTheServerDoesNotHandleFails(gateway_server, run_bench):
    run = run_bench("echo", "--port", gateway_server.port, "--protocol", "gateway", "--event", "nosuch",
                    "--connections", 2, "--duration", 0.3)
    assert run.returncode == EXIT_MISBEHAVED, run.explain()
    assert run.errors["total"] > 0


def test_gatewayTakesNoBinaryFrames(bench_binary):
    proc = subprocess.run([str(bench_binary), "echo", "--protocol", "gateway", "--binary"], capture_output=True,
                          text=True, timeout=10)
    assert proc.returncode == 2
    assert "JSON text" in proc.stderr
