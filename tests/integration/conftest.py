"""A whole gateway stack of real processes: Redis, PostgreSQL, every service of the registry and
nginx, every one on its own free port and data directory."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ai_stack.auth.keystore import KeyStore, StoredKey
from ai_stack.core.limits import KeyLimits
from ai_stack.registry import SERVICES, proxied

from tests.harness.databases import fresh_database
from tests.harness.gateway import gateway_nginx
from tests.harness.otlp import BackgroundOtlpReceiver
from tests.harness.processes import (
    NginxServer,
    PostgresServer,
    RedisServer,
    ServiceProcess,
    free_port,
    world_writable_dir,
)
from tests.harness.tls import make_self_signed


class RecordingKeyStore(KeyStore):
    """The stack's key file, remembering every key it issued, so that the session can check at
    its end that none of them reached a log."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.issued: list[str] = []

    def create(self, name: str, **grants: Any) -> tuple[str, StoredKey]:
        key, stored = super().create(name, **grants)
        self.issued.append(key)
        return key, stored

    def rotate(self, key_id: str, grace: dt.timedelta) -> tuple[str, StoredKey]:
        key, stored = super().rotate(key_id, grace)
        self.issued.append(key)
        return key, stored


def secrets_in_logs(directories: list[Path], known: list[str]) -> list[str]:
    """`file: secret prefix` for each known secret found in a log file under `directories`."""
    found = []
    for directory in directories:
        for log in directory.rglob("*.log"):
            text = log.read_text(errors="replace")
            found += [f"{log}: {secret[:10]}…" for secret in known if secret in text]
    return found


@dataclass
class GatewayStack:
    """Addresses and credentials of the running test stack."""

    https_url: str
    http_url: str
    cafile: Path
    key: str
    key_store: RecordingKeyStore
    services: dict[str, ServiceProcess]
    https_port: int
    home: Path  # docs sources the tests add through the API must lie in home / "docs-sources"
    gateway_secret: str  # what nginx sends every service; a direct call without it is refused
    nginx_log_dir: Path
    traces: BackgroundOtlpReceiver  # where every service exports its spans (as to Jaeger)

    @property
    def secret_headers(self) -> dict[str, str]:
        """For a test that calls a service directly, as the stack's own components do."""
        return {"X-AI-Gateway-Secret": self.gateway_secret}

    @property
    def embeddings(self) -> ServiceProcess:
        return self.services["embeddings"]


@pytest.fixture(scope="session")
def gateway_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[GatewayStack]:
    home = tmp_path_factory.mktemp("stack-home")
    (home / "docs-sources").mkdir()
    shared = world_writable_dir("ai-stack-nginx-")
    cert, key_file = make_self_signed(shared)
    store = RecordingKeyStore(home / "api-keys.json")
    # The suite's own key hammers the services: its own limits keep them out of the way (the
    # limits themselves are tested with keys of their own).
    key, _ = store.create("integration-tests", limits=KeyLimits(10_000, 10_000, 1_000))
    gateway_secret = secrets.token_hex(24)
    ports = {s.name: free_port() for s in SERVICES}
    https_port, http_port = free_port(), free_port()
    traces = BackgroundOtlpReceiver()
    traces.start()
    tracing = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": traces.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within 0.2 s, not the default 5 s
    }
    environments = {
        "auth": {
            "AI_STACK_AUTH_KEYS_FILE": str(store.path),
            "AI_STACK_AUTH_RELOAD_INTERVAL_S": "0.2",
        },
        "embeddings": {"AI_STACK_EMBEDDINGS_REDIS_URL": redis_server.url},
        "aidb": {
            "AI_STACK_AIDB_POSTGRES_PORT": str(postgres_server.port),
            "AI_STACK_AIDB_POSTGRES_USER": "postgres",
            "AI_STACK_AIDB_POSTGRES_DB": asyncio.run(fresh_database(postgres_server)),
            "AI_STACK_AIDB_REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/2",
            "AI_STACK_AIDB_EMBEDDINGS_URL": f"http://127.0.0.1:{ports['embeddings']}",
            "AI_STACK_AIDB_DATA_DIR": str(home / "aidb"),
        },
        "hybrid": {
            "AI_STACK_HYBRID_AIDB_URL": f"http://127.0.0.1:{ports['aidb']}",
            "AI_STACK_HYBRID_REDIS_URL": redis_server.url,
        },
        "docs-search": {
            "AI_STACK_DOCS_AIDB_URL": f"http://127.0.0.1:{ports['aidb']}",
            # Its own Redis database: tests that flush docs state touch nothing else.
            "AI_STACK_DOCS_REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/3",
            "AI_STACK_DOCS_SOURCE_ROOTS": f'["{home / "docs-sources"}", "/usr/share/doc", "/usr/share/man"]',
        },
        "mcp": {
            "AI_STACK_MCP_AIDB_URL": f"http://127.0.0.1:{ports['aidb']}",
            "AI_STACK_MCP_EMBEDDINGS_URL": f"http://127.0.0.1:{ports['embeddings']}",
            "AI_STACK_MCP_HYBRID_URL": f"http://127.0.0.1:{ports['hybrid']}",
            "AI_STACK_MCP_DOCS_URL": f"http://127.0.0.1:{ports['docs-search']}",
        },
    }
    services = {
        s.name: ServiceProcess(
            s.module.removeprefix("ai_stack."),
            ports[s.name],
            {
                s.port_variable: str(ports[s.name]),
                "AI_STACK_GATEWAY_SECRET": gateway_secret,
                **tracing,
                **environments[s.name],
            },
            home / f"{s.name}.log",
        )
        for s in SERVICES
    }
    nginx = gateway_nginx(
        shared,
        cert,
        key_file,
        https_port=https_port,
        http_port=http_port,
        auth_port=ports["auth"],
        ports={s.name: ports[s.name] for s in proxied()},
        gateway_secret=gateway_secret,
    )
    started: list[ServiceProcess | NginxServer] = []
    try:
        for process in services.values():
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
            services=services,
            https_port=https_port,
            home=home,
            gateway_secret=gateway_secret,
            nginx_log_dir=shared,
            traces=traces,
        )
    finally:
        for process in reversed(started):
            process.stop()
        traces.stop()
    # Every key the session issued and the gateway secret: none may be in any log.
    leaked = secrets_in_logs([home, shared], [*store.issued, gateway_secret])
    assert not leaked, f"secrets written to logs: {leaked}"
