"""The files the Podman secrets come from."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_stack.deploy.secrets import ensure_generated, secret_files
from ai_stack.deploy.settings import PodmanSettings


def tls(home: Path) -> None:
    (home / "tls").mkdir(parents=True)
    (home / "tls/cert.pem").write_text("cert")
    (home / "tls/key.pem").write_text("key")


def test_a_fresh_stack_generates_its_own_secrets_once(tmp_path: Path) -> None:
    tls(tmp_path)
    settings = PodmanSettings()
    files = secret_files(tmp_path, settings)
    assert set(ensure_generated(files, settings)) == {
        "gateway-secret",
        "postgres-password",
        "redis-conf",
        "redis-url",
    }
    password = files["redis-conf"].read_text().split()[1]
    assert files["redis-url"].read_text() == f"redis://:{password}@redis:6379/0\n"
    assert all(
        files[n].stat().st_mode & 0o777 == 0o600 for n in ("gateway-secret", "redis-conf", "redis-url")
    )
    before = files["postgres-password"].read_text()
    assert ensure_generated(files, settings) == []
    assert files["postgres-password"].read_text() == before


def test_an_existing_postgres_needs_its_password_from_the_operator(tmp_path: Path) -> None:
    tls(tmp_path)
    settings = PodmanSettings(postgres_address="db.example:5432")
    with pytest.raises(FileNotFoundError, match=r"password of ai_stack at db\.example:5432"):
        ensure_generated(secret_files(tmp_path, settings), settings)


def test_an_existing_redis_needs_its_url_from_the_operator(tmp_path: Path) -> None:
    tls(tmp_path)
    settings = PodmanSettings(redis_address="cache.example:6379")
    files = secret_files(tmp_path, settings)
    assert "redis-conf" not in files
    with pytest.raises(FileNotFoundError, match=r"URL .* of the Redis at cache\.example:6379"):
        ensure_generated(files, settings)


def test_no_certificate_is_named(tmp_path: Path) -> None:
    settings = PodmanSettings()
    with pytest.raises(FileNotFoundError, match="certificate and key"):
        ensure_generated(secret_files(tmp_path, settings), settings)
