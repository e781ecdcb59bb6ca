"""The service registry: one consistent entry per service, and every consumer takes its list from it."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

import pytest
from ai_stack.cli.__main__ import main
from ai_stack.registry import SERVICES, Service, _unique, proxied, service

from tests.harness.processes import REPO_ROOT

STARTUP_SCRIPT = REPO_ROOT / "scripts" / "ai-stack-startup.sh"


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No AI_STACK_* variable from the developer's shell; the home is `tmp_path`."""
    for name in [n for n in os.environ if n.startswith("AI_STACK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AI_STACK_HOME", str(tmp_path))
    return tmp_path


def test_names_ports_and_prefixes_are_unique() -> None:
    for field in ("name", "module", "default_port", "env_prefix"):
        values = [getattr(s, field) for s in SERVICES]
        assert len(values) == len(set(values)), field
    prefixes = [s.gateway_prefix for s in proxied()]
    assert len(prefixes) == len(set(prefixes))


def test_todays_services_keep_their_ports_and_order() -> None:
    assert [(s.name, s.default_port, s.gateway_prefix) for s in SERVICES] == [
        ("auth", 8089, None),
        ("embeddings", 8081, "embeddings"),
        ("aidb", 8091, "aidb"),
        ("hybrid", 8092, "hybrid"),
        ("docs-search", 8094, "docs"),
        ("mcp", 8093, "mcp"),
    ]


def test_duplicates_and_unsafe_fields_are_refused() -> None:
    aidb = service("aidb")
    with pytest.raises(ValueError, match="share a default_port: 8091"):
        _unique([aidb, Service("other", "ai_stack.other", aidb.settings, 8091, "AI_STACK_OTHER_", None)])
    with pytest.raises(ValueError, match="name 'a b'"):
        Service("a b", "ai_stack.a", aidb.settings, 9000, "AI_STACK_A_", None)
    with pytest.raises(ValueError, match="no service 'nope'"):
        service("nope")


@pytest.mark.parametrize("entry", SERVICES, ids=lambda s: s.name)
def test_module_is_runnable_and_settings_match(entry: Service) -> None:
    importlib.import_module(entry.module)
    assert importlib.util.find_spec(f"{entry.module}.__main__") is not None
    cls = entry.settings_class()
    assert cls.model_config.get("env_prefix") == entry.env_prefix
    assert cls.model_fields["port"].default == entry.default_port


def test_effective_port_comes_from_the_services_settings(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(service("aidb").port_variable, "9191")
    assert service("aidb").load_settings().port == 9191
    assert service("embeddings").load_settings().max_body_bytes == 4 * 1_048_576


def test_rendered_gateway_has_a_location_for_every_proxied_service(clean_env: Path) -> None:
    out = clean_env / "nginx.conf"
    assert main(["gateway", "render", "--out", str(out), "--temp-dir", str(clean_env)]) == 0
    text = out.read_text()
    for entry in proxied():
        assert f"location /{entry.gateway_prefix}/ {{" in text
        assert f"location = /{entry.gateway_prefix}/health {{" in text
        assert f"upstream ai_{entry.name} {{\n        server 127.0.0.1:{entry.default_port};" in text
    assert "upstream ai_auth {\n        server 127.0.0.1:8089;" in text
    assert "location /auth/" not in text


def test_startup_script_takes_its_service_list_from_the_registry() -> None:
    script = STARTUP_SCRIPT.read_text()
    assert 'ai-stack" services --shell' in script
    for entry in SERVICES:
        assert f"start_python_service {entry.name}" not in script
        assert f"stop_pid_file {entry.name}" not in script
        assert entry.module not in script


def test_every_service_names_itself_as_the_registry_does() -> None:
    """Its logs' `service` field and its metrics' prefix follow its registry name, which the
    generated alert rules and scrape jobs use (docs-search once called itself `docs`, so none of
    its metrics matched a rule)."""
    for entry in SERVICES:
        app_module = importlib.import_module(f"{entry.module}.app")
        assert app_module.SERVICE == entry.name
