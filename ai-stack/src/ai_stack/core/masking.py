"""Masks secrets and personal data before anything reaches a log line (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
SENSITIVE_KEY = re.compile(
    r"(authorization|api[_-]?key|password|passwd|secret|token|cookie|credential)", re.IGNORECASE
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_API_KEY = re.compile(r"\baisk_[A-Za-z0-9_-]{8,}")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_PASSWORD_PAIR = re.compile(r"(?i)\b(password|passwd|pwd)=[^\s&;]+")


def mask_text(text: str) -> str:
    """Replaces e-mail addresses, bearer tokens, API keys and URL passwords in free text."""
    text = _API_KEY.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _PASSWORD_PAIR.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _EMAIL.sub(MASK, text)


def mask_value(key: str, value: Any) -> Any:
    """Masks a value whole when its key names a secret, otherwise masks inside it."""
    if SENSITIVE_KEY.search(key):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    return value


def mask_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Masks a whole structlog event dict."""
    return {k: mask_value(k, v) for k, v in event.items()}
