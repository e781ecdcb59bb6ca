"""The two embedded vector engines side by side, through aidb's own VectorStore interface.

Run: .venv/bin/python -m bench.vector_engines [--points 20000,50000] [--engines edge,local]

For each engine and size: fills a fresh index under a temporary directory with chunks shaped
like aidb's (random unit 384-d dense vectors; BM25 keyword vectors of real English text, the
standard library's docstrings; the indexer's payload with 7 collections and 10 projects), then
asks single-client queries the way aidb's search does and prints p50/p95 per query shape:

- dense: the filter every aidb query carries (approved, not expired)
- dense + filter: one collection and one project besides
- keyword + filter: the BM25 signal alone
- both + filter: dense and keyword in one call, what a hybrid search asks

Upsert rate is points/s in batches of 256 (the indexer's batches are a document's chunks).

`--hnsw`: qdrant-edge alone, the same shard before and after `optimize()` builds HNSW (m, ef_construct
from `--hnsw-m` / `--hnsw-ef-construct`), once per `--quantization` (int8, aidb's default, whose
candidates are rescored with the original vectors; none): how long optimize takes, the longest the
GIL stayed held meanwhile (a ticker thread's largest gap: what an in-process engine would freeze),
the hybrid query's engine time (dense and keyword in one call, usual filter) brute force vs HNSW at several
`hnsw_ef`, recall@10 of HNSW against exact search, and the process's RSS. Dense vectors are
clustered (`--clusters` centroids, neighbours at cosine ~0.8, queries near stored points), shaped
like real embeddings: uniform random 384-d vectors have no neighbours, the worst case for HNSW.
Nothing else should run meanwhile: the machine has two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from array import array
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ai_stack.aidb.sparse import Bm25Encoder, SparseVector
from ai_stack.aidb.vectors.base import ChunkPoint, SearchFilter, VectorStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.factory import EmbeddedEngine, create_vector_store
from rich.console import Console
from rich.table import Table

from bench.corpus import docstring_sentences
from bench.stats import percentile

DIMENSION = 384
COLLECTIONS = ("documents", "codebase-context", "skills-patterns", "error-solutions", "best-practices",
               "interaction-history", "docs")  # fmt: skip
PROJECTS = tuple(f"project-{i}" for i in range(10))
BATCH = 256
ENGINES: tuple[EmbeddedEngine, ...] = ("edge", "local")
LIMIT = 50  # aidb asks each signal for more than a page so fusion has candidates


def unit_vector(rng: random.Random) -> list[float]:
    values = [rng.gauss(0.0, 1.0) for _ in range(DIMENSION)]
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def chunk_texts(count: int, sentences: list[str], rng: random.Random) -> list[str]:
    """`count` chunk-like texts of four sentences each, drawn from `sentences`."""
    return [" ".join(rng.sample(sentences, 4)) for _ in range(count)]


def clustered_vectors(count: int, clusters: int, rng: random.Random) -> list[array[float]]:
    """Unit vectors around `clusters` random centroids (cosine to their centroid about 0.8), as
    float32 arrays: 500,000 vectors as lists of Python floats would take 6 GB."""
    centroids = [unit_vector(rng) for _ in range(clusters)]
    spread = 0.75 / DIMENSION**0.5
    vectors = []
    for _ in range(count):
        centroid = centroids[rng.randrange(clusters)]
        values = [c + rng.gauss(0.0, spread) for c in centroid]
        norm = sum(v * v for v in values) ** 0.5
        vectors.append(array("f", [v / norm for v in values]))
    return vectors


def near_queries(
    vectors: Sequence[Sequence[float]], sentences: list[str], count: int, rng: random.Random
) -> list[tuple[list[float], SparseVector]]:
    """Queries near stored points (a question is close to the passage that answers it), each
    with BM25 text of its own."""
    encoder = Bm25Encoder()
    queries = []
    for text in chunk_texts(count, sentences, rng):
        near = vectors[rng.randrange(len(vectors))]
        values = [v + rng.gauss(0.0, 0.5 / DIMENSION**0.5) for v in near]
        norm = sum(v * v for v in values) ** 0.5
        queries.append(([v / norm for v in values], encoder.query(text)))
    return queries


def recall_at_10(found: list[list[str]], exact: list[list[str]]) -> float:
    """Mean share of each exact top 10 that `found` also returned."""
    return statistics.mean(len(set(f) & set(e)) / max(1, len(e)) for f, e in zip(found, exact, strict=True))


def latency_cells(latencies: list[float]) -> list[str]:
    """p50, p95, p99 in ms, one decimal."""
    return [f"{percentile(latencies, q):.1f}" for q in (0.5, 0.95, 0.99)]


def make_points(
    count: int, sentences: list[str], seed: int, vectors: Sequence[Sequence[float]] | None = None
) -> list[ChunkPoint]:
    return list(iter_points(count, sentences, seed, vectors))


def iter_points(
    count: int, sentences: list[str], seed: int, vectors: Sequence[Sequence[float]] | None = None
) -> Iterator[ChunkPoint]:
    """The points of `make_points` one at a time (at 500,000, all of them at once would not fit)."""
    rng = random.Random(seed)
    encoder = Bm25Encoder()
    for i, text in enumerate(chunk_texts(count, sentences, rng)):
        chunk_id = uuid.UUID(int=rng.getrandbits(128))
        payload: dict[str, Any] = {
            "document_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "chunk_id": str(chunk_id),
            "collection": COLLECTIONS[i % len(COLLECTIONS)],
            "project": PROJECTS[rng.randrange(len(PROJECTS))],
            "path": f"docs/{i}.md",
            "title": f"Document {i}",
            "status": "approved",
            "version": 1,
            "metadata": {"lang": rng.choice(("en", "de")), "stars": rng.randrange(100)},
            "expires_at": None,
            "position": 0,
            "heading_path": [],
            "text": text,
        }
        dense = list(vectors[i]) if vectors is not None else unit_vector(rng)
        yield ChunkPoint(chunk_id, dense, encoder.document(text), payload)


async def timed(call: Callable[[], Awaitable[Any]], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure(
    engine: EmbeddedEngine, points: list[ChunkPoint], queries: list[tuple[list[float], SparseVector]],
    repeats: int,
) -> dict[str, float]:  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix=f"ai-stack-bench-{engine}-"))
    store: VectorStore = create_vector_store(None, root, timeout_s=60, embedded=engine)
    try:
        await store.ensure(DIMENSION)
        started = time.perf_counter()
        for i in range(0, len(points), BATCH):
            await store.upsert(points[i : i + BATCH])
        upsert_rate = len(points) / (time.perf_counter() - started)
        if await store.count() != len(points):
            raise RuntimeError(f"{engine}: the index holds {await store.count()} of {len(points)} points")

        plain = SearchFilter()
        narrow = SearchFilter(collections=("docs",), project="project-3")
        cycle = itertools.cycle(queries)

        def shape(use_dense: bool, use_sparse: bool, where: SearchFilter) -> Callable[[], Awaitable[Any]]:
            async def call() -> Any:
                dense, sparse = next(cycle)
                return await store.query(
                    dense if use_dense else None, sparse if use_sparse else None, where, LIMIT
                )

            return call

        figures = {"upsert points/s": upsert_rate}
        for name, call in (
            ("dense", shape(True, False, plain)),
            ("dense + filter", shape(True, False, narrow)),
            ("keyword + filter", shape(False, True, narrow)),
            ("both + filter", shape(True, True, narrow)),
        ):
            await timed(call, 3)  # warm caches and lazy loading
            samples = await timed(call, repeats)
            figures[f"{name} p50"] = statistics.median(samples)
            figures[f"{name} p95"] = percentile(samples, 0.95)
        return figures
    finally:
        await store.close()
        shutil.rmtree(root, ignore_errors=True)


async def main_async(args: argparse.Namespace) -> None:
    console = Console(width=170)  # the table is wide; a pipe or nohup would default to 80
    sizes = [int(n) for n in args.points.split(",")]
    wanted = args.engines.split(",")
    engines = [e for e in ENGINES if e in wanted]
    sentences = docstring_sentences(20000)
    encoder = Bm25Encoder()
    rng = random.Random(7)
    queries = [(unit_vector(rng), encoder.query(text)) for text in chunk_texts(50, sentences, rng)]
    table = Table(title=f"embedded engines through VectorStore ({DIMENSION}-d, limit {LIMIT}, one client)")
    table.add_column("engine")
    table.add_column("points", justify="right")
    columns: list[str] = []
    rows: list[tuple[str, int, dict[str, float]]] = []
    for size in sizes:
        points = make_points(size, sentences, seed=size)
        for engine in engines:
            console.print(f"{engine}: {size} points …")
            figures = await measure(engine, points, queries, args.repeats)
            columns = columns or list(figures)
            rows.append((engine, size, figures))
    for column in columns:
        table.add_column(column if "/s" in column else f"{column} ms", justify="right")
    for name, size, figures in rows:
        table.add_row(name, str(size), *(f"{figures[c]:.1f}" if "/s" not in c else f"{figures[c]:.0f}"
                                           for c in columns))  # fmt: skip
    console.print(table)
    by_key = {(name, size): figures for name, size, figures in rows}
    for size in sizes:
        if ("edge", size) in by_key and ("local", size) in by_key:
            edge, local = by_key[("edge", size)], by_key[("local", size)]
            ratios = ", ".join(
                f"{c.removesuffix(' p50')} {local[c] / edge[c]:.1f}x" for c in columns if c.endswith("p50")
            )
            console.print(f"{size} points, local mode p50 / edge p50: {ratios}")


def hnsw_experiment(args: argparse.Namespace) -> None:
    """Brute force vs HNSW in qdrant-edge, one shard per `--quantization` (see the docstring)."""
    import qdrant_edge as qe
    from ai_stack.aidb.vectors.base import SearchFilter as Where
    from ai_stack.aidb.vectors.edge import build_filter, dense_search_params, shard_config

    from bench.memory import rss_mib

    console = Console(width=150)
    size = int(args.points.split(",")[-1])
    rng = random.Random(size)
    sentences = docstring_sentences(20000)
    vectors = clustered_vectors(size, args.clusters, rng)
    queries = near_queries(vectors, sentences, args.repeats, rng)
    where = build_filter(Where())
    rows: list[tuple[str, list[float], float]] = []
    notes: list[str] = []
    exact: list[list[str]] = []
    for quantization in args.quantization.split(","):
        root = Path(tempfile.mkdtemp(prefix="ai-stack-bench-hnsw-"))
        index = EdgeIndex(
            m=args.hnsw_m,
            ef_construct=args.hnsw_ef_construct,
            indexing_threads=args.indexing_threads,
            quantization=quantization,
        )
        shard = qe.EdgeShard.create(str(root), shard_config(DIMENSION, index))
        try:
            upsert_s = fill_shard(shard, iter_points(size, sentences, seed=size, vectors=vectors))
            if not exact:
                ask_hybrid(shard, queries, where)  # warm
                brute, exact = ask_hybrid(shard, queries, where)
                rows.append(("brute force (today)", brute, 1.0))
            optimize_s, longest_hold = optimize_watching_the_gil(shard)
            ask_hybrid(shard, queries, where)  # warm
            for ef in (64, 128, 256):
                params = dense_search_params(dataclasses.replace(index, ef=ef))
                latencies, found = ask_hybrid(shard, queries, where, params)
                rows.append((f"HNSW {quantization}, ef={ef}", latencies, recall_at_10(found, exact)))
            notes.append(
                f"{quantization}: upsert {size / upsert_s:.0f} points/s; optimize (m={args.hnsw_m}, "
                f"ef_construct={args.hnsw_ef_construct}, {args.indexing_threads or 'all'} threads) "
                f"{optimize_s:.1f} s, longest GIL hold meanwhile {longest_hold:.1f} s; "
                f"RSS {rss_mib(os.getpid()):.0f} MiB (the process, points in Python included)"
            )
        finally:
            shard.close()
            shutil.rmtree(root, ignore_errors=True)
    title = f"qdrant-edge, {size} points, hybrid query engine time (dense + keyword, limit {LIMIT})"
    table = Table(title=title)
    for column in ("path", "p50 ms", "p95 ms", "p99 ms", "recall@10 vs exact"):
        table.add_column(column, justify="right")
    for name, latencies, found_recall in rows:
        table.add_row(name, *latency_cells(latencies), f"{found_recall:.3f}")
    console.print(table)
    for note in notes:
        console.print(note)


def fill_shard(shard: Any, points: Iterator[ChunkPoint]) -> float:
    """Writes the points in the indexer's batches; seconds spent in the engine (not making them)."""
    import qdrant_edge as qe
    from ai_stack.aidb.vectors.base import KEYWORD_FIELDS
    from ai_stack.aidb.vectors.edge import _point

    for name in KEYWORD_FIELDS:
        shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
    shard.update(qe.UpdateOperation.create_field_index("expires_at", qe.PayloadSchemaType.Float))
    upsert_s = 0.0
    while batch := list(itertools.islice(points, BATCH)):
        started = time.perf_counter()
        shard.update(qe.UpdateOperation.upsert_points([_point(p) for p in batch]))
        upsert_s += time.perf_counter() - started
    return upsert_s


