"""Micro-batching: merging, order, limits and failure delivery."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

import numpy as np
import pytest
from ai_stack.embeddings.batcher import BatchObserver, MicroBatcher, QueueFullError


class RecordingEncoder:
    """Encodes text i as a row full of float(hash); records batch sizes; can be held."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.gate.wait(5)
        self.batches.append(list(texts))
        return np.array([[float(len(t)), float(sum(map(ord, t)))] for t in texts], dtype=np.float32)


def expected(texts: list[str]) -> np.ndarray:
    return np.array([[float(len(t)), float(sum(map(ord, t)))] for t in texts], dtype=np.float32)


@contextlib.asynccontextmanager
async def started(batcher: MicroBatcher) -> AsyncIterator[MicroBatcher]:
    """Runs the batcher's worker loop for the block, then stops it."""
    task = asyncio.create_task(batcher.run())
    try:
        yield batcher
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def running() -> AsyncIterator[tuple[MicroBatcher, RecordingEncoder, list[int]]]:
    encoder = RecordingEncoder()
    sizes: list[int] = []
    batcher = MicroBatcher(
        encoder,
        max_batch=8,
        max_wait_s=0.02,
        max_queue_texts=40,
        observer=BatchObserver(batch_size=sizes.append),
    )
    async with started(batcher):
        yield batcher, encoder, sizes


async def test_each_caller_gets_its_own_rows_in_order(
    running: tuple[MicroBatcher, RecordingEncoder, list[int]],
) -> None:
    batcher, _, _ = running
    requests = [[f"text-{i}-{j}" * (i + 1) for j in range(1 + i % 3)] for i in range(12)]
    results = await asyncio.gather(*(batcher.embed(texts) for texts in requests))
    for texts, vectors in zip(requests, results, strict=True):
        np.testing.assert_array_equal(vectors, expected(texts))


async def test_concurrent_requests_share_batches(
    running: tuple[MicroBatcher, RecordingEncoder, list[int]],
) -> None:
    batcher, encoder, sizes = running
    await asyncio.gather(*(batcher.embed([f"t{i}", f"u{i}"]) for i in range(8)))
    assert len(encoder.batches) < 8
    assert max(sizes) == 8
    assert sum(sizes) == 16


async def test_full_queue_is_refused(running: tuple[MicroBatcher, RecordingEncoder, list[int]]) -> None:
    batcher, encoder, _ = running
    encoder.gate.clear()
    first = asyncio.create_task(batcher.embed(["a"] * 8))
    await asyncio.sleep(0.05)  # the first batch is now inside the held encoder
    waiting = [asyncio.create_task(batcher.embed(["b"] * 20)), asyncio.create_task(batcher.embed(["c"] * 20))]
    await asyncio.sleep(0)
    with pytest.raises(QueueFullError):
        await batcher.embed(["d"])
    encoder.gate.set()
    await asyncio.gather(first, *waiting)
    assert batcher.queued_texts == 0


