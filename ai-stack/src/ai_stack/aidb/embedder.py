"""Vectors from the embeddings service (through the core ServiceClient: pooled, traced, breaker)."""

from __future__ import annotations

from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.core.http_client import ServiceClient

BATCH = 64


class EmbeddingsUnavailable(Exception):
    """The embeddings service did not answer with vectors."""


class RemoteEmbedder:
    """Embeds texts with `/embed` (normalised, truncated to the model's length).

    A search's query is interactive and gets the client's short dependency timeout (search falls
    back to keyword results). The indexer's chunks are `bulk`: the embeddings service batches them
    after every waiting query, so they may queue behind other bulk work, and `timeout_s` is sized
    for that wait rather than for one query.
    """

    def __init__(self, client: ServiceClient, *, bulk: bool = False, timeout_s: float | None = None) -> None:
        self._client = client
        self._priority = "bulk" if bulk else "interactive"
        self._timeout_s = timeout_s

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            body = {
                "inputs": texts[start : start + BATCH],
                "normalize": True,
                "truncate": True,
                "priority": self._priority,
            }
            try:
                status, answer = await self._client.request_json(
                    "POST", "/embed", json=body, timeout_s=self._timeout_s
                )
            except ServiceUnavailableError as exc:
                raise EmbeddingsUnavailable(exc.message) from exc
            if status != 200 or not isinstance(answer, list):
                raise EmbeddingsUnavailable(f"embeddings answered {status}")
            vectors.extend(answer)
        return vectors
