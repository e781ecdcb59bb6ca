"""Typed application keys shared by every service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from ai_stack.core.health import HealthRegistry
    from ai_stack.core.metrics import ServiceMetrics
    from ai_stack.core.openapi import ApiDescription
    from ai_stack.core.settings import CoreSettings

SETTINGS_KEY: web.AppKey[CoreSettings] = web.AppKey("settings")
REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)
METRICS_KEY: web.AppKey[ServiceMetrics] = web.AppKey("metrics")
HEALTH_KEY: web.AppKey[HealthRegistry] = web.AppKey("health")
API_KEY: web.AppKey[ApiDescription] = web.AppKey("api_description")
TRACER_PROVIDER_KEY: web.AppKey[TracerProvider | None] = web.AppKey("tracer_provider")
