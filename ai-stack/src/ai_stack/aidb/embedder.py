"""Vectors from the embeddings service, through its typed client."""

from __future__ import annotations

from ai_stack.clients.embeddings import EmbeddingsClient
from ai_stack.clients.errors import ClientError
from ai_stack.core.errors import ServiceUnavailableError

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

    def __init__(
        self, client: EmbeddingsClient, *, bulk: bool = False, timeout_s: float | None = None
    ) -> None:
        self._client = client
        self._bulk = bulk
        self._timeout_s = timeout_s

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            try:
                vectors += await self._client.embed(
                    texts[start : start + BATCH],
                    priority="bulk" if self._bulk else "interactive",
                    timeout_s=self._timeout_s,
                )
            except (ServiceUnavailableError, ClientError) as exc:
                raise EmbeddingsUnavailable(exc.message) from exc
        return vectors
