"""The compose file (`compose.yaml`) of the stack, for podman-compose or Docker Compose (pure)."""

from __future__ import annotations

from typing import Any

import yaml

from ai_stack.deploy.containers import Container, Stack

INTERNAL_NETWORK = "internal"
EDGE_NETWORK = "edge"
HEALTH_INTERVAL_S = 15
HEALTH_TIMEOUT_S = 5
HEALTH_RETRIES = 3
# Our own images drop every capability; the backing services' images start as root and switch
# users themselves (chown, setuid), so they keep the runtime's default set.
OWN_IMAGE_HARDENING: dict[str, list[str]] = {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"]}


def healthcheck(container: Container) -> dict[str, Any]:
    """Its compose healthcheck."""
    return {
        "test": ["CMD", *container.health],
        "interval": f"{HEALTH_INTERVAL_S}s",
        "timeout": f"{HEALTH_TIMEOUT_S}s",
        "retries": HEALTH_RETRIES,
        "start_period": f"{container.health_start_s}s",
    }


def _service(stack: Stack, container: Container, own_images: set[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"image": container.image}
    if container.command:
        entry["command"] = list(container.command)
    if container.environment:
        entry["environment"] = dict(container.environment)
    if container.secrets:
        entry["secrets"] = list(container.secrets)
    if container.volumes:
        entry["volumes"] = [f"{volume}:{path}" for volume, path in container.volumes]
    if container.ports:
        entry["ports"] = list(container.ports)
    if container.health:
        entry["healthcheck"] = healthcheck(container)
    if container.depends_on:
        entry["depends_on"] = {name: {"condition": "service_healthy"} for name in container.depends_on}
    entry["networks"] = [INTERNAL_NETWORK, EDGE_NETWORK] if container.edge else [INTERNAL_NETWORK]
    entry["mem_limit"] = f"{container.memory_mib}m"
    entry["restart"] = "unless-stopped"
    if container.image in own_images:
        entry |= {key: list(value) for key, value in OWN_IMAGE_HARDENING.items()}
    if container.profile:
        entry["profiles"] = [container.profile]
    return entry


def compose(stack: Stack, own_images: set[str]) -> dict[str, Any]:
    """The compose document: the internal network every container is on, the edge network of the
    containers that publish a port, named volumes, and the secrets (created beforehand as Podman
    secrets named `<project>-<secret>`)."""
    return {
        "name": stack.project,
        "services": {c.name: _service(stack, c, own_images) for c in stack.containers},
        "networks": {INTERNAL_NETWORK: {"internal": True}, EDGE_NETWORK: {}},
        "volumes": {v: {"name": stack.qualified(v)} for v in stack.volumes},
        "secrets": {s: {"external": True, "name": stack.qualified(s)} for s in stack.secrets},
    }


def render_compose(stack: Stack, own_images: set[str]) -> str:
    """compose.yaml's text."""
    header = (
        "# Generated from the service registry by `ai-stack podman render`; do not edit.\n"
        "# Podman secrets come first (scripts/ai-stack-startup.sh with AI_STACK_MODE=podman creates them);\n"
        "# `--profile observability` adds Prometheus, Grafana and Jaeger.\n"
    )
    return header + yaml.safe_dump(compose(stack, own_images), sort_keys=False, width=120)
