"""One trace from an MCP client's request through the MCP service's tool call to the service the
tool calls: the MCP service (a real process) exports to an OTLP receiver, the embeddings service
(in this process) to memory, and every span carries the caller's trace id."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
import pytest
from ai_stack.embeddings.app import create_app as create_embeddings
from ai_stack.embeddings.model import Encoder
from ai_stack.embeddings.settings import EmbeddingsSettings
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from tests.harness.otlp import OtlpReceiver
from tests.harness.processes import RedisServer, ServiceProcess, free_port

pytestmark = pytest.mark.slow
TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_a_tool_call_is_one_trace_from_the_caller_to_the_service_it_calls(
    aiohttp_server: Any, encoder: Encoder, redis_server: RedisServer, tmp_path: Path
) -> None:
    receiver = OtlpReceiver()
    otlp = await aiohttp_server(receiver.app())
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    embeddings = await aiohttp_server(
        create_embeddings(
            EmbeddingsSettings(redis_url=redis_server.url),
            load=lambda: encoder,
            registry=CollectorRegistry(),
            tracer_provider=provider,
        )
    )
    port = free_port()
    mcp = ServiceProcess(
        "mcp",
        port,
        {
            "AI_STACK_MCP_PORT": str(port),
            "AI_STACK_MCP_EMBEDDINGS_URL": str(embeddings.make_url("")).rstrip("/"),
            "OTEL_EXPORTER_OTLP_ENDPOINT": str(otlp.make_url("")).rstrip("/"),
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s, not the default 5 s
        },
        tmp_path / "mcp.log",
    )
    await asyncio.to_thread(mcp.start)
    try:
        headers = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01", "X-Request-ID": "mcp-trace-test"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with Client(
                streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
            ) as client:
                result = await client.call_tool("embed", {"texts": ["one trace"]})
                assert not result.is_error, result.content
        deadline = asyncio.get_running_loop().time() + 30
        while not any(s.name == "tools/call embed" for s in receiver.spans):
            assert asyncio.get_running_loop().time() < deadline, receiver.spans
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(mcp.stop)

    traced = [s for s in receiver.spans if s.trace_id == TRACE_ID]
    assert {s.service for s in traced} == {"mcp"}
    by_id = {s.span_id: s for s in traced}
    tool = next(s for s in traced if s.name == "tools/call embed")
    ancestors = []
    span = tool
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        ancestors.append(span.name)
    assert span.parent_span_id == CALLER_SPAN, "the request span continues the caller's trace"
    assert any("/mcp" in name for name in ancestors), ancestors
    # Jaeger finds it by the request id the client saw, as for the other services.
    assert any(s.attributes.get("request_id") == "mcp-trace-test" for s in traced if "/mcp" in s.name)
    client_spans = [s for s in traced if s.parent_span_id == tool.span_id]
    assert client_spans, "the tool's call to the embeddings service is a span under the tool's"
    served = [
        s
        for s in exporter.get_finished_spans()
        if format(s.context.trace_id, "032x") == TRACE_ID and s.kind == SpanKind.SERVER
    ]
    assert served, "the embeddings service continued the same trace"
    assert {format(s.parent.span_id, "016x") for s in served if s.parent} <= {c.span_id for c in client_spans}
