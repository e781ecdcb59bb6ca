"""Embeddings throughput: in-process encode vs the service through the TLS gateway.

Run: .venv/bin/python -m bench.embeddings_throughput [--texts N] [--clients 16]

(a) in-process `SentenceTransformer.encode` at its best batch size (several are tried), and the
    same model in as many threads of one torch thread each as the service runs;
(b) the embeddings service behind nginx (real Redis, key verifier, TLS), with `--clients`
    concurrent clients each sending 1-8 texts per request; the vector cache is emptied before
    each service measurement, so the model does all the work.
Also measured: the service without the gateway ("direct"), to show the gateway's share, and the
service's resident memory (idle after warm-up, peak under load). Prints sentences/s of both and
the ratios to in-process. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
from ai_stack.auth.keystore import KeyStore
from ai_stack.core.limits import KeyLimits
from ai_stack.embeddings.model import load_sentence_transformer
from ai_stack.text.model_files import DEFAULT_MODEL, resolve_model_path
from rich.console import Console
from rich.table import Table

from bench.corpus import docstring_sentences
from bench.memory import RssSampler, rss_mib
from bench.stats import percentile
from tests.harness.gateway import gateway_nginx
from tests.harness.processes import (
    RedisServer,
    ServiceProcess,
    free_port,
    world_writable_dir,
)
from tests.harness.tls import make_self_signed

BATCH_SIZES = (16, 32, 64, 128)


def in_process_workers(model: Any, texts: list[str], workers: int) -> float:
    """Sentences/s of `workers` threads with one torch thread each, as the service runs the model."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    chunks = [texts[i : i + 32] for i in range(0, len(texts), 32)]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda chunk: model.encode(chunk, batch_size=8, normalize_embeddings=True), chunks))
        return len(texts) / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)


def in_process(model: Any, texts: list[str]) -> tuple[float, int]:
    """Best sentences/s of encode() over BATCH_SIZES, and the batch size that gave it."""
    best = (0.0, 0)
    for batch_size in BATCH_SIZES:
        started = time.perf_counter()
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        rate = len(texts) / (time.perf_counter() - started)
        best = max(best, (rate, batch_size))
    return best


async def _client(
    session: aiohttp.ClientSession, url: str, queue: list[str], rng: random.Random, latencies: list[float]
) -> int:
    sent = 0
    while queue:
        size = min(rng.randint(1, 8), len(queue))
        batch = [queue.pop() for _ in range(size)]
        started = time.perf_counter()
        async with session.post(url, json={"inputs": batch}) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {body[:200]!r}")
        latencies.append(time.perf_counter() - started)
        sent += size
    return sent


