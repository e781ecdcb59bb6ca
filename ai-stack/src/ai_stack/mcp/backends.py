"""The services a tool calls, through their typed clients: directly (the MCP service beside them)
or through the gateway with an API key (stdio, on an agent's machine)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from opentelemetry.sdk.trace import TracerProvider

from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.docs import DocsClient
from ai_stack.clients.embeddings import EmbeddingsClient
from ai_stack.clients.hybrid import HybridClient
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.http_client import ServiceClient, is_service_outage, trace_configs

SERVICES = ("aidb", "embeddings", "hybrid", "docs")


@dataclass(frozen=True)
class Backends:
    aidb: AidbClient
    embeddings: EmbeddingsClient
    hybrid: HybridClient
    docs: DocsClient


@dataclass(frozen=True)
class Connection:
    """Where the services are and how to reach them."""

    urls: dict[str, str]  # service name -> base URL
    timeout_s: float
    headers: dict[str, str] | None = None
    tls: ssl.SSLContext | None = None
    breaker_failures: int = 5
    breaker_reset_s: float = 10.0
    # Beside the services (HTTP transport): each call acts for the key of the MCP request.
    forward_identity: bool = False

    @classmethod
    def through_gateway(
        cls, gateway_url: str, api_key: str, tls: ssl.SSLContext, timeout_s: float
    ) -> Connection:
        base = gateway_url.rstrip("/")
        urls = {name: f"{base}/{name}" for name in SERVICES}
        return cls(urls, timeout_s, headers={"X-API-Key": api_key}, tls=tls)


@asynccontextmanager
async def open_backends(
    connection: Connection,
    tracer_provider: TracerProvider | None = None,
    watch_breaker: Callable[[CircuitBreaker], None] | None = None,
) -> AsyncIterator[Backends]:
    """One pooled session; a breaker per service, so one service down fails only its tools fast.
    With a tracer provider, each call is a client span and carries the traceparent;
    `watch_breaker` sees each breaker as it is made (the service exports their states)."""
    connector = aiohttp.TCPConnector(limit=64, ssl=connection.tls if connection.tls is not None else True)
    traced = trace_configs(tracer_provider)
    async with aiohttp.ClientSession(connector=connector, trace_configs=traced) as session:

        def client(name: str) -> ServiceClient:
            breaker = CircuitBreaker(
                name,
                failure_threshold=connection.breaker_failures,
                reset_timeout_s=connection.breaker_reset_s,
                call_timeout_s=connection.timeout_s,
                counts_as_failure=is_service_outage,
            )
            if watch_breaker is not None:
                watch_breaker(breaker)
            return ServiceClient(
                name,
                connection.urls[name],
                session,
                breaker,
                headers=connection.headers,
                forward_identity=connection.forward_identity,
            )

        yield Backends(
            AidbClient(client("aidb")),
            EmbeddingsClient(client("embeddings")),
            HybridClient(client("hybrid")),
            DocsClient(client("docs")),
        )
