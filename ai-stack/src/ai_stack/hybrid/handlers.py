"""HTTP handlers of hybrid-coordinator: parse, call the memory store or the augmenter, serialise."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from ai_stack.clients.errors import ClientError, Conflict, NotFound, RateLimited, Unauthorized
from ai_stack.core.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationFailedError,
)
from ai_stack.core.requests import model_response, read_model, read_query
from ai_stack.hybrid.keys import AUGMENTER_KEY, HYBRID_SETTINGS_KEY, MEMORIES_KEY, SESSIONS_KEY
from ai_stack.hybrid.schemas import (
    AugmentIn,
    Deleted,
    MemoryIn,
    MemoryListQuery,
    MemoryReplacement,
    MemorySearchIn,
    MultiTurnAnswer,
    MultiTurnIn,
    Session,
)
from ai_stack.hybrid.sessions import SessionStore, given_ids, new_session, with_turn


@contextmanager
def aidb_refusals() -> Iterator[None]:
    """aidb's refusal of what this request carried, as this service's own error (same status)."""
    try:
        yield
    except ClientError as exc:
        raise _translated(exc) from None


def _translated(exc: ClientError) -> ApiError:
    message = exc.message.split(": ", 1)[-1]
    if isinstance(exc, NotFound):
        return NotFoundError(message, code=exc.code or "not_found")
    if isinstance(exc, Conflict):
        return ConflictError(message, code=exc.code or "conflict")
    if isinstance(exc, RateLimited):
        return RateLimitedError(message)
    if isinstance(exc, Unauthorized) or exc.status is None or exc.status >= 500:
        return ServiceUnavailableError(f"aidb could not answer: {exc.message}")
    if exc.status == 413:
        return PayloadTooLargeError(message, code=exc.code or "payload_too_large")
    return ValidationFailedError(message, code=exc.code or "validation_error")


def _memory_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise NotFoundError(f"no memory {request.match_info['id']!r}") from None


def _check_length(text: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise PayloadTooLargeError(f"{what} has {len(text)} characters, at most {limit} are allowed")


async def remember(request: web.Request) -> web.Response:
    """201 for a new memory (or a new version), 200 when it was a duplicate or merged."""
    memory = await read_model(request, MemoryIn)
    _check_length(memory.content, request.app[HYBRID_SETTINGS_KEY].max_memory_chars, "content")
    with aidb_refusals():
        written = await request.app[MEMORIES_KEY].remember(memory)
    return model_response(written, status=201 if written.outcome in ("created", "superseded") else 200)


async def replace(request: web.Request) -> web.Response:
    """A new version of the memory; the old one stays as history."""
    memory_id = _memory_id(request)
    replacement = await read_model(request, MemoryReplacement)
    _check_length(replacement.content, request.app[HYBRID_SETTINGS_KEY].max_memory_chars, "content")
    with aidb_refusals():
        written = await request.app[MEMORIES_KEY].replace(memory_id, replacement)
    return model_response(written, status=201 if written.outcome == "superseded" else 200)


async def get_memory(request: web.Request) -> web.Response:
    memory_id = _memory_id(request)
    with aidb_refusals():
        return model_response(await request.app[MEMORIES_KEY].get(memory_id))


async def delete_memory(request: web.Request) -> web.Response:
    memory_id = _memory_id(request)
    with aidb_refusals():
        return model_response(await request.app[MEMORIES_KEY].delete(memory_id))


async def list_memories(request: web.Request) -> web.Response:
    query = read_query(request, MemoryListQuery)
    with aidb_refusals():
        return model_response(await request.app[MEMORIES_KEY].listing(query))


async def search_memories(request: web.Request) -> web.Response:
    body = await read_model(request, MemorySearchIn)
    _check_length(body.query, request.app[HYBRID_SETTINGS_KEY].max_query_chars, "query")
    with aidb_refusals():
        return model_response(await request.app[MEMORIES_KEY].search(body))


async def augment_query(request: web.Request) -> web.Response:
    """Budgeted, cited context for a question; degraded (never failed) without aidb."""
    body = await read_model(request, AugmentIn)
    settings = request.app[HYBRID_SETTINGS_KEY]
    _check_length(body.query, settings.max_query_chars, "query")
    if body.token_budget is not None and body.token_budget > settings.max_token_budget:
        raise ValidationFailedError(f"token_budget is at most {settings.max_token_budget}")
    return model_response(await request.app[AUGMENTER_KEY].augment(body))


LEVEL_BREADTH = {"standard": 1, "detailed": 2, "comprehensive": 3}


async def multi_turn(request: web.Request) -> web.Response:
    """One turn: context not given earlier in the session, and the session's id and turn number."""
    body = await read_model(request, MultiTurnIn)
    settings = request.app[HYBRID_SETTINGS_KEY]
    _check_length(body.query, settings.max_query_chars, "query")
    if body.max_tokens is not None and body.max_tokens > settings.max_token_budget:
        raise ValidationFailedError(f"max_tokens is at most {settings.max_token_budget}")
    store = request.app[SESSIONS_KEY]
    now = dt.datetime.now(dt.UTC)
    session = await _session(store, body.session_id) if body.session_id else new_session(now)
    if len(session.turns) >= settings.session_max_turns:
        raise ConflictError(
            f"session {session.session_id} has {len(session.turns)} turns, the most allowed; start a new one",
            code="session_full",
        )
    question = AugmentIn(
        query=body.query, project=body.project, sources=body.sources, token_budget=body.max_tokens
    )
    answer = await request.app[AUGMENTER_KEY].augment(
        question, exclude=given_ids(session), breadth=LEVEL_BREADTH[body.context_level]
    )
    session = with_turn(session, body.query, answer.context_ids, now)
    await store.save(session)
    turn = MultiTurnAnswer(
        **answer.model_dump(), session_id=session.session_id, turn_number=len(session.turns)
    )
    return model_response(turn)


async def get_session(request: web.Request) -> web.Response:
    store = request.app[SESSIONS_KEY]
    session = await _session(store, request.match_info["id"])
    expires = await store.expires_in(session.session_id)
    return model_response(session.model_copy(update={"expires_in_s": expires}))


async def delete_session(request: web.Request) -> web.Response:
    session_id = request.match_info["id"]
    if not _SESSION_ID.fullmatch(session_id) or not await request.app[SESSIONS_KEY].delete(session_id):
        raise NotFoundError(f"no session {session_id!r} (unknown or expired)")
    return model_response(Deleted(deleted=1))


_SESSION_ID = re.compile(r"[0-9a-f]{32}")


async def _session(store: SessionStore, session_id: str) -> Session:
    session = await store.load(session_id) if _SESSION_ID.fullmatch(session_id) else None
    if session is None:
        raise NotFoundError(f"no session {session_id!r} (unknown or expired)")
    return session
