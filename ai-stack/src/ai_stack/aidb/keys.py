"""Typed application keys of aidb."""

from __future__ import annotations

from aiohttp import web

from ai_stack.aidb.settings import AidbSettings
from ai_stack.aidb.store import DocumentStore
from ai_stack.core.postgres import GuardedPool

AIDB_SETTINGS_KEY = web.AppKey("aidb_settings", AidbSettings)
POOL_KEY = web.AppKey("pool", GuardedPool)
STORE_KEY = web.AppKey("store", DocumentStore)
