"""Typed application keys of docs-search."""

from __future__ import annotations

from aiohttp import web

from ai_stack.core.http_client import ServiceClient
from ai_stack.core.redis import GuardedRedis
from ai_stack.docs_search.lookups import Lookups
from ai_stack.docs_search.registry import SourceRegistry
from ai_stack.docs_search.search import DocsSearcher
from ai_stack.docs_search.settings import DocsSettings
from ai_stack.docs_search.state import DocsState
from ai_stack.docs_search.sync import Syncer

DOCS_SETTINGS_KEY = web.AppKey("docs_settings", DocsSettings)
AIDB_HTTP_KEY = web.AppKey("aidb_http", ServiceClient)
REDIS_KEY = web.AppKey("redis", GuardedRedis)
STATE_KEY = web.AppKey("docs_state", DocsState)
REGISTRY_KEY = web.AppKey("source_registry", SourceRegistry)
SYNCER_KEY = web.AppKey("syncer", Syncer)
SEARCHER_KEY = web.AppKey("searcher", DocsSearcher)
LOOKUPS_KEY = web.AppKey("lookups", Lookups)
