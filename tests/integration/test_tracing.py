"""One trace spans service -> service: traceparent travels on every outbound call."""

from __future__ import annotations

import io
import json
from typing import Any

from ai_stack.core.app import create_service_app
from ai_stack.core.http_client import ServiceClient, service_client_context
from ai_stack.core.logging import configure_logging
from ai_stack.core.requests import json_response
from ai_stack.core.settings import CoreSettings
from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

DOWNSTREAM_KEY = web.AppKey("downstream", ServiceClient)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def front_and_back(
    aiohttp_server: Any, aiohttp_client: Any, provider: TracerProvider, seen: dict[str, str]
) -> Any:
    """A test client of `front`, whose /call calls `back`'s /work; `seen` gets what back received."""

    async def backend_handler(request: web.Request) -> web.Response:
        seen["traceparent"] = request.headers.get("traceparent", "")
        seen["request_id"] = request.headers.get("X-Request-ID", "")
        return json_response({"ok": True})

    backend = create_service_app(
        "back", CoreSettings(), registry=CollectorRegistry(), tracer_provider=provider
    )
    backend.router.add_get("/work", backend_handler)
    backend_server = await aiohttp_server(backend)

    async def front_handler(request: web.Request) -> web.Response:
        status, body = await request.app[DOWNSTREAM_KEY].request_json("GET", "/work", request=request)
        return json_response({"status": status, "body": body})

    front = create_service_app(
        "front", CoreSettings(), registry=CollectorRegistry(), tracer_provider=provider
    )
    front.cleanup_ctx.append(service_client_context(DOWNSTREAM_KEY, "back", str(backend_server.make_url(""))))
    front.router.add_get("/call", front_handler)
    return await aiohttp_client(front)


async def test_trace_and_request_id_cross_services(aiohttp_server: Any, aiohttp_client: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    logs = io.StringIO()
    configure_logging("front", "0", stream=logs)
    seen: dict[str, str] = {}
    client = await front_and_back(aiohttp_server, aiohttp_client, provider, seen)

    response = await client.get(
        "/call", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01", "X-Request-ID": "trace-test"}
    )
    assert response.status == 200, logs.getvalue()[-2000:]
    assert seen["traceparent"].split("-")[1] == TRACE_ID
    assert seen["request_id"] == "trace-test"
    spans = exporter.get_finished_spans()
    kinds = {span.kind for span in spans if format(span.context.trace_id, "032x") == TRACE_ID}
    assert {SpanKind.SERVER, SpanKind.CLIENT} <= kinds
    access = [json.loads(line) for line in logs.getvalue().splitlines() if '"request"' in line]
    assert any(line.get("trace_id") == TRACE_ID and "span_id" in line for line in access)


async def test_an_unsampled_trace_is_passed_on_without_recording_a_span(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: dict[str, str] = {}
    client = await front_and_back(aiohttp_server, aiohttp_client, provider, seen)

    # The caller decided not to sample (flags 00): the decision travels on, nothing is recorded.
    response = await client.get("/call", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-00"})
    assert response.status == 200
    _, trace_id, _, flags = seen["traceparent"].split("-")
    assert (trace_id, flags) == (TRACE_ID, "00")
    assert exporter.get_finished_spans() == ()


async def test_downstream_down_is_503_not_500(aiohttp_client: Any) -> None:
    async def front_handler(request: web.Request) -> web.Response:
        status, body = await request.app[DOWNSTREAM_KEY].request_json("GET", "/work")
        return json_response(body, status=status)

    front = create_service_app("front", CoreSettings(dependency_timeout_s=0.5), registry=CollectorRegistry())
    front.cleanup_ctx.append(service_client_context(DOWNSTREAM_KEY, "back", "http://127.0.0.1:9"))
    front.router.add_get("/call", front_handler)
    client = await aiohttp_client(front)
    response = await client.get("/call")
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert (await response.json())["error"]["code"] == "unavailable"
