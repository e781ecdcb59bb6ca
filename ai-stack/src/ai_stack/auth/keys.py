"""Typed application keys of the key verifier."""

from __future__ import annotations

from aiohttp import web

from ai_stack.auth.verifier import KeyVerifier

VERIFIER_KEY = web.AppKey("verifier", KeyVerifier)
