"""Request and response bodies of hybrid-coordinator's API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ai_stack.aidb.schemas import CollectionName, ProjectName
from ai_stack.core.fields import NUL_FREE, nul_free

MemoryKind = Literal["fact", "preference", "decision", "error_solution", "pattern", "note"]
Tag = Annotated[str, nul_free(min_length=1, max_length=64), NUL_FREE]
Source = Annotated[str, nul_free(max_length=500), NUL_FREE]
Query = Annotated[str, nul_free(min_length=1), NUL_FREE]
Content = Annotated[str, nul_free(min_length=1), NUL_FREE]


class MemoryIn(BaseModel):
    """`POST /memories`: something an agent wants remembered."""

    model_config = ConfigDict(extra="forbid")

    content: Content
    kind: MemoryKind = "note"
    project: ProjectName = "default"
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    source: Source = Field("", description="Where it came from (a session, a file, a URL).")
    supersedes: uuid.UUID | None = Field(
        None, description="The memory this one replaces: it stays as history, no longer current."
    )


class MemoryReplacement(BaseModel):
    """`PUT /memories/{id}`: a new version of a memory (the old one becomes history)."""

    model_config = ConfigDict(extra="forbid")

    content: Content
    tags: list[Tag] | None = Field(None, max_length=32, description="Default: the old version's tags.")
    source: Source = ""


class MemoryWritten(BaseModel):
    id: uuid.UUID
    outcome: Literal["created", "duplicate", "merged", "superseded"]
    similarity: float | None = Field(
        None, description="Cosine similarity to the memory it was merged into or automatically superseded."
    )
    superseded_id: uuid.UUID | None = Field(None, description="The memory this one replaced.")
    degraded: bool = False
    reason: str | None = None


class Memory(BaseModel):
    """A stored memory and its history fields."""

    id: uuid.UUID
    kind: MemoryKind
    project: str
    content: str
    tags: list[str]
    sources: list[str]
    variants: list[str] = Field(
        default_factory=list, description="Other wordings merged into it (the last few), so none is lost."
    )
    count: int = Field(description="How often it was written (duplicates and merges included).")
    first_seen: dt.datetime
    last_seen: dt.datetime
    valid_from: dt.datetime
    valid_to: dt.datetime | None = Field(description="When it stopped being current (None: current).")
    current: bool
    supersedes: uuid.UUID | None
    superseded_by: uuid.UUID | None
    score: float | None = Field(None, description="Relevance, in search results.")


class MemorySearchIn(BaseModel):
    """`POST /memories/search`."""

    model_config = ConfigDict(extra="forbid")

    query: Query
    project: ProjectName | None = None
    kinds: list[MemoryKind] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list, max_length=32, description="Any of these tags.")
    limit: int = Field(10, ge=1, le=100)
    as_of: dt.datetime | None = Field(None, description="What was current at this time (with a timezone).")
    include_history: bool = Field(False, description="Superseded versions too.")


class MemoryResults(BaseModel):
    memories: list[Memory]
    degraded: bool
    reason: str | None = None


class MemoryListQuery(BaseModel):
    """`GET /memories` query parameters."""

    model_config = ConfigDict(extra="ignore")

    project: ProjectName | None = None
    kind: MemoryKind | None = None
    tag: Tag | None = None
    seen_since: dt.datetime | None = Field(None, description="Only memories last seen at or after this time.")
    seen_before: dt.datetime | None = Field(None, description="Only memories last seen before this time.")
    include_history: bool = False
    limit: int = Field(50, ge=1, le=200)
    cursor: Annotated[str, Field(max_length=512)] | None = None


class MemoryPage(BaseModel):
    memories: list[Memory]
    next_cursor: str | None


class Deleted(BaseModel):
    deleted: int


class AugmentIn(BaseModel):
    """`POST /augment_query`: the context an agent should see before it answers."""

    model_config = ConfigDict(extra="forbid")

    query: Query
    agent_type: Literal["local", "remote"] = "remote"
    project: ProjectName | None = None
    sources: list[CollectionName] | None = Field(
        None, max_length=20, description="`memories` and aidb collections; default: the configured sources."
    )
    token_budget: int | None = Field(None, ge=16, description="Prompt budget in model tokens.")


class ContextItem(BaseModel):
    id: str
    kind: str
    collection: str
    title: str
    path: str
    source: str
    snippet: str
    score: float


class Routing(BaseModel):
    recommendation: Literal["local", "remote"]
    confidence: float
    reason: str


class Augmented(BaseModel):
    augmented_prompt: str
    context: list[ContextItem]
    context_ids: list[str]
    token_count: int
    routing: Routing
    degraded: bool
    reason: str | None = None


ContextLevel = Literal["standard", "detailed", "comprehensive"]


class MultiTurnIn(BaseModel):
    """`POST /context/multi_turn`: one turn of a conversation's context."""

    model_config = ConfigDict(extra="forbid")

    session_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = Field(
        None, description="Omit to start a session; the answer carries its id."
    )
    query: Query
    project: ProjectName | None = None
    sources: list[CollectionName] | None = Field(None, max_length=20)
    context_level: ContextLevel = Field(
        "standard", description="How many candidates per source: 1x, 2x or 3x the configured limit."
    )
    max_tokens: int | None = Field(None, ge=16, description="Prompt budget of this turn in model tokens.")


