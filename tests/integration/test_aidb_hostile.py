"""What a hostile or careless key holder sends must not hurt anyone else: every bad request gets
its 4xx, and no dependency breaker opens because of it (real PostgreSQL, both embedded engines)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from ai_stack.aidb.app import create_app
from ai_stack.aidb.keys import POOL_KEY, VECTORS_BREAKER_KEY
from ai_stack.core.breaker import BreakerState
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from tests.harness.databases import fresh_database
from tests.harness.processes import PostgresServer, RedisServer
from tests.integration.test_aidb_documents import doc, private_settings

# More than the breaker's threshold (5): each hostile request is sent this often.
REPEATS = 6


@pytest.fixture(params=["edge", "local"])
async def hostile(
    request: pytest.FixtureRequest,
    aiohttp_client: Any,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path: Path,
) -> AsyncIterator[TestClient]:
    """aidb with embeddings down (nothing listens on its URL) and a fast indexer."""
    settings = private_settings(
        postgres_server,
        redis_server,
        tmp_path,
        await fresh_database(postgres_server),
        embedded_engine=request.param,
        indexer_idle_s=0.05,
        indexer_max_backoff_s=0.5,
        results_cache_ttl_s=0,
    )
    yield await aiohttp_client(create_app(settings, registry=CollectorRegistry()))


def breakers_closed(client: TestClient) -> bool:
    app = client.app
    return (
        app[POOL_KEY].breaker.state is BreakerState.CLOSED
        and app[VECTORS_BREAKER_KEY].state is BreakerState.CLOSED
    )


async def expect(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    body = dict(await response.json())
    assert response.status == status, body
    if status >= 400:
        assert set(body["error"]) >= {"code", "message", "request_id"}, body
        if code is not None:
            assert body["error"]["code"] == code, body
    return body


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


HOSTILE_FILTERS: list[dict[str, Any]] = [
    *({f"a{c}b": "x"} for c in (" ", "$", ":", '"', "*", "\\", "\t", "😀")),
    {"n": 2**63},
    {"n": {"in": [1, 2**63]}},
    {"d": {"gte": "2024-W01-1"}},
    {"d": {"gte": "20240101"}},
    {"d": {"lt": "2024-01-01T12"}},
    {"d": {"lt": "2024-02-30"}},
]


async def test_hostile_search_filters_are_422_and_open_no_breaker(hostile: TestClient) -> None:
    for filters in HOSTILE_FILTERS:
        for _ in range(REPEATS):
            body = {"query": "anything", "mode": "keyword", "filters": filters}
            await expect(await hostile.post("/search", json=body), 422, "validation_error")
    assert breakers_closed(hostile)
    assert (await hostile.post("/search", json={"query": "anything", "mode": "keyword"})).status == 200


async def test_good_filter_forms_still_reach_the_engine(hostile: TestClient) -> None:
    filters = {
        "größe": "x",
        "a-b_c.d": 1,
        "tags[]": "t",
        "n": {"in": [2**63 - 1, -(2**63)]},
        "d": {"gte": "2024-01-01", "lt": "2024-01-01T12:00:00.123456789Z"},
    }
    body = {"query": "anything", "mode": "keyword", "filters": filters}
    assert (await expect(await hostile.post("/search", json=body), 200))["results"] == []


async def test_hostile_writes_and_reads_are_4xx_and_open_no_breaker(hostile: TestClient) -> None:
    stamp = "9999-12-31T23:59:59-14:00"  # year 10000 once in UTC
    out_of_range = base64.urlsafe_b64encode(orjson.dumps([stamp, "0" * 32])).decode()
    naive = base64.urlsafe_b64encode(orjson.dumps(["2024-01-01T00:00:00", "0" * 32])).decode()
    cases: list[tuple[str, str, Any, int]] = [
        ("GET", "/documents?cursor=bad", None, 400),
        ("GET", f"/documents?cursor={out_of_range}", None, 400),
        ("GET", f"/documents?cursor={naive}", None, 400),
        ("GET", "/documents?project=a%00b", None, 422),
        ("POST", "/documents", doc("p.md", project="a\x00b"), 422),
        ("POST", "/documents", doc("t.md", title="a\x00b"), 422),
        ("POST", "/documents", doc("m.md", metadata={"k": "a\x00b"}), 422),
        ("POST", "/documents", doc("k.md", metadata={"a\x00b": 1}), 422),
        ("POST", "/documents", doc("i.md", metadata={"k": 2**63}), 422),
        ("POST", "/documents", doc("deep.md", metadata=nested(300)), 422),
        ("POST", "/documents", doc("漢" * 1500), 422),
        ("POST", "/documents", doc("x.md", project="漢" * 100), 422),
        ("POST", "/documents/delete", {"collection": "documents", "metadata": {"k": "a\x00"}}, 422),
        ("POST", "/documents/delete", {"collection": "documents", "metadata": nested(300)}, 422),
    ]
    for method, path, body, status in cases:
        for _ in range(REPEATS):
            response = await hostile.request(method, path, json=body)
            assert response.status == status, (method, path, body if len(str(body)) < 200 else "…")
            await expect(response, status)
    bulk = {"documents": [doc(f"b{i}.md", collection="nowhere") for i in range(5)]}
    for _ in range(REPEATS):
        items = (await expect(await hostile.post("/documents/bulk", json=bulk), 200))["items"]
        assert [i["error"]["code"] for i in items] == ["unknown_collection"] * 5
    assert breakers_closed(hostile)
    await expect(await hostile.post("/documents", json=doc("fine.md")), 202)


async def test_a_delete_with_an_empty_filter_deletes_nothing(hostile: TestClient) -> None:
    await expect(await hostile.post("/documents", json=doc("keep.md", collection="docs")), 202)
    for spec in ({"metadata": {}}, {}):
        body = {"collection": "docs", **spec}
        await expect(await hostile.post("/documents/delete", json=body), 422, "validation_error")
    listing = await expect(await hostile.get("/documents?collection=docs"), 200)
    assert [d["path"] for d in listing["documents"]] == ["keep.md"]


async def test_metadata_is_bounded_and_kept_whole_in_postgres(hostile: TestClient) -> None:
    await expect(await hostile.post("/documents", json=doc("d.md", metadata=nested(9))), 422)
    big = {"notes": "n" * 16_400}
    await expect(await hostile.post("/documents", json=doc("b.md", metadata=big)), 413, "payload_too_large")
    long_value = {"summary": "s" * 5000, "lang": "en", "tags": ["a", "b"]}
    created = await expect(await hostile.post("/documents", json=doc("ok.md", metadata=long_value)), 202)
    stored = await expect(await hostile.get(f"/documents/{created['id']}"), 200)
    assert stored["metadata"] == long_value


async def test_new_content_is_keyword_searchable_while_embeddings_are_down(hostile: TestClient) -> None:
    long_value = {"summary": "s" * 5000, "lang": "en"}
    body = doc("quokka.md", "# Quokka\n\nThe quokka is a small marsupial.", metadata=long_value)
    await expect(await hostile.post("/documents", json=body), 202)
    query = {"query": "quokka marsupial", "mode": "keyword", "filters": {"lang": "en"}}
    for _ in range(100):
        found = await expect(await hostile.post("/search", json=query), 200)
        if found["results"]:
            break
        await asyncio.sleep(0.1)
    assert [r["path"] for r in found["results"]] == ["quokka.md"]
    # The index keeps only the filterable part; the result shows the document's own metadata.
    assert found["results"][0]["metadata"] == long_value
    degraded = await expect(await hostile.post("/search", json={**query, "mode": "hybrid"}), 200)
    assert degraded["degraded"] is True and degraded["mode"] == "keyword"
    assert [r["path"] for r in degraded["results"]] == ["quokka.md"]
    status = await expect(await hostile.get("/index/status"), 200)
    assert status["outbox"]["pending"] == 1  # still owed its dense vectors


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this test's own, which the test stops and starts."""
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


