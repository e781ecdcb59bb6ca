"""A refusal from another service becomes this service's own error, its details kept."""

from __future__ import annotations

from typing import Any

from ai_stack.clients.errors import RateLimited, error_for
from ai_stack.clients.refusals import translated
from ai_stack.core.access import rate_limited


def envelope_of(exc: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message, "request_id": "r1"}
    if exc.details is not None:
        error["details"] = exc.details
    return {"error": error}


def test_a_429_passed_on_keeps_its_wait() -> None:
    """aidb's 429 (the caller's key over its limit there) reaches hybrid's caller with the same
    Retry-After, not a bare 429 the client cannot pace itself by."""
    upstream = rate_limited(6.2, "over the key's rate")
    assert upstream.headers == {"Retry-After": "7"}
    refused = error_for("aidb", 429, envelope_of(upstream))
    assert isinstance(refused, RateLimited) and refused.retry_after_s == 7
    passed_on = translated("aidb", refused)
    assert passed_on.status == 429 and passed_on.code == "rate_limited"
    assert passed_on.headers == {"Retry-After": "7"}
    assert passed_on.details == {"retry_after_s": 7}


def test_a_429_without_a_usable_wait_says_one_second() -> None:
    for details in (None, {"retry_after_s": "soon"}, {"retry_after_s": True}, {"retry_after_s": 10**9}):
        body = {"error": {"code": "rate_limited", "message": "slow down", "details": details}}
        refused = error_for("aidb", 429, body)
        assert isinstance(refused, RateLimited) and refused.retry_after_s == 1
        assert translated("aidb", refused).headers == {"Retry-After": "1"}
