"""
Session expiry and in-band credential refresh (WsSessionGuard) on the chat example's /protected
gateway, whose guard admits a token for --session-lifetime-ms and takes `session_refresh`
{"token": T} for the same user. At expiry the client is sent `session_expiring` with the grace
period; a refresh within it renews the session without reconnecting; otherwise the connection
is closed with 1008 "session expired". Other clients are served throughout.
    NAVIOS_CHAT_EXAMPLE=.build/release/chat-example .venv/bin/python -m pytest Tests/Gateway/test_session_expiry.py -q
"""
from __future__ import annotations

import asyncio

import pytest

from .conftest import CLOSE_POLICY, open_client

LIFETIME_MS = 600
GRACE_MS = 800
pytestmark = pytest.mark.chat_args("--session-lifetime-ms", str(LIFETIME_MS), "--session-grace-ms", str(GRACE_MS))
SOON_S = 3.0


async def expiring(client) -> dict:
    notice = (await client.recv_event("session_expiring", timeout=SOON_S))["data"]
    assert notice == {"reason": "credentials expired", "graceMs": GRACE_MS}, notice
    return notice


async def test_an_expired_session_is_warned_then_closed_1008(chat_server):
    async with open_client(chat_server, "/ws/protected", token="alice-token", name="alice") as alice:
        loop = asyncio.get_running_loop()
        connected_at = loop.time()
        assert await alice.request("whoami") == "Alice"
        await expiring(alice)
        warned_at = loop.time()
        # Still served during the grace period.
        assert await alice.request("whoami") == "Alice"
        assert await alice.expect_close(timeout=SOON_S) == (CLOSE_POLICY, "session expired")
        closed_at = loop.time()
        assert warned_at - connected_at >= LIFETIME_MS / 1000 * 0.9
        assert closed_at - warned_at >= GRACE_MS / 1000 * 0.9


async def test_a_refresh_within_the_grace_period_keeps_the_connection(chat_server):
    async with open_client(chat_server, "/ws/protected", token="alice-token", name="alice") as alice, \
            open_client(chat_server, "/ws/protected", token="bob-token", name="bob") as bob:
        await expiring(alice)
        assert await alice.request("session_refresh", {"token": "alice-token"}) == {"expiresInMs": LIFETIME_MS}
        # Past the old deadline (expiry + grace): still open, and warned again only at the new end.
        await asyncio.sleep(GRACE_MS / 1000 + 0.1)
        assert await alice.request("whoami") == "Alice"
        await expiring(alice)
        await bob.recv_event("session_expiring", timeout=SOON_S)   # bob never refreshed
        assert await bob.expect_close(timeout=SOON_S) == (CLOSE_POLICY, "session expired")
        assert await alice.request("session_refresh", {"token": "alice-token"}) == {"expiresInMs": LIFETIME_MS}
        assert await alice.request("whoami") == "Alice"


async def test_a_refresh_before_expiry_pushes_the_end_back(chat_server):
    async with open_client(chat_server, "/ws/protected", token="carol-token", name="carol") as carol:
        for _ in range(3):   # three lifetimes' worth, never warned
            await asyncio.sleep(LIFETIME_MS / 1000 / 2)
            assert await carol.request("session_refresh", {"token": "carol-token"}) == {"expiresInMs": LIFETIME_MS}
        assert carol.received("session_expiring") == []
        assert await carol.request("whoami") == "Carol"


@pytest.mark.parametrize("credentials", [{"token": "nobody-token"}, {"token": "bob-token"}, {}, None])
async def test_a_refresh_with_bad_credentials_is_refused_and_the_old_end_holds(chat_server, credentials):
    """An unknown token, another user's, none at all: `unauthorized`, and no extension."""
    async with open_client(chat_server, "/ws/protected", token="alice-token", name="alice") as alice, \
            open_client(chat_server, "/ws/protected", token="carol-token", name="carol") as carol:
        await alice.emit("session_refresh", credentials, id=9)
        await alice.expect_error(9, "unauthorized")
        await expiring(alice)
        await alice.emit("session_refresh", credentials, id=10)
        await alice.expect_error(10, "unauthorized")
        # The other client, on the same schedule, refreshes in time.
        await expiring(carol)
        assert await carol.request("session_refresh", {"token": "carol-token"}) == {"expiresInMs": LIFETIME_MS}
        assert await alice.expect_close(timeout=SOON_S) == (CLOSE_POLICY, "session expired")
        assert await carol.request("whoami") == "Carol"


async def test_a_late_refresh_finds_the_connection_closed(chat_server):
    async with open_client(chat_server, "/ws/protected", token="bob-token", name="bob") as bob:
        await expiring(bob)
        assert await bob.expect_close(timeout=SOON_S) == (CLOSE_POLICY, "session expired")
        # Too late: the connection is gone; a new one with the token starts a new session.
    async with open_client(chat_server, "/ws/protected", token="bob-token", name="bob again") as bob:
        assert await bob.request("session_refresh", {"token": "bob-token"}) == {"expiresInMs": LIFETIME_MS}
        assert await bob.request("whoami") == "Bob"


async def test_gateways_without_session_guards_have_no_refresh_event(chat_server):
    async with open_client(chat_server, token="alice-token") as alice:
        await alice.emit("session_refresh", {"token": "alice-token"}, id=3)
        await alice.expect_error(3, "unknown_event")