async def through_gateway(
    base: str, key: str, cafile: Path, texts: list[str], clients: int
) -> tuple[float, list[float]]:
    """Sentences/s of `clients` concurrent clients draining `texts`, and request latencies."""
    context = ssl.create_default_context(cafile=str(cafile))
    connector = aiohttp.TCPConnector(ssl=context, limit=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        queue = list(reversed(texts))
        latencies: list[float] = []
        started = time.perf_counter()
        sent = await asyncio.gather(
            *(_client(session, f"{base}/embed", queue, random.Random(i), latencies) for i in range(clients))
        )
        elapsed = time.perf_counter() - started
    return sum(sent) / elapsed, latencies


def flush(redis: RedisServer) -> None:
    """Empties the vector cache."""
    subprocess.run(["redis-cli", "-p", str(redis.port), "FLUSHALL"], check=True, capture_output=True)


def start_stack(
    workdir: Path, *, gateway_secret: str | None = None, auth_cache_s: int = 1
) -> tuple[list[object], str, str, str, Path]:
    """Redis, key verifier, embeddings, nginx on free ports: (processes to stop, in order, the
    embeddings process second; gateway; direct; key; cafile). With `gateway_secret`, the services
    require it, as installed."""
    shared = world_writable_dir("ai-stack-bench-")
    cert, key_file = make_self_signed(shared)
    store = KeyStore(workdir / "api-keys.json")
    # Limits far above what a benchmark sends: it measures the stack, not the 429s.
    key, _ = store.create("bench", limits=KeyLimits(1e6, 1_000_000, 10_000))
    common = {"AI_STACK_GATEWAY_SECRET": gateway_secret} if gateway_secret else {}
    redis = RedisServer(workdir)
    auth_port, emb_port, https_port, http_port = (free_port() for _ in range(4))
    auth = ServiceProcess(
        "auth",
        auth_port,
        {
            **common,
            "AI_STACK_AUTH_PORT": str(auth_port),
            "AI_STACK_AUTH_KEYS_FILE": str(store.path),
            "AI_STACK_AUTH_LOG_LEVEL": "WARNING",
        },
        workdir / "auth.log",
    )
    embeddings = ServiceProcess(
        "embeddings",
        emb_port,
        {
            **common,
            "AI_STACK_EMBEDDINGS_PORT": str(emb_port),
            "AI_STACK_EMBEDDINGS_REDIS_URL": redis.url,
            "AI_STACK_EMBEDDINGS_LOG_LEVEL": "WARNING",
        },
        workdir / "embeddings.log",
    )
    nginx = gateway_nginx(
        shared,
        cert,
        key_file,
        https_port=https_port,
        http_port=http_port,
        auth_port=auth_port,
        ports={"embeddings": emb_port},
        gateway_secret=gateway_secret,
        auth_cache_s=auth_cache_s,
    )
    started: list[object] = []
    try:
        for process in (redis, auth, embeddings):
            process.start()
            started.append(process)
        nginx.start(https_port)
        started.append(nginx)
    except BaseException:
        for process in reversed(started):
            process.stop()  # type: ignore[attr-defined]
        raise
    direct = f"http://127.0.0.1:{emb_port}"
    return list(reversed(started)), f"https://127.0.0.1:{https_port}", direct, key, cert


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=2000, help="distinct texts per measurement")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (this machine is noisy)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rounds = args.rounds
    pool = docstring_sentences(200 + args.texts)
    warmup, texts = pool[:200], pool[200:]
    console = Console(width=130)
    mean_chars = statistics.mean(map(len, texts))
    console.print(
        f"[bold]embeddings throughput[/]: {args.texts} texts per measurement, mean {mean_chars:.0f} chars"
    )
    # The reference is sentence-transformers' own encode, whatever path the service takes.
    encoder = load_sentence_transformer(DEFAULT_MODEL, resolve_model_path(DEFAULT_MODEL), "cpu", 32)
    encoder.model.encode(warmup, batch_size=32)
    rows: list[tuple[str, float, float, float, float]] = []
    peaks: list[float] = []
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ai-stack-bench-") as tmp:
        processes, base, direct, key, cafile = start_stack(Path(tmp))
        redis = processes[-1]  # started first, stopped last
        service_pid = processes[1].process.pid  # type: ignore[attr-defined]
        try:
            asyncio.run(through_gateway(base + "/embeddings", key, cafile, warmup, args.clients))
            idle_rss = rss_mib(service_pid)
            for round_no in range(rounds):
                rate_a, best_batch = in_process(encoder.model, texts)
                rate_workers = in_process_workers(encoder.model, texts, workers)
                # Every service measurement starts from an empty vector cache: the model does the work.
                flush(redis)  # type: ignore[arg-type]
                with RssSampler(service_pid) as direct_rss:
                    rate_direct, direct_latencies = asyncio.run(
                        through_gateway(direct, key, cafile, texts, args.clients)
                    )
                flush(redis)  # type: ignore[arg-type]
                with RssSampler(service_pid) as gateway_rss:
                    rate_b, latencies = asyncio.run(
                        through_gateway(base + "/embeddings", key, cafile, texts, args.clients)
                    )
                peaks.append(max(direct_rss.peak, gateway_rss.peak))
                rows.append(
                    (f"round {round_no + 1} (batch {best_batch})", rate_a, rate_workers, rate_direct, rate_b)
                )
        finally:
            for process in processes:
                process.stop()  # type: ignore[attr-defined]
    table = Table(title=f"embeddings throughput, sentences/s ({args.clients} clients, 1-8 texts/request)")
    columns = ("round", "(a) in-process", f"in-process {workers}x1 thr", "service direct", "(b) gateway")
    for column in (*columns, "direct/a", "b/a", "peak RSS MiB"):
        table.add_column(column, justify="right")
    for (name, *rates), peak in zip(rows, peaks, strict=True):
        table.add_row(
            name,
            *(f"{r:.1f}" for r in rates),
            f"{rates[2] / rates[0]:.3f}",
            f"{rates[3] / rates[0]:.3f}",
            f"{peak:.0f}",
        )
    console.print(table)
    direct_ratios = [r[3] / r[1] for r in rows]
    ratios = [r[4] / r[1] for r in rows]
    parallel = [r[4] / r[2] for r in rows]
    console.print(
        f"direct/a per round {', '.join(f'{x:.3f}' for x in direct_ratios)}; "
        f"median {statistics.median(direct_ratios):.3f} (target >= 0.95)"
    )
    console.print(
        f"b/a per round {', '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f} "
        f"(target >= 0.9); against the service's own model setup ({workers} workers x 1 thread) "
        f"median {statistics.median(parallel):.3f}"
    )
    for name, values in (("direct", direct_latencies), ("(b) gateway", latencies)):
        quantiles = " / ".join(f"{percentile(values, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))
        console.print(f"{name} request latency p50 / p95 / p99 ms (last round): {quantiles}")
    console.print(
        f"embeddings service RSS: idle after warm-up {idle_rss:.0f} MiB, peak under load "
        f"{max(peaks):.0f} MiB (target <= 700)"
    )


if __name__ == "__main__":
    main()
