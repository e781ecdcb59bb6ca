"""Request and response bodies of the embeddings API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class EmbedRequest(BaseModel):
    """TEI-compatible `/embed` body."""

    model_config = ConfigDict(extra="forbid")

    inputs: str | list[str] = Field(description="One text or a list of texts.")
    normalize: bool = Field(True, description="Scale each vector to unit length.")
    truncate: bool = Field(False, description="Cut over-long inputs instead of refusing them.")
    priority: Literal["interactive", "bulk"] = Field(
        "interactive",
        description="`bulk` (an indexer's backlog) is batched after every waiting interactive request.",
    )


class EmbedResponse(RootModel[list[list[float]]]):
    """One vector per input, in input order."""


class OpenAIEmbeddingRequest(BaseModel):
    """OpenAI-compatible `/v1/embeddings` body."""

    model_config = ConfigDict(extra="ignore")

    input: str | list[str] = Field(description="One text or a list of texts.")
    model: str | None = Field(None, description="Accepted for compatibility; the served model answers.")
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class OpenAIEmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage


class ModelInfo(BaseModel):
    model: str
    dimension: int
    tokenizer_sha256: str | None = Field(
        None, description="SHA-256 of the model's tokenizer.json (clients check they chunk alike)."
    )
    max_sequence_length: int
    max_batch_size: int
    max_inputs_per_request: int
    max_chars_per_input: int
