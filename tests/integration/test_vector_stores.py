"""Both embedded engines through the VectorStore interface: writes survive a reopen, deletes
and filters behave the same, and identical input ranks identically."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Literal

import pytest
from ai_stack.aidb.sparse import Bm25Encoder
from ai_stack.aidb.vectors.base import ChunkPoint, SearchFilter, VectorInputRejected, VectorStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.factory import create_vector_store

DIM = 8
TEXTS = ["red apple fruit", "green apple tart", "fast red car", "electric car charging", "fresh fruit market"]


def points() -> list[ChunkPoint]:
    bm25 = Bm25Encoder()
    made = []
    for i, text in enumerate(TEXTS):
        dense = [float((i + 1) * (j + 1) % 7) + 0.5 for j in range(DIM)]
        payload = {
            "document_id": str(uuid.UUID(int=i + 1)),
            "collection": "docs" if i % 2 == 0 else "notes",
            "project": "p",
            "status": "approved",
            "version": 1,
            "expires_at": None,
            "metadata": {"n": i, "even": i % 2 == 0},
        }
        made.append(ChunkPoint(uuid.UUID(int=100 + i), dense, bm25.document(text), payload))
    return made


Engine = Literal["edge", "local", "replicas"]


async def open_store(engine: Engine, data_dir: Path) -> VectorStore:
    """An embedded engine; "replicas": qdrant-edge in two worker processes (replicated.py)."""
    if engine == "replicas":
        store = create_vector_store(
            None, data_dir, 5.0, "edge", edge_replicas=2, edge_index=EdgeIndex(indexing_threshold_kib=1)
        )
    else:
        store = create_vector_store(None, data_dir, 5.0, engine)
    await store.ensure(DIM)
    return store


@pytest.mark.parametrize("engine", ["edge", "local", "replicas"])
async def test_writes_survive_reopen_and_deletes_apply(engine: Engine, tmp_path: Path) -> None:
    store = await open_store(engine, tmp_path)
    await store.upsert(points())
    await store.delete_chunks([uuid.UUID(int=100)])
    await store.close()

    store = await open_store(engine, tmp_path)
    try:
        assert await store.count() == len(TEXTS) - 1
        assert await store.count("docs") == 2
        await store.delete_document(uuid.UUID(int=2), keep_version=1)
        assert await store.count() == len(TEXTS) - 1  # the kept version stays
        await store.delete_document(uuid.UUID(int=2))
        assert await store.count() == len(TEXTS) - 2
        await store.recreate(DIM)
        assert await store.count() == 0
    finally:
        await store.close()


async def test_engines_rank_alike(tmp_path: Path) -> None:
    bm25 = Bm25Encoder()
    ranked = {}
    for engine in ("edge", "local", "replicas"):
        store = await open_store(engine, tmp_path / engine)  # type: ignore[arg-type]
        try:
            await store.upsert(points())
            where = SearchFilter(metadata={"even": True})
            dense, keyword = await store.query(points()[2].dense, bm25.query("red fruit"), where, limit=10)
            # Same scores per chunk (ties may come back in either order).
            ranked[engine] = (
                {h.chunk_id: round(h.score, 4) for h in dense},
                {h.chunk_id: round(h.score, 4) for h in keyword},
            )
            assert [h.score for h in keyword] == sorted((h.score for h in keyword), reverse=True)
            assert all(h.payload["metadata"]["even"] is True for h in dense + keyword)
            assert all("_bool" not in h.payload for h in dense + keyword)
        finally:
            await store.close()
    assert ranked["edge"] == ranked["local"] == ranked["replicas"]
    keyword_scores = ranked["edge"][1]
    red_apple_fruit = str(uuid.UUID(int=100))
    assert max(keyword_scores, key=keyword_scores.__getitem__) == red_apple_fruit  # leads on keywords


@pytest.mark.parametrize("engine", ["edge", "local", "replicas"])
async def test_queries_return_the_fields_asked_for_and_payloads_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    """Search reads candidates' ranking fields from the query and its page's whole payloads after."""
    store = await open_store(engine, tmp_path)
    try:
        await store.upsert(points())
        dense, keyword = await store.query(
            points()[0].dense, Bm25Encoder().query("apple"), SearchFilter(), 10, ("document_id", "project")
        )
        assert dense and keyword
        assert all(set(h.payload) == {"document_id", "project"} for h in dense + keyword)
        wanted = [h.chunk_id for h in dense[:2]] + [str(uuid.UUID(int=999))]  # the last: no such chunk
        whole = await store.payloads(wanted)
        assert set(whole) == set(wanted[:2])
        by_id = {str(p.chunk_id): p.payload for p in points()}
        assert all(whole[c] == by_id[c] for c in whole)  # as written: no engine-only fields
        assert await store.payloads([]) == {}
        dense, keyword = await store.query_page(
            points()[0].dense, Bm25Encoder().query("apple"), SearchFilter(), 10, ("document_id",), 1
        )
        leaders = {dense[0].chunk_id, keyword[0].chunk_id}
        assert all(h.payload == by_id[h.chunk_id] for h in dense + keyword if h.chunk_id in leaders)
        assert all(set(h.payload) == {"document_id"} for h in dense + keyword if h.chunk_id not in leaders)
        assert len(dense) > 1
    finally:
        await store.close()


@pytest.mark.parametrize("engine", ["edge", "replicas"])
async def test_a_point_the_engine_cannot_take_is_refused_as_input(engine: Engine, tmp_path: Path) -> None:
    """Refused, not counted as an outage (a breaker would open for everyone), and nothing half-written."""
    store = await open_store(engine, tmp_path)
    try:
        await store.upsert(points()[:2])
        good = points()[2]
        bad = ChunkPoint(
            good.chunk_id, good.dense, good.sparse, {**good.payload, "metadata": {"x": float("nan")}}
        )
        with pytest.raises(VectorInputRejected):
            await store.upsert([points()[3], bad])
        assert await store.count() == 2
        await store.upsert(points()[2:])
        assert await store.count() == len(TEXTS)
    finally:
        await store.close()


def keyword_point(document: int, text: str) -> ChunkPoint:
    payload = {
        "document_id": str(uuid.UUID(int=document)),
        "collection": "docs",
        "project": "p",
        "status": "approved",
        "version": 1,
        "expires_at": None,
        "metadata": {},
    }
    return ChunkPoint(uuid.UUID(int=1000 + document), None, Bm25Encoder().document(text), payload)


@pytest.mark.parametrize("engine", ["edge", "local", "replicas"])
async def test_keyword_scores_depend_on_no_other_point(engine: Engine, tmp_path: Path) -> None:
    """A new index leaves IDF to the query's weights (aidb keeps it per collection): a store that
    holds 25 more documents with the term and lost 25 others scores a chunk exactly as one that
    never had them (the engine's IDF counted both, the deleted ones until the shard reloaded)."""
    where = SearchFilter(collections=("docs",))
    query = Bm25Encoder().query("zebra", [2.5])
    fresh = await open_store(engine, tmp_path / "fresh")
    churned = await open_store(engine, tmp_path / "churned")
    try:
        assert not fresh.idf_in_engine and not churned.idf_in_engine
        await fresh.upsert([keyword_point(1, "zebra giraffe")])
        await churned.upsert([keyword_point(1, "zebra giraffe")])
        await churned.upsert([keyword_point(n, "zebra lion") for n in range(2, 52)])
        for n in range(2, 27):
            await churned.delete_document(uuid.UUID(int=n))
        (_, [expected]), (_, hits) = (
            await fresh.query(None, query, where, 5),
            await churned.query(None, query, where, 50),
        )
        [after] = [h for h in hits if h.chunk_id == str(uuid.UUID(int=1001))]
        stored = keyword_point(1, "zebra giraffe").sparse
        zebra = Bm25Encoder.term_id("zebra")
        assert expected.score == pytest.approx(2.5 * stored.values[stored.indices.index(zebra)])
        assert after.score == pytest.approx(expected.score)
    finally:
        await fresh.close()
        await churned.close()


async def test_an_index_made_with_engine_idf_keeps_it(tmp_path: Path) -> None:
    """A shard created before aidb kept IDF per collection loads as it was made (the engine
    refuses another sparse config) and says so, so that queries weigh their terms 1."""
    import qdrant_edge as qe
    from ai_stack.aidb.vectors.edge import EdgeStore

    old = qe.EdgeShard.create(
        str(tmp_path / "old"), EdgeStore(tmp_path / "unused")._config(4, idf_in_engine=True)
    )
    old.close()
    store = EdgeStore(tmp_path / "old")
    await store.ensure(4)
    try:
        assert store.idf_in_engine
        await store.recreate(4)
        assert not store.idf_in_engine
    finally:
        await store.close()
