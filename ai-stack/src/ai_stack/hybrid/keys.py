"""Typed application keys of hybrid-coordinator."""

from __future__ import annotations

from aiohttp import web

from ai_stack.core.http_client import ServiceClient
from ai_stack.core.redis import GuardedRedis
from ai_stack.hybrid.augment import Augmenter
from ai_stack.hybrid.memories import MemoryStore
from ai_stack.hybrid.sessions import SessionStore
from ai_stack.hybrid.settings import HybridSettings

HYBRID_SETTINGS_KEY = web.AppKey("hybrid_settings", HybridSettings)
AIDB_HTTP_KEY = web.AppKey("aidb_http", ServiceClient)
MEMORIES_KEY = web.AppKey("memories", MemoryStore)
AUGMENTER_KEY = web.AppKey("augmenter", Augmenter)
REDIS_KEY = web.AppKey("redis", GuardedRedis)
SESSIONS_KEY = web.AppKey("sessions", SessionStore)
