"""The observability profile's configuration volumes."""

from __future__ import annotations

import json

import yaml
from ai_stack.deploy.observability_files import observability_volumes
from ai_stack.observability.settings import ObservabilitySettings
from ai_stack.registry import SERVICES


def test_prometheus_scrapes_every_service_by_container_name_and_no_missing_exporter() -> None:
    volumes = observability_volumes(ObservabilitySettings())
    config = yaml.safe_load(volumes["prometheus-config"]["prometheus.yml"])
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    for service in SERVICES:
        assert targets[service.name] == [f"{service.name}:{service.default_port}"]
    assert targets["prometheus"] == ["127.0.0.1:9090"]
    assert not {"postgres", "redis", "nginx", "node"} & targets.keys()
    aidb = next(job for job in config["scrape_configs"] if job["job_name"] == "aidb")
    assert aidb["authorization"]["credentials_file"] == "/run/secrets/gateway-secret"
    assert config["rule_files"] == ["/etc/ai-stack/prometheus/rules/ai-stack.rules.yml"]
    rules = yaml.safe_load(volumes["prometheus-config"]["rules/ai-stack.rules.yml"])
    assert any(rule.get("alert") for group in rules["groups"] for rule in group["rules"])


def test_grafana_reads_prometheus_on_the_stack_network() -> None:
    grafana = observability_volumes(ObservabilitySettings())["grafana-config"]
    datasource = yaml.safe_load(grafana["provisioning/datasources/ai-stack.yml"])
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load(grafana["provisioning/dashboards/ai-stack.yml"])
    assert provider["providers"][0]["options"]["path"] == "/etc/ai-stack/grafana/dashboards"
    assert json.loads(grafana["dashboards/ai-stack-overview.json"])["panels"]
