"""The typed clients against a real aidb (PostgreSQL, both its dependencies' breakers): each call
returns aidb's own models, and each refusal its typed error."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from ai_stack.aidb.app import create_app
from ai_stack.aidb.schemas import (
    BulkIn,
    CollectionIn,
    DeleteFilter,
    DocumentIn,
    ListQuery,
    SearchIn,
)
from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.embeddings import EmbeddingsClient
from ai_stack.clients.errors import Conflict, InvalidRequest, NotFound
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.core.http_client import ServiceClient, is_service_outage
from ai_stack.embeddings.app import create_app as create_embeddings
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.settings import EmbeddingsSettings
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from tests.harness.databases import fresh_database
from tests.harness.processes import PostgresServer, RedisServer, free_port
from tests.integration.test_aidb_documents import private_settings


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def service_client(name: str, url: str, session: aiohttp.ClientSession) -> ServiceClient:
    breaker = CircuitBreaker(name, failure_threshold=2, call_timeout_s=5, counts_as_failure=is_service_outage)
    return ServiceClient(name, url, session, breaker)


@pytest.fixture
async def aidb(
    http: aiohttp.ClientSession, postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[AidbClient]:
    settings = private_settings(
        postgres_server, redis_server, tmp_path, await fresh_database(postgres_server)
    )
    server = TestServer(create_app(settings, registry=CollectorRegistry()))
    await server.start_server()
    yield AidbClient(service_client("aidb", str(server.make_url("")), http))
    await server.close()


async def test_every_call_returns_aidbs_models(aidb: AidbClient) -> None:
    created = await aidb.upsert(
        DocumentIn(collection="docs", project="p", path="a.md", content="# A\n\nalpaca")
    )
    assert created.outcome == "created" and created.indexing == "pending"
    fetched = await aidb.get(created.id)
    assert fetched.content == "# A\n\nalpaca" and fetched.version == 1
    bulk = await aidb.bulk_upsert(
        BulkIn(
            documents=[
                DocumentIn(collection="docs", project="p", path=f"b{i}.md", content="b") for i in range(3)
            ]
        )
    )
    assert bulk.succeeded == 3 and [item.outcome for item in bulk.items] == ["created"] * 3
    page = await aidb.list(ListQuery(collection="docs", limit=2))
    assert len(page.documents) == 2 and page.next_cursor is not None
    rest = await aidb.list(ListQuery(collection="docs", limit=2, cursor=page.next_cursor))
    assert {d.path for d in page.documents + rest.documents} == {"a.md", "b0.md", "b1.md", "b2.md"}
    found = await aidb.search(SearchIn(query="alpaca", mode="keyword"))
    assert found.mode == "keyword"  # indexing may still be pending: the shape is what is checked here
    assert (await aidb.create_collection(CollectionIn(name="notes"))).name == "notes"
    assert "notes" in {c.name for c in (await aidb.collections()).collections}
    status = await aidb.index_status()
    assert status.collections["docs"].documents == 4
    assert (await aidb.delete_where(DeleteFilter(collection="docs", path="b0.md"))).deleted == 1
    assert (await aidb.delete(created.id)).deleted == 1
    assert (await aidb.reindex()).indexing == "pending"


async def test_refusals_raise_typed_errors(aidb: AidbClient) -> None:
    with pytest.raises(NotFound) as missing:
        await aidb.get(uuid.uuid4())
    assert missing.value.status == 404 and missing.value.code == "not_found" and missing.value.request_id
    with pytest.raises(NotFound, match="unknown_collection"):
        await aidb.upsert(DocumentIn(collection="nowhere", path="a.md", content="x"))
    await aidb.create_collection(CollectionIn(name="twice"))
    with pytest.raises(Conflict):
        await aidb.create_collection(CollectionIn(name="twice"))
    with pytest.raises(InvalidRequest, match="bad_cursor"):
        await aidb.list(ListQuery(cursor="not-a-cursor"))
    with pytest.raises(InvalidRequest, match="content_rejected"):
        await aidb.upsert(DocumentIn(path="k.md", content="AKIA2E0A8F3B244C9986"))


async def test_an_absent_service_is_unavailable(http: aiohttp.ClientSession) -> None:
    client = EmbeddingsClient(service_client("embeddings", f"http://127.0.0.1:{free_port()}", http))
    with pytest.raises(ServiceUnavailableError):
        await client.info()
    with pytest.raises(ServiceUnavailableError):
        await client.embed(["x"])


async def test_the_embeddings_client_speaks_the_real_service(
    http: aiohttp.ClientSession, redis_server: RedisServer, encoder: Encoder
) -> None:
    app = create_embeddings(
        EmbeddingsSettings(redis_url=redis_server.url), load=lambda: encoder, registry=CollectorRegistry()
    )
    server = TestServer(app)
    await server.start_server()
    try:
        client = EmbeddingsClient(service_client("embeddings", str(server.make_url("")), http))
        for _ in range(100):
            try:
                info = await client.info()
                break
            except ServiceUnavailableError:  # the model is loading
                await asyncio.sleep(0.05)
        assert info.dimension == 384 and info.tokenizer_sha256
        vectors = await client.embed(["hello", "world"], priority="bulk")
        assert len(vectors) == 2 and all(len(v) == 384 for v in vectors)
        with pytest.raises(InvalidRequest):
            await client.embed([])
    finally:
        await server.close()
