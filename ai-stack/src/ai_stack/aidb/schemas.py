"""Request and response bodies of the aidb API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ai_stack.aidb.vectors.conditions import parse_metadata_condition

Status = Literal["pending", "approved", "rejected"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class DocumentIn(BaseModel):
    """One document to upsert, identified by (collection, project, path)."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field("documents", pattern=NAME_PATTERN)
    project: str = Field("default", min_length=1, max_length=200)
    path: str = Field(
        min_length=1, max_length=2000, description="Path or URI, unique per collection + project."
    )
    title: str = Field("", max_length=1000)
    content_type: str = Field("text/markdown", max_length=100)
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Status = "approved"
    expires_at: dt.datetime | None = None


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentIn] = Field(min_length=1)


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field("", max_length=1000)


class DeleteFilter(BaseModel):
    """Delete by path, project or metadata filter (within one collection)."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(pattern=NAME_PATTERN)
    project: str | None = None
    path: str | None = None
    metadata: dict[str, Any] | None = None


class UpsertResult(BaseModel):
    id: uuid.UUID
    version: int
    outcome: Literal["created", "updated", "unchanged"]
    indexing: Literal["pending", "done"]
    chunks: int = Field(0, description="Chunks written for indexing (0 when unchanged).")


class SearchIn(BaseModel):
    """`POST /search`."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1)
    mode: Literal["vector", "keyword", "hybrid"] = "hybrid"
    collections: list[str] = Field(default_factory=list)
    project: str | None = None
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description='Metadata filters: {"key": value}, {"key": {"in": [...]}}, {"key": {"gte": 1, "lt": 5}} '
        "(numbers or ISO dates).",
    )
    limit: int = Field(10, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1000)
    cursor: str | None = None
    min_score: float | None = None
    explain: bool = False
    include_unapproved: bool = False
    rrf_k: float = Field(60.0, gt=0)
    dense_weight: float = Field(1.0, ge=0)
    keyword_weight: float = Field(1.0, ge=0)

    @field_validator("filters")
    @classmethod
    def _filters_are_well_formed(cls, filters: dict[str, Any]) -> dict[str, Any]:
        for key, spec in filters.items():
            parse_metadata_condition(key, spec)
        return filters
