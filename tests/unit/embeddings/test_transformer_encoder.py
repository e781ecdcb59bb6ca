"""The lean inference path gives sentence-transformers' vectors, and anything it does not cover
falls back to sentence-transformers itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ai_stack.embeddings.model import Encoder, SentenceTransformerEncoder, load_encoder
from ai_stack.embeddings.transformer_encoder import Pipeline, TransformerEncoder, pipeline_of, pool
from ai_stack.text.model_files import DEFAULT_MODEL, resolve_model_path

TEXTS = [
    "VACUUM reclaims storage occupied by dead tuples.",
    "",
    "x",
    "Ünïcödé ✓ 日本語 and an emoji 🚀 in one line",
    "  spaced\tout\n\nlines  ",
    "def __init_subclass__(cls, **kwargs): ...",
    # Longer than the model's 256-token window: both paths must cut it the same way.
    "a long paragraph about write-ahead logging and checkpoints " * 60,
]


def _model_dir() -> Path:
    return Path(resolve_model_path(DEFAULT_MODEL))


def _copy_model(tmp_path: Path, pooling: dict[str, Any] | None = None, modules: Any = None) -> Path:
    """The model directory with its large files linked and its small JSON files editable."""
    source = _model_dir()
    target = tmp_path / "model"
    target.mkdir(parents=True)
    for item in source.iterdir():
        if item.is_dir():
            (target / item.name).mkdir()
            for inner in item.iterdir():
                (target / item.name / inner.name).write_bytes(inner.read_bytes())
        elif item.suffix == ".json":
            (target / item.name).write_bytes(item.read_bytes())
        else:
            (target / item.name).symlink_to(item)
    if pooling is not None:
        config_file = target / "1_Pooling" / "config.json"
        config_file.write_text(json.dumps({**json.loads(config_file.read_text()), **pooling}))
    if modules is not None:
        (target / "modules.json").write_text(json.dumps(modules))
    return target


def test_the_shipped_model_is_a_standard_pipeline() -> None:
    assert pipeline_of(_model_dir()) == Pipeline(
        max_seq_length=256, lower_case=False, pooling="mean", normalize=True
    )


def test_vectors_match_sentence_transformers(encoder: Encoder, reference_model: Any) -> None:
    assert isinstance(encoder, TransformerEncoder)
    served = encoder.encode(TEXTS)
    reference = reference_model.encode(TEXTS, convert_to_numpy=True)
    assert served.dtype == np.float32 and served.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(served, reference, atol=1e-5)
    # Order is the caller's, although passes run longest first.
    np.testing.assert_allclose(encoder.encode(TEXTS[::-1]), served[::-1], atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_token_counts_and_window(encoder: Encoder, reference_model: Any) -> None:
    assert encoder.max_seq_length == reference_model.max_seq_length == 256
    expected = [len(ids) for ids in reference_model.tokenizer(TEXTS)["input_ids"]]
    assert encoder.count_tokens(TEXTS) == expected


@pytest.mark.parametrize(
    ("pooling", "modules"),
    [
        # A pooling mode the lean path does not implement.
        ({"pooling_mode_mean_tokens": False, "pooling_mode_mean_sqrt_len_tokens": True}, None),
        # Two modes at once (sentence-transformers concatenates them).
        ({"pooling_mode_cls_token": True}, None),
        # A module it does not know.
        (
            None,
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            ],
        ),
    ],
)
def test_other_pipelines_are_left_to_sentence_transformers(
    tmp_path: Path, pooling: dict[str, Any] | None, modules: Any
) -> None:
    assert pipeline_of(_copy_model(tmp_path, pooling, modules)) is None


def test_an_unusual_model_is_served_by_sentence_transformers(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model_dir = _copy_model(
        tmp_path, {"pooling_mode_mean_tokens": False, "pooling_mode_mean_sqrt_len_tokens": True}
    )
    loaded = load_encoder(str(model_dir), "cpu", 0, 8)
    assert isinstance(loaded, SentenceTransformerEncoder)
    reference = SentenceTransformer(str(model_dir), device="cpu").encode(TEXTS[:3], convert_to_numpy=True)
    np.testing.assert_allclose(loaded.encode(TEXTS[:3]), reference, atol=1e-5)


def test_cls_and_max_pooling_match_sentence_transformers(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    for mode, flag in (("cls", "pooling_mode_cls_token"), ("max", "pooling_mode_max_tokens")):
        model_dir = _copy_model(tmp_path / mode, {"pooling_mode_mean_tokens": False, flag: True})
        pipeline = pipeline_of(model_dir)
        assert pipeline is not None and pipeline.pooling == mode
        lean = TransformerEncoder("m", model_dir, pipeline, 4, "cpu")
        reference = SentenceTransformer(str(model_dir), device="cpu").encode(TEXTS, convert_to_numpy=True)
        np.testing.assert_allclose(lean.encode(TEXTS), reference, atol=1e-5)


def test_pooling_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, -5.0], [3.0, -1.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask, "mean").tolist() == [[2.0, -3.0]]
    assert pool(hidden, mask, "max").tolist() == [[3.0, -1.0]]
    assert pool(hidden, mask, "cls").tolist() == [[1.0, -5.0]]


def test_the_service_path_does_not_import_sentence_transformers() -> None:
    """The memory the lean path saves: sentence-transformers' import drags in its training side."""
    probe = (
        "import sys; from ai_stack.embeddings.app import create_app; "
        "from ai_stack.embeddings.model import load_encoder; "
        f"load_encoder({DEFAULT_MODEL!r}, 'cpu', 1, 8); "
        "print(sorted(m for m in ('sentence_transformers', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