def ask_hybrid(
    shard: Any, queries: list[tuple[list[float], Any]], where: Any, params: Any = None
) -> tuple[list[float], list[list[str]]]:
    """Each query's engine time (dense and keyword in one call) and its dense top 10."""
    import qdrant_edge as qe
    from ai_stack.aidb.vectors.base import DENSE, SPARSE

    latencies, top = [], []
    for dense, sparse in queries:
        batch = qe.QueryBatchRequest([
            qe.QueryRequest(LIMIT, query=qe.Query.Nearest(dense, using=DENSE), filter=where,
                            with_payload=True, params=params),
            qe.QueryRequest(LIMIT, query=qe.Query.Nearest(qe.SparseVector(sparse.indices, sparse.values),
                                                          using=SPARSE), filter=where, with_payload=True),
        ])  # fmt: skip
        started = time.perf_counter()
        answer = shard.query_batch(batch)
        latencies.append((time.perf_counter() - started) * 1000)
        top.append([str(p.id) for p in answer[0][:10]])
    return latencies, top


def optimize_watching_the_gil(shard: Any) -> tuple[float, float]:
    """Seconds `optimize()` took, and the longest a ticker thread waited for the GIL meanwhile."""
    import threading

    gaps: list[float] = []
    done = threading.Event()

    def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    started = time.perf_counter()
    shard.optimize()
    optimize_s = time.perf_counter() - started
    done.set()
    thread.join()
    return optimize_s, max(gaps, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", default="20000,50000", help="index sizes, comma-separated")
    parser.add_argument("--engines", default="edge,local", help="engines, comma-separated: edge, local")
    parser.add_argument("--repeats", type=int, default=100, help="queries per shape")
    parser.add_argument("--hnsw", action="store_true", help="brute force vs HNSW in qdrant-edge (last size)")
    parser.add_argument("--hnsw-m", type=int, default=EdgeIndex.m, help="as aidb's replicas by default")
    parser.add_argument("--hnsw-ef-construct", type=int, default=EdgeIndex.ef_construct)
    parser.add_argument(
        "--quantization",
        default="int8,none",
        help="--hnsw: one shard per choice (int8: aidb's default, rescored; none), comma-separated",
    )
    parser.add_argument("--indexing-threads", type=int, default=0, help="HNSW build threads (0: all)")
    parser.add_argument("--clusters", type=int, default=2000, help="centroids of the --hnsw vectors")
    args = parser.parse_args()
    if args.hnsw:
        hnsw_experiment(args)
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
