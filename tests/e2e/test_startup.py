"""The operator path: the startup script brings the stack up, reports it, and stops it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.harness.processes import REPO_ROOT, free_port

pytestmark = pytest.mark.slow
SCRIPT = REPO_ROOT / "scripts" / "ai-stack-startup.sh"


def run(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_start_status_stop(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "AI_STACK_HOME": str(home),
        "AI_STACK_LOG_DIR": str(tmp_path / "logs"),
        "AI_STACK_PG_PORT": str(free_port()),
        "AI_STACK_REDIS_PORT": str(free_port()),
        "AI_STACK_GATEWAY_HTTPS_PORT": str(https := free_port()),
        "AI_STACK_GATEWAY_HTTP_PORT": str(free_port()),
        "AI_STACK_EMBEDDINGS_PORT": str(embeddings_port := free_port()),
        "AI_STACK_AUTH_PORT": str(free_port()),
    }
    env.pop("AI_STACK_EMBEDDINGS_REDIS_URL", None)
    try:
        started = run(env)
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        assert list((tmp_path / "logs").glob("ai-stack-startup-*.log"))

        again = run(env)
        assert again.returncode == 0
        assert "embeddings already running" in again.stdout

        status = run(env, "--status")
        assert status.returncode == 0, status.stdout
        for name in ("postgres", "redis", "auth", "embeddings", "gateway"):
            assert name in status.stdout
        assert "stopped" not in status.stdout

        key = subprocess.run(
            [str(REPO_ROOT / ".venv/bin/ai-stack"), "keys", "create", "--name", "e2e"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert key.startswith("aisk_") and "\n" not in key
        context = ssl.create_default_context(cafile=str(home / "tls" / "cert.pem"))
        request = urllib.request.Request(
            f"https://localhost:{https}/embeddings/info", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            assert response.status == 200

        ready_url = f"http://127.0.0.1:{embeddings_port}/health/ready"
        with urllib.request.urlopen(ready_url, timeout=10) as response:
            ready = json.loads(response.read())
        assert ready["dependencies"]["redis"]["state"] == "up"  # the password-protected Redis works

        stopped = run(env, "--stop")
        assert stopped.returncode == 0, stopped.stderr
        after = run(env, "--status")
        assert after.returncode == 5
        assert "stopped" in after.stdout
    finally:
        run(env, "--stop", timeout=120)
        if os.geteuid() == 0:
            slug = hashlib.sha256(str(home).encode()).hexdigest()[:12]
            shutil.rmtree(f"/var/lib/ai-stack/{slug}", ignore_errors=True)
