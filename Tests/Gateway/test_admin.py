"""
The admin view (WsConfig.admin) of the chat example in headless Chromium: the page needs its
token, shows a JSON client that joined a room (connections, namespace, largest rooms, the socket
with its rooms) live over its own WebSocket, and its disconnect button ends that client's
connection. A screenshot of the page is written to NAVIOS_ADMIN_SCREENSHOT
(build/test-output/admin-page.png by default).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from websockets.sync.client import connect

from .conftest import REPO, http_exchange
from .test_browser import BROWSER_TIMEOUT_S, browser_factory  # noqa: F401  (the fixture)

TOKEN = "admin-secret"
pytestmark = pytest.mark.chat_args("--admin-token", TOKEN)
SCREENSHOT = Path(os.environ.get("NAVIOS_ADMIN_SCREENSHOT", REPO / "build" / "test-output" / "admin-page.png"))


def get(server, target: str):
    return http_exchange(server, f"GET {target} HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())


def test_the_page_wants_its_token_and_is_self_contained(chat_server):
    assert get(chat_server, "/admin").status == 401
    assert get(chat_server, "/admin?token=wrong").status == 401
    page = get(chat_server, f"/admin?token={TOKEN}")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html"), page.raw[:200]
    html = page.body.decode()
    assert "<script>" in html and "<style>" in html
    for external in ("<script src", "<link", "@import", "http://", "https://"):
        assert external not in html, f"the page loads something from outside: {external}"
    with pytest.raises(Exception) as refused:
        with connect(chat_server.ws_url("/admin/ws?token=wrong")) as ws:
            ws.recv(timeout=5)
    assert "1008" in str(refused.value)


def texts(driver, selector: str) -> list[str]:
    """The text of every element `selector` matches, read in one script turn: the page redraws its
    tables on every snapshot, so elements found in one call may be gone by the next."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.trim())", selector)


def test_the_page_shows_clients_live_and_disconnects_one(chat_server, browser_factory):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with connect(chat_server.ws_url("/ws/chat?token=carol-token")) as carol:
        welcome = json.loads(carol.recv(timeout=5))
        while welcome.get("event") != "chat:welcome":   # the recovery session comes first
            welcome = json.loads(carol.recv(timeout=5))
        carol_id = welcome["data"]["clientId"]
        carol.send(json.dumps({"event": "chat:join", "data": {"roomId": "lobby"}, "id": 1}))
        while "ack" not in json.loads(carol.recv(timeout=5)):
            pass

        driver = browser_factory()
        driver.get(chat_server.url.rstrip("/") + f"/admin?token={TOKEN}")
        assert driver.title == "NaviosWS admin"
        row = f"#sockets button[data-id='{carol_id}']"
        WebDriverWait(driver, BROWSER_TIMEOUT_S).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, row), message="carol never showed in the sockets table")
        cells = texts(driver, "#sockets tbody tr:first-child td")
        assert cells[:3] == [carol_id, "/chat", "json"] and "room:lobby" in cells[3], cells
        assert texts(driver, "#state") == ["ready"]
        assert int(texts(driver, "#connections")[0]) >= 1
        rooms = texts(driver, "#rooms tbody tr")
        assert any("room:lobby" in r and r.endswith("1") for r in rooms), rooms
        assert "/chat\t1" in texts(driver, "#namespaces tbody tr"), texts(driver, "#namespaces tbody tr")
        WebDriverWait(driver, BROWSER_TIMEOUT_S).until(
            lambda d: d.find_element(By.ID, "spark-in").get_attribute("points"), message="no sparkline drawn")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT)), "the screenshot was not written"

        driver.execute_script("document.querySelector(arguments[0]).click()", row)
        with pytest.raises(Exception) as closed:
            while True:
                carol.recv(timeout=5)
        assert "1000" in str(closed.value) and "server disconnect" in str(closed.value), closed.value
        WebDriverWait(driver, BROWSER_TIMEOUT_S).until(
            lambda d: not d.find_elements(By.CSS_SELECTOR, row), message="carol stayed in the table")
