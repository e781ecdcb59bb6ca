"""hybrid-coordinator's augment_query through the gateway, over memories and knowledge in aidb.

Run: .venv/bin/python -m bench.augment_latency [--items 20000] [--queries 800] [--single 200]
     [--clients 16] [--budget 1500]

Starts the whole stack with scripts/ai-stack-startup.sh, then:
1. Loads `--items` items through /aidb/documents/bulk, all in project `bench`: half agent memories
   (made-up facts, preferences, decisions, error fixes, patterns and notes about many services and
   projects) in hybrid's storage layout in collection `memories` (current), half knowledge
   passages (several paragraphs of Debian's PostgreSQL 15 manual, then of the standard library's
   docstrings) in collection `docs`; waits until aidb has indexed them all.
2. Asks `POST /hybrid/augment_query {query, project: bench, sources: [memories, docs],
   token_budget: --budget}` with distinct questions on the same vocabulary (and the manual's
   labelled questions), each once per phase:
   - warm, 1 client: the first `--single` questions one after another; every cache was emptied and
     then the query vectors alone were put back (/embeddings/embed), so aidb searches for real;
   - hot, 1 client: the same requests again at once (aidb's result pages come from Redis);
   - warm and hot with `--clients` concurrent clients, every question.
   p50/p95/p99/mean ms, requests/s, and the mean prompt tokens and context items per answer.
3. The server-side split: the two aidb searches hybrid sends per request (current memories; the
   knowledge collection), sent together straight to /aidb/search, warm, with 1 and `--clients`
   clients: how much of augment is aidb.
4. The system this replaces (measured elsewhere, not here: 1,668 ms mean, 2,200 ms p95), our ratio
   to it, and whether the targets hold (warm p95: 1 client <= 50 ms, `--clients` <= 250 ms).
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from ai_stack.hybrid import records
from ai_stack.hybrid.settings import HybridSettings
from rich.console import Console
from rich.table import Table

from bench.aidb_corpus import labelled_queries, pg_doc_documents
from bench.corpus import docstring_sentences
from bench.stack import RunningStack, ingest, open_session, post, running_stack, wait_drained
from bench.stats import percentile

PROJECT = "bench"
MEMORIES = "memories"
KNOWLEDGE = "docs"
SLICE = 2000  # documents written between two progress lines
REFERENCE_MEAN_MS = 1668.0
REFERENCE_P95_MS = 2200.0
TARGET_SINGLE_P95_MS = 50.0
TARGET_CONCURRENT_P95_MS = 250.0
PASSAGE_CHARS = 300  # a passage is prose paragraphs up to at least this long,
PARAGRAPH_MAX_CHARS = 1200  # each at most this long, so most passages are one chunk
DOCSTRING_SENTENCES_PER_PASSAGE = 4
# tokens, memories, knowledge: means per answer (prompt tokens, context items from each collection)
COLUMNS = "phase|requests|p50 ms|p95 ms|p99 ms|mean ms|requests/s|tokens|memories|knowledge".split("|")

DOMAINS = (
    "billing checkout inventory search auth ledger notification shipping catalog pricing reporting media"
    " payments analytics scheduler profile recommendation fraud onboarding invoice audit export identity"
).split()
ROLES = "api worker service sync pipeline exporter indexer proxy gateway cron".split()
PROJECTS = (
    "atlas borealis cobalt delta ember fjord granite harbor iris juniper kestrel lumen meridian nimbus"
    " orchid pioneer quartz rivet sierra tundra"
).split()
STORES = ("PostgreSQL", "Redis", "Kafka", "S3", "ClickHouse", "Elasticsearch", "SQLite", "RabbitMQ")
TEAMS = ("platform", "payments", "growth", "data", "infra", "mobile", "search", "security")
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1")
LIBS = ("httpx", "aiohttp", "SQLAlchemy", "pydantic", "celery", "boto3", "grpcio", "psycopg")
REASONS = ("lock contention", "cost", "replication lag", "slow failover", "missing backups", "disk growth")

MEMORY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "fact": (
        "{svc} in project {proj} listens on port {port} and keeps its state in {store}.",
        "The {proj} deployment of {svc} runs {n} replicas in {region}.",
        "{svc} reaches {store} through a pool of {n} connections with a {secs}-second pool timeout.",
        "Nightly backups of {svc}'s {store} data for {proj} start at {hour}:00 UTC and take {mins} minutes.",
        "The {team} team owns {svc}; page them through the {proj} on-call rotation.",
        "{svc} pins {lib} to {ver} because newer releases changed the retry behaviour.",
    ),
    "preference": (
        "For {proj}, the user prefers Python with strict type hints for new tooling around {svc}.",
        "The {team} team wants JSON logs with request ids from {svc}, at level WARNING in {region}.",
        "Changes to {svc} should stay under {n} lines per pull request, with a migration note for {proj}.",
        "The {team} team prefers feature flags over long-lived branches when releasing {svc}.",
    ),
    "decision": (
        "Decided in {proj}: {svc} moves from {store} to {store2} because of {reason}.",
        "Calls from {svc} to {svc2} use a {secs}-second timeout and {n} retries with exponential backoff.",
        "Decision for {proj}: {svc} caches lookups in Redis for {mins} minutes instead of asking {store}.",
        "{svc} ships with blue-green releases in {region}; the canary gets {pct}% of traffic for {mins} min.",
    ),
    "error_solution": (
        "{svc} failed with connection refused to {store} after the {proj} upgrade: the port moved to {port}.",
        "Timeouts in {svc} ({proj}): the {store} pool ran out at {n} connections; {n2} fixed it.",
        "OOM kills of {svc} in {region} came from unbounded batches; capping them at {n} items fixed it.",
        "{svc} answered 502 behind the gateway: its keepalive of {secs}s was below the proxy's; raised it.",
        "TLS errors between {svc} and {svc2}: an expired certificate; renewal now runs every {days} days.",
    ),
    "pattern": (
        "To add an endpoint to {svc}: define the schema, register the route, add a contract test in {proj}.",
        "Migrations of {svc} run before deploys, are reversible and take under {secs} seconds on {store}.",
        "{svc} reads its configuration from variables prefixed {envp}_, validated at startup.",
    ),
    "note": (
        "{svc} in {proj} had {n} incidents last quarter, mostly {reason}.",
        "Load test of {svc}: {rps} requests per second at p95 {ms} ms on {cores} cores in {region}.",
        "The {proj} roadmap moves {svc} to {region} and off {store} by Q{quarter}.",
    ),
}
QUESTION_TEMPLATES = (
    "what port does {svc} listen on in {proj}?",
    "which database does {svc} use in {proj}?",
    "how many replicas of {svc} run in {region}?",
    "who owns {svc} and how do I page them?",
    "why did {svc} move away from {store}?",
    "how do I fix connection refused errors from {svc} to {store}?",
    "what timeout and retry policy should {svc} use when calling {svc2}?",
    "how should {svc} log in production?",
    "how do we release {svc} safely in {region}?",
    "why does {svc} get OOM killed?",
    "how do I add an endpoint to {svc}?",
    "how do I run database migrations for {svc} on {store}?",
    "what throughput did {svc} reach in its last load test?",
    "how should I size the {store} connection pool of {svc}?",
    "when do the backups of {svc} run and how long do they take?",
    "which {lib} version does {svc} pin, and why?",
    "what does {svc} cache in Redis, and for how long?",
    "how is {svc} configured at startup?",
)


@dataclass
class Phase:
    name: str
    latencies: list[float]
    rate: float
    seconds: float
    tokens: list[int]
    memories: list[int]
    knowledge: list[int]


def _slots(rng: random.Random) -> dict[str, Any]:
    def service() -> str:
        return f"{rng.choice(DOMAINS)}-{rng.choice(ROLES)}"

    store, store2 = rng.sample(STORES, 2)
    return {
        "svc": service(),
        "svc2": service(),
        "proj": rng.choice(PROJECTS),
        "store": store,
        "store2": store2,
        "team": rng.choice(TEAMS),
        "region": rng.choice(REGIONS),
        "lib": rng.choice(LIBS),
        "reason": rng.choice(REASONS),
        "port": rng.randrange(3000, 9999),
        "n": rng.randrange(2, 64),
        "n2": rng.randrange(64, 256),
        "secs": rng.choice((2, 3, 5, 10, 15, 30, 60)),
        "mins": rng.choice((5, 10, 15, 20, 30, 45, 90)),
        "hour": rng.randrange(24),
        "days": rng.choice((7, 14, 30, 60)),
        "pct": rng.choice((1, 2, 5, 10, 25)),
        "ver": f"{rng.randrange(1, 5)}.{rng.randrange(30)}.{rng.randrange(10)}",
        "envp": f"{rng.choice(PROJECTS).upper()}_{rng.choice(DOMAINS).upper()}",
        "rps": rng.randrange(200, 20000, 50),
        "ms": rng.randrange(5, 400),
        "cores": rng.choice((2, 4, 8, 16)),
        "quarter": rng.randrange(1, 5),
    }


def memory_documents(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """`count` distinct memories as hybrid stores them (current, project `bench`)."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    paths: set[str] = set()
    documents: list[dict[str, Any]] = []
    while len(documents) < count:
        kind = rng.choice(list(MEMORY_TEMPLATES))
        slots = _slots(rng)
        content = rng.choice(MEMORY_TEMPLATES[kind]).format(**slots)
        if records.memory_path(kind, content) in paths:
            continue  # the same aidb document: it would not add an item
        paths.add(records.memory_path(kind, content))
        source = f"session:{slots['proj']}-{rng.randrange(10**6):06d}"
        meta = records.new_metadata(kind, [slots["proj"], slots["team"]], source, now)
        doc = records.document(collection=MEMORIES, project=PROJECT, content=content, meta=meta)
        documents.append(doc.model_dump(mode="json"))
    return documents


