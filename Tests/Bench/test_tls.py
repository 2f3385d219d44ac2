"""
test_tls.py — navios-ws-bench --tls: every connection speaks TLS, the counts stay exact (echo
with every byte compared, with and without permessage-deflate), the connect scenario counts full
TLS handshakes, and a server that does not speak TLS fails the run.
"""
import sys
from pathlib import Path

import pytest

from conftest import EXIT_OK, _serving
from test_counts import assert_clean

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Interop"))
from pki import make_pki  # noqa: E402


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_echo_server(pki):
    cert, key = pki["server"]
    yield from _serving("NAVIOS_WS_ECHO", "navios-ws-echo", "--host", "127.0.0.1", "--tls-cert", str(cert),
                        "--tls-key", str(key), "--deflate", "shared")


@pytest.mark.parametrize("size,depth,deflate", [(20, 4, False), (16384, 2, False), (40000, 1, True)])
def test_echoOverTlsIsExact(tls_echo_server, run_bench, size, depth, deflate):
    args = ["echo", "--port", tls_echo_server.port, "--connections", 10, "--size", size, "--depth", depth,
            "--tls", "--verify"]
    run = run_bench(*args, *(["--deflate"] if deflate else []))
    assert_clean(run)
    assert run.results["sent"] == run.results["received"] > 0


def test_connectCountsFullTlsHandshakes(tls_echo_server, run_bench):
    run = run_bench("connect", "--port", tls_echo_server.port, "--concurrency", 8, "--tls")
    assert_clean(run)
    assert run.results["connections_per_s"] > 0


def test_aServerWithoutTlsFailsTheRun(echo_server, run_bench):
    run = run_bench("echo", "--port", echo_server.port, "--connections", 3, "--tls")
    assert run.returncode != EXIT_OK
    assert run.errors.get("handshake", 0) == 3, run.explain()
