"""The core app factory: envelope, request ids, metrics by route template, log isolation."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import pytest
import structlog
from ai_stack.core.app import create_service_app
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.errors import ConflictError
from ai_stack.core.health import DependencyCheck, NotReadyYet
from ai_stack.core.keys import HEALTH_KEY, REGISTRY_KEY
from ai_stack.core.logging import configure_logging
from ai_stack.core.metrics import ServiceMetrics
from ai_stack.core.requests import json_response, read_model
from ai_stack.core.settings import CoreSettings
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

log = structlog.get_logger("test")


class Item(BaseModel):
    name: str
    count: int


async def echo(request: web.Request) -> web.Response:
    item = await read_model(request, Item)
    return json_response(item.model_dump())


async def thing(request: web.Request) -> web.Response:
    if request.match_info["id"] == "taken":
        raise ConflictError("already there")
    return json_response({"id": request.match_info["id"]})


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals /etc/passwd")


async def slow_log(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("delay", "0")))
    log.info("handler_saw", seen=request.headers.get("X-Request-ID"))
    return json_response({})


def build(registry: CollectorRegistry, **settings: Any) -> web.Application:
    app = create_service_app("unit-svc", CoreSettings(max_body_bytes=2048, **settings), registry=registry)
    app.router.add_post("/echo", echo)
    app.router.add_get("/things/{id}", thing)
    app.router.add_get("/boom", boom)
    app.router.add_get("/slow", slow_log)
    return app


@pytest.fixture
def log_buffer() -> io.StringIO:
    buffer = io.StringIO()
    configure_logging("unit-svc", "0", "INFO", stream=buffer)
    return buffer


@pytest.fixture
async def client(aiohttp_client: Any, log_buffer: io.StringIO) -> TestClient:
    return await aiohttp_client(build(CollectorRegistry()))


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_malformed_json_is_400_with_envelope(client: TestClient) -> None:
    response = await client.post("/echo", data=b"{nope", headers={"X-Request-ID": "req-1"})
    body = await response.json()
    assert response.status == 400
    assert body["error"]["code"] == "malformed_json"
    assert body["error"]["request_id"] == "req-1"
    assert response.headers["X-Request-ID"] == "req-1"


async def test_wrong_types_are_422_naming_the_field(client: TestClient) -> None:
    response = await client.post("/echo", json={"name": "x", "count": "many"})
    body = await response.json()
    assert response.status == 422
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"][0]["field"] == "count"


async def test_oversize_body_is_413(client: TestClient) -> None:
    response = await client.post("/echo", data=b"x" * 5000)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"


async def test_unknown_route_and_method(client: TestClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"
    wrong = await client.get("/echo")
    assert wrong.status == 405
    assert "POST" in wrong.headers["Allow"]


async def test_api_errors_map_to_their_status(client: TestClient) -> None:
    response = await client.get("/things/taken")
    assert response.status == 409
    assert (await response.json())["error"] == {
        "code": "conflict",
        "message": "already there",
        "request_id": response.headers["X-Request-ID"],
    }


async def test_unexpected_error_is_generic_500_without_internals(
    client: TestClient, log_buffer: io.StringIO
) -> None:
    response = await client.get("/boom")
    text = await response.text()
    assert response.status == 500
    assert "passwd" not in text and "Traceback" not in text
    assert any(line["event"] == "unhandled_error" for line in lines(log_buffer))


async def test_insane_request_id_is_replaced(client: TestClient) -> None:
    response = await client.get("/things/1", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["X-Request-ID"] != "bad id\twith spaces"
    assert len(response.headers["X-Request-ID"]) == 32


async def test_metrics_use_route_templates(client: TestClient) -> None:
    for thing_id in ("a", "b", "c"):
        await client.get(f"/things/{thing_id}")
    text = await (await client.get("/metrics")).text()
    assert 'unit_svc_http_requests_total{method="GET",route="/things/{id}",status="200"} 3.0' in text
    assert "/things/a" not in text
    assert "unit_svc_http_request_duration_seconds_bucket" in text
    assert 'le="0.001"' in text and 'le="10.0"' in text
    assert "unit_svc_process_resident_memory_bytes" in text
    assert "unit_svc_http_requests_in_flight" in text


async def test_access_line_has_the_required_fields(client: TestClient, log_buffer: io.StringIO) -> None:
    await client.get("/things/7", headers={"X-Request-ID": "abc.123"})
    access = [line for line in lines(log_buffer) if line["event"] == "request"][-1]
    assert access["request_id"] == "abc.123"
    assert access["route"] == "/things/{id}"
    assert access["status"] == 200
    assert access["method"] == "GET"
    assert access["service"] == "unit-svc" and "version" in access
    assert isinstance(access["duration_ms"], float)


async def test_log_context_never_leaks_between_concurrent_requests(
    client: TestClient, log_buffer: io.StringIO
) -> None:
    delays = [0.05, 0.0, 0.03, 0.01, 0.04, 0.02] * 3
    await asyncio.gather(
        *(client.get(f"/slow?delay={d}", headers={"X-Request-ID": f"req-{i}"}) for i, d in enumerate(delays))
    )
    seen = [line for line in lines(log_buffer) if line["event"] == "handler_saw"]
    assert len(seen) == len(delays)
    assert all(line["request_id"] == line["seen"] for line in seen)


async def test_context_is_cleared_between_requests_on_one_connection(
    client: TestClient, log_buffer: io.StringIO
) -> None:
    await client.get("/slow", headers={"X-Request-ID": "first"})
    await client.get("/slow")
    seen = [line for line in lines(log_buffer) if line["event"] == "handler_saw"]
    assert seen[0]["request_id"] == "first"
    assert seen[1]["request_id"] != "first"


async def test_readiness_reports_each_dependency(aiohttp_client: Any) -> None:
    app = build(CollectorRegistry())
    state = {"model": "loading"}

    async def model_probe() -> None:
        if state["model"] == "loading":
            raise NotReadyYet("still loading")

    async def cache_probe() -> None:
        raise ConnectionError("refused")

    app[HEALTH_KEY].add(DependencyCheck("model", model_probe, required=True))
    app[HEALTH_KEY].add(DependencyCheck("cache", cache_probe, required=False))
    client = await aiohttp_client(app)
    loading = await client.get("/health/ready")
    assert loading.status == 503
    body = await loading.json()
    assert body["status"] == "loading"
    assert body["dependencies"]["cache"]["state"] == "down"
    state["model"] = "up"
    ready = await client.get("/health/ready")
    assert ready.status == 200
    assert (await ready.json())["dependencies"]["model"]["state"] == "up"
    brief = await (await client.get("/health")).json()
    assert brief == {"status": "ready"}
    metrics = await (await client.get("/metrics")).text()
    assert 'unit_svc_dependency_up{dependency="cache"} 0.0' in metrics


async def test_openapi_lists_core_routes(client: TestClient) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert "/health/ready" in document["paths"]


async def test_dependencies_are_probed_without_traffic(aiohttp_client: Any) -> None:
    """dependency_up follows a dependency that goes down while nobody asks for readiness: the
    alert on a required dependency must not wait for a request."""
    app = build(CollectorRegistry(), health_probe_interval_s=0.05)
    state = {"up": True}

    async def probe() -> None:
        if not state["up"]:
            raise ConnectionError("refused")

    app[HEALTH_KEY].add(DependencyCheck("store", probe, required=True))
    app[HEALTH_KEY].add(DependencyCheck("cache", probe, required=False))
    client = await aiohttp_client(app)
    registry = app[REGISTRY_KEY]
    await asyncio.sleep(0.2)
    assert registry.get_sample_value("unit_svc_dependency_up", {"dependency": "store"}) == 1
    state["up"] = False
    await asyncio.sleep(0.2)
    assert registry.get_sample_value("unit_svc_dependency_up", {"dependency": "store"}) == 0
    assert registry.get_sample_value("unit_svc_dependency_required", {"dependency": "store"}) == 1
    assert registry.get_sample_value("unit_svc_dependency_required", {"dependency": "cache"}) == 0
    await client.close()


async def test_breaker_metrics_say_since_when_it_is_not_closed() -> None:
    registry = CollectorRegistry()
    metrics = ServiceMetrics("unit-svc", registry)
    now = [100.0]
    breaker = CircuitBreaker("store", failure_threshold=1, reset_timeout_s=5, clock=lambda: now[0])
    metrics.watch_breaker(breaker)

    def sample(name: str) -> float | None:
        return registry.get_sample_value(f"unit_svc_circuit_breaker_{name}", {"dependency": "store"})

    assert (sample("state"), sample("not_closed_since_timestamp_seconds")) == (0, 0)
    assert sample("reset_timeout_seconds") == 5

    async def fail() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    opened = sample("not_closed_since_timestamp_seconds")
    assert sample("state") == 2 and opened is not None and abs(opened - time.time()) < 5
    now[0] += 6  # past the reset: the probe fails, the breaker reopens; it has not closed since
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert sample("state") == 2 and sample("not_closed_since_timestamp_seconds") == opened
    now[0] += 6

    async def succeed() -> None:
        return None

    await breaker.call(succeed)
    assert (sample("state"), sample("not_closed_since_timestamp_seconds")) == (0, 0)
