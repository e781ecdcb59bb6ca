"""Loads the model in the background, retrying with back-off, and reports progress."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import structlog

from ai_stack.core.health import NotReadyYet
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.service import EmbeddingService

log = structlog.get_logger(__name__)


@dataclass
class ModelState:
    """What readiness and handlers see: the service once loaded, or why it is not yet."""

    service: EmbeddingService | None = None
    attempts: int = 0
    last_error: str | None = None
    stopped: str | None = None

    async def probe(self) -> None:
        """Readiness probe: raises NotReadyYet until the test encode succeeded."""
        if self.stopped is not None:
            raise RuntimeError(f"the embedding worker stopped: {self.stopped}")
        if self.service is None:
            detail = f"loading model (attempt {self.attempts})"
            if self.last_error:
                detail += f"; last error: {self.last_error}"
            raise NotReadyYet(detail)


def backoff_delays(max_s: float, first_s: float = 1.0) -> list[float]:
    """1, 2, 4, ... seconds, capped at `max_s` (the last value repeats forever)."""
    delays = [first_s]
    while delays[-1] * 2 < max_s:
        delays.append(delays[-1] * 2)
    delays.append(max_s)
    return delays


async def load_until_ready(
    load: Callable[[], Encoder],
    executor: Executor,
    state: ModelState,
    max_backoff_s: float,
    on_failure: Callable[[], None] = lambda: None,
) -> tuple[Encoder, float]:
    """Calls `load` in `executor` until it succeeds; returns the encoder and the seconds it took."""
    loop = asyncio.get_running_loop()
    delays = backoff_delays(max_backoff_s)
    while True:
        state.attempts += 1
        started = time.perf_counter()
        try:
            encoder = await loop.run_in_executor(executor, load)
        except Exception as exc:
            on_failure()
            state.last_error = f"{type(exc).__name__}: {exc}"[:300]
            delay = delays[min(state.attempts - 1, len(delays) - 1)]
            log.error("model_load_failed", attempt=state.attempts, error=state.last_error, retry_in_s=delay)
            await asyncio.sleep(delay)
            continue
        elapsed = time.perf_counter() - started
        # The model is hundreds of thousands of long-lived objects: left to the collector, each
        # full collection walks them all (a ~150 ms stall of every request, about once a second
        # under load). Frozen, they are never scanned again.
        gc.collect()
        gc.freeze()
        log.info("model_loaded", model=encoder.name, dimension=encoder.dimension, seconds=round(elapsed, 2))
        return encoder, elapsed