def _prose(paragraph: str) -> bool:
    """Not a table, a code block or a heading: text an agent would be given to read."""
    if not 60 <= len(paragraph) <= PARAGRAPH_MAX_CHARS:
        return False
    return not paragraph.startswith(("|", "```", "#")) and "```" not in paragraph


def _passages() -> list[tuple[str, str, str]]:
    """(path, title, text) of knowledge passages: the manual's prose paragraphs grouped to
    PASSAGE_CHARS or more within a page, then runs of docstring sentences."""
    found: list[tuple[str, str, str]] = []
    for page in pg_doc_documents():
        current: list[str] = []
        for paragraph in re.split(r"\n\s*\n", page["content"]):
            if _prose(paragraph.strip()):
                current.append(paragraph.strip())
            if sum(map(len, current)) >= PASSAGE_CHARS:
                found.append((f"{page['path']}#{len(found)}", page["title"], "\n\n".join(current)))
                current = []
    sentences = docstring_sentences(10**6)
    step = DOCSTRING_SENTENCES_PER_PASSAGE
    for i in range(0, len(sentences) - step + 1, step):
        found.append(
            (f"python-docstrings#{i // step}", "Python standard library", " ".join(sentences[i : i + step]))
        )
    return found


def knowledge_documents(count: int) -> list[dict[str, Any]]:
    passages = _passages()
    if len(passages) < count:
        raise SystemExit(
            f"only {len(passages)} knowledge passages exist; ask for at most {2 * len(passages)} items"
        )
    return [
        {
            "collection": KNOWLEDGE,
            "project": PROJECT,
            "path": path,
            "title": title,
            "content_type": "text/markdown",
            "content": text,
        }
        for path, title, text in passages[:count]
    ]


