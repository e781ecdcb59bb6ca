"""Retrieval quality of aidb's keyword, vector and hybrid search over the PostgreSQL 15 manual.

Run: .venv/bin/python -m bench.retrieval_quality [--limit-queries N]

Starts the whole stack with scripts/ai-stack-startup.sh, writes every page of Debian's
`postgresql-doc-15` HTML manual through the gateway, waits for indexing, then asks the labelled
queries of bench/data/pg_doc_queries.json (written as users ask, labels checked against the
pages) in each mode. Results are chunks; a page counts once, at its best rank. Prints recall@10
and nDCG@10 (binary relevance) per mode, and whether hybrid is at least as good as the better
single signal.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from bench.aidb_corpus import labelled_queries, pg_doc_documents
from bench.stack import RunningStack, ingest, open_session, post, running_stack, wait_drained

MODES = ("keyword", "vector", "hybrid")
K = 10


def top_pages(results: list[dict[str, Any]], k: int = K) -> list[str]:
    """Distinct page paths in rank order (a page's first chunk decides its rank)."""
    pages: list[str] = []
    for result in results:
        if result["path"] not in pages:
            pages.append(result["path"])
    return pages[:k]


def recall_at_k(ranked: list[str], relevant: list[str], k: int = K) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def ndcg_at_k(ranked: list[str], relevant: list[str], k: int = K) -> float:
    gains = sum(1 / math.log2(i + 2) for i, page in enumerate(ranked[:k]) if page in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return gains / ideal


# Hybrid fusion settings tried after the main run (rrf_k, dense_weight, keyword_weight): the
# first is aidb's default; the others show whether a different default would rank better.
FUSION_GRID = (
    (60.0, 1.0, 1.0),
    (20.0, 1.0, 1.0),
    (120.0, 1.0, 1.0),
    (60.0, 1.5, 1.0),
    (60.0, 1.0, 1.5),
    (20.0, 1.5, 1.0),
    (20.0, 1.0, 1.5),
)


async def evaluate(
    stack: RunningStack,
    session: aiohttp.ClientSession,
    queries: list[dict[str, Any]],
    settings: dict[str, dict[str, Any]],
) -> dict[str, dict[str, float]]:
    """Mean recall@K and nDCG@K per named search setting (a mode plus fusion parameters)."""
    scores: dict[str, dict[str, list[float]]] = {n: {"recall": [], "ndcg": []} for n in settings}
    for item in queries:
        for name, extra in settings.items():
            body = {"query": item["query"], "collections": ["docs"], "limit": 50, **extra}
            found = await post(session, f"{stack.base_url}/aidb/search", body)
            if found["degraded"]:
                raise RuntimeError(f"search degraded: {found.get('reason')}")
            ranked = top_pages(found["results"])
            scores[name]["recall"].append(recall_at_k(ranked, item["relevant"]))
            scores[name]["ndcg"].append(ndcg_at_k(ranked, item["relevant"]))
    return {n: {metric: statistics.fmean(v) for metric, v in s.items()} for n, s in scores.items()}


def fusion_settings() -> dict[str, dict[str, Any]]:
    return {
        f"k={k:g} dense weight {dw:g} keyword weight {kw:g}": {
            "mode": "hybrid",
            "rrf_k": k,
            "dense_weight": dw,
            "keyword_weight": kw,
        }
        for k, dw, kw in FUSION_GRID
    }


async def main_async(args: argparse.Namespace) -> None:
    console = Console()
    documents = pg_doc_documents()
    queries = labelled_queries()[: args.limit_queries or None]
    with running_stack() as stack:
        async with open_session(stack) as session:
            started = time.perf_counter()
            await ingest(stack, session, documents)
            status = await wait_drained(session, stack, timeout_s=3600)
            elapsed = time.perf_counter() - started
            chunks = status["collections"]["docs"]["chunks_indexed"]
            console.print(
                f"indexed {len(documents)} pages, {chunks} chunks in {elapsed:.0f} s"
                f" ({chunks / elapsed:.1f} chunks/s)"
            )
            results = await evaluate(stack, session, queries, {m: {"mode": m} for m in MODES})
            fusion = await evaluate(stack, session, queries, fusion_settings())
    table = Table(title=f"PostgreSQL 15 manual, {len(queries)} labelled queries (page level)")
    table.add_column("mode")
    table.add_column(f"recall@{K}", justify="right")
    table.add_column(f"nDCG@{K}", justify="right")
    for mode in MODES:
        table.add_row(mode, f"{results[mode]['recall']:.3f}", f"{results[mode]['ndcg']:.3f}")
    console.print(table)
    for metric in ("recall", "ndcg"):
        best_single = max(results["keyword"][metric], results["vector"][metric])
        verdict = "yes" if results["hybrid"][metric] >= best_single else "NO"
        console.print(f"hybrid {metric} ≥ better single signal ({best_single:.3f}): {verdict}")
    sweep = Table(title="hybrid fusion settings (the first is aidb's default)")
    sweep.add_column("setting")
    sweep.add_column(f"recall@{K}", justify="right")
    sweep.add_column(f"nDCG@{K}", justify="right")
    for name, score in fusion.items():
        sweep.add_row(name, f"{score['recall']:.3f}", f"{score['ndcg']:.3f}")
    console.print(sweep)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit-queries", type=int, default=0, help="use only the first N queries")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
