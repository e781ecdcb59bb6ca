"""How the CLI reaches the stack: its API key and its TLS trust (kept light: `ai-stack mcp` starts
from here without the rest of the CLI)."""

from __future__ import annotations

import ssl
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ai_stack.core.settings import FileVariantSettings

KEY_SOURCES = "--api-key, AI_STACK_API_KEY or AI_STACK_API_KEY_FILE"


class ClientSettings(FileVariantSettings):
    """The CLI's API key: AI_STACK_API_KEY, else the file named by AI_STACK_API_KEY_FILE."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_", extra="ignore")

    api_key: SecretStr = Field(SecretStr(""), description="API key the CLI sends as X-API-Key.")


def tls_context(cafile: Path) -> ssl.SSLContext:
    """Trusts the stack's certificate when it exists, else the system's trust store."""
    return (
        ssl.create_default_context(cafile=str(cafile)) if cafile.is_file() else ssl.create_default_context()
    )
