"""Metrics particular to the embeddings service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ai_stack.core.metrics import LATENCY_BUCKETS
from ai_stack.embeddings.batcher import BatchObserver

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class EmbeddingsMetrics:
    """Batch sizes, queue depth and wait, model load time, cache hits and misses."""

    def __init__(self, prefix: str, registry: CollectorRegistry) -> None:
        self.batch_size = Histogram(
            f"{prefix}_batch_size", "Texts per model batch.", buckets=BATCH_BUCKETS, registry=registry
        )
        self.queue_depth = Gauge(f"{prefix}_queue_depth", "Texts waiting for the model.", registry=registry)
        self.queue_capacity = Gauge(
            f"{prefix}_queue_capacity_texts",
            "Texts each lane (interactive, bulk) may hold; a request past it gets 503.",
            registry=registry,
        )
        self.queue_rejections = Counter(
            f"{prefix}_queue_rejections",
            "Requests refused (503 overloaded) because their lane of the queue was full.",
            ["lane"],
            registry=registry,
        )
        for lane in ("interactive", "bulk"):  # exported at 0 from the start, so rate() sees the first
            self.queue_rejections.labels(lane=lane)
        self.queue_wait = Histogram(
            f"{prefix}_queue_wait_seconds",
            "Time a request waited before its batch started.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.model_load_seconds = Gauge(
            f"{prefix}_model_load_seconds", "Seconds the last successful model load took.", registry=registry
        )
        self.model_load_failures = Counter(
            f"{prefix}_model_load_failures", "Failed model load attempts.", registry=registry
        )
        self.cache_hits = Counter(
            f"{prefix}_cache_hits",
            "Vectors served from Redis, or repeats of a text earlier in the same request.",
            registry=registry,
        )
        self.cache_misses = Counter(
            f"{prefix}_cache_misses", "Vectors the model had to compute.", registry=registry
        )

    def batch_observer(self) -> BatchObserver:
        """Feeds the batcher's hooks into these metrics."""
        return BatchObserver(
            batch_size=self.batch_size.observe,
            queue_depth=self.queue_depth.set,
            queue_wait=self.queue_wait.observe,
        )
