"""aidb's embedded engine today (qdrant-edge in aidb's process, brute force) against replica
workers (AI_STACK_AIDB_EDGE_REPLICAS=2: two worker processes that build HNSW one at a time), both
through aidb's VectorStore interface, in one run.

Run: .venv/bin/python -m bench.engine_replicas [--points 100000] [--ingest 20000] [--clients 16]

1. Both stores are filled with the same `--points` chunks (clustered 384-d vectors and real
   BM25 text, as bench/vector_engines.py --hnsw makes them); the replicas then build HNSW.
2. Hybrid query engine time (dense and keyword in one call, the filter every search carries),
   one client: p50/p95/p99; then `--clients` concurrent clients: queries/s. recall@10 of the
   replicas' dense hits against the in-process brute force (exact).
3. The stall test: `--ingest` more chunks are written in the indexer's batches while 4 clients
   query, and the replicas rebuild their indexes as they would in service; printed: p99 of
   query time per 10 s, until the writes and the index builds are done.
4. Resident memory of this process (which holds the in-process store and the points) and of
   each worker.
Nothing else should run meanwhile: the machine has two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ai_stack.aidb.sparse import SparseVector
from ai_stack.aidb.vectors.base import RANKING_FIELDS, ChunkPoint, Hit, SearchFilter, VectorStore
from ai_stack.aidb.vectors.edge import EdgeStore
from ai_stack.aidb.vectors.edge_index import EdgeIndex
from ai_stack.aidb.vectors.replicated import ReplicatedEdgeStore
from rich.console import Console
from rich.table import Table

from bench.corpus import docstring_sentences
from bench.memory import anon_rss_mib, rss_mib
from bench.stats import percentile
from bench.vector_engines import (
    BATCH,
    DIMENSION,
    LIMIT,
    clustered_vectors,
    latency_cells,
    make_points,
    near_queries,
    recall_at_10,
)

Query = tuple[list[float], SparseVector]


async def fill(store: VectorStore, points: list[ChunkPoint]) -> float:
    started = time.perf_counter()
    for i in range(0, len(points), BATCH):
        await store.upsert(points[i : i + BATCH])
    return len(points) / (time.perf_counter() - started)


async def search_path(store: VectorStore, query: Query, lean: bool) -> list[Hit]:
    """What aidb's search asks of the engine. `lean` (aidb today): the candidates' ranking fields
    with whole payloads for each signal's first 10, then any of a page of 10 still missing; else
    every candidate's whole payload."""
    dense, sparse = query
    if not lean:
        hits, _ = await store.query(dense, sparse, SearchFilter(), LIMIT)
        return hits
    hits, keyword = await store.query_page(dense, sparse, SearchFilter(), LIMIT, RANKING_FIELDS, 10)
    page = list(dict.fromkeys([h.chunk_id for h in hits[:5]] + [h.chunk_id for h in keyword[:5]]))
    by_id = {h.chunk_id: h for h in hits + keyword}
    if missing := [c for c in page if "text" not in by_id[c].payload]:
        await store.payloads(missing)
    return hits


async def single_client(
    store: VectorStore, queries: list[Query]
) -> tuple[list[float], list[float], list[list[str]]]:
    """Each query asked both ways, which first alternating: (search path ms, whole payloads ms,
    top 10 ids)."""
    lean_ms, whole_ms, top = [], [], []
    for n, query in enumerate(queries):
        for lean in (True, False) if n % 2 == 0 else (False, True):
            started = time.perf_counter()
            hits = await search_path(store, query, lean)
            (lean_ms if lean else whole_ms).append((time.perf_counter() - started) * 1000)
            if lean:
                top.append([h.chunk_id for h in hits[:10]])
    return lean_ms, whole_ms, top


