"""Metrics particular to aidb: the indexing backlog (size, age, retrying)."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import CollectorRegistry, Gauge

from ai_stack.aidb import repository as repo
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
