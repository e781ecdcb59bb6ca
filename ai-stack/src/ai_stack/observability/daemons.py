"""Prometheus and its exporters as processes the native stack runs (Debian's binaries): names,
executables, ports and health paths, for the startup script and `ai-stack status`."""

from __future__ import annotations

from dataclasses import dataclass

from ai_stack.observability.settings import ObservabilitySettings


@dataclass(frozen=True)
class Daemon:
    name: str  # pid file, log file and status row
    executable: str  # Debian's binary; also what its command line must contain to be ours
    port: int
    health_path: str


def daemons(settings: ObservabilitySettings) -> tuple[Daemon, ...]:
    """In start order: the exporters first, so Prometheus's first scrape finds them up."""
    return (
        Daemon("node-exporter", "prometheus-node-exporter", settings.node_exporter_port, "/metrics"),
        Daemon(
            "postgres-exporter", "prometheus-postgres-exporter", settings.postgres_exporter_port, "/metrics"
        ),
        Daemon("redis-exporter", "prometheus-redis-exporter", settings.redis_exporter_port, "/metrics"),
        Daemon("nginx-exporter", "prometheus-nginx-exporter", settings.nginx_exporter_port, "/metrics"),
        Daemon(
            "blackbox-exporter", "prometheus-blackbox-exporter", settings.blackbox_exporter_port, "/metrics"
        ),
        Daemon("prometheus", "prometheus", settings.prometheus_port, "/-/ready"),
    )


def shell_lines(settings: ObservabilitySettings) -> list[str]:
    """`name executable port health_path` a line (no field holds a space)."""
    return [f"{d.name} {d.executable} {d.port} {d.health_path}" for d in daemons(settings)]
