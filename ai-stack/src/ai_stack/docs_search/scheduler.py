"""Starting syncs when they are due: never synced, schedule elapsed, or a failed one to retry."""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog

from ai_stack.docs_search.registry import SourceRegistry
from ai_stack.docs_search.schemas import Source, SourceStatus, schedule_seconds
from ai_stack.docs_search.state import DocsState
from ai_stack.docs_search.sync import Syncer

log = structlog.get_logger("docs.scheduler")

FAILED_RETRY_S = 300.0


def is_due(source: Source, status: SourceStatus, now: dt.datetime) -> bool:
    """Whether the scheduler should start a sync of `source` now (pure)."""
    if status.state == "syncing":
        return False
    interval = schedule_seconds(source.schedule)
    if status.state == "failed":
        retry = FAILED_RETRY_S if interval is None else min(interval, FAILED_RETRY_S)
        return status.last_attempt is None or (now - status.last_attempt).total_seconds() >= retry
    if status.state == "never":
        return True
    if interval is None or status.last_sync is None:
        return interval is not None
    return (now - status.last_sync).total_seconds() >= interval


async def run_scheduler(
    registry: SourceRegistry, state: DocsState, syncer: Syncer, interval_s: float
) -> None:
    """Forever: start the due syncs, then sleep. A Redis outage skips a round, never ends the loop."""
    while True:
        try:
            sources = await registry.all()
            statuses = await state.statuses([s.name for s in sources])
            now = dt.datetime.now(dt.UTC)
            for source in sources:
                status = statuses[source.name]
                if status.state == "syncing" and not syncer.running(source.name):
                    status.state = "failed"  # the process that ran it stopped mid-sync: resume
                if is_due(source, status, now) and await syncer.start(source):
                    log.info("sync_scheduled", source=source.name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("scheduler_round_skipped", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(interval_s)
