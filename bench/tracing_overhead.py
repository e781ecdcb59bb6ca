"""What tracing costs on the hot path: aidb hybrid search through the gateway with tracing off,
sampling 10% and sampling 100% (OTLP exporter to a local receiver), in alternating rounds.

Run: .venv/bin/python -m bench.tracing_overhead [--rounds 5] [--seconds 20] [--clients 16] [--pages 300]

Starts the stack with scripts/ai-stack-startup.sh, indexes `--pages` pages of the PostgreSQL
manual, embeds every query once (so that every measured search has its query vector in Redis, as
a repeated agent query would), and turns aidb's result cache off (every search does the work).
Each round runs the three modes in a shuffled order; each mode restarts aidb and embeddings with
its OTEL_* settings, warms up for 3 s, then lets `--clients` clients search for `--seconds`.
Prints queries/s, p50 and p95 per mode and round, and each traced mode's throughput as a ratio to
the same round's "off" (the median over rounds, and each). Metrics are on in every mode (they
are always on). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

from bench.aidb_corpus import pg_doc_documents
from bench.stack import RunningStack, ingest, open_session, post, running_stack, wait_drained
from bench.stats import percentile
from tests.harness.otlp import BackgroundOtlpReceiver
from tests.harness.startup import run_startup

MODES: dict[str, str | None] = {"off": None, "10%": "0.1", "100%": "1.0"}
RESTARTED = ("aidb", "embeddings")  # the services a search runs through (besides the verifier)


def mode_env(ratio: str | None, endpoint: str) -> dict[str, str]:
    if ratio is None:
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_SDK_DISABLED": "true"}
    return {
        "OTEL_SDK_DISABLED": "false",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": ratio,
    }


def restart(stack: RunningStack, env: dict[str, str]) -> None:
    """Stops aidb and embeddings, then lets the startup script start them with `env` (it leaves
    everything that still runs alone)."""
    for name in RESTARTED:
        pid_file = stack.home / "run" / f"{name}.pid"
        pid = int(pid_file.read_text())
        os.kill(pid, 15)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not stop")
            time.sleep(0.1)
    started = run_startup({**stack.env, **env}, timeout=600)
    if started.returncode != 0:
        raise RuntimeError(f"restart failed:\n{started.stderr[-2000:]}")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


async def measure(
    stack: RunningStack, session: aiohttp.ClientSession, queries: list[str], clients: int, seconds: float
) -> tuple[float, list[float]]:
    url = f"{stack.base_url}/aidb/search"
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    rng = random.Random(7)

    async def client() -> None:
        while time.monotonic() < stop:
            body = {"query": rng.choice(queries), "mode": "hybrid", "limit": 10}
            started = time.perf_counter()
            await post(session, url, body)
            latencies.append(time.perf_counter() - started)

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(latencies) / (time.monotonic() - began), latencies


async def run(args: argparse.Namespace, stack: RunningStack, receiver: BackgroundOtlpReceiver) -> None:
    console = Console()
    documents = pg_doc_documents()[: args.pages]
    async with open_session(stack) as session:
        await ingest(stack, session, documents)
        await wait_drained(session, stack, 3600)
        queries = [d["title"] for d in documents if d.get("title")][:200]
        for query in queries:  # each query's vector into the embeddings cache
            await post(session, f"{stack.base_url}/aidb/search", {"query": query, "mode": "vector"})
    results: dict[str, list[tuple[float, list[float]]]] = {mode: [] for mode in MODES}
    # Each round runs the modes in a new order: a machine warming up or slowing down over the
    # run then favours no mode, and each traced rate is compared with its own round's "off".
    order = random.Random(11)
    for round_number in range(1, args.rounds + 1):
        modes = list(MODES.items())
        order.shuffle(modes)
        for mode, ratio in modes:
            restart(stack, mode_env(ratio, receiver.endpoint))
            spans_before = len(receiver.spans)
            async with open_session(stack, connections=args.clients) as session:
                await measure(stack, session, queries, args.clients, 3.0)  # warm-up
                rate, latencies = await measure(stack, session, queries, args.clients, args.seconds)
            results[mode].append((rate, latencies))
            await asyncio.sleep(1.0)  # the last batch of spans reaches the receiver
            p50_ms = percentile(latencies, 0.5) * 1000
            spans = len(receiver.spans) - spans_before
            console.print(f"{round_number}: {mode:>4}: {rate:6.1f} q/s, p50 {p50_ms:5.1f} ms, {spans} spans")
    table = Table(
        title=f"aidb hybrid search through the gateway, {args.clients} clients, {args.rounds} rounds"
    )
    for column in ("tracing", "q/s (median)", "vs off (median of rounds)", "per round", "p50 ms", "p95 ms"):
        table.add_column(column)
    offs = [rate for rate, _ in results["off"]]
    for mode, rounds in results.items():
        rate = statistics.median(r for r, _ in rounds)
        ratios = [r / off for (r, _), off in zip(rounds, offs, strict=True)]
        all_latencies = [x for _, lat in rounds for x in lat]
        table.add_row(
            mode,
            f"{rate:.1f}",
            f"{statistics.median(ratios):.3f}",
            " ".join(f"{x:.2f}" for x in ratios),
            f"{percentile(all_latencies, 0.5) * 1000:.1f}",
            f"{percentile(all_latencies, 0.95) * 1000:.1f}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    receiver = BackgroundOtlpReceiver()
    receiver.start()
    try:
        # Result pages uncached: every measured search does the search itself.
        with running_stack(AI_STACK_AIDB_RESULTS_CACHE_TTL_S="0") as stack:
            asyncio.run(run(args, stack, receiver))
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
