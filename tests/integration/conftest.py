"""A whole gateway stack of real processes: Redis, the key verifier, embeddings, nginx."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ai_stack.auth.keystore import KeyStore

from tests.harness.gateway import gateway_nginx
from tests.harness.processes import NginxServer, RedisServer, ServiceProcess, free_port, world_writable_dir
from tests.harness.tls import make_self_signed


@dataclass
class GatewayStack:
    """Addresses and credentials of the running test stack."""

    https_url: str
    http_url: str
    cafile: Path
    key: str
    key_store: KeyStore
    embeddings: ServiceProcess
    https_port: int


@pytest.fixture(scope="session")
def gateway_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Iterator[GatewayStack]:
    home = tmp_path_factory.mktemp("stack-home")
    shared = world_writable_dir("ai-stack-nginx-")
    cert, key_file = make_self_signed(shared)
    store = KeyStore(home / "api-keys.json")
    key, _ = store.create("integration-tests")
    auth_port, embeddings_port, https_port, http_port = (free_port() for _ in range(4))
    auth = ServiceProcess(
        "auth",
        auth_port,
        {
            "AI_STACK_AUTH_PORT": str(auth_port),
            "AI_STACK_AUTH_KEYS_FILE": str(store.path),
            "AI_STACK_AUTH_RELOAD_INTERVAL_S": "0.2",
        },
        home / "auth.log",
    )
    embeddings = ServiceProcess(
        "embeddings",
        embeddings_port,
        {
            "AI_STACK_EMBEDDINGS_PORT": str(embeddings_port),
            "AI_STACK_EMBEDDINGS_REDIS_URL": redis_server.url,
        },
        home / "embeddings.log",
    )
    nginx = gateway_nginx(
        shared,
        cert,
        key_file,
        https_port=https_port,
        http_port=http_port,
        auth_port=auth_port,
        embeddings_port=embeddings_port,
    )
    started: list[ServiceProcess | NginxServer] = []
    try:
        for process in (auth, embeddings):
            process.start()
            started.append(process)
        nginx.start(https_port)
        started.append(nginx)
        yield GatewayStack(
            https_url=f"https://127.0.0.1:{https_port}",
            http_url=f"http://127.0.0.1:{http_port}",
            cafile=cert,
            key=key,
            key_store=store,
            embeddings=embeddings,
            https_port=https_port,
        )
    finally:
        for process in reversed(started):
            process.stop()
