"""aidb checks that the embeddings service serves the model it was configured for: at start it
refuses to run beside another model; when embeddings start later, a mismatch shows in readiness."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_stack.aidb.app import create_app
from ai_stack.aidb.settings import AidbSettings
from ai_stack.core.errors import StartupError
from ai_stack.embeddings.app import create_app as create_embeddings_app
from ai_stack.embeddings.keys import MODEL_STATE_KEY
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.settings import EmbeddingsSettings
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from tests.harness.databases import fresh_database
from tests.harness.processes import PostgresServer, RedisServer, free_port
from tests.integration.test_aidb_documents import private_settings


class SmallerModel:
    """The real model serving only its first 8 dimensions: a model of another size."""

    def __init__(self, encoder: Encoder) -> None:
        self.name, self.max_seq_length = encoder.name, encoder.max_seq_length
        self.dimension = 8
        self.count_tokens = encoder.count_tokens
        self._encoder = encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode(texts)[:, :8]


async def settings_beside(
    port: int, postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path, **extra: Any
) -> AidbSettings:
    """aidb settings of this test, with embeddings expected on `port`."""
    database = await fresh_database(postgres_server)
    url = f"http://127.0.0.1:{port}"
    return private_settings(postgres_server, redis_server, tmp_path, database, embeddings_url=url, **extra)


def embeddings_server(port: int, encoder: Any, redis_server: RedisServer) -> TestServer:
    app = create_embeddings_app(
        EmbeddingsSettings(redis_url=redis_server.url), load=lambda: encoder, registry=CollectorRegistry()
    )
    return TestServer(app, port=port)


async def test_aidb_refuses_to_start_beside_another_model(
    aiohttp_client: Any,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    encoder: Encoder,
    tmp_path: Path,
) -> None:
    port = free_port()
    embeddings = embeddings_server(port, SmallerModel(encoder), redis_server)
    await embeddings.start_server()
    try:
        settings = await settings_beside(port, postgres_server, redis_server, tmp_path)
        for _ in range(100):  # the model loads in the background; until then /info is 503
            if embeddings.app[MODEL_STATE_KEY].service is not None:
                break
            await asyncio.sleep(0.05)
        with pytest.raises(StartupError, match="8-d vectors, but aidb's index is 384-d"):
            await aiohttp_client(create_app(settings, registry=CollectorRegistry()))
    finally:
        await embeddings.close()


async def test_a_mismatch_found_later_makes_aidb_not_ready(
    aiohttp_client: Any,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    encoder: Encoder,
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = await settings_beside(
        port, postgres_server, redis_server, tmp_path, model_check_interval_s=0.1, breaker_reset_s=0.1
    )
    client = await aiohttp_client(create_app(settings, registry=CollectorRegistry()))
    ready = await (await client.get("/health/ready")).json()
    assert ready["dependencies"]["embedding_model"]["state"] == "up"  # unknown yet: embeddings are down
    embeddings = embeddings_server(port, SmallerModel(encoder), redis_server)
    await embeddings.start_server()
    try:
        for _ in range(100):
            response = await client.get("/health/ready")
            model = (await response.json())["dependencies"]["embedding_model"]
            if model["state"] == "down":
                break
            await asyncio.sleep(0.1)
        assert response.status == 503
        assert "8-d vectors" in model["reason"]
    finally:
        await embeddings.close()
