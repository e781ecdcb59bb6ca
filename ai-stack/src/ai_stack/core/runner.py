"""Starting a service process: settings, logging, tracing, then aiohttp's run_app."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from ai_stack import __version__
from ai_stack.core.errors import StartupError
from ai_stack.core.logging import configure_logging
from ai_stack.core.settings import CoreSettings, SettingsError, load_settings
from ai_stack.core.tracing import build_tracer_provider

SettingsT = TypeVar("SettingsT", bound=CoreSettings)
MAX_REQUEST_HEADERS = 1024
AppBuilder = Callable[[SettingsT, TracerProvider | None], web.Application]


async def _freeze_startup_objects(app: web.Application) -> None:
    """Everything alive once the service has started (modules, tokenizers, pools) lives as long
    as the process: frozen, the collector's full passes no longer walk it, which stalled every
    request for ~150 ms about once a second under load (embeddings freezes its model likewise
    once it is loaded)."""
    gc.collect()
    gc.freeze()


def run_service(service: str, settings_cls: type[SettingsT], build: AppBuilder[SettingsT]) -> None:
    """Exits 2 with one clear line when the configuration is invalid, before binding a port, and 3
    when a check at start (a dependency that does not fit the settings) refuses to run."""
    try:
        settings = load_settings(settings_cls)
    except SettingsError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(service, __version__, settings.log_level)
    tracer_provider = build_tracer_provider(service, __version__, os.environ)
    if tracer_provider is not None:
        # Library instrumentations (redis, asyncpg) patch their clients process-wide.
        trace.set_tracer_provider(tracer_provider)
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor().instrument(tracer_provider=tracer_provider)
    app = build(settings, tracer_provider)
    app.on_startup.append(_freeze_startup_objects)
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            shutdown_timeout=settings.shutdown_timeout_s,
            access_log=None,
            print=None,
            # aiohttp refuses more than 128 headers with a bare-text 400; nginx already bounds
            # the header block (large_client_header_buffers), so take what it forwards.
            max_headers=MAX_REQUEST_HEADERS,
        )
    except StartupError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