async def throughput(store: VectorStore, queries: list[Query], clients: int, seconds: float) -> float:
    deadline = time.perf_counter() + seconds
    done = 0

    async def client(offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < deadline:
            await search_path(store, queries[i % len(queries)], lean=True)
            done += 1
            i += clients

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    return done / (time.perf_counter() - started)


async def stall_test(
    store: ReplicatedEdgeStore | EdgeStore, extra: list[ChunkPoint], queries: list[Query]
) -> list[tuple[float, int, float]]:
    """(window start s, queries, p99 ms) per 10 s while `extra` is written and indexed."""
    samples: list[tuple[float, float]] = []
    started = time.perf_counter()
    writing = True

    async def writer() -> None:
        nonlocal writing
        try:
            await fill(store, extra)
            if isinstance(store, ReplicatedEdgeStore):
                await store.optimize()  # what the scheduler does once enough was written
        finally:
            writing = False

    async def reader(offset: int) -> None:
        i = offset
        while writing:
            dense, sparse = queries[i % len(queries)]
            began = time.perf_counter()
            await search_path(store, (dense, sparse), lean=True)
            samples.append((began - started, (time.perf_counter() - began) * 1000))
            i += 4

    await asyncio.gather(writer(), *(reader(c) for c in range(4)))
    windows: list[tuple[float, int, float]] = []
    end = max((t for t, _ in samples), default=0.0)
    start = 0.0
    while start <= end:
        inside = sorted(ms for t, ms in samples if start <= t < start + 10)
        if inside:
            windows.append((start, len(inside), percentile(inside, 0.99)))
        start += 10
    return windows


async def main_async(args: argparse.Namespace) -> None:
    console = Console(width=150)
    rng = random.Random(args.points)
    sentences = docstring_sentences(20000)
    total = args.points + args.ingest
    vectors = clustered_vectors(total, args.clusters, rng)
    points = make_points(total, sentences, seed=total, vectors=vectors)
    base, extra = points[: args.points], points[args.points :]
    queries = near_queries(vectors[: args.points], sentences, args.queries, rng)
    root = Path(tempfile.mkdtemp(prefix="ai-stack-bench-replicas-"))
    today = EdgeStore(root / "in-process")
    replicas = ReplicatedEdgeStore(
        root / "replicas",
        2,
        EdgeIndex(
            m=args.hnsw_m,
            ef_construct=args.hnsw_ef_construct,
            ef=args.hnsw_ef,
            indexing_threads=1,
            max_segment_kib=args.max_segment_kib,
        ),
        optimize_after_points=args.optimize_after,
        check_interval_s=5.0,
    )
    try:
        await today.ensure(DIMENSION)
        await replicas.ensure(DIMENSION)
        console.print(f"filling both stores with {args.points} points …")
        rate_today = await fill(today, base)
        rate_replicas = await fill(replicas, base)
        started = time.perf_counter()
        await replicas.optimize()
        build_s = time.perf_counter() - started
        console.print(
            f"upsert points/s: in-process {rate_today:.0f}, replicas {rate_replicas:.0f}; "
            f"both replicas' HNSW built in {build_s:.0f} s, one at a time"
        )
        await single_client(today, queries[:20])
        await single_client(replicas, queries[:20])
        today_ms, today_whole_ms, exact = await single_client(today, queries)
        replica_ms, replica_whole_ms, found = await single_client(replicas, queries)
        recall = recall_at_10(found, exact)
        qps_today = await throughput(today, queries, args.clients, args.seconds)
        qps_replicas = await throughput(replicas, queries, args.clients, args.seconds)
        table = Table(
            title=f"hybrid query through VectorStore, {args.points} points (dense + keyword, limit {LIMIT};"
            " ranking fields, then a page of 10 payloads, unless said otherwise)"
        )
        for column in (
            "engine",
            "1 client p50 / p95 / p99 ms",
            f"{args.clients} clients queries/s",
            "recall@10",
        ):
            table.add_column(column, justify="right")
        table.add_row(
            "in aidb's process, brute force (today)",
            " / ".join(latency_cells(today_ms)),
            f"{qps_today:.0f}",
            "1.000",
        )
        table.add_row(
            "2 replica workers, HNSW",
            " / ".join(latency_cells(replica_ms)),
            f"{qps_replicas:.0f}",
            f"{recall:.3f}",
        )
        table.add_row(
            "in aidb's process, every candidate's whole payload",
            " / ".join(latency_cells(today_whole_ms)),
            "",
            "",
        )
        table.add_row(
            "2 replica workers, every candidate's whole payload",
            " / ".join(latency_cells(replica_whole_ms)),
            "",
            "",
        )
        console.print(table)
        console.print(
            f"ratio replicas / today: p50 {statistics.median(replica_ms) / statistics.median(today_ms):.3f}, "
            f"queries/s {qps_replicas / qps_today:.2f}x"
        )
        workers = ", ".join(
            f"{rss_mib(w.pid or 0):.0f} (anonymous {anon_rss_mib(w.pid or 0):.0f})" for w in replicas.workers
        )
        here = rss_mib(os.getpid())
        console.print(
            f"RSS MiB: this process {here:.0f} (points and the in-process store); workers {workers}"
        )
        if args.ingest:
            console.print(f"stall test: {args.ingest} more points written while 4 clients query …")
            windows = await stall_test(replicas, extra, queries)
            table = Table(title="replicas: query p99 per 10 s while writing and rebuilding the index")
            for column in ("from s", "queries", "p99 ms"):
                table.add_column(column, justify="right")
            for start, count, p99 in windows:
                table.add_row(f"{start:.0f}", str(count), f"{p99:.1f}")
            console.print(table)
            console.print(f"worst window p99 {max(p for _, _, p in windows):.1f} ms (target <= 100)")
    finally:
        await replicas.close()
        await today.close()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--ingest", type=int, default=20_000, help="points written during the stall test")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each throughput run")
    parser.add_argument("--clusters", type=int, default=2000)
    # aidb's defaults (sessions 10-11 measured m=16, ef_construct=100)
    parser.add_argument("--hnsw-m", type=int, default=EdgeIndex.m)
    parser.add_argument("--hnsw-ef-construct", type=int, default=EdgeIndex.ef_construct)
    parser.add_argument("--hnsw-ef", type=int, default=EdgeIndex.ef)
    parser.add_argument("--optimize-after", type=int, default=10_000)
    parser.add_argument(
        "--max-segment-kib", type=int, default=None, help="largest segment (default: engine's)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
