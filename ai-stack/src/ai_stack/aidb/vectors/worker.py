"""A qdrant-edge shard in a process of its own, called over a pipe.

The engine holds the GIL for the whole of each call (an HNSW build: a minute at 100,000 points),
so a shard that aidb's own process opened would freeze its event loop; in a worker process it
freezes only that worker. The worker runs an `EdgeStore` and answers one call at a time, in the
order sent: the order of writes is the order they were sent in.

After each write the worker records the write's sequence number in its shard directory
(`applied-seq`), so that replicas can be compared after a crash (see replicated.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ai_stack.aidb.vectors.base import VectorInputRejected
from ai_stack.aidb.vectors.edge import EdgeStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex

SEQ_FILE = "applied-seq"
WRITES = frozenset({"upsert", "delete_document", "delete_chunks", "recreate"})
CALLS = WRITES | {"ensure", "query", "query_page", "payloads", "count", "optimize"}


class WorkerDied(RuntimeError):
    """The worker process is gone (killed, crashed): an outage, not the caller's error."""


def read_applied_seq(shard_dir: Path) -> int:
    """The last write sequence number the shard in `shard_dir` applied (0: none recorded)."""
    try:
        return int((shard_dir / SEQ_FILE).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _write_applied_seq(shard_dir: Path, seq: int) -> None:
    temporary = shard_dir.parent / f".{shard_dir.name}.{SEQ_FILE}"
    temporary.write_text(str(seq))
    os.replace(temporary, shard_dir / SEQ_FILE)


@dataclass(frozen=True)
class Request:
    method: str
    args: tuple[Any, ...]
    seq: int = 0  # of a write; 0 for the rest


@dataclass(frozen=True)
class Reply:
    ok: bool
    value: Any = None
    error: str = ""
    rejected: bool = False  # VectorInputRejected: the input's fault


def serve(connection: Connection, shard_dir: str, index: EdgeIndex | None) -> None:
    """The worker process's main: answers requests until the pipe closes."""
    # The parent handles Ctrl-C and SIGTERM and closes the pipe; the worker ends when it does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(connection, Path(shard_dir), index))


async def _serve(connection: Connection, shard_dir: Path, index: EdgeIndex | None) -> None:
    # Everything on this one thread: the process exists to serve this pipe, one call at a time.
    store = EdgeStore(shard_dir, index, inline=True)
    try:
        while True:
            try:
                request: Request = connection.recv()
            except (EOFError, OSError):
                break
            connection.send(await _answer(store, shard_dir, request))
    finally:
        await store.close()


async def _answer(store: EdgeStore, shard_dir: Path, request: Request) -> Reply:
    if request.method not in CALLS:
        return Reply(False, error=f"unknown call {request.method!r}")
    try:
        value = await getattr(store, request.method)(*request.args)
        if request.method in WRITES and request.seq:
            _write_applied_seq(shard_dir, request.seq)
        elif request.method == "ensure":
            value = store.idf_in_engine
    except VectorInputRejected as exc:
        return Reply(False, error=str(exc), rejected=True)
    except Exception as exc:  # reported to the caller, which counts it against the engine
        return Reply(False, error=f"{type(exc).__name__}: {exc}")
    return Reply(True, value)


class EngineWorker:
    """aidb's handle on one worker process: calls go over the pipe one at a time, in order."""

    def __init__(self, shard_dir: Path, index: EdgeIndex | None) -> None:
        self.shard_dir = shard_dir
        self._index = index
        self._context = multiprocessing.get_context("spawn")
        self._connection: Connection | None = None
        self._process: Any = None
        # One thread owns the pipe: round trips never interleave, and their order is the order
        # calls were made in (the executor's queue is first in, first out).
        self._pipe = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"engine-{shard_dir.name}")
        self.in_flight = 0
        self.applied_seq = 0  # last write it applied
        self.last_write: asyncio.Future[Any] | None = None  # done: every write sent is answered
        self.optimizing = False

    def start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(
            target=serve,
            args=(child, str(self.shard_dir), self._index),
            name=f"aidb-engine-{self.shard_dir.name}",
        )
        self._process.start()
        child.close()
        self._connection = parent
        self.applied_seq = read_applied_seq(self.shard_dir)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _round_trip(self, request: Request) -> Reply:
        if self._connection is None:
            raise WorkerDied(f"engine worker {self.shard_dir.name} is not running")
        try:
            self._connection.send(request)
            reply: Reply = self._connection.recv()
        except (EOFError, OSError) as exc:  # BrokenPipeError, ConnectionResetError among them
            raise WorkerDied(f"engine worker {self.shard_dir.name} exited ({exc or 'pipe closed'})") from exc
        return reply

    def submit(self, method: str, *args: Any, seq: int = 0) -> asyncio.Future[Any]:
        """Queues the call now (so calls reach the worker in the order submitted) and returns a
        future of its result; its errors are raised as they were in the worker."""
        self.in_flight += 1
        sent = asyncio.get_running_loop().run_in_executor(
            self._pipe, self._round_trip, Request(method, args, seq)
        )
        future = asyncio.ensure_future(self._result(sent, seq))
        if seq:
            self.last_write = future
        return future

    async def call(self, method: str, *args: Any, seq: int = 0) -> Any:
        """The result of `method` on the worker's store (see `submit`)."""
        return await self.submit(method, *args, seq=seq)

    async def _result(self, sent: asyncio.Future[Reply], seq: int) -> Any:
        try:
            reply = await sent
        finally:
            self.in_flight -= 1
        if not reply.ok:
            if reply.rejected:
                raise VectorInputRejected(reply.error)
            raise RuntimeError(f"vector engine ({self.shard_dir.name}): {reply.error}")
        if seq:
            self.applied_seq = max(self.applied_seq, seq)
        return reply.value

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Closes the pipe (the worker closes its shard and exits) and waits for the process."""
        loop = asyncio.get_running_loop()
        # Queued behind any call still running, so the shard is closed after its last write.
        await loop.run_in_executor(self._pipe, self._close_pipe)
        if self._process is not None:
            await loop.run_in_executor(None, self._process.join, timeout_s)
            if self._process.is_alive():
                self._process.kill()
                await loop.run_in_executor(None, self._process.join, 5)
        self._pipe.shutdown(wait=False)

    def _close_pipe(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
            self._connection = None
