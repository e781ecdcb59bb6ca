"""Route table of the key verifier."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ai_stack.auth import handlers
from ai_stack.core.openapi import Route


class KeyHeaders(BaseModel):
    """Where a client may present its key (nginx forwards the client's headers)."""

    authorization: str | None = Field(None, alias="Authorization", description="`Bearer <key>`.")
    x_api_key: str | None = Field(None, alias="X-API-Key")


ROUTES = (
    Route(
        "GET",
        "/verify",
        handlers.verify,
        "204 with the key's id, scopes and projects (X-AI-Key-Id, X-AI-Scopes, X-AI-Projects) when"
        " the request carries an active API key (Authorization: Bearer or X-API-Key).",
        errors=(401,),
        ok=(204,),
        headers=KeyHeaders,
    ),
)