async def test_postgres_down_is_503_with_retry_after_and_recovers(
    aiohttp_client: Any, private_postgres: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    settings = private_settings(
        private_postgres,
        redis_server,
        tmp_path,
        await fresh_database(private_postgres),
        breaker_reset_s=0.5,
        results_cache_ttl_s=0,
    )
    client = await aiohttp_client(create_app(settings, registry=CollectorRegistry()))
    await expect(await client.post("/documents", json=doc("before.md", "# Title\n\nA wombat.")), 202)
    query = {"query": "wombat", "mode": "keyword"}
    for _ in range(100):  # indexed keyword-first (embeddings are down in this test)
        if (await expect(await client.post("/search", json=query), 200))["results"]:
            break
        await asyncio.sleep(0.1)
    private_postgres.stop()
    # Search needs only the index; the page's metadata then comes from it, and the answer says so.
    during = await expect(await client.post("/search", json=query), 200)
    assert [r["path"] for r in during["results"]] == ["before.md"]
    assert during["degraded"] is True and "postgres is unavailable" in during["reason"]
    for _ in range(REPEATS):
        for method, path, body in (
            ("POST", "/documents", doc("during.md")),
            ("GET", "/documents", None),
            ("POST", "/documents/bulk", {"documents": [doc("bulk.md")]}),
        ):
            response = await client.request(method, path, json=body)
            await expect(response, 503)
            assert int(response.headers["Retry-After"]) >= 1
    private_postgres.start()
    for _ in range(100):
        response = await client.post("/documents", json=doc("after.md"))
        if response.status == 202:
            break
        await asyncio.sleep(0.1)
    assert response.status == 202