def questions(count: int, seed: int = 23) -> list[str]:
    """`count` distinct questions: generated ones on the memories' vocabulary, every fourth one of
    the manual's labelled questions while they last."""
    rng = random.Random(seed)
    manual = [q["query"] for q in labelled_queries()]
    chosen: list[str] = []
    seen: set[str] = set()
    while len(chosen) < count:
        if len(chosen) % 4 == 3 and manual:
            text = manual.pop(0)
        else:
            text = rng.choice(QUESTION_TEMPLATES).format(**_slots(rng))
        if text not in seen:
            seen.add(text)
            chosen.append(text)
    return chosen


async def _report_indexing(stack: RunningStack, session: aiohttp.ClientSession, console: Console) -> None:
    started = time.perf_counter()
    while True:
        await asyncio.sleep(15)
        async with session.get(f"{stack.base_url}/aidb/index/status") as response:
            status = await response.json()
        chunks = sum(c["chunks"] for c in status["collections"].values())
        indexed = sum(c["chunks_indexed"] or 0 for c in status["collections"].values())
        console.print(
            f"  indexing: {status['outbox']['pending']} pending, {indexed}/{chunks} chunks indexed"
            f" ({time.perf_counter() - started:.0f} s)",
            highlight=False,
        )


async def load(
    stack: RunningStack, session: aiohttp.ClientSession, documents: list[dict[str, Any]], console: Console
) -> dict[str, Any]:
    """Writes `documents`, waits until they are indexed; the final index status."""
    async with session.post(f"{stack.base_url}/aidb/collections", json={"name": MEMORIES}) as response:
        if response.status not in (201, 409):
            raise RuntimeError(f"creating {MEMORIES} answered {response.status}: {await response.text()}")
    for start in range(0, len(documents), SLICE):
        refused = await ingest(stack, session, documents[start : start + SLICE], batch=100)
        if refused:
            raise RuntimeError(f"aidb refused {refused} documents")
        console.print(
            f"  written {min(len(documents), start + SLICE)}/{len(documents)} documents", highlight=False
        )
    reporter = asyncio.create_task(_report_indexing(stack, session, console))
    try:
        return await wait_drained(session, stack, timeout_s=3600)
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter


