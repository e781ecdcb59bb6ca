"""A Qdrant cluster's layout reaches the server when aidb creates its collection.

No Qdrant server runs here, so the real qdrant-client talks to a small HTTP stand-in that answers
the REST calls `ensure` and a query make and records what it was sent.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from ai_stack.aidb.settings import AidbSettings
from ai_stack.aidb.vectors.base import SearchFilter
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.factory import create_vector_store
from ai_stack.aidb.vectors.layout import ClusterLayout
from aiohttp import web
from aiohttp.test_utils import TestServer


def qdrant_stand_in(received: list[tuple[str, str, Any, str | None]]) -> web.Application:
    async def record(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        received.append((request.method, request.path, body, request.headers.get("api-key")))
        if request.path == "/":
            return web.json_response({"title": "qdrant", "version": "1.20.0"})
        if request.path.endswith("/exists"):
            result: Any = {"exists": False}
        elif request.path.endswith("/points/query/batch"):
            result = [{"points": []} for _ in body["searches"]]
        elif request.path.endswith("/index"):
            result = {"operation_id": 1, "status": "completed"}
        else:
            result = True
        return web.json_response({"result": result, "status": "ok", "time": 0})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    return app


Received = list[tuple[str, str, Any, str | None]]


async def talk_to_stand_in(tmp_path: Path, **options: Any) -> Received:
    """What a server store made with `options` sends: creating its collection, one dense query."""
    received: Received = []
    async with TestServer(qdrant_stand_in(received)) as server:
        url = str(server.make_url("")).rstrip("/")
        if options.get("api_key"):
            # qdrant-client warns about a key sent over plain HTTP: a real cluster should use https.
            with pytest.warns(UserWarning, match="insecure connection"):
                store = create_vector_store(url, tmp_path, 5.0, **options)
        else:
            store = create_vector_store(url, tmp_path, 5.0, **options)
        await store.ensure(384)
        assert await store.query([0.1] * 384, None, SearchFilter(), 50) == ([], [])
        # qdrant-client asks the server's version from a thread of its own: let it finish while
        # the stand-in still answers, or it fails later, inside some other test.
        for thread in threading.enumerate():
            if "_check_compatibility" in thread.name:
                await asyncio.to_thread(thread.join, 10)
        await store.close()
    return received


def created_collection(received: Received) -> Any:
    return next(
        body for method, path, body, _ in received if method == "PUT" and path == "/collections/aidb_chunks"
    )


async def test_a_new_collection_is_created_with_the_configured_layout_and_key(tmp_path: Path) -> None:
    received = await talk_to_stand_in(
        tmp_path,
        api_key="secret-key",
        layout=ClusterLayout(shard_number=6, replication_factor=3, write_consistency_factor=2),
        edge_index=EdgeIndex(m=24, ef_construct=300, ef=200),
    )
    created = created_collection(received)
    assert (created["shard_number"], created["replication_factor"], created["write_consistency_factor"]) == (
        6,
        3,
        2,
    )
    assert created["vectors"]["dense"]["size"] == 384
    # The server builds and searches the same HNSW graph as the embedded engine's replicas.
    assert (created["hnsw_config"]["m"], created["hnsw_config"]["ef_construct"]) == (24, 300)
    (queried,) = [body for method, path, body, _ in received if path.endswith("/points/query/batch")]
    assert [search["params"]["hnsw_ef"] for search in queried["searches"]] == [200]
    # int8 by default, as the embedded engine's: the graph walks the quantized copy and each
    # query's candidates are rescored with the original vectors.
    assert created["quantization_config"]["scalar"]["type"] == "int8"
    assert [search["params"]["quantization"]["rescore"] for search in queried["searches"]] == [True]
    indexed = {body["field_name"] for method, path, body, _ in received if path.endswith("/index")}
    assert {"collection", "project", "expires_at"} <= indexed
    assert {key for *_, key in received} == {"secret-key"}


def test_the_layout_comes_from_the_settings_and_is_checked() -> None:
    settings = AidbSettings(
        qdrant_shard_number=4, qdrant_replication_factor=2, qdrant_write_consistency_factor=2
    )
    assert settings.cluster_layout() == ClusterLayout(4, 2, 2)
    with pytest.raises(ValueError, match="cannot exceed"):
        AidbSettings(qdrant_replication_factor=1, qdrant_write_consistency_factor=2)


async def test_a_server_collection_can_be_made_without_quantization(tmp_path: Path) -> None:
    created = created_collection(await talk_to_stand_in(tmp_path, edge_index=EdgeIndex(quantization="none")))
    assert created.get("quantization_config") is None
    assert created["hnsw_config"]["m"] == EdgeIndex.m
