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
import collections
import contextlib
import functools
import multiprocessing
import os
import pickle
import signal
import socket
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ai_stack.aidb.vectors.base import VectorInputRejected
from ai_stack.aidb.vectors.edge import EdgeStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.framing import frame, take_messages

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
            try:
                connection.send(await _answer(store, shard_dir, request))
            except OSError:  # aidb closed its end: nobody is left to answer
                break
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


class _Replies(asyncio.Protocol):
    """aidb's end of the pipe: hands each reply to the oldest call still waiting for one.

    The worker answers in the order it was asked, so replies need no ids: there is exactly one
    future in `waiting` per request sent, kept there even when its caller has given up (its
    reply still comes, and must be taken off the pipe in its turn)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._buffer = bytearray()
        self.waiting: collections.deque[asyncio.Future[Reply]] = collections.deque()
        self.answered = asyncio.Event()  # set whenever every request sent has its reply
        self.answered.set()
        self.transport: asyncio.Transport | None = None
        self.lost: str | None = None  # why the pipe closed, once it has

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, data: bytes) -> asyncio.Future[Reply]:
        assert self.transport is not None
        reply: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.waiting.append(reply)
        self.answered.clear()
        # Written now, in the order of the calls; what the socket cannot take yet waits in the
        # transport's buffer (writes queued behind a long optimize, as the thread's queue held).
        self.transport.write(data)
        return reply

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            replies = [pickle.loads(message) for message in take_messages(self._buffer)]
        except Exception as exc:  # a torn or foreign frame: nothing after it can be trusted
            self._give_up(f"sent an unreadable reply ({type(exc).__name__}: {exc})")
            return
        for reply in replies:
            if not self.waiting:
                self._give_up("answered a call it was not sent")
                return
            future = self.waiting.popleft()
            if not future.done():  # done: cancelled by its caller
                future.set_result(reply)
        if not self.waiting:
            self.answered.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"exited ({exc or 'pipe closed'})")

    def _give_up(self, reason: str) -> None:
        self._fail(reason)
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, reason: str) -> None:
        if self.lost is None:
            self.lost = reason
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(WorkerDied(f"engine worker {self._name} {self.lost}"))
        self.answered.set()


class EngineWorker:
    """aidb's handle on one worker process: calls go over the pipe in the order they were made,
    and the worker answers them one at a time, in that order.

    aidb's end of the pipe is read and written by its event loop. A thread per pipe (the first
    design) handed every call and every reply between threads, each hand-off waiting for the
    GIL; here a call is one non-blocking send, and the next call is already in the pipe when the
    worker finishes one."""

    def __init__(self, shard_dir: Path, index: EdgeIndex | None) -> None:
        self.shard_dir = shard_dir
        self._index = index
        self._context = multiprocessing.get_context("spawn")
        self._replies: _Replies | None = None
        self._process: Any = None
        self.applied_seq = 0  # last write it applied
        self.last_write: asyncio.Future[Any] | None = None  # done: every write sent is answered
        self.optimizing = False

    async def start(self) -> None:
        """Starts the process and connects to it; once only (a new worker replaces a dead one)."""
        if self._process is not None:
            raise RuntimeError(f"engine worker {self.shard_dir.name} was started already")
        ours, theirs = socket.socketpair()
        child = Connection(theirs.detach())
        self._process = self._context.Process(
            target=serve,
            args=(child, str(self.shard_dir), self._index),
            name=f"aidb-engine-{self.shard_dir.name}",
        )
        try:
            self._process.start()
        finally:
            child.close()
        self.applied_seq = read_applied_seq(self.shard_dir)
        try:
            _, self._replies = await asyncio.get_running_loop().create_unix_connection(
                functools.partial(_Replies, self.shard_dir.name), sock=ours
            )
        except BaseException:  # cancelled or failed: the worker reads the end of its pipe and exits
            ours.close()
            raise

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered: how busy the worker is (the abandoned count, since
        the worker still runs them)."""
        return len(self._replies.waiting) if self._replies is not None else 0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _send(self, request: Request) -> asyncio.Future[Reply]:
        replies = self._replies
        if replies is None or replies.transport is None or replies.lost is not None:
            why = replies.lost if replies is not None and replies.lost else "is not running"
            raise WorkerDied(f"engine worker {self.shard_dir.name} {why}")
        # Pickled before anything is queued: a request that cannot be sent leaves no future
        # waiting for a reply that will never come (which would hand every later reply to the
        # wrong call).
        data = frame(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        return replies.send(data)

    def submit(self, method: str, *args: Any, seq: int = 0) -> asyncio.Future[Any]:
        """Sends the call now (so calls reach the worker in the order submitted) and returns a
        future of its result; its errors are raised as they were in the worker."""
        try:
            sent = self._send(Request(method, args, seq))
        except Exception as exc:  # not sent: the future carries why
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed
        future = asyncio.ensure_future(self._result(sent, seq))
        if seq:
            self.last_write = future
        return future

    async def call(self, method: str, *args: Any, seq: int = 0) -> Any:
        """The result of `method` on the worker's store (see `submit`)."""
        return await self.submit(method, *args, seq=seq)

    async def _result(self, sent: asyncio.Future[Reply], seq: int) -> Any:
        reply = await sent
        if not reply.ok:
            if reply.rejected:
                raise VectorInputRejected(reply.error)
            raise RuntimeError(f"vector engine ({self.shard_dir.name}): {reply.error}")
        if seq:
            self.applied_seq = max(self.applied_seq, seq)
        return reply.value

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Waits up to `timeout_s` for every call sent to be answered (those whose callers gave
        up included: a write queued behind an optimize is still applied), closes the pipe (the
        worker closes its shard and exits) and waits for the process, killing it if it has not
        exited within `timeout_s` more."""
        loop = asyncio.get_running_loop()
        replies, self._replies = self._replies, None
        if replies is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(replies.answered.wait(), timeout_s)
            if replies.transport is not None:
                replies.transport.close()
        if self._process is not None:
            await loop.run_in_executor(None, self._process.join, timeout_s)
            if self._process.is_alive():
                self._process.kill()
                await loop.run_in_executor(None, self._process.join, 5)