async def warm_vectors(stack: RunningStack, session: aiohttp.ClientSession, texts: list[str]) -> None:
    """Empties every cache, then puts back only the query vectors (as aidb asks for them)."""
    stack.flush_redis()
    for start in range(0, len(texts), 32):
        body = {"inputs": texts[start : start + 32], "normalize": True, "truncate": True}
        await post(session, f"{stack.base_url}/embeddings/embed", body)


def augment_body(query: str, budget: int) -> dict[str, Any]:
    return {"query": query, "project": PROJECT, "sources": [MEMORIES, KNOWLEDGE], "token_budget": budget}


def aidb_bodies(query: str, settings: HybridSettings) -> list[dict[str, Any]]:
    """The two searches Augmenter._search sends for `augment_body(query)` (breadth 1)."""
    common = {"query": query[:2000], "project": PROJECT, "limit": settings.per_source_limit}
    return [
        {
            **common,
            "collections": [MEMORIES],
            "filters": {"current": True},
            "explain": True,
            "include_text": True,
        },
        {**common, "collections": [KNOWLEDGE], "filters": {}, "explain": True, "include_text": True},
    ]


async def run_phase(
    name: str, stack: RunningStack, session: aiohttp.ClientSession, requests: list[Any], clients: int
) -> Phase:
    """Each request once, by `clients` concurrent clients. A request is an augment body, or a list of
    aidb search bodies sent together (timed until the last answers)."""
    queue = list(reversed(requests))
    phase = Phase(name, [], 0.0, 0.0, [], [], [])

    async def ask(body: dict[str, Any]) -> None:
        found = await post(session, f"{stack.base_url}/hybrid/augment_query", body)
        if found["degraded"]:
            raise RuntimeError(f"degraded augment: {found.get('reason')}")
        phase.tokens.append(found["token_count"])
        phase.memories.append(sum(c["collection"] == MEMORIES for c in found["context"]))
        phase.knowledge.append(sum(c["collection"] != MEMORIES for c in found["context"]))

    async def search(bodies: list[dict[str, Any]]) -> None:
        answers = await asyncio.gather(*(post(session, f"{stack.base_url}/aidb/search", b) for b in bodies))
        if any(a["degraded"] for a in answers):
            raise RuntimeError(f"degraded search: {[a.get('reason') for a in answers]}")

    async def client() -> None:
        while queue:
            request = queue.pop()
            began = time.perf_counter()
            await (search(request) if isinstance(request, list) else ask(request))
            phase.latencies.append((time.perf_counter() - began) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    phase.rate = len(requests) / phase.seconds
    return phase


async def measure(
    stack: RunningStack, session: aiohttp.ClientSession, queries: list[str], args: argparse.Namespace
) -> list[Phase]:
    settings = HybridSettings()
    single = [augment_body(q, args.budget) for q in queries[: args.single]]
    every = [augment_body(q, args.budget) for q in queries]
    n = args.clients
    phases = []
    await warm_vectors(stack, session, queries[: args.single])
    phases.append(await run_phase("augment warm, 1 client", stack, session, single, 1))
    phases.append(await run_phase("augment hot, 1 client", stack, session, single, 1))
    await warm_vectors(stack, session, queries)
    phases.append(await run_phase(f"augment warm, {n} clients", stack, session, every, n))
    phases.append(await run_phase(f"augment hot, {n} clients", stack, session, every, n))
    await warm_vectors(stack, session, queries)
    searches = [aidb_bodies(q, settings) for q in queries]
    phases.append(
        await run_phase("aidb 2 searches warm, 1 client", stack, session, searches[: args.single], 1)
    )
    await warm_vectors(stack, session, queries)
    phases.append(await run_phase(f"aidb 2 searches warm, {n} clients", stack, session, searches, n))
    return phases


def phase_table(title: str, phases: list[Phase]) -> Table:
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "phase" else "right")
    for p in phases:
        means = [f"{statistics.fmean(v):.1f}" if v else "-" for v in (p.tokens, p.memories, p.knowledge)]
        table.add_row(
            p.name,
            str(len(p.latencies)),
            f"{percentile(p.latencies, 0.50):.1f}",
            f"{percentile(p.latencies, 0.95):.1f}",
            f"{percentile(p.latencies, 0.99):.1f}",
            f"{statistics.fmean(p.latencies):.1f}",
            f"{p.rate:.1f}",
            *means,
        )
    return table


