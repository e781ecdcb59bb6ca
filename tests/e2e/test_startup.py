"""The operator path: the startup script brings the stack up, reports it, and stops it."""

from __future__ import annotations

import json
import os
import pwd
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ai_stack.core.metrics import metric_prefix
from ai_stack.observability.dashboard import dashboard, queries
from ai_stack.observability.promql import metric_names
from ai_stack.observability.settings import ObservabilitySettings
from ai_stack.registry import SERVICES

from tests.harness.processes import REPO_ROOT, port_open, world_writable_dir
from tests.harness.startup import (
    CLI,
    create_key,
    observability_env,
    run_startup,
    startup_env,
    stop_and_clean,
)

pytestmark = pytest.mark.slow


SSH_NOTE = "# OpenSSH on NixOS\n\nSet services.openssh.enable = true to run sshd."


def await_json(context: ssl.SSLContext, url: str, key: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.loads(response.read())


def wait_for_search(context: ssl.SSLContext, https: int, key: str) -> dict[str, Any]:
    """The document is indexed in the background: search until it shows up (or 60 s pass)."""
    deadline = time.monotonic() + 60
    while True:
        found = await_json(
            context, f"https://localhost:{https}/aidb/search", key, {"query": "enable sshd", "project": "e2e"}
        )
        if found["results"] or time.monotonic() > deadline:
            return dict(found)
        time.sleep(0.5)


def cli(
    env: dict[str, str], key: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env={**env, "AI_STACK_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def cli_ingest_and_search(env: dict[str, str], key: str, tmp_path: Path) -> None:
    """`ai-stack ingest` and `ai-stack search` through the gateway, as an operator runs them."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / ".gitignore").write_text("private.md\n")
    (notes / "zfs.md").write_text("# ZFS snapshots\n\nTake a snapshot with zfs snapshot pool/data@today.")
    (notes / "private.md").write_text("# Private\n\nNot for the index.")
    first = cli(env, key, "ingest", "--collection", "docs", "--project", "cli", ".", cwd=notes)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "added 1" in first.stdout, first.stdout
    again = cli(env, key, "ingest", "--collection", "docs", "--project", "cli", ".", cwd=notes)
    assert again.returncode == 0 and "unchanged 1" in again.stdout, again.stdout
    deadline = time.monotonic() + 60
    while True:
        found = cli(env, key, "search", "how do I snapshot a ZFS dataset", "--project", "cli", "--json")
        assert found.returncode == 0, found.stderr
        results = json.loads(found.stdout)["results"]
        if results or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [r["path"] for r in results] == ["zfs.md"]
    refused = cli(env, "aisk_not-a-key", "search", "zfs")
    assert refused.returncode == 1 and "401" in refused.stderr + refused.stdout


def declare_docs_source(home: Path, tmp_path: Path) -> None:
    """A sources file where the startup script looks for one, declaring a small Markdown tree
    that the services' unprivileged user may read (pytest's own tree is root's alone)."""
    guide = world_writable_dir("ai-stack-e2e-guide-")
    guide.chmod(0o755)
    (guide / "wal.md").write_text("# WAL\n\n## Archiving\n\nSet archive_mode = on to keep WAL segments.\n")
    home.mkdir(parents=True, exist_ok=True)
    (home / "docs-sources.toml").write_text(
        f'[[source]]\nname = "guide"\nkind = "markdown"\nlocation = "{guide}"\nschedule = "manual"\n'
    )


def cli_docs(env: dict[str, str], key: str, tmp_path: Path) -> None:
    """The declared source is synced at start; `ai-stack docs` lists, searches and adds sources."""
    deadline = time.monotonic() + 120
    while True:
        listed = cli(env, key, "docs", "list")
        assert listed.returncode == 0, listed.stderr
        if " ok " in listed.stdout or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "guide" in listed.stdout and " ok " in listed.stdout, listed.stdout
    while True:
        found = cli(env, key, "docs", "search", "keep WAL segments", "--json")
        assert found.returncode == 0, found.stderr
        results = json.loads(found.stdout)["results"]
        if results or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert results[0]["source"] == "guide" and results[0]["url"] == "wal.md#archiving"
    outside = cli(env, key, "docs", "add", "etc", "--kind", "text", "--location", str(tmp_path))
    assert outside.returncode == 1 and "outside the allowed source roots" in outside.stderr
    declared = cli(env, key, "docs", "remove", "guide")
    assert declared.returncode == 1 and "sources file" in declared.stderr


def check_no_way_around_the_gateway(env: dict[str, str], home: Path, key: str) -> None:
    """A direct call to a service is refused even with a valid key; secrets and data are private."""
    direct = urllib.request.Request(
        f"http://127.0.0.1:{env['AI_STACK_AIDB_PORT']}/collections", headers={"X-API-Key": key}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(direct, timeout=10)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["error"]["code"] == "gateway_only"
    secret = home / "secrets" / "gateway-secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text().strip()) == 64
    for directory in (home, home / "secrets", home / "run", Path(env["AI_STACK_LOG_DIR"])):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    reader = create_key(env, "e2e-reader", scope="read")
    listed = subprocess.run([str(CLI), "keys", "list"], env=env, capture_output=True, text=True, check=True)
    assert "e2e-reader" in listed.stdout and reader not in listed.stdout


def run_by(home: Path, name: str) -> str:
    pid = int((home / "run" / f"{name}.pid").read_text())
    return pwd.getpwuid(Path(f"/proc/{pid}").stat().st_uid).pw_name


def check_services_run_unprivileged(home: Path, startup_output: str) -> None:
    """As root, Redis and the Python services run as the unprivileged `ai-stack` user. When that
    user cannot run the checkout's venv (here its interpreter is pyenv's, under /root) they run on
    a venv of the system's Python built for them; only without one may the script say why not."""
    if os.geteuid() != 0:
        return
    assert run_by(home, "redis") == "ai-stack"
    if "the services run as root" in startup_output:
        assert not Path("/usr/bin/python3.11").exists() or REPO_ROOT.is_relative_to("/root"), startup_output
        assert "cannot run" in startup_output
        return
    for name in ("auth", "embeddings", "aidb", "hybrid", "docs-search", "mcp"):
        assert run_by(home, name) == "ai-stack", name
        assert not service_executable(home, name).is_relative_to("/root"), name
    keys = home / "api-keys.json"
    assert keys.is_symlink() and pwd.getpwuid(keys.resolve().stat().st_uid).pw_name == "ai-stack"


def check_allocators(home: Path) -> None:
    """The services the registry marks for jemalloc run with it mapped (scripts/test.sh installs
    it); the others keep the system allocator."""
    for service in SERVICES:
        pid = int((home / "run" / f"{service.name}.pid").read_text())
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert ("libjemalloc" in maps) is (service.allocator == "jemalloc"), service.name


def service_executable(home: Path, name: str) -> Path:
    pid = int((home / "run" / f"{name}.pid").read_text())
    return Path(os.readlink(f"/proc/{pid}/exe"))


def check_no_secret_in_any_log(env: dict[str, str], home: Path, keys: list[str]) -> None:
    """The API keys used, the database and Redis passwords and the gateway secret appear in no
    log the run wrote (the startup script's, each service's, nginx's, Redis's, PostgreSQL's)."""
    known = [*keys, *(f.read_text().strip() for f in (home / "secrets").iterdir() if f.name != "redis-url")]
    logs = [p for d in (Path(env["AI_STACK_LOG_DIR"]), home) for p in d.rglob("*.log") if p.is_file()]
    assert any(p.name == "aidb.log" for p in logs) and any("startup" in p.name for p in logs)
    leaked = [f"{p}: {s[:8]}…" for p in logs for s in known if s and s in p.read_text(errors="replace")]
    assert leaked == []


def prometheus_api(env: dict[str, str], path: str) -> Any:
    port = env["AI_STACK_OBSERVABILITY_PROMETHEUS_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/{path}", timeout=10) as response:
        return json.loads(response.read())["data"]


def declared_families(env: dict[str, str], home: Path) -> dict[str, set[str]]:
    """Per service, the metric names its /metrics declares (with or without samples yet), read
    the way Prometheus reads them: with the gateway secret as a Bearer token."""
    secret = (home / "secrets" / "gateway-secret").read_text().strip()
    declared = {}
    for entry in SERVICES:
        request = urllib.request.Request(
            f"http://127.0.0.1:{env[entry.port_variable]}/metrics",
            headers={"Authorization": f"Bearer {secret}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        names = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                family, kind = line.split()[2:4]
                suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(kind, [""])
                names |= {family.removesuffix("_total") + suffix for suffix in suffixes}
        declared[metric_prefix(entry.name)] = names
    return declared


def check_monitoring(env: dict[str, str], home: Path) -> None:
    """Prometheus scrapes every target, evaluates every generated rule without error, and every
    metric a rule or a dashboard panel reads is exported by somebody: a service declares it, an
    exporter's series exists, or a recording rule defines it."""
    deadline = time.monotonic() + 90
    while True:
        targets = prometheus_api(env, "targets")["activeTargets"]
        groups = prometheus_api(env, "rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        down = [(t["labels"]["job"], t["lastError"]) for t in targets if t["health"] != "up"]
        unevaluated = [r["name"] for r in rules if r["health"] != "ok"]
        if not down and not unevaluated and rules:
            break
        assert time.monotonic() < deadline, f"targets down: {down}; rules not ok: {unevaluated[:5]}"
        time.sleep(2)
    jobs = {t["labels"]["job"] for t in targets}
    assert {s.name for s in SERVICES} | {"postgres", "redis", "nginx", "node", "gateway-probe"} <= jobs
    recorded = {r["name"] for r in rules if r["type"] == "recording"}
    declared = declared_families(env, home)
    names = set()
    for expr in [r["query"] for r in rules] + queries(dashboard(ObservabilitySettings())):
        names |= metric_names(expr)
    missing = []
    for name in sorted(names - recorded):
        owner = next((p for p in declared if name.startswith(f"{p}_")), None)
        if owner is not None:
            if name not in declared[owner]:
                missing.append(name)
        elif not prometheus_api(env, f"query?query=count({{__name__=%22{name}%22}})")["result"]:
            missing.append(name)
    assert missing == []
    # Prometheus and the exporters run as the services' user, with no secret on a command line.
    secrets_known = [f.read_text().strip() for f in (home / "secrets").iterdir() if f.name != "redis-url"]
    for name in ("prometheus", "postgres-exporter", "redis-exporter", "blackbox-exporter"):
        pid = (home / "run" / f"{name}.pid").read_text().strip()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        assert not [s for s in secrets_known if s and s in argv], name
        if os.geteuid() == 0:
            assert run_by(home, name) == "ai-stack", name
    # The SLIs come out of real traffic: the requests this test made.
    errors = prometheus_api(env, "query?query=ai_stack:slo_errors:ratio_rate5m")["result"]
    assert {e["metric"]["service"] for e in errors} >= {"aidb", "embeddings"}


def firing(env: dict[str, str], service: str, dependency: str) -> set[str]:
    """Names of the alerts firing now about `service`'s `dependency`."""
    alerts = prometheus_api(env, "alerts")["alerts"]
    return {
        a["labels"]["alertname"]
        for a in alerts
        if a["state"] == "firing"
        and a["labels"].get("service") == service
        and a["labels"].get("dependency") == dependency
    }


def check_alerts_follow_an_outage(env: dict[str, str], home: Path, key: str) -> None:
    """Embeddings stopped under a small search load: aidb's breaker and dependency alerts fire
    within their `for:`, and resolve once the startup script has brought embeddings back."""
    context = ssl.create_default_context(cafile=str(home / "tls" / "cert.pem"))
    https = int(env["AI_STACK_GATEWAY_HTTPS_PORT"])
    expected = {"CircuitBreakerStuckOpen", "OptionalDependencyDown"}
    pid = int((home / "run" / "embeddings.pid").read_text())
    os.kill(pid, 15)
    started, searches = time.monotonic(), 0

    def search() -> None:
        nonlocal searches
        searches += 1  # a new query each time: no cached query vector spares aidb the call
        body = {"query": f"enable sshd {searches}", "project": "e2e", "mode": "hybrid"}
        await_json(context, f"https://localhost:{https}/aidb/search", key, body)

    while (now := firing(env, "aidb", "embeddings")) != expected:
        assert time.monotonic() - started < 120, f"after {searches} searches, firing: {now}"
        search()
        time.sleep(0.5)
    fired_after = time.monotonic() - started
    restarted = run_startup(env)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    while now := firing(env, "aidb", "embeddings"):
        assert time.monotonic() - started < fired_after + 180, f"still firing: {now}"
        search()
        time.sleep(0.5)


def test_start_status_stop(tmp_path: Path) -> None:
    env = startup_env(
        tmp_path,
        **observability_env(),
        # Short enough for a test: the alerts' `for:` and how often aidb checks its dependencies.
        AI_STACK_OBSERVABILITY_DEPENDENCY_ALERT_FOR_S="10",
        AI_STACK_OBSERVABILITY_BREAKER_ALERT_FOR_S="5",
        AI_STACK_AIDB_HEALTH_PROBE_INTERVAL_S="2",
    )
    home, https = Path(env["AI_STACK_HOME"]), int(env["AI_STACK_GATEWAY_HTTPS_PORT"])
    embeddings_port = env["AI_STACK_EMBEDDINGS_PORT"]
    declare_docs_source(home, tmp_path)
    try:
        started = run_startup(env)
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        assert list((tmp_path / "logs").glob("ai-stack-startup-*.log"))

        again = run_startup(env)
        assert again.returncode == 0
        assert "embeddings already running" in again.stdout

        status = run_startup(env, "--status")
        assert status.returncode == 0, status.stdout
        for name in (
            "postgres",
            "redis",
            "auth",
            "embeddings",
            "aidb",
            "hybrid",
            "docs-search",
            "mcp",
            "gateway",
            "node-exporter",
            "postgres-exporter",
            "redis-exporter",
            "nginx-exporter",
            "blackbox-exporter",
            "prometheus",
        ):
            assert name in status.stdout
        assert "stopped" not in status.stdout

        check_services_run_unprivileged(home, started.stdout + started.stderr)
        check_allocators(home)
        key = create_key(env, "e2e")
        assert key.startswith("aisk_") and "\n" not in key
        context = ssl.create_default_context(cafile=str(home / "tls" / "cert.pem"))
        request = urllib.request.Request(
            f"https://localhost:{https}/embeddings/info", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            assert response.status == 200

        document = await_json(
            context,
            f"https://localhost:{https}/aidb/documents",
            key,
            {"collection": "docs", "project": "e2e", "path": "ssh.md", "content": SSH_NOTE},
        )
        assert document["outcome"] == "created"
        assert wait_for_search(context, https, key)["results"][0]["path"] == "ssh.md"

        cli_ingest_and_search(env, key, tmp_path)
        cli_docs(env, key, tmp_path)

        ready_url = f"http://127.0.0.1:{embeddings_port}/health/ready"
        with urllib.request.urlopen(ready_url, timeout=10) as response:
            ready = json.loads(response.read())
        assert ready["dependencies"]["redis"]["state"] == "up"  # the password-protected Redis works
        check_no_way_around_the_gateway(env, home, key)
        check_monitoring(env, home)
        check_alerts_follow_an_outage(env, home, key)

        stopped = run_startup(env, "--stop")
        assert stopped.returncode == 0, stopped.stderr
        check_no_secret_in_any_log(env, home, [key])
        after = run_startup(env, "--status")
        assert after.returncode == 5
        assert "stopped" in after.stdout
    finally:
        stop_and_clean(env)


def test_a_port_taken_by_another_process_stops_the_start(tmp_path: Path) -> None:
    """A process that bound a service's port first (here: a server that answers 200 to any
    health check, where the key verifier belongs) is named, and never trusted."""
    env = startup_env(tmp_path)
    rogue = subprocess.Popen(
        [sys.executable, "-m", "http.server", env["AI_STACK_AUTH_PORT"], "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not port_open(int(env["AI_STACK_AUTH_PORT"])):
            time.sleep(0.1)
        started = run_startup(env)
        assert started.returncode == 4, started.stdout[-2000:] + started.stderr[-2000:]
        output = started.stdout + started.stderr
        assert f"port {env['AI_STACK_AUTH_PORT']} is already taken by pid {rogue.pid}" in output
        assert "http.server" in output
    finally:
        rogue.terminate()
        rogue.wait(10)
        stop_and_clean(env)
