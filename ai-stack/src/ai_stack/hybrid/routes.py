"""Route table of hybrid-coordinator: registers each handler and documents it."""

from __future__ import annotations

from ai_stack.core.openapi import Route
from ai_stack.hybrid import handlers
from ai_stack.hybrid.schemas import (
    Augmented,
    AugmentIn,
    Deleted,
    Memory,
    MemoryIn,
    MemoryListQuery,
    MemoryPage,
    MemoryReplacement,
    MemoryResults,
    MemorySearchIn,
    MemoryWritten,
    MultiTurnAnswer,
    MultiTurnIn,
    Session,
)

ROUTES = (
    Route(
        "POST",
        "/memories",
        handlers.remember,
        "Remember: 201 created or superseded, 200 when it was a duplicate or merged into a near-duplicate.",
        MemoryIn,
        MemoryWritten,
        (404, 413, 422),
        ok=(200, 201),
    ),
    Route(
        "GET",
        "/memories",
        handlers.list_memories,
        "Memories, newest first (project, kind, tag, include_history, cursor).",
        response=MemoryPage,
        errors=(422,),
        query=MemoryListQuery,
    ),
    Route(
        "POST",
        "/memories/search",
        handlers.search_memories,
        "Hybrid search over current memories (or those current as_of a time, or with history).",
        MemorySearchIn,
        MemoryResults,
        (413, 422),
    ),
    Route(
        "GET",
        "/memories/{id}",
        handlers.get_memory,
        "One memory with its history fields.",
        None,
        Memory,
        (404,),
    ),
    Route(
        "PUT",
        "/memories/{id}",
        handlers.replace,
        "A new version of a memory; the old one's validity window closes.",
        MemoryReplacement,
        MemoryWritten,
        (404, 413, 422),
        ok=(200, 201),
    ),
    Route("DELETE", "/memories/{id}", handlers.delete_memory, "Forget a memory.", None, Deleted, (404,)),
    Route(
        "POST",
        "/augment_query",
        handlers.augment_query,
        "Budgeted, cited context for a question, with local/remote routing advice.",
        AugmentIn,
        Augmented,
        (413, 422),
    ),
    Route(
        "POST",
        "/context/multi_turn",
        handlers.multi_turn,
        "One turn of a conversation: context not given earlier in the session (Redis).",
        MultiTurnIn,
        MultiTurnAnswer,
        (404, 409, 413, 422),
    ),
    Route("GET", "/session/{id}", handlers.get_session, "A session's turns.", None, Session, (404,)),
    Route("DELETE", "/session/{id}", handlers.delete_session, "End a session.", None, Deleted, (404,)),
)
