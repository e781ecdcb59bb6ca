"""Database rows to response models (pure)."""

from __future__ import annotations

import asyncpg

from ai_stack.aidb.schemas import Document, DocumentSummary


def document_summary(row: asyncpg.Record) -> DocumentSummary:
    """A document row as listings show it."""
    return DocumentSummary.model_validate(_fields(row))


def document(row: asyncpg.Record) -> Document:
    """A document row with its content."""
    return Document.model_validate({**_fields(row), "content": row["content"]})


def _fields(row: asyncpg.Record) -> dict[str, object]:
    names = (
        "id", "collection", "project", "path", "title", "content_type", "metadata", "status", "sha256",
        "version", "created_at", "updated_at", "expires_at",
    )  # fmt: skip
    return {**{name: row[name] for name in names}, "indexed": row["indexed_version"] == row["version"]}
