"""Typed application keys of aidb."""

from __future__ import annotations

from aiohttp import web

from ai_stack.aidb.cache import SearchCache
from ai_stack.aidb.keyword_stats import KeywordStats
from ai_stack.aidb.search import SearchService
from ai_stack.aidb.settings import AidbSettings
from ai_stack.aidb.store import DocumentStore
from ai_stack.aidb.vectors.base import VectorStore
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.http_client import ServiceClient
from ai_stack.core.limits import Quota
from ai_stack.core.postgres import GuardedPool
from ai_stack.core.redis import GuardedRedis

AIDB_SETTINGS_KEY = web.AppKey("aidb_settings", AidbSettings)
POOL_KEY = web.AppKey("pool", GuardedPool)
STORE_KEY = web.AppKey("store", DocumentStore)
EMBEDDINGS_CLIENT_KEY = web.AppKey("embeddings_client", ServiceClient)
VECTORS_KEY = web.AppKey("vectors", VectorStore)
VECTORS_BREAKER_KEY = web.AppKey("vectors_breaker", CircuitBreaker)
SEARCH_KEY = web.AppKey("search", SearchService)
KEYWORD_STATS_KEY = web.AppKey("keyword_stats", KeywordStats)
REDIS_KEY = web.AppKey("redis", GuardedRedis)
CACHE_KEY = web.AppKey("search_cache", SearchCache)
WRITE_QUOTA_KEY = web.AppKey("write_quota", Quota)
