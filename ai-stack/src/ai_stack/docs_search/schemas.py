"""Request and response bodies of the docs-search API (used by handlers, clients and OpenAPI)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ai_stack.core.fields import NUL_FREE, at_most_bytes, nul_free
from ai_stack.docs_search.records import OptionRecord, PackageRecord
from ai_stack.docs_search.sections import SourceKind

SOURCE_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
SourceName = Annotated[str, Field(pattern=SOURCE_NAME_PATTERN)]
Location = Annotated[
    str,
    nul_free(min_length=1, max_length=4096, description="Absolute path of a directory or a JSON file."),
    NUL_FREE,
    at_most_bytes(4096),
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    # A version is printed in tables and hits: an escape sequence must not reach a terminal.
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain something other than spaces")
    return value


Version = Annotated[str, nul_free(min_length=1, max_length=100), NUL_FREE, AfterValidator(_no_control)]
Query = Annotated[str, nul_free(min_length=1), NUL_FREE, AfterValidator(_not_blank)]
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MatchKind = Literal["exact", "placeholder", "prefix", "pname", "text"]


def schedule_seconds(schedule: str) -> float | None:
    """Seconds between scheduled syncs; None for `manual` (only on demand)."""
    if schedule == "manual":
        return None
    match = _DURATION.fullmatch(schedule)
    if match is None:
        raise ValueError("schedule is `manual` or a duration such as 30m, 6h, 1d, 1w")
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class SourceIn(BaseModel):
    """A documentation source to index."""

    model_config = ConfigDict(extra="forbid")

    name: SourceName = Field(description="Unique name; also the aidb project of its sections.")
    kind: SourceKind
    location: Location
    schedule: str = Field(
        "1d", max_length=16, description="`manual`, or how often to sync: 30m, 6h, 1d, 1w (minimum 1m)."
    )
    version: Version | None = Field(None, description="The version it documents; unset: detected.")

    @field_validator("location")
    @classmethod
    def _absolute(cls, location: str) -> str:
        if not location.startswith("/"):
            raise ValueError("must be an absolute path")
        return location

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, schedule: str) -> str:
        schedule_seconds(schedule)
        return schedule


class Source(SourceIn):
    origin: Literal["file", "api"] = Field(description="`file`: declared in the sources file.")


class SyncCounts(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0


class SourceStatus(BaseModel):
    """Where a source's sync stands and what the last one did."""

    state: Literal["never", "syncing", "ok", "failed"] = "never"
    phase: str | None = Field(None, description="While syncing: parsing, storing, removing, catalog.")
    done: int = Field(0, description="Sections stored so far in the running sync.")
    total: int = Field(0, description="Sections the running sync has to store.")
    sections: int = Field(0, description="Sections indexed after the last successful sync.")
    version: str | None = None
    last_sync: dt.datetime | None = Field(None, description="When the last successful sync finished.")
    last_attempt: dt.datetime | None = Field(None, description="When the last sync, failed or not, ended.")
    duration_s: float | None = None
    counts: SyncCounts = Field(default_factory=SyncCounts)
    errors: list[str] = Field(default_factory=list, description="The first problems of the last sync.")
    error_count: int = 0


class SourceView(Source):
    status: SourceStatus


class SourceList(BaseModel):
    sources: list[SourceView]


class Removed(BaseModel):
    name: str
    sections_removed: int


class DocsSearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Query
    sources: list[SourceName] = Field(default_factory=list, max_length=50, description="Default: all.")
    kinds: list[SourceKind] = Field(default_factory=list, max_length=7, description="Default: all.")
    limit: int = Field(10, ge=1, le=50)
    mode: Literal["hybrid", "keyword", "vector"] = "hybrid"


class DocsHit(BaseModel):
    source: str
    kind: str
    version: str | None
    title: str
    heading_path: list[str]
    url: str
    snippet: str
    score: float
    key: str = Field(description="The section's key within its source.")


class DocsResults(BaseModel):
    results: list[DocsHit]
    degraded: bool
    reason: str | None = None


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Query
    source: SourceName | None = Field(None, description="Default: every source of the kind.")
    limit: int = Field(20, ge=1, le=200)


class OptionHit(BaseModel):
    name: str
    source: str
    type: str
    summary: str = Field(description="First sentence of the description.")
    read_only: bool
    match: MatchKind
    score: float | None = Field(None, description="Search score (free-text matches only).")


class OptionResults(BaseModel):
    match: MatchKind | None = Field(description="How the query was understood; None: nothing found.")
    options: list[OptionHit]
    degraded: bool = False
    reason: str | None = None


class OptionDetail(OptionRecord):
    source: str
    version: str | None
    resolved_from: str | None = Field(
        None, description="The concrete name asked for, when it matched this placeholder option."
    )


class PackageHit(BaseModel):
    attr: str
    source: str
    pname: str
    version: str
    summary: str
    match: MatchKind
    score: float | None = None


class PackageResults(BaseModel):
    match: MatchKind | None
    packages: list[PackageHit]
    degraded: bool = False
    reason: str | None = None


class PackageDetail(PackageRecord):
    source: str


class LookupQuery(BaseModel):
    """Query parameters of GET /options/{name} and GET /packages/{attr}."""

    model_config = ConfigDict(extra="ignore")

    source: SourceName | None = None


class SyncAccepted(BaseModel):
    name: str
    state: Literal["syncing"]
    started: bool = Field(description="False when a sync of this source was already running.")
