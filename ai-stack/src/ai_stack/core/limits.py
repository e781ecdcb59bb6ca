"""Per-key rate, concurrency and quota accounting (pure: a clock in, a decision out).

Every client of a single-host stack shares 127.0.0.1, so limits are per API key. Each service
keeps its own accounts in memory: a key's budget is per service, which is what protects each
service's CPU, and a restart forgets them (a limit, not a bill).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IDLE_FORGET_S = 600.0  # accounts of keys idle this long are dropped (their buckets are full again)


@dataclass(frozen=True)
class KeyLimits:
    """A key's request rate (sustained per second, with a burst) and its concurrent requests."""

    rate_per_s: float
    burst: int
    concurrency: int

    def __post_init__(self) -> None:
        if (
            not (math.isfinite(self.rate_per_s) and self.rate_per_s > 0)
            or self.burst < 1
            or self.concurrency < 1
        ):
            raise ValueError("rate_per_s must be a finite number > 0, burst and concurrency >= 1")

    def header_value(self) -> str:
        """`rate/burst/concurrency`, as the verifier hands a key's own limits to the services."""
        return f"{self.rate_per_s:g}/{self.burst}/{self.concurrency}"

    @classmethod
    def parse(cls, raw: str) -> KeyLimits:
        rate, burst, concurrency = raw.split("/")
        return cls(float(rate), int(burst), int(concurrency))


@dataclass
class TokenBucket:
    """Holds up to `capacity` tokens, refilled at `rate_per_s`."""

    capacity: float
    rate_per_s: float
    tokens: float
    updated: float

    def take(self, amount: float, now: float) -> float:
        """Takes `amount` tokens and returns 0, or returns the seconds until they will be there
        (taking nothing). An amount above the capacity can never be served: `math.inf`."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        if amount > self.capacity:
            return math.inf
        if self.tokens >= amount:
            self.tokens -= amount
            return 0.0
        return (amount - self.tokens) / self.rate_per_s


@dataclass
class _Account:
    bucket: TokenBucket
    in_flight: int = 0
    seen: float = 0.0


@dataclass
class KeyLimiter:
    """Request rate and concurrency per key id."""

    clock: Callable[[], float] = time.monotonic
    _accounts: dict[str, _Account] = field(default_factory=dict)
    _swept: float = 0.0

    def admit(self, key_id: str, limits: KeyLimits) -> float:
        """0 when the request may start now (it then counts as in flight until `leave`), else
        the seconds the client should wait before trying again."""
        now = self.clock()
        account = self._account(key_id, limits, now)
        if account.in_flight >= limits.concurrency:
            return 1.0
        wait = account.bucket.take(1, now)
        if wait > 0:
            return wait
        account.in_flight += 1
        return 0.0

    def leave(self, key_id: str) -> None:
        account = self._accounts.get(key_id)
        if account is not None and account.in_flight > 0:
            account.in_flight -= 1

    def _account(self, key_id: str, limits: KeyLimits, now: float) -> _Account:
        if now - self._swept > IDLE_FORGET_S:
            self._sweep(now)
        account = self._accounts.get(key_id)
        if (
            account is None
            or account.bucket.capacity != limits.burst
            or account.bucket.rate_per_s != limits.rate_per_s
        ):
            # New key, or its limits changed (the operator raised them): a fresh, full bucket.
            bucket = TokenBucket(limits.burst, limits.rate_per_s, limits.burst, now)
            account = _Account(bucket, account.in_flight if account is not None else 0)
            self._accounts[key_id] = account
        account.seen = now
        return account

    def _sweep(self, now: float) -> None:
        self._swept = now
        idle = [k for k, a in self._accounts.items() if a.in_flight == 0 and now - a.seen > IDLE_FORGET_S]
        for key_id in idle:
            del self._accounts[key_id]


@dataclass
class Quota:
    """An amount of expensive work per key per minute (texts embedded, bytes written)."""

    per_minute: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def charge(self, key_id: str, amount: float) -> float:
        """0 when `amount` fits the key's remaining quota (and is charged), else the seconds until
        it would; `math.inf` for an amount above a whole minute's quota (it never fits)."""
        now = self.clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = TokenBucket(self.per_minute, self.per_minute / 60.0, self.per_minute, now)
            self._buckets[key_id] = bucket
        return bucket.take(amount, now)
