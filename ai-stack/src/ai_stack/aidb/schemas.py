"""Request and response bodies of the aidb API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ai_stack.aidb.metadata import json_problem
from ai_stack.aidb.vectors.conditions import Between, parse_metadata_condition
from ai_stack.core.fields import NUL_FREE, SafeText, at_most_bytes, nul_free

Status = Literal["pending", "approved", "rejected"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# (collection, project, path) is a unique btree key, whose rows PostgreSQL caps at 2,704 bytes:
# 63 + 256 + 1,536 bytes stay well under it in any script.
PROJECT_MAX_BYTES = 256
PATH_MAX_BYTES = 1536

CollectionName = Annotated[str, Field(pattern=NAME_PATTERN)]
ProjectName = Annotated[
    str, nul_free(min_length=1, max_length=200), NUL_FREE, at_most_bytes(PROJECT_MAX_BYTES)
]
DocumentPath = Annotated[
    str,
    nul_free(
        min_length=1, max_length=PATH_MAX_BYTES, description="Path or URI, unique per collection + project."
    ),
    NUL_FREE,
    at_most_bytes(PATH_MAX_BYTES),
]
Title = Annotated[str, nul_free(max_length=1000), NUL_FREE]
ContentType = Annotated[str, nul_free(max_length=100), NUL_FREE]


def _storable_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    problem = json_problem(metadata)
    if problem:
        raise ValueError(problem)
    return metadata


class DocumentIn(BaseModel):
    """One document to upsert, identified by (collection, project, path)."""

    model_config = ConfigDict(extra="forbid")

    collection: CollectionName = "documents"
    project: ProjectName = "default"
    path: DocumentPath
    title: Title = ""
    content_type: ContentType = "text/markdown"
    content: SafeText
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free JSON; size and nesting are bounded by the settings."
    )
    status: Status = "approved"
    expires_at: dt.datetime | None = None

    _metadata_storable = field_validator("metadata")(_storable_metadata)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentIn] = Field(min_length=1)


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CollectionName
    description: Title = ""


class DeleteFilter(BaseModel):
    """Delete by path, project or metadata filter (within one collection)."""

    model_config = ConfigDict(extra="forbid")

    collection: CollectionName
    project: ProjectName | None = None
    path: DocumentPath | None = None
    metadata: dict[str, Any] | None = Field(
        None, min_length=1, description="Documents whose metadata contains this object (non-empty)."
    )

    _metadata_storable = field_validator("metadata")(lambda v: v if v is None else _storable_metadata(v))


class UpsertResult(BaseModel):
    id: uuid.UUID
    version: int
    outcome: Literal["created", "updated", "unchanged"]
    indexing: Literal["pending", "done"]
    chunks: int = Field(0, description="Chunks written for indexing (0 when unchanged).")


class SearchIn(BaseModel):
    """`POST /search`."""

    model_config = ConfigDict(extra="forbid")

    query: Annotated[str, nul_free(min_length=1), NUL_FREE]
    mode: Literal["vector", "keyword", "hybrid"] = "hybrid"
    collections: list[CollectionName] = Field(default_factory=list, max_length=100)
    project: ProjectName | None = None
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
    include_text: bool = Field(False, description="Each result carries its chunk's whole text (`text`).")
    include_unapproved: bool = False
    rrf_k: float = Field(60.0, gt=0)
    dense_weight: float = Field(1.0, ge=0)
    keyword_weight: float = Field(1.0, ge=0)
    rerank: bool | None = Field(
        None,
        description="Reorder the best fused candidates with the configured cross-encoder"
        " (AI_STACK_AIDB_RERANK_MODEL_PATH). Default: on when one is configured; true without one is 422.",
    )
    collapse_duplicates: bool = Field(
        True,
        description="Show a text once per project: copies of a chunk's text in other places (same words,"
        " same collection and project) are listed in the best copy's `duplicates`, not shown as results.",
    )
    group_by: Literal["chunk", "document"] | None = Field(
        None,
        description="`document`: one result per document (its best chunk; its other matching chunks in"
        " `sections`), so one long page cannot fill the page. Default: `document` when every collection"
        " searched is a documentation one (AI_STACK_AIDB_GROUPED_COLLECTIONS), else `chunk`.",
    )

    @field_validator("filters")
    @classmethod
    def _filters_are_well_formed(cls, filters: dict[str, Any]) -> dict[str, Any]:
        # Normalised (dates to full RFC 3339 UTC) so the engines and the cache key see one form.
        return {key: _normalized(key, spec) for key, spec in filters.items()}


def _normalized(key: str, spec: Any) -> Any:
    condition = parse_metadata_condition(key, spec)
    return condition.bounds if isinstance(condition, Between) else spec


class ItemError(BaseModel):
    code: str
    message: str


class BulkItem(BaseModel):
    """One document of a bulk request: its upsert result, or its error."""

    index: int
    status: int = Field(description="The status this document alone would have been answered with.")
    id: uuid.UUID | None = None
    version: int | None = None
    outcome: Literal["created", "updated", "unchanged"] | None = None
    indexing: Literal["pending", "done"] | None = None
    chunks: int | None = None
    error: ItemError | None = None


class BulkResult(BaseModel):
    items: list[BulkItem]
    failed: int
    succeeded: int


class DocumentSummary(BaseModel):
    """A document as listings show it (without its content)."""

    id: uuid.UUID
    collection: str
    project: str
    path: str
    title: str
    content_type: str
    metadata: dict[str, Any]
    status: Status
    sha256: str
    version: int
    indexed: bool = Field(description="Whether this version's chunks are all in the vector index.")
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None


class Document(DocumentSummary):
    content: str


class DocumentPage(BaseModel):
    documents: list[DocumentSummary]
    next_cursor: str | None


class ListQuery(BaseModel):
    """`GET /documents` query parameters."""

    model_config = ConfigDict(extra="ignore")

    collection: CollectionName | None = None
    project: ProjectName | None = None
    status: Status | None = None
    path: DocumentPath | None = None
    limit: int = Field(50, ge=1, le=500)
    cursor: Annotated[str, Field(max_length=512)] | None = None


class Deleted(BaseModel):
    deleted: int


class Collection(BaseModel):
    name: str
    description: str


class CollectionInfo(Collection):
    documents: int


class Collections(BaseModel):
    collections: list[CollectionInfo]


class OutboxStatus(BaseModel):
    pending: int = Field(description="Outbox items not yet done (including documents owed dense vectors).")
    oldest_s: float
    retrying: int


class CollectionIndexStatus(BaseModel):
    documents: int
    chunks: int
    chunks_indexed: int | None = Field(None, description="Points in the vector index (None: unavailable).")


class ReplicaStatus(BaseModel):
    replica: int
    alive: bool
    building_index: bool = Field(description="Building its HNSW index; the other replicas serve meanwhile.")
    serving: bool = Field(description="Alive, not building, and holding every acknowledged write.")


class EngineStatus(BaseModel):
    """The embedded engine's replica workers (`AI_STACK_AIDB_EDGE_REPLICAS` ≥ 1)."""

    replicas: list[ReplicaStatus]
    index_builds: int = Field(description="Index build passes completed since aidb started.")
    last_build_s: float | None = Field(description="Seconds the last pass took (every replica in turn).")
    points_since_build: int = Field(
        description="Points written since the last pass began; the next starts at edge_optimize_after_points."
    )