async def test_a_full_bulk_lane_never_refuses_a_query(
    running: tuple[MicroBatcher, RecordingEncoder, list[int]],
) -> None:
    batcher, encoder, _ = running
    encoder.gate.clear()
    first = asyncio.create_task(batcher.embed(["a"] * 8))
    await asyncio.sleep(0.05)  # the first batch is now inside the held encoder
    bulk = [asyncio.create_task(batcher.embed(["b"] * 20, bulk=True)) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(QueueFullError, match="bulk"):
        await batcher.embed(["c"], bulk=True)
    query = asyncio.create_task(batcher.embed(["q"]))  # the interactive lane has its own room
    await asyncio.sleep(0)
    encoder.gate.set()
    await asyncio.gather(first, *bulk, query)
    assert query.result().shape[0] == 1 and batcher.queued_texts == 0


async def test_encoder_failure_reaches_every_caller_and_the_loop_survives() -> None:
    calls = 0

    def flaky(texts: list[str]) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model exploded")
        return np.zeros((len(texts), 2), dtype=np.float32)

    batcher = MicroBatcher(flaky, max_batch=4, max_wait_s=0.01, max_queue_texts=10)
    task = asyncio.create_task(batcher.run())
    results = await asyncio.gather(batcher.embed(["a"]), batcher.embed(["b"]), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert (await batcher.embed(["c"])).shape == (1, 2)
    task.cancel()


async def test_cancelled_caller_is_skipped(running: tuple[MicroBatcher, RecordingEncoder, list[int]]) -> None:
    batcher, encoder, _ = running
    encoder.gate.clear()
    blocker = asyncio.create_task(batcher.embed(["x"] * 8))
    await asyncio.sleep(0.05)
    doomed = asyncio.create_task(batcher.embed(["doomed"]))
    survivor = asyncio.create_task(batcher.embed(["kept"]))
    await asyncio.sleep(0)
    doomed.cancel()
    encoder.gate.set()
    await blocker
    np.testing.assert_array_equal(await survivor, expected(["kept"]))
    assert all("doomed" not in batch for batch in encoder.batches)


async def test_interactive_requests_overtake_queued_bulk_work() -> None:
    encoder = RecordingEncoder()
    bulk_texts = [f"bulk-{i}" for i in range(10)]
    lanes = MicroBatcher(encoder, max_batch=8, max_wait_s=0.0, max_queue_texts=100, max_bulk_batch=4)
    async with started(lanes) as batcher:
        encoder.gate.clear()
        first = asyncio.create_task(batcher.embed(["held"]))
        await asyncio.sleep(0.05)  # the first batch is inside the held encoder
        bulk = asyncio.create_task(batcher.embed(bulk_texts, bulk=True))
        await asyncio.sleep(0)
        query = asyncio.create_task(batcher.embed(["query"]))
        await asyncio.sleep(0)
        encoder.gate.set()
        await first
        np.testing.assert_array_equal(await query, expected(["query"]))
        np.testing.assert_array_equal(await bulk, expected(bulk_texts))  # parts reassembled in order
        assert batcher.queued_texts == 0
    batches = encoder.batches[1:]
    # The query went first although the bulk work was queued before it, and bulk texts were
    # cut into batches of at most max_bulk_batch.
    assert batches[0][0] == "query"
    assert [b for batch in batches for b in batch if b.startswith("bulk")] == bulk_texts
    assert all(sum(t.startswith("bulk") for t in batch) <= 4 for batch in batches)


async def test_cancelled_bulk_caller_leaves_its_remaining_parts_unencoded() -> None:
    encoder = RecordingEncoder()
    lanes = MicroBatcher(encoder, max_batch=8, max_wait_s=0.0, max_queue_texts=100, max_bulk_batch=2)
    async with started(lanes) as batcher:
        encoder.gate.clear()
        blocker = asyncio.create_task(batcher.embed(["held"]))
        await asyncio.sleep(0.05)
        doomed = asyncio.create_task(batcher.embed([f"doomed-{i}" for i in range(6)], bulk=True))
        await asyncio.sleep(0)
        doomed.cancel()
        encoder.gate.set()
        await blocker
        np.testing.assert_array_equal(await batcher.embed(["after"]), expected(["after"]))
    assert all(not t.startswith("doomed") for batch in encoder.batches for t in batch)


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(
            lambda t: np.zeros((0, 1), dtype=np.float32), max_batch=0, max_wait_s=0, max_queue_texts=1
        )
    with pytest.raises(ValueError, match="max_bulk_batch"):
        MicroBatcher(
            lambda t: np.zeros((0, 1), dtype=np.float32),
            max_batch=4,
            max_wait_s=0,
            max_queue_texts=8,
            max_bulk_batch=5,
        )


async def test_concurrency_runs_batches_side_by_side() -> None:
    inside = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def encode(texts: list[str]) -> np.ndarray:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        release.wait(5)
        with lock:
            inside -= 1
        return np.zeros((len(texts), 2), dtype=np.float32)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as executor:
        batcher = MicroBatcher(
            encode, max_batch=2, max_wait_s=0.0, max_queue_texts=10, executor=executor, concurrency=2
        )
        task = asyncio.create_task(batcher.run())
        calls = [asyncio.create_task(batcher.embed([f"t{i}", f"u{i}"])) for i in range(3)]
        await asyncio.sleep(0.1)
        assert peak == 2  # two batches inside the model, the third waits for a free worker
        release.set()
        results = await asyncio.gather(*calls)
        task.cancel()
    assert all(r.shape == (2, 2) for r in results)


async def test_stopping_fails_waiting_and_running_callers() -> None:
    from ai_stack.embeddings.batcher import BatcherStoppedError

    release = threading.Event()

    def held(texts: list[str]) -> np.ndarray:
        release.wait(5)
        return np.zeros((len(texts), 2), dtype=np.float32)

    batcher = MicroBatcher(held, max_batch=2, max_wait_s=0.0, max_queue_texts=10)
    task = asyncio.create_task(batcher.run())
    running = asyncio.create_task(batcher.embed(["a", "b"]))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(batcher.embed(["c"]))
    await asyncio.sleep(0.01)
    task.cancel()
    results = await asyncio.gather(running, waiting, return_exceptions=True)
    release.set()
    assert all(isinstance(r, BatcherStoppedError) for r in results)
