"""aidb at scale: ingestion throughput and hybrid search latency through the gateway.

Run: .venv/bin/python -m bench.search_latency [--chunks 50000] [--clients 16] [--queries 800]

Starts the whole stack with scripts/ai-stack-startup.sh (embedded qdrant-edge engine in its
default replica workers), then:
1. Raw embeddings throughput: `--clients` clients send chunk texts (16 per request, as the
   indexer does) to /embeddings/embed through the gateway; every cache is emptied afterwards.
2. Ingestion: Debian's PostgreSQL 15 manual, then Python sources (the standard library, then
   this venv's packages) through /aidb/documents/bulk until at least `--chunks` chunks exist;
   timed from the first write until the outbox is empty. Reported as chunks/s and as a ratio
   to (1), since embedding is the work both do.
3. Hybrid search over every chunk with `--clients` concurrent clients, each query asked once
   per phase: cold (all caches emptied: the query is embedded), warm query-vector cache (the
   embeddings service answers the query's vector from Redis; a different page size, so no
   cached result page), and hot (the warm phase's requests again: result pages come from the
   cache).
   p50/p95/p99 per phase.

`--corpus retrieval --copies 4` compares the engine paths on one store of real chunks instead:
the retrieval benchmark's corpus (bench.labelled_sets: SciFact, the PostgreSQL manual, Python
manual pages; 25,918 chunks) written `--copies` times, each copy in projects of its own (~104,000
chunks), its vectors seeded into the embeddings service's cache (bench.vector_seed) so that
writing it takes minutes instead of ~80 of embedding. The store is measured with the engine in
aidb's process (`AI_STACK_AIDB_EDGE_REPLICAS=0`, brute force: exact), then the stack is restarted
on the same data with two replicas (the default) and measured again once they have built their
index. Each
path: the benchmark's 471 labelled queries over the whole store (hybrid, warm query vectors, no
cached pages), one client and `--clients` clients; recall@10 of the replicas' answers against the
exact ones; each set's nDCG@10 in its usual scope; RSS of aidb and its engine workers.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from ai_stack.aidb.app import make_chunker
from ai_stack.aidb.settings import AidbSettings
from rich.console import Console
from rich.table import Table

from bench.aidb_corpus import labelled_queries, pg_doc_documents, python_source_documents
from bench.corpus import docstring_sentences
from bench.labelled_sets import LabelledSet, load_sets
from bench.memory import anon_rss_mib, rss_mib
from bench.reindex_live import corpus
from bench.retrieval_lab import K, ndcg
from bench.retrieval_quality import labelled_id, search_scope
from bench.stack import RunningStack, ingest, open_session, post, restart_stack, running_stack, wait_drained
from bench.stats import percentile
from bench.vector_seed import seed_vector_cache

SLICE = 400  # documents written between two chunk counts
STATISTICS_REFRESH_S = float(AidbSettings.model_fields["keyword_stats_refresh_s"].default)


async def embeddings_rate(
    stack: RunningStack, session: aiohttp.ClientSession, texts: list[str], clients: int
) -> float:
    queue = [texts[i : i + 16] for i in range(0, len(texts), 16)]

    async def client() -> None:
        while queue:
            await post(
                session, f"{stack.base_url}/embeddings/embed", {"inputs": queue.pop(), "truncate": True}
            )

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(texts) / (time.perf_counter() - started)


async def total_chunks(stack: RunningStack, session: aiohttp.ClientSession) -> int:
    async with session.get(f"{stack.base_url}/aidb/index/status") as response:
        status = await response.json()
    return sum(int(c["chunks"]) for c in status["collections"].values())


def code_documents() -> list[dict[str, Any]]:
    """The standard library, then this venv's packages: enough Python for any target."""
    venv_lib = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = python_source_documents(10**9)
    packages = python_source_documents(10**9, root=venv_lib / "site-packages", project="site-packages")
    return stdlib + packages


