"""HTTP handlers: parse, call the service, serialise."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
from aiohttp import web

from ai_stack.core.access import charge_quota, principal_of
from ai_stack.core.errors import PayloadTooLargeError, ServiceUnavailableError, ValidationFailedError
from ai_stack.core.requests import json_response, model_response, read_model
from ai_stack.embeddings.batcher import BatcherStoppedError, QueueFullError
from ai_stack.embeddings.keys import (
    EMBEDDINGS_METRICS_KEY,
    EMBEDDINGS_SETTINGS_KEY,
    MODEL_STATE_KEY,
    QUOTA_KEY,
)
from ai_stack.embeddings.limits import EmptyInputError, InputLimitError, as_list
from ai_stack.embeddings.model import Vectors
from ai_stack.embeddings.schemas import EmbedRequest, ModelInfo, OpenAIEmbeddingRequest
from ai_stack.embeddings.service import EmbeddingService
from ai_stack.text.model_files import tokenizer_fingerprint

OFF_LOOP_CHARS = 16_384


def _service(request: web.Request) -> EmbeddingService:
    state = request.app[MODEL_STATE_KEY]
    service = state.service
    if state.stopped is not None:
        raise ServiceUnavailableError("the embedding worker stopped", code="unavailable")
    if service is None:
        raise ServiceUnavailableError("the model is still loading", retry_after=5, code="loading")
    return service


async def _embed(
    request: web.Request,
    service: EmbeddingService,
    texts: list[str],
    normalize: bool,
    truncate: bool,
    *,
    asked_bulk: bool = False,
) -> Vectors:
    """Checks the input, then charges the caller's key (a refused request costs no quota) and
    queues the texts in their lane."""
    try:
        if sum(map(len, texts)) > OFF_LOOP_CHARS:
            # Tokenizing megabytes would stall health checks and every other request.
            prepared = await asyncio.to_thread(service.prepare, texts, truncate)
        else:
            prepared = service.prepare(texts, truncate)
    except EmptyInputError as exc:
        raise ValidationFailedError(str(exc), code="empty_input") from None
    except InputLimitError as exc:
        raise PayloadTooLargeError(str(exc), code="input_limit") from None
    bulk = _admit(request, texts, asked_bulk)
    try:
        return await service.embed(prepared, normalize, bulk=bulk)
    except QueueFullError as exc:
        lane = "bulk" if bulk else "interactive"
        request.app[EMBEDDINGS_METRICS_KEY].queue_rejections.labels(lane=lane).inc()
        raise ServiceUnavailableError(f"the embedding queue is full: {exc}", code="overloaded") from None
    except BatcherStoppedError as exc:
        raise ServiceUnavailableError(str(exc), code="stopping") from None


def _admit(request: web.Request, texts: list[str], asked_bulk: bool) -> bool:
    """Charges the caller's key for `texts` and says whether they go to the bulk lane: a key's
    request above `key_interactive_max_texts` does, so that one key's large batches wait behind
    every query (another key's search embeds its query through aidb, as the stack)."""
    settings = request.app[EMBEDDINGS_SETTINGS_KEY]
    charge_quota(request, request.app[QUOTA_KEY], len(texts), "texts embedded")
    from_key = principal_of(request).key_id is not None
    return asked_bulk or (from_key and len(texts) > settings.key_interactive_max_texts)


async def embed(request: web.Request) -> web.Response:
    """TEI-compatible: `{"inputs": ...}` -> `[[float]]`."""
    body = await read_model(request, EmbedRequest)
    service = _service(request)
    texts = as_list(body.inputs)
    vectors = await _embed(
        request, service, texts, body.normalize, body.truncate, asked_bulk=body.priority == "bulk"
    )
    return json_response(vectors)


async def openai_embeddings(request: web.Request) -> web.Response:
    """OpenAI-compatible `/v1/embeddings`; vectors are unit length, as OpenAI's are."""
    body = await read_model(request, OpenAIEmbeddingRequest)
    service = _service(request)
    texts = as_list(body.input)
    vectors = await _embed(request, service, texts, normalize=True, truncate=False)
    tokens = sum(await asyncio.to_thread(service.encoder.count_tokens, texts))
    data = [
        {"object": "embedding", "index": i, "embedding": _encode_vector(v, body.encoding_format)}
        for i, v in enumerate(vectors)
    ]
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json_response({"object": "list", "data": data, "model": service.encoder.name, "usage": usage})


def _encode_vector(vector: np.ndarray, encoding_format: str) -> object:
    if encoding_format == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return vector


async def info(request: web.Request) -> web.Response:
    """Model, dimension, maximum sequence length and batch limits."""
    service = _service(request)
    settings = request.app[EMBEDDINGS_SETTINGS_KEY]
    return model_response(
        ModelInfo(
            model=service.encoder.name,
            dimension=service.encoder.dimension,
            tokenizer_sha256=await asyncio.to_thread(tokenizer_fingerprint, service.encoder.name),
            max_sequence_length=service.encoder.max_seq_length,
            max_batch_size=settings.max_batch_size,
            max_inputs_per_request=settings.max_inputs_per_request,
            max_chars_per_input=settings.max_chars_per_input,
        )
    )
