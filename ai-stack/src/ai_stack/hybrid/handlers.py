"""HTTP handlers of hybrid-coordinator: parse, call the memory store or the augmenter, serialise."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from contextlib import AbstractContextManager

from aiohttp import web

from ai_stack.aidb.schemas import Document
from ai_stack.clients.refusals import refusals_as_errors
from ai_stack.core.access import principal_of
from ai_stack.core.errors import (
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationFailedError,
)
from ai_stack.core.requests import model_response, read_model, read_query
from ai_stack.hybrid.export import export_lines
from ai_stack.hybrid.keys import (
    AUGMENTER_KEY,
    HYBRID_SETTINGS_KEY,
    INTERACTIONS_KEY,
    LEARNER_KEY,
    MEMORIES_KEY,
    SESSIONS_KEY,
    STATS_KEY,
    USEFULNESS_KEY,
)
from ai_stack.hybrid.schemas import (
    AugmentIn,
    Deleted,
    ExportIn,
    InteractionIn,
    InteractionRecorded,
    LearningStats,
    MemoryIn,
    MemoryListQuery,
    MemoryReplacement,
    MemorySearchIn,
    MemoryWritten,
    MultiTurnAnswer,
    MultiTurnIn,
    OutcomeIn,
    OutcomeRecorded,
    Session,
)
from ai_stack.hybrid.sessions import SessionStore, given_ids, new_session, with_turn


def aidb_refusals() -> AbstractContextManager[None]:
    """aidb's refusal of what this request carried, as this service's own error (same status)."""
    return refusals_as_errors("aidb")


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
    caller = principal_of(request).key_id
    session = await _session(store, body.session_id, caller) if body.session_id else new_session(now)
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
    await store.save(session, caller)
    turn = MultiTurnAnswer(
        **answer.model_dump(), session_id=session.session_id, turn_number=len(session.turns)
    )
    return model_response(turn)


async def get_session(request: web.Request) -> web.Response:
    store = request.app[SESSIONS_KEY]
    session = await _session(store, request.match_info["id"], principal_of(request).key_id)
    expires = await store.expires_in(session.session_id)
    return model_response(session.model_copy(update={"expires_in_s": expires}))


async def delete_session(request: web.Request) -> web.Response:
    session_id = request.match_info["id"]
    store = request.app[SESSIONS_KEY]
    await _session(store, session_id, principal_of(request).key_id)  # another key's is not there
    if not await store.delete(session_id):
        raise NotFoundError(f"no session {session_id!r} (unknown or expired)")
    return model_response(Deleted(deleted=1))


_SESSION_ID = re.compile(r"[0-9a-f]{32}")


async def _session(store: SessionStore, session_id: str, reader: str | None) -> Session:
    session = await store.load(session_id, reader) if _SESSION_ID.fullmatch(session_id) else None
    if session is None:
        raise NotFoundError(f"no session {session_id!r} (unknown or expired)")
    return session


async def record_interaction(request: web.Request) -> web.Response:
    """Stores an interaction (through aidb); its outcome comes later."""
    body = await read_model(request, InteractionIn)
    with aidb_refusals():
        interaction_id = await request.app[INTERACTIONS_KEY].record(body)
    await request.app[STATS_KEY].count(interactions=1)
    return model_response(InteractionRecorded(id=interaction_id), status=201)


async def record_outcome(request: web.Request) -> web.Response:
    """Stores the outcome, then sets its value on every context item used (idempotent: a retry or a
    changed verdict replaces the earlier value)."""
    try:
        interaction_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise NotFoundError(f"no interaction {request.match_info['id']!r}") from None
    body = await read_model(request, OutcomeIn)
    store = request.app[INTERACTIONS_KEY]
    with aidb_refusals():
        document = await store.get(interaction_id)
        value = await store.set_outcome(document, body)
    items = list(document.metadata.get("context_ids", []))
    await request.app[USEFULNESS_KEY].record(str(interaction_id), items, value)
    learned = await _learn(request, document, body.outcome, value)
    recorded = OutcomeRecorded(
        id=interaction_id, outcome=body.outcome, value=value, items_updated=len(items), learned=learned
    )
    return model_response(recorded)


async def _learn(request: web.Request, document: Document, outcome: str, value: float) -> list[MemoryWritten]:
    """Counts the outcome and learns from it once: a verdict recorded again is not learned twice."""
    learner, stats = request.app[LEARNER_KEY], request.app[STATS_KEY]
    previous = document.metadata.get("outcome")
    changes = {f"outcome:{outcome}": 1} | ({f"outcome:{previous}": -1} if previous else {})
    if previous != outcome:
        await stats.count(**changes)
    if not learner.worth_learning(outcome, value) or learner.worth_learning(
        previous, document.metadata.get("value")
    ):
        return []
    with aidb_refusals():
        written, method = await learner.learn(document)
    await stats.count(**{f"learned:{written.outcome}": 1, f"extraction:{method}": 1})
    return [written]


async def learning_stats(request: web.Request) -> web.Response:
    counters = await request.app[STATS_KEY].read()

    def group(prefix: str) -> dict[str, int]:
        return {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith(prefix + ":") and v}

    outcomes = group("outcome")
    judged = sum(outcomes.values())
    stats = LearningStats(
        interactions=counters.get("interactions", 0),
        outcomes=outcomes,
        learned=group("learned"),
        extraction=group("extraction"),
        success_rate=round(outcomes.get("success", 0) / judged, 4) if judged else None,
    )
    return model_response(stats)


async def learning_export(request: web.Request) -> web.StreamResponse:
    """Streams JSONL; an aidb outage before the first line is a 503, after it the stream ends early."""
    body = await read_model(request, ExportIn)
    threshold = body.min_value if body.min_value is not None else request.app[LEARNER_KEY].value_threshold
    lines = export_lines(request.app[INTERACTIONS_KEY], body, threshold)
    with aidb_refusals():
        first = await anext(lines, None)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    if first is not None:
        await response.write(first)
        async for line in lines:
            await response.write(line)
    await response.write_eof()
    return response
