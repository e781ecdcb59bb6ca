"""The embedding model: resolving, loading and encoding (blocking; run off the event loop)."""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ai_stack.text.model_files import resolve_model_path
from ai_stack.text.tokenizer import TokenCounter

Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    """What the service needs from a model; tests may pass any object with this shape."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_seq_length(self) -> int: ...

    def encode(self, texts: list[str]) -> Vectors:
        """Unnormalised float32 vectors, one row per text, in order."""
        ...

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts with the model's own tokenizer, special tokens included."""
        ...


@dataclass
class SentenceTransformerEncoder:
    """Adapts a SentenceTransformer to the Encoder protocol."""

    name: str
    model: Any
    batch_size: int
    # Counting uses its own tokenizer: the model's is reconfigured (truncation) on every encode,
    # and sharing it across threads fails with "Already borrowed".
    counter: Callable[[list[str]], list[int]] | None = None

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode(self, texts: list[str]) -> Vectors:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self.counter is None:
            raise RuntimeError("this encoder was built without a token counter")
        return self.counter(texts)


def _independent_counter(path: str, model: Any) -> Callable[[list[str]], list[int]]:
    tokenizer_file = Path(path) / "tokenizer.json"
    if tokenizer_file.exists():
        return TokenCounter(tokenizer_file).count_many
    private = copy.deepcopy(model.tokenizer)  # a hub model without tokenizer.json
    lock = threading.Lock()

    def count(texts: list[str]) -> list[int]:
        with lock:
            encoded = private(texts, add_special_tokens=True, truncation=False, return_attention_mask=False)
        return [len(ids) for ids in encoded["input_ids"]]

    return count


def load_encoder(name: str, device: str, torch_threads: int, batch_size: int) -> Encoder:
    """Loads the model from disk only (never from a hub) and proves it with a test encode: the lean
    `transformers` path for a standard pipeline, `SentenceTransformer` for anything else."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    from ai_stack.embeddings.transformer_encoder import TransformerEncoder, pipeline_of

    if torch_threads:
        torch.set_num_threads(torch_threads)
    path = resolve_model_path(name)
    pipeline = pipeline_of(Path(path))
    encoder: Encoder
    if pipeline is not None:
        encoder = TransformerEncoder(name, Path(path), pipeline, batch_size, device)
    else:
        encoder = load_sentence_transformer(name, path, device, batch_size)
    probe = encoder.encode(["readiness probe"])
    if probe.shape != (1, encoder.dimension) or not np.isfinite(probe).all():
        raise RuntimeError(f"test encode returned {probe.shape}, expected (1, {encoder.dimension})")
    return encoder


def load_sentence_transformer(
    name: str, path: str, device: str, batch_size: int
) -> SentenceTransformerEncoder:
    """Any sentence-transformers model, through the library itself."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device=device)
    return SentenceTransformerEncoder(name, model, batch_size, _independent_counter(path, model))
