"""App factory of aidb."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from ai_stack.aidb import repository as repo
from ai_stack.aidb.cache import CacheMetrics, SearchCache
from ai_stack.aidb.embedder import RemoteEmbedder
from ai_stack.aidb.indexer import IndexedText, Indexer, purge_expired
from ai_stack.aidb.keys import (
    AIDB_SETTINGS_KEY,
    CACHE_KEY,
    EMBEDDINGS_CLIENT_KEY,
    KEYWORD_STATS_KEY,
    POOL_KEY,
    REDIS_KEY,
    SEARCH_KEY,
    STORE_KEY,
    VECTORS_BREAKER_KEY,
    VECTORS_KEY,
    WRITE_QUOTA_KEY,
)
from ai_stack.aidb.keyword_df import KeywordIdf
from ai_stack.aidb.keyword_stats import KeywordStats
from ai_stack.aidb.metrics import BacklogMetrics, EngineWorkerMemory
from ai_stack.aidb.model_check import ModelCheck
from ai_stack.aidb.rerank import CrossEncoderReranker, Reranker
from ai_stack.aidb.routes import ROUTES
from ai_stack.aidb.search import SearchService
from ai_stack.aidb.settings import AidbSettings
from ai_stack.aidb.sparse import Bm25Encoder
from ai_stack.aidb.store import DocumentStore
from ai_stack.aidb.vectors.base import is_vector_outage
from ai_stack.aidb.vectors.factory import create_vector_store
from ai_stack.clients.embeddings import EmbeddingsClient
from ai_stack.clients.errors import ClientError
from ai_stack.core.app import create_service_app
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.errors import ServiceUnavailableError, StartupError
from ai_stack.core.health import DependencyCheck
from ai_stack.core.http_client import service_client_context
from ai_stack.core.keys import API_KEY, HEALTH_KEY, METRICS_KEY
from ai_stack.core.limits import Quota
from ai_stack.core.openapi import add_routes
from ai_stack.core.postgres import GuardedPool, postgres_context
from ai_stack.core.redis import redis_context
from ai_stack.text.chunking import Chunk, ChunkingOptions, chunk_text
from ai_stack.text.html import html_to_text
from ai_stack.text.model_files import tokenizer_fingerprint
from ai_stack.text.tokenizer import TokenCounter

log = structlog.get_logger(__name__)
SERVICE = "aidb"
MARKDOWN_TYPES = {"text/markdown", "text/x-markdown"}
HTML_TYPES = {"text/html", "application/xhtml+xml"}


def create_app(
    settings: AidbSettings,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> web.Application:
    """The aidb app."""
    app = create_service_app(SERVICE, settings, registry=registry, tracer_provider=tracer_provider)
    app[AIDB_SETTINGS_KEY] = settings
    app[WRITE_QUOTA_KEY] = Quota(settings.key_write_bytes_per_minute)
    app.cleanup_ctx.append(postgres_context(POOL_KEY, settings.postgres_dsn, "ai_stack.aidb.migrations"))
    # Embeddings are optional: without them writes queue up and search degrades to keyword.
    app.cleanup_ctx.append(
        service_client_context(EMBEDDINGS_CLIENT_KEY, "embeddings", settings.embeddings_url, required=False)
    )
    app.cleanup_ctx.append(_model_check_context)
    # Redis is optional too: without it nothing is cached and search still answers.
    app.cleanup_ctx.append(redis_context(REDIS_KEY, required=False))
    app.cleanup_ctx.append(_vectors_context)
    app.cleanup_ctx.append(_store_context)
    app.cleanup_ctx.append(_background_context)
    add_routes(app, ROUTES, app[API_KEY])
    return app


def make_chunker(settings: AidbSettings) -> Callable[[str, str], list[Chunk]]:
    """Chunks with the embedding model's tokenizer; Markdown rules for Markdown content, and for
    HTML once it is turned into text with headings (tags must not reach the index)."""
    count = TokenCounter.for_model(settings.tokenizer_model)
    markdown = ChunkingOptions(settings.chunk_max_tokens, settings.chunk_overlap_tokens, markdown=True)
    plain = ChunkingOptions(settings.chunk_max_tokens, settings.chunk_overlap_tokens, markdown=False)

    def chunk(content: str, content_type: str) -> list[Chunk]:
        if content_type in HTML_TYPES:
            return chunk_text(html_to_text(content)[1], count, markdown)
        return chunk_text(content, count, markdown if content_type in MARKDOWN_TYPES else plain)

    return chunk


async def _model_check_context(app: web.Application) -> AsyncIterator[None]:
    """Refuses to start when the embeddings service answers with another model; when it is down,
    compares once it answers and reports a mismatch in readiness."""
    settings = app[AIDB_SETTINGS_KEY]
    fingerprint = await asyncio.to_thread(tokenizer_fingerprint, settings.tokenizer_model)
    check = ModelCheck(settings.embedding_dimension, settings.tokenizer_model, fingerprint)
    client = EmbeddingsClient(app[EMBEDDINGS_CLIENT_KEY])
    with contextlib.suppress(ServiceUnavailableError, ClientError):
        if problems := await check.compare(client):
            raise StartupError("the embeddings service does not fit aidb's settings: " + "; ".join(problems))
    app[HEALTH_KEY].add(DependencyCheck("embedding_model", check.probe, required=True))
    task = asyncio.create_task(
        check.until_compared(client, settings.model_check_interval_s), name="aidb-model-check"
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _vectors_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[AIDB_SETTINGS_KEY]
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    store = create_vector_store(
        settings.qdrant_url,
        settings.data_dir,
        settings.dependency_timeout_s,
        settings.embedded_engine,
        api_key=api_key,
        layout=settings.cluster_layout(),
        edge_replicas=settings.edge_replicas,
        edge_index=settings.edge_index(),
        optimize_after_points=settings.edge_optimize_after_points,
    )
    breaker = CircuitBreaker(
        "qdrant",
        failure_threshold=settings.breaker_failure_threshold,
        reset_timeout_s=settings.breaker_reset_s,
        call_timeout_s=max(settings.dependency_timeout_s, 10.0),
        counts_as_failure=is_vector_outage,
    )
    await breaker.call(lambda: store.ensure(settings.embedding_dimension))
    app[VECTORS_KEY] = store
    app[VECTORS_BREAKER_KEY] = breaker

    async def probe() -> None:
        await breaker.call(lambda: store.count(None))

    app[HEALTH_KEY].add(DependencyCheck("qdrant", probe, required=True, breaker=breaker))
    worker_memory = EngineWorkerMemory(app[METRICS_KEY].prefix, store.engine_state)
    app[METRICS_KEY].registry.register(worker_memory)
    yield
    app[METRICS_KEY].registry.unregister(worker_memory)
    await store.close()


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[AIDB_SETTINGS_KEY]
    app[STORE_KEY] = DocumentStore(
        app[POOL_KEY],
        make_chunker(settings),
        settings.max_document_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        max_metadata_depth=settings.max_metadata_depth,
    )
    app[CACHE_KEY] = SearchCache(
        app[REDIS_KEY],
        settings.tokenizer_model,
        results_ttl_s=settings.results_cache_ttl_s,
        metrics=CacheMetrics(app[METRICS_KEY].prefix, app[METRICS_KEY].registry),
    )
    app[KEYWORD_STATS_KEY] = KeywordStats(app[POOL_KEY], settings.keyword_stats_refresh_s)
    app[SEARCH_KEY] = SearchService(
        app[VECTORS_KEY],
        app[VECTORS_BREAKER_KEY],
        RemoteEmbedder(EmbeddingsClient(app[EMBEDDINGS_CLIENT_KEY])),
        Bm25Encoder(),
        app[CACHE_KEY],
        functools.partial(_metadata_of, app[POOL_KEY]),
        tuple(settings.grouped_collections),
        await _load_reranker(settings),
        settings.rerank_depth,
        KeywordIdf(app[POOL_KEY], app[KEYWORD_STATS_KEY]),
    )
    yield


async def _load_reranker(settings: AidbSettings) -> Reranker | None:
    """The configured cross-encoder, loaded off the event loop (None: reranking is off)."""
    if settings.rerank_model_path is None:
        return None
    path = settings.rerank_model_path
    if not path.is_dir():
        raise RuntimeError(f"AI_STACK_AIDB_RERANK_MODEL_PATH {path} is not a model directory")
    return await asyncio.to_thread(CrossEncoderReranker, path)


async def _metadata_of(pool: GuardedPool, document_ids: list[uuid.UUID]) -> dict[str, Any]:
    return await pool.run(lambda c: repo.metadata_of(c, document_ids))


async def _background_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[AIDB_SETTINGS_KEY]
    embedder = RemoteEmbedder(
        EmbeddingsClient(app[EMBEDDINGS_CLIENT_KEY]), bulk=True, timeout_s=settings.index_embed_timeout_s
    )
    indexer = Indexer(
        app[POOL_KEY],
        app[VECTORS_KEY],
        embedder.embed,
        Bm25Encoder(),
        batch=settings.indexer_batch,
        idle_s=settings.indexer_idle_s,
        max_backoff_s=settings.indexer_max_backoff_s,
        on_indexed=app[CACHE_KEY].invalidate,
        concurrency=settings.indexer_concurrency,
        indexed_text=IndexedText(
            TokenCounter.for_model(settings.tokenizer_model) if settings.contextual_headers else None,
            settings.chunk_max_tokens,
        ),
        keyword_stats=app[KEYWORD_STATS_KEY],
    )
    backlog = BacklogMetrics(app[METRICS_KEY].prefix, app[METRICS_KEY].registry)
    tasks = [
        asyncio.create_task(indexer.run(), name="aidb-indexer"),
        asyncio.create_task(
            backlog.run(app[POOL_KEY], settings.backlog_metrics_interval_s), name="aidb-backlog-metrics"
        ),
        asyncio.create_task(_purge_loop(app[POOL_KEY], settings.purge_interval_s), name="aidb-purge"),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _purge_loop(pool: GuardedPool, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            purged = await purge_expired(pool)
            if purged:
                log.info("expired_documents_purged", count=purged)
        except Exception as exc:  # try again next interval
            log.warning("purge_failed", error=f"{type(exc).__name__}: {exc}")
