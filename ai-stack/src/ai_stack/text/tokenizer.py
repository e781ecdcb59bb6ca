"""Token counting with the embedding model's own tokenizer (Rust `tokenizers`, no torch)."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from ai_stack.text.model_files import resolve_model_path


class TokenCounter:
    """Counts tokens the way the embedding model will see them (special tokens excluded)."""

    def __init__(self, tokenizer_file: Path) -> None:
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # tokenizer.json ships the model's padding/truncation (pad to 128): counting needs neither.
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()

    @classmethod
    def for_model(cls, model: str) -> TokenCounter:
        """The counter of a model name or local model directory."""
        return cls(Path(resolve_model_path(model)) / "tokenizer.json")

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str], *, special_tokens: bool = True) -> list[int]:
        """Token counts of many texts (special tokens included by default, as the model sees them)."""
        encoded = self._tokenizer.encode_batch(texts, add_special_tokens=special_tokens)
        return [len(e.ids) for e in encoded]
