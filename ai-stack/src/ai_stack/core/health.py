"""Dependency checks behind /health/ready: each with a short timeout and its breaker state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.metrics import ServiceMetrics

CHECK_TIMEOUT_S = 1.0

Probe = Callable[[], Awaitable[None]]


class NotReadyYet(Exception):
    """A probe raises this while its dependency is still starting (e.g. a model loading)."""


@dataclass
class DependencyCheck:
    """One dependency: how to probe it, whether the service needs it, and its breaker."""

    name: str
    probe: Probe
    required: bool = True
    breaker: CircuitBreaker | None = None


@dataclass
class HealthRegistry:
    """The dependency checks of one service."""

    metrics: ServiceMetrics
    checks: list[DependencyCheck] = field(default_factory=list)

    def add(self, check: DependencyCheck) -> None:
        """Registers a check and exports its breaker's transitions."""
        self.checks.append(check)
        self.metrics.dependency_required.labels(dependency=check.name).set(int(check.required))
        if check.breaker is not None:
            self.metrics.watch_breaker(check.breaker)

    async def report(self) -> tuple[str, dict[str, Any]]:
        """Runs every probe concurrently; returns the overall status and per-dependency detail."""
        results = await asyncio.gather(*(self._run(check) for check in self.checks))
        details = dict(zip((c.name for c in self.checks), results, strict=True))
        required_states = [d["state"] for c, d in zip(self.checks, results, strict=True) if c.required]
        if all(state == "up" for state in required_states):
            status = "ready"
        elif "loading" in required_states and "down" not in required_states:
            status = "loading"
        else:
            status = "unavailable"
        return status, details

    async def probe_every(self, interval_s: float) -> None:
        """Runs the checks every `interval_s` until cancelled, so that `dependency_up` says how
        each dependency is now even when nothing asks for readiness or calls it (an alert on a
        required dependency being down must not wait for traffic)."""
        while True:
            await asyncio.sleep(interval_s)
            await self.report()

    async def _run(self, check: DependencyCheck) -> dict[str, Any]:
        detail: dict[str, Any] = {"required": check.required}
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await check.probe()
            detail["state"] = "up"
        except NotReadyYet as exc:
            detail.update(state="loading", reason=str(exc))
        except Exception as exc:  # a probe failing for any reason means the dependency is down
            detail.update(state="down", reason=f"{type(exc).__name__}: {exc}"[:200])
        self.metrics.dependency_up.labels(dependency=check.name).set(int(detail["state"] == "up"))
        if check.breaker is not None:
            detail["breaker"] = check.breaker.state.name.lower()
        return detail
