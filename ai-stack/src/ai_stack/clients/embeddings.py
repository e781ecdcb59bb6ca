"""The async embeddings client: `/embed` and `/info` as typed calls over a ServiceClient."""

from __future__ import annotations

from typing import Literal

from ai_stack.clients.base import TypedClient
from ai_stack.embeddings.schemas import EmbedRequest, EmbedResponse, ModelInfo

__all__ = ["EmbeddingsClient", "ModelInfo"]


class EmbeddingsClient(TypedClient):
    """The embeddings service's API as typed calls.

    Interactive calls keep the ServiceClient's short timeout; `bulk` work (an indexer's backlog)
    is batched after every waiting query, so it passes a `timeout_s` sized for that wait.
    """

    service = "embeddings"

    async def embed(
        self,
        texts: list[str],
        *,
        priority: Literal["interactive", "bulk"] = "interactive",
        normalize: bool = True,
        truncate: bool = True,
        timeout_s: float | None = None,
    ) -> list[list[float]]:
        """One vector per text, in order."""
        body = EmbedRequest(inputs=texts, normalize=normalize, truncate=truncate, priority=priority)
        return (await self._call("POST", "/embed", EmbedResponse, body, timeout_s=timeout_s)).root

    async def info(self) -> ModelInfo:
        """The served model, its dimension and the request limits."""
        return await self._call("GET", "/info", ModelInfo)
