"""Bodies every service answers with (health), shared by handlers and OpenAPI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Liveness(BaseModel):
    status: Literal["alive"] = "alive"


class DependencyState(BaseModel):
    """One dependency as readiness reports it."""

    model_config = ConfigDict(extra="allow")

    required: bool
    state: Literal["up", "down", "loading"]
    reason: str | None = None
    breaker: Literal["closed", "half_open", "open"] | None = None


class Readiness(BaseModel):
    status: Literal["ready", "loading", "unavailable"]
    dependencies: dict[str, DependencyState]


class BriefHealth(BaseModel):
    """Readiness without internals (key-free through the gateway)."""

    status: Literal["ready", "loading", "unavailable"]
