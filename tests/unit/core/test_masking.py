"""Secrets and personal data never reach a log line."""

from __future__ import annotations

from ai_stack.core.masking import MASK, mask_event, mask_text


def test_sensitive_keys_are_masked_whole() -> None:
    event = mask_event({"authorization": "Bearer abc", "api_key": "k", "db_password": "p", "n": 3})
    assert event == {"authorization": MASK, "api_key": MASK, "db_password": MASK, "n": 3}


def test_emails_bearer_tokens_and_api_keys_in_text() -> None:
    text = mask_text(
        "user jane.doe@example.com sent Bearer eyJhbGciOi.x.y and "
        "aisk_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    )
    assert "jane.doe" not in text and "example.com" not in text
    assert "eyJhbGciOi" not in text
    assert "aisk_abc" not in text
    assert text.count(MASK) == 3


def test_url_passwords_and_password_pairs() -> None:
    text = mask_text("postgresql://ai:s3cret@127.0.0.1/db password=hunter2&x=1")
    assert "s3cret" not in text and "hunter2" not in text
    assert "postgresql://ai:" in text and "x=1" in text


def test_nested_structures_are_walked() -> None:
    event = mask_event({"headers": {"X-API-Key": "aisk_zzz", "Accept": "json"}, "emails": ["a@b.io"]})
    assert event["headers"] == {"X-API-Key": MASK, "Accept": "json"}
    assert event["emails"] == [MASK]


def test_plain_text_is_untouched() -> None:
    assert mask_text("embedding 32 texts took 41 ms") == "embedding 32 texts took 41 ms"
