"""qdrant-edge in replica worker processes: HNSW builds never stall search, acknowledged writes
are seen at once, a killed worker loses nothing, and replicas that diverged are made equal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ai_stack.aidb.sparse import Bm25Encoder
from ai_stack.aidb.vectors.base import ChunkPoint, SearchFilter, VectorStore
from ai_stack.aidb.vectors.edge import EdgeStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex, Quantization
from ai_stack.aidb.vectors.factory import IN_PROCESS_DIR, REPLICAS_DIR, create_vector_store
from ai_stack.aidb.vectors.placement import prepare_replicas
from ai_stack.aidb.vectors.replicated import ReplicatedEdgeStore
from ai_stack.aidb.vectors.worker import SEQ_FILE, EngineWorker, WorkerDied, read_applied_seq

DIM = 64
WORDS = "postgres vacuum index replica shard query vector token chunk search write log".split()


def unit(rng: random.Random) -> list[float]:
    values = [rng.gauss(0, 1) for _ in range(DIM)]
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def make_points(count: int, seed: int = 1, start: int = 0) -> list[ChunkPoint]:
    rng = random.Random(seed)
    bm25 = Bm25Encoder()
    made = []
    for i in range(start, start + count):
        text = " ".join(rng.choices(WORDS, k=8))
        payload = {
            "document_id": str(uuid.UUID(int=i + 1)),
            "collection": "docs",
            "project": "p",
            "status": "approved",
            "version": 1,
            "expires_at": None,
            "metadata": {},
        }
        made.append(ChunkPoint(uuid.UUID(int=10**6 + i), unit(rng), bm25.document(text), payload))
    return made


def replicated(root: Path, quantization: Quantization = "int8", **options: object) -> ReplicatedEdgeStore:
    # A 1 KiB indexing threshold: every segment gets HNSW, so a few thousand points take seconds.
    index = EdgeIndex(
        m=16, ef_construct=200, indexing_threshold_kib=1, indexing_threads=1, quantization=quantization
    )
    return ReplicatedEdgeStore(
        root / "replicas",
        2,
        index,
        **({"check_interval_s": 3600} | options),  # type: ignore[arg-type]
    )


def quantized_segments(shard_dir: Path) -> int:
    """Segments of the shard that hold a quantized copy of their vectors (the engine's layout)."""
    return sum(1 for _ in shard_dir.glob("segments/*/vector_storage-*/quantized.data"))


async def fill(store: VectorStore, points: list[ChunkPoint]) -> None:
    for i in range(0, len(points), 500):
        await store.upsert(points[i : i + 500])


async def test_search_answers_while_a_replica_builds_its_index(tmp_path: Path) -> None:
    store = replicated(tmp_path)
    await store.ensure(DIM)
    try:
        points = make_points(12_000)
        await fill(store, points)
        probe = random.Random(9)
        latencies: list[float] = []
        optimize = asyncio.create_task(store.optimize())
        started = time.perf_counter()
        late = make_points(1, seed=77, start=50_000)[0]
        written = False
        while not optimize.done():
            began = time.perf_counter()
            dense, keyword = await store.query(
                unit(probe), Bm25Encoder().query("vacuum shard"), SearchFilter(), 10
            )
            latencies.append(time.perf_counter() - began)
            assert len(dense) == 10 and keyword
            if not written and any(w.optimizing for w in store.workers):
                # Acknowledged while one replica is busy building, and found at once.
                await store.upsert([late])
                written = True
                hits, _ = await store.query(late.dense, None, SearchFilter(), 1)
                assert hits[0].chunk_id == str(late.chunk_id)
            await asyncio.sleep(0)
        build_s = time.perf_counter() - started
        await optimize
        assert written
        # Each replica's build held its process (and its GIL) for seconds; search never waited.
        assert build_s > 2.0, build_s
        assert max(latencies) < min(1.0, build_s / 4), (max(latencies), build_s)
        assert len(latencies) > 50
        # Both replicas hold every point afterwards, the late one included.
        counts = await asyncio.gather(*(w.call("count", None) for w in store.workers))
        assert counts == [len(points) + 1] * 2
    finally:
        await store.close()


async def against_exact(exact: VectorStore, store: VectorStore, seed: int) -> tuple[float, float]:
    """recall@10 of `store` against `exact` over 50 random queries, and the largest difference
    between the two stores' scores of a chunk both returned."""
    probe = random.Random(seed)
    found, gap = 0, 0.0
    for _ in range(50):
        query = unit(probe)
        truth, _ = await exact.query(query, None, SearchFilter(), 10)
        indexed, _ = await store.query(query, None, SearchFilter(), 10)
        scores = {h.chunk_id: h.score for h in truth}
        found += sum(1 for h in indexed if h.chunk_id in scores)
        gap = max([gap, *(abs(h.score - scores[h.chunk_id]) for h in indexed if h.chunk_id in scores)])
    return found / 500, gap


async def test_hnsw_answers_as_exact_search_does(tmp_path: Path) -> None:
    exact = EdgeStore(tmp_path / "exact")
    store = replicated(tmp_path)
    await exact.ensure(DIM)
    await store.ensure(DIM)
    try:
        points = make_points(4_000, seed=3)
        await fill(exact, points)
        await fill(store, points)
        await store.optimize()
        recall, gap = await against_exact(exact, store, seed=5)
        assert recall >= 0.98
        # Rescored: the scores are the original vectors' cosines, not the quantized ones'.
        assert gap < 1e-4
    finally:
        await exact.close()
        await store.close()


async def test_an_index_built_without_quantization_is_quantized_by_its_next_build(tmp_path: Path) -> None:
    """int8 is the default; a store built before it (or with it off) gets the quantized copy when
    its replicas next build, and still answers as exact search does (candidates rescored)."""
    exact = EdgeStore(tmp_path / "exact")
    await exact.ensure(DIM)
    points = make_points(4_000, seed=4)
    await fill(exact, points)
    plain = replicated(tmp_path, quantization="none")
    await plain.ensure(DIM)
    await fill(plain, points)
    await plain.optimize()
    await plain.close()
    replica_dirs = [tmp_path / "replicas" / "0", tmp_path / "replicas" / "1"]
    assert [quantized_segments(d) for d in replica_dirs] == [0, 0]

    store = replicated(tmp_path)
    await store.ensure(DIM)
    try:
        await store.optimize()
        assert all(quantized_segments(d) > 0 for d in replica_dirs)
        recall, gap = await against_exact(exact, store, seed=6)
        assert recall >= 0.98 and gap < 1e-4
    finally:
        await exact.close()
        await store.close()


async def test_a_killed_worker_loses_nothing(tmp_path: Path) -> None:
    store = replicated(tmp_path)
    await store.ensure(DIM)
    try:
        await fill(store, make_points(200))
        victim = store.workers[0]
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        # Search keeps answering from the other replica.
        for _ in range(5):
            dense, _ = await store.query(unit(random.Random(1)), None, SearchFilter(), 5)
            assert len(dense) == 5
        # A write either reaches both replicas or is refused (the indexer sends it again).
        more = make_points(50, seed=2, start=200)
        for _attempt in range(100):
            try:
                await store.upsert(more)
                break
            except Exception:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("writes never resumed after the worker was restarted")
        assert store.workers[0] is not victim and store.workers[0].alive
        counts = await asyncio.gather(*(w.call("count", None) for w in store.workers))
        assert counts == [250, 250]
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def running_worker(shard_dir: Path) -> AsyncIterator[EngineWorker]:
    """One engine worker without HNSW, its shard ensured; stopped afterwards."""
    worker = EngineWorker(shard_dir, None)
    await worker.start()
    try:
        await worker.call("ensure", DIM)
        yield worker
    finally:
        await worker.stop()


async def test_calls_sent_together_are_answered_in_order(tmp_path: Path) -> None:
    async with running_worker(tmp_path / "worker") as worker:
        points = make_points(30)
        # Sent back to back without waiting: each count sees exactly the writes sent before it.
        calls = []
        for i in range(3):
            calls.append(worker.submit("upsert", points[i * 10 : (i + 1) * 10], seq=i + 1))
            calls.append(worker.submit("count", None))
        assert worker.in_flight == 6
        results = await asyncio.gather(*calls)
        assert results[1::2] == [10, 20, 30]
        assert worker.in_flight == 0 and worker.applied_seq == 3


async def test_a_call_given_up_leaves_every_later_reply_to_its_own_call(tmp_path: Path) -> None:
    async with running_worker(tmp_path / "worker") as worker:
        abandoned = worker.submit("upsert", make_points(10), seq=1)
        abandoned.cancel()  # as a timed-out search or a cancelled request does
        assert await worker.call("count", None) == 10  # sent, so applied; its reply was skipped
        with pytest.raises(TypeError):  # cannot be pickled: refused before anything is queued
            await worker.call("count", threading.Lock())
        # Out of step, these would get each other's replies, and the last none at all.
        assert await asyncio.wait_for(worker.call("ensure", DIM), 30) is False
        assert await asyncio.wait_for(worker.call("count", None), 30) == 10
        assert worker.in_flight == 0


async def test_stopping_waits_for_calls_whose_callers_gave_up(tmp_path: Path) -> None:
    async with running_worker(tmp_path / "worker") as worker:
        writes = [worker.submit("upsert", make_points(100, start=i * 100), seq=i + 1) for i in range(20)]
        for write in writes:
            write.cancel()  # e.g. the optimize scheduler cancelled at shutdown, writes behind it
    assert read_applied_seq(tmp_path / "worker") == 20
    reopened = EdgeStore(tmp_path / "worker")
    await reopened.ensure(DIM)
    try:
        assert await reopened.count() == 2_000
    finally:
        await reopened.close()


async def test_a_worker_that_stops_answering_is_stopped_within_the_timeout(tmp_path: Path) -> None:
    worker = EngineWorker(tmp_path / "worker", None)
    await worker.start()
    await worker.call("ensure", DIM)
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGSTOP)  # hung: alive, never answering
    try:
        pending = worker.submit("count", None)
        started = time.monotonic()
        await asyncio.wait_for(worker.stop(timeout_s=1), 30)
        assert time.monotonic() - started < 15
        assert not worker.alive
        with pytest.raises(WorkerDied):
            await pending
        with pytest.raises(WorkerDied):
            await worker.call("count", None)
    finally:
        if worker.alive:
            os.kill(worker.pid, signal.SIGKILL)


