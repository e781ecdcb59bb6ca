"""The async hybrid-coordinator client: memories, context, interactions and outcomes as typed calls."""

from __future__ import annotations

import uuid

from ai_stack.clients.base import TypedClient
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


class HybridClient(TypedClient):
    """hybrid-coordinator's API as typed calls: outages raise ServiceUnavailableError."""

    service = "hybrid"

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
