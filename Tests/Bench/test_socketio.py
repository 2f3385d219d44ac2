"""
test_socketio.py — navios-ws-bench with --protocol socketio: each connection an Engine.IO
session CONNECTed to "/", echoes as events with an ack (42N["echo",{...}] answered 43N[...]),
fan-out through the conformance contract's join and room-emit. Exact counts against our
servers, with pings every 200 ms answered below the scenario; a server that answers the wrong
ack number fails the run.
"""
import pytest

from conftest import EXIT_MISBEHAVED
from test_counts import assert_clean


@pytest.mark.parametrize("size,depth", [(20, 8), (30000, 2)])
def test_socketioEchoWithAckReceivedEqualsSentExactly(socketio_gateway_server, run_bench, size, depth):
    """30 KB answers arrive over several reads: the ack number and the rest are read in chunks."""
    run = run_bench("echo", "--port", socketio_gateway_server.port, "--protocol", "socketio", "--connections", 20,
                    "--size", size, "--depth", depth, "--verify")
    assert_clean(run)
    r = run.results
    assert r["sent"] == r["received"] > 0
    assert r["connections_opened"] == r["open_at_end"] == 20
    assert run.json["parameters"]["protocol"] == "socketio"
    assert run.json["target"].endswith("/socket.io/?EIO=4&transport=websocket")


def test_socketioEchoAgainstTheContractServerAnswersPingsAndSkipsItsGreeting(socketio_contract_server, run_bench):
    run = run_bench("echo", "--port", socketio_contract_server.port, "--protocol", "socketio", "--event",
                    "message-with-ack", "--connections", 10, "--depth", 4, "--duration", 1.5)
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0


def test_socketioEchoCountsAnEventThatIsNotItsAck(socketio_contract_server, run_bench):
    """`message` is answered with the event message-back, never an ack: every answer is wrong."""
    run = run_bench("echo", "--port", socketio_contract_server.port, "--protocol", "socketio", "--event", "message",
                    "--connections", 2, "--duration", 0.5)
    assert run.returncode == EXIT_MISBEHAVED, run.explain()
    assert run.json["errors"]["total"] > 0 and run.results["received"] < run.results["sent"]
    assert run.json["ok"] is False


def test_socketioFanoutDeliversEveryPublishToEverySubscriber(socketio_contract_server, run_bench):
    run = run_bench("fanout", "--port", socketio_contract_server.port, "--protocol", "socketio",
                    "--subscribers", 50, "--publishers", 2, "--rate", 100)
    assert_clean(run)
    r = run.results
    assert r["received"] == r["expected_deliveries"] == 50 * r["publishes"] > 0
    assert r["missing"] == 0 and r["duplicates"] == 0


def test_socketioIdleHoldsConnectedSessions(socketio_contract_server, run_bench):
    run = run_bench("idle", "--port", socketio_contract_server.port, "--protocol", "socketio", "--connections", 200,
                    "--duration", 1)
    assert_clean(run)
    assert run.results["opened"] == 200
