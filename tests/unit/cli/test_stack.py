"""What the CLI derives from the registry: the gateway's upstreams and the status table's rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ai_stack.cli.stack import StackSettings, service_entries, upstream, upstreams
from ai_stack.gateway.config import Upstream
from ai_stack.registry import service


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AI_STACK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AI_STACK_HOME", str(tmp_path))


def test_upstreams_use_each_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_EMBEDDINGS_MAX_BODY_BYTES", "2048")
    assert upstreams(StackSettings()) == (
        Upstream("embeddings", "embeddings", 8081, 2048),
        Upstream("aidb", "aidb", 8091, 16 * 1_048_576),
        Upstream("hybrid", "hybrid", 8092, 1_048_576),
        Upstream("docs-search", "docs", 8094, 1_048_576),
        Upstream("mcp", "mcp", 8093, 1_048_576, endpoint="/mcp"),
    )
    assert upstream(service("aidb"), port=9000).port == 9000


def test_replicas_named_in_the_settings_replace_the_loopback_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_GATEWAY_UPSTREAMS", '{"aidb": ["aidb-1:8091", "10.0.0.6:8091"]}')
    by_name = {u.name: u for u in upstreams(StackSettings())}
    assert by_name["aidb"].servers == ("aidb-1:8091", "10.0.0.6:8091")
    assert by_name["embeddings"].servers == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"postgres": ["db:5432"]}', "not a service behind the gateway"),
        ('{"aidb": []}', "at least one host:port"),
        ('{"aidb": "aidb:8091"}', "list"),
        ('{"aidb": ["aidb 2:8091"]}', "not host:port"),
    ],
)
def test_replicas_of_unknown_services_or_none_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("AI_STACK_GATEWAY_UPSTREAMS", value)
    with pytest.raises(ValueError, match=message):
        StackSettings()


def test_the_key_verifier_is_not_an_upstream() -> None:
    with pytest.raises(ValueError, match="auth has no gateway prefix"):
        upstream(service("auth"))


def test_status_rows_in_start_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_AUTH_PORT", "9089")
    entries = service_entries(StackSettings())
    assert [e.name for e in entries] == [
        "postgres",
        "redis",
        "auth",
        "embeddings",
        "aidb",
        "hybrid",
        "docs-search",
        "mcp",
        "gateway",
    ]
    auth = entries[2]
    assert (auth.health_url, auth.pid_file, auth.command) == (
        "http://127.0.0.1:9089/health/ready",
        "auth.pid",
        "ai_stack.auth",
    )
