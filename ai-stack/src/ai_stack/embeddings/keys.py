"""Typed application keys of the embeddings service."""

from __future__ import annotations

from aiohttp import web

from ai_stack.core.limits import Quota
from ai_stack.core.redis import GuardedRedis
from ai_stack.embeddings.loader import ModelState
from ai_stack.embeddings.metrics import EmbeddingsMetrics
from ai_stack.embeddings.settings import EmbeddingsSettings

EMBEDDINGS_SETTINGS_KEY = web.AppKey("embeddings_settings", EmbeddingsSettings)
MODEL_STATE_KEY = web.AppKey("model_state", ModelState)
REDIS_KEY = web.AppKey("redis", GuardedRedis)
EMBEDDINGS_METRICS_KEY = web.AppKey("embeddings_metrics", EmbeddingsMetrics)
QUOTA_KEY = web.AppKey("texts_quota", Quota)
