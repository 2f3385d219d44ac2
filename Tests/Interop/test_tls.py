"""
test_tls.py — wss:// on both backends, against a certificate authority the tests create with
the openssl command: Python's websockets over TLS (permessage-deflate offered, as it does by
default), SNI, client certificates, a reload while connections stay open, and every way a
client can get TLS wrong: plain HTTP or a plain WebSocket upgrade to the TLS port, garbage
records, a handshake that stalls, a certificate the client does not trust or that expired,
mTLS without a certificate. Each ends by checking that other clients are still served.

    .venv/bin/python -m pytest Tests/Interop/test_tls.py -q
"""
from __future__ import annotations

import base64
import os
import select
import shutil
import signal
import socket
import ssl
import time

import pytest
import websockets.sync.client

from conftest import OP_TEXT, build_frame, expected_accept, parse_server_frame, read_http_answer, upgrade_request
from pki import make_pki

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is missing")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_args(pki, cert: str = "server", *extra: str) -> list[str]:
    c, k = pki[cert]
    return ["--tls-cert", str(c), "--tls-key", str(k), *extra]


def client_context(pki, *, ca: str = "ca", cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki[ca]))
    if cert:
        c, k = pki[cert]
        ctx.load_cert_chain(str(c), str(k))
    return ctx


def wss(server, host: str = "localhost") -> str:
    return f"wss://{host}:{server.port}/"


def assert_still_serving_tls(server, pki) -> None:
    with websockets.sync.client.connect(wss(server), ssl=client_context(pki), open_timeout=5) as ws:
        ws.send("still serving")
        assert ws.recv(timeout=5) == "still serving"


# ---- serving ---------------------------------------------------------------------------------

@pytest.mark.parametrize("deflate", ["off", "shared"])
def test_websockets_over_tls_exchanges_messages(server_factory, pki, deflate):
    server = server_factory(*tls_args(pki), *(["--deflate", deflate] if deflate != "off" else []))
    messages = ["hello", "é" * 5000, os.urandom(100_000), "x" * 300_000, b""]
    with websockets.sync.client.connect(wss(server), ssl=client_context(pki), max_size=None) as ws:
        assert (ws.response.headers.get("Sec-WebSocket-Extensions") is not None) == (deflate != "off")
        for m in messages:
            ws.send(m)
            assert ws.recv(timeout=10) == m
        for i in range(500):   # many small frames: sealed a burst at a time
            ws.send(f"burst {i}")
        for i in range(500):
            assert ws.recv(timeout=10) == f"burst {i}"


