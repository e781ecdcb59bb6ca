"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ai_stack.embeddings.model import Encoder, load_encoder
from ai_stack.text.model_files import DEFAULT_MODEL, resolve_model_path

from tests.harness.processes import PostgresServer, RedisServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test by its directory, so `-m unit` and `-m integration` select layers."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for layer in ("unit", "integration", "e2e"):
            if layer in parts:
                item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The real all-MiniLM-L6-v2, loaded once per session, as the service loads it."""
    return load_encoder(DEFAULT_MODEL, "cpu", 0, 32)


@pytest.fixture(scope="session")
def reference_model() -> Any:
    """sentence-transformers' own SentenceTransformer of the same model: the reference the
    service's vectors are checked against."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model_path(DEFAULT_MODEL), device="cpu")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server shared by the session."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL cluster shared by the session."""
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()
