"""The MCP service: streamable HTTP (stateless, JSON answers) behind the gateway at /mcp, with the
health and metrics routes every service has."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from mcp.server.transport_security import TransportSecuritySettings
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ai_stack.core.access import PUBLIC_PATHS
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.http_client import stack_headers
from ai_stack.core.metrics import ServiceMetrics
from ai_stack.core.middlewares import request_id_for
from ai_stack.core.principal import (
    GATEWAY_ONLY,
    BadIdentity,
    current_principal,
    headers_principal,
    presents_secret,
)
from ai_stack.mcp.backends import Connection, open_backends
from ai_stack.mcp.server import BackendsHolder, build_server
from ai_stack.mcp.settings import McpSettings

log = structlog.get_logger("ai_stack.access")
SERVICE = "mcp"
PATH = "/mcp"


def create_app(
    settings: McpSettings,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The ASGI app: the SDK's streamable HTTP transport plus /health, /health/live, /health/ready
    and /metrics; the backends open and close with the app's lifespan.

    With a tracer provider, each HTTP request is a server span continuing the caller's
    traceparent; the SDK's own `tools/call <tool>` span (it uses the global provider, which
    `__main__` sets) nests under it, and each backend call is a client span under that."""
    holder = BackendsHolder()
    server = build_server(holder, max_result_chars=settings.max_result_chars, read_only=settings.read_only)
    registry = registry or CollectorRegistry()
    # The same families, labels and names as the aiohttp services, so one set of generated
    # alert rules and dashboard panels covers every service.
    metrics = ServiceMetrics("mcp", registry)

    def watch_backend(breaker: CircuitBreaker) -> None:
        # The tools answer (with tool errors) whatever a backend does: none is required.
        metrics.dependency_required.labels(dependency=breaker.name).set(0)
        metrics.watch_breaker(breaker)

    app = server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,  # any replica answers any request behind the gateway
        json_response=True,
        max_request_body_size=settings.max_body_bytes,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
    )
    connection = Connection(
        {
            "aidb": settings.aidb_url,
            "embeddings": settings.embeddings_url,
            "hybrid": settings.hybrid_url,
            "docs": settings.docs_url,
        },
        settings.call_timeout_s,
        headers=stack_headers(settings),
        breaker_failures=settings.breaker_failure_threshold,
        breaker_reset_s=settings.breaker_reset_s,
        forward_identity=True,
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Starlette) -> AsyncIterator[Any]:
        async with open_backends(connection, tracer_provider, watch_backend) as backends:
            holder.backends = backends
            async with inner(application) as state:
                yield state

    app.router.lifespan_context = lifespan
    for path, endpoint in _health_routes(registry).items():
        app.add_route(path, endpoint, methods=["GET"])
    if tracer_provider is not None:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        # Added before the access middleware, so it runs inside it: the access line and the
        # span see the same request.
        app.add_middleware(
            OpenTelemetryMiddleware,
            tracer_provider=tracer_provider,
            exclude_spans=["receive", "send"],
            server_request_hook=_tag_request_id,
        )
    # Inside the access middleware (added after it runs outside), so refusals are logged.
    secret = settings.gateway_secret.get_secret_value() if settings.gateway_secret else None
    app.add_middleware(_IdentityMiddleware, gateway_secret=secret)
    app.add_middleware(_AccessMiddleware, metrics=metrics)
    return app


def _health_routes(registry: CollectorRegistry) -> dict[str, Any]:
    async def live(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def ready(request: Request) -> Response:
        # The tools answer (with tool errors) whatever the backends do: the MCP service is ready
        # once it serves; each backend's state shows in its own service's readiness.
        return JSONResponse({"status": "ready", "dependencies": {}})

    async def brief(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    async def exposition(request: Request) -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    return {"/health/live": live, "/health/ready": ready, "/health": brief, "/metrics": exposition}


def _tag_request_id(span: Any, scope: dict[str, Any]) -> None:
    """The request id the access middleware (outside this span) bound, as the span's tag: Jaeger
    finds the trace by the X-Request-ID a client saw, as for the aiohttp services."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and span is not None and span.is_recording():
        span.set_attribute("request_id", request_id)


class _AccessMiddleware:
    """One JSON access line and the request metrics per HTTP request, with the request id."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        headers = dict(scope.get("headers") or [])
        request_id = request_id_for(headers.get(b"x-request-id", b"").decode("latin-1") or None)
        path = (
            scope["path"]
            if scope["path"] in (PATH, "/health", "/health/live", "/health/ready", "/metrics")
            else "other"
        )

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            # Bound for this request, so the calls its tools make carry the same id (ServiceClient).
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.in_flight.dec()
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(scope["method"], path).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                route=path,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
                request_id=request_id,
            )


class _IdentityMiddleware:
    """What the core access middleware does for the aiohttp services: the gateway secret (when
    the install has one) and the caller's identity, which the tools' backend calls pass on, so
    every service scopes them to the key's grants."""

    def __init__(self, app: ASGIApp, gateway_secret: str | None) -> None:
        self.app = app
        self.expected = gateway_secret.encode() if gateway_secret else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.expected is not None and not presents_secret(headers, self.expected):
            await _refuse(scope, receive, send, 401, "gateway_only", GATEWAY_ONLY)
            return
        try:
            principal = headers_principal(headers)
        except BadIdentity as exc:
            await _refuse(scope, receive, send, 400, "bad_identity", f"bad identity headers: {exc}")
            return
        acting = current_principal.set(principal)
        try:
            with structlog.contextvars.bound_contextvars(key_id=principal.key_id):
                await self.app(scope, receive, send)
        finally:
            current_principal.reset(acting)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    await JSONResponse(body, status_code=status)(scope, receive, send)
