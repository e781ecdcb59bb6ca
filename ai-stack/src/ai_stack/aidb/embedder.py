"""Vectors from the embeddings service (through the core ServiceClient: pooled, traced, breaker)."""

from __future__ import annotations

from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.core.http_client import ServiceClient

BATCH = 64


class EmbeddingsUnavailable(Exception):
    """The embeddings service did not answer with vectors."""


class RemoteEmbedder:
    """Embeds texts with `/embed` (normalised, truncated to the model's length)."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            body = {"inputs": texts[start : start + BATCH], "normalize": True, "truncate": True}
            try:
                status, answer = await self._client.request_json("POST", "/embed", json=body)
            except ServiceUnavailableError as exc:
                raise EmbeddingsUnavailable(exc.message) from exc
            if status != 200 or not isinstance(answer, list):
                raise EmbeddingsUnavailable(f"embeddings answered {status}")
            vectors.extend(answer)
        return vectors
