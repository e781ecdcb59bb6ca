"""The async hybrid-coordinator client: memories, context, interactions and outcomes as typed calls."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel

from ai_stack.clients.errors import decode
from ai_stack.core.http_client import ServiceClient
from ai_stack.hybrid.schemas import (
    Augmented,
    AugmentIn,
    Deleted,
    InteractionIn,
    InteractionRecorded,
    LearningStats,
    Memory,
    MemoryIn,
    MemoryResults,
    MemorySearchIn,
    MemoryWritten,
    OutcomeIn,
    OutcomeRecorded,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
SERVICE = "hybrid"


class HybridClient:
    """hybrid-coordinator's API as typed calls: outages raise ServiceUnavailableError."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        body: BaseModel | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> ModelT:
        payload: Any = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
        status, answer = await self._http.request_json(method, path, json=payload)
        return decode(SERVICE, status, answer, model, ok)

    async def remember(self, memory: MemoryIn) -> MemoryWritten:
        return await self._call("POST", "/memories", MemoryWritten, memory, ok=(200, 201))

    async def recall(self, query: MemorySearchIn) -> MemoryResults:
        return await self._call("POST", "/memories/search", MemoryResults, query)

    async def get(self, memory_id: uuid.UUID) -> Memory:
        return await self._call("GET", f"/memories/{memory_id}", Memory)

    async def forget(self, memory_id: uuid.UUID) -> Deleted:
        return await self._call("DELETE", f"/memories/{memory_id}", Deleted)

    async def augment(self, question: AugmentIn) -> Augmented:
        return await self._call("POST", "/augment_query", Augmented, question)

    async def record_interaction(self, interaction: InteractionIn) -> InteractionRecorded:
        return await self._call("POST", "/interactions", InteractionRecorded, interaction, ok=(201,))

    async def record_outcome(self, interaction_id: uuid.UUID, outcome: OutcomeIn) -> OutcomeRecorded:
        return await self._call("POST", f"/interactions/{interaction_id}/outcome", OutcomeRecorded, outcome)

    async def learning_stats(self) -> LearningStats:
        return await self._call("GET", "/learning/stats", LearningStats)
