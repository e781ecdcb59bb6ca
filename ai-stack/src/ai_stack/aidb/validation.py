"""Checks on incoming content before any expensive work (pure functions).

The secret detectors refuse real key material only. Documentation shows the shape of secrets
all the time (a PEM file's armour around "... (private key in base64 encoding) ...", AWS's
documented example key id ending in EXAMPLE, GitHub tokens of x's); refusing those would lose
real manual pages. So each detector looks for what only a real secret has: a base64 body of key
length between PEM armour lines, random-looking token characters (entropy), no placeholder words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# Armour, optional RFC 1421 headers (Proc-Type, DEK-Info), then base64 lines. The shortest real
# private key (Ed25519, PKCS#8) has a 64-character body; a placeholder has spaces or dots.
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[ \t]*\r?\n"
    r"(?:[A-Za-z-]+:[^\n]*\r?\n)*(?:[ \t]*\r?\n)?"
    r"((?:[ \t]*[A-Za-z0-9+/=]+[ \t]*\r?\n?)+)"
)
MIN_PEM_BODY_CHARS = 64
_PLACEHOLDER = re.compile(r"example|sample|dummy|placeholder|your|fake|test|x{4,}|0{6,}", re.IGNORECASE)
# Bits per character of a real token's random part are about log2(alphabet) ≈ 5-6; "aaaa…",
# "abcd1234abcd1234" and words score far lower.
MIN_TOKEN_ENTROPY = 3.0


class ContentRejected(ValueError):
    """Content that must not be stored; the message names the reason."""


@dataclass(frozen=True)
class _TokenDetector:
    kind: str
    pattern: re.Pattern[str]
    secret_part: Callable[[re.Match[str]], str]


def _tail(prefix_chars: int) -> Callable[[re.Match[str]], str]:
    return lambda match: match.group(0)[prefix_chars:]


_TOKENS = (
    _TokenDetector("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), _tail(4)),
    _TokenDetector("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), _tail(4)),
    _TokenDetector("a Slack token", re.compile(r"\bxox[baprs]-\d{6,}-[A-Za-z0-9-]{10,}\b"), _tail(5)),
    _TokenDetector("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), _tail(4)),
    _TokenDetector("an OpenAI-style secret key", re.compile(r"\bsk-[A-Za-z0-9_-]{32,}\b"), _tail(3)),
)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values()) if text else 0.0


def _looks_random(secret: str) -> bool:
    return not _PLACEHOLDER.search(secret) and entropy(secret) >= MIN_TOKEN_ENTROPY


def _has_private_key(text: str) -> bool:
    for match in _PEM.finditer(text):
        body = re.sub(r"\s", "", match.group(1))
        # Entropy only: placeholder words occur by chance in a long random base64 body.
        if len(body) >= MIN_PEM_BODY_CHARS and entropy(body) >= MIN_TOKEN_ENTROPY:
            return True
    return False


def find_secret(text: str) -> str | None:
    """The kind of secret `text` appears to contain, or None."""
    if "PRIVATE KEY-----" in text and _has_private_key(text):
        return "a PEM private key (a base64 key body between the armour lines)"
    for detector in _TOKENS:
        for match in detector.pattern.finditer(text):
            if _looks_random(detector.secret_part(match)):
                return detector.kind
    return None


def check_content(text: str, field: str) -> None:
    """Refuses NUL bytes and apparent secrets."""
    if "\x00" in text:
        raise ContentRejected(f"{field} contains a NUL byte")
    secret = find_secret(text)
    if secret:
        raise ContentRejected(f"{field} looks like it contains {secret}; remove it before storing")
