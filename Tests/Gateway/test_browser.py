"""
The chat example's page in a real browser: headless Chromium (Debian packages `chromium` and
`chromium-driver`) driven by Selenium. Two browser sessions log in with different tokens, join
room "general", send a message each and see each other's message.

Skipped, with the reason printed at the end of the run, when Selenium, chromium or chromedriver
is missing. CHROMIUM_BIN and CHROMEDRIVER override where they are looked for.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import note_skip

BROWSER_TIMEOUT_S = 15.0
SCREENSHOT = Path(os.environ.get("NAVIOS_CHAT_SCREENSHOT", "/tmp/chat-page.png"))


def _find(env: str, names: tuple[str, ...], extra: tuple[str, ...] = ()) -> str | None:
    if os.environ.get(env):
        return os.environ[env] if Path(os.environ[env]).exists() else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in extra if Path(p).exists()), None)


def _browser_setup() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, or why the browser tests cannot run."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r Tests/Gateway/requirements.txt)"
    chromium = _find("CHROMIUM_BIN", ("chromium", "chromium-browser"), ("/usr/lib/chromium/chromium",))
    driver = _find("CHROMEDRIVER", ("chromedriver",), ("/usr/lib/chromium/chromedriver",))
    missing = [what for what, path in (("chromium (apt-get install chromium)", chromium),
                                       ("chromedriver (apt-get install chromium-driver)", driver)) if not path]
    if missing:
        return "browser tests need " + " and ".join(missing)
    return chromium, driver


def chrome_options(chromium: str):
    """Headless Chromium's options for these tests."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1000,800", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    return options


@pytest.fixture
def browser_factory():
    """Makes headless Chromium sessions; quits them all afterwards."""
    setup = _browser_setup()
    if isinstance(setup, str):
        note_skip(setup)
        pytest.skip(setup)
    chromium, driver_path = setup
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def make():
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=chrome_options(chromium))
        driver.set_page_load_timeout(BROWSER_TIMEOUT_S)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()


def _log_in(driver, url: str, token: str, room: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    assert driver.title == "NaviosWS chat"
    for field, value in (("token", token), ("room", room)):
        box = driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "#login button").click()
    WebDriverWait(driver, BROWSER_TIMEOUT_S).until(
        EC.text_to_be_present_in_element((By.ID, "status"), f"in room {room}"),
        message=f"{token}: #status never read 'in room {room}'")
    assert driver.find_element(By.ID, "status").text == f"in room {room}"
    assert driver.find_element(By.ID, "text").is_enabled()


def _send(driver, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "text")
    box.send_keys(text)
    driver.find_element(By.ID, "sendButton").click()


def _wait_for_line(driver, line: str, who: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def lines(d):
        return [li.text for li in d.find_elements(By.CSS_SELECTOR, "#messages li")]

    try:
        WebDriverWait(driver, BROWSER_TIMEOUT_S).until(lambda d: line in lines(d))
    except Exception:
        raise AssertionError(f"{who}'s page never showed {line!r}; #messages: {lines(driver)}") from None


def test_two_browsers_chat_in_a_room(chat_server, browser_factory):
    from selenium.webdriver.common.by import By

    alice, bob = browser_factory(), browser_factory()
    _log_in(alice, chat_server.url, "alice-token", "general")
    _log_in(bob, chat_server.url, "bob-token", "general")

    _send(alice, "hello from alice")
    _send(bob, "hi alice, bob here")
    for driver, who in ((alice, "alice"), (bob, "bob")):
        _wait_for_line(driver, "alice: hello from alice", who)
        _wait_for_line(driver, "bob: hi alice, bob here", who)
        # The send box is cleared after sending, and no error line was shown.
        assert driver.find_element(By.ID, "text").get_attribute("value") == ""
        errors = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#messages li.system")
                  if li.text.startswith("error")]
        assert errors == [], f"{who}'s page shows errors: {errors}"
        # The page's console stayed clean of exceptions. (The browser's own favicon.ico request
        # is answered 426: the C core answers any plain GET that is not a page that way.)
        severe = [e for e in driver.get_log("browser")
                  if e.get("level") == "SEVERE" and "/favicon.ico" not in e.get("message", "")]
        assert severe == [], f"{who}'s console: {severe}"

    # Bob typing shows up on alice's page ("bob is typing…").
    bob.find_element(By.ID, "text").send_keys("x")
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(alice, BROWSER_TIMEOUT_S).until(
        lambda d: "bob is typing" in d.find_element(By.ID, "typing").text,
        message="alice's page never showed bob typing")

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert alice.save_screenshot(str(SCREENSHOT)), f"could not write {SCREENSHOT}"
    assert SCREENSHOT.stat().st_size > 1000


