"""Route table of the embeddings service."""

from __future__ import annotations

from ai_stack.core.openapi import Route
from ai_stack.embeddings import handlers
from ai_stack.embeddings.schemas import (
    EmbedRequest,
    EmbedResponse,
    ModelInfo,
    OpenAIEmbeddingRequest,
    OpenAIEmbeddingResponse,
)

ROUTES = (
    Route(
        "POST",
        "/embed",
        handlers.embed,
        "Embed texts (TEI-compatible).",
        EmbedRequest,
        EmbedResponse,
        (413, 422),
        scope="read",
    ),
    Route(
        "POST",
        "/v1/embeddings",
        handlers.openai_embeddings,
        "Embed texts (OpenAI-compatible).",
        OpenAIEmbeddingRequest,
        OpenAIEmbeddingResponse,
        (413, 422),
        scope="read",
    ),
    Route("GET", "/info", handlers.info, "The served model and the request limits.", None, ModelInfo),
)
