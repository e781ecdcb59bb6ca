"""Dynamic micro-batching: concurrent requests share model batches, results return in order.

Two lanes: interactive requests (a search's query) fill a batch before bulk ones (an indexer's
chunks, a key's large request), so a query waits for at most the batches already encoding, not
for a backlog of bulk work queued ahead of it. Each lane holds at most `max_queue_texts`, so a
full bulk lane never refuses a query. Within a lane, first come first served.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from ai_stack.embeddings.model import Vectors


class QueueFullError(Exception):
    """The bounded queue has no room for this request."""


class BatcherStoppedError(Exception):
    """The batcher shut down before this request was encoded."""


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future[Vectors]
    enqueued_at: float = field(default_factory=time.perf_counter)


@dataclass
class BatchObserver:
    """Hooks for metrics; every hook is optional."""

    batch_size: Callable[[int], None] = lambda n: None
    queue_depth: Callable[[int], None] = lambda n: None
    queue_wait: Callable[[float], None] = lambda s: None


class MicroBatcher:
    """Queues texts and runs `encode` on batches of up to `max_batch` texts in `executor`."""

    def __init__(
        self,
        encode: Callable[[list[str]], Vectors],
        *,
        max_batch: int,
        max_wait_s: float,
        max_queue_texts: int,
        executor: Executor | None = None,
        observer: BatchObserver | None = None,
        concurrency: int = 1,
        max_bulk_batch: int | None = None,
    ) -> None:
        if max_batch < 1 or max_queue_texts < 1 or max_wait_s < 0 or concurrency < 1:
            raise ValueError("max_batch, max_queue_texts and concurrency must be >= 1, max_wait_s >= 0")
        if max_bulk_batch is not None and not 1 <= max_bulk_batch <= max_batch:
            raise ValueError("max_bulk_batch must be between 1 and max_batch")
        self._encode = encode
        self._max_batch = max_batch
        # Bulk work is cut into jobs of this size, so a batch holding bulk texts ends soon and an
        # interactive request that arrives meanwhile waits little (on CPU, throughput barely
        # depends on batch size; on a GPU, set it to max_batch).
        self._max_bulk_batch = max_bulk_batch or max_batch
        self._max_wait_s = max_wait_s
        self._max_queue = max_queue_texts
        self._executor = executor
        self._observe = observer or BatchObserver()
        self._interactive: deque[_Job] = deque()
        self._bulk: deque[_Job] = deque()
        self._queued_texts = 0
        self._queued_bulk = 0  # of which in the bulk lane
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def queued_texts(self) -> int:
        """Texts waiting for the model."""
        return self._queued_texts

    async def embed(self, texts: list[str], *, bulk: bool = False) -> Vectors:
        """Vectors for `texts`, one row each, in order; QueueFullError when there is no room.

        `bulk` texts are batched only after every waiting interactive job, at most
        `max_bulk_batch` at a time.
        """
        lane_queued = self._queued_bulk if bulk else self._queued_texts - self._queued_bulk
        if lane_queued + len(texts) > self._max_queue:
            lane = "bulk" if bulk else "interactive"
            raise QueueFullError(f"{lane_queued} {lane} texts are queued (limit {self._max_queue})")
        loop = asyncio.get_running_loop()
        if bulk:
            step = self._max_bulk_batch
            jobs = [_Job(texts[i : i + step], loop.create_future()) for i in range(0, len(texts), step)]
            self._bulk.extend(jobs)
            self._queued_bulk += len(texts)
        else:
            jobs = [_Job(texts, loop.create_future())]
            self._interactive.extend(jobs)
        self._queued_texts += len(texts)
        self._observe.queue_depth(self._queued_texts)
        self._wakeup.set()
        # gather cancels the parts when the caller goes away (a cancelled job is skipped, not
        # encoded) and marks the other parts' errors as seen when one part fails.
        parts = await asyncio.gather(*(job.future for job in jobs))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    async def run(self) -> None:
        """The worker loop; runs until cancelled. Up to `concurrency` batches encode at once."""
        try:
            while True:
                await self._slots.acquire()
                await self._wait_for_batch()
                jobs = self._take_batch()
                if not jobs:
                    self._slots.release()
                    continue
                task = asyncio.create_task(self._encode_batch(jobs))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
        finally:
            for task in self._in_flight:
                task.cancel()
            stopped = BatcherStoppedError("the embedding worker stopped")
            for lane in (self._interactive, self._bulk):
                self._fail(list(lane), stopped)
                lane.clear()
            self._queued_texts = 0
            self._queued_bulk = 0

    async def _encode_batch(self, jobs: list[_Job]) -> None:
        texts = [t for job in jobs for t in job.texts]
        self._observe.batch_size(len(texts))
        loop = asyncio.get_running_loop()
        try:
            vectors = await loop.run_in_executor(self._executor, self._encode, texts)
        except asyncio.CancelledError:
            self._fail(jobs, BatcherStoppedError("the embedding worker stopped"))
            raise
        except Exception as exc:  # the model failed: every caller in the batch learns why
            self._fail(jobs, exc)
            return
        finally:
            self._slots.release()
        self._deliver(jobs, vectors)

    @staticmethod
    def _fail(jobs: list[_Job], exc: BaseException) -> None:
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(exc)

    async def _wait_for_batch(self) -> None:
        while not (self._interactive or self._bulk):
            self._wakeup.clear()
            await self._wakeup.wait()
        oldest = min(lane[0].enqueued_at for lane in (self._interactive, self._bulk) if lane)
        deadline = oldest + self._max_wait_s
        while self._queued_texts < self._max_batch:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._wakeup.wait()
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Job]:
        jobs: list[_Job] = []
        size = 0
        now = time.perf_counter()
        for lane, limit in ((self._interactive, self._max_batch), (self._bulk, self._max_bulk_batch)):
            while lane and (not jobs or size + len(lane[0].texts) <= limit):
                job = lane.popleft()
                self._queued_texts -= len(job.texts)
                if lane is self._bulk:
                    self._queued_bulk -= len(job.texts)
                if job.future.cancelled():
                    continue
                self._observe.queue_wait(now - job.enqueued_at)
                jobs.append(job)
                size += len(job.texts)
        self._observe.queue_depth(self._queued_texts)
        return jobs

    @staticmethod
    def _deliver(jobs: list[_Job], vectors: Vectors) -> None:
        start = 0
        for job in jobs:
            end = start + len(job.texts)
            if not job.future.done():
                job.future.set_result(np.ascontiguousarray(vectors[start:end]))
            start = end
