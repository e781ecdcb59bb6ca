"""Settings of docs-search (env prefix AI_STACK_DOCS_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ai_stack.core.settings import KeyLimitedSettings

# Where documentation lives on Debian and NixOS hosts. Sources added through the API must lie
# under one of these (the config file, written by the operator, may name any path).
DEFAULT_SOURCE_ROOTS = [
    "/usr/share/doc",
    "/usr/share/man",
    "/usr/local/share/doc",
    "/usr/local/share/man",
    "/run/current-system/sw/share",
    "/nix/store",
]


class DocsSettings(KeyLimitedSettings):
    """What docs-search can be told."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_DOCS_")

    port: int = Field(8094, ge=1, le=65535, description="TCP port the service listens on.")
    aidb_url: str = Field("http://127.0.0.1:8091", description="Base URL of aidb (storage and search).")
    collection: str = Field(
        "docs", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="aidb collection that holds sections."
    )
    sources_file: Path | None = Field(
        None,
        description="TOML file declaring sources (`[[source]]` tables: name, kind, location, schedule, "
        "version); unset: only sources added through the API.",
    )
    source_roots: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SOURCE_ROOTS),
        description="Directories under which a source added through the API may lie (JSON list); "
        "the sources file is not limited.",
    )
    scheduler_interval_s: float = Field(
        60.0, gt=0, description="How often the scheduler looks for sources whose sync is due."
    )
    sync_batch_items: int = Field(100, ge=1, le=200, description="Sections per aidb bulk request.")
    sync_batch_bytes: int = Field(
        2 * 1_048_576, ge=4096, description="Most bytes of section text per aidb bulk request."
    )
    sync_request_timeout_s: float = Field(
        120.0, gt=0, description="Timeout of one aidb bulk request during a sync."
    )
    max_query_chars: int = Field(2000, ge=1, description="Longest query (422 above it).")
    max_section_chars: int = Field(
        200_000, ge=1000, description="Longest section stored; longer ones are cut and reported."
    )
