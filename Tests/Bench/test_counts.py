"""
test_counts.py — navios-ws-bench's counts are exact against real servers: every message sent
is received once, every publish reaches every subscriber once, and the run says "ok" only
then.

navios-ws-echo exposes no message counters (its /health answers "ok" and nothing else), so
the echo tests compare the harness's own sent and received counts and its per-message
sequence check; they cannot compare with the server's count of messages in.
"""
import pytest

from conftest import EXIT_OK


def assert_clean(run):
    assert run.returncode == EXIT_OK, run.explain()
    assert run.json["ok"] is True, run.explain()
    assert run.errors["total"] == 0, run.nonzero_errors()
    assert run.json["failures"] == []


@pytest.mark.parametrize("size,depth,frames", [(20, 4, "text"), (20, 1, "binary"), (40000, 2, "binary"), (5000, 3, "text")])
def test_echoReceivedEqualsSentExactly(echo_server, run_bench, size, depth, frames):
    """Sizes above one 32 KiB receive buffer arrive in several chunks; --verify compares every byte."""
    args = ["echo", "--port", echo_server.port, "--connections", 20, "--size", size, "--depth", depth, "--verify"]
    if frames == "binary":
        args.append("--binary")
    run = run_bench(*args)
    assert_clean(run)
    r = run.results
    assert r["sent"] == r["received"] > 0
    assert r["measured_messages"] > 0
    assert r["connections_opened"] == r["open_at_end"] == 20
    assert r["mb_per_s"] == pytest.approx(r["msgs_per_s"] * size / 1e6, rel=1e-3)


def test_echoAgainstNodeWsIsExactToo(node_echo_server, run_bench):
    """Any RFC 6455 server will do: node's ws library, fragmenting nothing, masking nothing."""
    run = run_bench("echo", "--port", node_echo_server.port, "--connections", 10, "--size", 3000, "--depth", 2,
                    "--verify")
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0


def test_echoOfEmptyMessages(echo_server, run_bench):
    run = run_bench("echo", "--port", echo_server.port, "--connections", 5, "--size", 0, "--depth", 2)
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0


def test_echoWithTwoThreadsCountsEveryConnection(echo_server, run_bench):
    run = run_bench("echo", "--port", echo_server.port, "--connections", 31, "--depth", 8, "--threads", 2)
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0
    assert run.results["connections_opened"] == 31


def test_latencySendsTheScheduleAndHearsEveryAnswer(echo_server, run_bench):
    """An open loop at 2,000 requests/s for 0.3 s + 1 s: 2,600 requests, each answered, and the
    ones scheduled in the measured second (2,000, give or take the edge) in the histogram."""
    run = run_bench("latency", "--port", echo_server.port, "--connections", 10, "--rate", 2000)
    assert_clean(run)
    r = run.results
    assert r["sent"] == r["received"]
    assert abs(r["sent"] - 2600) <= 1
    lat = r["latency_us"]
    assert abs(lat["count"] - 2000) <= 1
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]


def test_latencyCountsAStallForEveryRequestItDelayed(misbehaving_server, run_bench):
    """No coordinated omission: one connection at 500 requests/s, and the server stops reading
    for 300 ms in the measured second. About 150 requests fall due during the stall; measured
    from their scheduled times they waited up to 300 ms, so the top tenth of the 500 samples
    is above 100 ms (a closed loop, or timing from the actual send, would show one slow
    sample and a p90 of a few hundred microseconds). A lower bound: a slower machine only
    adds latency."""
    srv = misbehaving_server("--stall-at", "300", "--stall-ms", "300")
    run = run_bench("latency", "--port", srv.port, "--connections", 1, "--rate", 500)
    assert run.returncode == EXIT_OK, run.explain()
    lat = run.results["latency_us"]
    assert abs(lat["count"] - 500) <= 1
    assert lat["p90"] >= 100_000, lat
    assert lat["max"] >= 250_000, lat


def test_fanoutGatewayDeliversEveryPublishToEverySubscriber(gateway_server, run_bench):
    """100 publishes/s for 1.3 s from 2 publishers: 65 each, 130 in all; 50 subscribers."""
    run = run_bench("fanout", "--port", gateway_server.port, "--protocol", "gateway", "--subscribers", 50,
                    "--publishers", 2, "--rate", 100)
    assert_clean(run)
    r = run.results
    assert r["publishes"] == r["publishes_planned"] == 130
    assert r["expected_deliveries"] == 50 * r["publishes"]
    assert r["received"] == r["expected_deliveries"]
    assert r["missing"] == 0 and r["duplicates"] == 0
    assert r["delivery_latency_us"]["count"] == r["measured_deliveries"] > 0


def test_fanoutGatewayWithTwoThreads(gateway_server, run_bench):
    run = run_bench("fanout", "--port", gateway_server.port, "--subscribers", 41, "--publishers", 3,
                    "--rate", 90, "--threads", 2, "--size", 100)
    assert_clean(run)
    r = run.results
    assert r["received"] == r["expected_deliveries"] == 41 * r["publishes"]


def test_fanoutBroadcastAgainstPythonRelay(misbehaving_server, run_bench):
    srv = misbehaving_server("--broadcast")
    run = run_bench("fanout", "--port", srv.port, "--protocol", "broadcast", "--subscribers", 20,
                    "--publishers", 2, "--rate", 100)
    assert_clean(run)
    r = run.results
    assert r["received"] == r["expected_deliveries"] == 20 * r["publishes"] > 0
    # The relay sends each publish back to both publishers too; they are not subscribers.
    assert r["publisher_receptions"] == 2 * r["publishes"]


def test_fanoutBroadcastAgainstNodeWs(node_broadcast_server, run_bench):
    run = run_bench("fanout", "--port", node_broadcast_server.port, "--protocol", "broadcast",
                    "--subscribers", 100, "--publishers", 2, "--rate", 200, "--size", 64)
    assert_clean(run)
    assert run.results["received"] == run.results["expected_deliveries"] == 100 * run.results["publishes"]


def test_connectStormCompletesCleanCycles(echo_server, run_bench):
    run = run_bench("connect", "--port", echo_server.port, "--concurrency", 8, "--sources", 2)
    assert_clean(run)
    r = run.results
    assert r["cycles_completed"] == r["cycles_started"] > 0
    assert r["handshake_latency_us"]["count"] > 0


def test_idleHoldsEveryConnectionAndReportsServerMemory(echo_server, run_bench):
    run = run_bench("idle", "--port", echo_server.port, "--connections", 300, "--sources", 3,
                    "--server-pid", echo_server.pid)
    assert_clean(run)
    r = run.results
    assert r["opened"] == r["open_at_end"] == 300
    assert r["server_rss_after_kib"] > 0 and r["server_rss_before_kib"] > 0
    assert "server_rss_bytes_per_conn" in r
