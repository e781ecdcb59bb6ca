"""App factory of the key verifier that nginx consults through auth_request."""

from __future__ import annotations

import asyncio

from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from ai_stack.auth.keys import VERIFIER_KEY
from ai_stack.auth.keystore import KeyStore
from ai_stack.auth.routes import ROUTES
from ai_stack.auth.settings import AuthSettings
from ai_stack.auth.verifier import KeyVerifier
from ai_stack.core.app import create_service_app
from ai_stack.core.health import DependencyCheck
from ai_stack.core.keys import API_KEY, HEALTH_KEY
from ai_stack.core.openapi import add_routes

SERVICE = "auth"


def create_app(
    settings: AuthSettings,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> web.Application:
    """The verifier app."""
    app = create_service_app(SERVICE, settings, registry=registry, tracer_provider=tracer_provider)
    store = KeyStore(settings.keys_file)
    app[VERIFIER_KEY] = KeyVerifier(store, settings.reload_interval_s)

    async def keys_readable() -> None:
        await asyncio.to_thread(store.load)

    app[HEALTH_KEY].add(DependencyCheck("keys_file", keys_readable, required=True))

    async def flush_usage(app: web.Application) -> None:
        app[VERIFIER_KEY].usage.flush()

    app.on_shutdown.append(flush_usage)
    add_routes(app, ROUTES, app[API_KEY])
    return app