def test_tls_1_3_and_1_2_and_alpn(server_factory, pki):
    server = server_factory(*tls_args(pki))
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = client_context(pki)
        ctx.minimum_version = ctx.maximum_version = version
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(server.address, timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
            assert tls.selected_alpn_protocol() == "http/1.1"
            tls.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = read_http_answer(tls)
            assert answer.status == 200 and answer.body == b"ok\n"


def test_session_tickets_come_with_the_first_response_and_resume_the_session(server_factory, pki):
    """TLS 1.3 session tickets go with the 101, not on their own as the client's Finished arrives.
    websockets' and python-socketio's sync clients write the request on one thread while another
    blocks reading the same session; tickets arriving during that write can deadlock them inside
    OpenSSL, and the request never leaves. The tickets must still resume a session."""
    server = server_factory(*tls_args(pki))
    ctx = client_context(pki)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    session = None
    for resuming in (False, True):
        with socket.create_connection(server.address, timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            assert tls.session_reused == resuming
            readable, _, _ = select.select([tls], [], [], 0.3)
            assert not readable, "the server wrote before the client's request"
            key = base64.b64encode(os.urandom(16)).decode()
            tls.sendall(upgrade_request(server, key))
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = tls.recv(4096)
                assert chunk, f"the connection ended before the upgrade's answer: {head!r}"
                head += chunk
            assert head.startswith(b"HTTP/1.1 101 ") and expected_accept(key).encode() in head
            assert tls.session.has_ticket
            session = tls.session
    assert_still_serving_tls(server, pki)


def test_sni_picks_the_certificate_by_name(server_factory, pki):
    sni_cert, sni_key = pki["sni"]
    server = server_factory(*tls_args(pki, "server", "--tls-sni", f"other.test:{sni_cert}:{sni_key}",
                                      "--tls-sni", f"*.wild.test:{sni_cert}:{sni_key}"))
    for name, expected in (("localhost", "localhost"), ("other.test", "other.test"), ("a.wild.test", "other.test"),
                           ("unknown.test", "localhost")):
        ctx = client_context(pki)
        ctx.check_hostname = False
        with socket.create_connection(server.address, timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=name) as tls:
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
            assert subject["commonName"] == expected, name


def test_client_certificates_are_verified_and_their_subject_reaches_the_server(server_factory, pki):
    server = server_factory(*tls_args(pki, "server", "--tls-client-ca", str(pki["ca"])))
    with websockets.sync.client.connect(wss(server), ssl=client_context(pki, cert="client")) as ws:
        assert ws.recv(timeout=5) == "peer: CN=alice,O=NaviosWS tests"   # RFC 2253: the last RDN first
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
    for who in (None, "stranger"):   # no certificate; one from another CA
        with pytest.raises((ssl.SSLError, OSError, EOFError, websockets.exceptions.WebSocketException)):
            with websockets.sync.client.connect(wss(server), ssl=client_context(pki, cert=who), open_timeout=5) as ws:
                ws.recv(timeout=5)   # TLS 1.3: the refusal comes after the client's handshake ends
    with websockets.sync.client.connect(wss(server), ssl=client_context(pki, cert="client")) as ws:
        assert ws.recv(timeout=5).startswith("peer: ")


def test_certificates_reload_on_sighup_without_dropping_connections(server_factory, pki, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki["server"][0], cert)
    shutil.copy(pki["server"][1], key)
    server = server_factory("--tls-cert", str(cert), "--tls-key", str(key))
    with websockets.sync.client.connect(wss(server), ssl=client_context(pki)) as before:
        before.send("one")
        assert before.recv(timeout=5) == "one"
        shutil.copy(pki["renewed"][0], cert)
        shutil.copy(pki["renewed"][1], key)
        os.kill(server.pid, signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "reloaded" not in server.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "certificates reloaded" in server.stderr_text()
        with socket.create_connection(server.address, timeout=5) as raw, \
                client_context(pki).wrap_socket(raw, server_hostname="localhost") as tls:
            assert dict(x[0] for x in tls.getpeercert()["subject"])["commonName"] == "localhost renewed"
        before.send("two")   # the connection from before the reload goes on
        assert before.recv(timeout=5) == "two"


# ---- clients that get it wrong ----------------------------------------------------------------

def test_plain_http_to_the_tls_port_gets_400(server_factory, pki):
    server = server_factory(*tls_args(pki))
    for request in (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"):
        with socket.create_connection(server.address, timeout=5) as s:
            s.sendall(request)
            answer = read_http_answer(s)
            assert answer.status == 400 and b"TLS" in answer.body
            assert answer.ended == "eof"
    assert_still_serving_tls(server, pki)


def test_garbage_records_close_the_connection(server_factory, pki):
    server = server_factory(*tls_args(pki))
    for garbage in (b"\x16\x03\x01\x00\x10" + os.urandom(16), os.urandom(4096), b"\x17\x03\x03\xff\xff" + bytes(100)):
        with socket.create_connection(server.address, timeout=5) as s:
            s.sendall(garbage)
            s.settimeout(5)
            data = b""
            try:
                while chunk := s.recv(4096):
                    data += chunk
            except ConnectionResetError:
                pass
            assert len(data) < 200, "a failed handshake gets an alert at most"
    assert_still_serving_tls(server, pki)


def test_a_handshake_that_stalls_is_cut_at_the_handshake_timeout(server_factory, pki):
    server = server_factory(*tls_args(pki), "--handshake-timeout", "400")
    ctx = client_context(pki)
    # A real ClientHello, cut short: the slowloris of TLS.
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    with socket.create_connection(server.address, timeout=5) as s:
        s.sendall(hello[:40])
        t0 = time.monotonic()
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        assert time.monotonic() - t0 < 3
    assert_still_serving_tls(server, pki)


@pytest.mark.parametrize("wrong", ["untrusted", "expired", "wrong-name"])
def test_a_client_refuses_a_wrong_certificate_and_the_server_serves_on(server_factory, pki, wrong):
    server = server_factory(*tls_args(pki, "expired" if wrong == "expired" else "server"))
    ctx = client_context(pki, ca="other_ca" if wrong == "untrusted" else "ca")
    host = "127.0.0.2" if wrong == "wrong-name" else "localhost"
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(server.address, timeout=5) as raw:
            ctx.wrap_socket(raw, server_hostname=host)
    if wrong != "expired":
        assert_still_serving_tls(server, pki)
    else:   # still serving: a client that does not check the dates gets its echo
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        with websockets.sync.client.connect(wss(server), ssl=insecure) as ws:
            ws.send("late")
            assert ws.recv(timeout=5) == "late"


# ---- Engine.IO over TLS: requests that land on another loop move there with their session ----

def test_engineio_polling_over_tls_moves_between_loops_with_its_session(server_factory, pki):
    import http.client
    import json
    server = server_factory(*tls_args(pki), "--eio-path", "/engine.io/", "--loops", "2")

    def request(method: str, path: str, body: bytes | None = None) -> bytes:
        # A new TLS connection per request: the kernel spreads them over both loops, and a request
        # for a session the other loop owns moves there with its TLS session.
        conn = http.client.HTTPSConnection("localhost", server.port, context=client_context(pki), timeout=5)
        conn.request(method, path, body=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
        answer = conn.getresponse()
        data = answer.read()
        assert answer.status == 200, (answer.status, data)
        conn.close()
        return data

    for _ in range(4):
        opened = request("GET", "/engine.io/?EIO=4&transport=polling")
        assert opened[:1] == b"0"
        sid = json.loads(opened[1:])["sid"]
        path = f"/engine.io/?EIO=4&transport=polling&sid={sid}"
        for i in range(6):
            assert request("POST", path, f"4hello {i}".encode()) == b"ok"
            assert request("GET", path) == f"4hello {i}".encode()


# ---- record buffers --------------------------------------------------------------------------

class RecordClient:
    """A TLS client over memory BIOs on a plain socket: it chooses where its records are cut."""

    def __init__(self, server, pki):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        self.inbox, self.outbox = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = client_context(pki).wrap_bio(self.inbox, self.outbox, server_hostname="localhost")
        self.plain = bytearray()
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._send_records()
                self._receive()
        self._send_records()
        key = base64.b64encode(os.urandom(16)).decode()
        self.write(upgrade_request(server, key))
        while b"\r\n\r\n" not in self.plain:
            self._read()
        head, _, rest = bytes(self.plain).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head
        self.plain = bytearray(rest)

    def _send_records(self, upto: int | None = None) -> bytes:
        data = self.outbox.read()
        self.sock.sendall(data if upto is None else data[:upto])
        return data[upto:] if upto is not None else b""

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server ended the connection"
        self.inbox.write(chunk)

    def _read(self) -> None:
        try:
            self.plain += self.tls.read(65536)
        except ssl.SSLWantReadError:
            self._receive()

    def write(self, data: bytes) -> None:
        self.tls.write(data)
        self._send_records()

    def echo(self, text: bytes) -> bytes:
        self.write(build_frame(OP_TEXT, text))
        while not (parsed := parse_server_frame(self.plain)):
            self._read()
        frame, n = parsed
        del self.plain[:n]
        return frame.payload


def test_a_busy_session_gives_its_record_buffers_back_when_idle_and_reads_on(server_factory, pki):
    """A session that reads often keeps its record buffers; idle for two of the loop's looks
    (a second apart), it gives them back, unless a record is half received: then the session
    keeps it, and finishes it when the rest comes."""
    server = server_factory(*tls_args(pki), "--loops", "1")
    client = RecordClient(server, pki)

    def busy(tag: bytes) -> None:
        for i in range(40):   # busy: it keeps its buffers from the 16th read
            assert client.echo(tag + b" %d" % i) == tag + b" %d" % i

    busy(b"busy")
    time.sleep(2.5)       # idle, nothing half read: the buffers go back
    busy(b"again")
    client.tls.write(build_frame(OP_TEXT, b"cut across an idle spell"))
    rest = client._send_records(upto=20)   # the record's header and a few bytes of it
    time.sleep(2.5)
    client.sock.sendall(rest)
    while not (parsed := parse_server_frame(client.plain)):
        client._read()
    assert parsed[0].payload == b"cut across an idle spell"
    del client.plain[:parsed[1]]
    assert client.echo(b"after") == b"after"
    client.sock.close()
    assert_still_serving_tls(server, pki)
