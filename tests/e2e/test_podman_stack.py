"""Podman mode end to end: images built from a local Debian base (no registry is reachable here),
the whole stack in containers behind the gateway, idempotent reruns, a dependency stopped and
brought back, and --stop. Ports and names are the test's own; the user's images are not touched."""

from __future__ import annotations

import json
import os
import re
import secrets
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ai_stack.registry import SERVICES

from tests.harness.processes import REPO_ROOT
from tests.harness.startup import CLI, run_startup, startup_env

pytestmark = pytest.mark.slow

CONTAINERS_CONF = str(REPO_ROOT / "ai-stack/deploy/podman/containers.conf")
NOTE = "# Quadlet\n\nQuadlet units run containers under systemd, with health checks."


TEST_IMAGES = ("localhost/ai-stack-test:latest", "localhost/ai-stack-test-gateway:latest")


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args],
        env={**os.environ, "CONTAINERS_CONF": CONTAINERS_CONF},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("the local base image is built with debootstrap, which needs root")
    images_before = image_ids(TEST_IMAGES)
    base = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts/podman-base.sh")], capture_output=True, text=True, timeout=900
    )
    assert base.returncode == 0, base.stdout + base.stderr
    project = f"aistest{secrets.token_hex(3)}"
    env = startup_env(
        tmp_path_factory.mktemp("podman"),
        AI_STACK_MODE="podman",
        AI_STACK_PODMAN_PROJECT=project,
        # Test tags: the user's localhost/ai-stack images stay as they are; an unchanged checkout
        # reuses these across runs.
        AI_STACK_PODMAN_IMAGE="localhost/ai-stack-test:latest",
        AI_STACK_PODMAN_GATEWAY_IMAGE="localhost/ai-stack-test-gateway:latest",
        AI_STACK_PODMAN_BASE_IMAGE="localhost/ai-stack-base:bookworm",
        AI_STACK_PODMAN_POSTGRES_IMAGE="localhost/ai-stack-postgres:15",
        AI_STACK_PODMAN_REDIS_IMAGE="localhost/ai-stack-redis:7",
        # No Qdrant binary or image exists here: aidb's embedded engine, in its volume.
        AI_STACK_PODMAN_QDRANT="embedded",
    )
    try:
        yield env
    finally:
        run_startup(env, "--stop", timeout=300)
        subprocess.run([str(CLI), "podman", "down", "--purge"], env=env, capture_output=True, timeout=300)
        remove_replaced_images(images_before)


def image_ids(tags: tuple[str, ...]) -> dict[str, str]:
    """The image each tag names now (tags that do not exist are left out)."""
    ids = {}
    for tag in tags:
        found = podman("image", "inspect", "--format", "{{.Id}}", tag, check=False)
        if found.returncode == 0:
            ids[tag] = found.stdout.strip()
    return ids


def remove_replaced_images(before: dict[str, str]) -> None:
    """Removes the test images a rebuild untagged: each run of a changed checkout would otherwise
    leave two dangling images of ~2 GB behind. Only images that carried the test's own tags."""
    now = image_ids(tuple(before))
    for tag, old in before.items():
        if now.get(tag) != old:
            podman("rmi", old, check=False)  # still used by a container: it stays


def request(env: dict[str, str], path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    context = ssl.create_default_context(cafile=str(Path(env["AI_STACK_HOME"]) / "tls/cert.pem"))
    data = json.dumps(body).encode() if body is not None else None
    url = f"https://localhost:{env['AI_STACK_GATEWAY_HTTPS_PORT']}{path}"
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), context=context, timeout=30) as r:
        return json.loads(r.read())


def search_until(env: dict[str, str], key: str, degraded: bool, timeout_s: float = 90) -> dict[str, Any]:
    """Searches until the note is found with `degraded` as asked (indexing and breakers take time)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = request(env, "/aidb/search", key, {"query": "systemd containers health", "project": "e2e"})
        if (found["results"] and found["degraded"] == degraded) or time.monotonic() > deadline:
            return dict(found)
        time.sleep(1)


def container_ids(project: str) -> dict[str, str]:
    listing = podman(
        "ps", "-a", "--filter", f"label=ai-stack.project={project}", "--format", "{{.Names}} {{.ID}}"
    )
    return dict(line.split() for line in listing.stdout.splitlines())


@pytest.mark.timeout(2400)
def test_the_stack_runs_in_containers_behind_the_gateway(stack_env: dict[str, str]) -> None:
    env, project = stack_env, stack_env["AI_STACK_PODMAN_PROJECT"]
    started = run_startup(env, timeout=2000)
    output = started.stdout + started.stderr
    assert started.returncode == 0, output[-4000:]
    containers = ["postgres", "redis", *(s.name for s in SERVICES), "gateway"]
    for name in containers:
        assert f"created {project}-{name}" in output
    # The status table's rows (rich draws them with │, or | without a UTF-8 locale).
    rows = [[cell.strip() for cell in re.split(r"[│|]", line)[1:-1]] for line in output.splitlines()]
    assert {row[0] for row in rows if row[1:] == ["running", "healthy"]} == set(containers)

    # Only the gateway is reachable from the host.
    listing = podman(
        "ps", "--filter", f"label=ai-stack.project={project}", "--format", "{{.Names}}={{.Ports}}"
    )
    published = {
        name for name, _, ports in (line.partition("=") for line in listing.stdout.splitlines()) if ports
    }
    assert published == {f"{project}-gateway"}

    created = podman(
        "exec", f"{project}-auth", "ai-stack", "keys", "create", "--name", "e2e", "--scope", "read,write"
    )
    key = created.stdout.split()[0]
    stored = request(env, "/aidb/documents", key, {"project": "e2e", "path": "quadlet.md", "content": NOTE})
    assert stored["outcome"] == "created"
    found = search_until(env, key, degraded=False)
    assert [r["path"] for r in found["results"]] == ["quadlet.md"] and found["degraded"] is False

    # A rerun with nothing changed keeps every container.
    before = container_ids(project)
    again = run_startup(env, timeout=600)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert "created " not in again.stdout and "replacing " not in again.stdout
    assert container_ids(project) == before

    # Embeddings stopped: search degrades to keyword-only and says so; a rerun brings it back.
    podman("stop", "-t", "5", f"{project}-embeddings")
    degraded = search_until(env, key, degraded=True)
    assert degraded["degraded"] is True and degraded["results"][0]["path"] == "quadlet.md"
    assert run_startup(env, "--status", timeout=120).returncode == 5
    restarted = run_startup(env, timeout=600)
    assert restarted.returncode == 0, (restarted.stdout + restarted.stderr)[-3000:]
    assert f"started {project}-embeddings" in restarted.stdout
    assert search_until(env, key, degraded=False)["degraded"] is False
    assert run_startup(env, "--status", timeout=120).returncode == 0

    stopped = run_startup(env, "--stop", timeout=300)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert container_ids(project) == {}
    assert podman("volume", "inspect", f"{project}-aidb-data", check=False).returncode == 0  # data stays


def test_an_unknown_mode_is_a_usage_error(tmp_path: Path) -> None:
    done = run_startup(startup_env(tmp_path, AI_STACK_MODE="kubernetes"), "--status", timeout=60)
    assert done.returncode == 2
    assert "expected native, podman or auto" in done.stderr
