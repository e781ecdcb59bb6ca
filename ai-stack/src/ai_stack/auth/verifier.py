"""Holds the active keys in memory and reloads them when the key file changes."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from ai_stack.auth.apikeys import hash_key
from ai_stack.auth.keystore import KeyFileError, KeyStore, StoredKey, now_utc, parse_stamp
from ai_stack.core.files import write_atomically

log = structlog.get_logger(__name__)
USAGE_FLUSH_S = 60.0


@dataclass(frozen=True)
class Grant:
    """What a valid key may do, as the verifier hands it to nginx."""

    key_id: str
    scopes: tuple[str, ...]
    projects: tuple[str, ...] | None
    valid_until: dt.datetime | None  # expiry, or the end of a rotated secret's grace
    limits: str | None = None  # `rate/burst/concurrency`, when the key has its own


def usage_path(keys_file: Path) -> Path:
    """Where the verifier records when each key was last used (`keys list` shows it)."""
    return keys_file.with_name(keys_file.stem + "-usage.json")


class UsageLog:
    """Last use per key id, to the minute, written at most once a minute (never per request)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._clock = clock
        self._seen: dict[str, str] = {}
        self._dirty = False
        self._flushed_at = clock()

    def record(self, key_id: str, moment: dt.datetime) -> None:
        minute = moment.replace(second=0, microsecond=0).isoformat()
        if self._seen.get(key_id) != minute:
            self._seen[key_id] = minute
            self._dirty = True
        if self._dirty and self._clock() - self._flushed_at >= USAGE_FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if not self._dirty:
            return
        try:
            previous = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        merged = {**(previous if isinstance(previous, dict) else {}), **self._seen}
        try:
            write_atomically(self._path, json.dumps(merged, indent=2).encode(), mode=0o600)
            self._dirty = False
        except OSError as exc:  # informative only: a read-only directory must not fail requests
            log.warning("key_usage_not_written", path=str(self._path), error=exc.strerror)
        self._flushed_at = self._clock()


def read_usage(keys_file: Path) -> dict[str, str]:
    try:
        data = json.loads(usage_path(keys_file.resolve()).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


class KeyVerifier:
    """`verify(key)` against the current key file, re-read at most every `reload_interval_s`."""

    def __init__(
        self,
        store: KeyStore,
        reload_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = now_utc,
    ) -> None:
        self._store = store
        self._interval = reload_interval_s
        self._clock = clock
        self._wall_clock = wall_clock
        # SHA-256 of the key -> its grant. A dict lookup may leak timing about a hash, which
        # gives nothing: keys carry 256 random bits and the attacker cannot choose the hash.
        self._grants: dict[str, Grant] = {}
        self._signature: tuple[int, int] | None = None
        self._checked_at = float("-inf")
        self.usage = UsageLog(usage_path(store.path), clock)

    def verify(self, key: str) -> Grant | None:
        """The grant of `key` when it is an active key, else None."""
        self._refresh()
        grant = self._grants.get(hash_key(key))
        moment = self._wall_clock()
        if grant is None or (grant.valid_until is not None and moment >= grant.valid_until):
            return None
        self.usage.record(grant.key_id, moment)
        return grant

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
            try:
                keys = self._store.load() if signature != (0, 0) else []
            except KeyFileError as exc:
                # A half-edited or broken file must not lock every client out: the keys loaded
                # last stay in force, and the next check reads the file again.
                log.error("api_keys_not_reloaded", error=str(exc))
                return
            self._grants = grants_of(keys, self._wall_clock())
            self._signature = signature
            log.info("api_keys_loaded", active=len({g.key_id for g in self._grants.values()}))


def grants_of(keys: list[StoredKey], moment: dt.datetime) -> dict[str, Grant]:
    """Hash -> grant for every key that opens the stack at `moment` (expiry is checked again
    at each request, since the file may not change when a key expires)."""
    grants: dict[str, Grant] = {}
    for key in keys:
        if not key.is_active(moment):
            continue
        expiry = parse_stamp(key.expires_at)
        grants[key.hash] = Grant(key.id, key.scopes, key.projects, expiry, key.limits)
        grace_end = parse_stamp(key.previous_valid_until)
        if key.previous_hash and grace_end is not None and key.previous_is_valid(moment):
            until = min(grace_end, expiry) if expiry is not None else grace_end
            grants[key.previous_hash] = Grant(key.id, key.scopes, key.projects, until, key.limits)
    return grants
