"""The whole stack for a benchmark, started the operator's way: `scripts/ai-stack-startup.sh`.

Everything (PostgreSQL, Redis, key verifier, embeddings, aidb, nginx) runs as native processes
under a temporary AI_STACK_HOME on free ports, and requests go through the TLS gateway with an
API key, as a client's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import ssl
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import redis

from tests.harness.startup import create_key, run_startup, startup_env, stop_and_clean


@dataclass(frozen=True)
class RunningStack:
    base_url: str  # https://localhost:PORT
    api_key: str
    cafile: Path
    home: Path
    env: dict[str, str]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def session(self, connections: int = 32) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self.ssl_context(), limit=connections)
        return aiohttp.ClientSession(
            connector=connector,
            headers={"X-API-Key": self.api_key},
            timeout=aiohttp.ClientTimeout(total=600),
        )

    def secret_headers(self) -> dict[str, str]:
        """For a benchmark that reads a service directly (its /metrics), as the stack itself does."""
        secret = (self.home / "secrets" / "gateway-secret").read_text().strip()
        return {"X-AI-Gateway-Secret": secret}

    def flush_redis(self) -> None:
        """Empties every cache (the embeddings service's vectors, aidb's result pages)."""
        url = (self.home / "secrets" / "redis-url").read_text().strip()
        client = redis.Redis.from_url(url)
        client.flushall()
        client.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def running_stack(**extra_env: str) -> Iterator[RunningStack]:
    """Starts the stack (health-gated), yields it, stops it and removes its data."""
    # A benchmark started in the background ignores SIGINT (the shell's rule for `&` jobs), and
    # SIGTERM would skip the cleanup below: both now unwind, so the stack is always stopped.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    root = Path(tempfile.mkdtemp(prefix="ai-stack-bench-"))
    env = startup_env(root, **extra_env)
    try:
        started = run_startup(env, timeout=3600)
        if started.returncode != 0:
            raise RuntimeError(
                f"the stack did not start:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}"
            )
        home = Path(env["AI_STACK_HOME"])
        yield RunningStack(
            f"https://localhost:{env['AI_STACK_GATEWAY_HTTPS_PORT']}",
            # Benchmarks measure the stack, not the per-key limits (100 requests/s by default).
            create_key(env, "bench", limits="100000/100000/1000"),
            home / "tls" / "cert.pem",
            home,
            env,
        )
    except BaseException:
        # The logs say why; they would go with the stack's directory.
        kept = Path(tempfile.gettempdir()) / f"ai-stack-bench-logs-{time.strftime('%Y%m%d-%H%M%S')}"
        shutil.copytree(root / "logs", kept, dirs_exist_ok=True)
        print(f"the benchmark failed; the stack's logs are in {kept}", file=sys.stderr)
        raise
    finally:
        stop_and_clean(env)
        shutil.rmtree(root, ignore_errors=True)


def restart_stack(stack: RunningStack, **extra_env: str) -> RunningStack:
    """Stops every service and starts them again on the same data, with `extra_env` added (a
    setting compared on one store). Redis keeps its data: empty the caches if that matters."""
    run_startup(stack.env, "--stop", timeout=300)
    env = {**stack.env, **extra_env}
    started = run_startup(env, timeout=3600)
    if started.returncode != 0:
        raise RuntimeError(f"the stack did not restart:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}")
    return RunningStack(stack.base_url, stack.api_key, stack.cafile, stack.home, env)


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with session.post(url, json=body) as response:
        answer = await response.json()
        if response.status >= 400:
            raise RuntimeError(f"{url} answered {response.status}: {answer}")
        return answer


async def wait_drained(
    session: aiohttp.ClientSession, stack: RunningStack, timeout_s: float
) -> dict[str, Any]:
    """Polls /aidb/index/status until the outbox is empty."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with session.get(f"{stack.base_url}/aidb/index/status") as response:
            status = dict(await response.json())
        if status["outbox"]["pending"] == 0:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"indexing did not finish: {status['outbox']}")
        # Not faster: at 60,000 chunks the status call counts them all (~150 ms of PostgreSQL),
        # which would compete with the indexing being measured.
        await asyncio.sleep(2.0)


async def ingest(
    stack: RunningStack,
    session: aiohttp.ClientSession,
    documents: list[dict[str, Any]],
    *,
    batch: int = 50,
    concurrency: int = 2,
) -> int:
    """Bulk-writes `documents` (PostgreSQL only; indexing follows in the background).

    Returns how many aidb refused (e.g. a test file holding a private key: 422); others raise.
    """
    batches = [documents[i : i + batch] for i in range(0, len(documents), batch)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for item in batches:
        queue.put_nowait(item)

    refused = 0

    async def worker() -> None:
        nonlocal refused
        while not queue.empty():
            answer = await post(
                session, f"{stack.base_url}/aidb/documents/bulk", {"documents": queue.get_nowait()}
            )
            failed = [r for r in answer["items"] if r["status"] >= 400]
            if any(r["status"] not in (413, 422) for r in failed):
                raise RuntimeError(f"bulk items failed: {failed[:3]}")
            refused += len(failed)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return refused


@contextlib.asynccontextmanager
async def open_session(stack: RunningStack, connections: int = 32) -> AsyncIterator[aiohttp.ClientSession]:
    session = stack.session(connections)
    try:
        yield session
    finally:
        await session.close()
