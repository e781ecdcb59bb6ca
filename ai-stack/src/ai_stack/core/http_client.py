"""HTTP client for calling other ai-stack services: pooled, traced, behind a breaker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider

from ai_stack.core.breaker import CircuitBreaker, DependencyFailure, is_outage
from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.core.health import DependencyCheck
from ai_stack.core.keys import HEALTH_KEY, SETTINGS_KEY, TRACER_PROVIDER_KEY
from ai_stack.core.middlewares import REQUEST_ID_HEADER, REQUEST_ID_KEY
from ai_stack.core.principal import GATEWAY_SECRET_HEADER, current_principal, identity_headers
from ai_stack.core.settings import CoreSettings

_RequestStart = Callable[
    [aiohttp.ClientSession, SimpleNamespace, aiohttp.TraceRequestStartParams], Awaitable[object]
]


class UpstreamError(DependencyFailure):
    """The other service answered 5xx: counts against its breaker."""


def is_service_outage(exc: BaseException) -> bool:
    """Transport errors, timeouts and 5xx answers count; a 4xx is an answer, not an outage."""
    return isinstance(exc, aiohttp.ClientError) or is_outage(exc)


class ServiceClient:
    """JSON calls to one service; 5xx, timeouts and refused connections count as failures."""

    def __init__(
        self,
        name: str,
        base_url: str,
        session: aiohttp.ClientSession,
        breaker: CircuitBreaker,
        *,
        headers: dict[str, str] | None = None,
        forward_identity: bool = False,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.breaker = breaker
        self.headers = dict(headers or {})  # sent with every call (an API key through the gateway)
        # Calls made while serving a keyed request act for that key: the callee scopes them to
        # its grants (hybrid reading aidb for a project-limited key sees that key's projects).
        self.forward_identity = forward_identity

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        request: web.Request | None = None,
        timeout_s: float | None = None,
    ) -> tuple[int, Any]:
        """(status, decoded body); 4xx are returned to the caller, 5xx raise UpstreamError.

        `timeout_s` replaces the breaker's call timeout for a call known to take longer.
        """
        headers = dict(self.headers)
        if self.forward_identity:
            headers.update(identity_headers(current_principal.get()))
        if request is not None and REQUEST_ID_KEY in request:
            headers[REQUEST_ID_HEADER] = request[REQUEST_ID_KEY]
        elif request_id := structlog.contextvars.get_contextvars().get("request_id"):
            # The request being served (bound by the request-id middleware): one id end to end.
            headers[REQUEST_ID_HEADER] = str(request_id)

        async def call() -> tuple[int, Any]:
            url = f"{self.base_url}{path}"
            async with self.session.request(
                method, url, json=json, params=params, headers=headers
            ) as response:
                if response.status >= 500:
                    raise UpstreamError(f"{self.name} answered {response.status}")
                try:
                    return response.status, await response.json(content_type=None)
                except ValueError as exc:  # a proxy's HTML page, a truncated body
                    raise UpstreamError(f"{self.name} answered {response.status} without JSON") from exc

        try:
            return await self.breaker.call(call, timeout_s=timeout_s)
        except (aiohttp.ClientError, UpstreamError, TimeoutError) as exc:
            raise ServiceUnavailableError(f"{self.name} is unavailable: {type(exc).__name__}") from exc

    async def probe(self) -> None:
        """Readiness of the other service (its /health/live)."""
        status, _ = await self.request_json("GET", "/health/live")
        if status != 200:
            raise ConnectionError(f"{self.name} answered {status}")


def trace_configs(tracer_provider: TracerProvider | None) -> list[aiohttp.TraceConfig]:
    """Client spans and W3C traceparent injection, when tracing is on."""
    if tracer_provider is None:
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    config = create_trace_config(tracer_provider=tracer_provider)
    (start,) = config.on_request_start
    config.on_request_start[0] = _unsampled_only_propagated(start)
    return [config]


def _unsampled_only_propagated(start: _RequestStart) -> _RequestStart:
    """The instrumentation's request start, skipped inside a trace that is not sampled: the call
    then only carries the caller's traceparent (flags 00, so the next service records nothing
    either). The instrumentation parses and redacts the URL and builds metric attributes for every
    call, sampled or not; that was about 2% of aidb's CPU at 10% sampling. Its other handlers do
    nothing for a call it did not start."""
    from opentelemetry import propagate, trace

    async def on_request_start(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        caller = trace.get_current_span().get_span_context()
        if caller.is_valid and not caller.trace_flags.sampled:
            propagate.inject(params.headers)
            return
        await start(session, context, params)

    return on_request_start


def stack_headers(settings: CoreSettings) -> dict[str, str]:
    """What a service sends to another: the gateway secret, when the install has one."""
    secret = settings.gateway_secret
    return {GATEWAY_SECRET_HEADER: secret.get_secret_value()} if secret is not None else {}


def service_client_context(
    key: web.AppKey[ServiceClient],
    name: str,
    base_url: str,
    *,
    required: bool = True,
    forward_identity: bool = False,
    in_stack: bool = True,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that opens a pooled session to another service and registers its check.

    `in_stack` False: a server outside the stack (a chat model), which never sees the stack's secret.
    """

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS_KEY]
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30),
            trace_configs=trace_configs(app[TRACER_PROVIDER_KEY]),
        )
        breaker = CircuitBreaker(
            name,
            failure_threshold=settings.breaker_failure_threshold,
            reset_timeout_s=settings.breaker_reset_s,
            call_timeout_s=settings.dependency_timeout_s,
            counts_as_failure=is_service_outage,
        )
        client = ServiceClient(
            name,
            base_url,
            session,
            breaker,
            headers=stack_headers(settings) if in_stack else {},
            forward_identity=forward_identity,
        )
        app[key] = client
        app[HEALTH_KEY].add(DependencyCheck(name, client.probe, required=required, breaker=breaker))
        yield
        await session.close()

    return context
