"""Through nginx: TLS, API keys, limits, headers, and the official OpenAI client."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from typing import Any

import aiohttp
import httpx
import numpy as np
import pytest
from ai_stack.embeddings.model import Encoder
from openai import AsyncOpenAI

from tests.integration.conftest import GatewayStack

pytestmark = pytest.mark.slow


def tls(stack: GatewayStack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.cafile))


async def request(stack: GatewayStack, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, stack.https_url + path, ssl=tls(stack), **kwargs) as response:
            body = await response.json(content_type=None)
            return response.status, body, response.headers


async def test_no_key_is_401_envelope(gateway_stack: GatewayStack) -> None:
    status, body, headers = await request(gateway_stack, "POST", "/embeddings/embed", json={"inputs": "x"})
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    assert body["error"]["request_id"] == headers["X-Request-ID"]


async def test_wrong_key_is_401(gateway_stack: GatewayStack) -> None:
    for headers in (
        {"Authorization": "Bearer aisk_wrong"},
        {"X-API-Key": "nope"},
        {"Authorization": "Basic x"},
    ):
        status, _, _ = await request(gateway_stack, "GET", "/embeddings/info", headers=headers)
        assert status == 401


async def test_both_key_headers_work(gateway_stack: GatewayStack) -> None:
    for headers in ({"Authorization": f"Bearer {gateway_stack.key}"}, {"X-API-Key": gateway_stack.key}):
        status, body, _ = await request(gateway_stack, "GET", "/embeddings/info", headers=headers)
        assert status == 200 and body["dimension"] == 384


async def test_revoked_key_stops_working(gateway_stack: GatewayStack) -> None:
    key, stored = gateway_stack.key_store.create("short-lived")
    await asyncio.sleep(0.3)
    assert (await request(gateway_stack, "GET", "/embeddings/info", headers={"X-API-Key": key}))[0] == 200
    gateway_stack.key_store.revoke(stored.id)
    # the verifier re-reads the key file every 0.2 s here; nginx reuses its answer for 1 s, which
    # its whole-second clock makes up to 2 s
    await asyncio.sleep(2.5)
    assert (await request(gateway_stack, "GET", "/embeddings/info", headers={"X-API-Key": key}))[0] == 401


async def test_health_is_key_free_and_reveals_nothing(gateway_stack: GatewayStack) -> None:
    status, body, headers = await request(gateway_stack, "GET", "/embeddings/health")
    assert status == 200 and body == {"status": "ready"}
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    status, body, _ = await request(gateway_stack, "GET", "/health")
    assert status == 200 and body == {"status": "ok"}
    status, _, _ = await request(gateway_stack, "GET", "/embeddings/health/ready")
    assert status == 401  # the detailed view needs a key


async def test_openai_client_through_the_gateway(
    gateway_stack: GatewayStack, encoder: Encoder, reference_model: Any
) -> None:
    texts = ["nix flake check runs the checks of a flake", "VACUUM FULL rewrites the table"]
    async with httpx.AsyncClient(verify=tls(gateway_stack)) as http_client:
        client = AsyncOpenAI(
            api_key=gateway_stack.key,
            base_url=f"{gateway_stack.https_url}/embeddings/v1",
            http_client=http_client,
        )
        result = await client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)
    vectors = np.array([item.embedding for item in result.data])
    reference = reference_model.encode(texts, normalize_embeddings=True)
    assert np.sum(vectors * reference, axis=1).min() >= 0.9999
    assert result.usage.prompt_tokens > 0


async def test_bodies_over_the_limit_are_413(gateway_stack: GatewayStack) -> None:
    headers = {"X-API-Key": gateway_stack.key, "Content-Type": "application/json"}
    status, body, _ = await request(
        gateway_stack, "POST", "/embeddings/embed", data=b"x" * (5 * 1048576), headers=headers
    )
    assert status == 413 and body["error"]["code"] == "payload_too_large"


async def test_bodies_over_one_mebibyte_but_within_the_route_limit_reach_the_service(
    gateway_stack: GatewayStack,
) -> None:
    # 2 MiB: above nginx's server-wide default, below the embeddings route's 4 MiB. The service
    # answers (422 for the wrong type, found without embedding anything), not the gateway.
    body = {"inputs": ["x" * 20_000] * 100, "normalize": "not a boolean"}
    headers = {"X-API-Key": gateway_stack.key}
    status, answer, _ = await request(gateway_stack, "POST", "/embeddings/embed", json=body, headers=headers)
    assert status == 422, answer
    assert "normalize" in str(answer["error"])


async def test_bad_input_errors_pass_through(gateway_stack: GatewayStack) -> None:
    headers = {"X-API-Key": gateway_stack.key, "X-Request-ID": "gw-test-1"}
    status, body, response_headers = await request(
        gateway_stack, "POST", "/embeddings/embed", data=b"{not json", headers=headers
    )
    assert status == 400 and body["error"]["code"] == "malformed_json"
    assert body["error"]["request_id"] == "gw-test-1"
    assert response_headers.getall("X-Request-ID") == ["gw-test-1"]
    status, body, _ = await request(gateway_stack, "GET", "/nowhere", headers=headers)
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_http_redirects_to_https(gateway_stack: GatewayStack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            gateway_stack.http_url + "/embeddings/info", allow_redirects=False
        ) as response:
            assert response.status == 301
            assert response.headers["Location"].startswith("https://")
        # A forged Host never picks the redirect's target.
        async with session.get(
            gateway_stack.http_url + "/x?y=1", headers={"Host": "evil.example"}, allow_redirects=False
        ) as response:
            assert response.status == 301
            assert response.headers["Location"] == f"https://localhost:{gateway_stack.https_port}/x?y=1"


def _s_client(stack: GatewayStack, *flags: str) -> str:
    result = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{stack.https_port}",
            "-servername",
            "localhost",
            *flags,
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    )
    return result.stdout + result.stderr


def test_tls_below_1_2_is_refused_by_the_server(gateway_stack: GatewayStack) -> None:
    # SECLEVEL=0 lets this client offer TLS 1.1, so the refusal we see is the server's alert 70.
    old = _s_client(gateway_stack, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert "alert protocol version" in old
    for flag, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        assert f"New, {name}" in _s_client(gateway_stack, flag)


async def test_embeddings_down_is_503_envelope(gateway_stack: GatewayStack) -> None:
    gateway_stack.embeddings.stop()
    try:
        status, body, headers = await request(
            gateway_stack, "GET", "/embeddings/info", headers={"X-API-Key": gateway_stack.key}
        )
        assert status == 503 and body["error"]["code"] == "unavailable"
        assert headers["Retry-After"]
    finally:
        started = time.monotonic()
        gateway_stack.embeddings.start()
        assert time.monotonic() - started < 120


async def _embed_requests(stack: GatewayStack) -> float:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{stack.embeddings.port}/metrics"
        async with session.get(url, headers=stack.secret_headers) as response:
            text = await response.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("embeddings_http_requests_total{") and 'route="/embed"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_rejected_requests_never_reach_the_service(gateway_stack: GatewayStack) -> None:
    before = await _embed_requests(gateway_stack)
    for headers in ({}, {"X-API-Key": "aisk_forged"}):
        status, _, response_headers = await request(
            gateway_stack, "POST", "/embeddings/embed", json={"inputs": "x"}, headers=headers
        )
        assert status == 401
        # Error pages carry the same security headers as everything else.
        assert response_headers["Strict-Transport-Security"].startswith("max-age=")
        assert response_headers["X-Content-Type-Options"] == "nosniff"
        assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert await _embed_requests(gateway_stack) == before
    status, _, _ = await request(
        gateway_stack,
        "POST",
        "/embeddings/embed",
        json={"inputs": "x"},
        headers={"X-API-Key": gateway_stack.key},
    )
    assert status == 200
    assert await _embed_requests(gateway_stack) == before + 1
