"""Settings come from one prefix, accept *_FILE secrets, and fail with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_stack.core.settings import SettingsError, load_settings
from ai_stack.embeddings.settings import EmbeddingsSettings


def test_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_EMBEDDINGS_PORT", "9100")
    monkeypatch.setenv("AI_STACK_AIDB_PORT", "9999")
    assert load_settings(EmbeddingsSettings).port == 9100


def test_file_variant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "redis-url"
    secret.write_text("redis://:pw@127.0.0.1:1/2\n")
    monkeypatch.setenv("AI_STACK_EMBEDDINGS_REDIS_URL_FILE", str(secret))
    assert load_settings(EmbeddingsSettings).redis_url == "redis://:pw@127.0.0.1:1/2"


def test_unreadable_file_variant_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_EMBEDDINGS_REDIS_URL_FILE", "/nonexistent/secret")
    with pytest.raises(SettingsError, match="AI_STACK_EMBEDDINGS_REDIS_URL_FILE"):
        load_settings(EmbeddingsSettings)


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_EMBEDDINGS_PORT", "eighty")
    with pytest.raises(SettingsError, match="AI_STACK_EMBEDDINGS_PORT"):
        load_settings(EmbeddingsSettings)


def test_cross_field_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_STACK_EMBEDDINGS_MAX_QUEUE_TEXTS", "4")
    monkeypatch.setenv("AI_STACK_EMBEDDINGS_MAX_INPUTS_PER_REQUEST", "8")
    with pytest.raises(SettingsError, match="max_queue_texts must be at least"):
        load_settings(EmbeddingsSettings)
