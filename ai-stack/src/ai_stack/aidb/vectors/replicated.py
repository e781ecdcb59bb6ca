"""The embedded engine in worker processes, as a replica pair that builds HNSW without stalling search.

Each replica is a worker process (worker.py) with a full copy of the shard. Writes go to every
replica in one order (a sequence number per write); a query goes to the least busy replica that
has applied every acknowledged write and is not building an index. With two or more replicas
the dense vectors get HNSW: once `optimize_after_points` points have been written, the replicas
run `optimize` one at a time, each while the others serve every query. A write is acknowledged
once every replica that is not optimizing has applied it; the one that is applies it afterwards,
in order, and serves again only once it has caught up.

Nothing is lost when a replica dies: a write that some replica did not apply is not acknowledged,
so aidb's indexer sends it again (every write is idempotent). The replica is restarted on its own
shard; one that had missed acknowledged writes (queued behind an optimize when it died) stops
serving until aidb restarts and copies the most advanced replica over it. One replica alone is
the engine out of aidb's process, without HNSW (an optimize would stall it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from ai_stack.aidb.sparse import SparseVector
from ai_stack.aidb.vectors.base import (
    ChunkPoint,
    EngineState,
    Hit,
    ReplicaState,
    SearchFilter,
    VectorInputRejected,
    VectorStore,
)
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.placement import prepare_replicas
from ai_stack.aidb.vectors.worker import EngineWorker, WorkerDied

log = structlog.get_logger(__name__)


class ReplicatedEdgeStore(VectorStore):
    """VectorStore over `replicas` engine workers (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        replicas: int = 2,
        index: EdgeIndex | None = None,
        *,
        optimize_after_points: int = 10_000,
        check_interval_s: float = 5.0,
        in_process: Path | None = None,
    ) -> None:
        if replicas < 1:
            raise ValueError("at least one replica")
        self._root = root
        self._count = replicas
        # One replica cannot build an index without stalling every query: it stays brute force.
        self._index = index if replicas > 1 else None
        self._optimize_after = optimize_after_points
        self._check_interval_s = check_interval_s
        self._in_process = in_process  # a store that ran in aidb's process moves in from here
        self._workers: list[EngineWorker] = []
        self._ready = False  # every worker has opened its shard
        self._dimension = 0
        self._stale: set[int] = set()  # replicas that missed acknowledged writes: never read
        self._seq = 0  # last write sent
        self._acked = 0  # highest write acknowledged to a caller
        self._written_since_optimize = 0
        self._builds = 0
        self._last_build_s: float | None = None
        self._send_lock = asyncio.Lock()
        self._optimize_lock = asyncio.Lock()
        self._scheduler: asyncio.Task[None] | None = None
        self._revivals: dict[int, asyncio.Task[None]] = {}  # by replica: its restart under way
        self._closing = False  # close() under way: a worker it stops is not revived
        self._dead: set[int] = set()  # found dead, replacement starting

    @property
    def workers(self) -> list[EngineWorker]:
        return list(self._workers)

    async def ensure(self, dimension: int) -> None:
        if self._ready:
            return
        if not self._workers:  # an ensure retried after a timeout asks the same workers again
            dirs = await asyncio.to_thread(prepare_replicas, self._root, self._count, self._in_process)
            workers = [EngineWorker(d, self._index) for d in dirs]
            try:
                for worker in workers:
                    await worker.start()
            except BaseException:  # kept only once all run, so that a retry starts them all
                await asyncio.gather(*(w.stop(timeout_s=5) for w in workers), return_exceptions=True)
                raise
            self._workers = workers
        self._dimension = dimension
        results = await asyncio.gather(*(w.call("ensure", dimension) for w in self._workers))
        self.idf_in_engine = bool(results[0])
        self._seq = self._acked = max(w.applied_seq for w in self._workers)
        # Points written before this start may have no index: those of an in-process store that
        # seeded the replicas, or those written since the last build. One pass builds what is
        # missing (on a shard already indexed the engine finds nothing to do). Counted before
        # `_ready`, so that an ensure failing here is retried whole, scheduler included.
        held = await self.count() if self._index is not None else 0
        self._ready = True
        if self._index is not None:
            if held >= self._optimize_after:
                self._written_since_optimize = held
            self._scheduler = asyncio.create_task(self._schedule_optimize(), name="aidb-engine-optimize")

    # ---- writes -------------------------------------------------------------------------

    async def _write(self, method: str, *args: Any, points: int = 1) -> None:
        if not self._ready:
            raise WorkerDied("the vector engine replicas are not running (ensure has not succeeded)")
        async with self._send_lock:  # sequence numbers in the order the replicas receive them
            self._seq += 1
            seq = self._seq
            sent = [(i, w, w.submit(method, *args, seq=seq)) for i, w in enumerate(self._workers)]
        waited = []
        for index, worker, future in sent:
            if worker.optimizing:
                # Applied after its optimize; if it fails there, that replica missed an
                # acknowledged write and must not serve again.
                future.add_done_callback(functools.partial(self._after_late_write, index))
            else:
                waited.append((index, future))
        results = await asyncio.gather(*(f for _, f in waited), return_exceptions=True)
        for (index, _), result in zip(waited, results, strict=True):
            if isinstance(result, WorkerDied):
                self._revive(index)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure  # not acknowledged: the indexer sends it again
        self._acked = max(self._acked, seq)
        self._written_since_optimize += points

    def _after_late_write(self, index: int, future: asyncio.Future[Any]) -> None:
        # A refused input is refused by every replica alike: nothing was applied anywhere.
        if (
            future.cancelled()
            or future.exception() is None
            or isinstance(future.exception(), VectorInputRejected)
        ):
            return
        log.error("replica_missed_write", replica=index, error=str(future.exception()))
        self._stale.add(index)
        if isinstance(future.exception(), WorkerDied):
            self._revive(index)

    async def upsert(self, points: list[ChunkPoint]) -> None:
        if points:
            await self._write("upsert", points, points=len(points))

    async def delete_document(self, document_id: uuid.UUID, keep_version: int | None = None) -> None:
        await self._write("delete_document", document_id, keep_version)

    async def delete_chunks(self, chunk_ids: list[uuid.UUID]) -> None:
        if chunk_ids:
            await self._write("delete_chunks", chunk_ids, points=len(chunk_ids))

    async def recreate(self, dimension: int) -> None:
        await self._write("recreate", dimension)
        self._dimension = dimension
        self.idf_in_engine = False

    # ---- reads --------------------------------------------------------------------------

    def _serves(self, index: int, worker: EngineWorker) -> bool:
        """Alive, not building, and holding every acknowledged write."""
        return (
            worker.alive
            and not worker.optimizing
            and index not in self._stale | self._dead
            and worker.applied_seq >= self._acked
        )

    def _reader(self) -> tuple[int, EngineWorker]:
        """The least busy replica that is current; failing that, any live one."""
        for i, worker in enumerate(self._workers):
            if not worker.alive:
                self._revive(i)  # killed or crashed while idle: no call of its own failed
        candidates = [(i, w) for i, w in enumerate(self._workers) if self._serves(i, w)]
        if not candidates:
            candidates = [
                (i, w) for i, w in enumerate(self._workers) if w.alive and i not in self._stale | self._dead
            ]
        if not candidates:
            raise WorkerDied("no vector engine replica is running")
        return min(candidates, key=lambda item: item[1].in_flight)

    async def _read(self, method: str, *args: Any) -> Any:
        """A read from one replica; from another if that one turns out dead (reads repeat safely)."""
        for attempt in range(len(self._workers)):
            index, worker = self._reader()
            try:
                return await worker.call(method, *args)
            except WorkerDied:
                self._revive(index)
                self._dead.add(index)  # not chosen again until its replacement runs
                if attempt == len(self._workers) - 1:
                    raise
        raise WorkerDied("no vector engine replica answered")

    async def query(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        fields: Sequence[str] | None = None,
    ) -> tuple[list[Hit], list[Hit]]:
        result: tuple[list[Hit], list[Hit]] = await self._read("query", dense, sparse, where, limit, fields)
        return result

    async def query_page(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        fields: Sequence[str],
        whole_top: int,
    ) -> tuple[list[Hit], list[Hit]]:
        # The worker's store does both in one call: one round trip over the pipe.
        result: tuple[list[Hit], list[Hit]] = await self._read(
            "query_page", dense, sparse, where, limit, fields, whole_top
        )
        return result

    async def payloads(self, chunk_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not chunk_ids:
            return {}
        found: dict[str, dict[str, Any]] = await self._read("payloads", list(chunk_ids))
        return found

    async def count(self, collection: str | None = None) -> int:
        return int(await self._read("count", collection))

    def engine_state(self) -> EngineState:
        return EngineState(
            replicas=[
                ReplicaState(
                    replica=i,
                    alive=w.alive,
                    building_index=w.optimizing,
                    serving=self._serves(i, w),
                    pid=w.pid,
                )
                for i, w in enumerate(self._workers)
            ],
            index_builds=self._builds,
            last_build_s=self._last_build_s,
            points_since_build=self._written_since_optimize,
        )

    # ---- index builds -------------------------------------------------------------------

    async def optimize(self) -> None:
        """Builds each replica's index in turn, each while the others serve (the scheduler calls
        this once enough has been written; tests and benchmarks call it directly)."""
        async with self._optimize_lock:
            self._written_since_optimize = 0
            started = time.perf_counter()
            for index, worker in enumerate(self._workers):
                others_current = [
                    w for i, w in enumerate(self._workers) if i != index and w.alive and i not in self._stale
                ]
                if self._count > 1 and not others_current:
                    return  # it would be the only one serving: never stall search
                await self._wait_current(others_current)
                worker.optimizing = True
                try:
                    await worker.submit("optimize")
                finally:
                    worker.optimizing = False
            await self._wait_current(self._workers)
            self._builds += 1
            self._last_build_s = time.perf_counter() - started

    async def _wait_current(self, workers: list[EngineWorker]) -> None:
        """Until each of `workers` has answered every write sent so far (calls run in order)."""
        pending = [w.last_write for w in workers if w.last_write is not None]
        await asyncio.gather(*pending, return_exceptions=True)

    async def _schedule_optimize(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval_s)
            if self._written_since_optimize < self._optimize_after:
                continue
            try:
                await self.optimize()
            except Exception as exc:  # the replica is revived on its next call; try again later
                log.error("optimize_failed", error=f"{type(exc).__name__}: {exc}")

    # ---- failures and shutdown ----------------------------------------------------------

    def _revive(self, index: int) -> None:
        if index in self._revivals or self._closing:
            return
        self._revivals[index] = asyncio.get_running_loop().create_task(
            self._restart(index), name=f"aidb-engine-revive-{index}"
        )

    async def _restart(self, index: int) -> None:
        worker = self._workers[index]
        try:
            log.error("replica_died", replica=index, pid=worker.pid)
            await worker.stop(timeout_s=5)
            replacement = EngineWorker(worker.shard_dir, self._index)
            try:
                await replacement.start()
                await replacement.call("ensure", self._dimension)
            except BaseException:
                await replacement.stop(timeout_s=5)
                raise
            if replacement.applied_seq < self._acked:
                # It had applied less than was acknowledged: it missed writes the indexer will
                # not send again. Serves nothing until aidb restarts and copies a current replica.
                log.error("replica_stale", replica=index, applied=replacement.applied_seq, acked=self._acked)
                self._stale.add(index)
            self._workers[index] = replacement
            self._dead.discard(index)
        except Exception as exc:
            log.error("replica_restart_failed", replica=index, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._revivals.pop(index, None)

    async def close(self) -> None:
        self._closing = True
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        # A restart under way stops the replacement it started (see _restart).
        revivals = list(self._revivals.values())
        for revival in revivals:
            revival.cancel()
        await asyncio.gather(*revivals, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in self._workers), return_exceptions=True)
        self._workers = []
        self._ready = False
        self._closing = False
