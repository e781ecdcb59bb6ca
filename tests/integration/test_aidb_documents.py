"""aidb's document API against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import random
import string
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from ai_stack.aidb.app import create_app
from ai_stack.aidb.keys import AIDB_SETTINGS_KEY
from ai_stack.aidb.settings import AidbSettings
from ai_stack.core.migrations import discover, migrate
from ai_stack.embeddings.settings import EmbeddingsSettings
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from tests.harness.databases import fresh_database
from tests.harness.processes import PostgresServer, RedisServer, free_port, port_open


def private_settings(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path, database: str, **extra: Any
) -> AidbSettings:
    """aidb settings that touch only this test's processes and files: its own database and data
    directory, the session's Redis, and an embeddings URL where nothing listens (embeddings down)."""
    values: dict[str, Any] = {
        "postgres_port": postgres_server.port,
        "postgres_user": "postgres",
        "postgres_db": database,
        "data_dir": tmp_path / "aidb",
        "redis_url": redis_server.url,
        "embeddings_url": f"http://127.0.0.1:{free_port()}",
        "max_document_bytes": 10_000,
        "max_bulk_items": 5,
        "chunk_max_tokens": 64,
        "chunk_overlap_tokens": 8,
    }
    return AidbSettings(**(values | extra))


@pytest.fixture
async def client(
    aiohttp_client: Any, postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[TestClient]:
    database = await fresh_database(postgres_server)
    settings = private_settings(postgres_server, redis_server, tmp_path, database)
    yield await aiohttp_client(create_app(settings, registry=CollectorRegistry()))


async def test_the_fixture_touches_no_user_data_or_running_stack(
    client: TestClient, tmp_path: Path, redis_server: RedisServer
) -> None:
    settings = client.app[AIDB_SETTINGS_KEY]
    assert settings.data_dir.is_relative_to(tmp_path)
    assert (tmp_path / "aidb").is_dir()  # the index was opened here, not under the user's home
    assert settings.redis_url == redis_server.url
    embeddings_port = int(settings.embeddings_url.rsplit(":", 1)[1])
    assert embeddings_port != EmbeddingsSettings().port and not port_open(embeddings_port)


# A random base64 body of a 256-byte key, 64 characters a line, as in a real PEM file.
KEY_BODY = "\n".join(textwrap.wrap(base64.b64encode(random.Random(7).randbytes(256)).decode(), 64))

GITHUB_TOKEN_BODY = "".join(random.Random(8).choices(string.ascii_letters + string.digits, k=36))


def doc(path: str, content: str = "# Title\n\nSome text about PostgreSQL.", **extra: Any) -> dict[str, Any]:
    return {"collection": "documents", "project": "p1", "path": path, "content": content, **extra}


async def test_create_unchanged_update_delete(client: TestClient) -> None:
    created = await client.post("/documents", json=doc("a.md", title="A"))
    body = await created.json()
    assert created.status == 202
    assert body["outcome"] == "created" and body["version"] == 1 and body["indexing"] == "pending"
    assert body["chunks"] == 1

    same = await client.post("/documents", json=doc("a.md", title="A"))
    assert same.status == 200
    assert (await same.json())["outcome"] == "unchanged" and (await same.json())["chunks"] == 0

    changed = await client.post("/documents", json=doc("a.md", "# Title\n\nNew text.", title="A"))
    assert changed.status == 202
    changed_body = await changed.json()
    assert changed_body["outcome"] == "updated" and changed_body["version"] == 2
    assert changed_body["id"] == body["id"]

    fetched = await (await client.get(f"/documents/{body['id']}")).json()
    assert fetched["content"] == "# Title\n\nNew text."
    assert fetched["version"] == 2 and fetched["indexed"] is False

    assert (await client.delete(f"/documents/{body['id']}")).status == 200
    assert (await client.get(f"/documents/{body['id']}")).status == 404
    assert (await client.delete(f"/documents/{body['id']}")).status == 404
    status = await (await client.get("/index/status")).json()
    assert status["outbox"]["pending"] == 3  # index v1, index v2, delete


async def test_attribute_change_is_a_new_version(client: TestClient) -> None:
    await client.post("/documents", json=doc("m.md", metadata={"lang": "en"}))
    again = await (await client.post("/documents", json=doc("m.md", metadata={"lang": "de"}))).json()
    assert again["outcome"] == "updated"


async def test_bad_input_gets_the_right_4xx(client: TestClient) -> None:
    cases: list[tuple[Any, int, str]] = [
        (b"{oops", 400, "malformed_json"),
        ({"path": "x"}, 422, "validation_error"),
        (doc("x.md", content=123), 422, "validation_error"),
        (doc("x.md", collection="Bad Name"), 422, "validation_error"),
        (doc("x.md", collection="nope"), 404, "unknown_collection"),
        (doc("x.md", content="x" * 10_001), 413, "payload_too_large"),
        (doc("x.md", content="key: AKIAABCDEFGHIJKLMNOP"), 422, "content_rejected"),
        (doc("x.md", content=f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n"), 422, "content_rejected"),
        (doc("x.md", content="a\x00b"), 422, "validation_error"),
        (doc("x.md", status="maybe"), 422, "validation_error"),
    ]
    for payload, status, code in cases:
        kwargs = {"data": payload} if isinstance(payload, bytes) else {"json": payload}
        response = await client.post("/documents", **kwargs)
        body = await response.json()
        assert (response.status, body["error"]["code"]) == (status, code), payload
    assert (await client.get("/documents/not-a-uuid")).status == 404
    assert (await client.get(f"/documents/{uuid.uuid4()}")).status == 404
    assert (await client.get("/documents?cursor=garbage")).status == 400
    assert (await client.get("/documents?limit=0")).status == 422
    assert (await client.get("/documents?limit=ten")).status == 422
    secret = await (await client.post("/documents", json=doc("k.md", content="AKIAABCDEFGHIJKLMNOP"))).json()
    assert "AWS access key" in secret["error"]["message"]


async def test_bulk_answers_per_item(client: TestClient) -> None:
    response = await client.post(
        "/documents/bulk",
        json={
            "documents": [
                doc("b1.md"),
                doc("b2.md", content="ghp_" + GITHUB_TOKEN_BODY),
                doc("b3.md", collection="missing"),
                doc("b1.md"),
            ]
        },
    )
    body = await response.json()
    assert response.status == 200
    assert [item["status"] for item in body["items"]] == [202, 422, 404, 200]
    assert body["failed"] == 2 and body["succeeded"] == 2
    too_many = await client.post("/documents/bulk", json={"documents": [doc(f"x{i}.md") for i in range(6)]})
    assert too_many.status == 413


async def test_delete_by_path_project_and_metadata(client: TestClient) -> None:
    for i in range(4):
        await client.post("/documents", json=doc(f"d{i}.md", metadata={"team": "red" if i % 2 else "blue"}))
    await client.post("/documents", json={**doc("other.md"), "project": "p2"})
    by_meta = await (
        await client.post("/documents/delete", json={"collection": "documents", "metadata": {"team": "red"}})
    ).json()
    assert by_meta["deleted"] == 2
    by_path = await (
        await client.post("/documents/delete", json={"collection": "documents", "path": "d0.md"})
    ).json()
    assert by_path["deleted"] == 1
    by_project = await (
        await client.post("/documents/delete", json={"collection": "documents", "project": "p2"})
    ).json()
    assert by_project["deleted"] == 1
    refused = await client.post("/documents/delete", json={"collection": "documents"})
    assert refused.status == 422
    listing = await (await client.get("/documents?collection=documents")).json()
    assert [d["path"] for d in listing["documents"]] == ["d2.md"]


async def test_pagination_is_stable_under_concurrent_inserts(client: TestClient) -> None:
    for i in range(25):
        await client.post("/documents", json=doc(f"page{i:02}.md"))
    seen: list[str] = []
    cursor = None
    while True:
        url = "/documents?project=p1&limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(url)).json()
        seen += [d["path"] for d in page["documents"]]
        await client.post("/documents", json=doc(f"late{len(seen)}.md"))  # newer: must not shift pages
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"page{i:02}.md" for i in range(25)]
    assert len(seen) == len(set(seen))


async def test_collections(client: TestClient) -> None:
    listed = await (await client.get("/collections")).json()
    names = {c["name"] for c in listed["collections"]}
    assert {
        "documents",
        "codebase-context",
        "skills-patterns",
        "error-solutions",
        "best-practices",
        "interaction-history",
        "docs",
    } <= names
    assert (await client.post("/collections", json={"name": "runbooks"})).status == 201
    assert (await client.post("/collections", json={"name": "runbooks"})).status == 409
    assert (await client.post("/collections", json={"name": "Has Spaces"})).status == 422
    assert (await client.post("/documents", json=doc("r.md", collection="runbooks"))).status == 202


async def test_concurrent_replicas_migrate_once(postgres_server: PostgresServer) -> None:
    database = await fresh_database(postgres_server)
    dsn = f"postgresql://postgres@127.0.0.1:{postgres_server.port}/{database}"
    connections = [await asyncpg.connect(dsn) for _ in range(3)]
    try:
        migrations = discover("ai_stack.aidb.migrations")
        results = await asyncio.gather(*(migrate(c, migrations) for c in connections))
        assert sorted(len(r) for r in results) == [0, 0, len(migrations)]
        count = await connections[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(migrations)
    finally:
        for connection in connections:
            await connection.close()


async def test_chunk_count_migration_backfills_existing_documents(postgres_server: PostgresServer) -> None:
    # A database at schema version 1 with documents in it, as a running deployment has, then the
    # upgrade: each document gets its current version's chunk count (older versions' not counted).
    database = await fresh_database(postgres_server)
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{postgres_server.port}/{database}")
    try:
        migrations = discover("ai_stack.aidb.migrations")
        await migrate(connection, migrations[:1])
        ids = [uuid.uuid4(), uuid.uuid4()]
        for document_id, path, version in ((ids[0], "a.md", 2), (ids[1], "b.md", 1)):
            await connection.execute(
                "INSERT INTO documents (id, collection, project, path, content_type, content, status,"
                " sha256, version) VALUES ($1, 'docs', 'p', $2, 'text/markdown', 'x', 'approved', 'h', $3)",
                document_id,
                path,
                version,
            )
        chunks = [(ids[0], 1, 0), (ids[0], 2, 0), (ids[0], 2, 1), (ids[0], 2, 2), (ids[1], 1, 0)]
        await connection.executemany(
            "INSERT INTO chunks (id, document_id, document_version, position, text, token_count)"
            " VALUES (gen_random_uuid(), $1, $2, $3, 't', 1)",
            chunks,
        )
        assert await migrate(connection, migrations) == [m.version for m in migrations[1:]]
        counts = dict(await connection.fetch("SELECT path, chunk_count FROM documents"))
        assert counts == {"a.md": 3, "b.md": 1}
    finally:
        await connection.close()


async def test_a_keys_write_quota_and_project_grant(
    aiohttp_client: Any, postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    database = await fresh_database(postgres_server)
    settings = private_settings(
        postgres_server, redis_server, tmp_path, database, key_write_bytes_per_minute=2048
    )
    client = await aiohttp_client(create_app(settings, registry=CollectorRegistry()))
    key = {"X-AI-Key-Id": "writer", "X-AI-Scopes": "read,write", "X-AI-Projects": "p"}
    body = doc("a.md", "x" * 1500, project="p")
    assert (await client.post("/documents", json=body, headers=key)).status in (200, 202)
    refused = await client.post("/documents", json=doc("b.md", "y" * 1500, project="p"), headers=key)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    elsewhere = await client.post("/documents", json=doc("c.md", "z", project="q"), headers=key)
    assert elsewhere.status == 403 and (await elsewhere.json())["error"]["code"] == "project_forbidden"
    bulk = {"documents": [doc("d.md", "w" * 100, project="p"), doc("e.md", "v" * 1900, project="p")]}
    answer = await (await client.post("/documents/bulk", json=bulk, headers=key)).json()
    assert answer["items"][0]["status"] in (200, 202)  # fits what is left of the quota
    assert answer["items"][1]["status"] == 429 and answer["items"][1]["error"]["code"] == "rate_limited"
    # the stack itself (no identity) is never charged
    assert (await client.post("/documents", json=doc("f.md", "u" * 1500, project="q"))).status in (200, 202)


async def test_a_keys_indexing_backlog_is_bounded(
    aiohttp_client: Any, postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    database = await fresh_database(postgres_server)
    # The indexer polls once an hour here: what is written stays queued.
    settings = private_settings(
        postgres_server, redis_server, tmp_path, database, key_outbox_backlog=2, indexer_idle_s=3600
    )
    client = await aiohttp_client(create_app(settings, registry=CollectorRegistry()))
    await asyncio.sleep(0.5)  # the indexer's first (empty) poll is behind it
    key = {"X-AI-Key-Id": "loader", "X-AI-Scopes": "read,write", "X-AI-Projects": "*"}
    for name in ("a.md", "b.md"):
        assert (await client.post("/documents", json=doc(name, f"text of {name}"), headers=key)).status == 202
    refused = await client.post("/documents", json=doc("c.md", "one too many"), headers=key)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "waiting to be indexed" in (await refused.json())["error"]["message"]
    bulk = {"documents": [doc("d.md", "d")]}
    assert (await client.post("/documents/bulk", json=bulk, headers=key)).status == 429
    other = {**key, "X-AI-Key-Id": "someone-else"}
    assert (await client.post("/documents", json=doc("e.md", "e"), headers=other)).status == 202
    assert (await client.post("/documents", json=doc("f.md", "f"))).status == 202  # the stack itself
