"""Embeddings throughput: in-process encode vs the service through the TLS gateway.

Run: .venv/bin/python -m bench.embeddings_throughput [--texts N] [--clients 16]

(a) in-process `SentenceTransformer.encode` at its best batch size (several are tried);
(b) the embeddings service behind nginx (real Redis, key verifier, TLS), with `--clients`
    concurrent clients each sending 1-8 texts per request; every text is distinct, so the
    vector cache never answers and the model does all the work.
Prints sentences/s of both and the ratio b/a. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from ai_stack.auth.keystore import KeyStore
from ai_stack.embeddings.model import load_encoder
from ai_stack.embeddings.settings import DEFAULT_MODEL
from ai_stack.gateway.config import GatewayConfig, Upstream, render_nginx_conf
from rich.console import Console
from rich.table import Table

from bench.corpus import docstring_sentences
from tests.harness.processes import (
    NginxServer,
    RedisServer,
    ServiceProcess,
    free_port,
    world_writable_dir,
)
from tests.harness.tls import make_self_signed

BATCH_SIZES = (16, 32, 64, 128)


def in_process(texts: list[str], warmup: list[str]) -> tuple[float, int]:
    """Best sentences/s of encode() over BATCH_SIZES, and the batch size that gave it."""
    encoder = load_encoder(DEFAULT_MODEL, "cpu", 0, 32)
    model = encoder.model
    model.encode(warmup, batch_size=32, normalize_embeddings=True)
    best = (0.0, 0)
    for batch_size in BATCH_SIZES:
        started = time.perf_counter()
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        rate = len(texts) / (time.perf_counter() - started)
        Console().print(f"  in-process batch {batch_size:>3}: {rate:8.1f} sentences/s")
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
            *(
                _client(session, f"{base}/embeddings/embed", queue, random.Random(i), latencies)
                for i in range(clients)
            )
        )
        elapsed = time.perf_counter() - started
    return sum(sent) / elapsed, latencies


def start_stack(workdir: Path) -> tuple[list[object], str, str, Path]:
    """Redis, key verifier, embeddings and nginx on free ports; returns (processes, url, key, cafile)."""
    shared = world_writable_dir("ai-stack-bench-")
    cert, key_file = make_self_signed(shared)
    store = KeyStore(workdir / "api-keys.json")
    key, _ = store.create("bench")
    redis = RedisServer(workdir)
    redis.start()
    auth_port, emb_port, https_port, http_port = (free_port() for _ in range(4))
    auth = ServiceProcess(
        "auth",
        auth_port,
        {"AI_STACK_AUTH_PORT": str(auth_port), "AI_STACK_AUTH_KEYS_FILE": str(store.path)},
        workdir / "auth.log",
    )
    embeddings = ServiceProcess(
        "embeddings",
        emb_port,
        {
            "AI_STACK_EMBEDDINGS_PORT": str(emb_port),
            "AI_STACK_EMBEDDINGS_REDIS_URL": redis.url,
            "AI_STACK_EMBEDDINGS_LOG_LEVEL": "WARNING",
        },
        workdir / "embeddings.log",
    )
    auth.start()
    embeddings.start()
    conf = shared / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            GatewayConfig(
                https_port=https_port,
                http_port=http_port,
                cert=cert,
                key=key_file,
                run_dir=shared,
                log_dir=shared,
                temp_dir=shared,
                auth_port=auth_port,
                upstreams=(Upstream("embeddings", "embeddings", emb_port, 4 * 1048576),),
                worker_user="www-data" if os.geteuid() == 0 else None,
            )
        )
    )
    nginx = NginxServer(conf)
    nginx.start(https_port)
    return [nginx, embeddings, auth, redis], f"https://127.0.0.1:{https_port}", key, cert


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=3000, help="distinct texts per measurement")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pool = docstring_sentences(2 * args.texts + 400)
    warmup_a, measured_a = pool[:200], pool[400 : 400 + args.texts]
    warmup_b, measured_b = pool[200:400], pool[400 + args.texts : 400 + 2 * args.texts]
    console = Console()
    console.print(
        f"[bold]embeddings throughput[/]: {args.texts} texts, mean {statistics.mean(map(len, measured_a)):.0f} chars"
    )
    rate_a, best_batch = in_process(measured_a, warmup_a)
    with tempfile.TemporaryDirectory(prefix="ai-stack-bench-") as tmp:
        processes, base, key, cafile = start_stack(Path(tmp))
        try:
            asyncio.run(through_gateway(base, key, cafile, warmup_b, args.clients))
            rate_b, latencies = asyncio.run(through_gateway(base, key, cafile, measured_b, args.clients))
        finally:
            for process in processes:
                process.stop()  # type: ignore[attr-defined]
    latencies.sort()
    table = Table(title="embeddings throughput (sentences/s)")
    for column in ("measurement", "value"):
        table.add_column(column)
    table.add_row(f"(a) in-process encode, best batch {best_batch}", f"{rate_a:.1f}")
    table.add_row(f"(b) service via gateway, {args.clients} clients, 1-8 texts/request", f"{rate_b:.1f}")
    table.add_row("ratio b/a (target >= 0.9)", f"{rate_b / rate_a:.3f}")
    table.add_row(
        "(b) request latency p50 / p95 / p99 ms",
        " / ".join(f"{latencies[int(q * (len(latencies) - 1))] * 1000:.1f}" for q in (0.5, 0.95, 0.99)),
    )
    console.print(table)


if __name__ == "__main__":
    main()
