"""Route table of the key verifier."""

from __future__ import annotations

from aiohttp import web

from ai_stack.auth import handlers
from ai_stack.core.openapi import Operation

OPERATIONS = (Operation("GET", "/verify", "204 when the request carries an active API key.", errors=(401,)),)


def add_routes(app: web.Application) -> None:
    """Registers the verifier's routes."""
    app.router.add_get("/verify", handlers.verify)
