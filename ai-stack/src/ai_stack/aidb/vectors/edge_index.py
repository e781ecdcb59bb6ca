"""HNSW settings of the embedded engine (no engine import: aidb's settings load this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Quantization = Literal["int8", "none"]
# A quantized query takes this many times its limit by the quantized distances and rescores them
# with the original vectors (the engine does neither by default): the quantized distances alone
# lost 4% of the exact top 10 at 100,000 points, and a limit of 10 rescored without oversampling
# found 0.96 of it on uniform 64-d vectors, 0.98+ with it (test_engine_replicas.py).
RESCORE_OVERSAMPLING = 2.0
# The int8 range covers this share of the vector values (the rest are clipped); the engine's own
# and a Qdrant server's setting, so both stores quantize alike.
INT8_QUANTILE = 0.99


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
    # int8: the graph is built and walked on a scalar-quantized copy of the vectors (a quarter of
    # the bytes per distance), and each query's candidates are rescored with the originals. At
    # 100,000 real MiniLM vectors this halved query time and cut a build from 53 s to 21 s at the
    # same recall (bench.vector_engines --hnsw --quantization).
    quantization: Quantization = "int8"
