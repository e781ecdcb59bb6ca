"""`ai-stack ingest`: files to aidb in bulk requests, skipping what an earlier run already stored."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ai_stack.aidb.schemas import BulkItem, BulkResult, CollectionIn, DocumentIn, ItemError
from ai_stack.aidb.settings import AidbSettings
from ai_stack.cli.aidb_client import AidbGatewayClient
from ai_stack.cli.ingest_state import IngestState
from ai_stack.cli.walk import Candidate, Document, Failure, Selection, collect, read_document
from ai_stack.clients.errors import ClientError, NotFound

# aidb's defaults, read from its settings rather than copied (a server may be configured lower:
# its 413 then fails that batch's files and says why).
MAX_BATCH_ITEMS: int = AidbSettings.model_fields["max_bulk_items"].default
MAX_BATCH_BYTES: int = AidbSettings.model_fields["max_body_bytes"].default
DEFAULT_BATCH_BYTES = MAX_BATCH_BYTES // 2  # each request stays well inside the proxy timeout
BATCH_ERRORS = frozenset({400, 413, 422})  # the request's fault: its files fail, the run goes on
_HEAD, _TAIL = b'{"documents":[', b"]}"

OnProgress = Callable[[int, int, int], None]  # (files, bytes, chunks) just finished


class BulkSender(Protocol):
    def bulk_upsert(self, body: bytes) -> BulkResult: ...


@dataclass(frozen=True)
class Target:
    """Where documents go, and the batch limits of its bulk endpoint."""

    collection: str
    project: str
    max_items: int = MAX_BATCH_ITEMS
    max_bytes: int = DEFAULT_BATCH_BYTES

    def __post_init__(self) -> None:
        if not 1 <= self.max_items <= MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_ITEMS} documents, not {self.max_items}")
        if not 1024 <= self.max_bytes <= MAX_BATCH_BYTES:
            raise ValueError(f"a batch is 1024 to {MAX_BATCH_BYTES} bytes, not {self.max_bytes}")

    def encode(self, doc: Document) -> bytes:
        """One item of the bulk body, validated as aidb's `DocumentIn` (ValueError naming what is
        wrong, before anything is sent)."""
        item = DocumentIn(
            collection=self.collection,
            project=self.project,
            path=doc.path,
            title=doc.title,
            content_type=doc.content_type,
            content=doc.content,
            metadata=doc.metadata,
        )
        return item.model_dump_json(exclude_unset=True).encode()


@dataclass
class Summary:
    """What a run did; `failures` holds each file that was not stored, with the reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def count(self, outcome: str) -> None:
        if outcome == "created":
            self.added += 1
        elif outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class _Batch:
    documents: list[Document] = field(default_factory=list)
    items: list[bytes] = field(default_factory=list)
    size: int = len(_HEAD) + len(_TAIL)

    def size_with(self, item: bytes) -> int:
        return self.size + len(item) + (1 if self.items else 0)

    def add(self, doc: Document, item: bytes) -> None:
        self.size = self.size_with(item)
        self.documents.append(doc)
        self.items.append(item)

    def body(self) -> bytes:
        return _HEAD + b",".join(self.items) + _TAIL


