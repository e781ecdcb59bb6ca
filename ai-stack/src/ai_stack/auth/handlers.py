"""The auth_request endpoint: 204 for a valid key, 401 otherwise (nginx renders the envelope)."""

from __future__ import annotations

from aiohttp import web

from ai_stack.auth.apikeys import presented_key
from ai_stack.auth.keys import VERIFIER_KEY
from ai_stack.core.errors import UnauthorizedError


async def verify(request: web.Request) -> web.Response:
    """nginx sends the client's headers here before proxying any request."""
    key = presented_key(request.headers.get("Authorization"), request.headers.get("X-API-Key"))
    if key is None:
        raise UnauthorizedError("an API key is required (Authorization: Bearer or X-API-Key)")
    if not request.app[VERIFIER_KEY].verify(key):
        raise UnauthorizedError("the API key is not valid", code="invalid_api_key")
    return web.Response(status=204)
