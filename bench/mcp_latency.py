"""The MCP server's costs an agent notices: stdio start time and a tool call's latency.

Run: .venv/bin/python -m bench.mcp_latency [--documents 400] [--calls 200]

Starts the stack (scripts/ai-stack-startup.sh), writes `--documents` small documents through the
gateway and waits for indexing, then measures:
1. stdio start: `ai-stack mcp` launched by the SDK's stdio client until its tool list arrives
   (process start, imports, the MCP handshake, one round trip), median of 5; and the import time
   alone (`python -c "import ai_stack.mcp.stdio"`), median of 5.
2. `search_knowledge` through the gateway over streamable HTTP (the SDK client, one session):
   p50/p95 of `--calls` calls with warm query vectors, beside the same search sent to
   `/aidb/search` directly, so the MCP layer's own share is visible.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from bench.stack import RunningStack, ingest, open_session, post, running_stack, wait_drained
from bench.stats import percentile
from tests.harness.processes import REPO_ROOT

TOPICS = ("vacuum", "replication", "indexes", "backups", "locks", "wal", "autovacuum", "partitions")


def documents(count: int) -> list[dict[str, Any]]:
    return [
        {
            "collection": "docs",
            "project": "bench",
            "path": f"mcp/{i}.md",
            "content": f"# Note {i}\n\nHow {TOPICS[i % len(TOPICS)]} works in cluster {i}: step {i % 7} "
            f"of the runbook for {TOPICS[(i * 3) % len(TOPICS)]}.",
        }
        for i in range(count)
    ]


async def stdio_start(stack: RunningStack) -> float:
    params = StdioServerParameters(
        command=str(REPO_ROOT / ".venv" / "bin" / "ai-stack"),
        args=["mcp", "--url", stack.base_url, "--cacert", str(stack.cafile)],
        env={"AI_STACK_API_KEY": stack.api_key, "HF_HUB_OFFLINE": "1"},
    )
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        return time.perf_counter() - started


def import_time() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import ai_stack.mcp.stdio"], check=True)
    return time.perf_counter() - started


async def mcp_calls(stack: RunningStack, queries: list[str]) -> list[float]:
    tls = ssl.create_default_context(cafile=str(stack.cafile))
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    timings = []
    async with httpx2.AsyncClient(headers=headers, verify=tls, timeout=60) as http:
        async with Client(streamable_http_client(f"{stack.base_url}/mcp", http_client=http)) as client:
            for query in queries:
                started = time.perf_counter()
                result = await client.call_tool("search_knowledge", {"query": query, "project": "bench"})
                timings.append(time.perf_counter() - started)
                if result.is_error:
                    raise RuntimeError(f"search_knowledge failed: {result.content}")
    return timings


async def direct_calls(stack: RunningStack, queries: list[str]) -> list[float]:
    timings = []
    async with open_session(stack, 1) as session:
        for query in queries:
            started = time.perf_counter()
            await post(
                session, f"{stack.base_url}/aidb/search", {"query": query, "project": "bench", "limit": 5}
            )
            timings.append(time.perf_counter() - started)
    return timings


def line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{name}: p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms ({len(ms)} calls)"


async def measure(stack: RunningStack, args: argparse.Namespace) -> None:
    async with open_session(stack) as session:
        await ingest(stack, session, documents(args.documents))
        await wait_drained(session, stack, 1800)
        queries = [f"how does {TOPICS[i % len(TOPICS)]} work in cluster {i}" for i in range(args.calls)]
        await post(
            session, f"{stack.base_url}/embeddings/embed", {"inputs": queries[:200], "normalize": True}
        )
    starts = [await stdio_start(stack) for _ in range(5)]
    imports = [import_time() for _ in range(5)]
    print(f"stdio start to tool list: median {statistics.median(starts) * 1000:.0f} ms (5 runs)")
    print(f"import ai_stack.mcp.stdio alone: median {statistics.median(imports) * 1000:.0f} ms (5 runs)")
    warmup = [f"warm-up question {i}" for i in range(10)]
    await mcp_calls(stack, warmup)  # the session's connections, not the measured queries' pages
    await direct_calls(stack, warmup)
    print(line("search_knowledge through MCP (HTTP, gateway)", await mcp_calls(stack, queries)))
    # The same searches again would be result-cache hits: empty the caches, warm the vectors again.
    stack.flush_redis()
    async with open_session(stack) as session:
        await post(
            session, f"{stack.base_url}/embeddings/embed", {"inputs": queries[:200], "normalize": True}
        )
    print(line("the same search on /aidb/search (gateway)", await direct_calls(stack, queries)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with running_stack() as stack:
        asyncio.run(measure(stack, args))


if __name__ == "__main__":
    main()
