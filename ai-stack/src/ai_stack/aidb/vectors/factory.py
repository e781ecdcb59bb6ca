"""Builds the configured VectorStore (callers import base and factory, never an implementation)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from ai_stack.aidb.vectors.base import VectorStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.layout import ClusterLayout

EmbeddedEngine = Literal["edge", "local"]
# Under aidb's data directory: the embedded engine's shard in aidb's process, and its replicas.
IN_PROCESS_DIR = "qdrant-edge"
REPLICAS_DIR = "qdrant-edge-replicas"


def create_vector_store(
    url: str | None,
    data_dir: Path,
    timeout_s: float,
    embedded: EmbeddedEngine = "edge",
    *,
    api_key: str | None = None,
    layout: ClusterLayout | None = None,
    edge_replicas: int = 0,
    edge_index: EdgeIndex | None = None,
    optimize_after_points: int = 10_000,
) -> VectorStore:
    """A Qdrant server when `url` is set (with `api_key`; a new collection spread as `layout`
    says, its HNSW as `edge_index` says), otherwise an embedded engine under `data_dir`.

    Embedded: "edge" is qdrant-edge-py (Qdrant's Rust engine, the default); "local" is
    qdrant-client's local mode (pure Python, kept because it speaks the server's client API).
    `edge_replicas` > 0 runs qdrant-edge in that many worker processes (replicated.py), HNSW as
    `edge_index` says when there are two or more.
    """
    if url or embedded == "local":
        from ai_stack.aidb.vectors.qdrant import QdrantStore

        return QdrantStore.connect(
            url,
            data_dir / "qdrant",
            timeout_s,
            api_key=api_key,
            layout=layout,
            hnsw=edge_index or EdgeIndex(),
        )
    if edge_replicas > 0:
        from ai_stack.aidb.vectors.replicated import ReplicatedEdgeStore

        return ReplicatedEdgeStore(
            data_dir / REPLICAS_DIR,
            edge_replicas,
            edge_index or EdgeIndex(),
            optimize_after_points=optimize_after_points,
            # A store that ran in aidb's process before moves into the replicas.
            in_process=data_dir / IN_PROCESS_DIR,
        )
    from ai_stack.aidb.vectors.edge import EdgeStore
    from ai_stack.aidb.vectors.placement import move_into_process

    shard = data_dir / IN_PROCESS_DIR
    # A store that ran in replica workers before moves into aidb's process.
    return EdgeStore(shard, before_open=functools.partial(move_into_process, shard, data_dir / REPLICAS_DIR))
