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
    assert [k.hash for k in KeyStore(tmp_path / "k.json").load()] == [hash_key(key)]


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


def test_keys_grants_rotation_and_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_STACK_AUTH_KEYS_FILE", str(tmp_path / "k.json"))
    argv = ["keys", "create", "--name", "ci", "--scope", "read", "--project", "a", "--project", "b"]
    assert main([*argv, "--expires", "90d"]) == 0
    key = capsys.readouterr().out.strip()
    stored = KeyStore(tmp_path / "k.json").load()[0]
    assert (stored.scopes, stored.projects) == (("read",), ("a", "b"))
    assert stored.expires_at is not None
    assert main(["keys", "rotate", stored.id, "--grace", "1h"]) == 0
    rotated = capsys.readouterr().out.strip()
    assert rotated.startswith("aisk_") and rotated != key
    assert (
        main(["keys", "update", stored.id, "--scope", "read,write", "--every-project", "--limits", "5/10/2"])
        == 0
    )
    assert capsys.readouterr().out == ""  # no secret is printed by an update
    assert main(["keys", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == [
        "name",
        "id",
        "scopes",
        "projects",
        "created",
        "last used",
        "expires",
        "state",
    ]
    row = lines[1].split("\t")
    assert row[:4] == ["ci", stored.id, "read,write", "*"] and row[-1] == "active (old secret in grace)"
    assert key not in "\n".join(lines) and rotated not in "\n".join(lines)


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "create", "--name", "x", "--scope", "root"],
        ["keys", "create", "--name", "x", "--expires", "soon"],
        ["keys", "rotate", "nope", "--grace", "forever"],
    ],
)
def test_bad_key_arguments_fail_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    monkeypatch.setenv("AI_STACK_AUTH_KEYS_FILE", str(tmp_path / "k.json"))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses a bad --expires / --grace itself
        code = int(exc.code or 0)
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err
    assert KeyStore(tmp_path / "k.json").load() == []
