"""The metric names a PromQL expression reads, and the dashboard built on the recording rules."""

from __future__ import annotations

from ai_stack.observability.dashboard import dashboard, queries
from ai_stack.observability.promql import metric_names
from ai_stack.observability.rules import ObservedService, rule_groups
from ai_stack.observability.settings import ObservabilitySettings
from ai_stack.registry import SERVICES


def test_names_leave_out_functions_labels_keywords_and_durations() -> None:
    expr = (
        'sum by (job, instance) (rate(embeddings_queue_rejections_total{lane="interactive"}[5m])) > 0.1\n'
        "and on (job, instance, dependency) aidb_dependency_required == 1\n"
        "or histogram_quantile(0.95, sum by (le)"
        ' (rate(x_seconds_bucket{route!~"/health.*|a{b}"}[1h] offset 5m)))'
        " unless time() - probe_ssl_earliest_cert_expiry < 14 * 86400"
    )
    assert metric_names(expr) == {
        "embeddings_queue_rejections_total",
        "aidb_dependency_required",
        "x_seconds_bucket",
        "probe_ssl_earliest_cert_expiry",
    }


def test_names_in_grafana_variables_and_name_matchers() -> None:
    assert metric_names('ai_stack:slo_slow:ratio_rate1h{service=~"$service"} / 0.01') == {
        "ai_stack:slo_slow:ratio_rate1h"
    }
    assert metric_names('count({__name__="up"})') == {"up"}


def test_the_dashboard_reads_recorded_series_or_the_services_own() -> None:
    settings = ObservabilitySettings()
    groups = rule_groups([ObservedService(s.name, s.default_port) for s in SERVICES], settings, "/")
    recorded = {r["record"] for g in groups["groups"] for r in g["rules"] if "record" in r}
    read = set().union(*(metric_names(q) for q in queries(dashboard(settings))))
    per_service = {name for name in read if name.startswith("ai_stack:")}
    assert per_service and per_service <= recorded
    # Panels that name a service's own metrics are the ones only that service has.
    others = read - per_service
    assert all(n.split("_")[0] in {"embeddings", "aidb", "pg", "redis", "nginx", "probe"} for n in others)


def test_panels_do_not_overlap_and_have_unique_ids() -> None:
    panels = dashboard(ObservabilitySettings())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for panel in panels:
        pos = panel["gridPos"]
        area = {
            (x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area


def test_burn_panels_divide_by_the_configured_budget() -> None:
    exprs = queries(dashboard(ObservabilitySettings(availability_objective=0.999)))
    assert any(e.endswith("/ 0.001") and "slo_errors" in e for e in exprs)
