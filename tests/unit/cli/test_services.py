"""`ai-stack services`: the registry as lines the startup script's bash reads, and as a table."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from ai_stack.cli.__main__ import main
from ai_stack.registry import SERVICES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AI_STACK_")]:
        monkeypatch.delenv(name)


def shell_output(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["services", "--shell", *args]) == 0
    return capsys.readouterr().out


def test_shell_lines_parse_in_bash_in_start_order(capsys: pytest.CaptureFixture[str]) -> None:
    # The same `read -r` the startup script uses, so a field with a space would show up here.
    read = (
        'while read -r name module port health preload; do echo "$name|$module|$port|$health|$preload"; done'
    )
    parsed = subprocess.run(
        ["bash", "-c", read], input=shell_output(capsys), capture_output=True, text=True, check=True
    )
    assert parsed.stdout.splitlines() == [
        f"{s.name}|{s.module}|{s.default_port}|{s.health_path}|{s.preload() or '-'}" for s in SERVICES
    ]


def test_jemalloc_is_preloaded_only_where_the_registry_asks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    library = tmp_path / "lib" / "libjemalloc.so.2"
    library.parent.mkdir()
    library.write_bytes(b"")
    monkeypatch.setattr("ai_stack.registry.JEMALLOC_CANDIDATES", (str(tmp_path / "lib" / "*.so.2"),))
    preloads = {line.split()[0]: line.split()[4] for line in shell_output(capsys).splitlines()}
    assert preloads == {s.name: str(library) if s.allocator == "jemalloc" else "-" for s in SERVICES}
    assert preloads["embeddings"] == str(library)
    # Switched off, or not installed: the system allocator, and the service still starts.
    monkeypatch.setenv("AI_STACK_JEMALLOC", "0")
    assert {line.split()[4] for line in shell_output(capsys).splitlines()} == {"-"}
    monkeypatch.delenv("AI_STACK_JEMALLOC")
    library.unlink()
    assert {line.split()[4] for line in shell_output(capsys).splitlines()} == {"-"}


def test_ports_are_resolved_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_STACK_AIDB_PORT", "9191")
    lines = shell_output(capsys).splitlines()
    assert any(line.startswith("aidb ai_stack.aidb 9191 /health/ready ") for line in lines)


def test_bad_setting_exits_2_unless_defaults_are_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_STACK_AIDB_PORT", "not-a-port")
    assert main(["services", "--shell"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "AI_STACK_AIDB_PORT" in captured.err
    lines = shell_output(capsys, "--defaults").splitlines()
    assert any(line.startswith("aidb ai_stack.aidb 8091 /health/ready ") for line in lines)


def test_table_lists_every_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["services"]) == 0
    out = capsys.readouterr().out
    assert all(s.name in out and s.module in out for s in SERVICES)
    assert "/aidb/" in out


def test_json_lists_the_registry_with_default_ports_and_peer_urls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_STACK_AIDB_PORT", "9191")
    assert main(["services", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert list(entries) == [s.name for s in SERVICES]
    assert entries["aidb"]["default_port"] == 8091 and entries["aidb"]["module"] == "ai_stack.aidb"
    assert entries["auth"]["gateway_prefix"] is None
    assert entries["hybrid"]["peer_urls"] == {"AI_STACK_HYBRID_AIDB_URL": "aidb"}
    assert entries["mcp"]["peer_urls"]["AI_STACK_MCP_DOCS_URL"] == "docs-search"


def test_json_and_shell_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["services", "--json", "--shell"])
    assert "not allowed with" in capsys.readouterr().err
