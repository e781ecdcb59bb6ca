"""App factory of hybrid-coordinator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from ai_stack.clients.aidb import AidbClient
from ai_stack.core.app import create_service_app
from ai_stack.core.http_client import service_client_context
from ai_stack.core.keys import API_KEY
from ai_stack.core.openapi import add_routes
from ai_stack.core.redis import redis_context
from ai_stack.hybrid.augment import Augmenter, AugmentPolicy
from ai_stack.hybrid.chat import ChatClient
from ai_stack.hybrid.interactions import InteractionStore
from ai_stack.hybrid.keys import (
    AIDB_HTTP_KEY,
    AUGMENTER_KEY,
    CHAT_HTTP_KEY,
    HYBRID_SETTINGS_KEY,
    INTERACTIONS_KEY,
    LEARNER_KEY,
    MEMORIES_KEY,
    REDIS_KEY,
    SESSIONS_KEY,
    STATS_KEY,
    USEFULNESS_KEY,
)
from ai_stack.hybrid.learning import Learner, LearningStats
from ai_stack.hybrid.memories import DedupPolicy, MemoryStore
from ai_stack.hybrid.routes import ROUTES
from ai_stack.hybrid.routing import RoutingThresholds
from ai_stack.hybrid.sessions import SessionStore
from ai_stack.hybrid.settings import HybridSettings
from ai_stack.hybrid.usefulness import UsefulnessStore
from ai_stack.text.tokenizer import TokenCounter

SERVICE = "hybrid"


def create_app(
    settings: HybridSettings,
    *,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
) -> web.Application:
    """The hybrid-coordinator app."""
    app = create_service_app(SERVICE, settings, registry=registry, tracer_provider=tracer_provider)
    app[HYBRID_SETTINGS_KEY] = settings
    # aidb is optional for readiness: without it augment still answers (degraded, no context).
    app.cleanup_ctx.append(
        service_client_context(
            AIDB_HTTP_KEY, "aidb", settings.aidb_url, required=False, forward_identity=True
        )
    )
    # Redis holds sessions only: without it they answer 503 and everything else works.
    app.cleanup_ctx.append(redis_context(REDIS_KEY, required=False))
    if settings.chat_url:
        # Optional: without it, or while it is down, extraction is deterministic.
        app.cleanup_ctx.append(
            service_client_context(CHAT_HTTP_KEY, "chat", settings.chat_url, required=False, in_stack=False)
        )
    app.cleanup_ctx.append(_components_context)
    add_routes(app, ROUTES, app[API_KEY])
    return app


async def _components_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[HYBRID_SETTINGS_KEY]
    aidb = AidbClient(app[AIDB_HTTP_KEY])
    dedup = DedupPolicy(
        merge_similarity=settings.near_duplicate_similarity,
        supersede_similarity=settings.supersede_similarity,
        supersede_kinds=frozenset(settings.auto_supersede_kinds),
    )
    app[MEMORIES_KEY] = MemoryStore(aidb, settings.memory_collection, dedup)
    counter = await asyncio.to_thread(TokenCounter.for_model, settings.tokenizer_model)
    policy = AugmentPolicy(
        memory_collection=settings.memory_collection,
        default_sources=tuple(settings.default_sources),
        shared_collections=tuple(settings.shared_collections),
        per_source_limit=settings.per_source_limit,
        min_relevance=settings.min_relevance,
        default_budget=settings.default_token_budget,
        thresholds=RoutingThresholds(
            strong_score=settings.routing_strong_score,
            support_score=settings.routing_support_score,
            min_items=settings.routing_min_items,
        ),
    )
    app[USEFULNESS_KEY] = UsefulnessStore(app[REDIS_KEY])
    app[INTERACTIONS_KEY] = InteractionStore(aidb, settings.interaction_collection)
    # The prompt counts special tokens too, as the model will see it.
    app[AUGMENTER_KEY] = Augmenter(
        aidb, lambda text: counter.count_many([text])[0], policy, app[USEFULNESS_KEY]
    )
    app[SESSIONS_KEY] = SessionStore(app[REDIS_KEY], settings.session_ttl_s)
    app[STATS_KEY] = LearningStats(app[REDIS_KEY])
    chat = (
        ChatClient(
            app[CHAT_HTTP_KEY],
            settings.chat_model,
            max_tokens=settings.chat_max_tokens,
            timeout_s=settings.chat_timeout_s,
        )
        if CHAT_HTTP_KEY in app
        else None
    )
    app[LEARNER_KEY] = Learner(
        app[MEMORIES_KEY],
        chat,
        settings.learning_value_threshold,
        settings.learning_chat_attempts,
        settings.max_memory_chars,
    )
    yield
