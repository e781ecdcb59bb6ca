"""Metrics particular to aidb: the indexing backlog (size, age, retrying), and the memory of the
embedded engine's worker processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ai_stack.aidb import repository as repo
from ai_stack.aidb.vectors.base import EngineState
from ai_stack.core.metrics import memory_bytes
from ai_stack.core.postgres import GuardedPool

log = structlog.get_logger(__name__)


class BacklogMetrics:
    """Gauges an alert can watch: a growing or ageing outbox means indexing is stuck."""

    def __init__(self, prefix: str, registry: CollectorRegistry) -> None:
        self.pending = Gauge(
            f"{prefix}_outbox_pending", "Outbox items waiting to be indexed.", registry=registry
        )
        self.retrying = Gauge(
            f"{prefix}_outbox_retrying", "Outbox items that failed at least once.", registry=registry
        )
        self.oldest_seconds = Gauge(
            f"{prefix}_outbox_oldest_seconds",
            "Age of the oldest outbox item (0 when empty).",
            registry=registry,
        )

    async def refresh(self, pool: GuardedPool) -> None:
        """Reads the backlog once and sets the gauges."""
        backlog = await pool.run(repo.outbox_backlog)
        self.pending.set(backlog["pending"])
        self.retrying.set(backlog["retrying"])
        self.oldest_seconds.set(float(backlog["oldest_s"]))

    async def run(self, pool: GuardedPool, interval_s: float) -> None:
        """Refreshes every `interval_s` until cancelled; a failed read keeps the last values."""
        while True:
            try:
                await self.refresh(pool)
            except Exception as exc:  # PostgreSQL down: readiness reports it; keep refreshing
                log.warning("backlog_metrics_failed", error=str(exc))
            await asyncio.sleep(interval_s)


class EngineWorkerMemory(Collector):
    """The engine's worker processes' memory, read at each scrape. The index lives there, not in
    aidb's own process (whose `process_resident_memory_bytes` no longer shows it). Resident
    includes the shard's mapped segment files, which the kernel can drop; anonymous is the
    workers' heap."""

    def __init__(self, prefix: str, engine_state: Callable[[], EngineState | None]) -> None:
        self._prefix = prefix
        self._engine_state = engine_state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        resident = GaugeMetricFamily(
            f"{self._prefix}_engine_worker_resident_memory_bytes",
            "Resident memory of each embedded-engine worker (its shard's mapped files included).",
            labels=["replica"],
        )
        anonymous = GaugeMetricFamily(
            f"{self._prefix}_engine_worker_anonymous_memory_bytes",
            "Anonymous (heap) memory of each embedded-engine worker.",
            labels=["replica"],
        )
        state = self._engine_state()
        for replica in state.replicas if state is not None else []:
            if replica.pid is None or not replica.alive:
                continue
            try:
                status = Path(f"/proc/{replica.pid}/status").read_text()
            except OSError:  # exited since the state was read
                continue
            rss, anon = memory_bytes(status)
            resident.add_metric([str(replica.replica)], rss)
            anonymous.add_metric([str(replica.replica)], anon)
        yield resident
        yield anonymous
