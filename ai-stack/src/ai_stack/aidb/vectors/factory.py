"""Builds the configured VectorStore (callers import base and factory, never an implementation)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ai_stack.aidb.vectors.base import VectorStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.layout import ClusterLayout

EmbeddedEngine = Literal["edge", "local"]


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
            data_dir / "qdrant-edge-replicas",
            edge_replicas,
            edge_index or EdgeIndex(),
            optimize_after_points=optimize_after_points,
            # A store that ran in-process before: each replica starts as a copy of it.
            seed=data_dir / "qdrant-edge",
        )
    from ai_stack.aidb.vectors.edge import EdgeStore

    return EdgeStore(data_dir / "qdrant-edge")
