"""Retrieval quality of aidb's keyword, vector and hybrid search, through the real stack.

Run: .venv/bin/python -m bench.retrieval_quality [--sets scifact,pgdocs,identifiers] [--limit-queries N]

Starts the whole stack with scripts/ai-stack-startup.sh, writes each labelled set's documents
through the gateway (bench.labelled_sets: BEIR SciFact's test split; the PostgreSQL 15 manual
with its questions; identifier queries over the Python 3.11 and PostgreSQL 15 manuals), waits for
indexing, then asks every query in each mode, one result per document (`group_by: document`).
Prints nDCG@10 (graded) and recall@10 per set and mode, whether hybrid is at least as good as
each of its signals, the search latency per mode, and a sweep of fusion settings.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from bench.labelled_sets import LabelledDocument, LabelledSet, load_sets
from bench.retrieval_lab import K, ndcg, recall
from bench.stack import RunningStack, ingest, open_session, post, running_stack, wait_drained
from bench.stats import percentile

MODES = ("keyword", "vector", "hybrid")


@dataclass(frozen=True)
class Placement:
    """Where a set's documents go in aidb, and how a result maps back to a labelled id."""

    collection: str
    project: str
    prefix: str = ""  # the labelled id is prefix + path


def placement(set_name: str, document_id: str) -> Placement:
    if set_name == "scifact":
        return Placement("scifact", "scifact")
    if document_id.startswith("py:"):
        return Placement("docs", "python-3.11", "py:")
    # The manual is written once; the identifier set names its pages "pg:<page>".
    return Placement("docs", "postgresql-15", "pg:" if set_name == "identifiers" else "")


def aidb_document(set_name: str, document: LabelledDocument) -> dict[str, Any]:
    where = placement(set_name, document.id)
    return {
        "collection": where.collection,
        "project": where.project,
        "path": document.id.removeprefix(where.prefix),
        "title": document.title,
        "content_type": "text/markdown" if document.markdown else "text/plain",
        "content": document.content,
    }


def search_scope(labelled: LabelledSet) -> dict[str, Any]:
    if labelled.name == "scifact":
        return {"collections": ["scifact"], "project": "scifact"}
    if labelled.name == "pgdocs":
        return {"collections": ["docs"], "project": "postgresql-15"}
    return {"collections": ["docs"]}


def labelled_id(set_name: str, result: dict[str, Any]) -> str:
    if set_name == "identifiers":
        return ("py:" if result["project"] == "python-3.11" else "pg:") + result["path"]
    return str(result["path"])


# Hybrid fusion settings tried after the main run (rrf_k, dense_weight, keyword_weight): the
# first is aidb's default; the others show whether a different default would rank better.
FUSION_GRID = (
    (60.0, 1.0, 1.0),
    (20.0, 1.0, 1.0),
    (120.0, 1.0, 1.0),
    (60.0, 1.0, 1.5),
    (60.0, 1.5, 1.0),
)


@dataclass
class Scores:
    ndcg: float
    recall: float
    latency_ms: list[float]


async def evaluate(
    stack: RunningStack,
    session: aiohttp.ClientSession,
    labelled: LabelledSet,
    settings: dict[str, dict[str, Any]],
    limit_queries: int,
) -> dict[str, Scores]:
    queries = labelled.queries[: limit_queries or None]
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in settings}
    latency: dict[str, list[float]] = {name: [] for name in settings}
    for query in queries:
        for name, extra in settings.items():
            body = {
                "query": query.text,
                "limit": K,
                "group_by": "document",
                **search_scope(labelled),
                **extra,
            }
            started = time.perf_counter()
            answer = await post(session, f"{stack.base_url}/aidb/search", body)
            latency[name].append((time.perf_counter() - started) * 1000)
            if answer["degraded"]:
                raise RuntimeError(f"search degraded: {answer.get('reason')}")
            ranked = [labelled_id(labelled.name, r) for r in answer["results"]]
            found[name].append((ndcg(ranked, query.relevant), recall(ranked, query.relevant)))
    return {
        name: Scores(statistics.fmean(n for n, _ in s), statistics.fmean(r for _, r in s), latency[name])
        for name, s in found.items()
    }


def fusion_settings() -> dict[str, dict[str, Any]]:
    return {
        f"rrf k={k:g} dense weight {dw:g} keyword weight {kw:g}": {
            "mode": "hybrid",
            "rrf_k": k,
            "dense_weight": dw,
            "keyword_weight": kw,
        }
        for k, dw, kw in FUSION_GRID
    }


def report(
    console: Console, labelled: LabelledSet, modes: dict[str, Scores], fusion: dict[str, Scores]
) -> None:
    table = Table(
        title=f"{labelled.name}: {len(labelled.queries)} queries, {len(labelled.documents)} documents"
    )
    for column in ("mode", f"nDCG@{K}", f"recall@{K}", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, score in modes.items():
        table.add_row(
            mode,
            f"{score.ndcg:.3f}",
            f"{score.recall:.3f}",
            f"{statistics.median(score.latency_ms):.1f}",
            f"{percentile(score.latency_ms, 0.95):.1f}",
        )
    console.print(table)
    for metric in ("ndcg", "recall"):
        hybrid = getattr(modes["hybrid"], metric)
        below = [m for m in ("keyword", "vector") if getattr(modes[m], metric) > hybrid]
        console.print(
            f"hybrid {metric} ≥ each signal: {'yes' if not below else 'NO, below ' + ', '.join(below)}"
        )
    sweep = Table(title=f"{labelled.name}: hybrid fusion settings (the first is aidb's default)")
    for column in ("setting", f"nDCG@{K}", f"recall@{K}"):
        sweep.add_column(column, justify="left" if column == "setting" else "right")
    for name, score in fusion.items():
        sweep.add_row(name, f"{score.ndcg:.3f}", f"{score.recall:.3f}")
    console.print(sweep)


async def main_async(args: argparse.Namespace) -> None:
    console = Console(width=120)
    sets = load_sets(args.sets.split(","))
    documents: dict[tuple[str, str, str], dict[str, Any]] = {}
    for labelled in sets:
        for document in labelled.documents:
            body = aidb_document(labelled.name, document)
            documents[(body["collection"], body["project"], body["path"])] = body
    with running_stack() as stack:
        async with open_session(stack) as session:
            for collection in sorted({d["collection"] for d in documents.values()}):
                async with session.post(
                    f"{stack.base_url}/aidb/collections", json={"name": collection}
                ) as made:
                    if made.status not in (201, 409):  # 409: it exists (docs is created at start)
                        raise RuntimeError(f"creating {collection}: {made.status} {await made.text()}")
            started = time.perf_counter()
            refused = await ingest(stack, session, list(documents.values()))
            status = await wait_drained(session, stack, timeout_s=7200)
            elapsed = time.perf_counter() - started
            chunks = sum(c["chunks_indexed"] for c in status["collections"].values())
            console.print(
                f"indexed {len(documents) - refused} documents ({refused} refused), {chunks} chunks"
                f" in {elapsed:.0f} s ({chunks / elapsed:.1f} chunks/s)"
            )
            for labelled in sets:
                modes = await evaluate(
                    stack, session, labelled, {m: {"mode": m} for m in MODES}, args.limit_queries
                )
                fusion = await evaluate(stack, session, labelled, fusion_settings(), args.limit_queries)
                report(console, labelled, modes, fusion)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default="scifact,pgdocs,identifiers")
    parser.add_argument(
        "--limit-queries", type=int, default=0, help="use only the first N queries of each set"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
