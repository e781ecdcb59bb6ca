"""API key generation, hashing and where a request presents its key (pure functions)."""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX = "aisk_"
_KEY_SHAPE = re.compile(r"^aisk_[A-Za-z0-9_-]{43}$")


def generate_key() -> str:
    """A new key: a recognisable prefix and 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 of the key. Keys carry 256 random bits, so a slow password hash adds nothing."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_well_formed(key: str) -> bool:
    """Whether `key` has the shape of a key this stack issues."""
    return bool(_KEY_SHAPE.match(key))


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key from `Authorization: Bearer …` or `X-API-Key`, whichever is present."""
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None
