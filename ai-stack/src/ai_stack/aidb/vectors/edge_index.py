"""HNSW settings of the embedded engine (no engine import: aidb's settings load this)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EdgeIndex:
    """HNSW for the dense vectors, built by `optimize` (never by an update)."""

    m: int = 32
    ef_construct: int = 256
    ef: int = 128  # candidates a query explores: recall against latency
    # Segments above this size (KiB of vectors; 384-d: ~6,500 points) get an HNSW index.
    indexing_threshold_kib: int = 10_000
    indexing_threads: int = 1  # 0: every core (the serving replica needs one)
    # Largest segment the optimizer makes (KiB; None: the engine's default). Smaller segments
    # mean a write batch re-indexes a small segment, not the whole store, at some query cost.
    max_segment_kib: int | None = None
