"""Fills a benchmark stack's vector cache with the retrieval corpus's vectors before it is written.

A benchmark of search at 100,000 chunks should not spend 80 minutes embedding them first. The
embeddings service answers a text it has seen from its Redis cache; this module computes the
texts aidb will send for each chunk (its chunker, its contextual header, its window), takes their
vectors from the retrieval lab's on-disk cache (computing any it lacks with the same model), and
writes them under the service's own cache keys (`ai_stack.embeddings.cache.cache_key`), as if the
service had embedded them. A text whose key differs is simply embedded by the service: the seed
only saves time, it never changes what is indexed.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import numpy as np
import redis
from ai_stack.aidb.settings import AidbSettings
from ai_stack.embeddings.cache import cache_key
from ai_stack.embeddings.settings import EmbeddingsSettings
from ai_stack.text.context import contextual_text
from ai_stack.text.tokenizer import TokenCounter

from bench.labelled_sets import LabelledSet
from bench.retrieval_lab import CachedEmbedder, chunk_set
from bench.stack import RunningStack


def indexed_texts(sets: list[LabelledSet]) -> list[str]:
    """What aidb sends the model for every chunk of `sets`, each text once."""
    aidb = AidbSettings()
    count = TokenCounter.for_model(aidb.tokenizer_model)
    texts: dict[str, None] = {}
    for labelled in sets:
        chunks, _, titles = chunk_set(labelled, count)
        for chunk, title in zip(chunks, titles, strict=True):
            room = aidb.chunk_max_tokens - chunk.token_count
            text = contextual_text(chunk.text, title, chunk.heading_path, room_tokens=room, count=count)
            texts[text] = None
    return list(texts)


async def seed_vector_cache(
    stack: RunningStack, session: aiohttp.ClientSession, sets: list[LabelledSet]
) -> int:
    """Writes every chunk's vector into the stack's vector cache; returns how many."""
    async with session.get(f"{stack.base_url}/embeddings/info") as response:
        info: dict[str, Any] = await response.json()
    texts = indexed_texts(sets)
    vectors = CachedEmbedder().embed(texts)
    ttl_s = EmbeddingsSettings().cache_ttl_s
    url = (stack.home / "secrets" / "redis-url").read_text().strip()
    client = redis.Redis.from_url(url)
    try:
        for start in range(0, len(texts), 1000):
            pipe = client.pipeline(transaction=False)
            for text, vector in zip(texts[start : start + 1000], vectors[start : start + 1000], strict=True):
                pipe.set(cache_key(info["model"], True, text), np.asarray(vector, "<f4").tobytes(), ex=ttl_s)
            pipe.execute()
    finally:
        client.close()
    return len(texts)
