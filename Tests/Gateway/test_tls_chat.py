"""
The chat example over TLS (https:// and wss://), with a certificate authority the tests make:
Python websockets clients (offering permessage-deflate, as they do by default) chat in a room
over wss, and headless Chromium, trusting that CA through its NSS database (certutil, Debian's
libnss3-tools), loads the https page and chats with them. A plain ws:// client to the TLS port
is refused.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import ChatServer, default_binary, interop, join, open_client, say, with_text
from .test_browser import BROWSER_TIMEOUT_S, _browser_setup, _log_in, _send, _wait_for_line, chrome_options

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Interop"))
from pki import make_pki  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is missing")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_chat_server(pki):
    cert, key = pki["server"]
    srv = ChatServer(default_binary(), ("--tls-cert", str(cert), "--tls-key", str(key), "--deflate", "shared"))
    srv.start()
    yield srv
    interop.finish_server(srv)


def trusting(pki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki["ca"]))


async def test_websockets_clients_chat_over_wss(tls_chat_server, pki):
    assert tls_chat_server.url.startswith("https://")
    page = urllib.request.urlopen(tls_chat_server.url, context=trusting(pki), timeout=5).read().decode()
    assert "NaviosWS chat" in page
    async with contextlib.AsyncExitStack() as stack:
        alice = await stack.enter_async_context(
            open_client(tls_chat_server, token="alice-token", ssl=trusting(pki), compression="deflate"))
        bob = await stack.enter_async_context(open_client(tls_chat_server, token="bob-token", ssl=trusting(pki)))
        assert "permessage-deflate" in alice.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        await join(alice, "general")
        await join(bob, "general")
        long_line = "a line long enough to be compressed, " * 20
        await say(alice, "general", long_line)
        got = await bob.recv_event("chat:message", where=with_text(long_line))
        assert got["data"]["userId"] == "alice"


def test_a_plain_client_to_the_tls_port_is_refused(tls_chat_server):
    answer = interop.http_exchange(tls_chat_server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.status == 400


def test_chromium_trusting_the_test_ca_chats_over_wss(tls_chat_server, pki, tmp_path):
    setup = _browser_setup()
    if isinstance(setup, str):
        pytest.skip(setup)
    if shutil.which("certutil") is None:
        pytest.skip("certutil is missing (apt-get install libnss3-tools)")
    chromium, driver_path = setup
    # Chromium on Linux trusts what $HOME/.pki/nssdb trusts: a fresh home with the test CA in it.
    home = tmp_path / "home"
    nssdb = home / ".pki/nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-n", "navios-test-ca", "-t", "C,,", "-i",
                    str(pki["ca"])], check=True)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(executable_path=driver_path, env={**os.environ, "HOME": str(home)}),
                              options=chrome_options(chromium))
    driver.set_page_load_timeout(BROWSER_TIMEOUT_S)
    try:
        _log_in(driver, tls_chat_server.url, "carol-token", "general")   # fails on a certificate error page

        async def chat():
            async with open_client(tls_chat_server, token="alice-token", ssl=trusting(pki)) as alice:
                await join(alice, "general")
                _send(driver, "hello from chromium over wss")
                got = await alice.recv_event("chat:message", where=with_text("hello from chromium over wss"))
                assert got["data"]["userId"] == "carol"
                await say(alice, "general", "hello back over wss")
                _wait_for_line(driver, "alice: hello back over wss", "carol")

        import asyncio
        asyncio.run(chat())
        assert driver.execute_script("return location.protocol") == "https:"
    finally:
        driver.quit()
