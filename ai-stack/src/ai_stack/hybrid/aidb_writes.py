"""Writing to an aidb collection that may not exist yet (created on first use)."""

from __future__ import annotations

import uuid

from ai_stack.aidb.schemas import CollectionIn, DocumentIn
from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.errors import Conflict, NotFound
from ai_stack.core.principal import acting_as_stack


async def upsert_creating(aidb: AidbClient, document: DocumentIn, description: str) -> uuid.UUID:
    """Upserts `document`, creating its collection first when aidb says it is unknown."""
    try:
        return (await aidb.upsert(document)).id
    except NotFound as exc:
        if exc.code != "unknown_collection":
            raise
    try:
        with acting_as_stack():  # the service's own collection, whatever the caller's scopes
            await aidb.create_collection(CollectionIn(name=document.collection, description=description))
    except Conflict:
        pass  # a concurrent writer created it
    return (await aidb.upsert(document)).id
