"""A lean inference path for the common sentence-transformers pipeline: Transformer -> Pooling ->
(Normalize), run with `transformers` and the Rust `tokenizers` directly.

Why not `SentenceTransformer` itself: importing sentence-transformers pulls in its training side
(scikit-learn, SciPy, SymPy...), 145 MiB resident in a server that only runs inference (measured:
521 MiB after loading all-MiniLM-L6-v2 through it, 377 MiB through this path). A model whose
`modules.json` holds anything else (a Dense layer, a pooling mode not below, a custom module) is
served by `SentenceTransformer` as before; `pipeline_of` decides. Vectors match
`SentenceTransformer.encode` (tests compare them on short, long and truncated texts).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ai_stack.embeddings.model import Vectors
from ai_stack.text.tokenizer import TokenCounter

Pooling = Literal["mean", "cls", "max"]
_POOLING_FLAGS: dict[str, Pooling] = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
}
_OTHER_POOLING_FLAGS = (
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)


@dataclass(frozen=True)
class Pipeline:
    """What a standard sentence-transformers model directory asks for."""

    max_seq_length: int | None
    lower_case: bool
    pooling: Pooling
    normalize: bool


def _module_kind(entry: dict[str, Any]) -> str:
    # "sentence_transformers.models.Pooling", or a newer release's longer module path.
    return str(entry.get("type", "")).rsplit(".", 1)[-1]


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def pipeline_of(model_dir: Path) -> Pipeline | None:
    """The pipeline of a model directory, or None when it is not Transformer -> Pooling (one of
    mean, cls or max, without a prompt) -> optional Normalize on the model's root."""
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file() or not (model_dir / "tokenizer.json").is_file():
        return None
    try:
        modules = _read_json(modules_file)
        kinds = [_module_kind(entry) for entry in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        if modules[0].get("path", "") != "":
            return None
        pooling_config = _read_json(model_dir / modules[1]["path"] / "config.json")
        transformer_config_file = model_dir / "sentence_bert_config.json"
        transformer_config = _read_json(transformer_config_file) if transformer_config_file.is_file() else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    chosen = [mode for flag, mode in _POOLING_FLAGS.items() if pooling_config.get(flag)]
    if len(chosen) != 1 or any(pooling_config.get(flag) for flag in _OTHER_POOLING_FLAGS):
        return None
    if pooling_config.get("include_prompt") is False:
        return None
    max_seq_length = transformer_config.get("max_seq_length")
    return Pipeline(
        max_seq_length=int(max_seq_length) if max_seq_length else None,
        lower_case=bool(transformer_config.get("do_lower_case", False)),
        pooling=chosen[0],
        normalize=kinds[-1] == "Normalize",
    )


def pool(hidden: Any, mask: Any, mode: Pooling) -> Any:
    """Token states (batch, tokens, dim) -> one vector per text, padding ignored (torch tensors)."""
    import torch

    if mode == "cls":
        return hidden[:, 0]
    expanded = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "max":
        return hidden.masked_fill(expanded == 0, torch.finfo(hidden.dtype).min).max(dim=1).values
    summed = (hidden * expanded).sum(dim=1)
    return summed / expanded.sum(dim=1).clamp(min=1e-9)


class TransformerEncoder:
    """Encodes with a `transformers` model and its tokenizer.json; safe to call from several
    threads at once (the tokenizer is configured once and only read afterwards)."""

    def __init__(self, name: str, model_dir: Path, pipeline: Pipeline, batch_size: int, device: str) -> None:
        from tokenizers import Tokenizer
        from transformers import AutoModel

        self.name = name
        self._pipeline = pipeline
        self._batch_size = batch_size
        self._device = device
        self._model = AutoModel.from_pretrained(str(model_dir)).to(device).eval()
        limits = [pipeline.max_seq_length, getattr(self._model.config, "max_position_embeddings", None)]
        self._max_seq_length = min(limit for limit in limits if limit) if any(limits) else 512
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json may ship a fixed padding (MiniLM's pads to 128): pad to the longest text
        # of each pass instead, and truncate where the model's window ends, as sentence-transformers does.
        padding = tokenizer.padding or {}
        tokenizer.enable_padding(
            pad_id=padding.get("pad_id", 0),
            pad_type_id=padding.get("pad_type_id", 0),
            pad_token=padding.get("pad_token", "[PAD]"),
        )
        tokenizer.enable_truncation(max_length=self._max_seq_length)
        self._tokenizer = tokenizer
        self._dimension = int(self._model.config.hidden_size)
        self._token_counter = TokenCounter(model_dir / "tokenizer.json")
        # BERT takes segment ids; DistilBERT's forward has no such argument.
        self._takes_types = "token_type_ids" in inspect.signature(self._model.forward).parameters

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_seq_length(self) -> int:
        return self._max_seq_length

    def encode(self, texts: list[str]) -> Vectors:
        """Vectors in input order; passes of `batch_size` texts of similar length (longest first,
        as sentence-transformers orders them), so little of each pass is padding."""
        import torch

        if not texts:
            return np.empty((0, self._dimension), dtype=np.float32)
        prepared = [t.lower() for t in texts] if self._pipeline.lower_case else texts
        order = sorted(range(len(prepared)), key=lambda i: -len(prepared[i]))
        result = np.empty((len(prepared), self._dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                indices = order[start : start + self._batch_size]
                result[indices] = self._forward([prepared[i] for i in indices])
        return result

    def _forward(self, texts: list[str]) -> Vectors:
        import torch

        encoded = self._tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encoded], device=self._device)
        mask = torch.tensor([e.attention_mask for e in encoded], device=self._device)
        inputs = {"input_ids": ids, "attention_mask": mask}
        if self._takes_types:
            inputs["token_type_ids"] = torch.tensor([e.type_ids for e in encoded], device=self._device)
        hidden = self._model(**inputs).last_hidden_state
        vectors = pool(hidden, mask, self._pipeline.pooling)
        if self._pipeline.normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        return np.asarray(vectors.float().cpu().numpy(), dtype=np.float32)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self._token_counter.count_many(texts)
