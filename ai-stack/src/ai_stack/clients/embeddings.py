"""The async embeddings client: `/embed` and `/info` as typed calls over a ServiceClient."""

from __future__ import annotations

from typing import Literal

from ai_stack.clients.errors import decode
from ai_stack.core.http_client import ServiceClient
from ai_stack.embeddings.schemas import EmbedRequest, EmbedResponse, ModelInfo

SERVICE = "embeddings"
__all__ = ["EmbeddingsClient", "ModelInfo"]


class EmbeddingsClient:
    """The embeddings service's API as typed calls.

    Interactive calls keep the ServiceClient's short timeout; `bulk` work (an indexer's backlog)
    is batched after every waiting query, so it passes a `timeout_s` sized for that wait.
    """

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

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
        status, answer = await self._http.request_json(
            "POST", "/embed", json=body.model_dump(mode="json"), timeout_s=timeout_s
        )
        return decode(SERVICE, status, answer, EmbedResponse).root

    async def info(self) -> ModelInfo:
        """The served model, its dimension and the request limits."""
        status, answer = await self._http.request_json("GET", "/info")
        return decode(SERVICE, status, answer, ModelInfo)
