"""Where the stack's pieces live (ports, paths), shared by the CLI commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ai_stack.core.settings import default_home, load_settings
from ai_stack.gateway.config import Upstream, server_address
from ai_stack.registry import SERVICES, Service, proxied


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
    gateway_auth_cache_s: int = Field(
        1,
        ge=0,
        le=60,
        description="Seconds nginx reuses the key verifier's answer for a key (needs nginx's njs module;"
        " 0: ask the verifier on every request). Revocation takes up to this plus the verifier's reload.",
    )
    observability: bool = Field(
        False,
        description=(
            "Also run Prometheus and its exporters (node, PostgreSQL, Redis, nginx, blackbox) on"
            " 127.0.0.1, configured by `ai-stack observability render`."
        ),
    )
    gateway_public_host: str = Field(
        "localhost",
        description="Host name of the gateway's HTTP -> HTTPS redirects (never the client's Host).",
    )

    gateway_upstreams: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            'Replicas of a service behind the gateway, as JSON: {"aidb": ["10.0.0.5:8091",'
            ' "10.0.0.6:8091"], "auth": ["auth:8089"]}. A service not named here is the one on'
            " 127.0.0.1 at its port."
        ),
    )

    @field_validator("gateway_upstreams")
    @classmethod
    def _known_services(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        known = {"auth", *(s.name for s in proxied())}
        for name, servers in value.items():
            if name not in known:
                listing = ", ".join(sorted(known))
                raise ValueError(f"{name!r} is not a service behind the gateway (known: {listing})")
            if not servers:
                raise ValueError(f"{name!r}: give at least one host:port, or leave it out")
            for server in servers:
                server_address(server)
        return value

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


def upstream(service: Service, port: int | None = None, servers: tuple[str, ...] = ()) -> Upstream:
    """`service` behind the gateway, on `port` or the port its settings resolve to (or on `servers`),
    with their body limit."""
    if service.gateway_prefix is None:
        raise ValueError(f"{service.name} has no gateway prefix: the gateway does not proxy it")
    settings = service.load_settings()
    return Upstream(
        service.name,
        service.gateway_prefix,
        settings.port if port is None else port,
        settings.max_body_bytes,
        service.needs_key,
        service.gateway_endpoint,
        servers,
    )


def upstreams(stack: StackSettings) -> tuple[Upstream, ...]:
    """The services behind the gateway, with the ports their own settings resolve to, or the
    replicas `stack` names."""
    return tuple(upstream(s, servers=tuple(stack.gateway_upstreams.get(s.name, ()))) for s in proxied())


def service_entries(stack: StackSettings) -> list[ServiceEntry]:
    """Every process the startup script manages, in start order."""
    entries = [
        ServiceEntry("postgres", "", "postgres.pid", "postgres"),
        ServiceEntry("redis", "", "redis.pid", "redis-server"),
    ]
    entries += [
        ServiceEntry(
            s.name, f"http://127.0.0.1:{s.load_settings().port}{s.health_path}", f"{s.name}.pid", s.module
        )
        for s in SERVICES
    ]
    entries.append(
        ServiceEntry("gateway", f"https://127.0.0.1:{stack.gateway_https_port}/health", "nginx.pid", "nginx")
    )
    if stack.observability:
        # Imported here: the observability settings pull in the metrics core (and structlog, rich),
        # which `ai-stack mcp`, an agent's stdio server sharing this module, must start without.
        from ai_stack.observability.daemons import daemons
        from ai_stack.observability.settings import ObservabilitySettings

        entries += [
            ServiceEntry(d.name, f"http://127.0.0.1:{d.port}{d.health_path}", f"{d.name}.pid", d.executable)
            for d in daemons(load_settings(ObservabilitySettings))
        ]
    return entries