def verdicts(phases: list[Phase], clients: int) -> list[str]:
    """The reference, our ratio to it, the targets and aidb's share of augment's time."""
    by_name = {p.name: p for p in phases}
    lines = [
        f"reference, the system this replaces (measured elsewhere, not here):"
        f" {REFERENCE_MEAN_MS:,.0f} ms mean, {REFERENCE_P95_MS:,.0f} ms p95"
    ]
    for label, target in (
        ("1 client", TARGET_SINGLE_P95_MS),
        (f"{clients} clients", TARGET_CONCURRENT_P95_MS),
    ):
        warm = by_name[f"augment warm, {label}"]
        mean, p95 = statistics.fmean(warm.latencies), percentile(warm.latencies, 0.95)
        aidb = by_name[f"aidb 2 searches warm, {label}"]
        lines += [
            f"warm, {label}: mean {mean:.1f} ms ({mean / REFERENCE_MEAN_MS:.3f} of the reference,"
            f" {REFERENCE_MEAN_MS / mean:.0f}x lower), p95 {p95:.1f} ms ({p95 / REFERENCE_P95_MS:.3f},"
            f" {REFERENCE_P95_MS / p95:.0f}x lower); target p95 <= {target:.0f} ms:"
            f" {'met' if p95 <= target else 'NOT met'}",
            f"  of which aidb (its two searches alone): p50 {percentile(aidb.latencies, 0.5):.1f} of"
            f" {percentile(warm.latencies, 0.5):.1f} ms, p95 {percentile(aidb.latencies, 0.95):.1f}"
            f" of {p95:.1f} ms",
        ]
    for p in phases:
        if p.name.startswith("augment warm") and p.seconds > 50:
            lines.append(
                f"note: '{p.name}' took {p.seconds:.0f} s: its first result pages may have expired (60 s)"
            )
    return lines


async def main_async(args: argparse.Namespace) -> None:
    console = Console(width=150)
    documents = memory_documents(args.items - args.items // 2) + knowledge_documents(args.items // 2)
    queries = questions(args.queries + args.clients)
    warmup, queries = queries[args.queries :], queries[: args.queries]
    quiet = {f"AI_STACK_{s}_LOG_LEVEL": "WARNING" for s in ("AIDB", "EMBEDDINGS", "HYBRID")}
    with running_stack(**quiet) as stack:
        async with open_session(stack, connections=args.clients * 4) as session:
            started = time.perf_counter()
            status = await load(stack, session, documents, console)
            chunks = sum(c["chunks"] for c in status["collections"].values())
            seconds = time.perf_counter() - started
            console.print(f"loaded and indexed {len(documents)} items ({chunks} chunks) in {seconds:.0f} s")
            # Connections, the tokenizer and the code paths, on questions not measured.
            await run_phase(
                "warm-up", stack, session, [augment_body(q, args.budget) for q in warmup], args.clients
            )
            phases = await measure(stack, session, queries, args)
    title = (
        f"augment_query through the gateway: {len(documents)} items ({args.items - args.items // 2} memories,"
        f" {args.items // 2} knowledge passages; {chunks} chunks), budget {args.budget} tokens"
    )
    console.print(phase_table(title, phases))
    for line in verdicts(phases, args.clients):
        console.print(line, highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20_000, help="memories plus knowledge passages to store")
    parser.add_argument(
        "--queries", type=int, default=800, help="distinct questions (the concurrent phases ask each once)"
    )
    parser.add_argument("--single", type=int, default=200, help="questions the 1-client phases ask")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--budget", type=int, default=1500, help="token_budget of each augment request")
    args = parser.parse_args()
    args.single = min(args.single, args.queries)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
