"""Both embedded engines through the VectorStore interface: writes survive a reopen, deletes
and filters behave the same, and identical input ranks identically."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from ai_stack.aidb.sparse import Bm25Encoder
from ai_stack.aidb.vectors.base import ChunkPoint, SearchFilter, VectorStore
from ai_stack.aidb.vectors.factory import EmbeddedEngine, create_vector_store

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


async def open_store(engine: EmbeddedEngine, data_dir: Path) -> VectorStore:
    store = create_vector_store(None, data_dir, 5.0, engine)
    await store.ensure(DIM)
    return store


@pytest.mark.parametrize("engine", ["edge", "local"])
async def test_writes_survive_reopen_and_deletes_apply(engine: EmbeddedEngine, tmp_path: Path) -> None:
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
    for engine in ("edge", "local"):
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
    assert ranked["edge"] == ranked["local"]
    keyword_scores = ranked["edge"][1]
    red_apple_fruit = str(uuid.UUID(int=100))
    assert max(keyword_scores, key=keyword_scores.__getitem__) == red_apple_fruit  # leads on keywords


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


@pytest.mark.parametrize("engine", ["edge", "local"])
async def test_deleted_points_leave_keyword_statistics(engine: EmbeddedEngine, tmp_path: Path) -> None:
    """After deletes (and the idle indexer's refresh) a term's IDF counts only live points: a
    store that held and lost 50 documents with the term scores like one that never had them."""
    where = SearchFilter(collections=("docs",))
    query = Bm25Encoder().query("zebra")
    fresh = await open_store(engine, tmp_path / "fresh")
    churned = await open_store(engine, tmp_path / "churned")
    try:
        await fresh.upsert([keyword_point(1, "zebra giraffe")])
        await churned.upsert([keyword_point(1, "zebra giraffe")])
        await churned.upsert([keyword_point(n, "zebra lion") for n in range(2, 52)])
        for n in range(2, 52):
            await churned.delete_document(uuid.UUID(int=n))
        await churned.refresh_statistics()
        assert await churned.refresh_statistics() is False  # nothing deleted since
        (_, [expected]), (_, [after]) = (
            await fresh.query(None, query, where, 5),
            await churned.query(None, query, where, 5),
        )
        assert after.score == pytest.approx(expected.score)
    finally:
        await fresh.close()
        await churned.close()
