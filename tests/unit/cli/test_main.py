"""The operator CLI: keys are printed once and only them; bad settings exit 2 with one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_stack.auth.apikeys import hash_key
from ai_stack.auth.keystore import KeyStore
from ai_stack.cli.__main__ import main


def test_keys_create_prints_only_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_STACK_AUTH_KEYS_FILE", str(tmp_path / "k.json"))
    assert main(["keys", "create", "--name", "ci"]) == 0
    out = capsys.readouterr().out
    key = out.strip()
    assert out == key + "\n" and key.startswith("aisk_")
    assert KeyStore(tmp_path / "k.json").active_hashes() == [hash_key(key)]


def test_revoke_unknown_id_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_AUTH_KEYS_FILE", str(tmp_path / "k.json"))
    assert main(["keys", "revoke", "nope"]) == 1


def test_bad_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_STACK_GATEWAY_HTTPS_PORT", "not-a-port")
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "AI_STACK_GATEWAY_HTTPS_PORT" in err and "Traceback" not in err
