"""A stand-in aidb behind a real HTTP server: the gateway's key check and aidb's bulk, search and reindex
answers, in the shapes of `ai_stack.aidb.handlers`."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

API_KEY = "aisk_test"
Key = tuple[str, str, str]


def _envelope(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "request_id": "test"}}
    return web.json_response(body, status=status)


@dataclass
class FakeAidb:
    """Records every bulk request (its size and documents) and answers like aidb."""

    max_items: int = 200
    unavailable: int = 0  # answer this many requests with 503 first
    collections: set[str] = field(default_factory=lambda: {"documents"})
    stored: dict[Key, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    bulk_sizes: list[int] = field(default_factory=list)
    bulk_paths: list[list[str]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._gateway], client_max_size=16 * 1_048_576)
        app.router.add_post("/aidb/documents/bulk", self._bulk)
        app.router.add_get("/aidb/collections", self._collections)
        app.router.add_post("/aidb/collections", self._create_collection)
        app.router.add_post("/aidb/search", self._search)
        app.router.add_post("/aidb/reindex", self._reindex)
        return app

    @web.middleware
    async def _gateway(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.headers.get("X-API-Key") != API_KEY:
            return _envelope(401, "unauthorized", "a valid API key is required")
        if self.unavailable:
            self.unavailable -= 1
            response = _envelope(503, "unavailable", "the service is unavailable, try again shortly")
            response.headers["Retry-After"] = "5"
            return response
        return await handler(request)

    async def _bulk(self, request: web.Request) -> web.Response:
        raw = await request.read()
        documents = json.loads(raw)["documents"]
        self.bulk_sizes.append(len(raw))
        self.bulk_paths.append([d["path"] for d in documents])
        if len(documents) > self.max_items:
            return _envelope(
                413, "payload_too_large", f"{len(documents)} documents sent, at most {self.max_items}"
            )
        items = [{"index": i, **self._upsert(doc)} for i, doc in enumerate(documents)]
        failed = sum(1 for item in items if "error" in item)
        return web.json_response({"items": items, "failed": failed, "succeeded": len(items) - failed})

    def _upsert(self, doc: dict[str, Any]) -> dict[str, Any]:
        if "PRIVATE KEY-----" in doc["content"]:
            message = "content looks like it contains a PEM private key; remove it before storing"
            return {"status": 422, "error": {"code": "content_rejected", "message": message}}
        if doc["collection"] not in self.collections:
            message = f"collection {doc['collection']!r} does not exist"
            return {"status": 404, "error": {"code": "unknown_collection", "message": message}}
        key = (doc["collection"], doc["project"], doc["path"])
        fields = [doc["title"], doc["content_type"], doc["content"], doc["metadata"]]
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
        previous = self.stored.get(key)
        self.stored[key] = (digest, doc)
        outcome = "created" if previous is None else "unchanged" if previous[0] == digest else "updated"
        status = 200 if outcome == "unchanged" else 202
        chunks = 0 if outcome == "unchanged" else doc["content"].count("\n\n") + 1  # like aidb: one per block
        return {
            "status": status,
            "id": digest[:32],
            "version": 1,
            "outcome": outcome,
            "indexing": "pending",
            "chunks": chunks,
        }

    async def _collections(self, request: web.Request) -> web.Response:
        names = sorted(self.collections)
        return web.json_response(
            {"collections": [{"name": n, "description": "", "documents": 0} for n in names]}
        )

    async def _create_collection(self, request: web.Request) -> web.Response:
        name = (await request.json())["name"]
        self.collections.add(name)
        return web.json_response({"name": name, "description": ""}, status=201)

    async def _search(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.searches.append(body)
        hits = [doc for _, doc in self.stored.values() if body["query"] in doc["content"]]
        results = [
            {
                "document_id": str(uuid.uuid5(uuid.NAMESPACE_URL, doc["path"])),
                "chunk_id": str(uuid.uuid4()),
                "collection": doc["collection"],
                "project": doc["project"],
                "path": doc["path"],
                "title": doc["title"],
                "heading_path": ["Guide", "Install"],
                "snippet": doc["content"][:80],
                "score": 1.0 / (60 + rank),
                "metadata": doc["metadata"],
            }
            for rank, doc in enumerate(hits[: body["limit"]], start=1)
        ]
        answer: dict[str, Any] = {"mode": body["mode"], "results": results, "next_cursor": None}
        answer["degraded"] = body["mode"] == "hybrid" and body["query"] == "degrade me"
        if answer["degraded"]:
            answer.update(mode="keyword", reason="embeddings unavailable; keyword results only")
        return web.json_response(answer)

    async def _reindex(self, request: web.Request) -> web.Response:
        rebuild = request.query.get("rebuild") == "true"
        body = {"queued": len(self.stored), "indexing": "pending", "rebuild": rebuild}
        return web.json_response(body, status=202)


@pytest.fixture
async def fake_aidb(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> tuple[FakeAidb, str]:
    """(the fake, its base URL), served on 127.0.0.1 for the test's duration."""
    fake = FakeAidb()
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("")).rstrip("/")
