"""Holds the active key hashes in memory and reloads them when the key file changes."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from ai_stack.auth.apikeys import matches_any
from ai_stack.auth.keystore import KeyStore

log = structlog.get_logger(__name__)


class KeyVerifier:
    """`verify(key)` against the current key file, re-read at most every `reload_interval_s`."""

    def __init__(
        self, store: KeyStore, reload_interval_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._interval = reload_interval_s
        self._clock = clock
        self._hashes: list[str] = []
        self._signature: tuple[int, int] | None = None
        self._checked_at = float("-inf")

    def verify(self, key: str) -> bool:
        """Whether `key` is an active key."""
        self._refresh()
        return matches_any(key, self._hashes)

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._checked_at < self._interval:
            return
        self._checked_at = now
        try:
            stat = self._store.path.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            signature = (0, 0)
        if signature != self._signature:
            self._hashes = self._store.active_hashes() if signature != (0, 0) else []
            self._signature = signature
            log.info("api_keys_loaded", active=len(self._hashes))
