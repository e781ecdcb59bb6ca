"""How aidb's collection is spread over a Qdrant cluster (its own module: aidb's settings import it,
and must not pull in the vector stores)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterLayout:
    """How a collection is spread over a Qdrant cluster: set when the collection is created."""

    shard_number: int = 1
    replication_factor: int = 1
    write_consistency_factor: int = 1
