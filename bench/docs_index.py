"""docs-search's figures: indexing rate of a real manual against the raw embedding rate, option
name lookups, and free-text search through the gateway with 1 and 16 clients.

Run: .venv/bin/python -m bench.docs_index [--pages N] [--options 20000] [--queries 200]

Starts the stack (scripts/ai-stack-startup.sh) and, through the TLS gateway with an API key:
1. raw embedding rate: a sample of the manual's section texts sent to /embeddings/embed (bulk
   priority, as aidb's indexer sends them; caches emptied first), texts/s;
2. the PostgreSQL 15 HTML manual (Debian's postgresql-doc-15; `--pages` copies only the first N
   pages) added as an `html` source: seconds until the sync stored every section, and until aidb
   indexed every chunk; sections/s and chunks/s, and the ratio of chunks/s to the raw rate;
3. a second sync of the unchanged manual: seconds, and texts the model encoded (should be 0);
4. a generated options.json of `--options` options: sync time, then exact-name lookups
   (POST /docs/options/search) and GET /docs/options/{name}, p50/p95 of `--queries` each;
5. free-text /docs/search (hybrid, warm query vectors) p50/p95 with 1 client and 16 clients.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.stack import RunningStack, open_session, post, running_stack, wait_drained
from bench.stats import percentile
from tests.fixtures.docs.generate_options import generate_options

PG_HTML = Path("/usr/share/doc/postgresql-doc-15/html")
QUESTIONS = [
    "delete rows that reference a deleted row",
    "how to create a partial index",
    "change the owner of a table",
    "restore a dump with pg_restore in parallel",
    "what does vacuum full do",
    "configure streaming replication standby",
    "row level security policy for a role",
    "json path query operators",
    "explain analyze buffers output",
    "lock timeout for a statement",
    "create a materialized view and refresh it concurrently",
    "generated columns stored",
    "listen and notify between sessions",
    "set the default transaction isolation level",
    "full text search ranking functions",
    "partition a table by range of dates",
]


def timing_line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{name}: p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms ({len(ms)} calls)"


async def get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        answer = await response.json()
        if response.status >= 400:
            raise RuntimeError(f"{url} answered {response.status}: {answer}")
        return answer


async def embedded_texts(stack: RunningStack, session: aiohttp.ClientSession) -> float:
    """The embeddings service's count of texts encoded (sum of its batch sizes), via its /metrics."""
    port = stack.env["AI_STACK_EMBEDDINGS_PORT"]
    url = f"http://127.0.0.1:{port}/metrics"
    async with session.get(url, ssl=False, headers=stack.secret_headers()) as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("embeddings_batch_size_sum")
    )


