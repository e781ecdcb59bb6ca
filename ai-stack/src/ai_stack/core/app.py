"""The aiohttp app factory every service starts from."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from ai_stack import __version__
from ai_stack.core.health import HealthRegistry
from ai_stack.core.keys import (
    API_KEY,
    HEALTH_KEY,
    METRICS_KEY,
    REGISTRY_KEY,
    SETTINGS_KEY,
    TRACER_PROVIDER_KEY,
)
from ai_stack.core.metrics import ServiceMetrics
from ai_stack.core.middlewares import access_middleware, error_middleware, request_id_middleware
from ai_stack.core.openapi import ApiDescription, Operation
from ai_stack.core.requests import json_response
from ai_stack.core.settings import CoreSettings
from ai_stack.core.tracing_middleware import tracing_middleware

CORE_OPERATIONS = (
    Operation("GET", "/health/live", "The process is up."),
    Operation("GET", "/health/ready", "Every required dependency answers.", errors=(503,)),
    Operation("GET", "/health", "Readiness without internals (used key-free by the gateway)."),
    Operation("GET", "/metrics", "Prometheus metrics."),
    Operation("GET", "/openapi.json", "This document."),
)


def create_service_app(
    service: str,
    settings: CoreSettings,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> web.Application:
    """An Application with the core middlewares, health, metrics and OpenAPI routes."""
    registry = registry or CollectorRegistry()
    metrics = ServiceMetrics(service, registry)
    # Outermost first: the request id is bound before anything logs; the span wraps the rest
    # so the access line and every handler log carry its trace id; the access middleware sits
    # outside the error middleware so it records the final status of every request.
    middlewares: list[Middleware] = [request_id_middleware]
    if tracer_provider is not None:
        middlewares.append(tracing_middleware(tracer_provider))
    middlewares += [access_middleware(metrics), error_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[SETTINGS_KEY] = settings
    app[REGISTRY_KEY] = registry
    app[METRICS_KEY] = metrics
    app[HEALTH_KEY] = HealthRegistry(metrics)
    app[API_KEY] = ApiDescription(title=f"ai-stack {service}", version=__version__)
    app[TRACER_PROVIDER_KEY] = tracer_provider
    app[API_KEY].operations.extend(CORE_OPERATIONS)
    app.router.add_get("/health/live", _live)
    app.router.add_get("/health/ready", _ready)
    app.router.add_get("/health", _brief_health)
    app.router.add_get("/metrics", make_aiohttp_handler(registry))
    app.router.add_get("/openapi.json", _openapi)
    if tracer_provider is not None:
        app.on_shutdown.append(_flush_spans)
    return app


async def _live(request: web.Request) -> web.Response:
    return json_response({"status": "alive"})


async def _ready(request: web.Request) -> web.Response:
    status, dependencies = await request.app[HEALTH_KEY].report()
    code = 200 if status == "ready" else 503
    headers = {"Retry-After": "2"} if code == 503 else None
    return json_response({"status": status, "dependencies": dependencies}, status=code, headers=headers)


async def _brief_health(request: web.Request) -> web.Response:
    status, _ = await request.app[HEALTH_KEY].report()
    if status == "ready":
        return json_response({"status": status})
    return json_response({"status": status}, status=503, headers={"Retry-After": "2"})


async def _openapi(request: web.Request) -> web.Response:
    return json_response(request.app[API_KEY].document())


async def _flush_spans(app: web.Application) -> None:
    provider = app[TRACER_PROVIDER_KEY]
    if provider is not None:
        provider.force_flush(timeout_millis=2000)
