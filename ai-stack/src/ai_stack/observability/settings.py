"""What the monitoring of a stack is configured by: objectives, thresholds and exporter ports."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ai_stack.core.metrics import LATENCY_BUCKETS

MIB = 1024 * 1024

# A request slower than this counts against the service's latency objective. Each is a bucket
# boundary of the services' latency histogram: the SLI counts requests in the bucket, exactly.
DEFAULT_LATENCY_THRESHOLDS_S = {
    "auth": 0.025,
    "embeddings": 0.5,
    "aidb": 0.25,
    "hybrid": 0.5,
    "docs-search": 0.25,
    "mcp": 0.5,
}
# Resident memory each process is allowed; the alert fires at `memory_alert_fraction` of it.
DEFAULT_MEMORY_LIMITS_MIB = {
    "auth": 256,
    "embeddings": 2048,
    "aidb": 2048,
    "hybrid": 512,
    "docs-search": 768,
    "mcp": 512,
}


# Ports: Debian's own Prometheus and exporters take 9090, 9100, 9187, 9121, 9113 and 9115 when
# their units run, so the stack's instances default to 9590-9595 beside them.
class ObservabilitySettings(BaseSettings):
    """Objectives, alert thresholds and the ports of Prometheus and its exporters (env prefix
    AI_STACK_OBSERVABILITY_; the per-service maps take JSON, e.g. `{"aidb": 0.1}`)."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_OBSERVABILITY_", extra="ignore")

    availability_objective: float = Field(
        0.995, gt=0.5, lt=1, description="Share of requests (not health or metrics) that must not be 5xx."
    )
    latency_objective: float = Field(
        0.99, gt=0.5, lt=1, description="Share of requests that must be faster than the service's threshold."
    )
    latency_thresholds_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_LATENCY_THRESHOLDS_S),
        description=(
            "Per service, the latency a request must beat to count as good (a bucket of the latency"
            " histogram: 0.001 to 10 s); services not named get 0.5."
        ),
    )
    memory_limits_mib: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MEMORY_LIMITS_MIB),
        description="Per service, its resident-memory budget in MiB; services not named get 1024.",
    )
    memory_alert_fraction: float = Field(
        0.9, gt=0, le=1, description="The memory alert fires at this share of a service's budget."
    )
    engine_worker_memory_mib: int = Field(
        4096,
        ge=64,
        description="Heap (anonymous memory) each of aidb's engine workers may hold; the alert fires at"
        " memory_alert_fraction of it. Their shard's mapped files are not counted: the kernel can drop them.",
    )
    dependency_alert_for_s: int = Field(
        120, ge=0, description="A dependency must be down this long before its alert fires."
    )
    breaker_alert_for_s: int = Field(
        60, ge=0, description="A breaker must stay open past its reset this long before its alert fires."
    )
    outbox_age_alert_s: float = Field(
        900, gt=0, description="aidb's oldest unindexed document may wait this long before an alert."
    )
    certificate_expiry_days: float = Field(
        14, gt=0, description="The certificate alert fires when the gateway's certificate expires sooner."
    )
    disk_free_alert_fraction: float = Field(
        0.1, gt=0, lt=1, description="The disk alert fires when the data volume has less free space."
    )
    scrape_interval_s: int = Field(15, ge=1, le=300, description="Prometheus scrape interval.")
    evaluation_interval_s: int = Field(15, ge=1, le=300, description="Prometheus rule evaluation interval.")
    prometheus_port: int = Field(9590, ge=1, le=65535, description="Prometheus listens on 127.0.0.1 here.")
    node_exporter_port: int = Field(9591, ge=1, le=65535, description="Node exporter (data-volume space).")
    postgres_exporter_port: int = Field(9592, ge=1, le=65535, description="PostgreSQL exporter.")
    redis_exporter_port: int = Field(9593, ge=1, le=65535, description="Redis exporter.")
    nginx_exporter_port: int = Field(9594, ge=1, le=65535, description="nginx exporter (stub_status).")
    blackbox_exporter_port: int = Field(9595, ge=1, le=65535, description="Blackbox exporter (HTTPS probe).")
    gateway_status_port: int = Field(
        8087, ge=1, le=65535, description="nginx serves stub_status here, on 127.0.0.1 only."
    )

    @field_validator("latency_thresholds_s")
    @classmethod
    def _thresholds_are_buckets(cls, value: dict[str, float]) -> dict[str, float]:
        wrong = {name: t for name, t in value.items() if t not in LATENCY_BUCKETS}
        if wrong:
            raise ValueError(f"thresholds must be latency buckets {LATENCY_BUCKETS}: {wrong}")
        return value

    def latency_threshold_s(self, service: str) -> float:
        return self.latency_thresholds_s.get(service, 0.5)

    def memory_limit_bytes(self, service: str) -> int:
        return self.memory_limits_mib.get(service, 1024) * MIB