async def synced(stack: RunningStack, session: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    while True:
        view = await get(session, f"{stack.base_url}/docs/sources/{name}")
        if view["status"]["state"] not in ("syncing", "never"):
            if view["status"]["state"] != "ok":
                raise RuntimeError(f"sync of {name} failed: {view['status']}")
            return dict(view["status"])
        await asyncio.sleep(0.5)


async def raw_embedding_rate(stack: RunningStack, session: aiohttp.ClientSession, texts: list[str]) -> float:
    stack.flush_redis()
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        await post(
            session,
            f"{stack.base_url}/embeddings/embed",
            # Cut at the model limit, as aidb chunks are: the rate is per chunk-sized text.
            {"inputs": texts[start : start + 32], "normalize": True, "priority": "bulk", "truncate": True},
        )
    return len(texts) / (time.perf_counter() - started)


def manual_sample(pages: list[Path], count: int) -> list[str]:
    """Section-sized texts of the manual (the stored sections' shape: heading line, then text)."""
    from ai_stack.docs_search.parsers.dispatch import parse_source

    with tempfile.TemporaryDirectory() as scratch:
        for page in pages[:60]:
            shutil.copy(page, Path(scratch) / page.name)
        parsed = parse_source("html", scratch)
    texts = [f"{' > '.join(s.heading_path)}\n\n{s.text}"[:1500] for s in parsed.sections]
    random.Random(3).shuffle(texts)
    return texts[:count]


# The same question to docs-search, and straight to aidb (the reference: what docs-search adds is
# the difference). docs-search asks aidb for 3x the limit, to keep one hit per section.
ROUTES = {
    "docs-search /docs/search (limit 10)": ("/docs/search", {"limit": 10}),
    "aidb /aidb/search (limit 10)": ("/aidb/search", {"limit": 10, "collections": ["docs"]}),
    "aidb /aidb/search (limit 30)": ("/aidb/search", {"limit": 30, "collections": ["docs"]}),
}


async def timed_queries(
    stack: RunningStack, session: aiohttp.ClientSession, queries: list[str], clients: int, route: str
) -> tuple[list[float], float]:
    timings: list[float] = []
    pending = list(queries)
    path, extra = ROUTES[route]

    async def worker() -> None:
        while pending:
            query = pending.pop()
            started = time.perf_counter()
            await post(session, f"{stack.base_url}{path}", {"query": query, **extra})
            timings.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return timings, len(queries) / (time.perf_counter() - started)


def copy_manual(manual: Path, pages: list[Path]) -> None:
    manual.mkdir()
    for page in pages:
        shutil.copy(page, manual / page.name)
    for extra in PG_HTML.glob("*.css"):
        shutil.copy(extra, manual / extra.name)


async def measure(stack: RunningStack, sources: Path, args: argparse.Namespace) -> None:
    pages = sorted(await asyncio.to_thread(lambda: list(PG_HTML.glob("*.html"))))
    manual = sources / "pg-html"
    copy_manual(manual, pages[: args.pages] if args.pages else pages)
    async with open_session(stack) as session:
        sample = manual_sample(pages, 400)
        rate = await raw_embedding_rate(stack, session, sample)
        print(f"raw embedding rate (manual section texts, bulk priority): {rate:.1f} texts/s")

        body = {"name": "pg", "kind": "html", "location": str(manual), "schedule": "manual"}
        started = time.perf_counter()
        await post(session, f"{stack.base_url}/docs/sources", body)
        status = await synced(stack, session, "pg")
        stored_s = time.perf_counter() - started
        index = await wait_drained(session, stack, 7200)
        indexed_s = time.perf_counter() - started
        chunks = index["collections"]["docs"]["chunks"]
        sections = status["sections"]
        print(
            f"manual: {len(list(manual.glob('*.html')))} pages, {sections} sections, {chunks} chunks, "
            f"version {status['version']}, {status['error_count']} errors"
        )
        print(f"  stored in {stored_s:.1f} s ({sections / stored_s:.0f} sections/s, parse included)")
        print(
            f"  indexed in {indexed_s:.1f} s: {sections / indexed_s:.1f} sections/s, "
            f"{chunks / indexed_s:.1f} chunks/s = {chunks / indexed_s / rate:.2f} x the raw embedding rate"
        )
        before = await embedded_texts(stack, session)
        started = time.perf_counter()
        await post(session, f"{stack.base_url}/docs/sources/pg/sync", {})
        again = await synced(stack, session, "pg")
        resync_s = time.perf_counter() - started
        await wait_drained(session, stack, 600)
        encoded = await embedded_texts(stack, session) - before
        print(
            f"second sync of the unchanged manual: {resync_s:.1f} s, {again['counts']['unchanged']} "
            f"unchanged, {encoded:.0f} texts encoded"
        )

        options = generate_options(args.options, seed=11)
        await asyncio.to_thread((sources / "options.json").write_text, json.dumps(options))
        started = time.perf_counter()
        body = {"name": "opts", "kind": "nixos-options", "location": str(sources / "options.json"),
                "schedule": "manual"}  # fmt: skip
        await post(session, f"{stack.base_url}/docs/sources", body)
        status = await synced(stack, session, "opts")
        print(f"options: {status['sections']} synced (stored) in {time.perf_counter() - started:.1f} s")
        names = random.Random(5).sample(sorted(options), min(args.queries, len(options)))
        timings = []
        for name in names:
            started = time.perf_counter()
            answer = await post(session, f"{stack.base_url}/docs/options/search", {"query": name})
            timings.append(time.perf_counter() - started)
            if answer["match"] != "exact":
                raise RuntimeError(f"{name}: {answer}")
        print(timing_line("option name lookup (POST /docs/options/search, exact)", timings))
        timings = []
        for name in names:
            started = time.perf_counter()
            await get(session, f"{stack.base_url}/docs/options/{name}")
            timings.append(time.perf_counter() - started)
        print(timing_line("GET /docs/options/{name}", timings))
        await wait_drained(session, stack, 7200)

        # aidb's result cache is off in this run (see main): every query is searched, with its
        # vector warm in the embeddings cache.
        queries = (QUESTIONS * (args.queries // len(QUESTIONS) + 1))[: args.queries]
        await post(session, f"{stack.base_url}/embeddings/embed", {"inputs": QUESTIONS})
        for clients in (1, 16):
            for route in ROUTES:
                timings, throughput = await timed_queries(stack, session, queries, clients, route)
                print(timing_line(f"{route}, {clients} client(s), {throughput:.0f} queries/s", timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=0, help="only the first N pages of the manual (0: all)")
    parser.add_argument("--options", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sources = Path(tempfile.mkdtemp(prefix="ai-stack-bench-docs-"))
    try:
        roots = json.dumps([str(sources)])
        no_result_cache = {"AI_STACK_AIDB_RESULTS_CACHE_TTL_S": "0"}
        with running_stack(AI_STACK_DOCS_SOURCE_ROOTS=roots, **no_result_cache) as stack:
            asyncio.run(measure(stack, sources, args))
    finally:
        shutil.rmtree(sources, ignore_errors=True)


if __name__ == "__main__":
    main()
