"""The files the stack's Podman secrets are created from, under the stack's data directory."""

from __future__ import annotations

import secrets
from pathlib import Path

from ai_stack.core.files import write_atomically
from ai_stack.deploy.settings import PodmanSettings

REDIS_PORT = 6379


def secret_files(home: Path, settings: PodmanSettings) -> dict[str, Path]:
    """Secret name -> file. The gateway secret and the TLS pair are the native stack's own files."""
    directory = home / "secrets"
    files = {
        "gateway-secret": directory / "gateway-secret",
        "postgres-password": directory / "postgres-password",
        "tls-cert": home / "tls" / "cert.pem",
        "tls-key": home / "tls" / "key.pem",
        "redis-url": directory / "podman-redis-url",
    }
    if settings.redis_address is None:
        files["redis-conf"] = directory / "podman-redis.conf"
    return files


def ensure_generated(files: dict[str, Path], settings: PodmanSettings) -> list[str]:
    """Creates the secrets a fresh stack generates itself (random, 0600) when missing; returns
    their names. Secrets of services outside the stack (an existing PostgreSQL's password, an
    existing Redis's URL) must be written by the operator: FileNotFoundError names the file."""
    created: list[str] = []

    def write(name: str, text: str) -> None:
        files[name].parent.mkdir(parents=True, exist_ok=True)
        write_atomically(files[name], text.encode(), mode=0o600)
        created.append(name)

    if not files["gateway-secret"].is_file():
        write("gateway-secret", secrets.token_hex(32) + "\n")
    if not files["postgres-password"].is_file():
        if settings.postgres_address is not None:
            raise FileNotFoundError(
                f"{files['postgres-password']}: the password of ai_stack at {settings.postgres_address}"
            )
        write("postgres-password", secrets.token_hex(24) + "\n")
    if settings.redis_address is None:
        if not (files["redis-conf"].is_file() and files["redis-url"].is_file()):
            password = secrets.token_hex(24)
            write("redis-conf", f"requirepass {password}\nappendonly yes\n")
            write("redis-url", f"redis://:{password}@redis:{REDIS_PORT}/0\n")
    elif not files["redis-url"].is_file():
        raise FileNotFoundError(
            f"{files['redis-url']}: the URL (with password) of the Redis at {settings.redis_address}"
        )
    for name in ("tls-cert", "tls-key"):
        if not files[name].is_file():
            raise FileNotFoundError(
                f"{files[name]}: the gateway's certificate and key (the startup script makes them)"
            )
    return created
