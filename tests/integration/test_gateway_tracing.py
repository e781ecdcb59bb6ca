"""One request through the gateway is one trace: hybrid-coordinator -> aidb -> embeddings, every
span with the caller's trace id (exported over OTLP, as to Jaeger), and every log line of the
request carrying its request id and that trace id."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import aiohttp

from tests.integration.conftest import GatewayStack
from tests.integration.test_gateway import tls


def log_lines(stack: GatewayStack, service: str, request_id: str) -> list[dict[str, Any]]:
    lines = []
    for raw in (stack.home / f"{service}.log").read_text().splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("request_id") == request_id:
            lines.append(line)
    return lines


async def test_a_request_through_the_gateway_is_one_trace_across_services(
    gateway_stack: GatewayStack,
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    request_id = f"trace-{secrets.token_hex(6)}"
    headers = {
        "X-API-Key": gateway_stack.key,
        "X-Request-ID": request_id,
        "traceparent": f"00-{trace_id}-{caller_span}-01",
    }
    # A query no other test asks: aidb must embed it (no cached vector), so embeddings is reached.
    body = {"query": f"how is tracing configured {request_id}", "project": "tracing-test"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway_stack.https_url}/hybrid/augment_query",
            json=body,
            headers=headers,
            ssl=tls(gateway_stack),
        ) as response:
            assert response.status == 200, await response.text()
            assert response.headers["X-Request-ID"] == request_id
    wanted = {"hybrid", "aidb", "embeddings"}

    def received() -> list[Any]:
        return [s for s in gateway_stack.traces.spans if s.trace_id == trace_id]

    def one_tree(spans: list[Any]) -> bool:
        """Every span's parent is another span of the trace or the caller's own span."""
        ids = {s.span_id for s in spans}
        return all(s.parent_span_id in ids or s.parent_span_id == caller_span for s in spans)

    # Each service exports its spans in batches as they end, children before parents: a parent
    # (a server span, which ends last) may arrive a batch after its children.
    deadline = asyncio.get_running_loop().time() + 30
    while not ({s.service for s in received()} >= wanted and one_tree(received())):
        assert asyncio.get_running_loop().time() < deadline, [(s.service, s.name) for s in received()]
        await asyncio.sleep(0.2)
    spans = received()
    by_id = {s.span_id: s for s in spans}
    roots = [s for s in spans if s.parent_span_id == caller_span]
    assert [r.service for r in roots] == ["hybrid"], roots

    def chain(span: Any) -> list[str]:
        services = [span.service]
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            services.append(span.service)
        return services

    embedding = next(s for s in spans if s.service == "embeddings")
    assert [s for i, s in enumerate(chain(embedding)) if i == 0 or s != chain(embedding)[i - 1]] == [
        "embeddings",
        "aidb",
        "hybrid",
    ]
    # Jaeger finds the trace by the id the client saw: every service's server span carries it.
    tagged = {s.service for s in spans if s.attributes.get("request_id") == request_id}
    assert tagged == wanted
    # Every log line of the request names it and its trace.
    for service in wanted:
        lines = log_lines(gateway_stack, service, request_id)
        assert lines, f"{service} logged nothing for {request_id}"
        assert {line.get("trace_id") for line in lines} == {trace_id}, (service, lines)
