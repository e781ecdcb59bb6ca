"""Whether the embeddings service serves the model aidb was configured for (pure check, and the
background task that runs it until the service answers)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from ai_stack.clients.embeddings import EmbeddingsClient, ModelInfo
from ai_stack.clients.errors import ClientError
from ai_stack.core.errors import ServiceUnavailableError

log = structlog.get_logger(__name__)


def mismatches(
    info: ModelInfo, dimension: int, tokenizer_sha256: str | None, tokenizer_model: str
) -> list[str]:
    """What differs between the served model and aidb's settings, each as a sentence."""
    problems = []
    if info.dimension != dimension:
        problems.append(
            f"embeddings serves {info.model} with {info.dimension}-d vectors, but aidb's index is "
            f"{dimension}-d (AI_STACK_AIDB_EMBEDDING_DIMENSION)"
        )
    if tokenizer_sha256 and info.tokenizer_sha256 and info.tokenizer_sha256 != tokenizer_sha256:
        problems.append(
            f"embeddings serves {info.model}, whose tokenizer differs from {tokenizer_model}, which aidb"
            " sizes chunks with (AI_STACK_AIDB_TOKENIZER_MODEL)"
        )
    return problems


@dataclass
class ModelCheck:
    """The outcome of comparing the served model with aidb's settings (None until compared)."""

    dimension: int
    tokenizer_model: str
    tokenizer_sha256: str | None
    problems: list[str] | None = field(default=None)

    async def compare(self, client: EmbeddingsClient) -> list[str]:
        """Asks the service once; raises ServiceUnavailableError or ClientError when it cannot."""
        info = await client.info()
        self.problems = mismatches(info, self.dimension, self.tokenizer_sha256, self.tokenizer_model)
        for problem in self.problems:
            log.error("embedding_model_mismatch", problem=problem)
        return self.problems

    async def until_compared(self, client: EmbeddingsClient, interval_s: float) -> None:
        """Retries until the service answers (it is optional and may start later)."""
        while self.problems is None:
            try:
                await self.compare(client)
            except (ServiceUnavailableError, ClientError):
                await asyncio.sleep(interval_s)

    async def probe(self) -> None:
        """Readiness: down, naming what differs, once a mismatch is known."""
        if self.problems:
            raise RuntimeError("; ".join(self.problems))
