"""`ai-stack mcp` starts light and refuses a configuration it cannot use with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ai_stack.cli.mcp_command import run


def test_the_mcp_command_imports_nothing_of_the_rest_of_the_cli() -> None:
    probe = (
        "import sys; import ai_stack.cli.entry, ai_stack.cli.mcp_command; "
        "heavy = {'ai_stack.cli.ingest', 'ai_stack.cli.__main__', 'rich', 'httpx', 'torch', 'mcp'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_no_key_is_exit_2_with_the_sources(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AI_STACK_API_KEY", raising=False)
    monkeypatch.delenv("AI_STACK_API_KEY_FILE", raising=False)
    assert run([]) == 2
    assert "no API key: pass --api-key, AI_STACK_API_KEY or AI_STACK_API_KEY_FILE" in capsys.readouterr().err
