"""Where the stack's pieces live (ports, paths), shared by the CLI commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ai_stack.aidb.settings import AidbSettings
from ai_stack.auth.settings import AuthSettings
from ai_stack.core.settings import default_home
from ai_stack.embeddings.settings import EmbeddingsSettings
from ai_stack.gateway.config import Upstream


class StackSettings(BaseSettings):
    """Paths and gateway ports (env prefix AI_STACK_)."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data directory of the stack.")
    log_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache/ai-stack/logs", description="Log directory."
    )
    gateway_https_port: int = Field(8443, ge=1, le=65535, description="Gateway HTTPS port.")
    gateway_http_port: int = Field(8088, ge=1, le=65535, description="Gateway HTTP port (redirects).")
    gateway_workers: int = Field(1, ge=1, description="nginx worker processes.")

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def tls_dir(self) -> Path:
        return self.home / "tls"


@dataclass(frozen=True)
class ServiceEntry:
    """One process of the stack as the status table shows it."""

    name: str
    health_url: str
    pid_file: str
    command: str  # a pid only counts when its command line contains this


def upstreams() -> tuple[Upstream, ...]:
    """The services behind the gateway, with the ports their own settings resolve to."""
    embeddings = EmbeddingsSettings()
    aidb = AidbSettings()
    return (
        Upstream("embeddings", "embeddings", embeddings.port, embeddings.max_body_bytes),
        Upstream("aidb", "aidb", aidb.port, aidb.max_body_bytes),
    )


def service_entries(stack: StackSettings) -> list[ServiceEntry]:
    """Every process the startup script manages, in start order."""
    auth = AuthSettings()
    entries = [
        ServiceEntry("postgres", "", "postgres.pid", "postgres"),
        ServiceEntry("redis", "", "redis.pid", "redis-server"),
        ServiceEntry("auth", f"http://127.0.0.1:{auth.port}/health/ready", "auth.pid", "ai_stack.auth"),
    ]
    entries += [
        ServiceEntry(u.name, f"http://127.0.0.1:{u.port}/health/ready", f"{u.name}.pid", f"ai_stack.{u.name}")
        for u in upstreams()
    ]
    entries.append(
        ServiceEntry("gateway", f"https://127.0.0.1:{stack.gateway_https_port}/health", "nginx.pid", "nginx")
    )
    return entries
