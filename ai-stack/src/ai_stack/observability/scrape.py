"""Prometheus's own configuration and the blackbox exporter's module (pure: data in, dicts out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_stack.observability.rules import GATEWAY_PROBE_JOB, ObservedService
from ai_stack.observability.settings import ObservabilitySettings

BLACKBOX_MODULE = "https_health"


@dataclass(frozen=True)
class Host:
    """Where Prometheus reaches the exporters and the gateway (127.0.0.1 natively)."""

    exporters: str = "127.0.0.1"
    gateway: str = "127.0.0.1"


def _static(job: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"job_name": job, "static_configs": [{"targets": [target]}], **extra}


def prometheus_config(
    services: Iterable[ObservedService],
    settings: ObservabilitySettings,
    *,
    rule_files: list[str],
    gateway_secret_file: Path,
    gateway_https_port: int,
    host: Host | None = None,
    exporters: bool = True,
) -> dict[str, Any]:
    """prometheus.yml: every service (with the gateway secret as a Bearer token: their /metrics
    is not public), the exporters and the gateway's HTTPS probe (unless `exporters` is off: a
    deployment that runs none), and Prometheus itself."""
    host = host or Host()
    scrape = [
        _static(
            s.name,
            f"{s.host}:{s.port}",
            authorization={"type": "Bearer", "credentials_file": str(gateway_secret_file)},
        )
        for s in services
    ]
    if exporters:
        scrape += _exporter_jobs(settings, host, gateway_https_port)
    scrape.append(_static("prometheus", f"127.0.0.1:{settings.prometheus_port}"))
    return {
        "global": {
            "scrape_interval": f"{settings.scrape_interval_s}s",
            "evaluation_interval": f"{settings.evaluation_interval_s}s",
            "external_labels": {"stack": "ai-stack"},
        },
        "rule_files": rule_files,
        "scrape_configs": scrape,
    }


def _exporter_jobs(
    settings: ObservabilitySettings, host: Host, gateway_https_port: int
) -> list[dict[str, Any]]:
    exporters = (
        ("postgres", settings.postgres_exporter_port),
        ("redis", settings.redis_exporter_port),
        ("nginx", settings.nginx_exporter_port),
        ("node", settings.node_exporter_port),
    )
    scrape = [_static(job, f"{host.exporters}:{port}") for job, port in exporters]
    scrape.append(
        {
            "job_name": GATEWAY_PROBE_JOB,
            "metrics_path": "/probe",
            "params": {"module": [BLACKBOX_MODULE]},
            "static_configs": [{"targets": [f"https://{host.gateway}:{gateway_https_port}/health"]}],
            # The standard blackbox pattern: the target becomes the probe's parameter and the
            # instance label; the scrape itself goes to the exporter.
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {
                    "target_label": "__address__",
                    "replacement": f"{host.exporters}:{settings.blackbox_exporter_port}",
                },
            ],
        }
    )
    return scrape


def blackbox_config(ca_file: Path, server_name: str = "localhost") -> dict[str, Any]:
    """The probe of the gateway: HTTPS, the stack's own certificate trusted, 200 required; the
    exporter reports the certificate's expiry with it."""
    return {
        "modules": {
            BLACKBOX_MODULE: {
                "prober": "http",
                "timeout": "5s",
                "http": {
                    "valid_status_codes": [200],
                    "fail_if_not_ssl": True,
                    "preferred_ip_protocol": "ip4",
                    "tls_config": {"ca_file": str(ca_file), "server_name": server_name},
                },
            }
        }
    }
