"""Async circuit breaker: closed -> open after N failures -> half-open with a single probe."""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from ai_stack.core.errors import ServiceUnavailableError

log = structlog.get_logger(__name__)
T = TypeVar("T")


class BreakerState(enum.IntEnum):
    """Values match the exported gauge: 0 closed, 1 half-open, 2 open."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitOpenError(ServiceUnavailableError):
    """Raised without calling the dependency while its breaker refuses calls."""

    code = "dependency_unavailable"


StateListener = Callable[[str, BreakerState], None]
FailurePredicate = Callable[[BaseException], bool]


class DependencyFailure(Exception):
    """Raised by a dependency adapter for an answer that says the dependency is unwell (a 5xx,
    a reply that is not what the protocol promises): it counts against the breaker."""


def is_outage(exc: BaseException) -> bool:
    """The default test of whether an error says the dependency is unwell.

    Timeouts, connection-level errors and unavailable answers count. Anything else (a bad value
    the engine refused, a constraint, a not-found) was caused by the request: it means the
    dependency answered, so it must never open the breaker for every other caller.
    """
    return isinstance(exc, TimeoutError | OSError | DependencyFailure | ServiceUnavailableError)


class CircuitBreaker:
    """Guards one dependency; every call gets a timeout, and timeouts count as failures.

    `counts_as_failure` decides which exceptions say the dependency is unwell; the others are
    passed on to the caller and count as an answer (the dependency responded).
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 10.0,
        call_timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_state_change: StateListener | None = None,
        counts_as_failure: FailurePredicate = is_outage,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout_s <= 0 or call_timeout_s <= 0:
            raise ValueError("reset_timeout_s and call_timeout_s must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self.call_timeout_s = call_timeout_s
        self._clock = clock
        self._counts_as_failure = counts_as_failure
        self._listeners: list[StateListener] = [on_state_change] if on_state_change else []
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The state as callers would see it now (an expired open breaker reads half-open)."""
        if self._state is BreakerState.OPEN and self._cool_down_over():
            return BreakerState.HALF_OPEN
        return self._state

    def add_listener(self, listener: StateListener) -> None:
        """Registers a callback for every state transition (metrics, logs)."""
        self._listeners.append(listener)

    async def call(self, operation: Callable[[], Awaitable[T]], *, timeout_s: float | None = None) -> T:
        """Runs `operation` under the breaker and the call timeout (or `timeout_s`, for a call
        known to take longer, such as a batch of work)."""
        is_probe = self._admit()
        try:
            async with asyncio.timeout(timeout_s or self.call_timeout_s):
                result = await operation()
        except asyncio.CancelledError:
            if is_probe:
                self._probe_in_flight = False
            raise
        except Exception as exc:
            if self._counts_as_failure(exc):
                self._record_failure(exc, is_probe)
            else:
                self._record_success(is_probe)
            raise
        self._record_success(is_probe)
        return result

    def _cool_down_over(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_timeout_s

    def _admit(self) -> bool:
        if self._state is BreakerState.CLOSED:
            return False
        if self._state is BreakerState.OPEN:
            if not self._cool_down_over():
                raise self._refusal()
            self._transition(BreakerState.HALF_OPEN)
        if self._probe_in_flight:
            raise self._refusal()
        self._probe_in_flight = True
        return True

    def _refusal(self) -> CircuitOpenError:
        remaining = self.reset_timeout_s - (self._clock() - self._opened_at)
        return CircuitOpenError(
            f"{self.name} is unavailable (circuit open)", retry_after=max(1, round(remaining))
        )

    def _record_success(self, is_probe: bool) -> None:
        if self._state is BreakerState.CLOSED:
            self._failures = 0
        elif is_probe:
            # Only the probe decides a half-open breaker; a call admitted before it opened
            # and finishing late says nothing about the dependency now.
            self._failures = 0
            self._probe_in_flight = False
            self._transition(BreakerState.CLOSED)

    def _record_failure(self, exc: BaseException, is_probe: bool) -> None:
        if self._state is not BreakerState.CLOSED and not is_probe:
            return
        self._failures += 1
        self._probe_in_flight = False
        reopen = self._state is BreakerState.HALF_OPEN
        if reopen or (self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold):
            self._opened_at = self._clock()
            self._transition(BreakerState.OPEN, error=type(exc).__name__)

    def _transition(self, new: BreakerState, error: str | None = None) -> None:
        old, self._state = self._state, new
        log.warning(
            "circuit_breaker_transition",
            dependency=self.name,
            from_state=old.name.lower(),
            to_state=new.name.lower(),
            failures=self._failures,
            error=error,
        )
        for listener in self._listeners:
            listener(self.name, new)
