"""Route table of the embeddings service."""

from __future__ import annotations

from aiohttp import web

from ai_stack.core.openapi import Operation
from ai_stack.embeddings import handlers
from ai_stack.embeddings.schemas import (
    EmbedRequest,
    ModelInfo,
    OpenAIEmbeddingRequest,
    OpenAIEmbeddingResponse,
)

OPERATIONS = (
    Operation("POST", "/embed", "Embed texts (TEI-compatible).", EmbedRequest, None, (400, 413, 422, 503)),
    Operation(
        "POST",
        "/v1/embeddings",
        "Embed texts (OpenAI-compatible).",
        OpenAIEmbeddingRequest,
        OpenAIEmbeddingResponse,
        (400, 413, 422, 503),
    ),
    Operation("GET", "/info", "The served model and the request limits.", None, ModelInfo, (503,)),
)


def add_routes(app: web.Application) -> None:
    """Registers the service's routes."""
    app.router.add_post("/embed", handlers.embed)
    app.router.add_post("/v1/embeddings", handlers.openai_embeddings)
    app.router.add_get("/info", handlers.info)
