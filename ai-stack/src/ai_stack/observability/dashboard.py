"""The Grafana dashboard and its provisioning (pure: settings in, JSON-ready dicts out).

Panels read the recording rules' `ai_stack:*` series, labelled `service`, so one dashboard shows
every service the registry lists (a `service` variable filters them), and the SLO panels show the
same ratios the burn-rate alerts fire on.
"""

from __future__ import annotations

from typing import Any

from ai_stack.observability.settings import ObservabilitySettings

DATASOURCE = {"type": "prometheus", "uid": "ai-stack-prometheus"}
DASHBOARD_UID = "ai-stack-overview"
SERVICE = 'service=~"$service"'


def _panel(title: str, targets: list[tuple[str, str]], unit: str, kind: str = "timeseries") -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def _row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def _quantile(q: float) -> tuple[str, str]:
    expr = (
        f"histogram_quantile({q}, sum by (service, le)"
        f" (ai_stack:http_request_duration_seconds_bucket:rate5m{{{SERVICE}}}))"
    )
    return expr, f"{{{{service}}}} p{round(q * 100)}"


def _hit_ratio(prefix: str) -> str:
    hits, misses = f"rate({prefix}_hits_total[5m])", f"rate({prefix}_misses_total[5m])"
    return f"sum({hits}) / (sum({hits}) + sum({misses}))"


def panels(settings: ObservabilitySettings) -> list[dict[str, Any]]:
    """Rows of panels, top to bottom: RED, SLO burn, dependencies, saturation, backing services."""
    error_budget = round(1 - settings.availability_objective, 6)
    latency_budget = round(1 - settings.latency_objective, 6)
    return [
        _row("Requests, errors, duration"),
        _panel(
            "Requests per second",
            [(f"sum by (service) (ai_stack:http_requests:rate5m{{{SERVICE}}})", "{{service}}")],
            "reqps",
        ),
        _panel(
            "Share of 5xx answers (5 m)",
            [(f"ai_stack:slo_errors:ratio_rate5m{{{SERVICE}}}", "{{service}}")],
            "percentunit",
        ),
        _panel("Latency quantiles", [_quantile(0.5), _quantile(0.95), _quantile(0.99)], "s"),
        {
            **_panel(
                "Latency heatmap",
                [
                    (
                        f"sum by (le) (ai_stack:http_request_duration_seconds_bucket:rate5m{{{SERVICE}}})",
                        "{{le}}",
                    )
                ],
                "s",
                kind="heatmap",
            ),
            "options": {"calculate": False, "yAxis": {"unit": "s"}},
        },
        _panel(
            "Requests in flight", [(f"ai_stack:http_requests_in_flight{{{SERVICE}}}", "{{service}}")], "short"
        ),
        _row("SLO burn (1 = spending the budget exactly as fast as allowed)"),
        _panel(
            "Error-budget burn rate",
            [
                (f"ai_stack:slo_errors:ratio_rate1h{{{SERVICE}}} / {error_budget}", "{{service}} 1h"),
                (f"ai_stack:slo_errors:ratio_rate6h{{{SERVICE}}} / {error_budget}", "{{service}} 6h"),
            ],
            "short",
        ),
        _panel(
            "Latency-budget burn rate",
            [
                (f"ai_stack:slo_slow:ratio_rate1h{{{SERVICE}}} / {latency_budget}", "{{service}} 1h"),
                (f"ai_stack:slo_slow:ratio_rate6h{{{SERVICE}}} / {latency_budget}", "{{service}} 6h"),
            ],
            "short",
        ),
        _row("Dependencies"),
        _panel(
            "Circuit breakers (0 closed, 1 half-open, 2 open)",
            [(f"ai_stack:circuit_breaker_state{{{SERVICE}}}", "{{service}} → {{dependency}}")],
            "short",
        ),
        _panel(
            "Dependency up",
            [(f"ai_stack:dependency_up{{{SERVICE}}}", "{{service}} → {{dependency}}")],
            "short",
        ),
        _row("Saturation and memory"),
        _panel(
            "Resident memory",
            [(f"ai_stack:process_resident_memory_bytes{{{SERVICE}}}", "{{service}}")],
            "bytes",
        ),
        _panel(
            "Embeddings queue",
            [
                ("embeddings_queue_depth", "queued texts"),
                ("embeddings_queue_capacity_texts", "capacity per lane"),
                ("sum by (lane) (rate(embeddings_queue_rejections_total[5m]))", "rejected/s {{lane}}"),
            ],
            "short",
        ),
        _panel(
            "aidb indexing backlog",
            [
                ("aidb_outbox_pending", "pending"),
                ("aidb_outbox_retrying", "retrying"),
                ("aidb_outbox_oldest_seconds", "oldest (s)"),
            ],
            "short",
        ),
        _panel(
            "Cache hit ratio",
            [
                (_hit_ratio("embeddings_cache"), "embeddings vectors"),
                (_hit_ratio("aidb_results_cache"), "aidb result pages"),
            ],
            "percentunit",
        ),
        _row("Backing services and gateway"),
        _panel(
            "Backing services up",
            [
                ("pg_up", "PostgreSQL"),
                ("redis_up", "Redis"),
                ("nginx_up", "nginx"),
                ("probe_success", "HTTPS probe"),
            ],
            "short",
        ),
        _panel("Gateway connections", [("nginx_connections_active", "active")], "short"),
        _panel(
            "Days until the certificate expires",
            [("(probe_ssl_earliest_cert_expiry - time()) / 86400", "{{instance}}")],
            "d",
        ),
    ]


def _layout(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows full width; panels two a row, 12 of Grafana's 24 columns each."""
    laid, y, column = [], 0, 0
    for panel_id, item in enumerate(items, start=1):
        if item["type"] == "row":
            y += 0 if column == 0 else 8
            laid.append({**item, "id": panel_id, "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
            y, column = y + 1, 0
            continue
        laid.append({**item, "id": panel_id, "gridPos": {"h": 8, "w": 12, "x": column * 12, "y": y}})
        column = (column + 1) % 2
        y += 8 if column == 0 else 0
    return laid


def dashboard(settings: ObservabilitySettings) -> dict[str, Any]:
    """The overview dashboard (Grafana's JSON model)."""
    return {
        "uid": DASHBOARD_UID,
        "title": "ai-stack overview",
        "tags": ["ai-stack"],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "service",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": {
                        "query": "label_values(ai_stack:http_requests:rate5m, service)",
                        "refId": "service",
                    },
                    "includeAll": True,
                    "multi": True,
                    "current": {"text": "All", "value": "$__all"},
                    "refresh": 2,
                }
            ]
        },
        "panels": _layout(panels(settings)),
    }


def datasource_provisioning(prometheus_url: str) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "ai-stack Prometheus",
                "uid": DATASOURCE["uid"],
                "type": "prometheus",
                "access": "proxy",
                "url": prometheus_url,
                "isDefault": True,
            }
        ],
    }


def dashboard_provisioning(dashboards_dir: str) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "ai-stack",
                "type": "file",
                "disableDeletion": True,
                "options": {"path": dashboards_dir},
            }
        ],
    }


def queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard's panels."""
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