@dataclass
class Ingester:
    """Reads candidates, skips what the state knows, and sends the rest in batches within the limits."""

    sender: BulkSender
    target: Target
    state: IngestState
    force: bool = False
    progress: OnProgress = lambda files, size, chunks: None
    summary: Summary = field(default_factory=Summary)
    _batch: _Batch = field(default_factory=_Batch, init=False)

    def run(self, candidates: Iterable[Candidate]) -> Summary:
        """Ingests every candidate; raises ClientError when aidb cannot be used at all (401, down)."""
        for candidate in candidates:
            self._take(candidate)
        self._send()
        return self.summary

    def _take(self, candidate: Candidate) -> None:
        doc = read_document(candidate)
        if isinstance(doc, Failure):
            self.summary.failures.append(doc)
            self.progress(1, 0, 0)
            return
        if not self.force and self.state.is_current(doc):
            self.summary.unchanged += 1
            self.progress(1, 0, 0)
            return
        try:
            item = self.target.encode(doc)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = ".".join(str(p) for p in problem["loc"])
            self.summary.failures.append(Failure(doc.path, f"{field}: {problem['msg']}"))
            self.progress(1, 0, 0)
            return
        if len(item) + len(_HEAD) + len(_TAIL) > self.target.max_bytes:
            reason = f"too large once encoded ({len(item)} bytes, over --batch-bytes {self.target.max_bytes})"
            self.summary.failures.append(Failure(doc.path, reason))
            self.progress(1, 0, 0)
            return
        if self._batch.items and (
            len(self._batch.items) >= self.target.max_items
            or self._batch.size_with(item) > self.target.max_bytes
        ):
            self._send()
        self._batch.add(doc, item)

    def _send(self) -> None:
        batch, self._batch = self._batch, _Batch()
        if not batch.documents:
            return
        try:
            results = self.sender.bulk_upsert(batch.body()).items
        except ClientError as exc:
            if exc.status not in BATCH_ERRORS:
                raise
            failure = ItemError(code="", message=str(exc))
            results = [
                BulkItem(index=i, status=exc.status or 0, error=failure) for i in range(len(batch.documents))
            ]
        by_index = {r.index: r for r in results}
        for index, doc in enumerate(batch.documents):
            self._record(doc, by_index.get(index))
        self.state.save()
        chunks = sum(r.chunks or 0 for r in results)
        self.progress(len(batch.documents), batch.size, chunks)

    def _record(self, doc: Document, result: BulkItem | None) -> None:
        if result is not None and result.error is None and result.outcome is not None:
            self.state.remember(doc)
            self.summary.count(result.outcome)
            return
        error = result.error if result is not None else None
        if error is None:
            error = ItemError(code="", message="aidb returned no result")
        code = f" ({error.code})" if error.code else ""
        self.summary.failures.append(Failure(doc.path, f"{error.message}{code}"))


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text("")
        mib = task.fields.get("sent", 0) / elapsed / 1_048_576
        chunks = task.fields.get("chunks", 0)
        return Text(
            f"{chunks} chunks, {chunks / elapsed:.1f} chunks/s, {task.completed / elapsed:.1f} files/s,"
            f" {mib:.2f} MiB/s",
            style="progress.data.speed",
        )


class _ProgressBar:
    """Files done of total, rates and ETA on stderr; silent when stderr is not a terminal."""

    def __init__(self, console: Console, total: int) -> None:
        self._bar = Progress(
            TextColumn("ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            _RateColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._task = self._bar.add_task("ingest", total=total, sent=0, chunks=0)
        self._sent = 0
        self._chunks = 0

    def __enter__(self) -> _ProgressBar:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def advance(self, files: int, size: int, chunks: int) -> None:
        self._sent += size
        self._chunks += chunks
        self._bar.update(self._task, advance=files, sent=self._sent, chunks=self._chunks)


@dataclass(frozen=True)
class IngestRun:
    """One `ai-stack ingest` invocation."""

    paths: list[Path]
    root: Path
    selection: Selection
    target: Target
    state_file: Path
    force: bool = False
    create_collection: bool = False


def run_ingest(client: AidbGatewayClient, run: IngestRun, out: Console, err: Console) -> int:
    """Ingests, prints the summary (also when aidb fails midway) and returns the exit status."""
    _ensure_collection(client, run.target.collection, run.create_collection)
    candidates, missing = collect(run.paths, run.root, run.selection)
    state = IngestState(run.state_file, (client.base_url, run.target.collection, run.target.project))
    with _ProgressBar(err, len(candidates)) as bar:
        ingester = Ingester(client, run.target, state, run.force, bar.advance)
        try:
            ingester.run(candidates)
        finally:
            ingester.summary.failures[:0] = missing
            print_summary(ingester.summary, run.target, out)
    return ingester.summary.exit_code


def _ensure_collection(client: AidbGatewayClient, name: str, create: bool) -> None:
    if name in {c.name for c in client.collections().collections}:
        return
    if not create:
        raise NotFound(f"collection {name!r} does not exist; pass --create-collection to create it")
    client.create_collection(CollectionIn(name=name))


def print_summary(summary: Summary, target: Target, out: Console) -> None:
    """One line of counts, then one line per failed file (plain text, so logs can be grepped)."""
    out.print(
        f"{target.collection}/{target.project}: added {summary.added}, updated {summary.updated}, "
        f"unchanged {summary.unchanged}, failed {len(summary.failures)}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for failure in summary.failures:
        out.print(f"failed {failure.path}: {failure.reason}", markup=False, highlight=False, soft_wrap=True)
    if summary.added or summary.updated:
        out.print(
            "aidb indexes new content in the background; search finds it once indexed.", highlight=False
        )
