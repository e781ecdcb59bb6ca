"""Interactions and their outcomes, stored through aidb (the durable record the learning loop and
the usefulness counters derive from)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ai_stack.aidb.schemas import Document, DocumentIn
from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.errors import NotFound
from ai_stack.hybrid.aidb_writes import upsert_creating
from ai_stack.hybrid.outcomes import contribution
from ai_stack.hybrid.schemas import InteractionIn, OutcomeIn


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def interaction_text(query: str, response: str) -> str:
    """The document content: searchable as a question and its answer."""
    return f"Question: {query}\n\nAnswer: {response}"


def is_interaction(meta: dict[str, Any]) -> bool:
    return "agent_type" in meta and "context_ids" in meta and "recorded_at" in meta


@dataclass
class InteractionStore:
    aidb: AidbClient
    collection: str
    clock: Callable[[], dt.datetime] = field(default=_now)

    async def record(self, interaction: InteractionIn) -> uuid.UUID:
        meta = {
            "agent_type": interaction.agent_type,
            "model": interaction.model,
            "context_ids": list(dict.fromkeys(interaction.context_ids)),
            "tokens_used": interaction.tokens_used,
            "latency_ms": interaction.latency_ms,
            "recorded_at": self.clock().isoformat(),
            "outcome": None,
            "feedback": None,
            "note": "",
            "value": None,
        }
        document = DocumentIn(
            collection=self.collection,
            project=interaction.project,
            path=f"interaction/{uuid.uuid4()}",
            title=interaction.query[:200],
            content_type="text/plain",
            content=interaction_text(interaction.query, interaction.response),
            metadata=meta,
        )
        return await self._put(document)

    async def get(self, interaction_id: uuid.UUID) -> Document:
        document = await self.aidb.get(interaction_id)
        if document.collection != self.collection or not is_interaction(document.metadata):
            raise NotFound(f"no interaction {interaction_id}", status=404, code="not_found")
        return document

    async def set_outcome(self, document: Document, outcome: OutcomeIn) -> float:
        """Stores the outcome on the interaction; returns its value score."""
        value = contribution(outcome.outcome, outcome.feedback)
        meta = {
            **document.metadata,
            "outcome": outcome.outcome,
            "feedback": outcome.feedback,
            "note": outcome.note,
            "value": value,
            "outcome_at": self.clock().isoformat(),
        }
        await self._put(
            DocumentIn(
                collection=document.collection,
                project=document.project,
                path=document.path,
                title=document.title,
                content_type=document.content_type,
                content=document.content,
                metadata=meta,
            )
        )
        return value

    async def _put(self, document: DocumentIn) -> uuid.UUID:
        return await upsert_creating(self.aidb, document, "Agent interactions")
