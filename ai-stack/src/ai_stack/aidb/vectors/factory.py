"""Builds the configured VectorStore (callers import base and factory, never an implementation)."""

from __future__ import annotations

from pathlib import Path

from ai_stack.aidb.vectors.base import VectorStore


def create_vector_store(url: str | None, data_dir: Path, timeout_s: float) -> VectorStore:
    """A Qdrant server when `url` is set, otherwise the embedded engine under `data_dir/qdrant`."""
    from ai_stack.aidb.vectors.qdrant import QdrantStore

    return QdrantStore.connect(url, data_dir / "qdrant", timeout_s)
