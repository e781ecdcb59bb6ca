"""App factory of the embeddings service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from ai_stack.core.app import create_service_app
from ai_stack.core.health import DependencyCheck
from ai_stack.core.keys import API_KEY, HEALTH_KEY, METRICS_KEY
from ai_stack.core.limits import Quota
from ai_stack.core.openapi import add_routes
from ai_stack.core.redis import redis_context
from ai_stack.embeddings.batcher import MicroBatcher
from ai_stack.embeddings.cache import VectorCache
from ai_stack.embeddings.keys import (
    EMBEDDINGS_METRICS_KEY,
    EMBEDDINGS_SETTINGS_KEY,
    MODEL_STATE_KEY,
    QUOTA_KEY,
    REDIS_KEY,
)
from ai_stack.embeddings.loader import ModelState, load_until_ready
from ai_stack.embeddings.metrics import EmbeddingsMetrics
from ai_stack.embeddings.model import Encoder, load_encoder
from ai_stack.embeddings.routes import ROUTES
from ai_stack.embeddings.service import EmbeddingService
from ai_stack.embeddings.settings import EmbeddingsSettings

SERVICE = "embeddings"
EncoderLoader = Callable[[], Encoder]


def create_app(
    settings: EmbeddingsSettings,
    *,
    load: EncoderLoader | None = None,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> web.Application:
    """The embeddings app; `load` defaults to loading the configured sentence-transformers model."""
    app = create_service_app(SERVICE, settings, registry=registry, tracer_provider=tracer_provider)
    app[EMBEDDINGS_SETTINGS_KEY] = settings
    app[EMBEDDINGS_METRICS_KEY] = EmbeddingsMetrics(app[METRICS_KEY].prefix, app[METRICS_KEY].registry)
    app[EMBEDDINGS_METRICS_KEY].queue_capacity.set(settings.max_queue_texts)
    app[MODEL_STATE_KEY] = ModelState()
    app[QUOTA_KEY] = Quota(settings.key_texts_per_minute)
    app[HEALTH_KEY].add(DependencyCheck("model", app[MODEL_STATE_KEY].probe, required=True))
    app.cleanup_ctx.append(redis_context(REDIS_KEY, required=False))
    app.cleanup_ctx.append(_model_context(load or _default_loader(settings)))
    add_routes(app, ROUTES, app[API_KEY])
    return app


def _default_loader(settings: EmbeddingsSettings) -> EncoderLoader:
    return lambda: load_encoder(
        settings.model, settings.device, settings.resolved_torch_threads(), settings.encode_batch_size
    )


def _model_context(load: EncoderLoader) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        # Several single-threaded workers beat one multi-threaded one for a small model: no
        # barrier between intra-op threads that stalls when another process takes a core
        # (measured: 2 x 1 thread ~20% faster than 1 x 2 threads on 2 cores).
        workers = app[EMBEDDINGS_SETTINGS_KEY].resolved_workers()
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model")
        task = asyncio.create_task(_serve_model(app, load, executor), name="embeddings-model")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        executor.shutdown(wait=False, cancel_futures=True)

    return context


async def _serve_model(app: web.Application, load: EncoderLoader, executor: ThreadPoolExecutor) -> None:
    settings = app[EMBEDDINGS_SETTINGS_KEY]
    metrics = app[EMBEDDINGS_METRICS_KEY]
    state = app[MODEL_STATE_KEY]
    encoder, seconds = await load_until_ready(
        load, executor, state, settings.load_retry_max_s, metrics.model_load_failures.inc
    )
    metrics.model_load_seconds.set(seconds)
    batcher = MicroBatcher(
        encoder.encode,
        max_batch=settings.max_batch_size,
        max_wait_s=settings.max_wait_ms / 1000,
        max_queue_texts=settings.max_queue_texts,
        executor=executor,
        observer=metrics.batch_observer(),
        concurrency=settings.resolved_workers(),
        max_bulk_batch=min(settings.bulk_batch_size, settings.max_batch_size),
    )
    cache = None
    if settings.cache_ttl_s > 0:
        cache = VectorCache(app[REDIS_KEY], encoder.name, encoder.dimension, settings.cache_ttl_s)
    state.service = EmbeddingService(
        encoder,
        batcher,
        cache,
        metrics.cache_hits,
        metrics.cache_misses,
        settings.max_inputs_per_request,
        settings.max_chars_per_input,
    )
    try:
        await batcher.run()
    except Exception as exc:  # readiness must turn red, not keep promising a dead worker
        state.stopped = f"{type(exc).__name__}: {exc}"
        raise
