"""What the container deployment can vary: images, where the backing services are, limits."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ADDRESS = re.compile(r"[A-Za-z0-9.-]{1,253}:[0-9]{1,5}")


class PodmanSettings(BaseSettings):
    """The Podman deployment (env prefix AI_STACK_PODMAN_)."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_PODMAN_", extra="ignore")

    project: str = Field(
        "ai-stack",
        pattern=r"^[a-z][a-z0-9-]{0,30}$",
        description="Prefix of every container, volume and secret.",
    )
    image: str = Field("localhost/ai-stack:latest", description="Image of the Python services.")
    gateway_image: str = Field("localhost/ai-stack-gateway:latest", description="Image of the gateway.")
    base_image: str = Field(
        "docker.io/library/debian:bookworm-slim",
        description="Debian 12 image the stack's images build on (`scripts/podman-base.sh` makes one).",
    )
    postgres_image: str = Field("docker.io/library/postgres:15-bookworm", description="PostgreSQL image.")
    redis_image: str = Field("docker.io/library/redis:7.2-bookworm", description="Redis image.")
    # qdrant-client refuses a server more than one minor release away: keep this at the client's pin.
    qdrant_image: str = Field("docker.io/qdrant/qdrant:v1.20.0", description="Qdrant server image.")
    prometheus_image: str = Field("docker.io/prom/prometheus:v2.53.4", description="Prometheus image.")
    grafana_image: str = Field("docker.io/grafana/grafana:11.6.1", description="Grafana image.")
    jaeger_image: str = Field(
        "docker.io/jaegertracing/all-in-one:1.68.0", description="Jaeger all-in-one image."
    )
    postgres_address: str | None = Field(
        None,
        description="host:port of an existing PostgreSQL (database and role ai_stack); unset: a container.",
    )
    redis_address: str | None = Field(
        None,
        description="host:port of an existing Redis (its URL is the redis-url secret); unset: a container.",
    )
    qdrant: str = Field(
        "container",
        description=(
            "Vector engine: container (a Qdrant server container), embedded (aidb's embedded engine in"
            " its volume) or the URL of a Qdrant server or cluster."
        ),
    )
    memory_limits_mib: dict[str, int] = Field(
        default_factory=lambda: {
            "postgres": 1024,
            "redis": 512,
            "qdrant": 2048,
            "auth": 256,
            "embeddings": 1536,
            "aidb": 1536,
            "hybrid": 512,
            "docs-search": 512,
            "mcp": 512,
            "gateway": 256,
        },
        description="Memory limit per container in MiB; a container not named gets 512. With the embedded "
        "engine (qdrant=embedded), aidb gets qdrant's limit on top of its own: its engine replicas "
        "hold the index.",
    )
    observability: bool = Field(
        False,
        description="Also run Prometheus, Grafana and Jaeger (the compose file's observability profile).",
    )

    @field_validator("postgres_address", "redis_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is not None and not _ADDRESS.fullmatch(value):
            raise ValueError(f"{value!r} is not host:port")
        return value

    @field_validator("memory_limits_mib")
    @classmethod
    def _enough_memory(cls, value: dict[str, int]) -> dict[str, int]:
        small = sorted(name for name, mib in value.items() if mib < 64)
        if small:
            raise ValueError(f"at least 64 MiB per container ({', '.join(small)})")
        return value

    @field_validator("qdrant")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value not in ("container", "embedded") and not value.startswith(("http://", "https://")):
            raise ValueError("container, embedded or an http(s) URL of a Qdrant server")
        return value

    def memory_limit_mib(self, container: str) -> int:
        """The memory limit of `container` (its role, not its prefixed name)."""
        return self.memory_limits_mib.get(container, 512)
