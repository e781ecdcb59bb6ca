"""Typed application keys of hybrid-coordinator."""

from __future__ import annotations

from aiohttp import web

from ai_stack.core.http_client import ServiceClient
from ai_stack.core.redis import GuardedRedis
from ai_stack.hybrid.augment import Augmenter
from ai_stack.hybrid.interactions import InteractionStore
from ai_stack.hybrid.learning import Learner, LearningStats
from ai_stack.hybrid.memories import MemoryStore
from ai_stack.hybrid.sessions import SessionStore
from ai_stack.hybrid.settings import HybridSettings
from ai_stack.hybrid.usefulness import UsefulnessStore

HYBRID_SETTINGS_KEY = web.AppKey("hybrid_settings", HybridSettings)
AIDB_HTTP_KEY = web.AppKey("aidb_http", ServiceClient)
MEMORIES_KEY = web.AppKey("memories", MemoryStore)
AUGMENTER_KEY = web.AppKey("augmenter", Augmenter)
REDIS_KEY = web.AppKey("redis", GuardedRedis)
SESSIONS_KEY = web.AppKey("sessions", SessionStore)
INTERACTIONS_KEY = web.AppKey("interactions", InteractionStore)
USEFULNESS_KEY = web.AppKey("usefulness", UsefulnessStore)
LEARNER_KEY = web.AppKey("learner", Learner)
STATS_KEY = web.AppKey("learning_stats", LearningStats)
CHAT_HTTP_KEY = web.AppKey("chat_http", ServiceClient)
