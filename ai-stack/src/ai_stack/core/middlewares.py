"""The core middlewares. Their order is fixed in `app.create_service_app`."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ai_stack.core.access import principal_of
from ai_stack.core.errors import ApiError
from ai_stack.core.keys import SETTINGS_KEY
from ai_stack.core.metrics import ServiceMetrics
from ai_stack.core.requests import json_response

log = structlog.get_logger(__name__)
access_log = structlog.get_logger("ai_stack.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
REQUEST_ID_KEY = web.RequestKey("request_id", str)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def request_id_for(header_value: str | None) -> str:
    """The client's id when it is a sane token, otherwise a fresh one."""
    if header_value and _SANE_REQUEST_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


def route_template(request: web.Request) -> str:
    """The route's template (`/documents/{id}`), so ids never become metric labels."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Binds the request id to the log context for this request only, and echoes it."""
    request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
    request[REQUEST_ID_KEY] = request_id
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        response = await handler(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response


def access_middleware(metrics: ServiceMetrics) -> Middleware:
    """Counts and times every request by route template and writes one access log line."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        route = route_template(request)
        status = 500
        metrics.in_flight.inc()
        try:
            response = await handler(request)
            status = response.status
            return response
        except asyncio.CancelledError:
            status = 499  # the client went away (nginx's convention), not a server error
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.in_flight.dec()
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.latency.labels(request.method, route).observe(elapsed)
            access_log.info(
                "request",
                key_id=principal_of(request).key_id,
                method=request.method,
                route=route,
                path=request.path,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
            )

    return middleware


def error_body(request: web.Request, code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error envelope every service and the gateway answer with."""
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "request_id": request.get(REQUEST_ID_KEY, ""),
    }
    if details is not None:
        error["details"] = details
    return {"error": error}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turns every failure into the envelope; unknown errors become a generic 500, no trace."""
    try:
        return await handler(request)
    except ApiError as exc:
        body = error_body(request, exc.code, exc.message, exc.details)
        return json_response(body, status=exc.status, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason
        if exc.status == 413:
            limit = request.app[SETTINGS_KEY].max_body_bytes
            message = f"the request body is too large (limit {limit} bytes)"
        headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
        return json_response(error_body(request, code, message), status=exc.status, headers=headers)
    except Exception:
        log.exception("unhandled_error", path=request.path)
        body = error_body(request, "internal_error", "internal server error")
        return json_response(body, status=500)