class Turn(BaseModel):
    turn: int
    query: str
    context_ids: list[str]
    at: dt.datetime


class Session(BaseModel):
    session_id: str
    created_at: dt.datetime
    turns: list[Turn]
    expires_in_s: int | None = Field(None, description="Seconds until the session expires unused.")


class MultiTurnAnswer(Augmented):
    session_id: str
    turn_number: int


ContextId = Annotated[str, nul_free(min_length=1, max_length=100), NUL_FREE]


class InteractionIn(BaseModel):
    """`POST /interactions`: what an agent was asked, what it answered, with which context."""

    model_config = ConfigDict(extra="forbid")

    query: Query
    response: Content
    project: ProjectName = "default"
    agent_type: Literal["local", "remote"] = "remote"
    model: Annotated[str, nul_free(max_length=200), NUL_FREE] = ""
    context_ids: list[ContextId] = Field(default_factory=list, max_length=100)
    tokens_used: int = Field(0, ge=0, le=10_000_000)
    latency_ms: float = Field(0, ge=0, le=86_400_000)


class InteractionRecorded(BaseModel):
    id: uuid.UUID


class OutcomeIn(BaseModel):
    """`POST /interactions/{id}/outcome`."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["success", "partial", "failure"]
    feedback: float | None = Field(None, ge=-1, le=1, description="-1 (misleading) to 1 (exactly right).")
    note: Annotated[str, nul_free(max_length=2000), NUL_FREE] = ""


class OutcomeRecorded(BaseModel):
    id: uuid.UUID
    outcome: Literal["success", "partial", "failure"]
    value: float = Field(description="The interaction's value score in [0, 1] (see the README).")
    items_updated: int = Field(description="Context items whose usefulness this outcome changed.")
    learned: list[MemoryWritten] = Field(
        default_factory=list, description="Memories learned from a successful, high-value interaction."
    )


class LearningStats(BaseModel):
    interactions: int
    outcomes: dict[str, int] = Field(description="Interactions by their latest outcome.")
    learned: dict[str, int] = Field(description="Learned memories by write outcome (created, merged, ...).")
    extraction: dict[str, int] = Field(description="Extractions by method (chat, deterministic).")
    success_rate: float | None = Field(None, description="Successes among interactions with an outcome.")


class ExportIn(BaseModel):
    """`POST /learning/export`: which interactions to export."""

    model_config = ConfigDict(extra="forbid")

    project: ProjectName | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    min_value: float | None = Field(
        None, ge=0, le=1, description="Lowest value score (default: the learning threshold)."
    )
