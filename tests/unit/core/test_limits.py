"""Token buckets, per-key rate and concurrency, and quotas (pure, on a fake clock)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from ai_stack.core.app import create_service_app
from ai_stack.core.keys import API_KEY
from ai_stack.core.limits import KeyLimiter, KeyLimits, Quota
from ai_stack.core.openapi import Route, add_routes
from ai_stack.core.requests import json_response
from ai_stack.core.settings import KeyLimitedSettings
from aiohttp import web
from prometheus_client import CollectorRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_burst_then_its_rate() -> None:
    clock = Clock()
    limiter = KeyLimiter(clock)
    limits = KeyLimits(rate_per_s=2, burst=3, concurrency=10)
    for _ in range(3):
        assert limiter.admit("a", limits) == 0
        limiter.leave("a")
    wait = limiter.admit("a", limits)
    assert wait == pytest.approx(0.5)
    assert limiter.admit("b", limits) == 0  # another key is not affected
    clock.now += 0.5
    assert limiter.admit("a", limits) == 0


def test_concurrency_counts_requests_in_flight() -> None:
    limiter = KeyLimiter(Clock())
    limits = KeyLimits(rate_per_s=100, burst=100, concurrency=2)
    assert limiter.admit("a", limits) == 0 and limiter.admit("a", limits) == 0
    assert limiter.admit("a", limits) == 1.0
    limiter.leave("a")
    assert limiter.admit("a", limits) == 0
    assert limiter.admit("a", limits) == 1.0  # two in flight again: the third waits


def test_changed_limits_take_effect() -> None:
    limiter = KeyLimiter(Clock())
    assert limiter.admit("a", KeyLimits(1, 1, 5)) == 0
    assert limiter.admit("a", KeyLimits(1, 1, 5)) > 0
    assert limiter.admit("a", KeyLimits(10, 10, 5)) == 0  # raised by the operator


def test_quota_refills_over_a_minute_and_refuses_what_never_fits() -> None:
    clock = Clock()
    quota = Quota(per_minute=60, clock=clock)
    assert quota.charge("a", 60) == 0
    assert quota.charge("a", 30) == pytest.approx(30)
    clock.now += 30
    assert quota.charge("a", 30) == 0
    assert math.isinf(quota.charge("a", 61))


@pytest.mark.parametrize("raw", ["1/2", "x/1/1", "0/1/1", "1/0/1", "1/1/0"])
def test_bad_limit_values_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        KeyLimits.parse(raw)


async def test_the_middleware_answers_429_with_retry_after(aiohttp_client: Any) -> None:
    async def ok(request: web.Request) -> web.Response:
        return json_response({})

    settings = KeyLimitedSettings(key_rate_per_s=1, key_burst=2, key_concurrency=4)
    app = create_service_app("unit-svc", settings, registry=CollectorRegistry())
    add_routes(app, (Route("GET", "/x", ok, "x"),), app[API_KEY])
    client = await aiohttp_client(app)
    key = {"X-AI-Key-Id": "k1", "X-AI-Scopes": "read", "X-AI-Projects": "*"}
    assert [(await client.get("/x", headers=key)).status for _ in range(2)] == [200, 200]
    refused = await client.get("/x", headers=key)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await refused.json())["error"]["code"] == "rate_limited"
    other = {**key, "X-AI-Key-Id": "k2"}
    assert (await client.get("/x", headers=other)).status == 200
    assert (await client.get("/x")).status == 200  # the stack itself is never limited
    own = {**key, "X-AI-Key-Id": "k3", "X-AI-Limits": "100/100/4"}  # a key's own, higher limits
    assert [(await client.get("/x", headers=own)).status for _ in range(5)] == [200] * 5
