"""The key file: hashes and names only, written atomically, readable by the owner only."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ai_stack.auth.apikeys import generate_key, hash_key
from ai_stack.core.files import write_atomically


@dataclass(frozen=True)
class StoredKey:
    """What is kept of a key: never the key itself."""

    id: str
    name: str
    hash: str
    created_at: str
    revoked: bool = False


class KeyFileError(RuntimeError):
    """The key file exists but cannot be read as a key file."""


class KeyStore:
    """Reads and writes `api-keys.json`; writers serialise on a lock file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[StoredKey]:
        """All stored keys; an absent file means no keys."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [StoredKey(**item) for item in raw.get("keys", [])]
        except FileNotFoundError:
            return []
        except (ValueError, TypeError, AttributeError) as exc:
            raise KeyFileError(f"{self.path} is not a valid key file ({exc}); fix or remove it") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Two concurrent `ai-stack keys create` must not lose a key (read-modify-write)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def active_hashes(self) -> list[str]:
        """Hashes of the keys that are not revoked."""
        return [k.hash for k in self.load() if not k.revoked]

    def create(self, name: str) -> tuple[str, StoredKey]:
        """Creates a key; returns the key (shown once) and what was stored."""
        if not name.strip():
            raise ValueError("a key needs a non-empty --name")
        key = generate_key()
        stored = StoredKey(
            id=secrets.token_hex(6),
            name=name.strip(),
            hash=hash_key(key),
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        with self._locked():
            self._save([*self.load(), stored])
        return key, stored

    def revoke(self, key_id: str) -> StoredKey:
        """Marks a key revoked; raises KeyError for an unknown id."""
        with self._locked():
            keys = self.load()
            found = [k for k in keys if k.id == key_id]
            if not found:
                raise KeyError(key_id)
            revoked = StoredKey(**{**asdict(found[0]), "revoked": True})
            self._save([revoked if k.id == key_id else k for k in keys])
        return revoked

    def _save(self, keys: list[StoredKey]) -> None:
        body = json.dumps({"keys": [asdict(k) for k in keys]}, indent=2)
        write_atomically(self.path, body.encode(), mode=0o600)
