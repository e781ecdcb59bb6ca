"""What earlier `ai-stack ingest` runs stored, so unchanged files are not even sent again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import orjson

from ai_stack.cli.walk import Document
from ai_stack.core.files import write_atomically


class IngestState:
    """Fingerprints of the documents aidb accepted, per (aidb URL, collection, project), in a JSON file."""

    def __init__(self, path: Path, scope: tuple[str, str, str]) -> None:
        self.path = path
        self._key = json.dumps(list(scope))
        self._scopes: dict[str, dict[str, str]] = _read_scopes(path)
        self._known = self._scopes.setdefault(self._key, {})

    @staticmethod
    def fingerprint(doc: Document) -> str:
        """sha256 of everything aidb compares, so a changed title or type is sent again."""
        fields = [doc.title, doc.content_type, doc.content, doc.metadata]
        return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def is_current(self, doc: Document) -> bool:
        return self._known.get(doc.path) == self.fingerprint(doc)

    def remember(self, doc: Document) -> None:
        self._known[doc.path] = self.fingerprint(doc)

    def save(self) -> None:
        """Writes atomically, so an interrupted run leaves the previous state or the new one."""
        write_atomically(self.path, orjson.dumps({"version": 1, "scopes": self._scopes}))


def _read_scopes(path: Path) -> dict[str, dict[str, str]]:
    # An unreadable state only costs a full re-send: aidb itself answers "unchanged".
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    scopes = data.get("scopes") if isinstance(data, dict) and data.get("version") == 1 else None
    return scopes if isinstance(scopes, dict) else {}
