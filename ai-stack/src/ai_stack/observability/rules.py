"""Prometheus recording and alert rules for the stack, generated per service (pure: data in,
rule groups out).

Every service exports the same families under its own prefix (`aidb_http_requests_total`, …).
Recording rules turn them into one set of series labelled `service` (`ai_stack:…`), which the
SLO alerts and the dashboard both read, so a service added to the registry gets the same alerts
and panels with no extra work. Burn-rate alerts follow the SRE workbook's multiwindow,
multi-burn-rate recipe: a page when 1 h and 5 m both burn 14.4 times the budget (2% of a 30-day
budget in an hour), a ticket when 6 h and 30 m both burn 6 times (5% in six hours).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ai_stack.core.metrics import metric_prefix
from ai_stack.observability.settings import ObservabilitySettings

RUNBOOK = "docs/RUNBOOK.md"
# Probes, scrapes and the API description are not what users ask of a service.
NOT_USER_TRAFFIC = "/health.*|/metrics|/openapi.json"
SLI_WINDOWS = ("5m", "30m", "1h", "6h")
# (severity, long window, short window, burn rate, for)
BURN_ALERTS = (
    ("page", "1h", "5m", 14.4, "2m"),
    ("ticket", "6h", "30m", 6.0, "15m"),
)
GATEWAY_PROBE_JOB = "gateway-probe"


@dataclass(frozen=True)
class ObservedService:
    """One Python service as Prometheus sees it."""

    name: str  # the registry's name; the `service` label and the scrape job
    port: int
    host: str = "127.0.0.1"

    @property
    def prefix(self) -> str:
        return metric_prefix(self.name)


Rule = dict[str, Any]


def _alert(
    name: str,
    expr: str,
    *,
    severity: str,
    summary: str,
    description: str,
    for_: str | None = None,
    labels: dict[str, str] | None = None,
) -> Rule:
    rule: Rule = {"alert": name, "expr": expr}
    if for_ is not None:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, **(labels or {})}
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "runbook": f"{RUNBOOK}#{name.lower()}",
    }
    return rule


def _record(name: str, expr: str, service: str) -> Rule:
    return {"record": name, "expr": expr, "labels": {"service": service}}


def sli_recording_rules(service: ObservedService, settings: ObservabilitySettings) -> list[Rule]:
    """Error and slow ratios per window, and the unified series the dashboard reads."""
    p, name = service.prefix, service.name
    user = f'route!~"{NOT_USER_TRAFFIC}"'
    # The `le` label as prometheus_client writes it: Python's repr of the bucket (0.25, 1.0, 10.0).
    threshold = repr(float(settings.latency_threshold_s(name)))
    rules = []
    for window in SLI_WINDOWS:
        requests = f"sum(rate({p}_http_requests_total{{{user}}}[{window}]))"
        # `or vector(0)`: no 5xx at all is a ratio of 0, not a missing series.
        errors = f'(sum(rate({p}_http_requests_total{{status=~"5..",{user}}}[{window}])) or vector(0))'
        fast = f'sum(rate({p}_http_request_duration_seconds_bucket{{le="{threshold}",{user}}}[{window}]))'
        timed = f"sum(rate({p}_http_request_duration_seconds_count{{{user}}}[{window}]))"
        rules.append(_record(f"ai_stack:slo_errors:ratio_rate{window}", f"{errors} / {requests}", name))
        rules.append(_record(f"ai_stack:slo_slow:ratio_rate{window}", f"1 - {fast} / {timed}", name))
    rules += [
        _record(
            "ai_stack:http_requests:rate5m",
            f"sum by (route, status) (rate({p}_http_requests_total[5m]))",
            name,
        ),
        _record(
            "ai_stack:http_request_duration_seconds_bucket:rate5m",
            f"sum by (le, route) (rate({p}_http_request_duration_seconds_bucket[5m]))",
            name,
        ),
        _record("ai_stack:http_requests_in_flight", f"sum({p}_http_requests_in_flight)", name),
        _record("ai_stack:circuit_breaker_state", f"max by (dependency) ({p}_circuit_breaker_state)", name),
        _record("ai_stack:dependency_up", f"min by (dependency) ({p}_dependency_up)", name),
        _record("ai_stack:process_resident_memory_bytes", f"sum({p}_process_resident_memory_bytes)", name),
    ]
    return rules


def slo_alerts(service: ObservedService, settings: ObservabilitySettings) -> list[Rule]:
    """Availability and latency burn-rate alerts of one service."""
    name = service.name
    objectives = (
        ("ErrorBudgetBurn", "slo_errors", settings.availability_objective, "5xx answers"),
        ("LatencyBudgetBurn", "slo_slow", settings.latency_objective, "slow answers"),
    )
    alerts = []
    for alert, series, objective, what in objectives:
        budget = 1 - objective
        for severity, long, short, rate, for_ in BURN_ALERTS:
            threshold = round(rate * budget, 6)
            expr = (
                f'ai_stack:{series}:ratio_rate{long}{{service="{name}"}} > {threshold}\n'
                f'and ai_stack:{series}:ratio_rate{short}{{service="{name}"}} > {threshold}'
            )
            speed = "Fast" if severity == "page" else "Slow"
            alerts.append(
                _alert(
                    f"{alert}{speed}",
                    expr,
                    for_=for_,
                    severity=severity,
                    labels={"service": name},
                    summary=f"{name} burns its {what} budget {rate:g}x too fast",
                    description=(
                        f"{{{{ $value | humanizePercentage }}}} of {name}'s requests over {long} were"
                        f" {what} (objective {objective:.2%}, so at most {budget:.2%}); {short} agrees."
                    ),
                )
            )
    return alerts


def _dependency_alerts(service: ObservedService, settings: ObservabilitySettings) -> list[Rule]:
    """A dependency down: a page when the service needs it, a ticket when it runs degraded."""
    p, name = service.prefix, service.name
    kinds = (
        (
            "RequiredDependencyDown",
            1,
            "page",
            f"{name} cannot reach {{{{ $labels.dependency }}}}, which it needs",
            " it answers 503 (not ready) until the dependency is back.",
        ),
        (
            "OptionalDependencyDown",
            0,
            "ticket",
            f"{name} runs degraded: {{{{ $labels.dependency }}}} is down",
            " it still answers, without what that dependency adds (e.g. aidb searches by keyword only).",
        ),
    )
    return [
        _alert(
            alert,
            f"{p}_dependency_up == 0\n"
            f"and on (job, instance, dependency) {p}_dependency_required == {required}",
            for_=f"{settings.dependency_alert_for_s}s",
            severity=severity,
            labels={"service": name},
            summary=summary,
            description=f"{name}'s checks and calls of {{{{ $labels.dependency }}}} fail;{consequence}",
        )
        for alert, required, severity, summary, consequence in kinds
    ]


def service_alerts(service: ObservedService, settings: ObservabilitySettings) -> list[Rule]:
    """Breakers, required dependencies and memory of one service."""
    p, name = service.prefix, service.name
    limit = settings.memory_limit_bytes(name)
    return [
        _alert(
            "CircuitBreakerStuckOpen",
            f"{p}_circuit_breaker_state > 0\n"
            f"and (time() - {p}_circuit_breaker_not_closed_since_timestamp_seconds)"
            f" > {p}_circuit_breaker_reset_timeout_seconds",
            for_=f"{settings.breaker_alert_for_s}s",
            severity="page",
            labels={"service": name},
            summary=f"{name}'s breaker for {{{{ $labels.dependency }}}} stays open past its reset",
            description=(
                f"{name} has not closed its breaker for {{{{ $labels.dependency }}}} since it opened;"
                " the probes after the reset timeout keep failing."
            ),
        ),
        *_dependency_alerts(service, settings),
        _alert(
            "ProcessMemoryHigh",
            f"{p}_process_resident_memory_bytes > {int(limit * settings.memory_alert_fraction)}",
            for_="10m",
            severity="ticket",
            labels={"service": name},
            summary=f"{name} uses most of its memory budget",
            description=(
                f"{name} holds {{{{ $value | humanize1024 }}}}B resident, over"
                f" {settings.memory_alert_fraction:.0%} of its {limit // (1024 * 1024)} MiB budget."
            ),
        ),
    ]


def aidb_alerts(settings: ObservabilitySettings) -> list[Rule]:
    age = settings.outbox_age_alert_s
    worker_alert_bytes = int(settings.engine_worker_memory_mib * 1024 * 1024 * settings.memory_alert_fraction)
    return [
        # The index lives in the engine workers, not in aidb's process (ProcessMemoryHigh).
        _alert(
            "EngineWorkerMemoryHigh",
            f"aidb_engine_worker_anonymous_memory_bytes > {worker_alert_bytes}",
            for_="10m",
            severity="ticket",
            labels={"service": "aidb"},
            summary="An aidb engine worker uses most of its memory budget",
            description=(
                "aidb's engine replica {{ $labels.replica }} holds {{ $value | humanize1024 }}B of heap,"
                f" over {settings.memory_alert_fraction:.0%} of its {settings.engine_worker_memory_mib} MiB"
                " budget."
            ),
        ),
        _alert(
            "OutboxBacklogOld",
            f"aidb_outbox_oldest_seconds > {age:g}",
            for_="5m",
            severity="ticket",
            labels={"service": "aidb"},
            summary="aidb's indexing backlog is not draining",
            description=(
                f"The oldest document waiting to be indexed has waited {{{{ $value | humanizeDuration }}}}"
                f" (alert above {age:g} s); search does not find it yet."
            ),
        ),
    ]


def embeddings_alerts(settings: ObservabilitySettings) -> list[Rule]:
    return [
        _alert(
            "EmbeddingsQueueSaturated",
            'sum by (job, instance) (rate(embeddings_queue_rejections_total{lane="interactive"}[5m])) > 0.1',
            for_="5m",
            severity="page",
            labels={"service": "embeddings"},
            summary="The embeddings queue turns queries away",
            description=(
                "{{ $value | humanize }} interactive requests a second get 503 overloaded (alert"
                " above 0.1 for 5 minutes): the queue is full, so searches that embed a query fail."
            ),
        ),
        _alert(
            "EmbeddingsModelLoadFailing",
            "increase(embeddings_model_load_failures_total[10m]) > 0",
            severity="page",
            labels={"service": "embeddings"},
            summary="The embedding model fails to load",
            description=(
                "Loading the model failed in the last 10 minutes; the service is not ready until a"
                " retry succeeds."
            ),
        ),
    ]


# Rules that only one service's own metrics allow, by registry name.
SPECIFIC_ALERTS = {"aidb": aidb_alerts, "embeddings": embeddings_alerts}


def platform_alerts(settings: ObservabilitySettings, data_mountpoint: str) -> list[Rule]:
    """Scrape targets, backing services, the gateway's reachability and certificate, the disk."""
    days = settings.certificate_expiry_days
    free = settings.disk_free_alert_fraction
    # A PromQL string (JSON's escapes are PromQL's), whatever the path holds.
    volume = f"mountpoint={json.dumps(data_mountpoint)}"
    return [
        _alert(
            "ScrapeTargetDown",
            "up == 0",
            for_="2m",
            severity="page",
            summary="Prometheus cannot scrape {{ $labels.job }}",
            description="{{ $labels.instance }} ({{ $labels.job }}) has not answered a scrape for 2 minutes.",
        ),
        _alert(
            "PostgresDown",
            "pg_up == 0",
            for_="1m",
            severity="page",
            summary="PostgreSQL does not answer its exporter",
            description=(
                "aidb, hybrid and docs-search keep their data in PostgreSQL; writes and searches fail."
            ),
        ),
        _alert(
            "RedisDown",
            "redis_up == 0",
            for_="1m",
            severity="page",
            summary="Redis does not answer its exporter",
            description="Caches, rate limits and sessions live in Redis; services degrade or refuse.",
        ),
        _alert(
            "GatewayDown",
            f'probe_success{{job="{GATEWAY_PROBE_JOB}"}} == 0',
            for_="2m",
            severity="page",
            summary="The gateway's HTTPS health check fails",
            description=(
                "{{ $labels.instance }} has failed its HTTPS probe for 2 minutes; clients cannot connect."
            ),
        ),
        _alert(
            "CertificateExpiringSoon",
            f'probe_ssl_earliest_cert_expiry{{job="{GATEWAY_PROBE_JOB}"}} - time() < {days:g} * 86400',
            for_="10m",
            severity="ticket",
            summary="The gateway's TLS certificate expires soon",
            description=(
                f"The certificate of {{{{ $labels.instance }}}} expires in"
                f" {{{{ $value | humanizeDuration }}}} (alert below {days:g} days)."
            ),
        ),
        _alert(
            "DataVolumeLow",
            f"node_filesystem_avail_bytes{{{volume}}} / node_filesystem_size_bytes{{{volume}}} < {free:g}",
            for_="10m",
            severity="ticket",
            summary="The data volume is nearly full",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of {{{{ $labels.mountpoint }}}} is free (alert below"
                f" {free:.0%}); PostgreSQL, Redis and the vector store write there."
            ),
        ),
    ]


def rule_groups(
    services: Iterable[ObservedService], settings: ObservabilitySettings, data_mountpoint: str
) -> dict[str, Any]:
    """The whole rule file: recording rules first (alerts read them), then alerts."""
    services = tuple(services)
    recording = [r for s in services for r in sli_recording_rules(s, settings)]
    slo = [r for s in services for r in slo_alerts(s, settings)]
    per_service = [r for s in services for r in service_alerts(s, settings)]
    per_service += [
        r for s in services if s.name in SPECIFIC_ALERTS for r in SPECIFIC_ALERTS[s.name](settings)
    ]
    return {
        "groups": [
            {"name": "ai-stack-sli", "rules": recording},
            {"name": "ai-stack-slo", "rules": slo},
            {"name": "ai-stack-services", "rules": per_service},
            {"name": "ai-stack-platform", "rules": platform_alerts(settings, data_mountpoint)},
        ]
    }


def alert_names(groups: dict[str, Any]) -> list[str]:
    """Every distinct alert name in a rule file, in order."""
    names = [r["alert"] for g in groups["groups"] for r in g["rules"] if "alert" in r]
    return list(dict.fromkeys(names))
