"""An in-place `reindex` of a large store, with search measured throughout.

Run: .venv/bin/python -m bench.reindex_live [--copies 2] [--clients 4] [--baseline-s 60]

Starts the whole stack with scripts/ai-stack-startup.sh, writes the retrieval benchmark's corpus
(bench.labelled_sets: BEIR SciFact, the PostgreSQL 15 manual, Python 3.11 manual pages; 25,918
chunks) `--copies` times, each copy in projects of its own (the copies' vectors come from the
embeddings service's cache, so the store reaches ~52,000 chunks in the time of one), then:

1. Baseline: `--clients` clients ask SciFact's claims as hybrid searches for `--baseline-s`
   seconds (each request a new page size, so aidb's result cache does not answer).
2. `POST /aidb/reindex` (in place: every document re-encoded where it is), the clients going on
   until the outbox is empty: per 10 s window, requests, errors, degraded answers, p50 and p99.
3. SciFact hybrid nDCG@10 before and after: the same store must give the same answers.

Prints the reindex's duration and chunks/s. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from bench.labelled_sets import LabelledSet, load_sets
from bench.retrieval_lab import K, ndcg
from bench.retrieval_quality import aidb_document, labelled_id
from bench.stack import RunningStack, ingest, open_session, post, running_stack, wait_drained
from bench.stats import percentile

WINDOW_S = 10.0


@dataclass
class Window:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    degraded: int = 0


@dataclass
class Sampler:
    """Clients asking hybrid searches, their outcomes kept per 10 s window from `started`."""

    stack: RunningStack
    session: aiohttp.ClientSession
    scifact: LabelledSet
    started: float = field(default_factory=time.perf_counter)
    windows: dict[int, Window] = field(default_factory=dict)
    running: bool = True
    sent: int = 0

    def _window(self) -> Window:
        return self.windows.setdefault(int((time.perf_counter() - self.started) // WINDOW_S), Window())

    async def client(self, offset: int) -> None:
        queries = self.scifact.queries
        position = offset
        while self.running:
            query = queries[position % len(queries)]
            # A page size per pass: the same request twice would be answered by aidb's result cache.
            limit = 10 + (position // len(queries)) % 40
            position += 1
            body = {
                "query": query.text,
                "limit": limit,
                "collections": ["scifact"],
                "project": "scifact",
                "group_by": "document",
            }
            began = time.perf_counter()
            try:
                async with self.session.post(f"{self.stack.base_url}/aidb/search", json=body) as response:
                    answer = await response.json()
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok, answer = False, {}
            window = self._window()
            if not ok:
                window.errors += 1
                continue
            window.latencies_ms.append((time.perf_counter() - began) * 1000)
            window.degraded += bool(answer.get("degraded"))


async def scifact_ndcg(stack: RunningStack, session: aiohttp.ClientSession, scifact: LabelledSet) -> float:
    scores = []
    for query in scifact.queries:
        body = {
            "query": query.text,
            "limit": K,
            "collections": ["scifact"],
            "project": "scifact",
            "group_by": "document",
        }
        answer = await post(session, f"{stack.base_url}/aidb/search", body)
        scores.append(ndcg([labelled_id("scifact", r) for r in answer["results"]], query.relevant))
    return statistics.fmean(scores)


def corpus(sets: list[LabelledSet], copies: int) -> list[list[dict[str, Any]]]:
    """One list of aidb documents per copy (copy n > 0 in projects suffixed `-copy<n>`)."""
    first: dict[tuple[str, str, str], dict[str, Any]] = {}
    for labelled in sets:
        for document in labelled.documents:
            body = aidb_document(labelled.name, document)
            first[(body["collection"], body["project"], body["path"])] = body
    return [
        [{**body, "project": body["project"] + (f"-copy{n}" if n else "")} for body in first.values()]
        for n in range(copies)
    ]


def window_table(title: str, windows: dict[int, Window]) -> Table:
    table = Table(title=title)
    for column in ("window", "requests", "errors", "degraded", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for index in sorted(windows):
        window = windows[index]
        latencies = window.latencies_ms or [float("nan")]
        table.add_row(
            f"{index * WINDOW_S:.0f}-{(index + 1) * WINDOW_S:.0f} s",
            str(len(window.latencies_ms) + window.errors),
            str(window.errors),
            str(window.degraded),
            f"{statistics.median(latencies):.1f}",
            f"{percentile(latencies, 0.99):.1f}",
        )
    return table


async def main_async(args: argparse.Namespace) -> None:
    console = Console(width=120)
    sets = load_sets(["scifact", "pgdocs", "identifiers"])
    (scifact,) = [s for s in sets if s.name == "scifact"]
    with running_stack() as stack:
        async with open_session(stack, connections=args.clients + 8) as session:
            async with session.post(f"{stack.base_url}/aidb/collections", json={"name": "scifact"}) as made:
                if made.status not in (201, 409):
                    raise RuntimeError(f"creating scifact: {made.status} {await made.text()}")
            for n, documents in enumerate(corpus(sets, args.copies)):
                started = time.perf_counter()
                refused = await ingest(stack, session, documents)
                status = await wait_drained(session, stack, timeout_s=7200)
                chunks = sum(c["chunks_indexed"] for c in status["collections"].values())
                console.print(
                    f"copy {n}: {len(documents) - refused} documents in"
                    f" {time.perf_counter() - started:.0f} s; the store holds {chunks} chunks"
                )
            before = await scifact_ndcg(stack, session, scifact)

            sampler = Sampler(stack, session, scifact)
            clients = [asyncio.create_task(sampler.client(i * 37)) for i in range(args.clients)]
            await asyncio.sleep(args.baseline_s)
            baseline = dict(sampler.windows)
            sampler.windows, sampler.started = {}, time.perf_counter()
            reindex_started = time.perf_counter()
            queued = await post(session, f"{stack.base_url}/aidb/reindex", {})
            status = await wait_drained(session, stack, timeout_s=7200)
            reindex_s = time.perf_counter() - reindex_started
            sampler.running = False
            await asyncio.gather(*clients)
            chunks = sum(c["chunks_indexed"] for c in status["collections"].values())
            after = await scifact_ndcg(stack, session, scifact)

    console.print(window_table(f"before: {args.clients} clients, hybrid SciFact searches", baseline))
    console.print(window_table("during the reindex", sampler.windows))
    during = [ms for w in sampler.windows.values() for ms in w.latencies_ms]
    errors = sum(w.errors for w in sampler.windows.values())
    console.print(
        f"reindex of {queued['queued']} documents, {chunks} chunks: {reindex_s:.0f} s"
        f" ({chunks / reindex_s:.0f} chunks/s); searches during it: {len(during)},"
        f" errors {errors}, p50 {statistics.median(during):.1f} ms, p99 {percentile(during, 0.99):.1f} ms"
    )
    console.print(f"SciFact hybrid nDCG@10 before {before:.4f}, after {after:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--baseline-s", type=float, default=60.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
