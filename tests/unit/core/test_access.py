"""Access control in the core middleware: gateway secret, identity headers and route scopes."""

from __future__ import annotations

from typing import Any

import pytest
from ai_stack.core.access import principal_of
from ai_stack.core.app import create_service_app
from ai_stack.core.http_client import ServiceClient
from ai_stack.core.keys import API_KEY
from ai_stack.core.openapi import Route, add_routes
from ai_stack.core.principal import (
    STACK,
    Principal,
    current_principal,
    decode_projects,
    encode_projects,
    identity_headers,
)
from ai_stack.core.requests import json_response
from ai_stack.core.settings import CoreSettings
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

SECRET = "0123456789abcdef-secret"


async def whoami(request: web.Request) -> web.Response:
    principal = principal_of(request)
    seen = current_principal.get()
    return json_response(
        {
            "key_id": principal.key_id,
            "scopes": sorted(principal.scopes),
            "projects": sorted(principal.projects) if principal.projects is not None else None,
            "context_matches": seen == principal,
        }
    )


def build(secret: str | None) -> web.Application:
    app = create_service_app("unit-svc", CoreSettings(gateway_secret=secret), registry=CollectorRegistry())
    routes = (
        Route("GET", "/things", whoami, "read by default"),
        Route("POST", "/things", whoami, "write by default"),
        Route("POST", "/search", whoami, "a POST that reads", scope="read"),
        Route("POST", "/reindex", whoami, "admin only", scope="admin"),
    )
    add_routes(app, routes, app[API_KEY])
    return app


def identity(key_id: str, scopes: str, projects: str = "*") -> dict[str, str]:
    return {"X-AI-Key-Id": key_id, "X-AI-Scopes": scopes, "X-AI-Projects": projects}


@pytest.fixture
async def gated(aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(build(SECRET))


@pytest.fixture
async def open_app(aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(build(None))


async def test_without_the_gateway_secret_only_health_answers(
    gated: TestClient,
) -> None:
    for path in ("/health", "/health/live", "/health/ready"):
        assert (await gated.get(path)).status in (200, 503)
    for method, path in (
        ("GET", "/things"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/nope"),
    ):
        response = await gated.request(method, path, headers={"X-AI-Gateway-Secret": "wrong-but-long-enough"})
        assert response.status == 401
        body = await response.json()
        assert body["error"]["code"] == "gateway_only" and body["error"]["request_id"]
    # forged identity headers without the secret change nothing
    forged = await gated.get("/things", headers=identity("k1", "read,write,admin"))
    assert forged.status == 401


async def test_with_the_secret_the_stack_acts_with_every_grant(
    gated: TestClient,
) -> None:
    for secret_header in (
        {"X-AI-Gateway-Secret": SECRET},
        {"Authorization": f"Bearer {SECRET}"},
    ):
        response = await gated.post("/reindex", headers=secret_header)
        assert response.status == 200
        assert (await response.json())["key_id"] is None
    assert (await gated.get("/metrics", headers={"Authorization": f"Bearer {SECRET}"})).status == 200


@pytest.mark.parametrize(
    ("method", "path", "scopes", "status"),
    [
        ("GET", "/things", "read", 200),
        ("GET", "/things", "write", 403),
        ("POST", "/things", "read", 403),
        ("POST", "/things", "write", 200),
        ("POST", "/search", "read", 200),
        ("POST", "/reindex", "read,write", 403),
        ("POST", "/reindex", "admin", 200),
        ("GET", "/metrics", "read,write", 403),
        ("GET", "/metrics", "admin", 200),
    ],
)
async def test_each_route_needs_its_scope(
    gated: TestClient, method: str, path: str, scopes: str, status: int
) -> None:
    headers = {"X-AI-Gateway-Secret": SECRET, **identity("k1", scopes)}
    response = await gated.request(method, path, headers=headers)
    assert response.status == status
    if status == 403:
        assert (await response.json())["error"]["code"] == "missing_scope"


async def test_the_handler_and_the_context_see_the_callers_grants(
    open_app: TestClient,
) -> None:
    projects = encode_projects(["a,b", "ünïcode", "plain"])
    response = await open_app.get("/things", headers=identity("k9", "read", projects))
    body = await response.json()
    assert body == {
        "key_id": "k9",
        "scopes": ["read"],
        "projects": sorted(["a,b", "ünïcode", "plain"]),
        "context_matches": True,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"X-AI-Scopes": "read"},  # grants without a key id
        {"X-AI-Key-Id": "k1"},  # a key id without grants
        identity("k1", "read,root"),
    ],
)
async def test_malformed_identity_is_a_400(open_app: TestClient, headers: dict[str, str]) -> None:
    response = await open_app.get("/things", headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "bad_identity"


async def test_openapi_documents_each_routes_scope(open_app: TestClient) -> None:
    paths = (await (await open_app.get("/openapi.json")).json())["paths"]
    assert paths["/reindex"]["post"]["x-required-scope"] == "admin"
    assert paths["/search"]["post"]["x-required-scope"] == "read"
    assert paths["/health"]["get"]["x-required-scope"] == "public"
    assert "403" in paths["/things"]["post"]["responses"]
    assert "403" not in paths["/health"]["get"]["responses"]


def test_projects_survive_the_header_round_trip() -> None:
    names = ["a,b", "x y", "%41", "日本"]
    assert decode_projects(encode_projects(names)) == frozenset(names)
    assert decode_projects(encode_projects(None)) is None


async def test_a_forwarding_client_passes_the_callers_identity_on(
    aiohttp_client: Any,
) -> None:
    seen: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return json_response({})

    callee = web.Application()
    callee.router.add_get("/x", record)
    server = await aiohttp_client(callee)
    from ai_stack.core.breaker import CircuitBreaker

    breaker = CircuitBreaker("callee", failure_threshold=5, reset_timeout_s=1, call_timeout_s=2)
    base = str(server.make_url(""))
    forwarding = ServiceClient(
        "callee",
        base,
        server.session,
        breaker,
        headers={"X-AI-Gateway-Secret": SECRET},
        forward_identity=True,
    )
    plain = ServiceClient("callee", base, server.session, breaker)
    key = Principal("k1", frozenset({"read"}), frozenset({"p"}))
    token = current_principal.set(key)
    try:
        await forwarding.request_json("GET", "/x")
        await plain.request_json("GET", "/x")
    finally:
        current_principal.reset(token)
    await forwarding.request_json("GET", "/x")  # the stack itself: no identity headers
    assert seen[0]["X-AI-Key-Id"] == "k1" and seen[0]["X-AI-Projects"] == "p"
    assert seen[0]["X-AI-Gateway-Secret"] == SECRET
    assert "X-AI-Key-Id" not in seen[1]
    assert "X-AI-Key-Id" not in seen[2]
    assert identity_headers(STACK) == {}
