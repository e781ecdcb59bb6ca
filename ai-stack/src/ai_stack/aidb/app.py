"""App factory of aidb."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from ai_stack.aidb.chunking import Chunk, ChunkingOptions, chunk_text
from ai_stack.aidb.keys import AIDB_SETTINGS_KEY, POOL_KEY, STORE_KEY
from ai_stack.aidb.routes import OPERATIONS, add_routes
from ai_stack.aidb.settings import AidbSettings
from ai_stack.aidb.store import DocumentStore
from ai_stack.aidb.tokens import TokenCounter
from ai_stack.core.app import create_service_app
from ai_stack.core.keys import API_KEY
from ai_stack.core.postgres import postgres_context

SERVICE = "aidb"
MARKDOWN_TYPES = {"text/markdown", "text/x-markdown", "text/html"}


def create_app(
    settings: AidbSettings,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> web.Application:
    """The aidb app."""
    app = create_service_app(SERVICE, settings, registry=registry, tracer_provider=tracer_provider)
    app[AIDB_SETTINGS_KEY] = settings
    app[API_KEY].operations.extend(OPERATIONS)
    app.cleanup_ctx.append(postgres_context(POOL_KEY, settings.postgres_dsn, "ai_stack.aidb.migrations"))
    app.cleanup_ctx.append(_store_context)
    add_routes(app)
    return app


def make_chunker(settings: AidbSettings) -> Callable[[str, str], list[Chunk]]:
    """Chunks with the embedding model's tokenizer; Markdown rules for Markdown content."""
    count = TokenCounter.for_model(settings.tokenizer_model)
    markdown = ChunkingOptions(settings.chunk_max_tokens, settings.chunk_overlap_tokens, markdown=True)
    plain = ChunkingOptions(settings.chunk_max_tokens, settings.chunk_overlap_tokens, markdown=False)

    def chunk(content: str, content_type: str) -> list[Chunk]:
        return chunk_text(content, count, markdown if content_type in MARKDOWN_TYPES else plain)

    return chunk


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[AIDB_SETTINGS_KEY]
    app[STORE_KEY] = DocumentStore(app[POOL_KEY], make_chunker(settings), settings.max_document_bytes)
    yield