class IndexStatus(BaseModel):
    outbox: OutboxStatus
    collections: dict[str, CollectionIndexStatus]
    engine: EngineStatus | None = Field(None, description="Replica workers, when the engine runs in them.")
    vector_index: Literal["available", "unavailable"] = "available"


class Explain(BaseModel):
    dense: float | None
    keyword: float | None
    fused: float
    dense_rank: int | None
    keyword_rank: int | None
    rerank: float | None = Field(
        None, description="The reranker's score, when a reranker ordered the result."
    )


class Section(BaseModel):
    """Another matching chunk of a grouped result's document."""

    chunk_id: uuid.UUID
    heading_path: list[str]
    snippet: str
    score: float


class Duplicate(BaseModel):
    """Another place a result's text appears (the same words, in the same collection and project)."""

    document_id: uuid.UUID
    chunk_id: uuid.UUID
    path: str
    title: str
    score: float


class SearchResult(BaseModel):
    document_id: uuid.UUID
    chunk_id: uuid.UUID
    collection: str
    project: str
    path: str
    title: str
    heading_path: list[str]
    snippet: str
    score: float
    metadata: dict[str, Any]
    explain: Explain | None = Field(None, description="Per-signal scores and ranks, when asked for.")
    text: str | None = Field(None, description="The chunk's whole text, when asked for.")
    sections: list[Section] | None = Field(
        None, description="Grouped by document: the document's other matching chunks, best first."
    )
    duplicates: list[Duplicate] = Field(
        default_factory=list,
        description="Other places this text appears that matched too, best first (at most 20); empty"
        " with `collapse_duplicates: false`, when each copy is a result of its own.",
    )


class SearchResponse(BaseModel):
    mode: Literal["vector", "keyword", "hybrid"] = Field(
        description="The mode that answered (keyword when a vector mode degraded)."
    )
    results: list[SearchResult]
    next_cursor: str | None
    degraded: bool
    reason: str | None = Field(None, description="Why the answer is degraded.")


class ReindexQuery(BaseModel):
    """`POST /reindex` query parameters."""

    model_config = ConfigDict(extra="forbid")

    rebuild: bool = Field(
        False,
        description="Drop the index and build it anew (search finds nothing until documents are"
        " indexed again). Default: re-encode every document in place, search answering throughout.",
    )


class ReindexResult(BaseModel):
    queued: int
    indexing: Literal["pending"]
    rebuild: bool = Field(False, description="Whether the index was dropped first.")
