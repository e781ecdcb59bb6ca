"""Server spans for aiohttp, continuing the caller's W3C trace context.

opentelemetry-instrumentation-aiohttp-server's per-app middleware depends on module state that
only its global instrumentor sets (it fails with AttributeError otherwise), and the global
instrumentor monkey-patches `web.Application`; this middleware does the same job per app.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from ai_stack.core.middlewares import REQUEST_ID_KEY, route_template


def tracing_middleware(tracer_provider: TracerProvider) -> Middleware:
    """One SERVER span per request, named `METHOD /route/{template}`."""
    tracer = tracer_provider.get_tracer("ai_stack.http.server")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = route_template(request)
        context = propagate.extract(dict(request.headers))
        attributes = {
            "http.request.method": request.method,
            "http.route": route,
            "url.path": request.path,
            "server.address": request.host,
            # What a client saw in X-Request-ID: Jaeger finds the trace by this tag.
            "request_id": request.get(REQUEST_ID_KEY, ""),
        }
        with tracer.start_as_current_span(
            f"{request.method} {route}", context=context, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                span.set_attribute("http.response.status_code", exc.status)
                raise
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    return middleware


def current_trace_id() -> str | None:
    """The active trace id as 32 hex digits, if a span is recording."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
