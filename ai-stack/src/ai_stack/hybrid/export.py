"""Streaming export of successful, high-value interactions as OpenAI chat-format JSONL: read
page by page from aidb and written line by line, never gathered in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson

from ai_stack.aidb.schemas import ListQuery
from ai_stack.hybrid.interactions import InteractionStore, is_interaction
from ai_stack.hybrid.learning import split_interaction
from ai_stack.hybrid.schemas import ExportIn

PAGE = 100


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def selected(meta: dict[str, Any], request: ExportIn, min_value: float) -> bool:
    """A successful interaction of at least `min_value`, recorded within [since, until)."""
    if not is_interaction(meta) or meta.get("outcome") != "success" or (meta.get("value") or 0) < min_value:
        return False
    recorded = dt.datetime.fromisoformat(meta["recorded_at"])
    since, until = _utc(request.since), _utc(request.until)
    return (since is None or recorded >= since) and (until is None or recorded < until)


def chat_line(query: str, response: str) -> bytes:
    """One training example: the question and the answer that worked."""
    messages = [{"role": "user", "content": query}, {"role": "assistant", "content": response}]
    return orjson.dumps({"messages": messages}) + b"\n"


async def export_lines(store: InteractionStore, request: ExportIn, min_value: float) -> AsyncIterator[bytes]:
    """The JSONL lines, newest first."""
    cursor: str | None = None
    while True:
        page = await store.aidb.list(
            ListQuery(collection=store.collection, project=request.project, limit=PAGE, cursor=cursor)
        )
        for summary in page.documents:
            if selected(summary.metadata, request, min_value):
                document = await store.aidb.get(summary.id)
                yield chat_line(*split_interaction(document.content))
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
