"""Checks on incoming content before any expensive work (pure functions)."""

from __future__ import annotations

import re

_SECRETS = (
    (re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "a Google API key"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{32,}\b"), "an OpenAI-style secret key"),
)


class ContentRejected(ValueError):
    """Content that must not be stored; the message names the reason."""


def find_secret(text: str) -> str | None:
    """The kind of secret `text` appears to contain, or None."""
    for pattern, kind in _SECRETS:
        if pattern.search(text):
            return kind
    return None


def check_content(text: str, field: str) -> None:
    """Refuses NUL bytes and apparent secrets."""
    if "\x00" in text:
        raise ContentRejected(f"{field} contains a NUL byte")
    secret = find_secret(text)
    if secret:
        raise ContentRejected(f"{field} looks like it contains {secret}; remove it before storing")
