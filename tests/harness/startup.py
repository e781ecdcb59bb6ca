"""The stack started the operator's way (scripts/ai-stack-startup.sh), for e2e tests and benchmarks."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from ai_stack.registry import SERVICES

from tests.harness.processes import REPO_ROOT, free_port

SCRIPT = REPO_ROOT / "scripts" / "ai-stack-startup.sh"
CLI = REPO_ROOT / ".venv" / "bin" / "ai-stack"


def _inherited() -> tuple[str, ...]:
    """Variables a developer's shell may carry that would point the stack at other services:
    each service's Redis URL and its URLs of the other services (AI_STACK_AIDB_EMBEDDINGS_URL)."""
    urls = {"redis_url", *(f"{s.env_prefix.removeprefix('AI_STACK_').lower()}url" for s in SERVICES)}
    return tuple(
        f"{s.env_prefix}{name.upper()}"
        for s in SERVICES
        for name in s.settings_class().model_fields
        if name in urls
    )


INHERITED = _inherited()


def startup_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a private stack under `root` (home, logs) on free ports."""
    env = {
        **os.environ,
        "AI_STACK_HOME": str(root / "home"),
        # Podman may be installed (its test needs it): these stacks are native processes.
        "AI_STACK_MODE": "native",
        "AI_STACK_LOG_DIR": str(root / "logs"),
        "AI_STACK_PG_PORT": str(free_port()),
        "AI_STACK_REDIS_PORT": str(free_port()),
        "AI_STACK_GATEWAY_HTTPS_PORT": str(free_port()),
        "AI_STACK_GATEWAY_HTTP_PORT": str(free_port()),
        **{s.port_variable: str(free_port()) for s in SERVICES},
        **extra,
    }
    for name in INHERITED:
        env.pop(name, None)
    return env


def observability_env() -> dict[str, str]:
    """Prometheus and its exporters on free ports, scraping and evaluating every 2 s."""
    ports = (
        "prometheus",
        "node_exporter",
        "postgres_exporter",
        "redis_exporter",
        "nginx_exporter",
        "blackbox_exporter",
        "gateway_status",
    )
    return {
        "AI_STACK_OBSERVABILITY": "1",
        "AI_STACK_OBSERVABILITY_SCRAPE_INTERVAL_S": "2",
        "AI_STACK_OBSERVABILITY_EVALUATION_INTERVAL_S": "2",
        **{f"AI_STACK_OBSERVABILITY_{name.upper()}_PORT": str(free_port()) for name in ports},
    }


def run_startup(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def create_key(
    env: dict[str, str], name: str, scope: str = "read,write,admin", limits: str | None = None
) -> str:
    """A new API key, printed once by `ai-stack keys create` (`limits`: its own rate/burst/concurrency)."""
    created = subprocess.run(
        [
            str(CLI),
            "keys",
            "create",
            "--name",
            name,
            "--scope",
            scope,
            *(["--limits", limits] if limits else []),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip()


def stop_and_clean(env: dict[str, str]) -> None:
    """Stops the stack and removes the system directory it uses when run as root."""
    run_startup(env, "--stop", timeout=120)
    if os.geteuid() == 0:
        slug = hashlib.sha256(env["AI_STACK_HOME"].encode()).hexdigest()[:12]
        shutil.rmtree(f"/var/lib/ai-stack/{slug}", ignore_errors=True)
