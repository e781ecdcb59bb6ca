"""Every generated alert, fired and not fired by `promtool test rules` on series shaped like the
services' real ones; `promtool check` on the rendered configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from ai_stack.observability.render import RULES_FILE, StackPaths, render
from ai_stack.observability.rules import ObservedService, alert_names, rule_groups
from ai_stack.observability.settings import ObservabilitySettings
from ai_stack.registry import SERVICES

from tests.harness.processes import REPO_ROOT

PROMTOOL = shutil.which("promtool")  # Debian's prometheus package; scripts/test.sh installs it
MOUNT = "/data"
AIDB = 'job="aidb",instance="127.0.0.1:8091"'
EMB = 'job="embeddings",instance="127.0.0.1:8081"'


def requests(status: str, per_minute: int, route: str = "/search", minutes: int = 420) -> tuple[str, str]:
    series = f'aidb_http_requests_total{{{AIDB},method="POST",route="{route}",status="{status}"}}'
    return series, f"0+{per_minute}x{minutes}"


def durations(fast_per_minute: int, all_per_minute: int, minutes: int = 420) -> list[tuple[str, str]]:
    labels = f'{AIDB},method="POST",route="/search"'
    return [
        (
            f'aidb_http_request_duration_seconds_bucket{{{labels},le="0.25"}}',
            f"0+{fast_per_minute}x{minutes}",
        ),
        (f'aidb_http_request_duration_seconds_bucket{{{labels},le="+Inf"}}', f"0+{all_per_minute}x{minutes}"),
        (f"aidb_http_request_duration_seconds_count{{{labels}}}", f"0+{all_per_minute}x{minutes}"),
    ]


@dataclass
class Case:
    """Series that fire the alert at `eval_time` with `labels` (and `$value` rendered as
    `value`), and series of a healthy stack on which it stays silent."""

    firing: list[tuple[str, str]]
    healthy: list[tuple[str, str]]
    eval_time: str
    labels: dict[str, str]
    value: str = ""
    also_silent: list[str] = field(default_factory=list)  # alerts these firing series must not fire


BREAKER = f'{AIDB},dependency="qdrant"'
CASES: dict[str, Case] = {
    "ErrorBudgetBurnFast": Case(
        firing=[requests("200", 90), requests("500", 10)],
        # 0.5% errors is the budget itself; probes failing do not count.
        healthy=[requests("200", 199), requests("500", 1), requests("503", 50, route="/health/ready")],
        eval_time="70m",
        labels={"service": "aidb", "severity": "page"},
        value="10%",
    ),
    "ErrorBudgetBurnSlow": Case(
        firing=[requests("200", 96), requests("500", 4)],
        healthy=[requests("200", 99), requests("500", 1)],
        eval_time="7h",
        labels={"service": "aidb", "severity": "ticket"},
        value="4%",
        also_silent=["ErrorBudgetBurnFast"],
    ),
    "LatencyBudgetBurnFast": Case(
        firing=durations(80, 100),
        healthy=durations(100, 100),
        eval_time="70m",
        labels={"service": "aidb", "severity": "page"},
        value="20%",
    ),
    "LatencyBudgetBurnSlow": Case(
        firing=durations(90, 100),
        healthy=durations(995, 1000),
        eval_time="7h",
        labels={"service": "aidb", "severity": "ticket"},
        value="10%",
        also_silent=["LatencyBudgetBurnFast"],
    ),
    "CircuitBreakerStuckOpen": Case(
        firing=[
            (f"aidb_circuit_breaker_state{{{BREAKER}}}", "2x10"),
            (f"aidb_circuit_breaker_not_closed_since_timestamp_seconds{{{BREAKER}}}", "60x10"),
            (f"aidb_circuit_breaker_reset_timeout_seconds{{{BREAKER}}}", "10x10"),
        ],
        # Open since a moment ago: it is still within its reset timeout.
        healthy=[
            (f"aidb_circuit_breaker_state{{{BREAKER}}}", "2x10"),
            (f"aidb_circuit_breaker_not_closed_since_timestamp_seconds{{{BREAKER}}}", "295+60x10"),
            (f"aidb_circuit_breaker_reset_timeout_seconds{{{BREAKER}}}", "10x10"),
        ],
        eval_time="5m",
        labels={
            "service": "aidb",
            "severity": "page",
            "job": "aidb",
            "instance": "127.0.0.1:8091",
            "dependency": "qdrant",
        },
    ),
    "RequiredDependencyDown": Case(
        firing=[
            (f"aidb_dependency_up{{{BREAKER}}}", "0x10"),
            (f"aidb_dependency_required{{{BREAKER}}}", "1x10"),
        ],
        # An optional dependency down degrades the service; it does not page.
        healthy=[
            (f"aidb_dependency_up{{{BREAKER}}}", "0x10"),
            (f"aidb_dependency_required{{{BREAKER}}}", "0x10"),
        ],
        eval_time="5m",
        labels={
            "service": "aidb",
            "severity": "page",
            "job": "aidb",
            "instance": "127.0.0.1:8091",
            "dependency": "qdrant",
        },
    ),
    "OptionalDependencyDown": Case(
        firing=[
            (f"aidb_dependency_up{{{BREAKER}}}", "0x10"),
            (f"aidb_dependency_required{{{BREAKER}}}", "0x10"),
        ],
        healthy=[
            (f"aidb_dependency_up{{{BREAKER}}}", "1x10"),
            (f"aidb_dependency_required{{{BREAKER}}}", "0x10"),
        ],
        eval_time="5m",
        labels={
            "service": "aidb",
            "severity": "ticket",
            "job": "aidb",
            "instance": "127.0.0.1:8091",
            "dependency": "qdrant",
        },
        also_silent=["RequiredDependencyDown"],
    ),
    "ProcessMemoryHigh": Case(
        firing=[(f"aidb_process_resident_memory_bytes{{{AIDB}}}", "2000000000x20")],
        healthy=[(f"aidb_process_resident_memory_bytes{{{AIDB}}}", "1000000000x20")],
        eval_time="15m",
        labels={"service": "aidb", "severity": "ticket", "job": "aidb", "instance": "127.0.0.1:8091"},
        value="1.863Gi",
    ),
    "EngineWorkerMemoryHigh": Case(
        # Resident memory is mostly the shard's mapped files: only the heap counts.
        firing=[(f'aidb_engine_worker_anonymous_memory_bytes{{{AIDB},replica="1"}}', "4000000000x20")],
        healthy=[
            (f'aidb_engine_worker_anonymous_memory_bytes{{{AIDB},replica="1"}}', "1000000000x20"),
            (f'aidb_engine_worker_resident_memory_bytes{{{AIDB},replica="1"}}', "6000000000x20"),
        ],
        eval_time="15m",
        labels={
            "service": "aidb",
            "severity": "ticket",
            "job": "aidb",
            "instance": "127.0.0.1:8091",
            "replica": "1",
        },
        value="3.725Gi",
    ),
    "OutboxBacklogOld": Case(
        firing=[(f"aidb_outbox_oldest_seconds{{{AIDB}}}", "1000x10")],
        healthy=[(f"aidb_outbox_oldest_seconds{{{AIDB}}}", "100x10")],
        eval_time="7m",
        labels={"service": "aidb", "severity": "ticket", "job": "aidb", "instance": "127.0.0.1:8091"},
        value="16m 40s",
    ),
    "EmbeddingsQueueSaturated": Case(
        firing=[(f'embeddings_queue_rejections_total{{{EMB},lane="interactive"}}', "0+60x20")],
        # Bulk work waiting its turn is throttling, not saturation; a rare refusal is not either.
        healthy=[
            (f'embeddings_queue_rejections_total{{{EMB},lane="interactive"}}', "0+1x20"),
            (f'embeddings_queue_rejections_total{{{EMB},lane="bulk"}}', "0+600x20"),
        ],
        eval_time="15m",
        labels={
            "service": "embeddings",
            "severity": "page",
            "job": "embeddings",
            "instance": "127.0.0.1:8081",
        },
        value="1",
    ),
    "EmbeddingsModelLoadFailing": Case(
        firing=[(f"embeddings_model_load_failures_total{{{EMB}}}", "0 0 0 1 1 1 1")],
        healthy=[(f"embeddings_model_load_failures_total{{{EMB}}}", "0x6")],
        eval_time="5m",
        labels={
            "service": "embeddings",
            "severity": "page",
            "job": "embeddings",
            "instance": "127.0.0.1:8081",
        },
    ),
    "ScrapeTargetDown": Case(
        firing=[(f"up{{{AIDB}}}", "0x10")],
        healthy=[(f"up{{{AIDB}}}", "1x10")],
        eval_time="5m",
        labels={"severity": "page", "job": "aidb", "instance": "127.0.0.1:8091"},
    ),
    "PostgresDown": Case(
        firing=[('pg_up{job="postgres",instance="127.0.0.1:9187"}', "0x10")],
        healthy=[('pg_up{job="postgres",instance="127.0.0.1:9187"}', "1x10")],
        eval_time="5m",
        labels={"severity": "page", "job": "postgres", "instance": "127.0.0.1:9187"},
    ),
    "RedisDown": Case(
        firing=[('redis_up{job="redis",instance="127.0.0.1:9121"}', "0x10")],
        healthy=[('redis_up{job="redis",instance="127.0.0.1:9121"}', "1x10")],
        eval_time="5m",
        labels={"severity": "page", "job": "redis", "instance": "127.0.0.1:9121"},
    ),
    "GatewayDown": Case(
        firing=[('probe_success{job="gateway-probe",instance="https://127.0.0.1:8443/health"}', "0x10")],
        healthy=[('probe_success{job="gateway-probe",instance="https://127.0.0.1:8443/health"}', "1x10")],
        eval_time="5m",
        labels={"severity": "page", "job": "gateway-probe", "instance": "https://127.0.0.1:8443/health"},
    ),
    "CertificateExpiringSoon": Case(
        # Expires 7 days after the evaluation at 15 m (900 s from the epoch promtool starts at).
        firing=[('probe_ssl_earliest_cert_expiry{job="gateway-probe",instance="gw"}', "605700x20")],
        healthy=[('probe_ssl_earliest_cert_expiry{job="gateway-probe",instance="gw"}', "2592900x20")],
        eval_time="15m",
        labels={"severity": "ticket", "job": "gateway-probe", "instance": "gw"},
        value="7d 0h 0m 0s",
    ),
    "DataVolumeLow": Case(
        firing=[
            (f'node_filesystem_avail_bytes{{job="node",instance="n",mountpoint="{MOUNT}"}}', "5x20"),
            (f'node_filesystem_size_bytes{{job="node",instance="n",mountpoint="{MOUNT}"}}', "100x20"),
        ],
        # Another file system filling up is not the stack's.
        healthy=[
            (f'node_filesystem_avail_bytes{{job="node",instance="n",mountpoint="{MOUNT}"}}', "50x20"),
            (f'node_filesystem_size_bytes{{job="node",instance="n",mountpoint="{MOUNT}"}}', "100x20"),
            ('node_filesystem_avail_bytes{job="node",instance="n",mountpoint="/boot"}', "1x20"),
            ('node_filesystem_size_bytes{job="node",instance="n",mountpoint="/boot"}', "100x20"),
        ],
        eval_time="15m",
        labels={"severity": "ticket", "job": "node", "instance": "n", "mountpoint": MOUNT},
        value="5%",
    ),
}


def observed() -> list[ObservedService]:
    return [ObservedService(s.name, s.default_port) for s in SERVICES]


def groups() -> dict[str, Any]:
    return rule_groups(observed(), ObservabilitySettings(), MOUNT)


def alert_rules(name: str) -> list[dict[str, Any]]:
    return [r for g in groups()["groups"] for r in g["rules"] if r.get("alert") == name]


def expected_annotations(name: str, case: Case) -> dict[str, str]:
    """The rule's annotations as Prometheus renders them for this case's alert."""
    rules = [r for r in alert_rules(name) if r["labels"].get("service") in (None, case.labels.get("service"))]
    annotations: dict[str, str] = rules[0]["annotations"]

    def fill(text: str) -> str:
        text = re.sub(r"\{\{ \$value[^}]*\}\}", case.value, text)
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: case.labels[m.group(1)], text)

    return {key: fill(value) for key, value in annotations.items()}


def promtool_file(tmp_path: Path, name: str, case: Case) -> Path:
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(groups()))

    def series(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"series": s, "values": v} for s, v in pairs]

    firing = {
        "name": f"{name} fires",
        "interval": "1m",
        "input_series": series(case.firing),
        "alert_rule_test": [
            {
                "eval_time": case.eval_time,
                "alertname": name,
                "exp_alerts": [
                    {"exp_labels": case.labels, "exp_annotations": expected_annotations(name, case)}
                ],
            },
            *(
                {"eval_time": case.eval_time, "alertname": other, "exp_alerts": []}
                for other in case.also_silent
            ),
        ],
    }
    healthy = {
        "name": f"{name} stays silent",
        "interval": "1m",
        "input_series": series(case.healthy),
        "alert_rule_test": [{"eval_time": case.eval_time, "alertname": name, "exp_alerts": []}],
    }
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [firing, healthy]}
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return path


def test_every_alert_has_a_case() -> None:
    assert sorted(alert_names(groups())) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_alert_fires_and_stays_silent(tmp_path: Path, name: str) -> None:
    assert PROMTOOL is not None, "promtool is missing: apt-get install prometheus"
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(promtool_file(tmp_path, name, CASES[name]))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_says_what_how_bad_and_where_to_look() -> None:
    runbook = (REPO_ROOT / "docs/RUNBOOK.md").read_text()
    headings = set(re.findall(r"^## (\w+)$", runbook, re.MULTILINE))
    for group in groups()["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            assert rule["labels"]["severity"] in {"page", "ticket"}
            assert set(rule["annotations"]) == {"summary", "description", "runbook"}
            assert rule["annotations"]["runbook"] == f"docs/RUNBOOK.md#{rule['alert'].lower()}"
            assert rule["alert"] in headings, f"docs/RUNBOOK.md has no section for {rule['alert']}"


def test_rendered_configuration_passes_promtool(tmp_path: Path) -> None:
    assert PROMTOOL is not None, "promtool is missing: apt-get install prometheus"
    secret = tmp_path / "gateway-secret"
    secret.write_text("s" * 32)
    cert = tmp_path / "cert.pem"
    cert.write_text("")
    out = tmp_path / "monitoring"
    render(out, observed(), ObservabilitySettings(), StackPaths(secret, cert, tmp_path, 8443))
    for args in (["check", "config", str(out / "prometheus.yml")], ["check", "rules", str(out / RULES_FILE)]):
        result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
    # Owner-only: the configuration says where the gateway secret is.
    assert all(p.stat().st_mode & 0o077 == 0 for p in out.rglob("*") if p.is_file())


def test_an_odd_data_path_keeps_the_rules_valid(tmp_path: Path) -> None:
    """The data volume's mount point goes into PromQL and a template: quotes, backslashes and
    braces in it must not break either."""
    assert PROMTOOL is not None, "promtool is missing: apt-get install prometheus"
    odd = '/srv/we"ird\\ {{ $x }}'
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(rule_groups(observed(), ObservabilitySettings(), odd)))
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [low] = [
        r
        for g in yaml.safe_load(rules.read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "DataVolumeLow"
    ]
    assert '\\"ird' in low["expr"]
