"""Settings of the gateway's key verifier (env prefix AI_STACK_AUTH_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ai_stack.core.settings import CoreSettings, default_home


class AuthSettings(CoreSettings):
    """What the key verifier can be told."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_AUTH_")

    port: int = Field(8089, ge=1, le=65535, description="TCP port the verifier listens on.")
    keys_file: Path = Field(
        default_factory=lambda: default_home() / "api-keys.json",
        description="The API key file (hashes only) written by `ai-stack keys`.",
    )
    reload_interval_s: float = Field(1.0, gt=0, description="How often the key file is checked for changes.")
