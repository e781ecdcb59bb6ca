"""Builds the configured VectorStore (callers import base and factory, never an implementation)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ai_stack.aidb.vectors.base import VectorStore
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
) -> VectorStore:
    """A Qdrant server when `url` is set (with `api_key`; a new collection spread as `layout`
    says), otherwise an embedded engine under `data_dir`.

    Embedded: "edge" is qdrant-edge-py (Qdrant's Rust engine, the default); "local" is
    qdrant-client's local mode (pure Python, kept because it speaks the server's client API).
    """
    if url or embedded == "local":
        from ai_stack.aidb.vectors.qdrant import QdrantStore

        return QdrantStore.connect(url, data_dir / "qdrant", timeout_s, api_key=api_key, layout=layout)
    from ai_stack.aidb.vectors.edge import EdgeStore

    return EdgeStore(data_dir / "qdrant-edge")
