"""The files of the observability profile's configuration volumes (pure): Prometheus's
configuration and rules, Grafana's provisioning and dashboard, for the containers' network."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ai_stack.observability.dashboard import dashboard, dashboard_provisioning, datasource_provisioning
from ai_stack.observability.rules import ObservedService, rule_groups
from ai_stack.observability.scrape import prometheus_config
from ai_stack.observability.settings import ObservabilitySettings
from ai_stack.registry import SERVICES

PROMETHEUS_DIR = "/etc/ai-stack/prometheus"
GRAFANA_DIR = "/etc/ai-stack/grafana"
PROMETHEUS_PORT = 9090
GATEWAY_SECRET = "/run/secrets/gateway-secret"


def _yaml(data: object) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, width=120).encode()


def observability_volumes(settings: ObservabilitySettings) -> dict[str, dict[str, bytes]]:
    """Volume role -> {path in the volume: content}. Prometheus scrapes every service by its
    container name; the profile runs no exporters, so their jobs are left out (their alerts stay
    silent rather than reporting targets that do not exist)."""
    services = [ObservedService(s.name, s.default_port, host=s.name) for s in SERVICES]
    in_container = settings.model_copy(update={"prometheus_port": PROMETHEUS_PORT})
    rules = "rules/ai-stack.rules.yml"
    prometheus = prometheus_config(
        services,
        in_container,
        rule_files=[f"{PROMETHEUS_DIR}/{rules}"],
        gateway_secret_file=Path(GATEWAY_SECRET),
        gateway_https_port=0,
        exporters=False,
    )
    return {
        "prometheus-config": {
            "prometheus.yml": _yaml(prometheus),
            rules: _yaml(rule_groups(services, in_container, "/")),
        },
        "grafana-config": {
            "provisioning/datasources/ai-stack.yml": _yaml(
                datasource_provisioning(f"http://prometheus:{PROMETHEUS_PORT}")
            ),
            "provisioning/dashboards/ai-stack.yml": _yaml(
                dashboard_provisioning(f"{GRAFANA_DIR}/dashboards")
            ),
            "dashboards/ai-stack-overview.json": json.dumps(dashboard(in_container), indent=2).encode(),
        },
    }
