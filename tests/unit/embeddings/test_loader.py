"""Model loading retries with back-off and reports why it is not ready."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from ai_stack.core.health import NotReadyYet
from ai_stack.embeddings.loader import ModelState, backoff_delays, load_until_ready


class Dummy:
    name = "dummy"
    dimension = 2
    max_seq_length = 8


def test_backoff_doubles_up_to_the_cap() -> None:
    assert backoff_delays(10) == [1, 2, 4, 8, 10]
    assert backoff_delays(1) == [1, 1]


async def test_failed_loads_are_retried_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    async def no_sleep(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr("ai_stack.embeddings.loader.asyncio.sleep", no_sleep)
    attempts = 0
    failures = 0

    def load() -> Dummy:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise OSError("weights missing")
        return Dummy()

    def failed() -> None:
        nonlocal failures
        failures += 1

    state = ModelState()
    with ThreadPoolExecutor(1) as executor:
        encoder, seconds = await load_until_ready(load, executor, state, 30, failed)  # type: ignore[arg-type]
    assert encoder.name == "dummy" and seconds >= 0
    assert state.attempts == 3 and failures == 2
    assert sleeps == [1, 2]
    assert "weights missing" in (state.last_error or "")


async def test_probe_says_loading_with_the_last_error() -> None:
    state = ModelState(attempts=2, last_error="OSError: weights missing")
    with pytest.raises(NotReadyYet, match=r"attempt 2.*weights missing"):
        await state.probe()