async def test_replicas_that_diverged_are_made_equal_at_start(tmp_path: Path) -> None:
    store = replicated(tmp_path)
    await store.ensure(DIM)
    await fill(store, make_points(100))
    await store.close()
    first, second = tmp_path / "replicas" / "0", tmp_path / "replicas" / "1"
    assert read_applied_seq(first) == read_applied_seq(second) > 0
    # As after a crash while replica 1 had writes queued behind an index build.
    behind = EdgeStore(second)
    await behind.ensure(DIM)
    await behind.delete_chunks([p.chunk_id for p in make_points(100)[:40]])
    await behind.close()
    (second / SEQ_FILE).write_text(str(read_applied_seq(first) - 1))

    store = replicated(tmp_path)
    await store.ensure(DIM)
    try:
        counts = await asyncio.gather(*(w.call("count", None) for w in store.workers))
        assert counts == [100, 100]
    finally:
        await store.close()


def test_a_store_that_ran_in_process_moves_into_every_replica(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        single = EdgeStore(tmp_path / "single")
        await single.ensure(DIM)
        await fill(single, make_points(30))
        await single.close()
        store = replicated(tmp_path, in_process=tmp_path / "single")
        await store.ensure(DIM)
        try:
            return list(await asyncio.gather(*(w.call("count", None) for w in store.workers)))
        finally:
            await store.close()

    assert asyncio.run(scenario()) == [30, 30]
    assert not (tmp_path / "single").exists()  # moved: no stale copy for a later change back
    assert prepare_replicas(tmp_path / "empty", 2, None) == [
        tmp_path / "empty" / "0",
        tmp_path / "empty" / "1",
    ]


async def count_in(data_dir: Path, replicas: int, points: list[ChunkPoint] | None = None) -> int:
    """Chunks the store configured with `replicas` holds, after writing `points` to it."""
    store = create_vector_store(None, data_dir, 5.0, edge_replicas=replicas)
    await store.ensure(DIM)
    try:
        await fill(store, points or [])
        return await store.count()
    finally:
        await store.close()


async def test_turning_the_replicas_off_and_on_again_moves_the_store_with_its_writes(tmp_path: Path) -> None:
    """Each change of `edge_replicas` between 0 and 2 moves the store: what was written in one
    place is found in the next, and no stale copy is left to be opened by a later change."""
    data_dir = tmp_path / "aidb"
    assert await count_in(data_dir, 0, make_points(30)) == 30
    assert await count_in(data_dir, 2, make_points(20, start=30)) == 50
    assert not (data_dir / IN_PROCESS_DIR).exists()
    assert await count_in(data_dir, 0, make_points(10, start=50)) == 60
    assert not (data_dir / REPLICAS_DIR).exists()
    assert await count_in(data_dir, 2, make_points(5, start=60)) == 65
    assert await count_in(data_dir, 0) == 65


@pytest.mark.parametrize(("configured", "other"), [(0, 2), (2, 0)])
async def test_a_copy_left_in_the_other_place_is_kept_not_opened(
    tmp_path: Path, configured: int, other: int
) -> None:
    """Both places hold a copy (a move interrupted before its source was removed, or a store
    moved by an older aidb): the configured place's copy is used and the other is left alone,
    in either direction."""
    data_dir = tmp_path / "aidb"
    assert await count_in(data_dir, configured, make_points(40)) == 40
    # The other place's copy is made by hand: through the factory it would move the first.
    place = data_dir / IN_PROCESS_DIR if other == 0 else data_dir / REPLICAS_DIR / "0"
    left = EdgeStore(place)
    await left.ensure(DIM)
    await fill(left, make_points(7, start=1000))
    await left.close()

    assert await count_in(data_dir, configured) == 40
    kept = EdgeStore(place)
    await kept.ensure(DIM)
    try:
        assert await kept.count() == 7
    finally:
        await kept.close()


async def test_a_write_before_the_replicas_run_is_refused_not_acknowledged(tmp_path: Path) -> None:
    store = replicated(tmp_path)
    with pytest.raises(WorkerDied):
        await store.upsert(make_points(1))


async def test_replicas_build_their_index_on_their_own_after_a_retried_start(tmp_path: Path) -> None:
    """aidb's start gives up on a slow `ensure` (its breaker's timeout) and may ask again: the
    retry opens the same workers and starts the index scheduler, which builds once enough is
    written."""
    store = replicated(tmp_path, optimize_after_points=1000, check_interval_s=0.1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(store.ensure(DIM), 0.05)  # the workers are still starting
    await store.ensure(DIM)
    try:
        await fill(store, make_points(3000))
        deadline = time.perf_counter() + 60
        while not any(w.optimizing for w in store.workers):
            assert time.perf_counter() < deadline, "the replicas never built their index"
            await asyncio.sleep(0.05)
        counts = await asyncio.gather(*(w.call("count", None) for w in store.workers))
        assert counts == [3000, 3000]
    finally:
        await store.close()


async def test_replicas_seeded_by_an_in_process_store_build_its_index_at_start(tmp_path: Path) -> None:
    """An operator who turns the replicas on for a store that ran in aidb's process (brute force)
    gets the index built at start, not only after `optimize_after_points` more writes."""
    single = EdgeStore(tmp_path / "single")
    await single.ensure(DIM)
    await fill(single, make_points(3000))
    await single.close()
    store = replicated(
        tmp_path, in_process=tmp_path / "single", optimize_after_points=1000, check_interval_s=0.1
    )
    await store.ensure(DIM)
    try:
        deadline = time.perf_counter() + 30
        while not any(w.optimizing for w in store.workers):
            assert time.perf_counter() < deadline, "the seeded replicas never built their index"
            await asyncio.sleep(0.02)
        await store.optimize()  # waits for the pass under way, then finds nothing left to build
        counts = [await w.call("count", None) for w in store.workers]
        assert counts == [3000, 3000]
        state = store.engine_state()
        assert state.index_builds == 2 and state.last_build_s is not None and state.last_build_s > 0
        assert [(r.alive, r.serving, r.building_index) for r in state.replicas] == [(True, True, False)] * 2
    finally:
        await store.close()


async def test_a_start_that_fails_while_counting_is_retried_whole(tmp_path: Path) -> None:
    """The count that decides a start-time build can fail (a replica dying just then): the ensure
    fails, and its retry must still start the index scheduler."""
    store = replicated(tmp_path, optimize_after_points=1000, check_interval_s=0.1)
    count = store.count
    failures = [WorkerDied("replica 0 died while counting")]

    async def count_failing_once(collection: str | None = None) -> int:
        if failures:
            raise failures.pop()
        return await count(collection)

    store.count = count_failing_once  # type: ignore[method-assign]
    with pytest.raises(WorkerDied):
        await store.ensure(DIM)
    await store.ensure(DIM)
    try:
        await fill(store, make_points(3000))
        deadline = time.perf_counter() + 60
        while not any(w.optimizing for w in store.workers):
            assert time.perf_counter() < deadline, "the retried start left no index scheduler"
            await asyncio.sleep(0.05)
    finally:
        await store.close()
