"""Database rows to API JSON (pure)."""

from __future__ import annotations

from typing import Any

import asyncpg


def document_json(row: asyncpg.Record, *, with_content: bool = True) -> dict[str, Any]:
    """A document row as the API returns it."""
    body = {
        "id": str(row["id"]),
        "collection": row["collection"],
        "project": row["project"],
        "path": row["path"],
        "title": row["title"],
        "content_type": row["content_type"],
        "metadata": row["metadata"],
        "status": row["status"],
        "sha256": row["sha256"],
        "version": row["version"],
        "indexed": row["indexed_version"] == row["version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
    }
    if with_content:
        body["content"] = row["content"]
    return body
