"""The aiohttp app factory every service starts from."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from ai_stack import __version__
from ai_stack.core.access import access_control_middleware
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
from ai_stack.core.openapi import ApiDescription, Route, add_routes
from ai_stack.core.requests import json_response, model_response
from ai_stack.core.schemas import BriefHealth, Liveness, Readiness
from ai_stack.core.settings import CoreSettings, KeyLimitedSettings
from ai_stack.core.tracing_middleware import tracing_middleware


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
    # outside the error middleware so it records the final status of every request; access
    # control sits inside it so that its refusals get the envelope.
    middlewares: list[Middleware] = [request_id_middleware]
    if tracer_provider is not None:
        middlewares.append(tracing_middleware(tracer_provider))
    secret = settings.gateway_secret.get_secret_value() if settings.gateway_secret else None
    limits = settings.default_key_limits() if isinstance(settings, KeyLimitedSettings) else None
    access_control = access_control_middleware(secret, limits)
    middlewares += [access_middleware(metrics), error_middleware, access_control]
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[SETTINGS_KEY] = settings
    app[REGISTRY_KEY] = registry
    app[METRICS_KEY] = metrics
    app[HEALTH_KEY] = HealthRegistry(metrics)
    app[API_KEY] = ApiDescription(title=f"ai-stack {service}", version=__version__)
    app[TRACER_PROVIDER_KEY] = tracer_provider
    add_routes(app, _core_routes(registry), app[API_KEY])
    app.cleanup_ctx.append(_probing_dependencies)
    if tracer_provider is not None:
        app.on_shutdown.append(_flush_spans)
    return app


def _core_routes(registry: CollectorRegistry) -> tuple[Route, ...]:
    return (
        Route("GET", "/health/live", _live, "The process is up.", response=Liveness, scope="public"),
        Route(
            "GET",
            "/health/ready",
            _ready,
            "Every required dependency answers (503 with the same body when not).",
            response=Readiness,
            ok=(200, 503),
            scope="public",
        ),
        Route(
            "GET",
            "/health",
            _brief_health,
            "Readiness without internals (used key-free by the gateway).",
            response=BriefHealth,
            ok=(200, 503),
            scope="public",
        ),
        Route(
            "GET",
            "/metrics",
            make_aiohttp_handler(registry),
            "Prometheus metrics.",
            media_type="text/plain",
            scope="admin",
        ),
        Route("GET", "/openapi.json", _openapi, "This document."),
    )


async def _live(request: web.Request) -> web.Response:
    return model_response(Liveness())


async def _ready(request: web.Request) -> web.Response:
    status, dependencies = await request.app[HEALTH_KEY].report()
    body = Readiness.model_validate({"status": status, "dependencies": dependencies})
    if status == "ready":
        return model_response(body)
    return model_response(body, status=503, headers={"Retry-After": "2"})


async def _brief_health(request: web.Request) -> web.Response:
    status, _ = await request.app[HEALTH_KEY].report()
    body = BriefHealth.model_validate({"status": status})
    if status == "ready":
        return model_response(body)
    return model_response(body, status=503, headers={"Retry-After": "2"})


async def _openapi(request: web.Request) -> web.Response:
    return json_response(request.app[API_KEY].document())


async def _probing_dependencies(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[HEALTH_KEY].probe_every(app[SETTINGS_KEY].health_probe_interval_s))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _flush_spans(app: web.Application) -> None:
    provider = app[TRACER_PROVIDER_KEY]
    if provider is not None:
        provider.force_flush(timeout_millis=2000)
