"""HTTP handlers of hybrid-coordinator: parse, call the memory store or the augmenter, serialise."""

from __future__ import annotations

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
from ai_stack.hybrid.keys import AUGMENTER_KEY, HYBRID_SETTINGS_KEY, MEMORIES_KEY
from ai_stack.hybrid.schemas import AugmentIn, MemoryIn, MemoryListQuery, MemoryReplacement, MemorySearchIn


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
