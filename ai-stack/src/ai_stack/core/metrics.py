"""Prometheus metrics of one service, created on an explicit registry (one per app)."""

from __future__ import annotations

import re
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from ai_stack.core.breaker import BreakerState, CircuitBreaker

# 1 ms to 10 s: sub-millisecond health checks and multi-second model batches both resolve.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


_STATUS_KIB = re.compile(r"^(VmRSS|RssAnon):\s+(\d+) kB", re.MULTILINE)


def memory_bytes(status: str) -> tuple[int, int]:
    """Resident and anonymous bytes from the text of `/proc/<pid>/status` (0 where absent).
    Anonymous is the heap; the rest of resident is mapped files, which the kernel can drop."""
    found = {name: int(kib) * 1024 for name, kib in _STATUS_KIB.findall(status)}
    return found.get("VmRSS", 0), found.get("RssAnon", 0)


def metric_prefix(service: str) -> str:
    """`hybrid-coordinator` -> `hybrid_coordinator`: Prometheus names allow no dashes."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", service)


class ServiceMetrics:
    """The metrics every service exports; services add their own on `registry`."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        prefix = metric_prefix(service)
        self.prefix = prefix
        self.registry = registry
        self.requests = Counter(
            f"{prefix}_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            f"{prefix}_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            f"{prefix}_http_requests_in_flight", "Requests being handled now.", registry=registry
        )
        self.breaker_state = Gauge(
            f"{prefix}_circuit_breaker_state",
            "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open.",
            ["dependency"],
            registry=registry,
        )
        self.dependency_up = Gauge(
            f"{prefix}_dependency_up",
            "1 when the last check or call of the dependency succeeded.",
            ["dependency"],
            registry=registry,
        )
        self.dependency_required = Gauge(
            f"{prefix}_dependency_required",
            "1 when the service is not ready without the dependency, 0 when it degrades without it.",
            ["dependency"],
            registry=registry,
        )
        self.breaker_reset_timeout = Gauge(
            f"{prefix}_circuit_breaker_reset_timeout_seconds",
            "Seconds an open breaker waits before it admits one probe call.",
            ["dependency"],
            registry=registry,
        )
        # An alert compares `time() - this` with the reset timeout: a breaker still not closed
        # long after its reset means the probes keep failing (or no call comes to probe).
        self.breaker_not_closed_since = Gauge(
            f"{prefix}_circuit_breaker_not_closed_since_timestamp_seconds",
            "Unix time the breaker last left the closed state; 0 while it is closed.",
            ["dependency"],
            registry=registry,
        )
        self._left_closed_at: dict[str, float] = {}
        # Exports <prefix>_process_resident_memory_bytes, CPU seconds and open fds.
        ProcessCollector(namespace=prefix, registry=registry)

    def watch_breaker(self, breaker: CircuitBreaker) -> None:
        """Exports the breaker's state, reset timeout and every later transition."""
        breaker.add_listener(self.observe_breaker)
        self.breaker_reset_timeout.labels(dependency=breaker.name).set(breaker.reset_timeout_s)
        self.observe_breaker(breaker.name, breaker.state)

    def observe_breaker(self, dependency: str, state: BreakerState) -> None:
        """Breaker listener: exports every transition as the gauge value."""
        self.breaker_state.labels(dependency=dependency).set(int(state))
        if state is BreakerState.CLOSED:
            self._left_closed_at.pop(dependency, None)
        else:  # half-open -> open keeps the time it first left closed
            self._left_closed_at.setdefault(dependency, time.time())
        since = self._left_closed_at.get(dependency, 0.0)
        self.breaker_not_closed_since.labels(dependency=dependency).set(since)
        if state is BreakerState.OPEN:
            self.dependency_up.labels(dependency=dependency).set(0)
        elif state is BreakerState.CLOSED:
            self.dependency_up.labels(dependency=dependency).set(1)
