"""The one shape both catalog kinds arrive in: a JSON file holding one object (pure but for reading)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def json_object(path: Path, what: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the object, None), or (None, why not) for an unreadable, non-JSON or non-object file."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        return None, f"{path}: not a readable JSON file: {exc}"
    if not isinstance(document, dict):
        return None, f"{path}: expected a JSON object of {what}, got {type(document).__name__}"
    return document, None
