"""The auth_request endpoint: 204 and the key's grants for a valid key, 401 otherwise."""

from __future__ import annotations

from aiohttp import web

from ai_stack.auth.apikeys import presented_key
from ai_stack.auth.keys import VERIFIER_KEY
from ai_stack.core.errors import UnauthorizedError
from ai_stack.core.principal import grant_headers


async def verify(request: web.Request) -> web.Response:
    """nginx sends the client's key headers here before proxying any request, and copies the
    grant headers of the answer (auth_request_set) into the request it proxies."""
    key = presented_key(request.headers.get("Authorization"), request.headers.get("X-API-Key"))
    if key is None:
        raise UnauthorizedError("an API key is required (Authorization: Bearer or X-API-Key)")
    grant = request.app[VERIFIER_KEY].verify(key)
    if grant is None:
        raise UnauthorizedError("the API key is not valid", code="invalid_api_key")
    headers = grant_headers(grant.key_id, grant.scopes, grant.projects, grant.limits)
    return web.Response(status=204, headers=headers)
