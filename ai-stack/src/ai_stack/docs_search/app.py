"""App factory of docs-search."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from ai_stack.clients.aidb import AidbClient
from ai_stack.core.app import create_service_app
from ai_stack.core.http_client import service_client_context
from ai_stack.core.keys import API_KEY
from ai_stack.core.openapi import add_routes
from ai_stack.core.redis import redis_context
from ai_stack.docs_search.catalog import Catalogs
from ai_stack.docs_search.keys import (
    AIDB_HTTP_KEY,
    DOCS_SETTINGS_KEY,
    LOOKUPS_KEY,
    REDIS_KEY,
    REGISTRY_KEY,
    SEARCHER_KEY,
    STATE_KEY,
    SYNCER_KEY,
)
from ai_stack.docs_search.lookups import Lookups
from ai_stack.docs_search.registry import SourceRegistry
from ai_stack.docs_search.routes import ROUTES
from ai_stack.docs_search.scheduler import run_scheduler
from ai_stack.docs_search.search import DocsSearcher
from ai_stack.docs_search.settings import DocsSettings
from ai_stack.docs_search.sources_file import read_sources_file
from ai_stack.docs_search.state import DocsState
from ai_stack.docs_search.sync import Syncer, SyncPolicy

SERVICE = "docs-search"


def create_app(
    settings: DocsSettings,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
    scheduler: bool = True,
) -> web.Application:
    """The docs-search app; `scheduler=False` leaves every sync to explicit requests (tests)."""
    # Read first: a broken sources file stops the start with a message naming the problem.
    file_sources = read_sources_file(settings.sources_file) if settings.sources_file else []
    app = create_service_app(SERVICE, settings, registry=registry, tracer_provider=tracer_provider)
    app[DOCS_SETTINGS_KEY] = settings
    # Searches need aidb; name lookups and the source list need only Redis, so aidb is optional.
    app.cleanup_ctx.append(service_client_context(AIDB_HTTP_KEY, "aidb", settings.aidb_url, required=False))
    app.cleanup_ctx.append(redis_context(REDIS_KEY, required=True))

    async def components(app: web.Application) -> AsyncIterator[None]:
        aidb = AidbClient(app[AIDB_HTTP_KEY])
        state = app[STATE_KEY] = DocsState(app[REDIS_KEY])
        catalogs = Catalogs(app[REDIS_KEY])
        sources = app[REGISTRY_KEY] = SourceRegistry(file_sources, state, settings.source_roots)
        searcher = app[SEARCHER_KEY] = DocsSearcher(aidb, settings.collection)
        app[LOOKUPS_KEY] = Lookups(catalogs, sources, state, searcher)
        policy = SyncPolicy(
            collection=settings.collection,
            batch_items=settings.sync_batch_items,
            batch_bytes=settings.sync_batch_bytes,
            request_timeout_s=settings.sync_request_timeout_s,
            max_section_chars=settings.max_section_chars,
            source_roots=tuple(settings.source_roots),
        )
        # Parsing is CPU work: a worker process keeps it off the event loop and out of its GIL.
        # spawn, not fork: forking a process that runs threads can copy a held lock.
        executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        syncer = app[SYNCER_KEY] = Syncer(aidb, state, catalogs, policy, executor)
        loop_task = (
            asyncio.create_task(run_scheduler(sources, state, syncer, settings.scheduler_interval_s))
            if scheduler
            else None
        )
        yield
        if loop_task is not None:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
        await syncer.close()
        executor.shutdown(wait=False, cancel_futures=True)

    app.cleanup_ctx.append(components)
    add_routes(app, ROUTES, app[API_KEY])
    return app