# ---- the page on Socket.IO: the official client (socket.io.min.js 4.8.1) ----------------------

def _require_socketio_client():
    from .conftest import socketio_client
    if socketio_client() is None:
        reason = "the Socket.IO page tests need build/socket.io.min.js (make build/socket.io.min.js)"
        note_skip(reason)
        pytest.skip(reason)


def _log_in_socketio(driver, chat_server, token: str, room: str, transports: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    query = "?protocol=socketio" + (f"&transports={transports}" if transports else "")
    _log_in(driver, chat_server.url + query, token, room)
    assert driver.find_element(By.ID, "useSocketIO").is_selected()


def _wait_for_transport(driver, text: str, who: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, BROWSER_TIMEOUT_S).until(
        lambda d: d.find_element(By.ID, "transport").text == text,
        message=f"{who}'s #transport never read {text!r}")


def _chat_both_ways(socketio_page, json_page) -> None:
    _send(socketio_page, "from the socket.io page")
    _send(json_page, "from the websocket page")
    for driver, who in ((socketio_page, "alice (Socket.IO)"), (json_page, "bob (JSON)")):
        _wait_for_line(driver, "alice: from the socket.io page", who)
        _wait_for_line(driver, "bob: from the websocket page", who)
        severe = [e for e in driver.get_log("browser")
                  if e.get("level") == "SEVERE" and "/favicon.ico" not in e.get("message", "")]
        assert severe == [], f"{who}'s console: {severe}"


@pytest.mark.parametrize("transports", ["websocket", None], ids=["websocket", "polling-then-upgrade"])
def test_socketio_page_chats_with_a_websocket_page(chat_server, browser_factory, transports):
    """Over WebSocket from the start, or the client's default: long-polling, then the upgrade."""
    _require_socketio_client()
    alice, bob = browser_factory(), browser_factory()
    _log_in_socketio(alice, chat_server, "alice-token", "general", transports=transports)
    _wait_for_transport(alice, "socket.io websocket", "alice")
    _log_in(bob, chat_server.url, "bob-token", "general")
    _chat_both_ways(alice, bob)


def test_socketio_page_recovers_what_it_missed_after_a_dropped_transport(chat_server, browser_factory):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _require_socketio_client()
    alice, bob = browser_factory(), browser_factory()
    _log_in_socketio(alice, chat_server, "alice-token", "general", transports="websocket")
    _log_in(bob, chat_server.url, "bob-token", "general")
    _send(bob, "before the drop")
    _wait_for_line(alice, "bob: before the drop", "alice")
    sid = alice.execute_script("return window.chatSocket.id")
    # The transport closes under the client (no DISCONNECT): it will reconnect on its own, and
    # hold off a second so that bob's messages come while it is away.
    alice.execute_script("window.chatSocket.io.reconnectionDelay(1000); window.chatSocket.io.reconnectionDelayMax(1000);"
                         "window.chatSocket.io.engine.close();")
    WebDriverWait(alice, BROWSER_TIMEOUT_S).until(
        lambda d: d.find_element(By.ID, "status").text.startswith("disconnected"),
        message="alice's page never saw the transport close")
    missed = [f"missed {n}" for n in range(3)]
    for text in missed:
        _send(bob, text)
        _wait_for_line(bob, f"bob: {text}", "bob")
    _wait_for_transport(alice, "socket.io websocket, recovered", "alice")
    for text in missed:
        _wait_for_line(alice, f"bob: {text}", "alice")
    assert alice.execute_script("return window.chatSocket.recovered") is True
    assert alice.execute_script("return window.chatSocket.id") == sid
    # Back in the room: what comes now arrives too, once.
    _send(bob, "after")
    _wait_for_line(alice, "bob: after", "alice")
    lines = [li.text for li in alice.find_elements(By.CSS_SELECTOR, "#messages li")]
    assert all(lines.count(f"bob: {t}") == 1 for t in ["before the drop", *missed, "after"]), lines