async def ingest_until(
    stack: RunningStack, session: aiohttp.ClientSession, target: int, console: Console
) -> tuple[int, int, float]:
    """(documents, chunks, seconds) of writing until `target` chunks exist and are indexed."""
    pending = pg_doc_documents() + code_documents()
    written, chunks = 0, 0
    started = time.perf_counter()
    while chunks < target and written < len(pending):
        await ingest(stack, session, pending[written : written + SLICE])
        written = min(len(pending), written + SLICE)
        chunks = await total_chunks(stack, session)
        console.print(f"  written {written} documents, {chunks} chunks", highlight=False)
    await wait_drained(session, stack, timeout_s=4 * 3600)
    return written, chunks, time.perf_counter() - started


async def search_phase(
    stack: RunningStack, session: aiohttp.ClientSession, queries: list[str], clients: int, limit: int
) -> tuple[list[float], float]:
    """Latencies (ms) of every query, asked once each by `clients` concurrent clients; and queries/s."""
    queue = list(reversed(queries))
    latencies: list[float] = []

    async def client() -> None:
        while queue:
            query = queue.pop()
            began = time.perf_counter()
            found = await post(session, f"{stack.base_url}/aidb/search", {"query": query, "limit": limit})
            latencies.append((time.perf_counter() - began) * 1000)
            if found["degraded"]:
                raise RuntimeError(f"degraded search: {found.get('reason')}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, len(queries) / (time.perf_counter() - started)


async def main_async(args: argparse.Namespace) -> None:
    console = Console(width=130)
    chunker = make_chunker(AidbSettings())
    sample_docs = random.Random(7).sample(pg_doc_documents(), 120)
    sample = [c.text for d in sample_docs for c in chunker(d["content"], d["content_type"])][: args.raw_texts]
    queries = [q["query"] for q in labelled_queries()]
    queries += docstring_sentences(args.queries)[: max(0, args.queries - len(queries))]
    quiet = {"AI_STACK_AIDB_LOG_LEVEL": "WARNING", "AI_STACK_EMBEDDINGS_LOG_LEVEL": "WARNING"}
    with running_stack(**quiet) as stack:
        async with open_session(stack, connections=args.clients * 2) as session:
            await embeddings_rate(stack, session, sample[:64], args.clients)  # warm-up
            stack.flush_redis()
            raw = await embeddings_rate(stack, session, sample, args.clients)
            stack.flush_redis()
            console.print(f"raw embeddings: {len(sample)} chunk texts, {raw:.1f} texts/s")

            documents, chunks, seconds = await ingest_until(stack, session, args.chunks, console)
            rate = chunks / seconds
            console.print(
                f"ingested {documents} documents, {chunks} chunks in {seconds:.0f} s: {rate:.1f} chunks/s,"
                f" {rate / raw:.2f} of the raw embeddings throughput"
            )

            phases: list[tuple[str, list[float], float]] = []
            stack.flush_redis()
            phases.append(("cold (no cache)", *await search_phase(stack, session, queries, args.clients, 10)))
            phases.append(
                ("warm query vectors", *await search_phase(stack, session, queries, args.clients, 11))
            )
            # The warm phase's requests again, at once: its pages are younger than the results
            # TTL (60 s). Repeating the cold phase's would find them expired at this scale.
            phases.append(
                ("hot (result cache)", *await search_phase(stack, session, queries, args.clients, 11))
            )
    table = Table(
        title=f"hybrid search through the gateway: {chunks} chunks, {args.clients} clients,"
        f" {len(queries)} queries"
    )
    for column in ("phase", "p50 ms", "p95 ms", "p99 ms", "mean ms", "queries/s"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name, latencies, qps in phases:
        table.add_row(
            name,
            f"{percentile(latencies, 0.50):.1f}",
            f"{percentile(latencies, 0.95):.1f}",
            f"{percentile(latencies, 0.99):.1f}",
            f"{statistics.fmean(latencies):.1f}",
            f"{qps:.1f}",
        )
    console.print(table)


@dataclass
class PathFigures:
    """One engine path's measurements on the shared store."""

    single: list[float]
    many: list[float]
    many_qps: float
    answers: list[Counter[tuple[str, ...]]]
    ndcg: dict[str, float]
    rss_mib: dict[str, tuple[float, float]]  # (RSS, its anonymous part)
    build_s: float | None = None


def answer_keys(results: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    """A page's chunks by what they are, not which copy: the copies of one chunk score alike, and
    which of them fills the last places is a tie either engine may break its own way."""
    return Counter(
        (r["collection"], r["project"].split("-copy")[0], r["path"], r["snippet"]) for r in results
    )


def aidb_rss(stack: RunningStack) -> dict[str, tuple[float, float]]:
    """RSS of aidb and of each process it started (the engine workers), and its anonymous part."""
    pid = int((stack.home / "run" / "aidb.pid").read_text().split()[0])
    found = {"aidb": (rss_mib(pid), anon_rss_mib(pid))}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        # multiprocessing's resource tracker is a child too; the engine workers run spawn_main.
        if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text(errors="replace"):
            found[f"worker {len(found)}"] = (rss_mib(int(child)), anon_rss_mib(int(child)))
    return found


async def measure_path(
    stack: RunningStack, session: aiohttp.ClientSession, sets: list[LabelledSet], clients: int
) -> PathFigures:
    queries = [q.text for labelled in sets for q in labelled.queries]
    url = f"{stack.base_url}/aidb/search"
    stack.flush_redis()
    await search_phase(stack, session, queries, clients, 12)  # the query vectors into the cache
    single: list[float] = []
    answers: list[Counter[tuple[str, ...]]] = []
    for query in queries:
        began = time.perf_counter()
        found = await post(session, url, {"query": query, "limit": 10})
        single.append((time.perf_counter() - began) * 1000)
        answers.append(answer_keys(found["results"]))
    many, qps = await search_phase(stack, session, queries, clients, 11)
    ndcg_by_set = {}
    for labelled in sets:
        scores = []
        for query in labelled.queries:
            body = {"query": query.text, "limit": K, "group_by": "document", **search_scope(labelled)}
            found = await post(session, url, body)
            # A copy of a document is the same document: scored once, where it first appears.
            ranked = [
                labelled_id(labelled.name, {**r, "project": r["project"].split("-copy")[0]})
                for r in found["results"]
            ]
            scores.append(ndcg(list(dict.fromkeys(ranked)), query.relevant))
        ndcg_by_set[labelled.name] = statistics.fmean(scores)
    return PathFigures(single, many, qps, answers, ndcg_by_set, aidb_rss(stack))


async def wait_index_built(stack: RunningStack, session: aiohttp.ClientSession, timeout_s: float) -> float:
    """Seconds of the replicas' first index build pass (they build at start on a seeded store)."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with session.get(f"{stack.base_url}/aidb/index/status") as response:
            engine = (await response.json()).get("engine") or {}
        if engine.get("index_builds", 0) >= 1 and all(r["serving"] for r in engine["replicas"]):
            return float(engine["last_build_s"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replicas did not build their index: {engine}")
        await asyncio.sleep(5.0)


async def compare_engines(args: argparse.Namespace) -> None:
    console = Console(width=130)
    sets = load_sets(["scifact", "pgdocs", "identifiers"])
    figures: dict[str, PathFigures] = {}
    quiet = {"AI_STACK_AIDB_LOG_LEVEL": "WARNING", "AI_STACK_EMBEDDINGS_LOG_LEVEL": "WARNING"}
    with running_stack(AI_STACK_AIDB_EDGE_REPLICAS="0", **quiet) as stack:
        async with open_session(stack, connections=args.clients * 2) as session:
            seeded = await seed_vector_cache(stack, session, sets)
            console.print(f"seeded the vector cache with {seeded} chunk vectors")
            async with session.post(f"{stack.base_url}/aidb/collections", json={"name": "scifact"}) as made:
                if made.status not in (201, 409):
                    raise RuntimeError(f"creating scifact: {made.status} {await made.text()}")
            started = time.perf_counter()
            for documents in corpus(sets, args.copies):
                await ingest(stack, session, documents)
            await wait_drained(session, stack, timeout_s=4 * 3600)
            chunks = await total_chunks(stack, session)
            seconds = time.perf_counter() - started
            rate = chunks / seconds
            console.print(f"{args.copies} copies: {chunks} chunks in {seconds:.0f} s ({rate:.0f}/s)")
            # aidb rereads BM25 statistics (chunk counts, term frequencies) at most every refresh
            # period: measured at once, the exact path would weigh terms with counts read
            # mid-ingest while the restarted replicas read the final ones, and every answer that
            # moved would count as a miss of the replicas (recall 0.925-0.965 where it is 0.995).
            await asyncio.sleep(STATISTICS_REFRESH_S + 1)
            figures["in aidb's process, brute force (today)"] = await measure_path(
                stack, session, sets, args.clients
            )
        for ef in args.ef:
            # The index is built once; ef is a query-time setting, so a restart changes only it.
            stack = restart_stack(stack, AI_STACK_AIDB_EDGE_REPLICAS="2", AI_STACK_AIDB_EDGE_HNSW_EF=str(ef))
            async with open_session(stack, connections=args.clients * 2) as session:
                build_s = await wait_index_built(stack, session, timeout_s=3600)
                replicas = await measure_path(stack, session, sets, args.clients)
                replicas.build_s = build_s
                figures[f"2 replica workers, HNSW ef={ef}"] = replicas
    print_comparison(console, figures, chunks, args.clients)


def print_comparison(console: Console, figures: dict[str, PathFigures], chunks: int, clients: int) -> None:
    table = Table(title=f"hybrid search through the gateway, {chunks} chunks, warm query vectors")
    columns = ("engine", "1 client p50/p95/p99 ms", f"{clients} clients p50/p95 ms", "queries/s")
    for column in (*columns, "recall@10 vs exact", "index build s"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    exact = next(iter(figures.values())).answers
    for name, f in figures.items():
        recall = statistics.fmean(
            sum((got & want).values()) / max(1, sum(want.values()))
            for got, want in zip(f.answers, exact, strict=True)
        )
        table.add_row(
            name,
            "/".join(f"{percentile(f.single, p):.1f}" for p in (0.50, 0.95, 0.99)),
            "/".join(f"{percentile(f.many, p):.1f}" for p in (0.50, 0.95)),
            f"{f.many_qps:.0f}",
            f"{recall:.3f}",
            "" if f.build_s is None else f"{f.build_s:.0f}",
        )
    console.print(table)
    for name, f in figures.items():
        quality = ", ".join(f"{labelled} {value:.4f}" for labelled, value in f.ndcg.items())
        memory = ", ".join(f"{process} {mib:.0f} ({anon:.0f})" for process, (mib, anon) in f.rss_mib.items())
        console.print(f"{name}: nDCG@10 {quality}; RSS MiB (anonymous) {memory}", highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=50_000, help="index at least this many chunks")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--queries", type=int, default=800, help="distinct queries per phase")
    parser.add_argument("--raw-texts", type=int, default=1500, help="chunk texts for the raw embeddings rate")
    parser.add_argument(
        "--corpus",
        choices=("growing", "retrieval"),
        default="growing",
        help="growing: manuals and Python sources up to --chunks; retrieval: the engine paths compared",
    )
    parser.add_argument("--copies", type=int, default=4, help="copies of the retrieval corpus")
    parser.add_argument(
        "--ef",
        type=lambda value: [int(v) for v in value.split(",")],
        default=[128],
        help="HNSW ef values to measure the replicas at (comma-separated)",
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parser.parse_args()
    asyncio.run(compare_engines(args) if args.corpus == "retrieval" else main_async(args))


if __name__ == "__main__":
    main()
