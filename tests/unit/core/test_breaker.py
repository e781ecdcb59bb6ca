"""The circuit breaker's state machine, including the single half-open probe."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ai_stack.core.breaker import BreakerState, CircuitBreaker, CircuitOpenError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def fail() -> None:
    raise ConnectionError("down")


async def ok() -> str:
    return "ok"


def make(clock: FakeClock, **kwargs: float) -> tuple[CircuitBreaker, list[BreakerState]]:
    transitions: list[BreakerState] = []
    breaker = CircuitBreaker(
        "dep",
        failure_threshold=3,
        reset_timeout_s=10,
        call_timeout_s=0.2,
        clock=clock,
        on_state_change=lambda _, state: transitions.append(state),
        **kwargs,  # type: ignore[arg-type]
    )
    return breaker, transitions


async def open_it(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)


async def test_opens_after_threshold_consecutive_failures() -> None:
    breaker, transitions = make(FakeClock())
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert breaker.state is BreakerState.OPEN
    assert transitions == [BreakerState.OPEN]


async def test_success_resets_the_failure_count() -> None:
    breaker, _ = make(FakeClock())
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert await breaker.call(ok) == "ok"
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED


async def test_open_breaker_fails_fast_without_calling() -> None:
    breaker, _ = make(FakeClock())
    await open_it(breaker)
    calls = 0

    async def counted() -> None:
        nonlocal calls
        calls += 1

    with pytest.raises(CircuitOpenError) as info:
        await breaker.call(counted)
    assert calls == 0
    assert info.value.status == 503
    assert int(info.value.headers["Retry-After"]) >= 1


async def test_timeouts_count_as_failures() -> None:
    breaker, _ = make(FakeClock())

    async def hang() -> None:
        await asyncio.sleep(5)

    for _ in range(3):
        with pytest.raises(TimeoutError):
            await breaker.call(hang)
    assert breaker.state is BreakerState.OPEN


async def test_a_call_may_ask_for_a_longer_timeout() -> None:
    breaker = CircuitBreaker("dep", call_timeout_s=0.05)

    async def slow() -> str:
        await asyncio.sleep(0.2)
        return "done"

    with pytest.raises(TimeoutError):
        await breaker.call(slow)
    assert await breaker.call(slow, timeout_s=2) == "done"
    with pytest.raises(TimeoutError):  # the override is for that call only
        await breaker.call(slow)


async def test_half_open_admits_exactly_one_probe_under_concurrency() -> None:
    clock = FakeClock()
    breaker, transitions = make(clock)
    await open_it(breaker)
    clock.now = 11
    release = asyncio.Event()
    probes = 0

    async def slow_probe() -> str:
        nonlocal probes
        probes += 1
        await release.wait()
        return "ok"

    probe = asyncio.create_task(breaker.call(slow_probe))
    await asyncio.sleep(0)
    others = await asyncio.gather(*(breaker.call(slow_probe) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(result, CircuitOpenError) for result in others)
    assert probes == 1
    release.set()
    assert await probe == "ok"
    assert breaker.state is BreakerState.CLOSED
    assert transitions == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


async def test_failed_probe_reopens_for_another_cool_down() -> None:
    clock = FakeClock()
    breaker, transitions = make(clock)
    await open_it(breaker)
    clock.now = 11
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert breaker.state is BreakerState.OPEN
    clock.now = 15
    with pytest.raises(CircuitOpenError):
        await breaker.call(ok)
    clock.now = 22
    assert await breaker.call(ok) == "ok"
    assert transitions[-3:] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


async def test_cancelled_probe_frees_the_half_open_slot() -> None:
    clock = FakeClock()
    breaker, _ = make(clock)
    await open_it(breaker)
    clock.now = 11

    async def forever() -> None:
        await asyncio.sleep(100)

    task = asyncio.create_task(breaker.call(forever))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await breaker.call(ok) == "ok"


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", failure_threshold=0)


async def test_a_late_call_cannot_decide_a_half_open_breaker() -> None:
    clock = FakeClock()
    breaker, _ = make(clock)
    release_late = asyncio.Event()

    async def late() -> str:
        await release_late.wait()
        return "late"

    straggler = asyncio.create_task(breaker.call(late))  # admitted while closed
    await asyncio.sleep(0)
    await open_it(breaker)
    clock.now = 11
    release_probe = asyncio.Event()

    async def probe() -> None:
        await release_probe.wait()
        raise ConnectionError("still down")

    probing = asyncio.create_task(breaker.call(probe))
    await asyncio.sleep(0)
    release_late.set()
    assert await straggler == "late"
    assert breaker.state is BreakerState.HALF_OPEN  # the straggler's success did not close it
    release_probe.set()
    with pytest.raises(ConnectionError):
        await probing
    assert breaker.state is BreakerState.OPEN


async def refused() -> None:
    raise ValueError("the request's own fault")


async def test_errors_the_request_caused_never_open_the_breaker() -> None:
    breaker, transitions = make(FakeClock())
    for _ in range(breaker.failure_threshold * 3):
        with pytest.raises(ValueError):
            await breaker.call(refused)
    assert breaker.state is BreakerState.CLOSED and transitions == []


async def test_a_refusal_between_failures_shows_the_dependency_answered() -> None:
    breaker, _ = make(FakeClock())
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    with pytest.raises(ValueError):
        await breaker.call(refused)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED


async def test_a_probe_answered_with_a_refusal_closes_the_breaker() -> None:
    clock = FakeClock()
    breaker, transitions = make(clock)
    await open_it(breaker)
    clock.now += 10
    with pytest.raises(ValueError):
        await breaker.call(refused)
    assert breaker.state is BreakerState.CLOSED
    assert transitions == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


async def test_the_predicate_decides_what_counts() -> None:
    breaker, _ = make(FakeClock(), counts_as_failure=lambda exc: isinstance(exc, ValueError))  # type: ignore[arg-type]
    await open_it_with(breaker, refused, ValueError)
    assert breaker.state is BreakerState.OPEN


async def open_it_with(breaker: CircuitBreaker, operation: Any, error: type[Exception]) -> None:
    for _ in range(breaker.failure_threshold):
        with pytest.raises(error):
            await breaker.call(operation)
