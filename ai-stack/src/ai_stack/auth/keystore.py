"""The key file: hashes, names and grants only, written atomically, readable by the owner only.

A key's grants are its scopes (read, write, admin) and its projects (None: every project). Keys
written before grants existed have neither field and load as full-access keys, so an upgrade
keeps every existing client working; `ai-stack keys rotate` or `create` issues narrower ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from ai_stack.auth.apikeys import generate_key, hash_key
from ai_stack.core.files import write_atomically
from ai_stack.core.limits import KeyLimits
from ai_stack.core.principal import SCOPES, parse_scopes

FULL_ACCESS: tuple[str, ...] = SCOPES
MAX_PROJECT_BYTES = 256  # aidb's own limit on a project name


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def parse_stamp(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class StoredKey:
    """What is kept of a key: never the key itself."""

    id: str
    name: str
    hash: str
    created_at: str
    revoked: bool = False
    scopes: tuple[str, ...] = FULL_ACCESS
    projects: tuple[str, ...] | None = None  # None: every project
    expires_at: str | None = None
    # After `rotate`, the replaced secret's hash stays valid until `previous_valid_until`.
    previous_hash: str | None = None
    previous_valid_until: str | None = None
    rotated_at: str | None = None
    limits: str | None = None  # `rate/burst/concurrency` of this key; None: each service's defaults

    def is_active(self, moment: dt.datetime) -> bool:
        expiry = parse_stamp(self.expires_at)
        return not self.revoked and (expiry is None or moment < expiry)

    def previous_is_valid(self, moment: dt.datetime) -> bool:
        until = parse_stamp(self.previous_valid_until)
        return self.previous_hash is not None and until is not None and moment < until

    @classmethod
    def from_json(cls, item: dict[str, object]) -> StoredKey:
        values = dict(item)
        if values.get("scopes") is not None:
            values["scopes"] = tuple(values["scopes"])  # type: ignore[arg-type]
        else:
            values.pop("scopes", None)
        if values.get("projects") is not None:
            values["projects"] = tuple(values["projects"])  # type: ignore[arg-type]
        key = cls(**values)  # type: ignore[arg-type]
        # Stamps are read on every verification: a bad one is a bad key file, found at load.
        parse_stamp(key.expires_at)
        parse_stamp(key.previous_valid_until)
        return key


class KeyFileError(RuntimeError):
    """The key file exists but cannot be read as a key file."""


def check_grants(
    scopes: Iterable[str], projects: Iterable[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """Scopes in their canonical order and projects sorted; ValueError names what is wrong."""
    wanted = parse_scopes(scopes)
    if not wanted:
        raise ValueError("a key needs at least one scope")
    if projects is None:
        return tuple(s for s in SCOPES if s in wanted), None
    names = sorted({p for p in projects})
    for name in names:
        if not name or "\x00" in name or len(name.encode()) > MAX_PROJECT_BYTES or not name.isprintable():
            raise ValueError(
                f"project {name!r} is not a project name (printable, 1-{MAX_PROJECT_BYTES} bytes)"
            )
    if not names:
        raise ValueError("give at least one --project, or none for every project")
    return tuple(s for s in SCOPES if s in wanted), tuple(names)


class KeyStore:
    """Reads and writes `api-keys.json`; writers serialise on a lock file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[StoredKey]:
        """All stored keys; an absent file means no keys."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [StoredKey.from_json(item) for item in raw.get("keys", [])]
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

    def create(
        self,
        name: str,
        *,
        scopes: Iterable[str] = FULL_ACCESS,
        projects: Iterable[str] | None = None,
        expires_in: dt.timedelta | None = None,
        limits: KeyLimits | None = None,
    ) -> tuple[str, StoredKey]:
        """Creates a key; returns the key (shown once) and what was stored."""
        if not name.strip():
            raise ValueError("a key needs a non-empty --name")
        checked_scopes, checked_projects = check_grants(scopes, projects)
        key = generate_key()
        created = now_utc()
        stored = StoredKey(
            id=secrets.token_hex(6),
            name=name.strip(),
            hash=hash_key(key),
            created_at=_stamp(created),
            scopes=checked_scopes,
            projects=checked_projects,
            expires_at=_stamp(created + expires_in) if expires_in is not None else None,
            limits=limits.header_value() if limits is not None else None,
        )
        with self._locked():
            self._save([*self.load(), stored])
        return key, stored

    def revoke(self, key_id: str) -> StoredKey:
        """Marks a key revoked (both its secrets); raises KeyError for an unknown id."""
        return self._update(
            key_id, lambda k: replace(k, revoked=True, previous_hash=None, previous_valid_until=None)
        )

    def update(
        self,
        key_id: str,
        *,
        scopes: Iterable[str] | None = None,
        projects: Iterable[str] | Literal["keep"] | None = "keep",
        limits: KeyLimits | Literal["keep"] | None = "keep",
        expires_in: dt.timedelta | Literal["keep"] | None = "keep",
    ) -> StoredKey:
        """New grants for an existing key (same secret): what is not given is kept; `projects`,
        `limits` and `expires_in` None mean every project, the services' limits, no expiry.
        KeyError for an unknown id, ValueError for bad grants or a revoked key."""
        moment = now_utc()

        def changed(old: StoredKey) -> StoredKey:
            if old.revoked:
                raise ValueError(f"key {old.id} is revoked; create a new one")
            new_projects = old.projects if projects == "keep" else projects
            checked_scopes, checked_projects = check_grants(
                old.scopes if scopes is None else scopes, new_projects
            )
            return replace(
                old,
                scopes=checked_scopes,
                projects=checked_projects,
                limits=old.limits if limits == "keep" else (limits.header_value() if limits else None),
                expires_at=(
                    old.expires_at
                    if expires_in == "keep"
                    else (_stamp(moment + expires_in) if expires_in is not None else None)
                ),
            )

        return self._update(key_id, changed)

    def rotate(self, key_id: str, grace: dt.timedelta) -> tuple[str, StoredKey]:
        """A new secret with the same grants; the old one keeps working for `grace`.

        KeyError for an unknown id, ValueError for a revoked or expired key.
        """
        key = generate_key()
        moment = now_utc()

        def rotated(old: StoredKey) -> StoredKey:
            if not old.is_active(moment):
                raise ValueError(f"key {old.id} is revoked or expired; create a new one")
            return replace(
                old,
                hash=hash_key(key),
                previous_hash=old.hash if grace > dt.timedelta(0) else None,
                previous_valid_until=_stamp(moment + grace) if grace > dt.timedelta(0) else None,
                rotated_at=_stamp(moment),
            )

        return key, self._update(key_id, rotated)

    def _update(self, key_id: str, change: Callable[[StoredKey], StoredKey]) -> StoredKey:
        with self._locked():
            keys = self.load()
            found = [k for k in keys if k.id == key_id]
            if not found:
                raise KeyError(key_id)
            updated: StoredKey = change(found[0])
            self._save([updated if k.id == key_id else k for k in keys])
        return updated

    def _save(self, keys: list[StoredKey]) -> None:
        body = json.dumps({"keys": [asdict(k) for k in keys]}, indent=2)
        # Through a symlink to the file itself (as root, the startup script keeps the verifier's
        # copy where its unprivileged user can read it), and kept with its owner.
        target = self.path.resolve()
        try:
            owner: tuple[int, int] | None = (target.stat().st_uid, target.stat().st_gid)
        except FileNotFoundError:
            owner = None
        write_atomically(target, body.encode(), mode=0o600)
        if owner is not None and os.geteuid() == 0 and owner != (0, 0):
            os.chown(target, *owner)
