"""Syncing a source: parse it in a worker process, send aidb what changed, delete what went away,
replace its catalog; one source at a time, in the background, with progress in its status."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import structlog

from ai_stack.aidb.schemas import BulkIn, CollectionIn, DeleteFilter, ListQuery
from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.errors import ClientError, Conflict, NotFound
from ai_stack.core.errors import ApiError, ConflictError
from ai_stack.docs_search.catalog import Catalogs
from ai_stack.docs_search.documents import batches, clean_version, plan_sync, section_document
from ai_stack.docs_search.parsers.dispatch import parse_source
from ai_stack.docs_search.registry import within_roots
from ai_stack.docs_search.schemas import Source, SourceStatus, SyncCounts
from ai_stack.docs_search.sections import ParsedSource, Section
from ai_stack.docs_search.state import DocsState

log = structlog.get_logger("docs.sync")

MAX_REPORTED_ERRORS = 20
DELETE_CONCURRENCY = 8


@dataclass(frozen=True)
class SyncPolicy:
    collection: str
    batch_items: int
    batch_bytes: int
    request_timeout_s: float
    max_section_chars: int
    source_roots: Sequence[str] = ()  # an API source's location must still lie here at each sync


class SyncFailed(Exception):
    """The sync stopped; the sections stored so far are recorded and the next sync resumes."""


class Syncer:
    """Runs syncs as background tasks, one at a time, each visible through its status."""

    def __init__(
        self,
        aidb: AidbClient,
        state: DocsState,
        catalogs: Catalogs,
        policy: SyncPolicy,
        executor: Executor,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._aidb = aidb
        self._state = state
        self._catalogs = catalogs
        self._policy = policy
        self._executor = executor
        self._now = now
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)
        self._removing: set[str] = set()  # no sync may start while a source is being removed

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def start(self, source: Source) -> bool:
        """Starts a sync in the background; False when one of this source is already running.

        The status says `syncing` before this returns, so a caller polling it never reads the
        previous sync's result as this one's."""
        if self.running(source.name) or source.name in self._removing:
            return False
        status = await self._state.status(source.name)
        status.state, status.phase, status.done, status.total = "syncing", "queued", 0, 0
        if self.running(source.name) or source.name in self._removing:  # while the status was read
            return False
        task = asyncio.create_task(self._guarded(source, status), name=f"docs-sync-{source.name}")
        self._tasks[source.name] = task
        await self._state.set_status(source.name, status)
        return True

    @contextlib.asynccontextmanager
    async def removing(self, name: str) -> AsyncIterator[None]:
        """While a source is removed: its running sync is cancelled and no new one starts (a sync
        started meanwhile would write its sections back after the delete). 409 for a second
        removal of the same source at the same time."""
        if name in self._removing:
            raise ConflictError(f"source {name!r} is being removed", code="source_removing")
        self._removing.add(name)
        try:
            await self.cancel(name)
            yield
        finally:
            self._removing.discard(name)

    async def cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        for name in list(self._tasks):
            await self.cancel(name)

    async def wait(self, name: str) -> None:
        """Until the running sync of `name` (if any) ends (tests, `sync --wait`)."""
        task = self._tasks.get(name)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _guarded(self, source: Source, status: SourceStatus) -> None:
        async with self._one_at_a_time:
            try:
                await self.run(source, status)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sync must end in a status, whatever went wrong
                status.state, status.phase = "failed", None
                status.errors = [_describe(exc), *status.errors][:MAX_REPORTED_ERRORS]
                status.error_count = max(status.error_count, len(status.errors))
                status.last_attempt = self._now()
                log.warning("sync_failed", source=source.name, error=_describe(exc))
                try:
                    await self._state.set_status(source.name, status)
                except Exception as store_exc:  # Redis itself is down: the log is all there is
                    log.error("sync_status_lost", source=source.name, error=_describe(store_exc))

    async def run(self, source: Source, status: SourceStatus) -> None:
        """One sync: parse, catalog, store changed sections, remove vanished ones."""
        started = time.monotonic()
        if source.origin == "api" and not within_roots(source.location, self._policy.source_roots):
            # Checked again now: a symlink swapped in since the source was added could point anywhere.
            raise SyncFailed(f"location {source.location!r} now lies outside the allowed source roots")
        status.phase = "parsing"
        await self._state.set_status(source.name, status)
        loop = asyncio.get_running_loop()
        parsed: ParsedSource = await loop.run_in_executor(
            self._executor, parse_source, source.kind, source.location
        )
        version = source.version or clean_version(parsed.version)
        problems = list(parsed.errors)
        if not parsed.sections and parsed.errors:
            # An unmounted disk or a moved file must not empty the index: keep what is there.
            raise SyncFailed(f"nothing parsed, the index is kept: {parsed.errors[0]}")
        status.phase = "catalog"
        await self._state.set_status(source.name, status)
        if source.kind == "nixos-options":
            await self._catalogs.replace_options(source.name, parsed.options)
        elif source.kind == "nix-packages":
            await self._catalogs.replace_packages(source.name, parsed.packages)
        manifest = await self._state.manifest(source.name)
        if manifest is None:
            manifest = await self._manifest_from_aidb(source.name)
        plan = plan_sync(parsed.sections, manifest, version)
        problems += plan.problems
        counts = SyncCounts(unchanged=plan.unchanged)
        status.phase, status.done, status.total = "storing", 0, len(plan.changed)
        await self._state.set_status(source.name, status)
        if plan.changed:
            await self._ensure_collection()
            await self._store(source, version, plan.changed, manifest, counts, problems, status)
        status.phase = "removing"
        await self._state.set_status(source.name, status)
        await self._remove(source.name, plan.removed)
        await self._state.keep_manifest(source.name)
        counts.removed = len(plan.removed)
        status.state, status.phase = "ok", None
        status.sections = len(plan.keys) - counts.failed
        status.version = version
        status.last_sync = status.last_attempt = self._now()
        status.duration_s = round(time.monotonic() - started, 3)
        status.counts = counts
        status.errors = problems[:MAX_REPORTED_ERRORS]
        status.error_count = len(problems)
        await self._state.set_status(source.name, status)
        log.info(
            "sync_done",
            source=source.name,
            sections=status.sections,
            duration_s=status.duration_s,
            **counts.model_dump(),
            errors=len(problems),
        )

    async def _store(
        self,
        source: Source,
        version: str | None,
        changed: list[tuple[Section, str]],
        manifest: dict[str, str],
        counts: SyncCounts,
        problems: list[str],
        status: SourceStatus,
    ) -> None:
        policy = self._policy
        documents = [
            section_document(
                source,
                version,
                section,
                digest,
                collection=policy.collection,
                max_chars=policy.max_section_chars,
            )
            for section, digest in changed
        ]
        digests = [digest for _, digest in changed]
        for group in batches(documents, policy.batch_items, policy.batch_bytes):
            answer = await self._aidb.bulk_upsert(
                BulkIn(documents=[documents[i] for i in group]), timeout_s=policy.request_timeout_s
            )
            stored: dict[str, str] = {}
            for item in answer.items:
                index = group[item.index]
                key = documents[index].path
                if item.error is not None or item.status >= 300:
                    counts.failed += 1
                    message = item.error.message if item.error else f"status {item.status}"
                    problems.append(f"{key}: {message}")
                    continue
                stored[key] = digests[index]
                if item.outcome == "unchanged":
                    counts.unchanged += 1
                elif key in manifest:
                    counts.updated += 1
                else:
                    counts.added += 1
            await self._state.record(source.name, stored)
            status.done += len(group)
            await self._state.set_status(source.name, status)

    async def _remove(self, name: str, keys: list[str]) -> None:
        gate = asyncio.Semaphore(DELETE_CONCURRENCY)
        collection = self._policy.collection

        async def remove(key: str) -> None:
            async with gate:
                await self._aidb.delete_where(DeleteFilter(collection=collection, project=name, path=key))

        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            await asyncio.gather(*(remove(key) for key in part))
            await self._state.forget(name, part)

    async def remove_source(self, source: Source) -> int:
        """Deletes every section of a source from aidb, and its catalog; the number deleted."""
        try:
            answer = await self._aidb.delete_where(
                DeleteFilter(collection=self._policy.collection, project=source.name)
            )
        except NotFound:  # nothing was ever stored: the collection does not exist
            deleted = 0
        else:
            deleted = answer.deleted
        if source.kind == "nixos-options":
            await self._catalogs.drop("options", source.name)
        elif source.kind == "nix-packages":
            await self._catalogs.drop("packages", source.name)
        return deleted

    async def _ensure_collection(self) -> None:
        try:
            await self._aidb.create_collection(
                CollectionIn(name=self._policy.collection, description="docs-search sections")
            )
        except Conflict:
            pass

    async def _manifest_from_aidb(self, name: str) -> dict[str, str]:
        """What aidb holds of a source, when Redis lost the manifest (each section carries its digest)."""
        manifest: dict[str, str] = {}
        cursor: str | None = None
        while True:
            try:
                page = await self._aidb.list(
                    ListQuery(collection=self._policy.collection, project=name, limit=500, cursor=cursor)
                )
            except ClientError:
                return manifest  # no such collection yet
            for document in page.documents:
                digest = document.metadata.get("digest")
                if isinstance(digest, str):
                    manifest[document.path] = digest
            if page.next_cursor is None:
                return manifest
            cursor = page.next_cursor


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiError | ClientError | SyncFailed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
