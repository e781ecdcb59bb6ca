"""The stack as containers, derived from the registry and each service's settings fields."""

from __future__ import annotations

import json

import pytest
from ai_stack.deploy.containers import OBSERVABILITY_PROFILE, stack
from ai_stack.deploy.settings import PodmanSettings
from ai_stack.registry import SERVICES


def by_name(settings: PodmanSettings) -> dict[str, object]:
    return {c.name: c for c in stack(settings).containers}


def test_every_registry_service_is_a_container_in_start_order_between_backing_and_gateway() -> None:
    names = [c.name for c in stack(PodmanSettings()).containers if c.profile is None]
    assert names == ["postgres", "redis", "qdrant", *(s.name for s in SERVICES), "gateway"]


def test_services_are_wired_by_the_fields_their_settings_declare() -> None:
    containers = {c.name: c for c in stack(PodmanSettings()).containers}
    aidb = containers["aidb"]
    assert aidb.environment["AI_STACK_AIDB_EMBEDDINGS_URL"] == "http://embeddings:8081"
    assert aidb.environment["AI_STACK_AIDB_POSTGRES_HOST"] == "postgres"
    assert aidb.environment["AI_STACK_AIDB_QDRANT_URL"] == "http://qdrant:6333"
    assert aidb.environment["AI_STACK_AIDB_HOST"] == "0.0.0.0"
    assert set(aidb.secrets) == {"gateway-secret", "redis-url", "postgres-password"}
    assert aidb.volumes == (("aidb-data", "/var/lib/ai-stack/data"),)
    assert set(aidb.depends_on) == {"postgres", "redis", "qdrant"}
    mcp = containers["mcp"]
    # docs_url names docs-search by its gateway prefix.
    assert mcp.environment["AI_STACK_MCP_DOCS_URL"] == "http://docs-search:8094"
    assert mcp.environment["AI_STACK_MCP_HYBRID_URL"] == "http://hybrid:8092"
    assert "postgres-password" not in mcp.secrets
    assert containers["auth"].volumes == (("keys", "/var/lib/ai-stack/keys"),)
    # hybrid's chat_url is an outside LLM, never a container of the stack.
    assert not any("CHAT_URL" in key for key in containers["hybrid"].environment)


def test_only_the_gateway_and_the_observability_uis_publish_ports() -> None:
    containers = stack(PodmanSettings(), https_port=9443, http_port=9080).containers
    published = {c.name: c.ports for c in containers if c.ports}
    assert published.pop("gateway") == ("9443:8443", "9080:8088")
    assert set(published) == {"jaeger", "prometheus", "grafana"}
    assert all(p.startswith("127.0.0.1:") for ports in published.values() for p in ports)
    assert all(c.profile == OBSERVABILITY_PROFILE for c in containers if c.name in published)
    assert [c.name for c in containers if c.edge] == ["gateway", "jaeger", "prometheus", "grafana"]


def test_the_gateway_proxies_every_service_by_its_container_name() -> None:
    gateway = next(c for c in stack(PodmanSettings()).containers if c.name == "gateway")
    upstreams = json.loads(gateway.environment["AI_STACK_GATEWAY_UPSTREAMS"])
    assert upstreams["auth"] == ["auth:8089"]
    assert upstreams["docs-search"] == ["docs-search:8094"]
    assert set(gateway.depends_on) == {s.name for s in SERVICES}


def test_existing_backing_services_replace_their_containers() -> None:
    settings = PodmanSettings(
        postgres_address="10.0.0.9:5433", redis_address="10.0.0.9:6380", qdrant="embedded"
    )
    containers = {c.name: c for c in stack(settings).containers}
    assert not {"postgres", "redis", "qdrant"} & containers.keys()
    aidb = containers["aidb"]
    assert (
        aidb.environment["AI_STACK_AIDB_POSTGRES_HOST"],
        aidb.environment["AI_STACK_AIDB_POSTGRES_PORT"],
    ) == ("10.0.0.9", "5433")
    assert "AI_STACK_AIDB_QDRANT_URL" not in aidb.environment
    assert aidb.depends_on == ()


def test_a_qdrant_cluster_by_url() -> None:
    aidb = next(
        c for c in stack(PodmanSettings(qdrant="https://q.example:6333")).containers if c.name == "aidb"
    )
    assert aidb.environment["AI_STACK_AIDB_QDRANT_URL"] == "https://q.example:6333"
    assert "qdrant" not in aidb.depends_on


def test_the_embedded_engine_takes_the_qdrant_containers_memory_budget() -> None:
    limits = {"aidb": 1000, "qdrant": 3000, "hybrid": 400}

    def memory(qdrant: str) -> dict[str, int]:
        settings = PodmanSettings(qdrant=qdrant, memory_limits_mib=limits)
        return {c.name: c.memory_mib for c in stack(settings).containers}

    # Its engine replicas hold the shard a Qdrant container would have held.
    assert memory("embedded")["aidb"] == 4000
    assert memory("container")["aidb"] == 1000
    assert memory("https://q.example:6333")["aidb"] == 1000
    assert memory("embedded")["hybrid"] == 400  # a service without a vector engine keeps its own


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("postgres_address", "db"),
        ("redis_address", "a b:1"),
        ("qdrant", "qdrant:6333"),
        ("project", "Bad"),
        ("memory_limits_mib", {"aidb": 16}),
    ],
)
def test_bad_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        PodmanSettings(**{field: value})  # type: ignore[arg-type]


def test_tracing_goes_to_jaeger_only_with_the_observability_profile() -> None:
    plain = next(c for c in stack(PodmanSettings()).containers if c.name == "aidb")
    traced = next(c for c in stack(PodmanSettings(observability=True)).containers if c.name == "aidb")
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in plain.environment
    assert traced.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert traced.environment["OTEL_SERVICE_NAME"] == "aidb"
