"""Operations across instances: readiness that follows the Redis link (--adapter-down-limit-ms),
and the adapter's metrics at GET /metrics (link state, broadcasts published, received and
dropped, publish latency), read with the Prometheus text parser."""
from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import connect, poll
from test_cluster import settle, wait_subscribers
from test_drain import http_get

DOWN_LIMIT_MS = 400


async def metrics(node) -> dict[tuple, float]:
    status, headers, body = await http_get(node.port, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4"), (status, headers)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def value(samples, name: str) -> float:
    return samples.get((name, ()), 0)


async def ready(node) -> int:
    return (await http_get(node.port, "/readyz"))[0]


@pytest.mark.deadline(40)
async def test_readiness_turns_false_while_redis_is_down_past_the_limit(redis, cluster):
    (a,) = cluster(1, extra=("--adapter-down-limit-ms", str(DOWN_LIMIT_MS)))
    await poll(lambda: value_of(a, "navios_ws_adapter_link_up", 1), 10, "the link is up")
    assert await ready(a) == 200
    redis.kill()
    status, headers, body = await poll(lambda: answer_if(a, 503), 10, "/readyz turns 503")
    assert body == b"not ready\n" and "retry-after" not in headers
    assert value(await metrics(a), "navios_ws_adapter_link_up") == 0
    # Clients are still served: readiness is advice to the load balancer.
    async with connect(a, "while-down") as client:
        assert await client.request("join", "r") is True
        assert (await http_get(a.port, "/healthz"))[0] == 200
    redis.start()
    await poll(lambda: answer_if(a, 200), 15, "/readyz turns 200 again")
    assert value(await metrics(a), "navios_ws_adapter_link_up") == 1


@pytest.mark.deadline(40)
async def test_adapter_metrics_count_what_crossed_and_what_was_dropped(redis, cluster):
    a, b = cluster(2)
    async with connect(a, "on-a") as on_a, connect(b, "on-b") as on_b:
        for client in (on_a, on_b):
            assert await client.request("join", "r") is True
        await wait_subscribers(redis, "r", 2)
        before_a, before_b = await metrics(a), await metrics(b)
        assert await on_a.request("send", {"rooms": ["r"], "text": "across"}) is True
        await on_b.wait_text("across")
        await settle(on_a, [on_a], "marker")   # to everyone: published too
        after_a = await poll(lambda: answered(a, before_a, 2), 5, "both publishes answered")
        after_b = await metrics(b)
        assert value(after_a, "navios_ws_adapter_broadcasts_published_total") - \
            value(before_a, "navios_ws_adapter_broadcasts_published_total") == 2
        assert value(after_b, "navios_ws_adapter_broadcasts_received_total") - \
            value(before_b, "navios_ws_adapter_broadcasts_received_total") >= 1
        latency = value(after_a, "navios_ws_adapter_publish_latency_seconds_total") - \
            value(before_a, "navios_ws_adapter_publish_latency_seconds_total")
        assert 0 < latency < 5, latency
        assert value(after_a, "navios_ws_broadcasts_total") - value(before_a, "navios_ws_broadcasts_total") == 2

        redis.kill()
        await poll(lambda: value_of(a, "navios_ws_adapter_link_up", 0), 10, "the link is down")
        down = await metrics(a)
        assert await on_a.request("send", {"rooms": ["r"], "text": "while down"}) is True
        dropped = await metrics(a)
        assert value(dropped, "navios_ws_adapter_broadcasts_dropped_total") - \
            value(down, "navios_ws_adapter_broadcasts_dropped_total") == 1


async def value_of(node, name: str, wanted: float) -> bool:
    return value(await metrics(node), name) == wanted


async def answer_if(node, status: int):
    answer = await http_get(node.port, "/readyz")
    return answer if answer[0] == status else None


async def answered(node, before, n: int):
    now = await metrics(node)
    done = value(now, "navios_ws_adapter_publishes_answered_total") - \
        value(before, "navios_ws_adapter_publishes_answered_total") >= n
    return now if done else None
