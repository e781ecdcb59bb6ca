"""Settings of hybrid-coordinator (env prefix AI_STACK_HYBRID_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ai_stack.core.settings import KeyLimitedSettings
from ai_stack.hybrid.schemas import MemoryKind
from ai_stack.text.model_files import DEFAULT_MODEL

AUTO_SUPERSEDE_KINDS: tuple[MemoryKind, ...] = ("fact", "preference", "decision")
DEFAULT_SOURCES = [
    "memories",
    "docs",
    "codebase-context",
    "error-solutions",
    "best-practices",
    "skills-patterns",
]


class HybridSettings(KeyLimitedSettings):
    """What hybrid-coordinator can be told."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_HYBRID_")

    port: int = Field(8092, ge=1, le=65535, description="TCP port the service listens on.")
    aidb_url: str = Field("http://127.0.0.1:8091", description="Base URL of aidb (memories and knowledge).")
    memory_collection: str = Field(
        "memories", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="aidb collection that holds memories."
    )
    interaction_collection: str = Field(
        "interaction-history",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="aidb collection that holds interactions and their outcomes.",
    )
    near_duplicate_similarity: float = Field(
        0.75,
        gt=0,
        le=1,
        description="Cosine similarity at or above which a new memory is merged into an existing one of the "
        "same kind and project, unless they differ in a detail (figures: bench/memory_dedup.py).",
    )
    supersede_similarity: float = Field(
        0.78,
        gt=0,
        le=1,
        description="Cosine similarity at or above which a new memory that differs from an existing one in "
        "a detail (a number, a negation, one swapped word) supersedes it, for auto_supersede_kinds.",
    )
    auto_supersede_kinds: list[MemoryKind] = Field(
        default_factory=lambda: list(AUTO_SUPERSEDE_KINDS),
        description="Kinds that hold one current value, so a changed detail is an update (JSON list).",
    )
    default_sources: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SOURCES),
        description="Sources augment_query searches when the request names none: `memories` and aidb "
        "collections (JSON list).",
    )
    shared_collections: list[str] = Field(
        default_factory=lambda: ["docs"],
        description="Collections augment_query searches whatever project a request names (JSON list): "
        "docs-search's sections belong to their source, not to a caller's project.",
    )
    per_source_limit: int = Field(
        8, ge=1, le=50, description="Most candidates augment takes from one source."
    )
    min_relevance: float = Field(
        0.2, ge=0, le=1, description="Score floor of a context item (dense cosine, or scaled keyword score)."
    )
    default_token_budget: int = Field(1500, ge=64, description="Token budget of augment_query's prompt.")
    max_token_budget: int = Field(32_768, ge=64, description="Largest token_budget a request may ask for.")
    tokenizer_model: str = Field(DEFAULT_MODEL, description="Model whose tokenizer counts the budget.")
    max_query_chars: int = Field(4000, ge=1, description="Longest query or memory search (413 above it).")
    max_memory_chars: int = Field(16_000, ge=1, description="Longest memory content (413 above it).")
    chat_url: str | None = Field(
        None,
        description="OpenAI-compatible chat endpoint (base URL; /v1/chat/completions is appended) used to "
        "extract learned memories; unset: the deterministic extraction.",
    )
    chat_model: str = Field("default", description="Model name sent to the chat endpoint.")
    chat_timeout_s: float = Field(30.0, gt=0, description="Timeout of one chat completion.")
    chat_max_tokens: int = Field(300, ge=16, description="Most tokens a chat completion may produce.")
    learning_chat_attempts: int = Field(
        2, ge=1, le=5, description="Chat calls per interaction before the deterministic extraction answers."
    )
    learning_value_threshold: float = Field(
        0.75,
        ge=0,
        le=1,
        description="Value score at or above which a successful interaction is learned from.",
    )
    session_ttl_s: int = Field(
        3600, ge=1, description="Seconds a multi-turn session lives after its last turn."
    )
    session_max_turns: int = Field(
        50, ge=1, description="Turns a session may hold (409 beyond: start a new one)."
    )
    routing_strong_score: float = Field(
        0.55, ge=0, le=1, description="Best item's score at or above which context counts as strong."
    )
    routing_support_score: float = Field(
        0.35, ge=0, le=1, description="Score at or above which an item supports the answer."
    )
    routing_min_items: int = Field(
        2, ge=1, description="Supporting items needed before a local model is recommended."
    )
