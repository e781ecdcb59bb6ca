"""aidb at scale: ingestion throughput and hybrid search latency through the gateway.

Run: .venv/bin/python -m bench.search_latency [--chunks 50000] [--clients 16] [--queries 800]

Starts the whole stack with scripts/ai-stack-startup.sh (embedded qdrant-edge engine), then:
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
from pathlib import Path
from typing import Any

import aiohttp
from ai_stack.aidb.app import make_chunker
from ai_stack.aidb.settings import AidbSettings
from rich.console import Console
from rich.table import Table

from bench.aidb_corpus import labelled_queries, pg_doc_documents, python_source_documents
from bench.corpus import docstring_sentences
from bench.stack import RunningStack, ingest, open_session, post, running_stack, wait_drained
from bench.stats import percentile

SLICE = 400  # documents written between two chunk counts


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
    with running_stack(AI_STACK_AIDB_LOG_LEVEL="WARNING", AI_STACK_EMBEDDINGS_LOG_LEVEL="WARNING") as stack:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=50_000, help="index at least this many chunks")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--queries", type=int, default=800, help="distinct queries per phase")
    parser.add_argument("--raw-texts", type=int, default=1500, help="chunk texts for the raw embeddings rate")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
