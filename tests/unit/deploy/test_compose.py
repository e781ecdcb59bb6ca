"""compose.yaml and the Quadlet units, and the committed copies of both."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from ai_stack.cli.podman_command import render_files
from ai_stack.deploy.compose import compose
from ai_stack.deploy.containers import stack
from ai_stack.deploy.quadlet import quadlet_units
from ai_stack.deploy.settings import PodmanSettings

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "ai-stack/deploy/podman"
OWN = {"localhost/ai-stack:latest", "localhost/ai-stack-gateway:latest"}


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AI_STACK_")]:
        monkeypatch.delenv(name)


def test_the_committed_files_are_what_render_writes() -> None:
    rendered = render_files(stack(PodmanSettings()), OWN)
    committed = {
        str(p.relative_to(COMMITTED)): p.read_text()
        for p in COMMITTED.rglob("*")
        if p.is_file() and (p.name == "compose.yaml" or p.parent.name == "quadlet")
    }
    assert committed == rendered, (
        "regenerate them: .venv/bin/ai-stack podman render --out ai-stack/deploy/podman"
    )


def test_compose_gates_each_service_on_its_dependencies_health() -> None:
    doc = compose(stack(PodmanSettings()), OWN)
    aidb = doc["services"]["aidb"]
    assert aidb["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert aidb["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "ai_stack.deploy.healthcheck"]
    assert aidb["cap_drop"] == ["ALL"]
    assert "cap_drop" not in doc["services"]["postgres"]  # its entrypoint switches users
    assert aidb["networks"] == ["internal"]
    assert doc["services"]["gateway"]["networks"] == ["internal", "edge"]
    assert doc["networks"]["internal"] == {"internal": True}
    assert doc["secrets"]["redis-url"] == {"external": True, "name": "ai-stack-redis-url"}
    assert doc["volumes"]["aidb-data"] == {"name": "ai-stack-aidb-data"}
    assert doc["services"]["grafana"]["profiles"] == ["observability"]
    assert all(
        s["restart"] == "unless-stopped" and s["mem_limit"].endswith("m") for s in doc["services"].values()
    )


def test_compose_text_is_plain_yaml_without_anchors() -> None:
    text = render_files(stack(PodmanSettings()), OWN)["compose.yaml"]
    assert "&id" not in text
    assert yaml.safe_load(text)["name"] == "ai-stack"


def test_quadlet_units_reference_their_networks_volumes_and_secrets() -> None:
    units = quadlet_units(stack(PodmanSettings()), OWN)
    aidb = units["ai-stack-aidb.container"]
    assert "Network=ai-stack.network" in aidb
    assert "Volume=ai-stack-aidb-data.volume:/var/lib/ai-stack/data" in aidb
    assert "Secret=ai-stack-postgres-password,type=mount,target=postgres-password" in aidb
    assert "Requires=ai-stack-postgres.service ai-stack-redis.service ai-stack-qdrant.service" in aidb
    assert "PodmanArgs=--network-alias=aidb --memory=1536m" in aidb
    assert "Internal=true" in units["ai-stack.network"]
    assert "PublishPort=8443:8443" in units["ai-stack-gateway.container"]
    assert "ai-stack-grafana.container" not in units  # a profile's containers only when asked
    with_profile = quadlet_units(stack(PodmanSettings()), OWN, frozenset({"observability"}))
    assert "ai-stack-grafana.container" in with_profile


def test_quadlet_quotes_arguments_systemd_would_split() -> None:
    units = quadlet_units(stack(PodmanSettings()), OWN)
    redis = units["ai-stack-redis.container"]
    health = next(line for line in redis.splitlines() if line.startswith("HealthCmd="))
    assert health.startswith('HealthCmd=sh -c "REDISCLI_AUTH=\\"$(sed')
    gateway = units["ai-stack-gateway.container"]
    assert 'Environment="AI_STACK_GATEWAY_UPSTREAMS={\\"auth\\":[\\"auth:8089\\"]' in gateway
