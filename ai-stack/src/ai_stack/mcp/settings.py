"""Settings of the MCP server (env prefix AI_STACK_MCP_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ai_stack.core.settings import CoreSettings

# The gateway forwards the client's host name without its port ($host), so both forms are needed.
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "localhost:*", "127.0.0.1:*", "[::1]:*"]


class McpSettings(CoreSettings):
    """What the MCP server can be told."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_MCP_")

    port: int = Field(8093, ge=1, le=65535, description="TCP port the service listens on.")
    aidb_url: str = Field("http://127.0.0.1:8091", description="Base URL of aidb.")
    embeddings_url: str = Field("http://127.0.0.1:8081", description="Base URL of the embeddings service.")
    hybrid_url: str = Field("http://127.0.0.1:8092", description="Base URL of hybrid-coordinator.")
    docs_url: str = Field("http://127.0.0.1:8094", description="Base URL of docs-search.")
    read_only: bool = Field(False, description="Register only the tools that change nothing.")
    allowed_hosts: list[str] = Field(
        default_factory=lambda: list(LOCAL_HOSTS),
        description="Host header values accepted (DNS-rebinding protection; add the gateway's public name).",
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Origin header values accepted (none: no browser origin)."
    )
    max_result_chars: int = Field(
        12_000, ge=1000, description="Largest tool result, in characters of JSON (longer lists are cut)."
    )
    call_timeout_s: float = Field(30.0, gt=0, description="Timeout of one backend call of a tool.")
